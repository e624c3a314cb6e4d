//! The demo control library: eighteen controls mapped to ISO 27001, NIST CSF and COBIT,
//! at every stage of implementation, with test results (one ineffective), evidence (one
//! file expired) and a few Statement of Applicability decisions.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use time::Duration;

use super::approvals::person;
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::compliance::model::{Frequency, Implementation, TestResult};
use crate::compliance::repo::{self, ControlFields, NewEvidence};

struct DemoControl {
    title: &'static str,
    frequency: Frequency,
    implementation: Implementation,
    /// Framework requirements as "framework code:identifier".
    maps_to: &'static [&'static str],
    policy: Option<&'static str>,
    risk: Option<&'static str>,
    test: Option<TestResult>,
    evidence: Option<&'static str>,
}

const CONTROLS: &[DemoControl] = &[
    DemoControl {
        title: "Information security policy set approved and published",
        frequency: Frequency::Annual,
        implementation: Implementation::Implemented,
        maps_to: &[
            "iso27001_2022:A.5.1",
            "nist_csf_2:GV.PO-01",
            "cobit2019:APO01",
        ],
        policy: Some("Information Security Policy"),
        risk: None,
        test: Some(TestResult::Effective),
        evidence: Some("Board approval of the policy set"),
    },
    DemoControl {
        title: "Quarterly access recertification",
        frequency: Frequency::Quarterly,
        implementation: Implementation::Implemented,
        maps_to: &[
            "iso27001_2022:A.5.18",
            "iso27001_2022:A.5.15",
            "nist_csf_2:PR.AA-05",
        ],
        policy: Some("Access Control Policy"),
        risk: Some("RSK-0003"),
        test: Some(TestResult::Effective),
        evidence: Some("Q3 access review sign-off"),
    },
    DemoControl {
        title: "Multi-factor authentication for remote and privileged access",
        frequency: Frequency::Continuous,
        implementation: Implementation::Implemented,
        maps_to: &["iso27001_2022:A.8.5", "nist_csf_2:PR.AA-03"],
        policy: Some("Password and Authentication Standard"),
        risk: Some("RSK-0002"),
        test: Some(TestResult::Effective),
        evidence: Some("MFA enrolment report"),
    },
    DemoControl {
        title: "Privileged accounts in a vault with session recording",
        frequency: Frequency::Continuous,
        implementation: Implementation::Partial,
        maps_to: &["iso27001_2022:A.8.2", "iso27001_2022:A.8.18"],
        policy: Some("Access Control Policy"),
        risk: None,
        test: None,
        evidence: None,
    },
    DemoControl {
        title: "Daily backups with quarterly restore tests",
        frequency: Frequency::Daily,
        implementation: Implementation::Implemented,
        maps_to: &[
            "iso27001_2022:A.8.13",
            "nist_csf_2:PR.DS-11",
            "nist_csf_2:RC.RP-03",
        ],
        policy: Some("Backup and Recovery Policy"),
        risk: Some("RSK-0001"),
        test: Some(TestResult::Ineffective),
        evidence: Some("Restore test log, Q2"),
    },
    DemoControl {
        title: "Critical patches within 14 days",
        frequency: Frequency::Monthly,
        implementation: Implementation::Implemented,
        maps_to: &[
            "iso27001_2022:A.8.8",
            "nist_csf_2:ID.RA-01",
            "nist_csf_2:PR.PS-02",
        ],
        policy: Some("Patch Management Standard"),
        risk: None,
        test: Some(TestResult::Effective),
        evidence: Some("Patch compliance dashboard export"),
    },
    DemoControl {
        title: "Endpoint protection on every laptop and server",
        frequency: Frequency::Continuous,
        implementation: Implementation::Implemented,
        maps_to: &["iso27001_2022:A.8.7", "iso27001_2022:A.8.1"],
        policy: Some("Acceptable Use Policy"),
        risk: None,
        test: Some(TestResult::Effective),
        evidence: None,
    },
    DemoControl {
        title: "Central logging with daily alert review",
        frequency: Frequency::Daily,
        implementation: Implementation::Implemented,
        maps_to: &[
            "iso27001_2022:A.8.15",
            "iso27001_2022:A.8.16",
            "nist_csf_2:DE.CM-01",
            "nist_csf_2:PR.PS-04",
        ],
        policy: Some("Logging and Monitoring Standard"),
        risk: None,
        test: None,
        evidence: None,
    },
    DemoControl {
        title: "Incident response plan exercised yearly",
        frequency: Frequency::Annual,
        implementation: Implementation::Implemented,
        maps_to: &[
            "iso27001_2022:A.5.24",
            "iso27001_2022:A.5.26",
            "nist_csf_2:RS.MA-01",
            "cobit2019:DSS02",
        ],
        policy: Some("Incident Response Policy"),
        risk: None,
        test: Some(TestResult::Effective),
        evidence: Some("Tabletop exercise report"),
    },
    DemoControl {
        title: "Supplier security assessment before contract",
        frequency: Frequency::Annual,
        implementation: Implementation::Partial,
        maps_to: &[
            "iso27001_2022:A.5.19",
            "iso27001_2022:A.5.20",
            "nist_csf_2:GV.SC-06",
            "cobit2019:APO10",
        ],
        policy: Some("Vendor Risk Management Policy"),
        risk: None,
        test: None,
        evidence: None,
    },
    DemoControl {
        title: "Change advisory board approves production changes",
        frequency: Frequency::Weekly,
        implementation: Implementation::Implemented,
        maps_to: &["iso27001_2022:A.8.32", "cobit2019:BAI06"],
        policy: Some("Change Management Policy"),
        risk: None,
        test: Some(TestResult::Effective),
        evidence: Some("CAB minutes, September"),
    },
    DemoControl {
        title: "Security awareness training for all staff",
        frequency: Frequency::Annual,
        implementation: Implementation::Implemented,
        maps_to: &["iso27001_2022:A.6.3", "nist_csf_2:PR.AT-01"],
        policy: Some("Information Security Policy"),
        risk: Some("RSK-0002"),
        test: Some(TestResult::Effective),
        evidence: Some("Training completion report"),
    },
    DemoControl {
        title: "Asset inventory reconciled monthly",
        frequency: Frequency::Monthly,
        implementation: Implementation::NotStarted,
        maps_to: &[
            "iso27001_2022:A.5.9",
            "nist_csf_2:ID.AM-01",
            "nist_csf_2:ID.AM-02",
            "cobit2019:BAI09",
        ],
        policy: Some("IT Asset Management Policy"),
        risk: None,
        test: None,
        evidence: None,
    },
    DemoControl {
        title: "Data classification labels in document tools",
        frequency: Frequency::Continuous,
        implementation: Implementation::Partial,
        maps_to: &["iso27001_2022:A.5.12", "iso27001_2022:A.5.13"],
        policy: Some("Data Classification Policy"),
        risk: None,
        test: None,
        evidence: None,
    },
    DemoControl {
        title: "Business continuity plans tested yearly",
        frequency: Frequency::Annual,
        implementation: Implementation::NotStarted,
        maps_to: &[
            "iso27001_2022:A.5.29",
            "iso27001_2022:A.5.30",
            "cobit2019:DSS04",
        ],
        policy: Some("Business Continuity Policy"),
        risk: None,
        test: None,
        evidence: None,
    },
    DemoControl {
        title: "IT risk register reviewed by the board quarterly",
        frequency: Frequency::Quarterly,
        implementation: Implementation::Implemented,
        maps_to: &[
            "nist_csf_2:GV.RM-02",
            "nist_csf_2:GV.OV-01",
            "cobit2019:EDM03",
            "cobit2019:APO12",
        ],
        policy: None,
        risk: None,
        test: Some(TestResult::Effective),
        evidence: Some("Board minutes, risk review"),
    },
    DemoControl {
        title: "IT portfolio and budget approved by the board",
        frequency: Frequency::Annual,
        implementation: Implementation::Implemented,
        maps_to: &["cobit2019:EDM02", "cobit2019:APO05", "cobit2019:APO06"],
        policy: None,
        risk: None,
        test: Some(TestResult::Effective),
        evidence: None,
    },
    DemoControl {
        title: "Badge access to the data centre",
        frequency: Frequency::Continuous,
        implementation: Implementation::NotApplicable,
        maps_to: &["iso27001_2022:A.7.2"],
        policy: None,
        risk: None,
        test: None,
        evidence: None,
    },
];

/// Loads the control library unless one exists already.
pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let today = today();
    let existing = repo::find_controls(
        &mut tx,
        &repo::ControlQuery {
            limit: 1,
            ..Default::default()
        },
        today,
    )
    .await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let owners = ["manager@example.com", "manager2@example.com"];
    for (index, demo) in CONTROLS.iter().enumerate() {
        let owner = person(&mut tx, owners[index % owners.len()]).await?;
        let fields = ControlFields {
            title: demo.title.to_owned(),
            description: format!("{}: operated by IT and reported to the board.", demo.title),
            owner_id: owner.id,
            frequency: demo.frequency,
            implementation: demo.implementation,
            na_justification: if demo.implementation == Implementation::NotApplicable {
                "The data centre is run by the hosting provider under its own certification."
                    .to_owned()
            } else {
                String::new()
            },
            requirement_ids: requirement_ids(&mut tx, demo.maps_to).await?,
            policy_ids: match demo.policy {
                Some(title) => {
                    sqlx::query_scalar!("SELECT id FROM policies WHERE title = $1", title)
                        .fetch_all(&mut *tx)
                        .await?
                }
                None => Vec::new(),
            },
            risk_ids: match demo.risk {
                Some(reference) => {
                    sqlx::query_scalar!("SELECT id FROM risks WHERE reference = $1", reference)
                        .fetch_all(&mut *tx)
                        .await?
                }
                None => Vec::new(),
            },
        };
        let (id, reference) = repo::create(&mut tx, &fields, owner.id).await?;
        let audit = Context::new(Actor::user(&owner), None);
        audit
            .record(
                &mut tx,
                audit::Entry::new("control.created", "control", Some(reference.clone()))
                    .after(json!(fields)),
            )
            .await?;
        if let Some(result) = demo.test {
            let tested_on = today - Duration::days(20 + index as i64);
            repo::record_test(
                &mut tx,
                id,
                result,
                tested_on,
                "Sampled per the test plan.",
                owner.id,
            )
            .await?;
        }
        if let Some(title) = demo.evidence {
            let content = format!(
                "{title}\nControl {reference}: {}\nReviewed and signed off.\n",
                demo.title
            )
            .into_bytes();
            // The restore test log is past its validity: the page flags it.
            let (about_date, valid_until) = if index == 4 {
                (
                    today - Duration::days(200),
                    Some(today - Duration::days(15)),
                )
            } else {
                (
                    today - Duration::days(30),
                    Some(today + Duration::days(335)),
                )
            };
            let evidence = NewEvidence {
                control_id: id,
                title: title.to_owned(),
                original_name: format!("{}.txt", title.to_lowercase().replace([' ', ','], "-")),
                content_type: "text/plain; charset=utf-8".to_owned(),
                sha256: hex::encode(Sha256::digest(&content)),
                size_bytes: content.len() as i64,
                about_date,
                valid_until,
                content: Some(content),
            };
            repo::add_evidence(&mut tx, &evidence, owner.id).await?;
        }
    }
    // The mappings and statuses were in place before the last quarter began.
    sqlx::query!("UPDATE control_requirements SET mapped_at = mapped_at - interval '120 days'")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("UPDATE control_status_history SET changed_at = changed_at - interval '120 days'")
        .execute(&mut *tx)
        .await?;
    let manager = person(&mut tx, "manager@example.com").await?;
    for (identifier, applicable, justification) in [
        (
            "A.7.1",
            false,
            "No premises of our own: offices are serviced and the data centre is the provider's.",
        ),
        (
            "A.7.2",
            false,
            "Physical entry is the hosting provider's, covered by its ISO 27001 certificate.",
        ),
        (
            "A.5.15",
            true,
            "Access to every business system is controlled.",
        ),
        ("A.8.13", true, "Backups protect all business data."),
    ] {
        let requirement =
            requirement_ids(&mut tx, &[&format!("iso27001_2022:{identifier}")]).await?;
        if let Some(id) = requirement.first() {
            repo::set_applicability(&mut tx, *id, None, applicable, justification, manager.id)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn requirement_ids(conn: &mut PgConnection, keys: &[&str]) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for key in keys {
        let (framework, identifier) = key
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("bad requirement key {key}"))?;
        let id = sqlx::query_scalar!(
            "SELECT r.id FROM framework_requirements r JOIN frameworks f ON f.id = r.framework_id
             WHERE f.code = $1 AND r.identifier = $2",
            framework,
            identifier
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no requirement {key}"))?;
        ids.push(id);
    }
    Ok(ids)
}

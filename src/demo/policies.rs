//! The demo policies: sixteen policies at every stage of their lifecycle, through the real
//! approvals engine (requests filed, board votes cast), with two reviews overdue, one
//! exception in force and one awaiting the board.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use time::Duration;

use super::approvals::person;
use crate::approvals::model::{Choice, Rule};
use crate::approvals::subject::PolicyException;
use crate::approvals::{engine, filing};
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::policies::model::{Lifecycle, PolicyCategory, review_due};
use crate::policies::repo::{self, PolicySettings, VersionText};
use crate::web::CurrentUser;

/// What happens to a demo policy after its first draft.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Draft,
    InReview,
    Approved,
    Published,
    /// Published, last reviewed long enough ago that the review is overdue.
    PublishedOverdue,
    /// Published, with a second version being drafted.
    PublishedWithDraft,
    Retired,
}

struct DemoPolicy {
    title: &'static str,
    category: PolicyCategory,
    interval_months: i16,
    stage: Stage,
    statements: &'static [&'static str],
}

const OWNERS: &[&str] = &["manager@example.com", "manager2@example.com"];
const VOTERS: &[&str] = &[
    "chair@example.com",
    "board@example.com",
    "board2@example.com",
];

const POLICIES: &[DemoPolicy] = &[
    DemoPolicy {
        title: "Information Security Policy",
        category: PolicyCategory::InformationSecurity,
        interval_months: 12,
        stage: Stage::Published,
        statements: &[
            "Information is protected according to its classification.",
            "Every system has a named owner who accepts its security risks.",
            "Security incidents are reported at once to the service desk.",
        ],
    },
    DemoPolicy {
        title: "Acceptable Use Policy",
        category: PolicyCategory::AcceptableUse,
        interval_months: 24,
        stage: Stage::PublishedWithDraft,
        statements: &[
            "Company devices are for business use; limited personal use is tolerated.",
            "No one installs software that the service catalogue does not list.",
            "Company data is never stored on personal cloud accounts.",
        ],
    },
    DemoPolicy {
        title: "Access Control Policy",
        category: PolicyCategory::Access,
        interval_months: 12,
        stage: Stage::Published,
        statements: &[
            "Access is granted on least privilege and approved by the system owner.",
            "Shared administrator accounts are not allowed.",
            "Access rights are recertified every six months.",
        ],
    },
    DemoPolicy {
        title: "Password and Authentication Standard",
        category: PolicyCategory::Access,
        interval_months: 12,
        stage: Stage::PublishedOverdue,
        statements: &[
            "Multi-factor authentication protects every remote and privileged access.",
            "Passwords have at least 14 characters and are not reused.",
        ],
    },
    DemoPolicy {
        title: "Data Classification Policy",
        category: PolicyCategory::Data,
        interval_months: 24,
        stage: Stage::Published,
        statements: &[
            "Data is classified as public, internal, confidential or restricted.",
            "Restricted data is encrypted at rest and in transit.",
        ],
    },
    DemoPolicy {
        title: "Data Retention Policy",
        category: PolicyCategory::Data,
        interval_months: 24,
        stage: Stage::InReview,
        statements: &[
            "Records are kept for the period the retention schedule sets, then deleted.",
            "Legal holds suspend deletion until counsel lifts them.",
        ],
    },
    DemoPolicy {
        title: "Backup and Recovery Policy",
        category: PolicyCategory::Continuity,
        interval_months: 12,
        stage: Stage::PublishedOverdue,
        statements: &[
            "Critical systems are backed up daily, with one copy offline.",
            "Restores are tested every quarter and the results recorded.",
        ],
    },
    DemoPolicy {
        title: "Business Continuity Policy",
        category: PolicyCategory::Continuity,
        interval_months: 12,
        stage: Stage::Approved,
        statements: &[
            "Each critical service has a recovery time objective agreed with the business.",
            "Continuity plans are exercised once a year.",
        ],
    },
    DemoPolicy {
        title: "Change Management Policy",
        category: PolicyCategory::Change,
        interval_months: 12,
        stage: Stage::Published,
        statements: &[
            "Changes to production are recorded, assessed and approved before they are made.",
            "Emergency changes are reviewed by the change board within two working days.",
        ],
    },
    DemoPolicy {
        title: "Patch Management Standard",
        category: PolicyCategory::Operations,
        interval_months: 6,
        stage: Stage::Draft,
        statements: &[
            "Critical security patches are applied within 14 days of release.",
            "Systems that cannot be patched are isolated and listed as exceptions.",
        ],
    },
    DemoPolicy {
        title: "Vendor Risk Management Policy",
        category: PolicyCategory::Vendor,
        interval_months: 12,
        stage: Stage::InReview,
        statements: &[
            "Suppliers with access to restricted data are assessed before contract.",
            "Critical suppliers are reassessed every year.",
        ],
    },
    DemoPolicy {
        title: "Cloud Usage Policy",
        category: PolicyCategory::Vendor,
        interval_months: 24,
        stage: Stage::Draft,
        statements: &[
            "Cloud services are approved by IT before any company data is placed in them.",
            "Data residency requirements are checked for each new service.",
        ],
    },
    DemoPolicy {
        title: "Incident Response Policy",
        category: PolicyCategory::InformationSecurity,
        interval_months: 12,
        stage: Stage::Published,
        statements: &[
            "Incidents are triaged within one hour and classified by severity.",
            "Personal data breaches are assessed for notification within 72 hours.",
        ],
    },
    DemoPolicy {
        title: "IT Asset Management Policy",
        category: PolicyCategory::Operations,
        interval_months: 24,
        stage: Stage::Draft,
        statements: &[
            "Every hardware and software asset is recorded in the asset register.",
            "Assets are wiped before disposal and the disposal recorded.",
        ],
    },
    DemoPolicy {
        title: "Remote Access Policy (legacy VPN)",
        category: PolicyCategory::Access,
        interval_months: 12,
        stage: Stage::Retired,
        statements: &["Remote access goes through the corporate VPN concentrator."],
    },
    DemoPolicy {
        title: "Logging and Monitoring Standard",
        category: PolicyCategory::Operations,
        interval_months: 12,
        stage: Stage::Published,
        statements: &[
            "Security-relevant events are logged centrally and kept for a year.",
            "Alerts on privileged activity are reviewed daily.",
        ],
    },
];

/// A policy text in the shape real policies have.
fn body(title: &str, statements: &[&str]) -> String {
    let mut text = format!(
        "## Purpose\n\nThis {} sets what the organisation expects so that its information and \
         IT services stay secure, available and compliant.\n\n## Policy statements\n\n",
        title.to_lowercase()
    );
    for statement in statements {
        text.push_str(&format!("- {statement}\n"));
    }
    text.push_str(
        "\n## Roles\n\n| Role | Responsibility |\n|---|---|\n| Policy owner | Keeps the policy current and reviews it on schedule |\n| IT managers | Apply it in the services they run |\n| Everyone | Follows it, and asks for an exception when they cannot |\n\n\
         ## Compliance\n\nDepartures from this policy need an approved exception. \
         See the [policy portal](https://intranet.example.com/policies) for guidance.\n",
    );
    text
}

/// Loads the policies unless some exist already.
pub async fn load(pool: &PgPool, rule: Rule) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let today = today();
    if !repo::find_policies(
        &mut tx,
        &repo::PolicyQuery {
            limit: 1,
            ..Default::default()
        },
        today,
    )
    .await?
    .is_empty()
    {
        return Ok(());
    }
    for (index, demo) in POLICIES.iter().enumerate() {
        let owner = person(&mut tx, OWNERS[index % OWNERS.len()]).await?;
        let audit = Context::new(Actor::user(&owner), None);
        let settings = PolicySettings {
            owner_id: owner.id,
            category: demo.category,
            review_interval_months: demo.interval_months,
        };
        let text = VersionText {
            title: demo.title.to_owned(),
            scope: "All employees, contractors and systems of the organisation.".to_owned(),
            body: body(demo.title, demo.statements),
            change_note: "First version.".to_owned(),
        };
        let (id, reference) = repo::create(&mut tx, &settings, &text, owner.id).await?;
        audit
            .record(
                &mut tx,
                audit::Entry::new("policy.created", "policy", Some(reference.clone())).after(
                    json!({ "settings": settings, "version": 1, "content_hash": text.hash() }),
                ),
            )
            .await?;
        if demo.stage == Stage::Draft {
            continue;
        }
        submit(&mut tx, id, rule, &owner, &audit).await?;
        if demo.stage == Stage::InReview {
            continue;
        }
        approve(&mut tx, id).await?;
        if demo.stage == Stage::Approved {
            continue;
        }
        let policy = repo::lock(&mut tx, id, today)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{reference} vanished"))?;
        // Published policies went live at staggered dates in the past year.
        let published_on = today - Duration::days(30 + index as i64 * 17);
        let overdue = demo.stage == Stage::PublishedOverdue;
        let reviewed_on = if overdue {
            today - Duration::days(i64::from(demo.interval_months) * 31 + 40)
        } else {
            published_on
        };
        repo::publish(
            &mut tx,
            &policy,
            policy.latest_version_id,
            owner.id,
            reviewed_on,
            review_due(reviewed_on, demo.interval_months),
        )
        .await?;
        audit
            .record(
                &mut tx,
                audit::Entry::new("policy.published", "policy", Some(reference.clone()))
                    .after(json!({ "published_version": 1 })),
            )
            .await?;
        // Published policies mitigate a risk of the register each.
        repo::link_risk(&mut tx, id, &format!("RSK-{:04}", index + 1), owner.id).await?;
        match demo.stage {
            Stage::PublishedWithDraft => {
                let policy = repo::lock(&mut tx, id, today)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("{reference} vanished"))?;
                let mut statements: Vec<&str> = demo.statements.to_vec();
                statements
                    .push("Generative AI tools are used only with data classified as public.");
                let next = VersionText {
                    body: body(demo.title, &statements),
                    change_note: "Adds the use of generative AI tools.".to_owned(),
                    ..text
                };
                repo::add_version(&mut tx, &policy, policy.version, &settings, &next, owner.id)
                    .await?;
            }
            Stage::Retired => {
                let policy = repo::lock(&mut tx, id, today)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("{reference} vanished"))?;
                repo::retire(
                    &mut tx,
                    id,
                    policy.version,
                    "Replaced by zero-trust access; the VPN concentrator is decommissioned.",
                )
                .await?;
            }
            _ => {}
        }
    }
    exceptions(&mut tx, rule).await?;
    tx.commit().await?;
    Ok(())
}

async fn submit(
    conn: &mut PgConnection,
    id: i64,
    rule: Rule,
    owner: &CurrentUser,
    audit: &Context,
) -> anyhow::Result<()> {
    let policy = repo::lock(conn, id, today())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no policy {id}"))?;
    let versions = repo::versions(conn, id).await?;
    let draft = versions
        .first()
        .ok_or_else(|| anyhow::anyhow!("no version of policy {id}"))?;
    let filing = crate::policies::publication_filing(rule, &policy, draft, today());
    filing::file(conn, &filing, owner, today(), audit)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// The board approves the open request about policy `id` (or an exception request).
async fn approve_request(conn: &mut PgConnection, request_id: i64) -> anyhow::Result<()> {
    for email in VOTERS {
        let voter = person(conn, email).await?;
        let audit = Context::new(Actor::user(&voter), None);
        match engine::cast_vote(conn, request_id, &voter, Choice::Approve, "Agreed.", &audit).await
        {
            Ok(_) | Err(engine::EngineError::Refused(engine::Refusal::NotOpen(_))) => {}
            Err(error) => anyhow::bail!("demo vote failed: {error}"),
        }
    }
    Ok(())
}

async fn approve(conn: &mut PgConnection, id: i64) -> anyhow::Result<()> {
    let policy = repo::get(conn, id, today())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no policy {id}"))?;
    let request_id = policy
        .review_request_id
        .ok_or_else(|| anyhow::anyhow!("{} has no open review", policy.reference))?;
    approve_request(conn, request_id).await?;
    let policy = repo::get(conn, id, today())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no policy {id}"))?;
    if policy.lifecycle() != Lifecycle::Approved {
        anyhow::bail!("demo policy {} should have been approved", policy.reference);
    }
    Ok(())
}

/// An exception in force to the access control policy (approved), and one to the change
/// management policy awaiting the board.
async fn exceptions(conn: &mut PgConnection, rule: Rule) -> anyhow::Result<()> {
    let today = today();
    let cases = [
        (
            "Access Control Policy",
            "Shared administrator account on the legacy payroll system",
            "The vendor's payroll system supports one administrator account only; it is replaced in the HR platform project.",
            "Password kept in the vault with check-out logging; quarterly review of its use.",
            today - Duration::days(30),
            today + Duration::days(60),
            true,
        ),
        (
            "Change Management Policy",
            "Weekly unattended firmware updates on the branch network",
            "The managed network provider pushes firmware in a fixed weekly window that the change board cannot review in advance.",
            "The provider's change log is reviewed every Monday.",
            today,
            today + Duration::days(180),
            false,
        ),
    ];
    for (title, scope, justification, controls, starts_on, expires_on, approved) in cases {
        let id: i64 = sqlx::query_scalar!("SELECT id FROM policies WHERE title = $1", title)
            .fetch_one(&mut *conn)
            .await?;
        let policy = repo::lock(conn, id, today)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no {title}"))?;
        let requester = person(conn, "manager2@example.com").await?;
        let audit = Context::new(Actor::user(&requester), None);
        let exception = PolicyException {
            policy_id: id,
            policy_reference: String::new(),
            policy_title: String::new(),
            scope: scope.to_owned(),
            justification: justification.to_owned(),
            compensating_controls: controls.to_owned(),
            starts_on,
            expires_on,
        };
        let filing = crate::policies::exception_filing(rule, &policy, exception, today);
        let filed = filing::file(conn, &filing, &requester, today, &audit)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if approved {
            approve_request(conn, filed.id).await?;
        }
    }
    Ok(())
}

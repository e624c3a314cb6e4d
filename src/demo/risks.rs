//! The demo risk register: forty risks over the six categories, with the board's appetite
//! set so that some exceed it, a few reviews overdue, and a rating history for some.

use serde_json::json;
use sqlx::PgPool;
use time::Duration;

use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::risks::model::{RiskStatus, Treatment};
use crate::risks::repo::{self, RiskFields};
use crate::users::repo as users_repo;

/// Likelihood and impact.
type Rating = (i16, i16);
/// Category, title, inherent rating, residual rating, treatment.
type DemoRisk = (&'static str, &'static str, Rating, Rating, Treatment);

const RISKS: &[DemoRisk] = &[
    (
        "Security",
        "Ransomware encrypts file servers",
        (4, 5),
        (3, 4),
        Treatment::Mitigate,
    ),
    (
        "Security",
        "Phishing leads to account takeover",
        (5, 4),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Security",
        "Unpatched internet-facing systems",
        (4, 4),
        (2, 4),
        Treatment::Mitigate,
    ),
    (
        "Security",
        "Privileged access misused",
        (3, 5),
        (2, 4),
        Treatment::Mitigate,
    ),
    (
        "Security",
        "Insider copies customer data",
        (2, 5),
        (2, 4),
        Treatment::Mitigate,
    ),
    (
        "Security",
        "DDoS on the customer portal",
        (3, 4),
        (2, 3),
        Treatment::Transfer,
    ),
    (
        "Security",
        "Weak third-party remote access",
        (3, 4),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Availability",
        "Data-centre power failure",
        (2, 5),
        (1, 5),
        Treatment::Mitigate,
    ),
    (
        "Availability",
        "Core network single point of failure",
        (3, 4),
        (3, 4),
        Treatment::Accept,
    ),
    (
        "Availability",
        "ERP outage at month end",
        (3, 4),
        (2, 3),
        Treatment::Mitigate,
    ),
    (
        "Availability",
        "Backups not restorable",
        (3, 5),
        (2, 5),
        Treatment::Mitigate,
    ),
    (
        "Availability",
        "Cloud region outage",
        (2, 4),
        (2, 3),
        Treatment::Accept,
    ),
    (
        "Availability",
        "Email service disruption",
        (2, 3),
        (1, 3),
        Treatment::Transfer,
    ),
    (
        "Compliance",
        "GDPR breach notification missed",
        (2, 5),
        (1, 4),
        Treatment::Mitigate,
    ),
    (
        "Compliance",
        "Software licences over-deployed",
        (4, 3),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Compliance",
        "Records kept beyond retention",
        (3, 3),
        (2, 2),
        Treatment::Mitigate,
    ),
    (
        "Compliance",
        "Audit findings not closed in time",
        (3, 3),
        (3, 2),
        Treatment::Mitigate,
    ),
    (
        "Compliance",
        "Accessibility law for the portal",
        (3, 4),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Compliance",
        "Export of data outside the EU",
        (2, 4),
        (1, 4),
        Treatment::Avoid,
    ),
    (
        "Vendor",
        "ERP vendor ends support",
        (3, 4),
        (2, 4),
        Treatment::Mitigate,
    ),
    (
        "Vendor",
        "Managed SOC provider fails to deliver",
        (3, 4),
        (3, 4),
        Treatment::Accept,
    ),
    (
        "Vendor",
        "Telephony vendor insolvency",
        (2, 4),
        (2, 3),
        Treatment::Transfer,
    ),
    (
        "Vendor",
        "Price rise at cloud renewal",
        (4, 3),
        (3, 3),
        Treatment::Accept,
    ),
    (
        "Vendor",
        "Key contractor leaves mid-project",
        (3, 3),
        (2, 3),
        Treatment::Mitigate,
    ),
    (
        "Vendor",
        "Single supplier for laptops",
        (2, 3),
        (2, 2),
        Treatment::Accept,
    ),
    (
        "Vendor",
        "Open-source component abandoned",
        (3, 2),
        (2, 2),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "Data-centre exit misses lease end",
        (3, 5),
        (3, 4),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "SOC project overruns budget",
        (4, 4),
        (4, 3),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "Portal relaunch slips past peak season",
        (3, 4),
        (2, 4),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "Telephony cut-over fails",
        (3, 4),
        (3, 4),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "Key people overloaded across projects",
        (4, 3),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "Benefits of the data platform not realised",
        (3, 3),
        (2, 3),
        Treatment::Mitigate,
    ),
    (
        "Project delivery",
        "Scope creep in the field-service app",
        (3, 3),
        (2, 2),
        Treatment::Avoid,
    ),
    (
        "Data",
        "Master data quality degrades",
        (4, 3),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Data",
        "Reports built on inconsistent definitions",
        (4, 3),
        (2, 3),
        Treatment::Mitigate,
    ),
    (
        "Data",
        "Personal data in test environments",
        (3, 4),
        (2, 4),
        Treatment::Mitigate,
    ),
    (
        "Data",
        "Loss of the data warehouse",
        (2, 4),
        (1, 4),
        Treatment::Mitigate,
    ),
    (
        "Data",
        "Shadow spreadsheets drive decisions",
        (4, 2),
        (3, 2),
        Treatment::Accept,
    ),
    (
        "Data",
        "Data lineage unknown for regulators",
        (3, 3),
        (3, 3),
        Treatment::Mitigate,
    ),
    (
        "Data",
        "AI pilot exposes confidential prompts",
        (2, 4),
        (2, 3),
        Treatment::Avoid,
    ),
];

/// Appetite per category: the highest residual score the board tolerates.
const APPETITE: &[(&str, i16)] = &[
    ("Security", 8),
    ("Availability", 10),
    ("Compliance", 6),
    ("Vendor", 10),
    ("Project delivery", 9),
    ("Data", 8),
];

const OWNERS: [&str; 3] = [
    "manager@example.com",
    "manager2@example.com",
    "cio@example.com",
];

/// Loads the register unless risks exist already; one acceptance above appetite waits for
/// the board under `rule`.
pub async fn load(pool: &PgPool, rule: crate::approvals::model::Rule) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    if !repo::find_risks(&mut tx, &repo::RiskQuery::all(1))
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let categories = repo::categories(&mut tx).await?;
    let chair = users_repo::find_id_by_email(&mut tx, "chair@example.com")
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo accounts must exist first"))?;
    for (name, appetite) in APPETITE {
        if let Some(category) = categories.iter().find(|c| c.name == *name) {
            repo::set_appetite(
                &mut tx,
                category.id,
                category.version,
                Some(*appetite),
                chair,
            )
            .await?;
        }
    }
    let today = today();
    let projects =
        crate::projects::repo::projects(&mut tx, &crate::projects::repo::ProjectQuery::all(100))
            .await?;
    for (index, (category, title, inherent, residual, treatment)) in RISKS.iter().enumerate() {
        // Delivery risks touch two projects; every third other risk touches one.
        let touched: Vec<&crate::projects::repo::Project> = match (projects.len(), *category) {
            (0, _) => Vec::new(),
            (n, "Project delivery") => vec![&projects[index % n], &projects[(index + 3) % n]],
            (n, _) if index % 3 == 0 => vec![&projects[index % n]],
            _ => Vec::new(),
        };
        let mut objective_ids: Vec<i64> = touched.iter().map(|p| p.objective_id).collect();
        objective_ids.dedup();
        let owner_email = OWNERS[index % OWNERS.len()];
        let owner = users_repo::find_id_by_email(&mut tx, owner_email)
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing demo account {owner_email}"))?;
        let category_id = categories
            .iter()
            .find(|c| c.name == *category)
            .map(|c| c.id)
            .ok_or_else(|| anyhow::anyhow!("missing category {category}"))?;
        let fields = RiskFields {
            title: (*title).to_owned(),
            description: format!("{title}: identified in the annual IT risk workshop."),
            category_id,
            owner_id: owner,
            project_ids: touched.iter().map(|p| p.id).collect(),
            objective_ids,
            likelihood: inherent.0,
            impact: inherent.1,
            controls: "Controls documented in the control library.".to_owned(),
            residual_likelihood: residual.0,
            residual_impact: residual.1,
            treatment: *treatment,
            treatment_plan: if *treatment == Treatment::Accept {
                String::new()
            } else {
                "Actions agreed at the last risk review.".to_owned()
            },
            // Every seventh review is overdue.
            next_review_date: if index % 7 == 3 {
                today - Duration::days(20 + index as i64)
            } else {
                today + Duration::days(30 + index as i64 * 3)
            },
            status: if *treatment == Treatment::Accept {
                RiskStatus::Accepted
            } else {
                RiskStatus::Treating
            },
        };
        let (_, reference) = repo::create(&mut tx, &fields, owner).await?;
        Context::new(Actor::account(owner, owner_email), None)
            .record(
                &mut tx,
                audit::Entry::new("risk.created", "risk", Some(reference)).after(json!(fields)),
            )
            .await?;
    }
    // The register was first rated half a year ago...
    sqlx::query!("UPDATE risk_assessments SET assessed_at = assessed_at - interval '200 days'")
        .execute(&mut *tx)
        .await?;
    // (Rated before this quarter, then: none has moved since its end yet.)
    sqlx::query!("DELETE FROM risk_movements")
        .execute(&mut *tx)
        .await?;
    // ...against the appetites the board had set by then.
    sqlx::query!("UPDATE risk_appetite_history SET set_at = set_at - interval '200 days'")
        .execute(&mut *tx)
        .await?;
    // ...and every fifth risk has been re-rated since the quarter end, up or down.
    let register = repo::find_risks(&mut tx, &repo::RiskQuery::all(100)).await?;
    for (index, row) in register.iter().enumerate().filter(|(i, _)| i % 5 == 0) {
        let risk = &row.risk;
        let residual_likelihood = if index % 10 == 0 {
            (risk.residual_likelihood + 1).min(risk.likelihood)
        } else {
            (risk.residual_likelihood - 1).max(1)
        };
        let fields = RiskFields {
            title: risk.title.clone(),
            description: risk.description.clone(),
            category_id: risk.category_id,
            owner_id: risk.owner_id,
            project_ids: risk.project_ids.clone(),
            objective_ids: risk.objective_ids.clone(),
            likelihood: risk.likelihood,
            impact: risk.impact,
            controls: risk.controls.clone(),
            residual_likelihood,
            residual_impact: risk.residual_impact,
            treatment: risk.treatment(),
            treatment_plan: risk.treatment_plan.clone(),
            next_review_date: risk.next_review_date,
            status: risk.status(),
        };
        repo::update(&mut tx, risk, risk.version, &fields, risk.owner_id).await?;
    }
    Context::new(Actor::account(chair, "chair@example.com"), None)
        .record(
            &mut tx,
            audit::Entry::new("risk.appetite_set", "risk_category", None).after(json!(APPETITE)),
        )
        .await?;
    // The managed SOC provider is accepted above the vendor appetite: the board is asked.
    let soc: i64 = sqlx::query_scalar!(
        "SELECT id FROM risks WHERE title = 'Managed SOC provider fails to deliver'"
    )
    .fetch_one(&mut *tx)
    .await?;
    if let Some(risk) = repo::get(&mut tx, soc).await? {
        let owner_email = users_repo::get(&mut tx, risk.owner_id)
            .await?
            .map(|account| account.email)
            .unwrap_or_default();
        let owner = super::approvals::person(&mut tx, &owner_email).await?;
        let audit = Context::new(Actor::user(&owner), None);
        let filing = crate::risks::acceptance_filing(
            rule,
            &risk,
            "Switching provider mid-contract costs more than the residual risk until the tender.",
            today + Duration::days(180),
            today,
        );
        crate::approvals::filing::file(&mut tx, &filing, &owner, today, &audit)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    tx.commit().await?;
    Ok(())
}

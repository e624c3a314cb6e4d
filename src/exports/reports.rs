//! What each report holds: its title, figures and rows, read from the areas' own queries.

use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use crate::common::format::format_time;
use crate::compliance::repo::{self as compliance, CoverageSummary};
use crate::web::{AppError, AppResult};

/// A report's content before its provenance is added.
pub struct Content {
    pub title: String,
    pub summary: Vec<(String, String)>,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// The most rows one export holds, and what to do about a larger report.
#[derive(Debug, Clone, Copy)]
pub struct RowLimit {
    pub rows: i64,
    /// Why no more fit, after "holds more than N rows, ".
    pub reason: &'static str,
    /// What to do instead, a sentence.
    pub remedy: &'static str,
}

/// Refuses a report of more rows than `limit` (`rows` holds up to one more): a file cut
/// short would look complete.
fn within(limit: RowLimit, what: &str, rows: usize) -> AppResult<()> {
    if rows as i64 > limit.rows {
        Err(AppError::TooLarge(format!(
            "The {what} holds more than {} rows, {}, so nothing was exported. {}",
            limit.rows, limit.reason, limit.remedy
        )))
    } else {
        Ok(())
    }
}

fn yes_no(value: bool) -> String {
    if value { "Yes" } else { "No" }.to_owned()
}

fn date_text(date: Option<Date>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

fn time_text(moment: Option<OffsetDateTime>) -> String {
    moment.map(format_time).unwrap_or_default()
}

fn coverage_summary(summary: &CoverageSummary) -> Vec<(String, String)> {
    vec![
        ("Requirements".to_owned(), summary.requirements.to_string()),
        (
            "Not applicable".to_owned(),
            summary.not_applicable.to_string(),
        ),
        ("Mapped to a control".to_owned(), summary.mapped.to_string()),
        (
            "With an implemented control".to_owned(),
            summary.implemented.to_string(),
        ),
        ("Tested".to_owned(), summary.tested.to_string()),
        (
            "Covered".to_owned(),
            format!("{} ({} %)", summary.covered, summary.covered_percent()),
        ),
        ("Gaps".to_owned(), summary.gaps.to_string()),
    ]
}

/// The compliance report of one framework: each requirement and where it stands.
pub async fn compliance(
    conn: &mut PgConnection,
    code: &str,
    moment: OffsetDateTime,
) -> AppResult<Content> {
    let framework = compliance::framework(conn, code)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = compliance::coverage(conn, framework.id, moment).await?;
    Ok(Content {
        title: format!("Compliance report: {}", framework.name),
        summary: coverage_summary(&CoverageSummary::of(&rows)),
        columns: vec![
            "Requirement",
            "Title",
            "Group",
            "Standing",
            "Controls",
            "Mapped",
            "Implemented",
            "Tested",
            "Effective",
            "Evidence files",
        ],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    row.identifier.clone(),
                    row.title.clone(),
                    row.group_identifier.clone().unwrap_or_default(),
                    row.coverage().label().to_owned(),
                    row.controls_text(),
                    row.mapped.to_string(),
                    row.implemented.to_string(),
                    row.tested.to_string(),
                    row.effective.to_string(),
                    row.evidence.to_string(),
                ]
            })
            .collect(),
    })
}

/// The ISO 27001 Statement of Applicability.
pub async fn statement_of_applicability(conn: &mut PgConnection) -> AppResult<Content> {
    let framework = compliance::frameworks(conn)
        .await?
        .into_iter()
        .find(|f| f.has_statement_of_applicability)
        .ok_or(AppError::NotFound)?;
    let rows = compliance::coverage(conn, framework.id, OffsetDateTime::now_utc()).await?;
    Ok(Content {
        title: format!("Statement of Applicability: {}", framework.name),
        summary: coverage_summary(&CoverageSummary::of(&rows)),
        columns: vec![
            "Control",
            "Title",
            "Applicable",
            "Justification",
            "Implemented",
            "Organisation's controls",
            "Evidence files",
        ],
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    row.identifier.clone(),
                    row.title.clone(),
                    match row.applicable {
                        Some(applicable) => yes_no(applicable),
                        None => "Not decided".to_owned(),
                    },
                    row.justification.clone().unwrap_or_default(),
                    yes_no(row.implemented > 0),
                    row.controls_text(),
                    row.evidence.to_string(),
                ]
            })
            .collect(),
    })
}

/// The risk register today, or as it stood at `moment` (from the rating history).
pub async fn risk_register(
    conn: &mut PgConnection,
    moment: Option<OffsetDateTime>,
    today: Date,
    limit: RowLimit,
) -> AppResult<Content> {
    use crate::risks::repo;
    if let Some(moment) = moment {
        let risks = repo::as_of(conn, moment, None, limit.rows + 1).await?;
        within(limit, "risk register", risks.len())?;
        return Ok(Content {
            title: "Risk register (as it stood)".to_owned(),
            summary: vec![
                ("Risks".to_owned(), risks.len().to_string()),
                (
                    "Above appetite then".to_owned(),
                    risks
                        .iter()
                        .filter(|r| r.is_above_appetite())
                        .count()
                        .to_string(),
                ),
            ],
            columns: vec![
                "Risk",
                "Title",
                "Category",
                "Inherent",
                "Residual",
                "Appetite then",
                "Above appetite",
                "Treatment",
                "Status",
            ],
            rows: risks
                .iter()
                .map(|risk| {
                    vec![
                        risk.reference.clone(),
                        risk.title.clone(),
                        risk.category_name.clone(),
                        risk.inherent_score().to_string(),
                        risk.residual_score().to_string(),
                        risk.appetite.map(|a| a.to_string()).unwrap_or_default(),
                        yes_no(risk.is_above_appetite()),
                        risk.treatment.label().to_owned(),
                        risk.status.label().to_owned(),
                    ]
                })
                .collect(),
        });
    }
    let risks: Vec<repo::Risk> = repo::find_risks(
        conn,
        &repo::RiskQuery {
            links: repo::Links::Read,
            ..repo::RiskQuery::all(limit.rows + 1)
        },
    )
    .await?
    .into_iter()
    .map(|row| row.risk)
    .collect();
    within(limit, "risk register", risks.len())?;
    Ok(Content {
        title: "Risk register".to_owned(),
        summary: vec![
            ("Risks".to_owned(), risks.len().to_string()),
            (
                "Above appetite".to_owned(),
                risks
                    .iter()
                    .filter(|r| r.is_above_appetite())
                    .count()
                    .to_string(),
            ),
            (
                "Unapproved exceptions".to_owned(),
                risks
                    .iter()
                    .filter(|r| r.is_unapproved_exception(today))
                    .count()
                    .to_string(),
            ),
        ],
        columns: vec![
            "Risk",
            "Title",
            "Category",
            "Owner",
            "Projects",
            "Likelihood",
            "Impact",
            "Inherent",
            "Residual likelihood",
            "Residual impact",
            "Residual",
            "Appetite",
            "Above appetite",
            "Treatment",
            "Status",
            "Next review",
            "Accepted until",
        ],
        rows: risks
            .iter()
            .map(|risk| {
                vec![
                    risk.reference.clone(),
                    risk.title.clone(),
                    risk.category_name.clone(),
                    risk.owner_name.clone(),
                    risk.project_references.join(", "),
                    risk.likelihood.to_string(),
                    risk.impact.to_string(),
                    risk.inherent_score().to_string(),
                    risk.residual_likelihood.to_string(),
                    risk.residual_impact.to_string(),
                    risk.residual_score().to_string(),
                    risk.appetite.map(|a| a.to_string()).unwrap_or_default(),
                    yes_no(risk.is_above_appetite()),
                    risk.treatment().label().to_owned(),
                    risk.status().label().to_owned(),
                    risk.next_review_date.to_string(),
                    date_text(risk.accepted_until),
                ]
            })
            .collect(),
    })
}

/// The decision log: board resolutions with their tallies and management decisions.
pub async fn decision_log(conn: &mut PgConnection, limit: RowLimit) -> AppResult<Content> {
    use crate::decisions::repo::{DecisionFilter, find_decisions};
    let decisions = find_decisions(
        conn,
        &DecisionFilter {
            limit: limit.rows + 1,
            ..DecisionFilter::default()
        },
    )
    .await?;
    within(limit, "decision log", decisions.len())?;
    let named = |values: Vec<serde_json::Value>, who: &str, what: &str| {
        values
            .iter()
            .map(|value| {
                format!(
                    "{}: {}",
                    value[who].as_str().unwrap_or_default(),
                    value[what].as_str().unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    Ok(Content {
        title: "Decision log".to_owned(),
        summary: vec![("Decisions".to_owned(), decisions.len().to_string())],
        columns: vec![
            "Decision",
            "Kind",
            "Question",
            "Outcome or status",
            "Decided",
            "Request",
            "Project",
            "Eligible",
            "Approve",
            "Reject",
            "Abstain",
            "Votes",
            "Recusals",
            "Content SHA-256",
        ],
        rows: decisions
            .iter()
            .map(|decision| {
                let resolution = decision.is_resolution();
                let number = |key: &str| {
                    if resolution {
                        decision.tally_number(key).to_string()
                    } else {
                        String::new()
                    }
                };
                vec![
                    decision.reference.clone(),
                    decision.kind().label().to_owned(),
                    decision.question.clone(),
                    decision.state_label().to_owned(),
                    decision.when(),
                    decision.request_reference.clone().unwrap_or_default(),
                    decision.project_reference.clone().unwrap_or_default(),
                    number("eligible"),
                    number("approve"),
                    number("reject"),
                    number("abstain"),
                    named(decision.tally_list("votes"), "voter", "choice"),
                    named(decision.tally_list("recusals"), "member", "reason"),
                    decision.content_hash.clone().unwrap_or_default(),
                ]
            })
            .collect(),
    })
}

/// The policy register: every version of every policy with its approval and publication.
pub async fn policy_register(conn: &mut PgConnection, limit: RowLimit) -> AppResult<Content> {
    let lines = crate::policies::repo::register_lines(conn, limit.rows + 1).await?;
    within(limit, "policy register", lines.len())?;
    let policies = lines
        .iter()
        .map(|line| line.reference.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    Ok(Content {
        title: "Policy register".to_owned(),
        summary: vec![
            ("Policies".to_owned(), policies.to_string()),
            ("Versions".to_owned(), lines.len().to_string()),
        ],
        columns: vec![
            "Policy",
            "Title",
            "Category",
            "Owner",
            "Review every (months)",
            "Next review",
            "Retired",
            "Version",
            "Version title",
            "Status",
            "Change",
            "Written",
            "Author",
            "Approved by",
            "Approved",
            "Published",
            "Content SHA-256",
        ],
        rows: lines
            .iter()
            .map(|line| {
                vec![
                    line.reference.clone(),
                    line.policy_title.clone(),
                    line.category.label().to_owned(),
                    line.owner_name.clone(),
                    line.review_interval_months.to_string(),
                    date_text(line.next_review_on),
                    yes_no(line.retired),
                    line.number.to_string(),
                    line.version_title.clone(),
                    line.status.label().to_owned(),
                    line.change_note.clone(),
                    format_time(line.written_at),
                    line.author_name.clone(),
                    line.approved_by_decision.clone().unwrap_or_default(),
                    time_text(line.approved_at),
                    time_text(line.published_at),
                    line.content_hash.clone(),
                ]
            })
            .collect(),
    })
}

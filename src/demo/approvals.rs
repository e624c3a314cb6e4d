//! The demo's requests for the board: two open ones waiting for `board@example.com`'s vote,
//! one past its due date awaiting the chair, one approved and one rejected with their
//! resolutions. Loaded once, after the portfolio, through the same engine the pages use.

use sqlx::{PgConnection, PgPool};
use time::Duration;

use crate::approvals::engine;
use crate::approvals::filing::{self, Filed, Filing, Heading};
use crate::approvals::model::{Choice, RequestStatus, Rule, SpendType};
use crate::approvals::repo;
use crate::approvals::subject::{Budget, Subject};
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::common::references::{self, Series};
use crate::decisions::{self, repo::DecisionStatus, repo::ManagementFields};
use crate::users::repo as users_repo;
use crate::web::CurrentUser;

struct DemoRequest {
    project: &'static str,
    requester: &'static str,
    title: &'static str,
    amount_thousands: i64,
    spend_type: SpendType,
    due_in_days: i64,
    hide_tally: bool,
    votes: &'static [(&'static str, Choice, &'static str)],
}

const REQUESTS: &[DemoRequest] = &[
    DemoRequest {
        project: "PRJ-0001",
        requester: "manager@example.com",
        title: "Second migration wave",
        amount_thousands: 300,
        spend_type: SpendType::Capex,
        due_in_days: -20,
        hide_tally: false,
        votes: &[
            (
                "chair@example.com",
                Choice::Approve,
                "The business case holds.",
            ),
            ("board@example.com", Choice::Approve, ""),
            (
                "board2@example.com",
                Choice::Approve,
                "Provided the March window is kept.",
            ),
        ],
    },
    DemoRequest {
        project: "PRJ-0005",
        requester: "manager2@example.com",
        title: "External accessibility audit",
        amount_thousands: 40,
        spend_type: SpendType::Opex,
        due_in_days: -10,
        hide_tally: false,
        votes: &[
            ("chair@example.com", Choice::Reject, "Do it in-house first."),
            ("board@example.com", Choice::Reject, "Agree with the chair."),
        ],
    },
    DemoRequest {
        project: "PRJ-0004",
        requester: "manager@example.com",
        title: "Extend the managed SOC service",
        amount_thousands: 140,
        spend_type: SpendType::Opex,
        due_in_days: 7,
        hide_tally: false,
        votes: &[
            (
                "chair@example.com",
                Choice::Approve,
                "Cheaper than hiring now.",
            ),
            (
                "board2@example.com",
                Choice::Reject,
                "We need our own analysts.",
            ),
        ],
    },
    DemoRequest {
        project: "PRJ-0008",
        requester: "manager2@example.com",
        title: "Two more data engineers",
        amount_thousands: 120,
        spend_type: SpendType::Opex,
        due_in_days: 14,
        hide_tally: true,
        votes: &[],
    },
    DemoRequest {
        project: "PRJ-0007",
        requester: "cio@example.com",
        title: "Vendor premium migration team",
        amount_thousands: 75,
        spend_type: SpendType::Capex,
        due_in_days: -1,
        hide_tally: false,
        votes: &[("board2@example.com", Choice::Approve, "")],
    },
];

/// A management decision of the demo, recorded and accepted by its author.
struct DemoDecision {
    author: &'static str,
    project: Option<&'static str>,
    title: &'static str,
    context: &'static str,
    options: &'static str,
    decision: &'static str,
    consequences: &'static str,
}

const DECISIONS: &[DemoDecision] = &[
    DemoDecision {
        author: "manager@example.com",
        project: Some("PRJ-0001"),
        title: "Lift and shift first, refactor later",
        context: "The data-centre lease ends in 14 months.",
        options: "Refactor before moving; lift and shift then refactor.",
        decision: "Lift and shift every system first; refactor the top five afterwards.",
        consequences: "Higher cloud costs for a year; the exit date holds.",
    },
    DemoDecision {
        author: "manager2@example.com",
        project: Some("PRJ-0008"),
        title: "One data platform vendor",
        context: "Three teams run three analytics stacks.",
        options: "Keep all three; standardise on one.",
        decision: "Standardise on one platform, chosen by tender.",
        consequences: "Two teams migrate their reports over two quarters.",
    },
    DemoDecision {
        author: "manager@example.com",
        project: None,
        title: "Password manager for all staff",
        context: "Reused passwords caused two incidents last year.",
        options: "Browser-stored passwords; an enterprise password manager.",
        decision: "Roll out an enterprise password manager to all staff.",
        consequences: "Licences and a short training; fewer resets.",
    },
    DemoDecision {
        author: "cio@example.com",
        project: None,
        title: "Host new systems case by case",
        context: "Each new system's hosting was argued from scratch.",
        options: "Case by case; a standing rule.",
        decision: "Decide hosting per system in the architecture board.",
        consequences: "Slow decisions; inconsistent choices.",
    },
    DemoDecision {
        author: "cio@example.com",
        project: None,
        title: "Cloud-first for new systems",
        context: "New systems were placed case by case.",
        options: "Case by case; cloud-first; on-premises first.",
        decision: "New systems go to the cloud unless data residency forbids it.",
        consequences: "Hosting decisions take days instead of weeks.",
    },
];

/// Loads the requests unless some exist already.
pub async fn load(pool: &PgPool, rule: Rule) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let existing = repo::find_requests(&mut tx, repo::Selection::NewestBefore(None), 1).await?;
    if !existing.is_empty() {
        return Ok(());
    }
    for demo in REQUESTS {
        load_request(&mut tx, demo, rule).await?;
    }
    let mut accepted = Vec::new();
    for demo in DECISIONS {
        let author = person(&mut tx, demo.author).await?;
        let project_id = match demo.project {
            Some(reference) => {
                sqlx::query_scalar!("SELECT id FROM projects WHERE reference = $1", reference)
                    .fetch_optional(&mut *tx)
                    .await?
            }
            None => None,
        };
        let fields = ManagementFields {
            title: demo.title.to_owned(),
            project_id,
            context: demo.context.to_owned(),
            options: demo.options.to_owned(),
            decision: demo.decision.to_owned(),
            consequences: demo.consequences.to_owned(),
        };
        let year = today().year();
        let reference = references::next(&mut tx, Series::Decision { year }).await?;
        let id =
            decisions::repo::create_management(&mut tx, &reference, author.id, &fields).await?;
        decisions::repo::set_status(&mut tx, id, 1, DecisionStatus::Accepted, None).await?;
        Context::new(Actor::user(&author), None)
            .record(
                &mut tx,
                audit::Entry::new("decision.accepted", "decision", Some(reference))
                    .after(serde_json::json!(fields)),
            )
            .await?;
        accepted.push(id);
    }
    // "Cloud-first" supersedes the case-by-case hosting decision before it.
    if let [.., older, newer] = accepted[..] {
        decisions::repo::set_status(&mut tx, older, 2, DecisionStatus::Superseded, Some(newer))
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn person(conn: &mut PgConnection, email: &str) -> anyhow::Result<CurrentUser> {
    let id = users_repo::find_id_by_email(conn, email)
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing demo account {email}"))?;
    let account = users_repo::get(conn, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("missing demo account {email}"))?;
    Ok(CurrentUser {
        id: account.id,
        email: account.email,
        display_name: account.display_name,
        roles: account.roles,
        is_chair: account.is_chair,
    })
}

async fn load_request(
    conn: &mut PgConnection,
    demo: &DemoRequest,
    rule: Rule,
) -> anyhow::Result<()> {
    let project_id: i64 =
        sqlx::query_scalar!("SELECT id FROM projects WHERE reference = $1", demo.project)
            .fetch_one(&mut *conn)
            .await?;
    let requester = person(conn, demo.requester).await?;
    let today = today();
    // Requests already decided were due, and filed, in the past; the others are open now.
    let filing = Filing {
        heading: Heading {
            title: demo.title.to_owned(),
            summary: format!("{} for {}.", demo.title, demo.project),
            due_date: today + Duration::days(demo.due_in_days),
            hide_tally: demo.hide_tally,
        },
        project_id: Some(project_id),
        subject: Subject::Budget(Budget {
            project_id,
            amount: demo.amount_thousands * 100_000,
            spend_type: demo.spend_type,
            fiscal_year: today.year(),
            benefits: "Keeps the project on its approved plan and dates.".to_owned(),
            costs: format!("{} thousand, once.", demo.amount_thousands),
            risks: "Vendor capacity; mitigated by a fixed-price contract.".to_owned(),
            alternatives: "Delay the work by a quarter; do nothing (accept the risk).".to_owned(),
        }),
        rule,
        submit: true,
    };
    let as_requester = Context::new(Actor::user(&requester), None);
    let Filed { id, reference } = filing::file(conn, &filing, &requester, today, &as_requester)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (email, choice, comment) in demo.votes {
        let voter = person(conn, email).await?;
        let audit = Context::new(Actor::user(&voter), None);
        engine::cast_vote(conn, id, &voter, *choice, comment, &audit)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let status = repo::get_request(conn, id).await?.map(|r| r.status());
    if demo.due_in_days < -5 && status == Some(RequestStatus::Open) {
        anyhow::bail!("demo request {reference} should have been decided by its votes");
    }
    Ok(())
}

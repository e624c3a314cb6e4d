//! The approvals engine: opening a request, votes, recusals, closing with a decision
//! record, and what an approval does to its subject. Every step runs in the caller's
//! transaction with the request's row locked, so concurrent votes, a vote racing the close
//! and double-submitted forms are applied one after the other; the database's unique index
//! on live votes guards the same from below.

use serde_json::json;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::eligibility::{Conflicts, Ineligible};
use super::filing::Heading;
use super::model::{Choice, Outcome, RequestStatus, VoteEnd};
use super::repo::{self, Request};
use super::subject::{Budget, Subject};
use crate::audit::{self, Context};
use crate::common::references::{self, Series};
use crate::projects;
use crate::users::Role;
use crate::web::CurrentUser;

/// Why the engine refused an action: shown to the person as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NotFound,
    NotOpen(RequestStatus),
    NotEligible(Ineligible),
    NotChair,
    NotDue(Date),
    NotRequester,
    Stale,
    /// Only budget requests are edited; a risk acceptance is withdrawn and asked again.
    NotEditable,
    /// A live request about the same record exists (its reference, when known).
    AlreadyAsked(Option<String>),
}

impl Refusal {
    pub fn message(&self) -> String {
        match self {
            Refusal::NotFound => "There is no such request.".to_owned(),
            Refusal::NotOpen(status) => format!(
                "This request is {}: it no longer takes votes, recusals or changes.",
                status.label().to_lowercase()
            ),
            Refusal::NotEligible(reason) => {
                format!("You cannot vote on this request. {}", reason.to_viewer())
            }
            Refusal::NotChair => "Only the chair of the board closes a request.".to_owned(),
            Refusal::NotDue(due) => {
                format!("The chair can close this request from its due date, {due}.")
            }
            Refusal::NotRequester => {
                "Only the person who filed the request changes or withdraws it.".to_owned()
            }
            Refusal::Stale => "The request changed while you were editing it.".to_owned(),
            Refusal::NotEditable => {
                "This request is not edited: withdraw it and ask again.".to_owned()
            }
            Refusal::AlreadyAsked(Some(reference)) => format!(
                "The board already has {reference} about this; it must be decided or withdrawn first."
            ),
            Refusal::AlreadyAsked(None) => {
                "The board already has a request about this; it must be decided or withdrawn first."
                    .to_owned()
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub type EngineResult<T> = Result<T, EngineError>;

fn refuse<T>(refusal: Refusal) -> EngineResult<T> {
    Err(EngineError::Refused(refusal))
}

async fn locked_request(conn: &mut PgConnection, id: i64) -> EngineResult<Request> {
    match repo::lock_request(conn, id).await? {
        Some(request) => Ok(request),
        None => refuse(Refusal::NotFound),
    }
}

fn ensure_open(request: &Request) -> EngineResult<()> {
    if request.status() == RequestStatus::Open {
        Ok(())
    } else {
        refuse(Refusal::NotOpen(request.status()))
    }
}

/// Submits a draft to the board.
pub async fn open(
    conn: &mut PgConnection,
    id: i64,
    requester: &CurrentUser,
    audit: &Context,
) -> EngineResult<()> {
    let request = locked_request(conn, id).await?;
    if request.requester_id != requester.id {
        return refuse(Refusal::NotRequester);
    }
    if request.status() != RequestStatus::Draft {
        return refuse(Refusal::NotOpen(request.status()));
    }
    repo::set_status(conn, id, RequestStatus::Open).await?;
    audit
        .record(
            conn,
            audit::Entry::new("request.opened", "approval_request", Some(request.reference.clone())).after(json!({
                "content_version": request.content_version,
                "content_hash": request.content_hash,
                "rule": { "quorum_percent": request.quorum_percent, "majority_percent": request.majority_percent },
            })),
        )
        .await?;
    Ok(())
}

/// Changes a draft or an open request. On an open request every live vote is set aside:
/// a vote binds to the content it was cast on. Returns the voters whose votes were set
/// aside.
pub async fn change(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    heading: &Heading,
    budget: &Budget,
    requester: &CurrentUser,
    audit: &Context,
) -> EngineResult<Vec<i64>> {
    let before = locked_request(conn, id).await?;
    if before.requester_id != requester.id {
        return refuse(Refusal::NotRequester);
    }
    if before.status().is_closed() {
        return refuse(Refusal::NotOpen(before.status()));
    }
    if before.budget().is_none() {
        return refuse(Refusal::NotEditable);
    }
    let subject = Subject::Budget(budget.clone());
    let content_hash = heading.content_hash(&subject);
    let Some(content_version) =
        repo::update_budget_request(conn, id, version, heading, budget, &content_hash).await?
    else {
        return refuse(Refusal::Stale);
    };
    let set_aside = if before.status() == RequestStatus::Open {
        repo::set_aside_votes(conn, id).await?
    } else {
        Vec::new()
    };
    audit
        .record(
            conn,
            audit::Entry::new("request.changed", "approval_request", Some(before.reference.clone()))
                .before(json!({ "content_version": before.content_version, "heading": before.heading(), "subject": before.subject }))
                .after(json!({ "content_version": content_version, "heading": heading, "subject": subject, "content_hash": content_hash, "votes_set_aside": set_aside.len() })),
        )
        .await?;
    Ok(set_aside)
}

/// Withdraws a draft or open request; its votes stay on record.
pub async fn withdraw(
    conn: &mut PgConnection,
    id: i64,
    requester: &CurrentUser,
    audit: &Context,
) -> EngineResult<()> {
    let request = locked_request(conn, id).await?;
    if request.requester_id != requester.id {
        return refuse(Refusal::NotRequester);
    }
    if request.status().is_closed() {
        return refuse(Refusal::NotOpen(request.status()));
    }
    repo::set_status(conn, id, RequestStatus::Withdrawn).await?;
    audit
        .record(
            conn,
            audit::Entry::new(
                "request.withdrawn",
                "approval_request",
                Some(request.reference.clone()),
            )
            .before(json!({ "status": request.status })),
        )
        .await?;
    Ok(())
}

/// Casts (or changes) `voter`'s vote; closes the request when the rule is met. Returns the
/// outcome if this vote settled it.
pub async fn cast_vote(
    conn: &mut PgConnection,
    id: i64,
    voter: &CurrentUser,
    choice: Choice,
    comment: &str,
    audit: &Context,
) -> EngineResult<Option<Outcome>> {
    let request = locked_request(conn, id).await?;
    ensure_open(&request)?;
    let conflicts = Conflicts::load(conn, id).await?;
    if let Some(reason) = conflicts.why_not(voter.id, voter.has_role(Role::Board)) {
        return refuse(Refusal::NotEligible(reason));
    }
    repo::end_live_vote(conn, id, voter.id, VoteEnd::Changed).await?;
    repo::insert_vote(conn, id, voter.id, request.content_version, choice, comment).await?;
    // Counted before the event is recorded: recording takes the audit chain's head, which
    // every writer waits for until this transaction ends.
    let settled = settlement(conn, &request).await?;
    audit
        .record(
            conn,
            audit::Entry::new(
                "vote.cast",
                "approval_request",
                Some(request.reference.clone()),
            )
            .after(json!({
                "choice": choice,
                "comment": comment,
                "content_version": request.content_version,
                "content_hash": request.content_hash,
            })),
        )
        .await?;
    close_if_settled(conn, &request, settled, voter.id, audit).await
}

/// `member` declares a conflict of interest and is recused; a vote they cast is set aside.
pub async fn recuse(
    conn: &mut PgConnection,
    id: i64,
    member: &CurrentUser,
    reason: &str,
    audit: &Context,
) -> EngineResult<Option<Outcome>> {
    let request = locked_request(conn, id).await?;
    ensure_open(&request)?;
    if !member.has_role(Role::Board) {
        return refuse(Refusal::NotEligible(Ineligible::NotBoardMember));
    }
    let recused = repo::insert_recusal(conn, id, member.id, reason).await?;
    if recused {
        repo::end_live_vote(conn, id, member.id, VoteEnd::SetAside).await?;
    }
    // Counted before the event is recorded (see `cast_vote`).
    let settled = settlement(conn, &request).await?;
    if recused {
        audit
            .record(
                conn,
                audit::Entry::new(
                    "request.recusal",
                    "approval_request",
                    Some(request.reference.clone()),
                )
                .after(json!({ "member": member.email, "reason": reason })),
            )
            .await?;
    }
    close_if_settled(conn, &request, settled, member.id, audit).await
}

/// The chair closes a request at or after its due date: decided by the votes cast, or
/// expired without a quorum.
pub async fn close_by_chair(
    conn: &mut PgConnection,
    id: i64,
    chair: &CurrentUser,
    today: Date,
    audit: &Context,
) -> EngineResult<Outcome> {
    let request = locked_request(conn, id).await?;
    ensure_open(&request)?;
    if !(chair.is_chair && chair.has_role(Role::Board)) {
        return refuse(Refusal::NotChair);
    }
    if today < request.due_date {
        return refuse(Refusal::NotDue(request.due_date));
    }
    let (count, _, _) = current_count(conn, &request).await?;
    let outcome = count.at_close(request.rule());
    close(conn, &request, outcome, chair.id, audit).await?;
    Ok(outcome)
}

/// The count of the live votes of the members who may vote, with those votes and the
/// eligible members' ids.
async fn current_count(
    conn: &mut PgConnection,
    request: &Request,
) -> EngineResult<(super::model::Count, Vec<repo::Vote>, Vec<i64>)> {
    let members = repo::board_members(conn).await?;
    let conflicts = Conflicts::load(conn, request.id).await?;
    let votes = repo::live_votes(conn, request.id).await?;
    let eligible = conflicts.eligible(&members);
    Ok((repo::count(&eligible, &votes), votes, eligible))
}

/// The outcome no remaining vote can change, if the votes cast have settled the request
/// (read under the request's row lock, so it holds until the transaction ends).
async fn settlement(conn: &mut PgConnection, request: &Request) -> EngineResult<Option<Outcome>> {
    let (count, _, _) = current_count(conn, request).await?;
    Ok(count.settled(request.rule()))
}

/// Closes the request with the `settled` outcome, if there is one.
async fn close_if_settled(
    conn: &mut PgConnection,
    request: &Request,
    settled: Option<Outcome>,
    actor_id: i64,
    audit: &Context,
) -> EngineResult<Option<Outcome>> {
    if let Some(outcome) = settled {
        close(conn, request, outcome, actor_id, audit).await?;
    }
    Ok(settled)
}

/// Closes the request with `outcome`: the status, the decision record with the full tally,
/// and, when approved, the effect on the subject. One transaction (the caller's).
async fn close(
    conn: &mut PgConnection,
    request: &Request,
    outcome: Outcome,
    closed_by: i64,
    audit: &Context,
) -> EngineResult<()> {
    let (count, votes, eligible) = current_count(conn, request).await?;
    let recusals = repo::recusals(conn, request.id).await?;
    let counted: Vec<serde_json::Value> = votes
        .iter()
        .filter(|vote| vote.is_live() && eligible.contains(&vote.voter_id))
        .map(|vote| json!({ "voter": vote.voter_name, "choice": vote.choice, "comment": vote.comment, "content_version": vote.content_version }))
        .collect();
    let tally = json!({
        "rule": { "quorum_percent": request.quorum_percent, "majority_percent": request.majority_percent },
        "eligible": count.eligible,
        "quorum_needed": count.quorum_needed(request.rule()),
        "approve": count.approve,
        "reject": count.reject,
        "abstain": count.abstain,
        "votes": counted,
        "recusals": recusals.iter().map(|r| json!({ "member": r.member_name, "reason": r.reason })).collect::<Vec<_>>(),
        "set_aside": repo::set_aside_count(conn, request.id).await?,
    });
    let status = outcome.status();
    repo::set_status(conn, request.id, status).await?;
    let year = OffsetDateTime::now_utc().year();
    let reference = references::next(conn, Series::Decision { year }).await?;
    let decision_id = repo::insert_resolution(
        conn,
        &reference,
        request,
        status.as_str(),
        &tally,
        Some(closed_by),
    )
    .await?;
    if outcome == Outcome::Approved {
        apply_approval(conn, request, &reference, decision_id, closed_by).await?;
    }
    audit
        .record(
            conn,
            audit::Entry::new("decision.recorded", "decision", Some(reference.clone()))
                .after(json!({ "request": request.reference, "outcome": status, "tally": tally })),
        )
        .await?;
    Ok(())
}

/// What an approval does to its subject: the one place each kind of request adds to.
async fn apply_approval(
    conn: &mut PgConnection,
    request: &Request,
    decision: &str,
    decision_id: i64,
    decided_by: i64,
) -> EngineResult<()> {
    match &request.subject {
        Subject::Budget(budget) => {
            let reason = format!("{} approved by the board ({decision}).", request.reference);
            projects::repo::add_to_budget(
                conn,
                budget.project_id,
                budget.amount,
                &reason,
                decided_by,
            )
            .await?;
            repo::commit_to_fiscal_year(conn, budget.fiscal_year, budget.amount).await?;
        }
        Subject::RiskAcceptance(acceptance) => {
            crate::risks::repo::record_acceptance(
                conn,
                acceptance.risk_id,
                decision_id,
                acceptance.residual_likelihood,
                acceptance.residual_impact,
                acceptance.expires_on,
            )
            .await?;
        }
        Subject::PolicyPublication(publication) => {
            crate::policies::repo::mark_approved(conn, publication.version_id, decision_id).await?;
        }
        // An exception is in force from its approval: its dates and the request's status
        // say so, nothing else changes.
        Subject::PolicyException(_) => {}
    }
    Ok(())
}

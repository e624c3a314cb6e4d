//! Filing a request to the board: the one entry point every area, the demo loader and
//! the tests use. It locks the record the request is about, refuses a second live
//! request about it, numbers and hashes the request, writes it with its subject, records
//! the audit event and, when asked, opens it for votes, all in the caller's transaction.

use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use time::Date;

use super::engine::{self, EngineError, EngineResult, Refusal};
use super::model::Rule;
use super::subject::{self, Subject};
use crate::audit::{self, Context};
use crate::common::references::{self, Series};
use crate::web::CurrentUser;

/// What the board reads at the top of every request.
#[derive(Debug, Clone, Serialize)]
pub struct Heading {
    pub title: String,
    pub summary: String,
    pub due_date: Date,
    /// Hide the running tally from voters until the request closes.
    pub hide_tally: bool,
}

impl Heading {
    /// The hash of what the board reads: a vote binds to it. A policy publication binds
    /// to the exact version's own hash.
    pub fn content_hash(&self, subject: &Subject) -> String {
        match subject {
            Subject::PolicyPublication(publication) => publication.version_hash.clone(),
            _ => subject::content_hash(&json!({ "heading": self, "subject": subject })),
        }
    }
}

/// A request about to be filed.
#[derive(Debug, Clone)]
pub struct Filing {
    pub heading: Heading,
    pub subject: Subject,
    /// The project the request concerns: its page lists the request.
    pub project_id: Option<i64>,
    pub rule: Rule,
    /// Open it for votes at once, or keep it as the requester's draft.
    pub submit: bool,
}

/// A request just filed.
#[derive(Debug, Clone)]
pub struct Filed {
    pub id: i64,
    pub reference: String,
}

/// Files `filing` for `requester`. Refused (nothing written) when a live request about
/// the same record exists.
pub async fn file(
    conn: &mut PgConnection,
    filing: &Filing,
    requester: &CurrentUser,
    today: Date,
    audit: &Context,
) -> EngineResult<Filed> {
    filing.subject.lock_record(conn).await?;
    let content_hash = filing.heading.content_hash(&filing.subject);
    let key = filing.subject.key(&content_hash);
    if let Some(key) = &key
        && let Some(existing) = live_request_about(conn, key).await?
    {
        return Err(EngineError::Refused(Refusal::AlreadyAsked(Some(existing))));
    }
    let reference = references::next(conn, Series::Request { year: today.year() }).await?;
    let heading = &filing.heading;
    let id = sqlx::query_scalar!(
        "INSERT INTO approval_requests (reference, kind, title, summary, requester_id, project_id,
                                        due_date, quorum_percent, majority_percent, hide_tally,
                                        content_hash, subject_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING id",
        reference,
        filing.subject.kind().as_str(),
        heading.title,
        heading.summary,
        requester.id,
        filing.project_id,
        heading.due_date,
        filing.rule.quorum_percent,
        filing.rule.majority_percent,
        heading.hide_tally,
        content_hash,
        key
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|error| {
        // A filing that raced past the lock meets the unique index instead.
        let constraint = error.as_database_error().and_then(|e| e.constraint());
        if constraint == Some("approval_requests_one_live_per_subject") {
            EngineError::Refused(Refusal::AlreadyAsked(None))
        } else {
            error.into()
        }
    })?;
    filing.subject.insert(conn, id).await?;
    audit
        .record(
            conn,
            audit::Entry::new(
                "request.created",
                "approval_request",
                Some(reference.clone()),
            )
            .after(json!({
                "kind": filing.subject.kind(),
                "heading": heading,
                "subject": filing.subject,
                "content_hash": content_hash,
            })),
        )
        .await?;
    if filing.submit {
        engine::open(conn, id, requester, audit).await?;
    }
    Ok(Filed { id, reference })
}

/// The reference of the draft or open request about `key`, if there is one.
async fn live_request_about(conn: &mut PgConnection, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "SELECT reference FROM approval_requests
         WHERE subject_key = $1 AND status IN ('draft', 'open')",
        key
    )
    .fetch_optional(conn)
    .await
}

//! The audit trail: who did what, when, to which record, with the record before and after.
//!
//! Every change to governance data calls [`record`] inside the transaction that makes the
//! change, so the event and the change commit or roll back together. Events form a hash
//! chain ([`chain`]); the auditor's pages are in [`pages`].

pub mod chain;
pub mod pages;

use serde_json::Value;
use sqlx::PgConnection;
use time::OffsetDateTime;

pub use chain::{ChainReport, verify_chain};
pub use pages::auditor_routes;

use crate::web::CurrentUser;

/// Who caused an event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    /// The account's e-mail, `system`, or what an anonymous visitor typed.
    pub label: String,
}

impl Actor {
    pub fn user(user: &CurrentUser) -> Self {
        Self {
            id: Some(user.id),
            label: user.email.clone(),
        }
    }

    pub fn account(id: i64, email: &str) -> Self {
        Self {
            id: Some(id),
            label: email.to_owned(),
        }
    }

    /// Quorum itself (command line, demo data, scheduled work).
    pub fn system() -> Self {
        Self {
            id: None,
            label: "system".to_owned(),
        }
    }

    /// Someone not signed in, known only by what they typed.
    pub fn anonymous(claimed: &str) -> Self {
        Self {
            id: None,
            label: format!(
                "anonymous ({})",
                claimed.chars().take(200).collect::<String>()
            ),
        }
    }
}

/// Who is acting and under which HTTP request: what every event of one action shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Context {
    pub fn new(actor: Actor, request_id: Option<&str>) -> Self {
        Self {
            actor,
            request_id: request_id.map(str::to_owned),
        }
    }

    /// The signed-in `user` acting in the HTTP request `meta` describes: what a handler
    /// records its events with.
    pub fn for_request(user: &CurrentUser, meta: &crate::web::RequestMeta) -> Self {
        Self::new(Actor::user(user), meta.request_id.as_deref())
    }

    /// Records that the `entity_type` `reference` went from `before` to `after` (an edit),
    /// in the caller's transaction.
    pub async fn record_change(
        &self,
        conn: &mut PgConnection,
        action: &str,
        entity_type: &str,
        reference: &str,
        before: &impl serde::Serialize,
        after: &impl serde::Serialize,
    ) -> sqlx::Result<i64> {
        let entry = Entry::new(action, entity_type, Some(reference.to_owned()))
            .before(serde_json::to_value(before).unwrap_or_default())
            .after(serde_json::to_value(after).unwrap_or_default());
        self.record(conn, entry).await
    }

    /// Appends `entry` as this actor, in the caller's transaction.
    pub async fn record(&self, conn: &mut PgConnection, entry: Entry<'_>) -> sqlx::Result<i64> {
        record(conn, &self.actor, self.request_id.as_deref(), entry).await
    }
}

/// One event to append.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// `area.verb`, e.g. `auth.login`, `user.created`.
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl<'a> Entry<'a> {
    pub fn new(action: &'a str, entity_type: &'a str, entity_id: Option<String>) -> Self {
        Self {
            action,
            entity_type,
            entity_id,
            before: None,
            after: None,
        }
    }

    /// The record (or the relevant part of it) before the change.
    pub fn before(mut self, before: Value) -> Self {
        self.before = Some(before);
        self
    }

    /// The record after the change, or the facts of the event.
    pub fn after(mut self, after: Value) -> Self {
        self.after = Some(after);
        self
    }
}

/// Appends an event to the chain, in the caller's transaction. Writers queue on the chain
/// head's row lock, so concurrent transactions (on any instance) never fork the chain.
pub async fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    request_id: Option<&str>,
    entry: Entry<'_>,
) -> sqlx::Result<i64> {
    // Taking the next position locks the head until the transaction ends; the time is
    // read after the lock, so times follow the order of the chain.
    let head = sqlx::query!(
        r#"UPDATE audit_chain_head SET seq = seq + 1
           RETURNING seq, hash AS prev_hash, clock_timestamp() AS "occurred_at!""#
    )
    .fetch_one(&mut *conn)
    .await?;
    let event = chain::ChainedEvent {
        seq: head.seq,
        occurred_at: truncate_to_micros(head.occurred_at),
        actor_id: actor.id,
        actor_label: actor.label.clone(),
        action: entry.action.to_owned(),
        entity_type: entry.entity_type.to_owned(),
        entity_id: entry.entity_id,
        before: entry.before,
        after: entry.after,
        request_id: request_id.map(str::to_owned),
    };
    let hash = event.hash(&head.prev_hash);
    sqlx::query!(
        "INSERT INTO audit_events (seq, occurred_at, actor_id, actor_label, action, entity_type,
                                   entity_id, before, after, request_id, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        event.seq,
        event.occurred_at,
        event.actor_id,
        event.actor_label,
        event.action,
        event.entity_type,
        event.entity_id,
        event.before,
        event.after,
        event.request_id,
        &head.prev_hash,
        &hash[..],
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("UPDATE audit_chain_head SET hash = $1", &hash[..])
        .execute(conn)
        .await?;
    Ok(event.seq)
}

/// PostgreSQL keeps microseconds; the hash must cover exactly what is stored.
fn truncate_to_micros(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_nanosecond(time.nanosecond() / 1000 * 1000)
        .unwrap_or(time)
}

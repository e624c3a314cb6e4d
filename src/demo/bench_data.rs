//! `quorum bench-data --scale N`: a large organisation generated on top of the demo one,
//! for load benchmarks and for tests that need registers of thousands.
//!
//! Scale 1: 500 people, 2,000 projects with about 100,000 status reports, 20,000 requests
//! to the board of every kind with about 150,000 votes and their decision records, 20,000
//! risks with their rating history, 5,000 policies with 25,000 versions, 2,000 controls
//! with 50,000 evidence records (metadata only) and 2,000,000 audit events on a valid hash
//! chain. The rows are written set-based (`INSERT ... SELECT`, the steps in
//! `bench_data.sql`) and the audit events with `COPY`; statistics are gathered at the end.

use serde_json::json;
use sqlx::{Connection, PgConnection};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::audit::chain::ChainedEvent;

/// What to generate.
pub struct Plan {
    pub counts: Counts,
    /// The argon2 hash every generated account signs in with.
    pub password_hash: String,
}

/// The counts one scale gives.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub users: i64,
    pub projects: i64,
    pub reports_per_project: i64,
    pub risks: i64,
    pub policies: i64,
    pub versions_per_policy: i64,
    pub requests: i64,
    pub controls: i64,
    pub evidence_per_control: i64,
    pub audit_events: i64,
}

impl Counts {
    pub fn at(scale: f64) -> Self {
        // At least a handful of each, so that every list has rows at any scale.
        let of = |base: f64, least: i64| ((base * scale).round() as i64).max(least);
        Self {
            users: of(500.0, 30),
            projects: of(2_000.0, 10),
            reports_per_project: 50,
            risks: of(20_000.0, 20),
            policies: of(5_000.0, 10),
            versions_per_policy: 5,
            requests: of(20_000.0, 60),
            controls: of(2_000.0, 10),
            evidence_per_control: 25,
            audit_events: of(2_000_000.0, 1_000),
        }
    }

    fn fill(&self, sql: &str) -> String {
        [
            ("{users}", self.users),
            ("{projects}", self.projects),
            ("{reports_per_project}", self.reports_per_project),
            ("{risks}", self.risks),
            ("{policies}", self.policies),
            ("{versions_per_policy}", self.versions_per_policy),
            ("{requests}", self.requests),
            ("{controls}", self.controls),
            ("{evidence_per_control}", self.evidence_per_control),
        ]
        .iter()
        .fold(sql.to_owned(), |sql, (name, count)| {
            sql.replace(name, &count.to_string())
        })
    }
}

const STEPS: &str = include_str!("bench_data.sql");

/// The labelled steps of `bench_data.sql`.
fn steps() -> impl Iterator<Item = (&'static str, &'static str)> {
    STEPS.split("\n-- step: ").skip(1).map(|step| {
        let (label, sql) = step.split_once('\n').unwrap_or((step, ""));
        (label.trim(), sql)
    })
}

/// How many units of progress [`generate`] reports: one per step, one per batch of audit
/// events, one for the statistics.
pub fn progress_total(counts: &Counts) -> u64 {
    let batches = (counts.audit_events.max(0) as u64).div_ceil(AUDIT_BATCH as u64);
    steps().count() as u64 + batches + 1
}

/// Whether this database holds a generated organisation already.
pub async fn exists(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT FROM users WHERE email LIKE '%@bench.example')")
        .fetch_one(conn)
        .await
}

/// Generates the organisation on `owner` (the database owner's connection: the audit
/// trail's chain head and `ANALYZE` need it). `progress` is called with a label after
/// each unit of work.
pub async fn generate(
    owner: &mut PgConnection,
    plan: &Plan,
    mut progress: impl FnMut(&str),
) -> anyhow::Result<Counts> {
    let counts = plan.counts;
    for (label, sql) in steps() {
        let mut tx = owner.begin().await?;
        let sql = counts.fill(sql);
        // One statement at a time (the bound password is used by the first step only).
        for statement in split_statements(&sql) {
            let query = sqlx::query(statement);
            let query = if statement.contains("$1") {
                query.bind(&plan.password_hash)
            } else {
                query
            };
            query
                .execute(&mut *tx)
                .await
                .map_err(|error| anyhow::anyhow!("{label}: {error}"))?;
        }
        tx.commit().await?;
        progress(label);
    }
    append_audit_events(owner, counts.audit_events, &mut progress).await?;
    sqlx::query("ANALYZE").execute(&mut *owner).await?;
    progress("statistics");
    Ok(counts)
}

/// Splits a script on the semicolons that end its statements (lines ending with `;`).
fn split_statements(sql: &str) -> Vec<&str> {
    let mut statements = Vec::new();
    let mut start = 0;
    for (end, _) in sql.match_indices(";\n") {
        let statement = sql[start..end].trim();
        if !statement.is_empty() {
            statements.push(statement);
        }
        start = end + 2;
    }
    let rest = sql[start..].trim().trim_end_matches(';').trim();
    if !rest.is_empty() {
        statements.push(rest);
    }
    statements
}

const AUDIT_BATCH: i64 = 100_000;

/// What generated events say, in turn: (action, entity type).
const AUDIT_ACTIONS: &[(&str, &str)] = &[
    ("auth.login", "user"),
    ("report.submitted", "status_report"),
    ("risk.updated", "risk"),
    ("vote.cast", "approval_request"),
    ("policy.version_created", "policy"),
    ("evidence.uploaded", "evidence"),
    ("request.opened", "approval_request"),
    ("export.generated", "export"),
];

/// Appends `total` events to the audit trail, chained to its head, over the last five
/// years, with `COPY` in batches (one transaction per batch, holding the chain head).
async fn append_audit_events(
    owner: &mut PgConnection,
    total: i64,
    progress: &mut impl FnMut(&str),
) -> anyhow::Result<()> {
    let actors: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, display_name FROM users WHERE email LIKE '%@bench.example' ORDER BY id",
    )
    .fetch_all(&mut *owner)
    .await?;
    anyhow::ensure!(!actors.is_empty(), "the generated people are missing");
    // Whole microseconds, as PostgreSQL stores them (the hash covers the stored time).
    let span_micros = Duration::days(5 * 365).whole_microseconds() as i64;
    let now_micros = (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1000) as i64;
    let first_micros = now_micros - span_micros;
    let mut written = 0;
    while written < total {
        let batch = AUDIT_BATCH.min(total - written);
        let mut tx = owner.begin().await?;
        let (head_seq, head_hash): (i64, Vec<u8>) =
            sqlx::query_as("SELECT seq, hash FROM audit_chain_head FOR UPDATE")
                .fetch_one(&mut *tx)
                .await?;
        let mut prev_hash = head_hash;
        let mut rows = String::with_capacity(batch as usize * 400);
        for offset in 1..=batch {
            let n = written + offset;
            let seq = head_seq + offset;
            let micros = first_micros + span_micros / total * n;
            let occurred_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)?;
            let (actor_id, actor_label) = &actors[(n as usize * 7) % actors.len()];
            let (action, entity_type) = AUDIT_ACTIONS[n as usize % AUDIT_ACTIONS.len()];
            let event = ChainedEvent {
                seq,
                occurred_at,
                actor_id: Some(*actor_id),
                actor_label: actor_label.clone(),
                action: action.to_owned(),
                entity_type: entity_type.to_owned(),
                entity_id: Some((n % 20_000 + 1).to_string()),
                before: None,
                after: Some(json!({
                    "note": "generated for the load benchmark",
                    "number": n,
                    "version": n % 7 + 1,
                })),
                request_id: Some(format!("bench-{n}")),
            };
            let hash = event.hash(&prev_hash);
            copy_row(&mut rows, &event, &prev_hash, &hash);
            prev_hash = hash.to_vec();
        }
        let mut copy = tx
            .copy_in_raw(
                "COPY audit_events (seq, occurred_at, actor_id, actor_label, action, \
                 entity_type, entity_id, before, after, request_id, prev_hash, hash) FROM STDIN",
            )
            .await?;
        copy.send(rows.into_bytes()).await?;
        copy.finish().await?;
        sqlx::query("UPDATE audit_chain_head SET seq = $1, hash = $2")
            .bind(head_seq + batch)
            .bind(&prev_hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        written += batch;
        progress("audit trail");
    }
    Ok(())
}

/// One line of `COPY ... FROM STDIN` (text format) for an event.
fn copy_row(out: &mut String, event: &ChainedEvent, prev_hash: &[u8], hash: &[u8]) {
    use std::fmt::Write;
    let text = |value: &str| {
        value
            .replace('\\', "\\\\")
            .replace('\t', "\\t")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    };
    let optional = |value: Option<String>| value.map_or_else(|| "\\N".to_owned(), |v| text(&v));
    let bytea = |bytes: &[u8]| format!("\\\\x{}", hex::encode(bytes));
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        event.seq,
        event
            .occurred_at
            .format(&Rfc3339)
            .expect("a time in the last five years has an RFC 3339 form"),
        event
            .actor_id
            .map_or_else(|| "\\N".to_owned(), |id| id.to_string()),
        text(&event.actor_label),
        text(&event.action),
        text(&event.entity_type),
        optional(event.entity_id.clone()),
        optional(event.before.as_ref().map(|value| value.to_string())),
        optional(event.after.as_ref().map(|value| value.to_string())),
        optional(event.request_id.clone()),
        bytea(prev_hash),
        bytea(hash),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_a_label_and_statements() {
        let steps: Vec<_> = steps().collect();
        assert!(steps.len() >= 8, "{} steps", steps.len());
        for (label, sql) in steps {
            assert!(!label.is_empty());
            assert!(!split_statements(sql).is_empty(), "{label}");
        }
    }

    #[test]
    fn counts_fill_every_placeholder() {
        let counts = Counts::at(0.01);
        assert!(!counts.fill(STEPS).contains('{'), "a placeholder is left");
        assert_eq!(Counts::at(1.0).risks, 20_000);
        assert_eq!(Counts::at(0.0001).risks, 20);
    }
}

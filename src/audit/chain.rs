//! The hash chain over the audit trail, and its verification.
//!
//! `hash = SHA-256(previous hash || canonical JSON of the event)`. The canonical JSON has
//! its keys sorted (serde_json's map is ordered), so an event read back from `jsonb` hashes
//! to the same value it was written with.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;

/// The fields of an event that its hash covers.
#[derive(Debug, Clone)]
pub struct ChainedEvent {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

impl ChainedEvent {
    pub fn hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        let canonical = json!({
            "seq": self.seq,
            "occurred_at_us": (self.occurred_at.unix_timestamp_nanos() / 1000) as i64,
            "actor_id": self.actor_id,
            "actor_label": self.actor_label,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "before": self.before,
            "after": self.after,
            "request_id": self.request_id,
        });
        let mut hasher = Sha256::new();
        hasher.update(prev_hash);
        hasher.update(canonical.to_string().as_bytes());
        hasher.finalize().into()
    }
}

/// Where verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: String,
}

/// The outcome of verifying the whole chain.
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub events_checked: i64,
    pub head_seq: i64,
    pub head_hash: String,
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Events are read in batches, so verifying millions of events keeps memory flat.
const BATCH: i64 = 5_000;

struct StoredEvent {
    seq: i64,
    occurred_at: OffsetDateTime,
    actor_id: Option<i64>,
    actor_label: String,
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    before: Option<Value>,
    after: Option<Value>,
    request_id: Option<String>,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Recomputes every hash from the first event and checks the links and the head.
pub async fn verify_chain(conn: &mut PgConnection) -> sqlx::Result<ChainReport> {
    let head = sqlx::query!("SELECT seq, hash FROM audit_chain_head")
        .fetch_one(&mut *conn)
        .await?;
    let mut expected_prev = vec![0u8; 32];
    let mut expected_seq = 1i64;
    let mut checked = 0i64;
    let mut first_break = None;

    'batches: loop {
        let batch = sqlx::query_as!(
            StoredEvent,
            "SELECT seq, occurred_at, actor_id, actor_label, action, entity_type, entity_id,
                    before, after, request_id, prev_hash, hash
             FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",
            expected_seq,
            BATCH
        )
        .fetch_all(&mut *conn)
        .await?;
        if batch.is_empty() {
            break;
        }
        for stored in batch {
            if let Some(reason) = check_event(&stored, expected_seq, &expected_prev) {
                first_break = Some(ChainBreak {
                    seq: stored.seq.min(expected_seq),
                    reason,
                });
                break 'batches;
            }
            checked += 1;
            expected_seq = stored.seq + 1;
            expected_prev = stored.hash;
        }
    }

    if first_break.is_none() {
        if head.seq != expected_seq - 1 {
            first_break = Some(ChainBreak {
                seq: expected_seq,
                reason: format!(
                    "the chain head says {} events, but the trail ends after {}: events are missing",
                    head.seq,
                    expected_seq - 1
                ),
            });
        } else if head.hash != expected_prev {
            first_break = Some(ChainBreak {
                seq: head.seq,
                reason: "the chain head's hash does not match the last event".to_owned(),
            });
        }
    }

    Ok(ChainReport {
        events_checked: checked,
        head_seq: head.seq,
        head_hash: hex::encode(&head.hash),
        first_break,
    })
}

fn check_event(stored: &StoredEvent, expected_seq: i64, expected_prev: &[u8]) -> Option<String> {
    if stored.seq != expected_seq {
        return Some(format!(
            "event {expected_seq} is missing (the next event is {})",
            stored.seq
        ));
    }
    if stored.prev_hash != expected_prev {
        return Some("the link to the previous event does not match".to_owned());
    }
    let recomputed = ChainedEvent {
        seq: stored.seq,
        occurred_at: stored.occurred_at,
        actor_id: stored.actor_id,
        actor_label: stored.actor_label.clone(),
        action: stored.action.clone(),
        entity_type: stored.entity_type.clone(),
        entity_id: stored.entity_id.clone(),
        before: stored.before.clone(),
        after: stored.after.clone(),
        request_id: stored.request_id.clone(),
    }
    .hash(&stored.prev_hash);
    if stored.hash != recomputed {
        return Some("the event's content does not match its hash: it was changed".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(after: Value) -> ChainedEvent {
        ChainedEvent {
            seq: 1,
            occurred_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            actor_id: Some(7),
            actor_label: "chair@example.com".to_owned(),
            action: "user.updated".to_owned(),
            entity_type: "user".to_owned(),
            entity_id: Some("7".to_owned()),
            before: None,
            after: Some(after),
            request_id: None,
        }
    }

    #[test]
    fn the_hash_ignores_key_order_as_jsonb_does() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [true, "x"]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a": [true, "x"], "b": 1}"#).unwrap();
        assert_eq!(event(a).hash(&[0; 32]), event(b).hash(&[0; 32]));
    }

    #[test]
    fn the_hash_covers_content_and_the_previous_hash() {
        let base = event(json!({"roles": ["board"]}));
        let changed = event(json!({"roles": ["board", "admin"]}));
        assert_ne!(base.hash(&[0; 32]), changed.hash(&[0; 32]));
        assert_ne!(base.hash(&[0; 32]), base.hash(&[1; 32]));
    }
}

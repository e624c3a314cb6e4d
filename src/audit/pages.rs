//! The auditor's pages: the trail, page by page, and the chain's verification.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use time::OffsetDateTime;

use super::chain::{ChainReport, verify_chain};
use crate::web::pagination::{KeysetPage, fetch_limit};
use crate::web::{AppResult, AppState, Auditor, PageContext};

/// Routes under `/audit` (the router requires the `auditor` role for all of them).
pub fn auditor_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(audit_home))
        .route("/events", get(event_list))
        .route("/verify", get(verify_page))
}

const PAGE_SIZE: usize = 50;

/// One row of the trail as the auditor reads it.
pub struct EventRow {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub hash: Vec<u8>,
}

impl EventRow {
    pub fn when(&self) -> String {
        crate::web::page::format_time(self.occurred_at)
    }

    pub fn entity(&self) -> String {
        match &self.entity_id {
            Some(id) => format!("{} {id}", self.entity_type),
            None => self.entity_type.clone(),
        }
    }

    pub fn before_text(&self) -> String {
        self.before
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    pub fn after_text(&self) -> String {
        self.after
            .as_ref()
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    pub fn short_hash(&self) -> String {
        hex::encode(&self.hash[..6.min(self.hash.len())])
    }
}

/// A page of events, newest first, before `before` (keyset paging on the chain position).
async fn events_before(
    state: &AppState,
    before: Option<i64>,
    page_size: usize,
) -> AppResult<KeysetPage<EventRow, i64>> {
    let rows = sqlx::query_as!(
        EventRow,
        "SELECT seq, occurred_at, actor_label, action, entity_type, entity_id, before, after, hash
         FROM audit_events
         WHERE $1::bigint IS NULL OR seq < $1
         ORDER BY seq DESC
         LIMIT $2",
        before,
        fetch_limit(page_size)
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(KeysetPage::from_rows(rows, page_size, |event| event.seq))
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/home.html")]
struct AuditHome {
    ctx: PageContext,
    head_seq: i64,
    head_hash: String,
    recent: Vec<EventRow>,
}

async fn audit_home(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_auditor): Auditor,
) -> AppResult<AuditHome> {
    let head = sqlx::query!("SELECT seq, hash FROM audit_chain_head")
        .fetch_one(&state.pool)
        .await?;
    let recent = events_before(&state, None, 10).await?;
    Ok(AuditHome {
        ctx,
        head_seq: head.seq,
        head_hash: hex::encode(head.hash),
        recent: recent.items,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/events.html")]
struct EventListPage {
    ctx: PageContext,
    events: Vec<EventRow>,
    next_before: Option<i64>,
    is_first_page: bool,
}

#[derive(Deserialize)]
struct EventQuery {
    before: Option<i64>,
}

async fn event_list(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_auditor): Auditor,
    Query(query): Query<EventQuery>,
) -> AppResult<EventListPage> {
    let page = events_before(&state, query.before, PAGE_SIZE).await?;
    Ok(EventListPage {
        ctx,
        events: page.items,
        next_before: page.next,
        is_first_page: query.before.is_none(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/verify.html")]
struct VerifyPage {
    ctx: PageContext,
    report: ChainReport,
    verified_at: String,
}

async fn verify_page(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_auditor): Auditor,
) -> AppResult<VerifyPage> {
    let mut conn = state.pool.acquire().await?;
    let report = verify_chain(&mut conn).await?;
    Ok(VerifyPage {
        ctx,
        report,
        verified_at: crate::web::page::format_time(OffsetDateTime::now_utc()),
    })
}

//! The auditor's pages: the trail, page by page, and the chain's verification.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;

use super::chain::{ChainReport, verify_chain};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::db::listing::Listing;
use crate::web::form::{self, FieldErrors};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::route_list::Routes;
use crate::web::{AppResult, AppState, Auditor, PageContext};

/// Routes under `/audit` (the router requires the `auditor` role for all of them).
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/", get(audit_home))
        .route("/events", get(event_list))
        .route("/verify", get(verify_page))
}

const PAGE_SIZE: usize = 50;

/// One row of the trail as the auditor reads it.
#[derive(sqlx::FromRow)]
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
        crate::common::format::format_time(self.occurred_at)
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

/// Which events the trail shows: all by default; by who acted, on what, which action,
/// between which dates (both included).
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    /// Part of the actor's label (an e-mail address, "system").
    pub actor: Option<String>,
    /// The kind of record (`policy`, `risk`, ...), optionally with its id: `policy POL-0001`.
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    /// An action (`policy.published`) or its area (`policy.`).
    pub action: Option<String>,
    pub from: Option<time::Date>,
    pub to: Option<time::Date>,
}

impl EventFilter {
    /// `select` over the events this filter selects, with only the conditions that are set
    /// (a catch-all `$n IS NULL OR ...` statement gets one generic plan for every filter,
    /// which walks the whole trail: see [`crate::db::listing`]).
    fn listing(&self, select: &str) -> Listing<'static> {
        let mut list = Listing::new(select);
        if let Some(actor) = &self.actor {
            list.and("actor_label ILIKE '%' || ")
                .push_bind(actor.clone())
                .push(" || '%'");
        }
        if let Some(entity_type) = &self.entity_type {
            list.and("entity_type = ").push_bind(entity_type.clone());
        }
        if let Some(entity_id) = &self.entity_id {
            list.and("entity_id = ").push_bind(entity_id.clone());
        }
        match &self.action {
            // An area (`policy.`): every action in it.
            Some(area) if area.ends_with('.') => {
                list.and("starts_with(action, ")
                    .push_bind(area.clone())
                    .push(")");
            }
            Some(action) => {
                list.and("action = ").push_bind(action.clone());
            }
            None => {}
        }
        if let Some(from) = self.from {
            list.and("occurred_at >= ").push_bind(from).push("::date");
        }
        if let Some(to) = self.to {
            list.and("occurred_at < ").push_bind(to).push("::date + 1");
        }
        list
    }

    /// The statement selecting up to `limit` events, newest first, before `before`.
    pub fn page_selection(
        &self,
        before: Option<i64>,
        limit: i64,
    ) -> QueryBuilder<'static, Postgres> {
        let mut list = self.listing(
            "SELECT seq, occurred_at, actor_label, action, entity_type, entity_id, before, \
             after, hash FROM audit_events",
        );
        if let Some(before) = before {
            list.and("seq < ").push_bind(before);
        }
        list.order_by("seq DESC", limit)
    }
}

/// A page of events, newest first, before `before` (keyset paging on the chain position).
pub async fn events_before(
    conn: &mut sqlx::PgConnection,
    filter: &EventFilter,
    before: Option<i64>,
    page_size: usize,
) -> sqlx::Result<KeysetPage<EventRow, i64>> {
    let rows = filter
        .page_selection(before, fetch_limit(page_size))
        .build_query_as::<EventRow>()
        .fetch_all(conn)
        .await?;
    Ok(KeysetPage::from_rows(rows, page_size, |event| event.seq))
}

/// How many events `filter` selects up to the chain position `through`, counting no
/// further than `at_most`.
pub async fn count_events(
    conn: &mut sqlx::PgConnection,
    filter: &EventFilter,
    through: i64,
    at_most: i64,
) -> sqlx::Result<i64> {
    let mut list = filter.listing("SELECT count(*) FROM (SELECT 1 FROM audit_events");
    list.and("seq <= ").push_bind(through);
    let mut count = list.order_by("seq", at_most);
    count.push(") selected");
    count.build_query_scalar().fetch_one(conn).await
}

/// An event as the exported trail lists it.
#[derive(sqlx::FromRow)]
pub struct TrailEvent {
    pub seq: i64,
    pub occurred_at: OffsetDateTime,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub hash: Vec<u8>,
}

/// The events `filter` selects after the chain position `after` and up to `through`,
/// oldest first, at most `limit`. An export reads the trail in such batches, each a range
/// of the chain's index: one statement over two million events is planned as a sort of
/// all of them before the first row comes out (it outlasted the request timeout).
pub async fn events_after(
    conn: &mut sqlx::PgConnection,
    filter: &EventFilter,
    after: i64,
    through: i64,
    limit: i64,
) -> sqlx::Result<Vec<TrailEvent>> {
    let mut list = filter.listing(
        "SELECT seq, occurred_at, actor_label, action, entity_type, entity_id, before, after, \
         request_id, hash FROM audit_events",
    );
    list.and("seq > ").push_bind(after);
    list.and("seq <= ").push_bind(through);
    list.order_by("seq", limit)
        .build_query_as::<TrailEvent>()
        .fetch_all(conn)
        .await
}

/// How many events [`events_after`] reads at a time.
pub const TRAIL_BATCH: i64 = 10_000;

#[derive(Template, WebTemplate)]
#[template(path = "audit/home.html")]
struct AuditHome {
    ctx: PageContext,
    chain: Arc<ChainSummary>,
}

/// Where the chain ends, and its latest events.
struct ChainSummary {
    head_seq: i64,
    head_hash: String,
    recent: Vec<EventRow>,
}

async fn audit_home(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    Auditor(_auditor): Auditor,
) -> AppResult<AuditHome> {
    let chain = figures
        .load(FiguresKey::shared("audit chain head"), async {
            let mut conn = state.pool.acquire().await?;
            let head = sqlx::query!("SELECT seq, hash FROM audit_chain_head")
                .fetch_one(&mut *conn)
                .await?;
            let recent = events_before(&mut conn, &EventFilter::default(), None, 10).await?;
            Ok(ChainSummary {
                head_seq: head.seq,
                head_hash: hex::encode(head.hash),
                recent: recent.items,
            })
        })
        .await?;
    Ok(AuditHome { ctx, chain })
}

#[derive(Template, WebTemplate)]
#[template(path = "audit/events.html")]
struct EventListPage {
    ctx: PageContext,
    trail: Arc<KeysetPage<EventRow, i64>>,
    query: EventQuery,
    filters: String,
    errors: FieldErrors,
}

/// The trail's filters as typed in the address.
#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    pub actor: Option<String>,
    /// `policy` or `policy POL-0001`.
    pub entity: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<i64>,
}

impl EventQuery {
    /// The filter, or the messages for the dates that could not be read.
    pub fn filter(&self, errors: &mut FieldErrors) -> EventFilter {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        let (entity_type, entity_id) = match chosen(&self.entity) {
            Some(entity) => match entity.split_once(char::is_whitespace) {
                Some((kind, id)) => (Some(kind.to_owned()), form::optional(id)),
                None => (Some(entity), None),
            },
            None => (None, None),
        };
        let from = form::optional_date(errors, "from", self.from.as_deref().unwrap_or_default());
        let to = form::optional_date(errors, "to", self.to.as_deref().unwrap_or_default());
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            errors.add("to", "The period ends before it starts.");
        }
        EventFilter {
            actor: chosen(&self.actor),
            entity_type,
            entity_id,
            action: chosen(&self.action),
            from,
            to,
        }
    }

    /// The filters as a query string, for the page links and the exports.
    pub fn filters(&self) -> String {
        filter_query(&[
            ("actor", &self.actor),
            ("entity", &self.entity),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

async fn event_list(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    Auditor(_auditor): Auditor,
    Query(query): Query<EventQuery>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let filter = query.filter(&mut errors);
    let trail = if errors.is_empty() {
        let before = query.before;
        let key = FiguresKey::shared("audit trail").with(format_args!("{filter:?} {before:?}"));
        figures
            .load(key, async {
                let mut conn = state.pool.acquire().await?;
                Ok(events_before(&mut conn, &filter, before, PAGE_SIZE).await?)
            })
            .await?
    } else {
        Arc::new(KeysetPage {
            items: Vec::new(),
            next: None,
        })
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = EventListPage {
        ctx,
        trail,
        filters: query.filters(),
        query,
        errors,
    };
    Ok((status, page).into_response())
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
    // Heavy like an export (it reads and hashes the whole trail): it takes one of their
    // slots; it stops between batches if the request is dropped, and at the request
    // timeout at the latest.
    let _job = state.heavy_jobs.try_start()?;
    let mut conn = state.pool.acquire().await?;
    let report = verify_chain(&mut conn).await?;
    Ok(VerifyPage {
        ctx,
        report,
        verified_at: crate::common::format::format_time(OffsetDateTime::now_utc()),
    })
}

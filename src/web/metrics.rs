//! `/metrics` in the Prometheus text format: requests and their latency by route, the
//! connection pool, database errors and the e-mail outbox. Served only to a scraper that
//! sends `Authorization: Bearer <QUORUM_METRICS_TOKEN>`; without a configured token the
//! address does not exist.
//!
//! Series are keyed by the route as routed (`/board/requests/{id}`), never by the address
//! asked for, so their number stays bounded whatever is requested.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Database errors answered (connection losses and timeouts included), counted where
/// errors become responses, which has no state at hand.
static DATABASE_ERRORS: AtomicU64 = AtomicU64::new(0);

pub fn count_database_error() {
    DATABASE_ERRORS.fetch_add(1, Ordering::Relaxed);
}

#[derive(Default)]
struct Latency {
    /// Observations at or below each bound of [`BUCKETS`] (not cumulative).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

#[derive(Default)]
struct Recorded {
    /// (route, method, status) → requests.
    answers: BTreeMap<(String, String, u16), u64>,
    /// (route, method) → latency.
    latency: BTreeMap<(String, String), Latency>,
}

/// What the server has answered since it started; cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Recorded>>);

impl Metrics {
    fn record(&self, route: String, method: String, status: StatusCode, seconds: f64) {
        let mut recorded = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *recorded
            .answers
            .entry((route.clone(), method.clone(), status.as_u16()))
            .or_default() += 1;
        let latency = recorded.latency.entry((route, method)).or_default();
        latency.count += 1;
        latency.sum_seconds += seconds;
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            latency.buckets[bucket] += 1;
        }
    }

    fn render(&self, out: &mut String) {
        let recorded = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        out.push_str(
            "# HELP quorum_http_requests_total Requests answered, by route, method and status.\n\
             # TYPE quorum_http_requests_total counter\n",
        );
        for ((route, method, status), count) in &recorded.answers {
            let _ = writeln!(
                out,
                "quorum_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP quorum_http_request_duration_seconds Time to answer, by route and method.\n\
             # TYPE quorum_http_request_duration_seconds histogram\n",
        );
        for ((route, method), latency) in &recorded.latency {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(latency.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "quorum_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "quorum_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 quorum_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 quorum_http_request_duration_seconds_count{{{labels}}} {}",
                latency.count, latency.sum_seconds, latency.count
            );
        }
    }
}

/// Middleware: counts and times every routed request.
pub async fn record(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.record(
        route,
        method,
        response.status(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = &state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
        )
            .into_response();
    }
    let mut out = String::new();
    state.metrics.render(&mut out);
    let pool = &state.pool;
    let idle = pool.num_idle() as u32;
    let _ = writeln!(
        out,
        "# HELP quorum_db_pool_connections Connections of the pool, by state.\n\
         # TYPE quorum_db_pool_connections gauge\n\
         quorum_db_pool_connections{{state=\"idle\"}} {idle}\n\
         quorum_db_pool_connections{{state=\"in_use\"}} {}\n\
         # HELP quorum_db_pool_max_connections The pool's limit.\n\
         # TYPE quorum_db_pool_max_connections gauge\n\
         quorum_db_pool_max_connections {}\n\
         # HELP quorum_db_errors_total Requests that failed on a database error.\n\
         # TYPE quorum_db_errors_total counter\n\
         quorum_db_errors_total {}",
        pool.size().saturating_sub(idle),
        pool.options().get_max_connections(),
        DATABASE_ERRORS.load(Ordering::Relaxed)
    );
    let (hits, misses) = state.read_cache.counts();
    let _ = writeln!(
        out,
        "# HELP quorum_read_cache_loads_total Page figures asked of the read cache, by whether \
         they were kept (hit) or read from the database (miss).\n\
         # TYPE quorum_read_cache_loads_total counter\n\
         quorum_read_cache_loads_total{{result=\"hit\"}} {hits}\n\
         quorum_read_cache_loads_total{{result=\"miss\"}} {misses}"
    );
    // The backlog is left out, not guessed, when the database cannot say.
    if let Ok(pending) = sqlx::query_scalar!(
        r#"SELECT count(*) AS "pending!" FROM mail_outbox WHERE sent_at IS NULL"#
    )
    .fetch_one(pool)
    .await
    {
        let _ = writeln!(
            out,
            "# HELP quorum_mail_outbox_pending E-mails waiting to be sent.\n\
             # TYPE quorum_mail_outbox_pending gauge\n\
             quorum_mail_outbox_pending {pending}"
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

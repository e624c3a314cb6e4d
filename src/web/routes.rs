//! Every route, grouped by who may reach it, and the middleware around them.
//!
//! Role separation is part of the routing: `/board` needs `board`, `/manage` needs
//! `it_manager`, `/audit` needs `auditor`, `/admin` needs `admin`. Each handler also takes
//! the matching extractor (`BoardMember`, ...), so its signature says the same.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{from_extractor, from_fn, from_fn_with_state};
use axum::routing::get;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::identity::{Admin, Auditor, BoardMember, ItManager};
use super::route_list::Routes;
use super::{AppState, assets, csrf, error, request, security_headers, session};
use crate::{
    approvals, audit, auth, compliance, dashboards, decisions, exports, policies, projects, risks,
    users,
};

/// Request bodies larger than this are refused: the largest is an evidence upload (forms
/// are held to much less by the CSRF check and axum's default limit).
const MAX_BODY_BYTES: usize = super::upload::MAX_UPLOAD_REQUEST_BYTES;

/// Every area's routes, grouped by who may reach them.
struct Areas {
    /// Anyone; pages that need a signed-in user say so with `SignedIn`.
    open: Routes,
    board: Routes,
    manage: Routes,
    audit: Routes,
    admin: Routes,
}

/// Where each group is nested.
const BOARD: &str = "/board";
const MANAGE: &str = "/manage";
const AUDIT: &str = "/audit";
const ADMIN: &str = "/admin";

fn areas() -> Areas {
    Areas {
        open: auth::routes()
            .merge(dashboards::routes())
            .merge(decisions::routes())
            .merge(policies::routes())
            .merge(compliance::reader_routes())
            .merge(users::routes()),
        board: dashboards::board_routes()
            .merge(projects::board_routes())
            .merge(approvals::board_routes())
            .merge(risks::board_routes())
            .merge(policies::board_routes()),
        manage: dashboards::manage_routes()
            .merge(projects::manage_routes())
            .merge(approvals::manage_routes())
            .merge(decisions::manage_routes())
            .merge(risks::manage_routes())
            .merge(policies::manage_routes())
            .merge(compliance::manage_routes()),
        audit: audit::auditor_routes()
            .merge(projects::auditor_routes())
            .merge(approvals::auditor_routes())
            .merge(risks::auditor_routes())
            .merge(policies::auditor_routes())
            .merge(exports::auditor_routes())
            .merge(compliance::auditor_routes()),
        admin: users::admin_routes().merge(compliance::admin_routes()),
    }
}

/// Served outside the session and CSRF layers: probes and files.
fn plumbing() -> Routes {
    Routes::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(super::metrics::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/static/{name}", get(assets::static_file))
}

/// Every path Quorum serves, as routed (`{id}` and the like for parameters).
pub fn paths() -> Vec<String> {
    let areas = areas();
    let mut paths = areas.open.paths_under("");
    paths.extend(areas.board.paths_under(BOARD));
    paths.extend(areas.manage.paths_under(MANAGE));
    paths.extend(areas.audit.paths_under(AUDIT));
    paths.extend(areas.admin.paths_under(ADMIN));
    paths.extend(plumbing().paths_under(""));
    paths
}

pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let areas = areas();
    let board = areas
        .board
        .into_router()
        .route_layer(from_extractor::<BoardMember>());
    let manage = areas
        .manage
        .into_router()
        .route_layer(from_extractor::<ItManager>());
    let audit = areas
        .audit
        .into_router()
        .route_layer(from_extractor::<Auditor>());
    let admin = areas
        .admin
        .into_router()
        .route_layer(from_extractor::<Admin>());

    let app = areas
        .open
        .into_router()
        .nest(BOARD, board)
        .nest(MANAGE, manage)
        .nest(AUDIT, audit)
        .nest(ADMIN, admin)
        .fallback(error::not_found)
        // Innermost first: the token check needs the session (and its signed-in user); a
        // person who must set up a second factor is sent to it once the token is checked.
        .layer(from_fn(session::enrolment_gate))
        .layer(from_fn(csrf::verify_token))
        .layer(from_fn_with_state(state.clone(), session::load))
        .layer(CsrfLayer::new())
        .merge(plumbing().into_router());

    let app = app.layer(
        ServiceBuilder::new()
            .layer(from_fn_with_state(
                state.metrics.clone(),
                super::metrics::record,
            ))
            .layer(from_fn(error::render_error_pages))
            .layer(from_fn(request::refuse_nul_in_query))
            .layer(CatchPanicLayer::custom(error::panic_response))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                state.config.request_timeout,
            ))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)),
    );
    let app = security_headers::apply(app, state.config.is_https()).layer(CompressionLayer::new());
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .on_response(DefaultOnResponse::new().level(Level::INFO))
                    .make_span_with(|request: &axum::http::Request<axum::body::Body>| {
                        let request_id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or("-");
                        tracing::info_span!(
                            "request",
                            method = %request.method(),
                            path = %request.uri().path(),
                            request_id,
                        )
                    }),
            )
            .layer(PropagateRequestIdLayer::new(request_id)),
    )
    .with_state(state)
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match sqlx::query_scalar!("SELECT 1 AS \"one!\"")
        .fetch_one(&state.pool)
        .await
    {
        Ok(_) => (StatusCode::OK, "ready"),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

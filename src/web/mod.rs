//! Shared web plumbing: state, errors, sessions and the current user, CSRF, the page
//! layout, forms, security headers and the route map. Areas use these; none copies them.

pub mod area;
pub mod assets;
pub mod csrf;
pub mod error;
pub mod form;
pub mod heavy;
pub mod identity;
pub mod metrics;
pub mod money;
pub mod page;
pub mod pagination;
pub mod read_cache;
pub mod references;
pub mod request;
pub mod route_list;
pub mod routes;
pub mod security_headers;
pub mod session;
pub mod step_up;
pub mod suggest;
pub mod upload;

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::ServerConfig;

pub use area::{Area, Viewer};
pub use error::{AppError, AppResult};
pub use identity::{
    Admin, Auditor, BoardMember, ComplianceReader, CurrentUser, ItManager, SignedIn,
};
pub use page::PageContext;
pub use request::RequestMeta;

/// What every handler can reach; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub config: Arc<ServerConfig>,
    pub heavy_jobs: heavy::HeavyJobs,
    pub metrics: metrics::Metrics,
    /// Passkeys' relying party; None where the public address cannot carry them.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// Pages' figures kept while nothing changed (`read_cache`).
    pub read_cache: Arc<read_cache::ReadCache>,
}

/// The end of a successful change: commits the transaction (the change and its audit
/// event together), leaves `message` for the next page and redirects to `to`.
pub async fn commit_and_redirect(
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    session: &session::Session,
    message: impl Into<String>,
    to: &str,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    tx.commit().await?;
    session.push_flash(session::FlashKind::Success, message);
    Ok(axum::response::Redirect::to(to).into_response())
}

/// The end of a refused change: nothing was written; `message` says why on the page at `to`.
pub async fn refuse_and_redirect(
    session: &session::Session,
    message: impl Into<String>,
    to: &str,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    session.push_flash(session::FlashKind::Error, message);
    Ok(axum::response::Redirect::to(to).into_response())
}

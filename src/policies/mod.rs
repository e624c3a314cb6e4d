//! Policies with a governed lifecycle. IT managers write them under `/manage/policies`:
//! every edit is a new draft version; a draft goes to the board for approval of that exact
//! version (through the approvals engine), is published once approved, reviewed on its
//! interval and eventually retired. Time-limited exceptions are board decisions too. The
//! board reads every policy, version and difference under `/board/policies`.

mod edits;
mod lifecycle;
pub mod model;
mod pages;
pub mod repo;
pub mod text;

pub use lifecycle::{exception_filing, publication_filing};

use axum::routing::{get, post};
use sqlx::PgConnection;

use crate::common::dates::today;
use crate::web::references::{self, Register};
use crate::web::route_list::Routes;
use crate::web::{AppError, AppResult};
use repo::Policy;

/// The policies in force, for everyone signed in: what the organisation must follow.
pub fn routes() -> Routes {
    Routes::new()
        .route("/policies", get(pages::list))
        .route("/policies/{id}", get(pages::in_force_policy))
}

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/policies", get(pages::list).post(edits::create))
        .route("/policies/new", get(edits::new_page))
        .route(
            "/suggest/policies",
            references::suggest_route(Register::Policies),
        )
        .route("/policies/exceptions", get(pages::exceptions))
        .route("/policies/{id}", get(pages::detail))
        .route(
            "/policies/{id}/edit",
            get(edits::edit_page).post(edits::save_edit),
        )
        .route("/policies/{id}/submit", post(lifecycle::submit_for_review))
        .route("/policies/{id}/publish", post(lifecycle::publish))
        .route("/policies/{id}/reviewed", post(lifecycle::record_review))
        .route("/policies/{id}/retire", post(lifecycle::retire))
        .route("/policies/{id}/risks", post(lifecycle::link_risk))
        .route(
            "/policies/{id}/risks/{risk}/unlink",
            post(lifecycle::unlink_risk),
        )
        .route("/policies/{id}/exceptions", post(lifecycle::ask_exception))
        .route("/policies/{id}/versions/{number}", get(pages::version))
        .route("/policies/{id}/diff", get(pages::diff))
}

/// Routes under `/audit` (the router requires the `auditor` role): every policy, version
/// and difference, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/policies", get(pages::list))
        .route("/policies/exceptions", get(pages::exceptions))
        .route("/policies/{id}", get(pages::detail))
        .route("/policies/{id}/versions/{number}", get(pages::version))
        .route("/policies/{id}/diff", get(pages::diff))
}

/// Routes under `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new()
        .route("/policies", get(pages::list))
        .route("/policies/exceptions", get(pages::exceptions))
        .route("/policies/{id}", get(pages::detail))
        .route("/policies/{id}/versions/{number}", get(pages::version))
        .route("/policies/{id}/diff", get(pages::diff))
}

/// Why a small form of the policy's page was not saved when the policy changed meanwhile.
const STALE_PAGE: &str = "The policy changed while you were reading it: it is shown as it is now, with what you typed. Look again and send it once more.";

/// Locks policy `id` for the rest of the transaction (or there is no such page).
async fn locked(conn: &mut PgConnection, id: i64) -> AppResult<Policy> {
    repo::lock(conn, id, today())
        .await?
        .ok_or(AppError::NotFound)
}

//! Approvals: requests for a board decision, votes, recusals and the resolutions that close
//! them. IT managers file budget requests under `/manage/requests` (risk acceptances and
//! policy publications and exceptions from the risk's and the policy's pages); the board
//! votes under `/board/requests`.
//!
//! Where things are: what a request is about is its [`subject::Subject`] (and how to add a
//! kind); every request is filed through [`filing::file`]; who may not vote is
//! [`eligibility`]; votes, recusals, closing and what an approval does are the [`engine`];
//! the rule that decides is in [`model`].

pub mod board;
pub mod budget;
pub mod eligibility;
pub mod engine;
pub mod filing;
pub mod model;
pub mod notices;
pub mod repo;
pub mod requests;
pub mod subject;

use axum::response::Response;
use axum::routing::{get, post};

use crate::web::route_list::Routes;
use crate::web::session::Session;
use crate::web::{AppError, AppResult, refuse_and_redirect};
use engine::{EngineError, Refusal};

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/requests", get(requests::list).post(requests::create))
        .route("/requests/new", get(requests::new_page))
        .route("/requests/{id}", get(requests::show).post(requests::save))
        .route("/requests/{id}/withdraw", post(requests::withdraw))
}

/// Routes under `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new()
        .route("/requests", get(board::list))
        .route("/requests/{id}", get(board::show))
        .route("/requests/{id}/vote", post(board::vote))
        .route("/requests/{id}/recuse", post(board::recuse))
        .route("/requests/{id}/close", post(board::close))
        .route("/budget", get(budget::show))
        .route("/budget/{year}", post(budget::set_envelope))
}

/// Routes under `/audit` (the router requires the `auditor` role): every request and its
/// votes, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/requests", get(board::audit_list))
        .route("/requests/{id}", get(board::audit_show))
}

/// Turns an engine refusal into a message on the request's page (nothing was changed);
/// database errors stay errors.
pub async fn refused(session: &Session, error: EngineError, back: &str) -> AppResult<Response> {
    match error {
        EngineError::Refused(Refusal::NotFound) => Err(AppError::NotFound),
        EngineError::Refused(refusal) => {
            refuse_and_redirect(session, refusal.message(), back).await
        }
        EngineError::Database(error) => Err(error.into()),
    }
}

//! The portfolio: strategic objectives, projects, budgets and status reports.
//!
//! Management (`/manage/...`) runs projects and files status reports; governance
//! (`/board/...`) keeps the objectives, approves budgets and watches the portfolio.

pub mod board;
pub mod charts;
pub mod manage;
pub mod model;
pub mod repo;
pub mod reports;

use axum::routing::{get, post};

use crate::web::references::{self, Register};
use crate::web::route_list::Routes;
use crate::web::{AppError, AppResult, AppState, CurrentUser};
use repo::{Project, Report};

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/projects", get(manage::list).post(manage::create))
        .route("/projects/new", get(manage::new_page))
        .route("/projects/{id}", get(manage::detail))
        .route(
            "/projects/{id}/edit",
            get(manage::edit_page).post(manage::update),
        )
        .route("/projects/{id}/reports", post(reports::create))
        .route("/projects/{id}/reports/new", get(reports::new_page))
        .route("/reports/{id}", get(reports::show).post(reports::save))
        .route("/reports/{id}/correction", get(reports::correction_page))
        .route(
            "/suggest/projects",
            references::suggest_route(Register::Projects),
        )
}

/// Routes under `/audit` (the router requires the `auditor` role): projects and their
/// submitted reports, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/projects", get(manage::list))
        .route("/projects/{id}", get(manage::detail))
        .route("/reports/{id}", get(board::report))
}

/// Routes under `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new()
        .route("/portfolio", get(board::portfolio))
        .route("/projects", get(manage::list))
        .route("/projects/{id}", get(manage::detail))
        .route("/reports/{id}", get(board::report))
        .route(
            "/objectives",
            get(board::objectives).post(board::create_objective),
        )
        .route(
            "/objectives/{id}",
            get(board::objective_page).post(board::update_objective),
        )
}

async fn load_project(state: &AppState, id: i64) -> AppResult<Project> {
    let mut conn = state.pool.acquire().await?;
    repo::get_project(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn load_report(state: &AppState, id: i64) -> AppResult<Report> {
    let mut conn = state.pool.acquire().await?;
    repo::get_report(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A manager changes only the projects they manage.
fn ensure_manages(user: &CurrentUser, project: &Project) -> AppResult<()> {
    if project.manager_id == user.id {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{} {} is managed by {}. Only its manager can change it or its reports.",
            project.reference, project.name, project.manager_name
        )))
    }
}

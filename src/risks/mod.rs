//! The risk register. IT managers keep it under `/manage/risks` (ratings with their history,
//! actions, asking the board to accept a risk above appetite); the board sets the appetite
//! per category and watches the heat maps, exceptions, overdue reviews and actions, and the
//! movement since the quarter end under `/board/risks`. The register can be read as it
//! stood at any past date.

mod board;
mod categories;
mod edits;
pub mod model;
mod pages;
pub mod repo;
mod treatment;

pub use treatment::acceptance_filing;

use axum::routing::{get, post};

use crate::web::route_list::Routes;

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/risks", get(pages::list).post(edits::create))
        .route("/risks/new", get(edits::new_page))
        .route("/risks/as-of", get(pages::as_of))
        .route("/suggest/risks", get(pages::suggest))
        .route(
            "/risks/categories",
            get(categories::categories_page).post(categories::add_category),
        )
        .route("/risks/categories/{id}", post(categories::rename_category))
        .route("/risks/{id}", get(pages::detail))
        .route(
            "/risks/{id}/edit",
            get(edits::edit_page).post(edits::update),
        )
        .route("/risks/{id}/actions", post(treatment::add_action))
        .route("/risks/{id}/acceptance", post(treatment::ask_acceptance))
        .route(
            "/risks/{id}/actions/{action}/done",
            post(treatment::complete_action),
        )
}

/// Routes under `/audit` (the router requires the `auditor` role): the register, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/risks", get(pages::list))
        .route("/risks/as-of", get(pages::as_of))
        .route("/risks/{id}", get(pages::detail))
}

/// Routes under `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new()
        .route("/risks", get(board::board_overview))
        .route("/risks/register", get(pages::list))
        .route("/risks/as-of", get(pages::as_of))
        .route("/risks/appetite/{id}", post(board::set_appetite))
        .route("/risks/{id}", get(pages::detail))
}

//! Home pages: `/` sends each person to their home, and each role has one.
//!
//! The board's and management's homes grow with the portfolio, approvals, risk and policy
//! areas; for now they greet the person and show what their role covers.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::users::Role;
use crate::web::{AppState, BoardMember, CurrentUser, ItManager, PageContext};

/// `/` for everyone.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(root))
}

/// `/board` (the router requires the `board` role).
pub fn board_routes() -> Router<AppState> {
    Router::new().route("/", get(board_home))
}

/// `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Router<AppState> {
    Router::new().route("/", get(manage_home))
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboards/choose_home.html")]
struct ChooseHomePage {
    ctx: PageContext,
    roles: Vec<Role>,
}

/// Anonymous visitors sign in; a person with one home goes there; several, they choose.
async fn root(ctx: PageContext, user: Option<CurrentUser>) -> Response {
    let Some(user) = user else {
        return Redirect::to("/login").into_response();
    };
    match user.roles.as_slice() {
        [only] => Redirect::to(only.home_path()).into_response(),
        roles => ChooseHomePage {
            roles: roles.to_vec(),
            ctx,
        }
        .into_response(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboards/board.html")]
struct BoardHome {
    ctx: PageContext,
    user: CurrentUser,
}

async fn board_home(ctx: PageContext, BoardMember(user): BoardMember) -> BoardHome {
    BoardHome { ctx, user }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboards/manage.html")]
struct ManageHome {
    ctx: PageContext,
    user: CurrentUser,
}

async fn manage_home(ctx: PageContext, ItManager(user): ItManager) -> ManageHome {
    ManageHome { ctx, user }
}

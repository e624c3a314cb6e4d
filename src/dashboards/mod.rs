//! Home pages: `/` sends each person to their home, and each role has one.
//!
//! The board's home leads with what waits for it and the portfolio's health; the IT
//! manager's with their projects: what is due, what is late, what the board decided.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use axum::extract::State;
use sqlx::PgPool;

use crate::approvals;
use crate::approvals::board::WaitingForVote;
use crate::approvals::repo::{Answer, BoardComment, Request, Selection};
use crate::common::dates::today;
use crate::policies::{self, repo::ReviewDue};
use crate::projects::board::{Detail, PortfolioSummary};
use crate::projects::model::{Period, ReportingState};
use crate::projects::repo::{self, Project, ProjectQuery};
use crate::users::Role;
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::route_list::Routes;
use crate::web::{AppResult, AppState, BoardMember, CurrentUser, ItManager, PageContext};

mod inbox;

/// `/` and the inbox, for everyone signed in.
pub fn routes() -> Routes {
    Routes::new()
        .route("/", get(root))
        .route("/inbox", get(inbox::inbox))
        .route("/inbox/notices/{id}/dismiss", post(inbox::dismiss_notice))
}

/// `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new().route("/", get(board_home))
}

/// `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new().route("/", get(manage_home))
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
    waiting: Arc<WaitingForVote>,
    summary: Arc<PortfolioSummary>,
    overdue_policies: Arc<Vec<ReviewDue>>,
}

async fn board_home(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    BoardMember(user): BoardMember,
) -> AppResult<BoardHome> {
    let pool = &state.pool;
    let waiting = WaitingForVote::load(&figures, pool, user.id, HOME_LIST_LINES).await?;
    let summary = figures
        .load(FiguresKey::shared("portfolio headline"), async {
            PortfolioSummary::load(&mut *pool.acquire().await?, Detail::Headline).await
        })
        .await?;
    let overdue_policies = figures
        .load(FiguresKey::shared("overdue policy reviews"), async {
            let mut conn = pool.acquire().await?;
            Ok(
                policies::repo::reviews_due(&mut conn, today(), None, HOME_LIST_LINES as i64)
                    .await?,
            )
        })
        .await?;
    Ok(BoardHome {
        ctx,
        user,
        waiting,
        summary,
        overdue_policies,
    })
}

/// The most lines a home page's list shows; the full lists are a link away.
const HOME_LIST_LINES: usize = 10;

/// The most projects one manager's home lists (the project list pages through all).
const MY_PROJECTS_LIMIT: i64 = 200;

/// One of the manager's projects and where its reporting stands.
struct MyProject {
    project: Project,
    state: ReportingState,
    /// The current period, when its report is still to come.
    due_now: Option<Period>,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboards/manage.html")]
struct ManageHome {
    ctx: PageContext,
    user: CurrentUser,
    work: Arc<ManagersWork>,
}

/// What the manager's home shows of their work.
struct ManagersWork {
    projects: Vec<MyProject>,
    /// What the board decided on the requests this manager filed, and what it said.
    answers: Vec<Answer>,
    comments: Vec<BoardComment>,
    /// Requests still drafts: the board waits for them.
    drafts: Vec<Request>,
    /// Published policies this manager owns whose review date has passed.
    overdue_policies: Vec<ReviewDue>,
}

impl ManagersWork {
    async fn load(pool: &PgPool, manager_id: i64) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let today = today();
        let mine = ProjectQuery {
            manager_id: Some(manager_id),
            ..ProjectQuery::all(MY_PROJECTS_LIMIT)
        };
        let projects = repo::projects(&mut conn, &mine)
            .await?
            .into_iter()
            .map(|project| {
                let current = Period::containing(project.cadence(), today);
                let reporting = project.phase().is_reporting() && today >= project.start_date;
                let reported = project
                    .last_period_end
                    .is_some_and(|end| end >= current.end);
                MyProject {
                    state: project.reporting_state(today),
                    due_now: (reporting && !reported).then_some(current),
                    project,
                }
            })
            .collect();
        let drafts = Selection::DraftsOf(manager_id);
        Ok(Self {
            answers: approvals::repo::answers_to(&mut conn, manager_id, 8).await?,
            comments: approvals::repo::comments_on_requests_of(&mut conn, manager_id, 8).await?,
            drafts: approvals::repo::find_requests(&mut conn, drafts, 20).await?,
            overdue_policies: policies::repo::reviews_due(&mut conn, today, Some(manager_id), 50)
                .await?,
            projects,
        })
    }

    fn late(&self) -> Vec<&MyProject> {
        self.projects
            .iter()
            .filter(|p| p.state.is_overdue())
            .collect()
    }

    fn due(&self) -> Vec<&MyProject> {
        self.projects
            .iter()
            .filter(|p| p.due_now.is_some())
            .collect()
    }
}

async fn manage_home(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    ItManager(user): ItManager,
) -> AppResult<ManageHome> {
    let key = FiguresKey::personal("manager's home", user.id);
    let work = figures
        .load(key, ManagersWork::load(&state.pool, user.id))
        .await?;
    Ok(ManageHome { ctx, user, work })
}

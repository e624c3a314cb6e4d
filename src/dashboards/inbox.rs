//! The inbox: what needs this person's attention now, across their roles, soonest due
//! first.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::Response;
use sqlx::PgPool;
use time::Date;

use crate::approvals::{self, repo::Selection};
use crate::audit::{self, Actor};
use crate::auth::notices::{self, OpenNotice};
use crate::projects::{self, model::Period, repo::ProjectQuery};
use crate::users::Role;
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::session::Session;
use crate::web::{
    AppResult, AppState, CurrentUser, PageContext, RequestMeta, SignedIn, commit_and_redirect,
    refuse_and_redirect,
};

/// One thing to do.
pub struct InboxItem {
    pub href: String,
    pub title: String,
    pub detail: String,
    pub due: Option<Date>,
    /// Past its due date.
    pub late: bool,
}

/// A list the inbox shows only the start of, and where the rest is.
pub struct MoreElsewhere {
    pub text: &'static str,
    pub href: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboards/inbox.html")]
pub(super) struct InboxPage {
    ctx: PageContext,
    /// What happened to the person's own account (a new device, a changed factor).
    notices: Vec<OpenNotice>,
    tasks: Arc<Tasks>,
}

/// The most account notices the inbox lists; older ones wait until these are dismissed.
const NOTICE_LINES: i64 = 20;

/// The most items the inbox takes from each kind of task (soonest due first); each list
/// is whole a link away.
const LINES_PER_KIND: usize = 25;

/// Keeps the first [`LINES_PER_KIND`] of `rows` (read with one more), noting in `more`
/// where the rest are when there are more.
fn first_lines<T>(mut rows: Vec<T>, more: &mut Vec<MoreElsewhere>, rest: MoreElsewhere) -> Vec<T> {
    if rows.len() > LINES_PER_KIND {
        rows.truncate(LINES_PER_KIND);
        more.push(rest);
    }
    rows
}

/// `GET /inbox`
pub(super) async fn inbox(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    SignedIn(user): SignedIn,
) -> AppResult<InboxPage> {
    let tasks = figures
        .load(
            FiguresKey::personal("inbox", user.id),
            Tasks::load(&state.pool, &user),
        )
        .await?;
    // Notices are the account's own (sign-ins write them): read every time.
    let mut conn = state.pool.acquire().await?;
    let notices = notices::open_of(&mut conn, user.id, NOTICE_LINES).await?;
    Ok(InboxPage {
        ctx,
        notices,
        tasks,
    })
}

/// What the person's roles ask of them, soonest due first, and where longer lists go on.
pub(super) struct Tasks {
    items: Vec<InboxItem>,
    more: Vec<MoreElsewhere>,
}

impl Tasks {
    async fn load(pool: &PgPool, user: &CurrentUser) -> AppResult<Self> {
        let today = crate::common::dates::today();
        let mut items = Vec::new();
        let mut more = Vec::new();
        let lines = crate::web::pagination::fetch_limit(LINES_PER_KIND);
        let mut conn = pool.acquire().await?;

        if user.has_role(Role::Board) {
            let waiting = approvals::repo::find_requests(
                &mut conn,
                Selection::AwaitingVoteOf(user.id),
                lines,
            )
            .await?;
            let waiting = first_lines(
                waiting,
                &mut more,
                MoreElsewhere {
                    text: "More requests wait for your vote than are listed here.",
                    href: "/board/requests",
                },
            );
            for request in waiting {
                items.push(InboxItem {
                    href: format!("/board/requests/{}", request.id),
                    title: format!("Vote on {} {}", request.reference, request.title),
                    detail: format!(
                        "{} requested by {}",
                        request.amount_text(),
                        request.requester_name
                    ),
                    late: request.due_date < today,
                    due: Some(request.due_date),
                });
            }
            if user.is_chair {
                let due = Selection::OpenDueBy(today);
                let due = approvals::repo::find_requests(&mut conn, due, lines).await?;
                let due = first_lines(
                    due,
                    &mut more,
                    MoreElsewhere {
                        text: "More requests are due for closing than are listed here.",
                        href: "/board/requests",
                    },
                );
                for request in due {
                    items.push(InboxItem {
                        href: format!("/board/requests/{}", request.id),
                        title: format!("Close {} {}", request.reference, request.title),
                        detail: "Due: as chair, close it by the votes cast or let it expire."
                            .to_owned(),
                        late: request.due_date < today,
                        due: Some(request.due_date),
                    });
                }
            }
        }

        if user.has_role(Role::ItManager) {
            let mine = ProjectQuery {
                manager_id: Some(user.id),
                active_only: true,
                ..ProjectQuery::all(200)
            };
            for project in projects::repo::projects(&mut conn, &mine).await? {
                let state = project.reporting_state(today);
                let current = Period::containing(project.cadence(), today);
                let reported = project
                    .last_period_end
                    .is_some_and(|end| end >= current.end);
                if state.is_overdue()
                    || (project.phase().is_reporting() && !reported && today >= project.start_date)
                {
                    items.push(InboxItem {
                        href: format!("/manage/projects/{}/reports/new", project.id),
                        title: format!("Status report for {} {}", project.reference, project.name),
                        detail: state.label(),
                        late: state.is_overdue(),
                        due: Some(if state.is_overdue() {
                            Period::latest_due(project.cadence(), today).due()
                        } else {
                            current.due()
                        }),
                    });
                }
            }
            let drafts = Selection::DraftsOf(user.id);
            let drafts = approvals::repo::find_requests(&mut conn, drafts, lines).await?;
            let drafts = first_lines(
                drafts,
                &mut more,
                MoreElsewhere {
                    text: "You have more draft requests than are listed here.",
                    href: "/manage/requests",
                },
            );
            for request in drafts {
                items.push(InboxItem {
                    href: format!("/manage/requests/{}", request.id),
                    title: format!(
                        "Submit or withdraw the draft {} {}",
                        request.reference, request.title
                    ),
                    detail: "A draft the board has not seen.".to_owned(),
                    late: false,
                    due: None,
                });
            }
        }
        items.sort_by_key(|item| (item.due.is_none(), item.due));
        Ok(Self { items, more })
    }
}

/// `POST /inbox/notices/{id}/dismiss`: the person has read one of their account notices.
pub(super) async fn dismiss_notice(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    // Only the person's own notices: another id dismisses nothing.
    if !notices::dismiss(&mut tx, user.id, id).await? {
        drop(tx);
        return refuse_and_redirect(&session, "That notice was dismissed already.", "/inbox").await;
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new("notice.dismissed", "account_notice", Some(id.to_string())),
    )
    .await?;
    commit_and_redirect(tx, &session, "Notice dismissed.", "/inbox").await
}

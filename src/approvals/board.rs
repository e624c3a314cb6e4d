//! Governance's side: the requests waiting for the board, voting, recusal, the chair's
//! close, and the resolutions.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use super::eligibility::Conflicts;
use super::engine;
use super::model::{Choice, Count, Outcome, RequestStatus};
use super::repo::{self, Recusal, Request, Selection, Vote};
use super::{notices, refused};
use crate::audit::Context;
use crate::common::dates::today;
use crate::web::form::{FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::session::Session;
use crate::web::step_up::SteppedUp;
use crate::web::{
    AppError, AppResult, AppState, Area, Auditor, BoardMember, CurrentUser, PageContext,
    RequestMeta, commit_and_redirect,
};

/// A request with its count and what the viewer may do, for the pages of both sides.
pub struct RequestView {
    pub request: Request,
    pub count: Count,
    /// The newest votes, changed and set-aside ones included, oldest of them first.
    pub votes: Vec<Vote>,
    /// Earlier votes exist than `votes` shows (they are in the audit trail).
    pub earlier_votes: bool,
    pub recusals: Vec<Recusal>,
    /// Board members who cannot vote, and why.
    pub ineligible: Vec<(String, String)>,
    /// Why the viewer cannot vote (`None`: they may).
    pub viewer_cannot_vote: Option<String>,
    pub viewer_vote: Option<Vote>,
    /// The viewer's vote was set aside because the request changed, and they have not
    /// voted again.
    pub viewer_vote_set_aside: bool,
    pub viewer_may_close: bool,
    pub area: Area,
}

/// The most votes a request's page lists: the live ones count however many changes came
/// before them.
const VOTE_HISTORY_LINES: i64 = 100;

impl RequestView {
    pub async fn load(
        conn: &mut PgConnection,
        request: Request,
        viewer: &CurrentUser,
        area: Area,
    ) -> AppResult<Self> {
        let members = repo::board_members(conn).await?;
        let recusals = repo::recusals(conn, request.id).await?;
        let live_votes = repo::live_votes(conn, request.id).await?;
        let mut votes = repo::latest_votes(conn, request.id, VOTE_HISTORY_LINES + 1).await?;
        let earlier_votes = votes.len() as i64 > VOTE_HISTORY_LINES;
        if earlier_votes {
            votes.remove(0);
        }
        let conflicts = Conflicts::load(conn, request.id).await?;
        let count = repo::count(&conflicts.eligible(&members), &live_votes);
        let ineligible = members
            .iter()
            .filter_map(|member| {
                conflicts
                    .of(member.id)
                    .map(|reason| (member.display_name.clone(), reason.of_member()))
            })
            .collect();
        let viewer_cannot_vote = conflicts
            .why_not(viewer.id, viewer.has_role(crate::users::Role::Board))
            .map(|reason| reason.to_viewer());
        let viewer_vote = live_votes
            .iter()
            .find(|vote| vote.voter_id == viewer.id)
            .cloned();
        let viewer_vote_set_aside =
            viewer_vote.is_none() && repo::vote_set_aside(conn, request.id, viewer.id).await?;
        Ok(Self {
            viewer_may_close: viewer.is_chair
                && viewer.has_role(crate::users::Role::Board)
                && request.status() == RequestStatus::Open
                && today() >= request.due_date,
            request,
            count,
            votes,
            earlier_votes,
            recusals,
            ineligible,
            viewer_cannot_vote,
            viewer_vote,
            viewer_vote_set_aside,
            area,
        })
    }

    pub fn is_open(&self) -> bool {
        self.request.status() == RequestStatus::Open
    }

    /// Whether the split of the votes may be shown: always once closed; while open, unless
    /// the request hides it.
    pub fn tally_visible(&self) -> bool {
        !self.is_open() || !self.request.hide_tally
    }

    pub fn quorum_needed(&self) -> i64 {
        self.count.quorum_needed(self.request.rule())
    }

    pub fn choices(&self) -> &'static [Choice] {
        Choice::ALL
    }

    pub fn is_viewer_choice(&self, choice: &Choice) -> bool {
        self.viewer_vote
            .as_ref()
            .is_some_and(|vote| vote.choice() == *choice)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/board_list.html")]
pub(super) struct BoardListPage {
    ctx: PageContext,
    waiting: Arc<WaitingForVote>,
    /// One page of the open requests, and where the next starts.
    open: Arc<KeysetPage<Request, (time::Date, i64)>>,
    is_first_page: bool,
}

/// How many requests waiting for a member's vote the list shows above the open ones.
const WAITING_LINES: usize = 25;
/// Open requests per page.
const OPEN_PAGE_SIZE: usize = 50;

/// Where a page of the open requests starts: after this due date and request id.
#[derive(Deserialize)]
pub(super) struct OpenListQuery {
    #[serde(default)]
    after_due: String,
    #[serde(default)]
    after_id: String,
}

impl OpenListQuery {
    /// The position to continue after; a malformed one starts from the first page.
    fn after(&self) -> Option<(time::Date, i64)> {
        crate::common::dates::parse_iso(&self.after_due).zip(self.after_id.parse().ok())
    }
}

/// The soonest due of the open requests one member can still vote on.
pub struct WaitingForVote {
    pub requests: Vec<Request>,
    /// More wait than `requests` holds.
    pub more: bool,
}

impl WaitingForVote {
    /// At most `lines` of them, kept in the read cache per member and length of list.
    pub async fn load(
        figures: &PageFigures,
        pool: &PgPool,
        member_id: i64,
        lines: usize,
    ) -> AppResult<Arc<Self>> {
        let key = FiguresKey::personal("requests waiting for a vote", member_id).with(lines);
        figures
            .load(key, async {
                let mut conn = pool.acquire().await?;
                let selection = Selection::AwaitingVoteOf(member_id);
                let mut requests =
                    repo::find_requests(&mut conn, selection, fetch_limit(lines)).await?;
                let more = requests.len() > lines;
                requests.truncate(lines);
                Ok(Self { requests, more })
            })
            .await
    }
}

/// `GET /board/requests`: the soonest due of those waiting for your vote first, then
/// the open requests, a page at a time.
pub(super) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    BoardMember(user): BoardMember,
    Query(query): Query<OpenListQuery>,
) -> AppResult<BoardListPage> {
    let after = query.after();
    let waiting = WaitingForVote::load(&figures, &state.pool, user.id, WAITING_LINES).await?;
    let key = FiguresKey::shared("open requests").with(format_args!("{after:?}"));
    let open = figures
        .load(key, async {
            let mut conn = state.pool.acquire().await?;
            let selection = Selection::OpenAfter(after);
            let rows =
                repo::find_requests(&mut conn, selection, fetch_limit(OPEN_PAGE_SIZE)).await?;
            Ok(KeysetPage::from_rows(rows, OPEN_PAGE_SIZE, |r| {
                (r.due_date, r.id)
            }))
        })
        .await?;
    Ok(BoardListPage {
        ctx,
        waiting,
        open,
        is_first_page: after.is_none(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/board_request.html")]
pub(super) struct BoardRequestPage {
    ctx: PageContext,
    view: Arc<RequestView>,
    /// What was typed into the vote or recusal form, kept when it is refused.
    comment: Option<String>,
    reason: String,
    errors: FieldErrors,
}

impl BoardRequestPage {
    async fn load(
        state: &AppState,
        ctx: PageContext,
        figures: &PageFigures,
        user: &CurrentUser,
        id: i64,
    ) -> AppResult<Self> {
        let key = FiguresKey::personal("request for the board", user.id).with(id);
        let view = figures
            .load(key, async {
                let mut conn = state.pool.acquire().await?;
                let request = repo::get_request(&mut conn, id)
                    .await?
                    .ok_or(AppError::NotFound)?;
                if request.status() == RequestStatus::Draft {
                    return Err(AppError::Forbidden(
                        "This request is a draft: the board sees it once it is submitted."
                            .to_owned(),
                    ));
                }
                RequestView::load(&mut conn, request, user, Area::Board).await
            })
            .await?;
        Ok(Self {
            ctx,
            view,
            comment: None,
            reason: String::new(),
            errors: FieldErrors::new(),
        })
    }

    /// The comment box: what was just typed, or the comment of the viewer's vote.
    pub fn comment_text(&self) -> &str {
        match (&self.comment, &self.view.viewer_vote) {
            (Some(typed), _) => typed,
            (None, Some(vote)) => &vote.comment,
            (None, None) => "",
        }
    }
}

/// `GET /board/requests/{id}`: a request as the board reads it (drafts are the
/// requester's own).
pub(super) async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
) -> AppResult<BoardRequestPage> {
    BoardRequestPage::load(&state, ctx, &figures, &user, id).await
}

#[derive(Deserialize)]
pub(super) struct VoteForm {
    #[serde(default)]
    choice: String,
    #[serde(default)]
    comment: String,
}

fn outcome_message(outcome: Option<Outcome>, default: &str) -> String {
    match outcome {
        Some(Outcome::Approved) => {
            "Your vote settled it: the request is approved and the resolution recorded.".to_owned()
        }
        Some(Outcome::Rejected) => {
            "Your vote settled it: the request is rejected and the resolution recorded.".to_owned()
        }
        Some(Outcome::Expired) => "The request has expired.".to_owned(),
        None => default.to_owned(),
    }
}

/// `POST /board/requests/{id}/vote`
pub(super) async fn vote(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
    SteppedUp(form): SteppedUp<VoteForm>,
) -> AppResult<Response> {
    // A refused form's page reads the records afresh.
    let figures = PageFigures::uncached(&state);
    let path = format!("/board/requests/{id}");
    let Ok(choice) = form.choice.parse::<Choice>() else {
        let mut page = BoardRequestPage::load(&state, ctx, &figures, &user, id).await?;
        page.comment = Some(form.comment);
        page.errors
            .add("choice", "Choose approve, reject or abstain.");
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let comment = form.comment.trim().chars().take(5_000).collect::<String>();
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    match engine::cast_vote(&mut tx, id, &user, choice, &comment, &audit).await {
        Ok(outcome) => {
            if outcome.is_some() {
                notices::decision_taken(&mut tx, &state.config, id).await?;
            }
            let message = outcome_message(
                outcome,
                &format!("Your vote ({}) is recorded.", choice.label().to_lowercase()),
            );
            commit_and_redirect(tx, &session, message, &path).await
        }
        Err(error) => refused(&session, error, &path).await,
    }
}

#[derive(Deserialize)]
pub(super) struct RecuseForm {
    #[serde(default)]
    reason: String,
}

/// `POST /board/requests/{id}/recuse`: declares a conflict of interest.
pub(super) async fn recuse(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
    Form(form): Form<RecuseForm>,
) -> AppResult<Response> {
    // A refused form's page reads the records afresh.
    let figures = PageFigures::uncached(&state);
    let path = format!("/board/requests/{id}");
    let reason = form.reason.trim();
    if reason.is_empty() || reason.chars().count() > 2_000 {
        let mut page = BoardRequestPage::load(&state, ctx, &figures, &user, id).await?;
        page.reason = form.reason.clone();
        page.errors.add(
            "reason",
            "Say briefly what the conflict of interest is (at most 2,000 characters).",
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    match engine::recuse(&mut tx, id, &user, reason, &audit).await {
        Ok(outcome) => {
            if outcome.is_some() {
                notices::decision_taken(&mut tx, &state.config, id).await?;
            }
            let message = outcome_message(
                outcome,
                "You are recused from this request; the quorum no longer counts you.",
            );
            commit_and_redirect(tx, &session, message, &path).await
        }
        Err(error) => refused(&session, error, &path).await,
    }
}

/// `POST /board/requests/{id}/close`: the chair closes a request at its due date.
pub(super) async fn close(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let path = format!("/board/requests/{id}");
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    match engine::close_by_chair(&mut tx, id, &user, today(), &audit).await {
        Ok(outcome) => {
            notices::decision_taken(&mut tx, &state.config, id).await?;
            let message = format!(
                "The request is closed: {}.",
                outcome.status().label().to_lowercase()
            );
            commit_and_redirect(tx, &session, message, &path).await
        }
        Err(error) => refused(&session, error, &path).await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/audit_list.html")]
pub(super) struct AuditListPage {
    ctx: PageContext,
    requests: Vec<Request>,
    next_before: Option<i64>,
    is_first_page: bool,
}

#[derive(Deserialize)]
pub(super) struct AuditListQuery {
    before: Option<i64>,
}

const AUDIT_PAGE_SIZE: usize = 50;

/// `GET /audit/requests`: every request filed, newest first, whatever its status.
pub(super) async fn audit_list(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(_user): Auditor,
    Query(query): Query<AuditListQuery>,
) -> AppResult<AuditListPage> {
    let mut conn = state.pool.acquire().await?;
    let limit = fetch_limit(AUDIT_PAGE_SIZE);
    let rows = repo::find_requests(&mut conn, Selection::NewestBefore(query.before), limit).await?;
    let page = KeysetPage::from_rows(rows, AUDIT_PAGE_SIZE, |r| r.id);
    Ok(AuditListPage {
        ctx,
        requests: page.items,
        next_before: page.next,
        is_first_page: query.before.is_none(),
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/audit_request.html")]
pub(super) struct AuditRequestPage {
    ctx: PageContext,
    view: Arc<RequestView>,
}

/// `GET /audit/requests/{id}`: a request, its count, votes and recusals, read only.
pub(super) async fn audit_show(
    State(state): State<AppState>,
    ctx: PageContext,
    Auditor(user): Auditor,
    Path(id): Path<i64>,
) -> AppResult<AuditRequestPage> {
    let mut conn = state.pool.acquire().await?;
    let request = repo::get_request(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(AuditRequestPage {
        ctx,
        view: Arc::new(RequestView::load(&mut conn, request, &user, Area::Audit).await?),
    })
}

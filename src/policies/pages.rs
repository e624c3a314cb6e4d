//! Reading policies: the register with its filters and pages, a policy's page with its
//! versions, exceptions and risks, any version as written and the difference between two.
//! The same pages serve management, the board, auditors and (for the policies in force)
//! everyone.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgPool;
use time::{Date, Duration};

use super::lifecycle::{ExceptionForm, RetireForm, ReviewForm, RiskLinkForm};
use super::model::{ExceptionList, ExceptionState, Lifecycle, PolicyCategory};
use super::repo::{
    ExceptionCounts, LinkedRisk, Policy, PolicyException, PolicyOrder, PolicyQuery, Version,
};
use super::text::{DiffHunk, SafeHtml};
use super::{repo, text};
use crate::common::dates::{parse_iso, today};
use crate::web::form::{self, FieldErrors};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::{AppError, AppResult, AppState, Area, PageContext, SignedIn, Viewer};

pub(super) const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterQuery {
    pub(super) lifecycle: Option<String>,
    pub(super) category: Option<String>,
    pub(super) overdue: Option<String>,
    pub(super) q: Option<String>,
    pub(super) sort: Option<String>,
    pub(super) after: Option<String>,
    pub(super) after_ref: Option<String>,
}

impl RegisterQuery {
    fn to_query(&self, today: Date) -> PolicyQuery {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        PolicyQuery {
            lifecycle: chosen(&self.lifecycle).and_then(|l| l.parse::<Lifecycle>().ok()),
            category: chosen(&self.category).and_then(|c| c.parse::<PolicyCategory>().ok()),
            overdue_on: (self.overdue.as_deref() == Some("1")).then_some(today),
            text: chosen(&self.q),
            order: if self.sort.as_deref() == Some("review") {
                PolicyOrder::Review
            } else {
                PolicyOrder::Reference
            },
            after: self.after.clone().zip(self.after_ref.clone()),
            limit: fetch_limit(PAGE_SIZE),
            ..PolicyQuery::default()
        }
    }

    fn without_position(&self) -> String {
        filter_query(&[
            ("lifecycle", &self.lifecycle),
            ("category", &self.category),
            ("overdue", &self.overdue),
            ("q", &self.q),
            ("sort", &self.sort),
        ])
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "lifecycle" => &self.lifecycle,
            "category" => &self.category,
            "sort" => &self.sort,
            _ => &self.overdue,
        };
        current.as_deref() == Some(value)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/list.html")]
pub(crate) struct RegisterPage {
    pub(super) ctx: PageContext,
    pub(super) query: RegisterQuery,
    pub(super) listing: Arc<RegisterListing>,
    pub(super) next_page: Option<String>,
    pub(super) area: Area,
    pub(super) today: Date,
}

/// A page of the register.
pub(super) struct RegisterListing {
    pub(super) policies: Vec<Policy>,
    /// The sort key and reference the next page starts after.
    next: Option<(String, String)>,
    /// On the first page, for those who read drafts: what the board watches.
    pub(super) exceptions: Option<ExceptionPanel>,
}

/// The register's summary of exceptions: how many each list holds, and the most pressing.
pub(super) struct ExceptionPanel {
    pub(super) counts: ExceptionCounts,
    pub(super) pressing: Vec<PolicyException>,
}

/// How many exceptions the register's panel shows; the lists have pages of their own.
const PRESSING_EXCEPTIONS: i64 = 10;

impl RegisterPage {
    fn recently_expired_days(&self) -> i64 {
        repo::RECENTLY_EXPIRED_DAYS
    }

    fn expiring_soon_days(&self) -> i64 {
        repo::EXPIRING_SOON_DAYS
    }

    fn lifecycles(&self) -> &'static [Lifecycle] {
        Lifecycle::ALL
    }

    fn categories(&self) -> &'static [PolicyCategory] {
        PolicyCategory::ALL
    }
}

pub(super) async fn register_page(
    state: &AppState,
    ctx: PageContext,
    figures: &PageFigures,
    query: RegisterQuery,
    area: Area,
) -> AppResult<RegisterPage> {
    let today = today();
    let listed = PolicyQuery {
        in_force_only: !area.reads_drafts(),
        ..query.to_query(today)
    };
    let with_exceptions = area.reads_drafts() && query.after.is_none();
    let key =
        FiguresKey::shared("policy register").with(format_args!("{listed:?} {with_exceptions}"));
    let listing = figures
        .load(key, async {
            let mut conn = state.pool.acquire().await?;
            let rows = repo::find_rows(&mut conn, &listed, today).await?;
            let page = KeysetPage::from_rows(rows, PAGE_SIZE, |row| {
                (row.sort_key.clone(), row.policy.reference.clone())
            });
            Ok(RegisterListing {
                policies: page.items.into_iter().map(|row| row.policy).collect(),
                next: page.next,
                exceptions: if with_exceptions {
                    Some(ExceptionPanel {
                        counts: repo::exception_counts(&mut conn, today).await?,
                        pressing: repo::pressing_exceptions(&mut conn, today, PRESSING_EXCEPTIONS)
                            .await?,
                    })
                } else {
                    None
                },
            })
        })
        .await?;
    let next_page = listing.next.as_ref().map(|(key, reference)| {
        let mut next = form_urlencoded::Serializer::new(query.without_position());
        next.append_pair("after", key)
            .append_pair("after_ref", reference);
        next.finish()
    });
    Ok(RegisterPage {
        ctx,
        query,
        listing,
        next_page,
        area,
        today,
    })
}

/// `GET {area}/policies`: the register (everyone reads the policies in force at
/// `/policies`; drafts and history stay with management, the board and auditors).
pub(super) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Query(query): Query<RegisterQuery>,
) -> AppResult<RegisterPage> {
    register_page(&state, ctx, &figures, query, viewer.area).await
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ExceptionListQuery {
    #[serde(default)]
    list: String,
    #[serde(default)]
    after_date: String,
    #[serde(default)]
    after_id: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/exceptions.html")]
pub(super) struct ExceptionListPage {
    ctx: PageContext,
    list: ExceptionList,
    counts: ExceptionCounts,
    exceptions: Vec<PolicyException>,
    next: Option<(Date, i64)>,
    is_first_page: bool,
    area: Area,
    today: Date,
}

impl ExceptionListPage {
    fn lists(&self) -> &'static [ExceptionList] {
        ExceptionList::ALL
    }

    fn expiring_soon_days(&self) -> i64 {
        repo::EXPIRING_SOON_DAYS
    }

    fn count_of(&self, list: &ExceptionList) -> Option<i64> {
        match list {
            ExceptionList::AwaitingBoard => Some(self.counts.awaiting_board),
            ExceptionList::InForce => Some(self.counts.in_force),
            // Only the recent ones are counted; the list holds them all.
            ExceptionList::Expired => None,
        }
    }
}

/// How many exceptions a page of a watched list shows.
const EXCEPTION_PAGE_SIZE: usize = 50;

/// `GET {area}/policies/exceptions?list=`: one watched list of exceptions, a page at a
/// time (those awaiting the board, in force soonest to expire, or expired latest first).
pub(super) async fn exceptions(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Query(query): Query<ExceptionListQuery>,
) -> AppResult<ExceptionListPage> {
    let list = query.list.parse().unwrap_or(ExceptionList::AwaitingBoard);
    // A malformed position starts from the first page.
    let after = parse_iso(&query.after_date).zip(query.after_id.parse().ok());
    let today = today();
    let mut conn = state.pool.acquire().await?;
    let rows = repo::watched_exceptions(
        &mut conn,
        list,
        today,
        after,
        fetch_limit(EXCEPTION_PAGE_SIZE),
    )
    .await?;
    let page = KeysetPage::from_rows(rows, EXCEPTION_PAGE_SIZE, |exception| {
        let day = match list {
            ExceptionList::AwaitingBoard => exception.starts_on,
            ExceptionList::InForce | ExceptionList::Expired => exception.expires_on,
        };
        (day, exception.request_id)
    });
    Ok(ExceptionListPage {
        ctx,
        list,
        counts: repo::exception_counts(&mut conn, today).await?,
        exceptions: page.items,
        next: page.next,
        is_first_page: after.is_none(),
        area: viewer.area,
        today,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/detail.html")]
pub(super) struct PolicyPage {
    pub(super) ctx: PageContext,
    pub(super) policy: Policy,
    pub(super) record: Arc<PolicyRecord>,
    pub(super) link_form: RiskLinkForm,
    pub(super) retire_form: RetireForm,
    pub(super) review_form: ReviewForm,
    pub(super) exception_form: ExceptionForm,
    pub(super) errors: FieldErrors,
    pub(super) area: Area,
    pub(super) today: Date,
}

/// A policy, its versions (the shown one rendered) and what is linked to it.
pub(super) struct PolicyRecord {
    policy: Policy,
    /// Newest first.
    versions: Vec<Version>,
    /// The version shown: the published one, or the newest when none is.
    shown_number: i32,
    shown_html: SafeHtml,
    exceptions: Vec<PolicyException>,
    risks: Vec<LinkedRisk>,
    /// The controls that put it into practice.
    controls: Vec<crate::compliance::repo::CoveringControl>,
}

impl PolicyRecord {
    async fn load(pool: &PgPool, id: i64, today: Date) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let policy = repo::get(&mut conn, id, today)
            .await?
            .ok_or(AppError::NotFound)?;
        let versions = repo::versions(&mut conn, id).await?;
        let shown_number = policy.published_number.unwrap_or(policy.latest_number);
        let shown_html = versions
            .iter()
            .find(|v| v.number == shown_number)
            .map(|v| text::render_markdown(&v.body))
            .unwrap_or_else(|| text::render_markdown(""));
        Ok(Self {
            exceptions: repo::exceptions_of(&mut conn, id, 200).await?,
            risks: repo::linked_risks(&mut conn, id).await?,
            controls: crate::compliance::repo::controls_for_policy(&mut conn, id).await?,
            shown_number,
            shown_html,
            versions,
            policy,
        })
    }
}

impl PolicyPage {
    fn shown(&self) -> Option<&Version> {
        let record = &self.record;
        record
            .versions
            .iter()
            .find(|v| v.number == record.shown_number)
    }

    fn exception_state(&self, exception: &PolicyException) -> ExceptionState {
        exception.state(self.today)
    }

    /// The two versions the "compare" form starts with: the published one (or the one
    /// before the newest) against the newest.
    fn compare_defaults(&self) -> (i32, i32) {
        let newest = self.policy.latest_number;
        let from = self
            .policy
            .published_number
            .filter(|published| *published < newest)
            .unwrap_or((newest - 1).max(1));
        (from, newest)
    }
}

pub(super) async fn policy_page(
    state: &AppState,
    ctx: PageContext,
    figures: &PageFigures,
    id: i64,
    area: Area,
) -> AppResult<PolicyPage> {
    let today = today();
    let key = FiguresKey::shared("policy").with(id);
    let record = figures
        .load(key, PolicyRecord::load(&state.pool, id, today))
        .await?;
    Ok(PolicyPage {
        ctx,
        policy: record.policy.clone(),
        record,
        link_form: RiskLinkForm::default(),
        retire_form: RetireForm::default(),
        review_form: ReviewForm::default(),
        exception_form: ExceptionForm {
            starts_on: today.to_string(),
            expires_on: (today + Duration::days(90)).to_string(),
            ..ExceptionForm::default()
        },
        errors: FieldErrors::new(),
        area,
        today,
    })
}

/// `GET {area}/policies/{id}`: a policy with its versions, exceptions and risks.
pub(super) async fn detail(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<PolicyPage> {
    policy_page(&state, ctx, &figures, id, viewer.area).await
}

/// Re-renders the policy's page with a small form's input and messages (422).
pub(super) async fn refused_on_page(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    errors: FieldErrors,
    keep: impl FnOnce(&mut PolicyPage),
) -> AppResult<Response> {
    // A refusal reads the records afresh.
    let figures = PageFigures::uncached(state);
    let mut page = policy_page(state, ctx, &figures, id, Area::Manage).await?;
    page.errors = errors;
    keep(&mut page);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
#[derive(Template, WebTemplate)]
#[template(path = "policies/version.html")]
pub(super) struct VersionPage {
    pub(super) ctx: PageContext,
    pub(super) policy: Policy,
    pub(super) version: Version,
    pub(super) html: SafeHtml,
    pub(super) area: Area,
}

pub(super) async fn version_page(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    number: i32,
    area: Area,
) -> AppResult<VersionPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = repo::get(&mut conn, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let version = repo::versions(&mut conn, id)
        .await?
        .into_iter()
        .find(|v| v.number == number)
        .ok_or(AppError::NotFound)?;
    Ok(VersionPage {
        ctx,
        html: text::render_markdown(&version.body),
        policy,
        version,
        area,
    })
}

/// `GET /policies/{id}`: the version in force; drafts and history stay with management
/// and the board.
pub(super) async fn in_force_policy(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(_user): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<VersionPage> {
    let published = {
        let mut conn = state.pool.acquire().await?;
        repo::get(&mut conn, id, today())
            .await?
            .filter(Policy::is_published)
            .and_then(|policy| policy.published_number)
            .ok_or(AppError::NotFound)?
    };
    version_page(&state, ctx, id, published, Area::Everyone).await
}

/// `GET {area}/policies/{id}/versions/{number}`: any version, as written.
pub(super) async fn version(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Path((id, number)): Path<(i64, i32)>,
) -> AppResult<VersionPage> {
    version_page(&state, ctx, id, number, viewer.area).await
}

#[derive(Debug, Deserialize)]
pub(super) struct DiffQuery {
    pub(super) from: Option<i32>,
    pub(super) to: Option<i32>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/diff.html")]
pub(super) struct DiffPage {
    pub(super) ctx: PageContext,
    pub(super) diff: Arc<Comparison>,
    pub(super) area: Area,
}

/// Two versions of a policy and the lines that differ between them.
pub(super) struct Comparison {
    policy: Policy,
    numbers: Vec<i32>,
    from: Version,
    to: Version,
    hunks: Vec<DiffHunk>,
}

impl Comparison {
    /// Version `from` (by default the one before `to`) against `to` (by default the newest).
    async fn load(pool: &PgPool, id: i64, from: Option<i32>, to: Option<i32>) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let policy = repo::get(&mut conn, id, today())
            .await?
            .ok_or(AppError::NotFound)?;
        let versions = repo::versions(&mut conn, id).await?;
        let to_number = to.unwrap_or(policy.latest_number);
        let from_number = from.unwrap_or((to_number - 1).max(1));
        let pick = |number: i32| versions.iter().find(|v| v.number == number).cloned();
        let (Some(from), Some(to)) = (pick(from_number), pick(to_number)) else {
            return Err(AppError::NotFound);
        };
        Ok(Self {
            hunks: text::diff_lines(&from.comparable_text(), &to.comparable_text()),
            numbers: versions.iter().map(|v| v.number).collect(),
            policy,
            from,
            to,
        })
    }
}

/// `GET {area}/policies/{id}/diff?from=&to=`: what changed between two versions.
pub(super) async fn diff(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(query): Query<DiffQuery>,
) -> AppResult<DiffPage> {
    let (from, to) = (query.from, query.to);
    let key = FiguresKey::shared("policy diff").with(format_args!("{id} {from:?} {to:?}"));
    let diff = figures
        .load(key, Comparison::load(&state.pool, id, from, to))
        .await?;
    Ok(DiffPage {
        ctx,
        diff,
        area: viewer.area,
    })
}

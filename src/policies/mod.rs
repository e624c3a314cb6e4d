//! Policies with a governed lifecycle. IT managers write them under `/manage/policies`:
//! every edit is a new draft version; a draft goes to the board for approval of that exact
//! version (through the approvals engine), is published once approved, reviewed on its
//! interval and eventually retired. Time-limited exceptions are board decisions too. The
//! board reads every policy, version and difference under `/board/policies`.

pub mod model;
pub mod repo;
pub mod text;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use time::{Date, Duration};
use tower_sessions::Session;

use crate::approvals::filing::{Filing, Heading};
use crate::approvals::model::{RequestKind, Rule};
use crate::approvals::subject::{self, PolicyPublication, Subject};
use crate::approvals::{self, notices};
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::users::{Role, repo::PersonOption};
use crate::web::form::{self, FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::route_list::Routes;
use crate::web::{
    AppError, AppResult, AppState, Area, CurrentUser, ItManager, PageContext, RequestMeta,
    SignedIn, Viewer, commit_and_redirect, refuse_and_redirect,
};
use model::{ExceptionState, Lifecycle, PolicyCategory};
use repo::{
    LinkedRisk, Policy, PolicyException, PolicyQuery, PolicySettings, Version, VersionText,
};
use text::{DiffHunk, SafeHtml};

/// The policies in force, for everyone signed in: what the organisation must follow.
pub fn routes() -> Routes {
    Routes::new()
        .route("/policies", get(list))
        .route("/policies/{id}", get(in_force_policy))
}

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/policies", get(list).post(create))
        .route("/policies/new", get(new_page))
        .route("/policies/{id}", get(detail))
        .route("/policies/{id}/edit", get(edit_page).post(save_edit))
        .route("/policies/{id}/submit", post(submit_for_review))
        .route("/policies/{id}/publish", post(publish))
        .route("/policies/{id}/reviewed", post(record_review))
        .route("/policies/{id}/retire", post(retire))
        .route("/policies/{id}/risks", post(link_risk))
        .route("/policies/{id}/risks/{risk}/unlink", post(unlink_risk))
        .route("/policies/{id}/exceptions", post(ask_exception))
        .route("/policies/{id}/versions/{number}", get(version))
        .route("/policies/{id}/diff", get(diff))
}

/// Routes under `/audit` (the router requires the `auditor` role): every policy, version
/// and difference, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/policies", get(list))
        .route("/policies/{id}", get(detail))
        .route("/policies/{id}/versions/{number}", get(version))
        .route("/policies/{id}/diff", get(diff))
}

/// Routes under `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new()
        .route("/policies", get(list))
        .route("/policies/{id}", get(detail))
        .route("/policies/{id}/versions/{number}", get(version))
        .route("/policies/{id}/diff", get(diff))
}

const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterQuery {
    lifecycle: Option<String>,
    category: Option<String>,
    overdue: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    after_ref: Option<String>,
}

impl RegisterQuery {
    fn to_query(&self, today: Date) -> PolicyQuery {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        PolicyQuery {
            lifecycle: chosen(&self.lifecycle).filter(|l| l.parse::<Lifecycle>().is_ok()),
            category: chosen(&self.category).filter(|c| c.parse::<PolicyCategory>().is_ok()),
            overdue_on: (self.overdue.as_deref() == Some("1")).then_some(today),
            text: chosen(&self.q),
            sort: if self.sort.as_deref() == Some("review") {
                "review"
            } else {
                "reference"
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
    ctx: PageContext,
    query: RegisterQuery,
    policies: Vec<Policy>,
    next_page: Option<String>,
    /// Exceptions awaiting the board, in force or expired: what the board watches.
    exceptions: Vec<PolicyException>,
    area: Area,
    today: Date,
}

impl RegisterPage {
    fn lifecycles(&self) -> &'static [Lifecycle] {
        Lifecycle::ALL
    }

    fn categories(&self) -> &'static [PolicyCategory] {
        PolicyCategory::ALL
    }
}

async fn register_page(
    state: &AppState,
    ctx: PageContext,
    query: RegisterQuery,
    area: Area,
) -> AppResult<RegisterPage> {
    let today = today();
    let mut conn = state.pool.acquire().await?;
    let listed = PolicyQuery {
        in_force_only: !area.reads_drafts(),
        ..query.to_query(today)
    };
    let rows = repo::find_rows(&mut conn, &listed, today).await?;
    let page = KeysetPage::from_rows(rows, PAGE_SIZE, |row| {
        (row.sort_key.clone(), row.policy.reference.clone())
    });
    let next_page = page.next.map(|(key, reference)| {
        let mut next = form_urlencoded::Serializer::new(query.without_position());
        next.append_pair("after", &key)
            .append_pair("after_ref", &reference);
        next.finish()
    });
    Ok(RegisterPage {
        ctx,
        query,
        policies: page.items.into_iter().map(|row| row.policy).collect(),
        next_page,
        exceptions: if !area.reads_drafts() {
            Vec::new()
        } else {
            repo::exceptions(&mut conn, None, Some(today), 500).await?
        },
        area,
        today,
    })
}

/// `GET {area}/policies`: the register (everyone reads the policies in force at
/// `/policies`; drafts and history stay with management, the board and auditors).
async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Query(query): Query<RegisterQuery>,
) -> AppResult<RegisterPage> {
    register_page(&state, ctx, query, viewer.area).await
}

/// The policy form, as typed: the text of a new version and the policy's settings.
#[derive(Debug, Default, Deserialize)]
struct PolicyForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    change_note: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    review_interval_months: String,
    /// The policy's version when the form was opened (optimistic concurrency).
    #[serde(default)]
    version: i32,
}

impl PolicyForm {
    fn from_policy(policy: &Policy, latest: &Version) -> Self {
        Self {
            title: latest.title.clone(),
            scope: latest.scope.clone(),
            body: latest.body.clone(),
            change_note: String::new(),
            category: policy.category.as_str().to_owned(),
            owner_id: policy.owner_id.to_string(),
            review_interval_months: policy.review_interval_months.to_string(),
            version: policy.version,
        }
    }

    fn validate(
        &self,
        owners: &[PersonOption],
    ) -> Result<(PolicySettings, VersionText), FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let scope = form::required_text(&mut errors, "scope", &self.scope, 2_000);
        let body = form::required_text(&mut errors, "body", &self.body, 200_000);
        let change_note = form::bounded_text(&mut errors, "change_note", &self.change_note, 2_000);
        let category =
            form::required_choice::<PolicyCategory>(&mut errors, "category", &self.category);
        let owner_id = self
            .owner_id
            .parse::<i64>()
            .ok()
            .filter(|id| owners.iter().any(|owner| owner.id == *id));
        if owner_id.is_none() {
            errors.add("owner_id", "Choose who owns the policy.");
        }
        let interval = self
            .review_interval_months
            .trim()
            .parse::<i16>()
            .ok()
            .filter(|m| (1..=60).contains(m));
        if interval.is_none() {
            errors.add(
                "review_interval_months",
                "Enter a number of months from 1 to 60.",
            );
        }
        errors.into_result()?;
        Ok((
            PolicySettings {
                owner_id: owner_id.unwrap_or_default(),
                category: category.unwrap_or(PolicyCategory::InformationSecurity),
                review_interval_months: interval.unwrap_or(12),
            },
            VersionText {
                title,
                scope,
                body,
                change_note,
            },
        ))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/form.html")]
struct PolicyFormPage {
    ctx: PageContext,
    policy: Option<Policy>,
    form: PolicyForm,
    errors: FieldErrors,
    owners: Vec<PersonOption>,
    /// Why the change was not saved, when it is not about one field.
    refusal: Option<String>,
}

impl PolicyFormPage {
    /// The form's page, loaded on the handler's own connection (or open transaction).
    async fn new(
        conn: &mut PgConnection,
        ctx: PageContext,
        policy: Option<Policy>,
        form: PolicyForm,
    ) -> AppResult<Self> {
        Ok(Self {
            ctx,
            policy,
            form,
            errors: FieldErrors::new(),
            owners: crate::users::repo::active_with_role(conn, Role::ItManager).await?,
            refusal: None,
        })
    }

    fn refused(self, status: StatusCode, errors: FieldErrors, refusal: Option<String>) -> Response {
        (
            status,
            Self {
                errors,
                refusal,
                ..self
            },
        )
            .into_response()
    }

    fn categories(&self) -> &'static [PolicyCategory] {
        PolicyCategory::ALL
    }
}

async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<PolicyFormPage> {
    let form = PolicyForm {
        owner_id: user.id.to_string(),
        review_interval_months: "12".to_owned(),
        ..PolicyForm::default()
    };
    let mut conn = state.pool.acquire().await?;
    PolicyFormPage::new(&mut conn, ctx, None, form).await
}

/// `POST /manage/policies`: a new policy with its first draft.
async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<PolicyForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let page = PolicyFormPage::new(&mut tx, ctx, None, form).await?;
    let (settings, text) = match page.form.validate(&page.owners) {
        Ok(valid) => valid,
        Err(errors) => return Ok(page.refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None)),
    };
    let (id, reference) = repo::create(&mut tx, &settings, &text, user.id).await?;
    audit_context(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.created", "policy", Some(reference.clone()))
                .after(json!({ "settings": settings, "version": 1, "text": text, "content_hash": text.hash() })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{reference} is saved as draft version 1."),
        &format!("/manage/policies/{id}"),
    )
    .await
}

fn audit_context(user: &CurrentUser, meta: &RequestMeta) -> Context {
    Context::new(Actor::user(user), meta.request_id.as_deref())
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<PolicyFormPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = repo::get(&mut conn, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = repo::versions(&mut conn, id).await?;
    let latest = versions.first().ok_or(AppError::NotFound)?;
    let form = PolicyForm::from_policy(&policy, latest);
    let mut page = PolicyFormPage::new(&mut conn, ctx, Some(policy), form).await?;
    page.refusal = edit_refusal(page.policy.as_ref());
    Ok(page)
}

/// Why the text of `policy` cannot take a new version now, if it cannot.
fn edit_refusal(policy: Option<&Policy>) -> Option<String> {
    let policy = policy?;
    match policy.lifecycle() {
        Lifecycle::InReview => Some(format!(
            "Version {} is before the board: its text stays as the board reads it. Withdraw the request to change it; the owner, category and review interval can still be changed.",
            policy.latest_number
        )),
        Lifecycle::Approved => Some(format!(
            "Version {} is approved and waits to be published: publish it, then write the next version. The owner, category and review interval can still be changed.",
            policy.latest_number
        )),
        Lifecycle::Retired => Some("The policy is retired: it takes no new version.".to_owned()),
        Lifecycle::Draft | Lifecycle::Published => None,
    }
}

/// `POST /manage/policies/{id}/edit`: a new draft version when the text changed; the
/// settings alone when only they did.
async fn save_edit(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<PolicyForm>,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    let latest = repo::versions(&mut tx, id)
        .await?
        .into_iter()
        .next()
        .ok_or(AppError::NotFound)?;
    let page = PolicyFormPage::new(&mut tx, ctx, Some(policy.clone()), form).await?;
    let (settings, text) = match page.form.validate(&page.owners) {
        Ok(valid) => valid,
        Err(errors) => return Ok(page.refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None)),
    };
    if page.form.version != policy.version {
        let mut page = page;
        page.form.version = policy.version;
        let message = "Someone changed this policy while you were editing it. Your text is kept below: compare it with the latest version and save again.".to_owned();
        return Ok(page.refused(StatusCode::CONFLICT, FieldErrors::new(), Some(message)));
    }
    let text_changed = text.hash() != latest.content_hash;
    let settings_changed = settings.owner_id != policy.owner_id
        || settings.category != policy.category
        || settings.review_interval_months != policy.review_interval_months;
    let back = format!("/manage/policies/{id}");
    let audit = audit_context(&user, &meta);
    if text_changed {
        if let Some(refusal) = edit_refusal(Some(&policy)) {
            return Ok(page.refused(StatusCode::CONFLICT, FieldErrors::new(), Some(refusal)));
        }
        let Some(number) =
            repo::add_version(&mut tx, &policy, policy.version, &settings, &text, user.id).await?
        else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "the policy changed while locked"
            )));
        };
        audit
            .record(
                &mut tx,
                audit::Entry::new("policy.version_written", "policy", Some(policy.reference.clone()))
                    .before(json!({ "version": latest.number, "content_hash": latest.content_hash }))
                    .after(json!({ "settings": settings, "version": number, "text": text, "content_hash": text.hash() })),
            )
            .await?;
        return commit_and_redirect(
            tx,
            &session,
            format!("Saved as draft version {number}."),
            &back,
        )
        .await;
    }
    if !settings_changed {
        let mut errors = FieldErrors::new();
        errors.add(
            "body",
            format!("Nothing changed since version {}.", latest.number),
        );
        return Ok(page.refused(StatusCode::UNPROCESSABLE_ENTITY, errors, None));
    }
    if !repo::update_settings(&mut tx, id, policy.version, &latest.title, &settings).await? {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the policy changed while locked"
        )));
    }
    audit
        .record(
            &mut tx,
            audit::Entry::new("policy.settings_changed", "policy", Some(policy.reference.clone()))
                .before(json!({ "owner_id": policy.owner_id, "category": policy.category, "review_interval_months": policy.review_interval_months }))
                .after(json!(settings)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The policy's settings are saved; its text is unchanged.",
        &back,
    )
    .await
}

/// The small forms on a policy's page, as typed.
#[derive(Debug, Default, Deserialize)]
struct RiskLinkForm {
    #[serde(default)]
    risk_reference: String,
}

#[derive(Debug, Default, Deserialize)]
struct RetireForm {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: i32,
}

#[derive(Debug, Default, Deserialize)]
struct ReviewForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    version: i32,
}

#[derive(Debug, Default, Deserialize)]
struct ExceptionForm {
    #[serde(default)]
    scope: String,
    #[serde(default)]
    justification: String,
    #[serde(default)]
    compensating_controls: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    expires_on: String,
}

/// The longest an exception may run: it is an exception, not a second policy.
const MAX_EXCEPTION_DAYS: i64 = 366;

#[derive(Template, WebTemplate)]
#[template(path = "policies/detail.html")]
struct PolicyPage {
    ctx: PageContext,
    policy: Policy,
    /// Newest first.
    versions: Vec<Version>,
    /// The version shown: the published one, or the newest when none is.
    shown_number: i32,
    shown_html: SafeHtml,
    exceptions: Vec<PolicyException>,
    risks: Vec<LinkedRisk>,
    /// Risks offered when linking.
    risk_choices: Vec<crate::web::form::RecordOption>,
    link_form: RiskLinkForm,
    retire_form: RetireForm,
    review_form: ReviewForm,
    exception_form: ExceptionForm,
    errors: FieldErrors,
    area: Area,
    today: Date,
}

impl PolicyPage {
    fn shown(&self) -> Option<&Version> {
        self.versions.iter().find(|v| v.number == self.shown_number)
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

async fn policy_page(
    conn: &mut PgConnection,
    ctx: PageContext,
    id: i64,
    area: Area,
) -> AppResult<PolicyPage> {
    let today = today();
    let policy = repo::get(conn, id, today)
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = repo::versions(conn, id).await?;
    let shown_number = policy.published_number.unwrap_or(policy.latest_number);
    let shown_html = versions
        .iter()
        .find(|v| v.number == shown_number)
        .map(|v| text::render_markdown(&v.body))
        .unwrap_or_else(|| text::render_markdown(""));
    let risk_choices = if area.changes_records() {
        crate::risks::repo::options(conn, 1000).await?
    } else {
        Vec::new()
    };
    Ok(PolicyPage {
        ctx,
        exceptions: repo::exceptions(conn, Some(id), None, 200).await?,
        risks: repo::linked_risks(conn, id).await?,
        risk_choices,
        link_form: RiskLinkForm::default(),
        retire_form: RetireForm::default(),
        review_form: ReviewForm::default(),
        exception_form: ExceptionForm {
            starts_on: today.to_string(),
            expires_on: (today + Duration::days(90)).to_string(),
            ..ExceptionForm::default()
        },
        errors: FieldErrors::new(),
        shown_number,
        shown_html,
        versions,
        policy,
        area,
        today,
    })
}

/// `GET {area}/policies/{id}`: a policy with its versions, exceptions and risks.
async fn detail(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<PolicyPage> {
    let mut conn = state.pool.acquire().await?;
    policy_page(&mut conn, ctx, id, viewer.area).await
}

/// Why a small form of the policy's page was not saved when the policy changed meanwhile.
const STALE_PAGE: &str = "The policy changed while you were reading it: it is shown as it is now, with what you typed. Look again and send it once more.";

/// Re-renders the policy's page with a small form's input and messages (422).
async fn refused_on_page(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    errors: FieldErrors,
    keep: impl FnOnce(&mut PolicyPage),
) -> AppResult<Response> {
    let mut conn = state.pool.acquire().await?;
    let mut page = policy_page(&mut conn, ctx, id, Area::Manage).await?;
    page.errors = errors;
    keep(&mut page);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Locks policy `id` for the rest of the transaction (or there is no such page).
async fn locked(conn: &mut PgConnection, id: i64) -> AppResult<Policy> {
    repo::lock(conn, id, today())
        .await?
        .ok_or(AppError::NotFound)
}

/// `POST /manage/policies/{id}/submit`: asks the board to approve the publication of the
/// newest draft, exactly as it is.
async fn submit_for_review(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if policy.lifecycle() != Lifecycle::Draft {
        drop(tx);
        let message = format!(
            "Only a draft goes to the board; this policy is {}.",
            policy.lifecycle().label().to_lowercase()
        );
        return refuse_and_redirect(&session, message, &back).await;
    }
    let versions = repo::versions(&mut tx, id).await?;
    let Some(draft) = versions.first() else {
        return Err(AppError::NotFound);
    };
    let audit = audit_context(&user, &meta);
    let rule = state.config.rule(RequestKind::PolicyPublication);
    let filing = publication_filing(rule, &policy, draft, today());
    let filed = match approvals::filing::file(&mut tx, &filing, &user, today(), &audit).await {
        Ok(filed) => filed,
        Err(error) => return approvals::refused(&session, error, &back).await,
    };
    notices::request_opened(&mut tx, &state.config, filed.id).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} asks the board to approve version {} for publication.",
            filed.reference, draft.number
        ),
        &back,
    )
    .await
}

/// The request for the board to approve `version` of `policy` for publication. Used by
/// the policy page and the demo data.
pub fn publication_filing(rule: Rule, policy: &Policy, version: &Version, today: Date) -> Filing {
    let publication = PolicyPublication {
        policy_id: policy.id,
        policy_reference: policy.reference.clone(),
        policy_title: version.title.clone(),
        version_id: version.id,
        version_number: version.number,
        version_hash: version.content_hash.clone(),
    };
    Filing {
        heading: Heading {
            title: format!(
                "Publish {} version {}: {}",
                policy.reference, version.number, version.title
            ),
            summary: version.change_note.clone(),
            due_date: today + Duration::days(14),
            hide_tally: false,
        },
        project_id: None,
        subject: Subject::PolicyPublication(publication),
        rule,
        submit: true,
    }
}

/// `POST /manage/policies/{id}/publish`: the approved version becomes the one everyone
/// reads; the previous one is superseded and the review clock restarts.
async fn publish(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let today = today();
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if policy.lifecycle() != Lifecycle::Approved {
        drop(tx);
        let message = "Only a version the board approved is published.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let next_review_on = model::review_due(today, policy.review_interval_months);
    repo::publish(
        &mut tx,
        &policy,
        policy.latest_version_id,
        user.id,
        today,
        next_review_on,
    )
    .await?;
    audit_context(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.published", "policy", Some(policy.reference.clone()))
                .before(json!({ "published_version": policy.published_number }))
                .after(json!({ "published_version": policy.latest_number, "next_review_on": next_review_on })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "Version {} is published; next review by {next_review_on}.",
            policy.latest_number
        ),
        &back,
    )
    .await
}

/// `POST /manage/policies/{id}/reviewed`: the owner reviewed the published text and keeps
/// it; the next review falls due one interval from today.
async fn record_review(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let today = today();
    let mut errors = FieldErrors::new();
    let note = form::bounded_text(&mut errors, "note", &form.note, 2_000);
    if !errors.is_empty() {
        return refused_on_page(&state, ctx, id, errors, |page| page.review_form = form).await;
    }
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if !policy.is_published() {
        drop(tx);
        return refuse_and_redirect(&session, "Only a published policy is reviewed.", &back).await;
    }
    let next_review_on = model::review_due(today, policy.review_interval_months);
    if !repo::record_review(&mut tx, id, form.version, today, next_review_on).await? {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add("note", STALE_PAGE);
        return refused_on_page(&state, ctx, id, errors, |page| page.review_form = form).await;
    }
    audit_context(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.reviewed", "policy", Some(policy.reference.clone()))
                .before(json!({ "next_review_on": policy.next_review_on }))
                .after(json!({ "next_review_on": next_review_on, "note": note, "version_kept": policy.published_number })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("Review recorded; the next one is due by {next_review_on}."),
        &back,
    )
    .await
}

/// `POST /manage/policies/{id}/retire`
async fn retire(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<RetireForm>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let mut errors = FieldErrors::new();
    let reason = form::required_text(&mut errors, "reason", &form.reason, 2_000);
    if !errors.is_empty() {
        return refused_on_page(&state, ctx, id, errors, |page| page.retire_form = form).await;
    }
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    let refusal = match policy.lifecycle() {
        Lifecycle::Retired => Some("The policy is already retired."),
        Lifecycle::InReview => {
            Some("A version is before the board: withdraw the request before retiring the policy.")
        }
        _ => None,
    };
    if let Some(message) = refusal {
        drop(tx);
        return refuse_and_redirect(&session, message, &back).await;
    }
    if !repo::retire(&mut tx, id, form.version, &reason).await? {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add("reason", STALE_PAGE);
        return refused_on_page(&state, ctx, id, errors, |page| page.retire_form = form).await;
    }
    audit_context(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("policy.retired", "policy", Some(policy.reference.clone()))
                .before(json!({ "lifecycle": policy.lifecycle }))
                .after(json!({ "reason": reason })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{} is retired.", policy.reference),
        &back,
    )
    .await
}

/// `POST /manage/policies/{id}/risks`: links a risk the policy mitigates.
async fn link_risk(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<RiskLinkForm>,
) -> AppResult<Response> {
    let reference = form.risk_reference.trim().to_uppercase();
    let mut tx = state.pool.begin().await?;
    let policy = repo::get(&mut tx, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let linked = if reference.is_empty() {
        None
    } else {
        repo::link_risk(&mut tx, id, &reference, user.id).await?
    };
    if linked.is_none() {
        drop(tx);
        let mut errors = FieldErrors::new();
        errors.add(
            "risk_reference",
            "Enter the reference of a risk in the register, like RSK-0001.",
        );
        return refused_on_page(&state, ctx, id, errors, |page| page.link_form = form).await;
    }
    audit_context(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "policy.risk_linked",
                "policy",
                Some(policy.reference.clone()),
            )
            .after(json!({ "risk": reference })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} now lists {reference} among the risks it mitigates.",
            policy.reference
        ),
        &format!("/manage/policies/{id}"),
    )
    .await
}

/// `POST /manage/policies/{id}/risks/{risk}/unlink`
async fn unlink_risk(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path((id, risk_id)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let mut tx = state.pool.begin().await?;
    let policy = repo::get(&mut tx, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(risk_reference) = repo::unlink_risk(&mut tx, id, risk_id).await? else {
        drop(tx);
        return refuse_and_redirect(&session, "That risk is not linked to this policy.", &back)
            .await;
    };
    audit_context(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "policy.risk_unlinked",
                "policy",
                Some(policy.reference.clone()),
            )
            .before(json!({ "risk": risk_reference })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{risk_reference} is no longer linked."),
        &back,
    )
    .await
}

impl ExceptionForm {
    /// The exception as asked (the policy's fields are filled in by [`exception_filing`]).
    fn validate(&self, today: Date) -> Result<subject::PolicyException, FieldErrors> {
        let mut errors = FieldErrors::new();
        let scope = form::required_text(&mut errors, "scope", &self.scope, 2_000);
        let justification =
            form::required_text(&mut errors, "justification", &self.justification, 10_000);
        let compensating_controls = form::bounded_text(
            &mut errors,
            "compensating_controls",
            &self.compensating_controls,
            10_000,
        );
        let starts_on = form::required_date(&mut errors, "starts_on", &self.starts_on);
        let expires_on = form::required_date(&mut errors, "expires_on", &self.expires_on);
        if let (Some(starts), Some(expires)) = (starts_on, expires_on) {
            if expires < starts {
                errors.add(
                    "expires_on",
                    "An exception ends on or after the day it starts.",
                );
            } else if expires < today {
                errors.add(
                    "expires_on",
                    "This date has passed: an exception must still run.",
                );
            } else if (expires - starts).whole_days() > MAX_EXCEPTION_DAYS {
                errors.add(
                    "expires_on",
                    "An exception runs for a year at most; ask again when it ends.",
                );
            }
        }
        errors.into_result()?;
        Ok(subject::PolicyException {
            policy_id: 0,
            policy_reference: String::new(),
            policy_title: String::new(),
            scope,
            justification,
            compensating_controls,
            starts_on: starts_on.unwrap_or(today),
            expires_on: expires_on.unwrap_or(today),
        })
    }
}

/// `POST /manage/policies/{id}/exceptions`: asks the board for a time-limited exception
/// to the published policy.
async fn ask_exception(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ExceptionForm>,
) -> AppResult<Response> {
    let back = format!("/manage/policies/{id}");
    let today = today();
    let content = match form.validate(today) {
        Ok(content) => content,
        Err(errors) => {
            return refused_on_page(&state, ctx, id, errors, |page| page.exception_form = form)
                .await;
        }
    };
    let mut tx = state.pool.begin().await?;
    let policy = locked(&mut tx, id).await?;
    if !policy.is_published() {
        drop(tx);
        let message = "Exceptions are to a published policy; this one is not in force.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let audit = audit_context(&user, &meta);
    let rule = state.config.rule(RequestKind::PolicyException);
    let filing = exception_filing(rule, &policy, content, today);
    let filed = match approvals::filing::file(&mut tx, &filing, &user, today, &audit).await {
        Ok(filed) => filed,
        Err(error) => return approvals::refused(&session, error, &back).await,
    };
    notices::request_opened(&mut tx, &state.config, filed.id).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} asks the board for an exception to {}.",
            filed.reference, policy.reference
        ),
        &back,
    )
    .await
}

/// The request for an exception to `policy`. Used by the policy page and the demo data.
pub fn exception_filing(
    rule: Rule,
    policy: &Policy,
    exception: subject::PolicyException,
    today: Date,
) -> Filing {
    let exception = subject::PolicyException {
        policy_id: policy.id,
        policy_reference: policy.reference.clone(),
        policy_title: policy.title.clone(),
        ..exception
    };
    Filing {
        heading: Heading {
            title: format!(
                "Exception to {} until {}",
                policy.reference, exception.expires_on
            ),
            summary: exception.scope.clone(),
            due_date: today + Duration::days(14),
            hide_tally: false,
        },
        project_id: None,
        subject: Subject::PolicyException(exception),
        rule,
        submit: true,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/version.html")]
struct VersionPage {
    ctx: PageContext,
    policy: Policy,
    version: Version,
    html: SafeHtml,
    area: Area,
}

async fn version_page(
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
async fn in_force_policy(
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
async fn version(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Path((id, number)): Path<(i64, i32)>,
) -> AppResult<VersionPage> {
    version_page(&state, ctx, id, number, viewer.area).await
}

#[derive(Debug, Deserialize)]
struct DiffQuery {
    from: Option<i32>,
    to: Option<i32>,
}

#[derive(Template, WebTemplate)]
#[template(path = "policies/diff.html")]
struct DiffPage {
    ctx: PageContext,
    policy: Policy,
    numbers: Vec<i32>,
    from: Version,
    to: Version,
    hunks: Vec<DiffHunk>,
    area: Area,
}

async fn diff_page(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    query: DiffQuery,
    area: Area,
) -> AppResult<DiffPage> {
    let mut conn = state.pool.acquire().await?;
    let policy = repo::get(&mut conn, id, today())
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = repo::versions(&mut conn, id).await?;
    let newest = policy.latest_number;
    let to_number = query.to.unwrap_or(newest);
    let from_number = query.from.unwrap_or((to_number - 1).max(1));
    let pick = |number: i32| versions.iter().find(|v| v.number == number).cloned();
    let (Some(from), Some(to)) = (pick(from_number), pick(to_number)) else {
        return Err(AppError::NotFound);
    };
    Ok(DiffPage {
        ctx,
        hunks: text::diff_lines(&from.comparable_text(), &to.comparable_text()),
        numbers: versions.iter().map(|v| v.number).collect(),
        policy,
        from,
        to,
        area,
    })
}

/// `GET {area}/policies/{id}/diff?from=&to=`: what changed between two versions.
async fn diff(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(query): Query<DiffQuery>,
) -> AppResult<DiffPage> {
    diff_page(&state, ctx, id, query, viewer.area).await
}

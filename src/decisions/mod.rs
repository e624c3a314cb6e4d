//! Decision records: the board's resolutions (written by the approvals engine when a
//! request closes) and management's own decisions (ADR style: context, options, decision,
//! consequences; proposed → accepted → superseded or deprecated). One log for every
//! signed-in role.

pub mod repo;

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;

use crate::approvals::model::RequestStatus;
use crate::approvals::subject::Subject;
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::projects::repo::{Project, ProjectQuery};
use crate::web::form::{self, FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::route_list::Routes;
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, Area, ItManager, PageContext, RequestMeta, SignedIn,
    commit_and_redirect, refuse_and_redirect,
};
use repo::{Decision, DecisionFilter, DecisionKind, DecisionStatus, ManagementFields, Record};

/// The log and the records: every signed-in role reads them.
pub fn routes() -> Routes {
    Routes::new()
        .route("/decisions", get(log))
        .route("/decisions/{id}", get(show))
}

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/decisions", post(create))
        .route("/decisions/new", get(new_page))
        .route("/decisions/{id}/edit", get(edit_page).post(update))
        .route("/decisions/{id}/status", post(set_status))
}

const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogQuery {
    kind: Option<String>,
    state: Option<String>,
    project: Option<String>,
    /// A project's, risk's or policy's reference.
    about: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// `<unix microseconds>.<id>` of the last row of the previous page.
    before: Option<String>,
}

impl LogQuery {
    fn filter(&self, errors: &mut FieldErrors) -> DecisionFilter {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        DecisionFilter {
            kind: chosen(&self.kind).and_then(|kind| kind.parse::<DecisionKind>().ok()),
            // Only a state a decision can be in reaches the database.
            state: chosen(&self.state).filter(|state| {
                state.parse::<RequestStatus>().is_ok() || state.parse::<DecisionStatus>().is_ok()
            }),
            project_id: chosen(&self.project).and_then(|id| id.parse().ok()),
            from: form::optional_date(errors, "from", self.from.as_deref().unwrap_or_default()),
            to: form::optional_date(errors, "to", self.to.as_deref().unwrap_or_default()),
            before: self.before.as_deref().and_then(decode_position),
            limit: fetch_limit(PAGE_SIZE),
            ..DecisionFilter::default()
        }
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "kind" => &self.kind,
            "state" => &self.state,
            _ => &self.project,
        };
        current.as_deref() == Some(value)
    }

    fn without_position(&self) -> String {
        filter_query(&[
            ("kind", &self.kind),
            ("state", &self.state),
            ("project", &self.project),
            ("about", &self.about),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

fn encode_position(decision: &Decision) -> String {
    format!(
        "{}.{}",
        decision.decided_at.unix_timestamp_nanos() / 1000,
        decision.id
    )
}

fn decode_position(text: &str) -> Option<(OffsetDateTime, i64)> {
    let (micros, id) = text.split_once('.')?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(micros.parse::<i128>().ok()? * 1000).ok()?;
    Some((at, id.parse().ok()?))
}

#[derive(Template, WebTemplate)]
#[template(path = "decisions/log.html")]
struct LogPage {
    ctx: PageContext,
    query: LogQuery,
    decisions: Arc<KeysetPage<Decision, String>>,
    next_page: Option<String>,
    errors: FieldErrors,
    can_record: bool,
}

/// `GET /decisions`: the decision log, newest first.
async fn log(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    SignedIn(user): SignedIn,
    Query(query): Query<LogQuery>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let mut filter = query.filter(&mut errors);
    if let Some(reference) = query.about.as_deref().and_then(form::optional) {
        let reference = reference.trim().to_uppercase();
        // Only a reference's shape reaches the database (no NUL, no 100 kB of text).
        let shaped = reference.len() <= 20
            && reference.split_once('-').is_some_and(|(prefix, number)| {
                prefix.len() == 3
                    && prefix.bytes().all(|b| b.is_ascii_uppercase())
                    && !number.is_empty()
                    && number.bytes().all(|b| b.is_ascii_digit())
            });
        let found = if shaped {
            let mut conn = state.pool.acquire().await?;
            repo::record_by_reference(&mut conn, &reference).await?
        } else {
            None
        };
        match found {
            Some(Record::Project(id)) => filter.project_id = Some(id),
            Some(Record::Risk(id)) => filter.risk_id = Some(id),
            Some(Record::Policy(id)) => filter.policy_id = Some(id),
            None if shaped => errors.add(
                "about",
                format!("No project, risk or policy has the reference {reference}."),
            ),
            None => errors.add(
                "about",
                "Enter a project's, risk's or policy's reference, such as RSK-0042.",
            ),
        }
    }
    let page = if errors.is_empty() {
        let key = FiguresKey::shared("decision log").with(format_args!("{filter:?}"));
        figures
            .load(key, async {
                let mut conn = state.pool.acquire().await?;
                let rows = repo::find_decisions(&mut conn, &filter).await?;
                Ok(KeysetPage::from_rows(rows, PAGE_SIZE, encode_position))
            })
            .await?
    } else {
        Arc::new(KeysetPage::from_rows(
            Vec::new(),
            PAGE_SIZE,
            encode_position,
        ))
    };
    let next_page = page.next.as_ref().map(|position| {
        let mut next = form_urlencoded::Serializer::new(query.without_position());
        next.append_pair("before", position);
        next.finish()
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = LogPage {
        ctx,
        decisions: page,
        next_page,
        errors,
        can_record: user.has_role(crate::users::Role::ItManager),
        query,
    };
    Ok((status, page).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "decisions/show.html")]
struct DecisionPage {
    ctx: PageContext,
    record: Arc<DecisionRecord>,
    /// The viewer may move this management decision on (its author, an IT manager).
    can_manage: bool,
    /// Where this viewer reads the records the decision is about.
    area: Area,
    /// The successor reference as typed, kept when it is refused.
    successor: String,
    errors: FieldErrors,
}

/// A decision and, for a resolution, what its request was about.
struct DecisionRecord {
    decision: Decision,
    subject: Option<Subject>,
}

impl DecisionRecord {
    async fn load(pool: &PgPool, id: i64) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let decision = repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        let subject = match decision.request_id {
            Some(request_id) => crate::approvals::repo::get_request(&mut conn, request_id)
                .await?
                .map(|request| request.subject),
            None => None,
        };
        Ok(Self { decision, subject })
    }
}

impl DecisionPage {
    async fn load(
        state: &AppState,
        ctx: PageContext,
        figures: &PageFigures,
        user: &crate::web::CurrentUser,
        id: i64,
    ) -> AppResult<Self> {
        let key = FiguresKey::shared("decision").with(id);
        let record = figures
            .load(key, DecisionRecord::load(&state.pool, id))
            .await?;
        let decision = &record.decision;
        let is_manager = user.has_role(crate::users::Role::ItManager);
        Ok(Self {
            can_manage: !decision.is_resolution()
                && is_manager
                && decision.author_id == Some(user.id),
            area: Area::home_of(user),
            record,
            ctx,
            successor: String::new(),
            errors: FieldErrors::new(),
        })
    }
}

impl DecisionPage {
    /// The record a resolution decided about, other than its project (a risk accepted, a
    /// policy version published, a policy excepted): where this viewer reads it, and its
    /// name. `None` for a budget (its project is linked already) or a viewer with no
    /// reading area.
    fn record_link(&self) -> Option<(String, String)> {
        let area = self.area;
        if !area.reads_drafts() {
            return None;
        }
        match self.record.subject.as_ref()? {
            Subject::Budget(_) => None,
            Subject::RiskAcceptance(acceptance) => Some((
                format!("{area}/risks/{}", acceptance.risk_id),
                format!("{} {}", acceptance.risk_reference, acceptance.risk_title),
            )),
            Subject::PolicyPublication(publication) => Some((
                format!(
                    "{area}/policies/{}/versions/{}",
                    publication.policy_id, publication.version_number
                ),
                format!(
                    "{} {}, version {}",
                    publication.policy_reference,
                    publication.policy_title,
                    publication.version_number
                ),
            )),
            Subject::PolicyException(exception) => Some((
                format!("{area}/policies/{}", exception.policy_id),
                format!(
                    "{} {} (exception: {})",
                    exception.policy_reference, exception.policy_title, exception.scope
                ),
            )),
        }
    }
}

/// `GET /decisions/{id}`
async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
) -> AppResult<DecisionPage> {
    DecisionPage::load(&state, ctx, &figures, &user, id).await
}

/// The management decision form, as typed.
#[derive(Debug, Default, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    context: String,
    #[serde(default)]
    options: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    consequences: String,
    #[serde(default)]
    version: i32,
}

impl DecisionForm {
    fn from_decision(decision: &Decision) -> Self {
        Self {
            title: decision.question.clone(),
            project_id: decision
                .project_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            context: decision.context.clone(),
            options: decision.options.clone(),
            decision: decision.decision.clone(),
            consequences: decision.consequences.clone(),
            version: decision.version,
        }
    }

    fn validate(&self, projects: &[Project]) -> Result<ManagementFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let project_id = match form::optional(&self.project_id) {
            None => None,
            Some(id) => {
                let found = id
                    .parse::<i64>()
                    .ok()
                    .filter(|id| projects.iter().any(|p| p.id == *id));
                if found.is_none() {
                    errors.add("project_id", "Choose a project from the list, or none.");
                }
                found
            }
        };
        let context = form::required_text(&mut errors, "context", &self.context, 20_000);
        let options = form::bounded_text(&mut errors, "options", &self.options, 20_000);
        let decision = form::required_text(&mut errors, "decision", &self.decision, 20_000);
        let consequences =
            form::bounded_text(&mut errors, "consequences", &self.consequences, 20_000);
        errors.into_result()?;
        Ok(ManagementFields {
            title,
            project_id,
            context,
            options,
            decision,
            consequences,
        })
    }

    pub fn sections(&self) -> [(&'static str, &'static str, &str); 4] {
        [
            (
                "context",
                "Context: what forces this decision",
                &self.context,
            ),
            ("options", "Options considered", &self.options),
            ("decision", "Decision", &self.decision),
            ("consequences", "Consequences", &self.consequences),
        ]
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "decisions/form.html")]
struct DecisionFormPage {
    ctx: PageContext,
    decision: Option<Decision>,
    form: DecisionForm,
    errors: FieldErrors,
    projects: Vec<Project>,
    stale: bool,
}

impl DecisionFormPage {
    async fn new(
        state: &AppState,
        ctx: PageContext,
        decision: Option<Decision>,
        form: DecisionForm,
    ) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        Ok(Self {
            ctx,
            decision,
            form,
            errors: FieldErrors::new(),
            projects: crate::projects::repo::projects(&mut conn, &ProjectQuery::all(500)).await?,
            stale: false,
        })
    }

    fn refused(self, errors: FieldErrors, status: StatusCode) -> Response {
        (status, Self { errors, ..self }).into_response()
    }
}

async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
) -> AppResult<DecisionFormPage> {
    DecisionFormPage::new(&state, ctx, None, DecisionForm::default()).await
}

/// `POST /manage/decisions`: records a proposed management decision.
async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    let page = DecisionFormPage::new(&state, ctx, None, form).await?;
    let fields = match page.form.validate(&page.projects) {
        Ok(fields) => fields,
        Err(errors) => return Ok(page.refused(errors, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let mut tx = state.pool.begin().await?;
    let reference = crate::common::references::next(
        &mut tx,
        crate::common::references::Series::Decision {
            year: today().year(),
        },
    )
    .await?;
    let id = repo::create_management(&mut tx, &reference, user.id, &fields).await?;
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("decision.proposed", "decision", Some(reference.clone()))
                .after(json!(fields)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{reference} is recorded as proposed."),
        &format!("/decisions/{id}"),
    )
    .await
}

async fn own_management_decision(state: &AppState, user_id: i64, id: i64) -> AppResult<Decision> {
    let mut conn = state.pool.acquire().await?;
    let decision = repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    if decision.is_resolution() || decision.author_id != Some(user_id) {
        return Err(AppError::Forbidden(format!(
            "{} is not a management decision you recorded: only its author changes it.",
            decision.reference
        )));
    }
    Ok(decision)
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let decision = own_management_decision(&state, user.id, id).await?;
    if decision.status() != Some(DecisionStatus::Proposed) {
        return Err(AppError::Forbidden(format!(
            "{} is {}: an accepted decision is a record and does not change; supersede it with a new one.",
            decision.reference,
            decision.state_label()
        )));
    }
    let form = DecisionForm::from_decision(&decision);
    Ok(DecisionFormPage::new(&state, ctx, Some(decision), form)
        .await?
        .into_response())
}

/// `POST /manage/decisions/{id}/edit`: changes a proposed decision.
async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<DecisionForm>,
) -> AppResult<Response> {
    let before = own_management_decision(&state, user.id, id).await?;
    let page = DecisionFormPage::new(&state, ctx, Some(before.clone()), form).await?;
    let fields = match page.form.validate(&page.projects) {
        Ok(fields) => fields,
        Err(errors) => return Ok(page.refused(errors, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    let mut tx = state.pool.begin().await?;
    if !repo::update_proposed(&mut tx, id, page.form.version, &fields).await? {
        let mut page = DecisionFormPage {
            stale: true,
            ..page
        };
        page.form.version = before.version;
        return Ok(page.refused(FieldErrors::new(), StatusCode::CONFLICT));
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new("decision.updated", "decision", Some(before.reference.clone()))
                .before(json!({ "title": before.question, "context": before.context, "options": before.options, "decision": before.decision, "consequences": before.consequences }))
                .after(json!(fields)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The decision has been saved.",
        &format!("/decisions/{id}"),
    )
    .await
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    successor: String,
    #[serde(default)]
    version: i32,
}

/// `POST /manage/decisions/{id}/status`: accept, deprecate, or supersede by another record.
async fn set_status(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    let decision = own_management_decision(&state, user.id, id).await?;
    let back = format!("/decisions/{id}");
    let Ok(to) = form.to.parse::<DecisionStatus>() else {
        return refuse_and_redirect(&session, "Choose what happens to the decision.", &back).await;
    };
    let mut tx = state.pool.begin().await?;
    let successor = if to == DecisionStatus::Superseded {
        let reference = form.successor.trim().to_uppercase();
        match repo::find_by_reference(&mut tx, &reference).await? {
            Some(successor) if successor != id => Some(successor),
            _ => {
                drop(tx);
                let figures = PageFigures::uncached(&state);
                let mut page = DecisionPage::load(&state, ctx, &figures, &user, id).await?;
                page.errors.add(
                    "successor",
                    format!(
                        "Name another decision that supersedes it, e.g. DEC-{}-0012.",
                        today().year()
                    ),
                );
                page.successor = form.successor;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        }
    } else {
        None
    };
    if !repo::set_status(&mut tx, id, form.version, to, successor).await? {
        drop(tx);
        let message = format!(
            "{} is {}: it cannot become {} (or it changed meanwhile). Nothing was changed.",
            decision.reference,
            decision.state_label(),
            to.as_str()
        );
        return refuse_and_redirect(&session, message, &back).await;
    }
    Context::for_request(&user, &meta)
        .record(
            &mut tx,
            audit::Entry::new(
                "decision.status_changed",
                "decision",
                Some(decision.reference.clone()),
            )
            .before(json!({ "status": decision.status }))
            .after(json!({ "status": to, "superseded_by": form.successor.trim() })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{} is now {}.", decision.reference, to.as_str()),
        &format!("/decisions/{id}"),
    )
    .await
}

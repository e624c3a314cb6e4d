//! Management's side of the portfolio: the project list, creating and editing projects.

use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgPool;

use super::model::{Cadence, Phase, ReportingState};
use super::repo::{
    self, BudgetChange, Objective, Project, ProjectFields, ProjectOrder, ProjectQuery, RagFilter,
    ReportSummary,
};
use super::{ensure_manages, load_project};
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::users::Role;
use crate::users::picker::PersonField;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, Area, CurrentUser, ItManager, PageContext, RequestMeta, Viewer,
    commit_and_redirect,
};

const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    phase: Option<String>,
    manager: Option<String>,
    rag: Option<String>,
    objective: Option<String>,
    sort: Option<String>,
    after: Option<String>,
    after_ref: Option<String>,
}

impl ListQuery {
    /// The list's query, with the manager filter as resolved.
    fn to_query(&self, manager_id: Option<i64>, limit: i64) -> ProjectQuery {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        ProjectQuery {
            phase: chosen(&self.phase).and_then(|p| p.parse::<Phase>().ok()),
            manager_id,
            rag: chosen(&self.rag).and_then(|rag| RagFilter::parse(&rag)),
            objective_id: chosen(&self.objective).and_then(|id| id.parse().ok()),
            order: self.order(),
            after: self.after.clone().zip(self.after_ref.clone()),
            ..ProjectQuery::all(limit)
        }
    }

    fn order(&self) -> ProjectOrder {
        match self.sort.as_deref() {
            Some("name") => ProjectOrder::Name,
            Some("end") => ProjectOrder::End,
            Some("rag") => ProjectOrder::Rag,
            _ => ProjectOrder::Reference,
        }
    }

    /// The query string of this list without the page position, for the next-page link.
    fn without_position(&self) -> String {
        filter_query(&[
            ("phase", &self.phase),
            ("manager", &self.manager),
            ("rag", &self.rag),
            ("objective", &self.objective),
            ("sort", &self.sort),
        ])
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "phase" => &self.phase,
            "manager" => &self.manager,
            "rag" => &self.rag,
            "objective" => &self.objective,
            _ => &self.sort,
        };
        current.as_deref() == Some(value)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/list.html")]
pub(super) struct ProjectListPage {
    ctx: PageContext,
    query: ListQuery,
    listing: Arc<ProjectListing>,
    next_page: Option<String>,
    today: time::Date,
    /// `/manage` or `/board`: where the list and its links live.
    area: Area,
}

/// A page of the project list, and the objectives its filter offers.
struct ProjectListing {
    projects: Vec<Project>,
    /// The sort key and reference the next page starts after.
    next: Option<(String, String)>,
    /// Why the manager filter named nobody, when it did not.
    manager_error: Option<String>,
    objectives: Vec<Objective>,
}

impl ProjectListing {
    /// Filtered and sorted as `query` says.
    async fn load(pool: &PgPool, query: &ListQuery) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        // The manager filter is typed (an email or name): a filter that names nobody lists
        // nothing and says why, rather than every project.
        let typed_manager = query.manager.as_deref().unwrap_or_default();
        let manager = PersonField::resolve(&mut conn, Role::ItManager, typed_manager).await?;
        let mut errors = FieldErrors::new();
        // `None`: the filter names nobody; `Some(manager)`: list (by that manager, if any).
        let filter = match &manager {
            PersonField::Empty => Some(None),
            named => named
                .id(&mut errors, "manager", Role::ItManager, "")
                .map(Some),
        };
        let rows = match filter {
            Some(manager_id) => {
                let listed = query.to_query(manager_id, fetch_limit(PAGE_SIZE));
                repo::find_projects(&mut conn, &listed).await?
            }
            None => Vec::new(),
        };
        let page = KeysetPage::from_rows(rows, PAGE_SIZE, |row| {
            (row.sort_key.clone(), row.project.reference.clone())
        });
        Ok(Self {
            projects: page.items.into_iter().map(|row| row.project).collect(),
            next: page.next,
            manager_error: errors.get("manager").map(str::to_owned),
            objectives: repo::list_objectives(&mut conn).await?,
        })
    }
}

/// `GET {area}/projects`: the project list, filtered, sorted and paged.
pub(super) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> AppResult<ProjectListPage> {
    let key = FiguresKey::shared("project list").with(format_args!("{query:?}"));
    let listing = figures
        .load(key, ProjectListing::load(&state.pool, &query))
        .await?;
    let next_page = listing.next.as_ref().map(|(key, reference)| {
        let mut position = form_urlencoded::Serializer::new(query.without_position());
        position
            .append_pair("after", key)
            .append_pair("after_ref", reference);
        position.finish()
    });
    Ok(ProjectListPage {
        ctx,
        listing,
        next_page,
        query,
        today: today(),
        area: viewer.area,
    })
}

/// What the project form holds: exactly what was typed.
#[derive(Debug, Default, Deserialize)]
pub struct ProjectForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    sponsor: String,
    /// Who runs it: an IT manager's email or name.
    #[serde(default)]
    manager: String,
    #[serde(default)]
    objective_id: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    planned_end_date: String,
    #[serde(default)]
    reporting_cadence: String,
    #[serde(default)]
    phase: String,
    #[serde(default)]
    version: i32,
}

impl ProjectForm {
    fn from_project(project: &Project, manager_email: String) -> Self {
        Self {
            name: project.name.clone(),
            description: project.description.clone(),
            sponsor: project.sponsor.clone(),
            manager: manager_email,
            objective_id: project.objective_id.to_string(),
            start_date: project.start_date.to_string(),
            planned_end_date: project.planned_end_date.to_string(),
            reporting_cadence: project.reporting_cadence.as_str().to_owned(),
            phase: project.phase.as_str().to_owned(),
            version: project.version,
        }
    }

    /// Checks every field; `phases` are those the project may move to (new: proposed).
    fn validate(
        &self,
        manager: &PersonField,
        objectives: &[Objective],
        phases: &[Phase],
    ) -> Result<ProjectFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = form::required_text(&mut errors, "name", &self.name, 200);
        let description = form::bounded_text(&mut errors, "description", &self.description, 10_000);
        let sponsor = form::required_text(&mut errors, "sponsor", &self.sponsor, 200);
        let manager_id = manager.id(
            &mut errors,
            "manager",
            Role::ItManager,
            "Say which IT manager runs the project.",
        );
        let objective_id = self
            .objective_id
            .parse::<i64>()
            .ok()
            .filter(|id| objectives.iter().any(|objective| objective.id == *id));
        if objective_id.is_none() {
            errors.add("objective_id", "Choose the objective the project serves.");
        }
        let start = form::required_date(&mut errors, "start_date", &self.start_date);
        let end = form::required_date(&mut errors, "planned_end_date", &self.planned_end_date);
        if let (Some(start), Some(end)) = (start, end)
            && end < start
        {
            errors.add(
                "planned_end_date",
                "The planned end cannot be before the start.",
            );
        }
        let cadence = form::required_choice::<Cadence>(
            &mut errors,
            "reporting_cadence",
            &self.reporting_cadence,
        );
        let phase = if phases.len() == 1 {
            Some(phases[0])
        } else {
            self.phase
                .parse::<Phase>()
                .ok()
                .filter(|phase| phases.contains(phase))
                .or_else(|| {
                    errors.add("phase", "Choose one of the phases offered.");
                    None
                })
        };
        errors.into_result()?;
        Ok(ProjectFields {
            name,
            description,
            sponsor,
            manager_id: manager_id.unwrap_or_default(),
            objective_id: objective_id.unwrap_or_default(),
            start_date: start.unwrap_or(time::Date::MIN),
            planned_end_date: end.unwrap_or(time::Date::MIN),
            reporting_cadence: cadence.unwrap_or(Cadence::Monthly),
            phase: phase.unwrap_or(Phase::Proposed),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/form.html")]
pub(super) struct ProjectFormPage {
    ctx: PageContext,
    project: Option<Project>,
    form: ProjectForm,
    errors: FieldErrors,
    /// Who the manager field names.
    manager: PersonField,
    objectives: Vec<Objective>,
    phases: Vec<Phase>,
    cadences: &'static [Cadence],
    stale: bool,
}

impl ProjectFormPage {
    async fn new(
        state: &AppState,
        ctx: PageContext,
        project: Option<Project>,
        form: ProjectForm,
        errors: FieldErrors,
    ) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        let phases = project
            .as_ref()
            .map(|project| project.phase().manager_transitions().to_vec())
            .unwrap_or_else(|| vec![Phase::Proposed]);
        let manager = PersonField::resolve(&mut conn, Role::ItManager, &form.manager).await?;
        Ok(Self {
            ctx,
            project,
            form,
            errors,
            manager,
            objectives: repo::list_objectives(&mut conn).await?,
            phases,
            cadences: Cadence::ALL,
            stale: false,
        })
    }

    fn refused(self) -> Response {
        let status = if self.stale {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        (status, self).into_response()
    }
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<ProjectFormPage> {
    let form = ProjectForm {
        manager: user.email.clone(),
        reporting_cadence: Cadence::Monthly.as_str().to_owned(),
        ..ProjectForm::default()
    };
    ProjectFormPage::new(&state, ctx, None, form, FieldErrors::new()).await
}

pub(super) async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<ProjectForm>,
) -> AppResult<Response> {
    let page = ProjectFormPage::new(&state, ctx, None, form, FieldErrors::new()).await?;
    let fields = match page
        .form
        .validate(&page.manager, &page.objectives, &page.phases)
    {
        Ok(fields) => fields,
        Err(errors) => return Ok(ProjectFormPage { errors, ..page }.refused()),
    };
    let mut tx = state.pool.begin().await?;
    let id = repo::create_project(&mut tx, &fields).await?;
    let created = repo::get_project(&mut tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "project.created",
            "project",
            Some(created.reference.clone()),
        )
        .after(serde_json::to_value(&fields).unwrap_or_default()),
    )
    .await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} {} has been proposed. The board approves it by approving a budget request for it.",
            created.reference, created.name
        ),
        &format!("/manage/projects/{id}"),
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/detail.html")]
pub struct ProjectDetailPage {
    pub ctx: PageContext,
    pub project: Project,
    pub record: Arc<ProjectRecord>,
    pub viewer_id: i64,
    pub state: ReportingState,
    /// `/manage` or `/board`: where this viewer's links go.
    pub area: Area,
    pub can_manage: bool,
}

/// Whether `viewer` manages the project from `area` (its manager, on management's pages):
/// they then see its draft reports and the forms that change it.
fn may_manage(area: Area, project: &Project, viewer: &CurrentUser) -> bool {
    area.changes_records() && project.manager_id == viewer.id
}

/// A project and what is recorded about it, as one viewer may read it.
pub struct ProjectRecord {
    pub project: Project,
    pub reports: Vec<ReportSummary>,
    pub budget_history: Vec<BudgetChange>,
    /// Budget requests about the project (drafts only for their requester).
    pub requests: Vec<crate::approvals::repo::Request>,
    /// Decision records about the project (resolutions and management decisions).
    pub decisions: Vec<crate::decisions::repo::Decision>,
    /// The risks that touch it, the worst first.
    pub risks: Vec<crate::risks::repo::ProjectRisk>,
}

impl ProjectRecord {
    /// With the drafts (of reports and requests) that `viewer` wrote, if they may manage it.
    async fn load(pool: &PgPool, viewer: &CurrentUser, id: i64, area: Area) -> AppResult<Self> {
        let mut conn = pool.acquire().await?;
        let project = repo::get_project(&mut conn, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let can_manage = may_manage(area, &project, viewer);
        Ok(Self {
            reports: repo::project_reports(&mut conn, id, can_manage, 200).await?,
            budget_history: repo::budget_history(&mut conn, id).await?,
            requests: crate::approvals::repo::find_requests(
                &mut conn,
                crate::approvals::repo::Selection::AboutProject(id),
                100,
            )
            .await?
            .into_iter()
            .filter(|request| {
                request.status != crate::approvals::model::RequestStatus::Draft
                    || request.requester_id == viewer.id
            })
            .collect(),
            decisions: crate::decisions::repo::find_decisions(
                &mut conn,
                &crate::decisions::repo::DecisionFilter {
                    project_id: Some(id),
                    limit: 100,
                    ..Default::default()
                },
            )
            .await?,
            risks: crate::risks::repo::risks_for_project(&mut conn, id).await?,
            project,
        })
    }
}

/// `GET {area}/projects/{id}`: a project with its reports, budget history, requests and
/// decisions; its manager manages it from `/manage`.
pub(super) async fn detail(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<ProjectDetailPage> {
    let user = &viewer.user;
    let key = FiguresKey::personal("project", user.id).with(format_args!("{id} {}", viewer.area));
    let record = figures
        .load(key, ProjectRecord::load(&state.pool, user, id, viewer.area))
        .await?;
    Ok(ProjectDetailPage {
        ctx,
        project: record.project.clone(),
        viewer_id: user.id,
        state: record.project.reporting_state(today()),
        can_manage: may_manage(viewer.area, &record.project, user),
        area: viewer.area,
        record,
    })
}

pub(super) async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<ProjectFormPage> {
    let project = load_project(&state, id).await?;
    ensure_manages(&user, &project)?;
    // Only its manager edits a project: the field starts with their email.
    let form = ProjectForm::from_project(&project, user.email.clone());
    ProjectFormPage::new(&state, ctx, Some(project), form, FieldErrors::new()).await
}

pub(super) async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ProjectForm>,
) -> AppResult<Response> {
    let before = load_project(&state, id).await?;
    ensure_manages(&user, &before)?;
    let page =
        ProjectFormPage::new(&state, ctx, Some(before.clone()), form, FieldErrors::new()).await?;
    let fields = match page
        .form
        .validate(&page.manager, &page.objectives, &page.phases)
    {
        Ok(fields) => fields,
        Err(errors) => return Ok(ProjectFormPage { errors, ..page }.refused()),
    };
    let mut tx = state.pool.begin().await?;
    if !repo::update_project(&mut tx, id, page.form.version, &fields).await? {
        return Ok(ProjectFormPage {
            stale: true,
            ..page
        }
        .refused());
    }
    let after = repo::get_project(&mut tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Context::for_request(&user, &meta)
        .record_change(
            &mut tx,
            "project.updated",
            "project",
            &after.reference,
            &before,
            &after,
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The project has been saved.",
        &format!("/manage/projects/{id}"),
    )
    .await
}

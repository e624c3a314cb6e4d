//! Management's side: filing, changing, submitting and withdrawing budget requests.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use time::Duration;

use super::board::RequestView;
use super::engine::{self, EngineError, Refusal};
use super::filing::{self, Filing, Heading};
use super::model::{RequestKind, Rule, SpendType};
use super::repo::{self, Request, Selection};
use super::subject::{Budget, Subject};
use super::{notices, refused};
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::projects;
use crate::projects::model::{Cadence, Phase};
use crate::projects::repo::{Objective, Project, ProjectFields, ProjectQuery};
use crate::web::form::{self, FieldErrors, Form};
use crate::web::money::input_value;
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, Area, ItManager, PageContext, RequestMeta, commit_and_redirect,
};

#[derive(Template, WebTemplate)]
#[template(path = "approvals/my_requests.html")]
pub(super) struct MyRequestsPage {
    ctx: PageContext,
    requests: Vec<Request>,
}

/// `GET /manage/requests`: the requests this manager filed, open ones first.
pub(super) async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<MyRequestsPage> {
    let mut conn = state.pool.acquire().await?;
    Ok(MyRequestsPage {
        ctx,
        requests: repo::find_requests(&mut conn, Selection::FiledBy(user.id), 200).await?,
    })
}

/// The request form, as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RequestForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    spend_type: String,
    #[serde(default)]
    fiscal_year: String,
    #[serde(default)]
    due_date: String,
    #[serde(default)]
    benefits: String,
    #[serde(default)]
    costs: String,
    #[serde(default)]
    risks: String,
    #[serde(default)]
    alternatives: String,
    #[serde(default)]
    hide_tally: Option<String>,
    /// With `project_id` = `new`: the project proposed together with the request.
    #[serde(default)]
    new_project_name: String,
    #[serde(default)]
    new_project_sponsor: String,
    #[serde(default)]
    new_project_objective_id: String,
    #[serde(default)]
    version: i32,
    /// `save` keeps it as it is, `submit` opens a draft to the board.
    #[serde(default)]
    action: String,
}

impl RequestForm {
    /// The business-case fields: name, label, what was typed.
    pub fn business_case(&self) -> [(&'static str, &'static str, &str); 4] {
        [
            ("benefits", "Benefits", &self.benefits),
            ("costs", "Costs", &self.costs),
            ("risks", "Risks", &self.risks),
            (
                "alternatives",
                "Alternatives considered",
                &self.alternatives,
            ),
        ]
    }

    fn from_request(request: &Request) -> Self {
        let form = Self {
            title: request.title.clone(),
            summary: request.summary.clone(),
            due_date: request.due_date.to_string(),
            hide_tally: request.hide_tally.then(|| "on".to_owned()),
            version: request.version,
            ..Self::default()
        };
        match request.budget() {
            Some(budget) => Self {
                project_id: budget.project_id.to_string(),
                amount: input_value(budget.amount),
                spend_type: budget.spend_type.as_str().to_owned(),
                fiscal_year: budget.fiscal_year.to_string(),
                benefits: budget.benefits.clone(),
                costs: budget.costs.clone(),
                risks: budget.risks.clone(),
                alternatives: budget.alternatives.clone(),
                ..form
            },
            None => form,
        }
    }

    /// Checks every field; `projects` are those the requester manages. With a new project,
    /// also returns the project to propose (its id in the content is filled in once it
    /// exists).
    fn validate(
        &self,
        projects: &[Project],
        objectives: Option<&[Objective]>,
        requester_id: i64,
    ) -> Result<(Heading, Budget, Option<ProjectFields>), FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let summary = form::bounded_text(&mut errors, "summary", &self.summary, 2_000);
        let mut new_project = None;
        let project_id = match (self.project_id.as_str(), objectives) {
            ("new", Some(objectives)) => {
                new_project = self.new_project(&mut errors, objectives, requester_id);
                Some(0)
            }
            (id, _) => id
                .parse::<i64>()
                .ok()
                .filter(|id| projects.iter().any(|project| project.id == *id)),
        };
        if project_id.is_none() {
            errors.add("project_id", "Choose one of the projects you manage.");
        }
        let amount = form::required_money(&mut errors, "amount", &self.amount);
        if amount == Some(0) {
            errors.add("amount", "Ask for more than nothing.");
        }
        let spend_type =
            form::required_choice::<SpendType>(&mut errors, "spend_type", &self.spend_type);
        let this_year = today().year();
        let fiscal_year = match self.fiscal_year.trim().parse::<i32>() {
            Ok(year) if (this_year - 1..=this_year + 5).contains(&year) => Some(year),
            _ => {
                errors.add(
                    "fiscal_year",
                    format!(
                        "Enter a fiscal year from {} to {}.",
                        this_year - 1,
                        this_year + 5
                    ),
                );
                None
            }
        };
        let due_date = form::required_date(&mut errors, "due_date", &self.due_date);
        if due_date.is_some_and(|due| due < today()) {
            errors.add("due_date", "The board needs a due date from today on.");
        }
        let benefits = form::required_text(&mut errors, "benefits", &self.benefits, 10_000);
        let costs = form::required_text(&mut errors, "costs", &self.costs, 10_000);
        let risks = form::bounded_text(&mut errors, "risks", &self.risks, 10_000);
        let alternatives =
            form::bounded_text(&mut errors, "alternatives", &self.alternatives, 10_000);
        errors.into_result()?;
        let heading = Heading {
            title,
            summary,
            due_date: due_date.unwrap_or_else(today),
            hide_tally: self.hide_tally.is_some(),
        };
        let budget = Budget {
            project_id: project_id.unwrap_or_default(),
            amount: amount.unwrap_or_default(),
            spend_type: spend_type.unwrap_or(SpendType::Capex),
            fiscal_year: fiscal_year.unwrap_or(this_year),
            benefits,
            costs,
            risks,
            alternatives,
        };
        Ok((heading, budget, new_project))
    }

    /// The project proposed with the request: it starts today, runs a year and reports
    /// monthly until its manager says otherwise.
    fn new_project(
        &self,
        errors: &mut FieldErrors,
        objectives: &[Objective],
        manager_id: i64,
    ) -> Option<ProjectFields> {
        let name = form::required_text(errors, "new_project_name", &self.new_project_name, 200);
        let sponsor = form::required_text(
            errors,
            "new_project_sponsor",
            &self.new_project_sponsor,
            200,
        );
        let objective_id = self
            .new_project_objective_id
            .parse::<i64>()
            .ok()
            .filter(|id| objectives.iter().any(|objective| objective.id == *id));
        if objective_id.is_none() {
            errors.add(
                "new_project_objective_id",
                "Choose the objective the project serves.",
            );
        }
        Some(ProjectFields {
            name,
            description: String::new(),
            sponsor,
            manager_id,
            objective_id: objective_id?,
            start_date: today(),
            planned_end_date: today() + Duration::days(365),
            reporting_cadence: Cadence::Monthly,
            phase: Phase::Proposed,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/request_form.html")]
pub(super) struct RequestFormPage {
    ctx: PageContext,
    form: RequestForm,
    errors: FieldErrors,
    projects: Vec<Project>,
    /// Offered for a new project proposed with the request.
    objectives: Vec<Objective>,
    spend_types: &'static [SpendType],
    rule: Rule,
}

impl RequestFormPage {
    async fn new(
        state: &AppState,
        ctx: PageContext,
        manager_id: i64,
        form: RequestForm,
    ) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        let mine = ProjectQuery {
            manager_id: Some(manager_id),
            active_only: true,
            ..ProjectQuery::all(200)
        };
        Ok(Self {
            ctx,
            form,
            errors: FieldErrors::new(),
            projects: projects::repo::projects(&mut conn, &mine).await?,
            objectives: projects::repo::list_objectives(&mut conn).await?,
            spend_types: SpendType::ALL,
            rule: state.config.rule(RequestKind::Budget),
        })
    }

    fn refused(self, errors: FieldErrors) -> Response {
        (StatusCode::UNPROCESSABLE_ENTITY, Self { errors, ..self }).into_response()
    }
}

#[derive(Deserialize)]
pub(super) struct NewQuery {
    project: Option<i64>,
}

/// `GET /manage/requests/new`
pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Query(query): Query<NewQuery>,
) -> AppResult<RequestFormPage> {
    let form = RequestForm {
        project_id: query.project.map(|id| id.to_string()).unwrap_or_default(),
        spend_type: SpendType::Capex.as_str().to_owned(),
        fiscal_year: today().year().to_string(),
        due_date: (today() + Duration::days(14)).to_string(),
        ..RequestForm::default()
    };
    RequestFormPage::new(&state, ctx, user.id, form).await
}

/// `POST /manage/requests`: files a draft, or files and submits it.
pub(super) async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<RequestForm>,
) -> AppResult<Response> {
    let page = RequestFormPage::new(&state, ctx, user.id, form).await?;
    let (heading, mut budget, new_project) =
        match page
            .form
            .validate(&page.projects, Some(&page.objectives), user.id)
        {
            Ok(valid) => valid,
            Err(errors) => return Ok(page.refused(errors)),
        };
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    if let Some(fields) = new_project {
        budget.project_id = projects::repo::create_project(&mut tx, &fields).await?;
        audit
            .record(
                &mut tx,
                audit::Entry::new(
                    "project.created",
                    "project",
                    Some(budget.project_id.to_string()),
                )
                .after(json!({ "proposed_with_request": true, "project": fields })),
            )
            .await?;
    }
    let submit = page.form.action == "submit";
    let filing = Filing {
        heading,
        project_id: Some(budget.project_id),
        subject: Subject::Budget(budget),
        rule: page.rule,
        submit,
    };
    let filed = match filing::file(&mut tx, &filing, &user, today(), &audit).await {
        Ok(filed) => filed,
        Err(error) => return refused(&session, error, "/manage/requests").await,
    };
    let (id, reference) = (filed.id, filed.reference);
    let path = format!("/manage/requests/{id}");
    if submit {
        notices::request_opened(&mut tx, &state.config, id).await?;
    }
    let message = if submit {
        format!("{reference} is open for the board's votes.")
    } else {
        format!("{reference} is saved as a draft. Submit it when it is ready.")
    };
    commit_and_redirect(tx, &session, message, &path).await
}

#[derive(Template, WebTemplate)]
#[template(path = "approvals/manage_request.html")]
pub(super) struct ManageRequestPage {
    ctx: PageContext,
    view: RequestView,
    form: RequestForm,
    errors: FieldErrors,
    projects: Vec<Project>,
    /// Empty: a filed request stays with existing projects.
    objectives: Vec<Objective>,
    spend_types: &'static [SpendType],
}

async fn own_request(state: &AppState, user_id: i64, id: i64) -> AppResult<Request> {
    let mut conn = state.pool.acquire().await?;
    let request = repo::get_request(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if request.requester_id == user_id {
        Ok(request)
    } else {
        Err(AppError::Forbidden(format!(
            "{} was filed by {}. Only its requester manages it; the board reads it under Board oversight.",
            request.reference, request.requester_name
        )))
    }
}

async fn manage_page(
    state: &AppState,
    ctx: PageContext,
    user: &crate::web::CurrentUser,
    request: Request,
    form: Option<RequestForm>,
) -> AppResult<ManageRequestPage> {
    let form = form.unwrap_or_else(|| RequestForm::from_request(&request));
    let form_page = RequestFormPage::new(state, ctx, user.id, form).await?;
    let mut conn = state.pool.acquire().await?;
    let view = RequestView::load(&mut conn, request, user, Area::Manage).await?;
    Ok(ManageRequestPage {
        ctx: form_page.ctx,
        view,
        form: form_page.form,
        errors: FieldErrors::new(),
        projects: form_page.projects,
        objectives: Vec::new(),
        spend_types: SpendType::ALL,
    })
}

/// `GET /manage/requests/{id}`: where the request stands, and its form while it is open.
pub(super) async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<ManageRequestPage> {
    let request = own_request(&state, user.id, id).await?;
    manage_page(&state, ctx, &user, request, None).await
}

/// `POST /manage/requests/{id}`: saves changes (setting aside votes on an open request),
/// or submits a draft.
pub(super) async fn save(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<RequestForm>,
) -> AppResult<Response> {
    let request = own_request(&state, user.id, id).await?;
    let path = format!("/manage/requests/{id}");
    let page = manage_page(&state, ctx, &user, request, Some(form)).await?;
    // An existing request keeps to existing projects.
    let (heading, budget) = match page.form.validate(&page.projects, None, user.id) {
        Ok((heading, budget, _)) => (heading, budget),
        Err(errors) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                ManageRequestPage { errors, ..page },
            )
                .into_response());
        }
    };
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    let changed = engine::change(
        &mut tx,
        id,
        page.form.version,
        &heading,
        &budget,
        &user,
        &audit,
    );
    let set_aside = match changed.await {
        Ok(set_aside) => set_aside,
        Err(EngineError::Refused(Refusal::Stale)) => {
            let mut errors = FieldErrors::new();
            errors.add("title", "The request changed while you were editing it; what you typed is kept. Check the request above and save again.");
            let mut page = ManageRequestPage { errors, ..page };
            page.form.version = page.view.request.version;
            return Ok((StatusCode::CONFLICT, page).into_response());
        }
        Err(error) => return refused(&session, error, &path).await,
    };
    notices::votes_set_aside(&mut tx, &state.config, id, &set_aside).await?;
    if page.form.action == "submit" {
        if let Err(error) = engine::open(&mut tx, id, &user, &audit).await {
            return refused(&session, error, &path).await;
        }
        notices::request_opened(&mut tx, &state.config, id).await?;
    }
    let message = match (page.form.action.as_str(), set_aside.len()) {
        ("submit", _) => "The request is open for the board's votes.".to_owned(),
        (_, 0) => "The request has been saved.".to_owned(),
        (_, n) => format!(
            "The request has been changed: {n} vote(s) cast on the earlier version were set aside, and the voters see that they must vote again."
        ),
    };
    commit_and_redirect(tx, &session, message, &path).await
}

/// `POST /manage/requests/{id}/withdraw`
pub(super) async fn withdraw(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let path = format!("/manage/requests/{id}");
    let audit = Context::for_request(&user, &meta);
    let mut tx = state.pool.begin().await?;
    if let Err(error) = engine::withdraw(&mut tx, id, &user, &audit).await {
        return refused(&session, error, &path).await;
    }
    commit_and_redirect(tx, &session, "The request has been withdrawn.", &path).await
}

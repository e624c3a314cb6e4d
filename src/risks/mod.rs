//! The risk register. IT managers keep it under `/manage/risks` (ratings with their history,
//! actions, asking the board to accept a risk above appetite); the board sets the appetite
//! per category and watches the heat maps, exceptions, overdue reviews and actions, and the
//! movement since the quarter end under `/board/risks`. The register can be read as it
//! stood at any past date.

pub mod model;
pub mod repo;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tower_sessions::Session;

use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::projects::repo::{Objective, Project, ProjectQuery};
use crate::users::{Role, repo::PersonOption};
use crate::web::form::{self, FieldErrors, Form};
use crate::web::pagination::{KeysetPage, fetch_limit, filter_query};
use crate::web::route_list::Routes;
use crate::web::{
    AppError, AppResult, AppState, Area, BoardMember, ItManager, PageContext, RequestMeta, Viewer,
    commit_and_redirect, refuse_and_redirect,
};
use model::{HeatMap, IMPACT, LIKELIHOOD, RiskStatus, Treatment};
use repo::{Assessment, Category, Risk, RiskFields, RiskQuery};

/// Routes under `/manage` (the router requires the `it_manager` role).
pub fn manage_routes() -> Routes {
    Routes::new()
        .route("/risks", get(list).post(create))
        .route("/risks/new", get(new_page))
        .route("/risks/as-of", get(as_of))
        .route("/risks/categories", get(categories_page).post(add_category))
        .route("/risks/categories/{id}", post(rename_category))
        .route("/risks/{id}", get(detail))
        .route("/risks/{id}/edit", get(edit_page).post(update))
        .route("/risks/{id}/actions", post(add_action))
        .route("/risks/{id}/acceptance", post(ask_acceptance))
        .route("/risks/{id}/actions/{action}/done", post(complete_action))
}

/// Routes under `/audit` (the router requires the `auditor` role): the register, read only.
pub fn auditor_routes() -> Routes {
    Routes::new()
        .route("/risks", get(list))
        .route("/risks/as-of", get(as_of))
        .route("/risks/{id}", get(detail))
}

/// Routes under `/board` (the router requires the `board` role).
pub fn board_routes() -> Routes {
    Routes::new()
        .route("/risks", get(board_overview))
        .route("/risks/register", get(list))
        .route("/risks/as-of", get(as_of))
        .route("/risks/appetite/{id}", post(set_appetite))
        .route("/risks/{id}", get(detail))
}

const PAGE_SIZE: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RegisterQuery {
    category: Option<String>,
    status: Option<String>,
    above: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    /// A heat-map cell: `likelihood`, `impact` and `residual` (`true`/`false`).
    l: Option<i16>,
    i: Option<i16>,
    residual: Option<bool>,
    after: Option<String>,
    after_ref: Option<String>,
}

impl RegisterQuery {
    fn to_query(&self) -> RiskQuery {
        let chosen = |value: &Option<String>| value.as_deref().and_then(form::optional);
        RiskQuery {
            category_id: chosen(&self.category).and_then(|id| id.parse().ok()),
            status: chosen(&self.status).filter(|s| s.parse::<RiskStatus>().is_ok()),
            above_appetite: self.above.as_deref() == Some("1"),
            cell: match (self.l, self.i) {
                (Some(l), Some(i)) if (1..=5).contains(&l) && (1..=5).contains(&i) => {
                    Some((l, i, self.residual.unwrap_or(true)))
                }
                _ => None,
            },
            text: chosen(&self.q),
            sort: if self.sort.as_deref() == Some("residual") {
                "residual"
            } else {
                "reference"
            },
            after: self.after.clone().zip(self.after_ref.clone()),
            limit: fetch_limit(PAGE_SIZE),
            ..RiskQuery::default()
        }
    }

    fn without_position(&self) -> String {
        let cell = |value: Option<i16>| value.map(|v| v.to_string());
        filter_query(&[
            ("category", &self.category),
            ("status", &self.status),
            ("above", &self.above),
            ("q", &self.q),
            ("sort", &self.sort),
            ("l", &cell(self.l)),
            ("i", &cell(self.i)),
            ("residual", &self.residual.map(|r| r.to_string())),
        ])
    }

    fn is(&self, field: &str, value: &str) -> bool {
        let current = match field {
            "category" => &self.category,
            "status" => &self.status,
            "above" => &self.above,
            _ => &self.sort,
        };
        current.as_deref() == Some(value)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/list.html")]
pub(crate) struct RegisterPage {
    ctx: PageContext,
    query: RegisterQuery,
    risks: Vec<Risk>,
    next_page: Option<String>,
    categories: Vec<Category>,
    area: Area,
    today: time::Date,
}

impl RegisterPage {
    /// Where the register of this area lists (the board's `/board/risks` is its overview).
    fn list_path(&self) -> String {
        if self.area.is_board() {
            "/board/risks/register".to_owned()
        } else {
            format!("{}/risks", self.area)
        }
    }
}

async fn register_page(
    state: &AppState,
    ctx: PageContext,
    query: RegisterQuery,
    area: Area,
) -> AppResult<RegisterPage> {
    let mut conn = state.pool.acquire().await?;
    let rows = repo::find_risks(&mut conn, &query.to_query()).await?;
    let page = KeysetPage::from_rows(rows, PAGE_SIZE, |row| {
        (row.sort_key.clone(), row.risk.reference.clone())
    });
    let next_page = page.next.map(|(key, reference)| {
        let mut next = form_urlencoded::Serializer::new(query.without_position());
        next.append_pair("after", &key)
            .append_pair("after_ref", &reference);
        next.finish()
    });
    Ok(RegisterPage {
        ctx,
        risks: page.items.into_iter().map(|row| row.risk).collect(),
        next_page,
        categories: repo::categories(&mut conn).await?,
        query,
        area,
        today: today(),
    })
}

/// `GET {area}/risks` (the board's at `/board/risks/register`): the register, paged.
async fn list(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Query(query): Query<RegisterQuery>,
) -> AppResult<RegisterPage> {
    register_page(&state, ctx, query, viewer.area).await
}

/// The risk form, as typed.
#[derive(Debug, Default, Deserialize)]
struct RiskForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category_id: String,
    #[serde(default)]
    owner_id: String,
    /// Repeated fields: every project and objective chosen.
    #[serde(default)]
    project_ids: Vec<String>,
    #[serde(default)]
    objective_ids: Vec<String>,
    #[serde(default)]
    likelihood: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    controls: String,
    #[serde(default)]
    residual_likelihood: String,
    #[serde(default)]
    residual_impact: String,
    #[serde(default)]
    treatment: String,
    #[serde(default)]
    treatment_plan: String,
    #[serde(default)]
    next_review_date: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    version: i32,
}

/// What the form offers to choose from.
struct Choices {
    categories: Vec<Category>,
    owners: Vec<PersonOption>,
    projects: Vec<Project>,
    objectives: Vec<Objective>,
}

impl RiskForm {
    fn from_risk(risk: &Risk) -> Self {
        let ids = |values: &[i64]| values.iter().map(i64::to_string).collect();
        Self {
            title: risk.title.clone(),
            description: risk.description.clone(),
            category_id: risk.category_id.to_string(),
            owner_id: risk.owner_id.to_string(),
            project_ids: ids(&risk.project_ids),
            objective_ids: ids(&risk.objective_ids),
            likelihood: risk.likelihood.to_string(),
            impact: risk.impact.to_string(),
            controls: risk.controls.clone(),
            residual_likelihood: risk.residual_likelihood.to_string(),
            residual_impact: risk.residual_impact.to_string(),
            treatment: risk.treatment.as_str().to_owned(),
            treatment_plan: risk.treatment_plan.clone(),
            next_review_date: risk.next_review_date.to_string(),
            status: risk.status.as_str().to_owned(),
            version: risk.version,
        }
    }

    fn validate(&self, choices: &Choices) -> Result<RiskFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let description = form::bounded_text(&mut errors, "description", &self.description, 10_000);
        let pick = |errors: &mut FieldErrors,
                    field: &'static str,
                    text: &str,
                    ids: &[i64],
                    message: &str| {
            let found = text.parse::<i64>().ok().filter(|id| ids.contains(id));
            if found.is_none() {
                errors.add(field, message.to_owned());
            }
            found
        };
        let category_ids: Vec<i64> = choices.categories.iter().map(|c| c.id).collect();
        let owner_ids: Vec<i64> = choices.owners.iter().map(|o| o.id).collect();
        let category_id = pick(
            &mut errors,
            "category_id",
            &self.category_id,
            &category_ids,
            "Choose a category.",
        );
        let owner_id = pick(
            &mut errors,
            "owner_id",
            &self.owner_id,
            &owner_ids,
            "Choose who owns the risk.",
        );
        let pick_many =
            |errors: &mut FieldErrors, field: &'static str, texts: &[String], ids: Vec<i64>| {
                let mut chosen: Vec<i64> = Vec::new();
                for text in texts.iter().filter(|text| !text.trim().is_empty()) {
                    match text
                        .trim()
                        .parse::<i64>()
                        .ok()
                        .filter(|id| ids.contains(id))
                    {
                        Some(id) if !chosen.contains(&id) => chosen.push(id),
                        Some(_) => {}
                        None => errors.add(field, "Choose from the list only."),
                    }
                }
                chosen
            };
        let project_ids = pick_many(
            &mut errors,
            "project_ids",
            &self.project_ids,
            choices.projects.iter().map(|p| p.id).collect(),
        );
        let objective_ids = pick_many(
            &mut errors,
            "objective_ids",
            &self.objective_ids,
            choices.objectives.iter().map(|o| o.id).collect(),
        );
        let level = |errors: &mut FieldErrors, field: &'static str, text: &str| match text
            .trim()
            .parse::<i16>()
        {
            Ok(level) if (1..=5).contains(&level) => Some(level),
            _ => {
                errors.add(field, "Choose a level from 1 to 5.");
                None
            }
        };
        let likelihood = level(&mut errors, "likelihood", &self.likelihood);
        let impact = level(&mut errors, "impact", &self.impact);
        let residual_likelihood = level(
            &mut errors,
            "residual_likelihood",
            &self.residual_likelihood,
        );
        let residual_impact = level(&mut errors, "residual_impact", &self.residual_impact);
        if let (Some(l), Some(i), Some(rl), Some(ri)) =
            (likelihood, impact, residual_likelihood, residual_impact)
            && model::score(rl, ri) > model::score(l, i)
        {
            errors.add("residual_impact", "Controls cannot make a risk worse: the residual rating must not exceed the inherent one.");
        }
        let controls = form::bounded_text(&mut errors, "controls", &self.controls, 10_000);
        let treatment =
            form::required_choice::<Treatment>(&mut errors, "treatment", &self.treatment);
        let treatment_plan =
            form::bounded_text(&mut errors, "treatment_plan", &self.treatment_plan, 10_000);
        if treatment.is_some_and(|t| t != Treatment::Accept) && treatment_plan.is_empty() {
            errors.add(
                "treatment_plan",
                "Say how the risk is mitigated, transferred or avoided.",
            );
        }
        let next_review_date =
            form::required_date(&mut errors, "next_review_date", &self.next_review_date);
        let status = form::required_choice::<RiskStatus>(&mut errors, "status", &self.status);
        errors.into_result()?;
        Ok(RiskFields {
            title,
            description,
            category_id: category_id.unwrap_or_default(),
            owner_id: owner_id.unwrap_or_default(),
            project_ids,
            objective_ids,
            likelihood: likelihood.unwrap_or(1),
            impact: impact.unwrap_or(1),
            controls,
            residual_likelihood: residual_likelihood.unwrap_or(1),
            residual_impact: residual_impact.unwrap_or(1),
            treatment: treatment.unwrap_or(Treatment::Mitigate),
            treatment_plan,
            next_review_date: next_review_date.unwrap_or_else(today),
            status: status.unwrap_or(RiskStatus::Open),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/form.html")]
struct RiskFormPage {
    ctx: PageContext,
    risk: Option<Risk>,
    form: RiskForm,
    errors: FieldErrors,
    choices: Choices,
    stale: bool,
}

impl RiskFormPage {
    async fn new(
        state: &AppState,
        ctx: PageContext,
        risk: Option<Risk>,
        form: RiskForm,
    ) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        let choices = Choices {
            categories: repo::categories(&mut conn).await?,
            owners: crate::users::repo::active_with_role(&mut conn, Role::ItManager).await?,
            projects: crate::projects::repo::projects(&mut conn, &ProjectQuery::all(500)).await?,
            objectives: crate::projects::repo::list_objectives(&mut conn).await?,
        };
        Ok(Self {
            ctx,
            risk,
            form,
            errors: FieldErrors::new(),
            choices,
            stale: false,
        })
    }

    fn refused(self, errors: FieldErrors) -> Response {
        let status = if self.stale {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        (status, Self { errors, ..self }).into_response()
    }

    fn levels(&self) -> [(i16, &'static str, &'static str); 5] {
        std::array::from_fn(|i| (i as i16 + 1, LIKELIHOOD[i].0, LIKELIHOOD[i].1))
    }

    fn impacts(&self) -> [(i16, &'static str, &'static str); 5] {
        std::array::from_fn(|i| (i as i16 + 1, IMPACT[i].0, IMPACT[i].1))
    }

    fn chosen_project(&self, id: &i64) -> bool {
        self.form.project_ids.contains(&id.to_string())
    }

    fn chosen_objective(&self, id: &i64) -> bool {
        self.form.objective_ids.contains(&id.to_string())
    }
}

async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<RiskFormPage> {
    let form = RiskForm {
        owner_id: user.id.to_string(),
        treatment: Treatment::Mitigate.as_str().to_owned(),
        status: RiskStatus::Open.as_str().to_owned(),
        next_review_date: (today() + time::Duration::days(90)).to_string(),
        ..RiskForm::default()
    };
    RiskFormPage::new(&state, ctx, None, form).await
}

async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<RiskForm>,
) -> AppResult<Response> {
    let page = RiskFormPage::new(&state, ctx, None, form).await?;
    let fields = match page.form.validate(&page.choices) {
        Ok(fields) => fields,
        Err(errors) => return Ok(page.refused(errors)),
    };
    let mut tx = state.pool.begin().await?;
    let (id, reference) = repo::create(&mut tx, &fields, user.id).await?;
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new("risk.created", "risk", Some(reference.clone())).after(json!(fields)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{reference} is in the register."),
        &format!("/manage/risks/{id}"),
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/detail.html")]
struct RiskPage {
    ctx: PageContext,
    risk: Risk,
    history: Vec<Assessment>,
    actions: Vec<repo::Action>,
    /// The policies that mitigate it.
    policies: Vec<crate::policies::repo::LinkedPolicy>,
    /// Who an action can be given to.
    owners: Vec<PersonOption>,
    /// The small forms on the page, as typed, and their messages.
    action_form: ActionForm,
    acceptance_form: AcceptanceForm,
    errors: FieldErrors,
    area: Area,
    today: time::Date,
}

impl RiskPage {
    fn likelihood_name(&self, level: &i16) -> &'static str {
        LIKELIHOOD
            .get(*level as usize - 1)
            .map(|l| l.0)
            .unwrap_or("")
    }

    fn impact_name(&self, level: &i16) -> &'static str {
        IMPACT.get(*level as usize - 1).map(|l| l.0).unwrap_or("")
    }
}

async fn risk_page(state: &AppState, ctx: PageContext, id: i64, area: Area) -> AppResult<RiskPage> {
    let mut conn = state.pool.acquire().await?;
    let risk = repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    Ok(RiskPage {
        ctx,
        history: repo::history(&mut conn, id).await?,
        actions: repo::actions(&mut conn, Some(id), None, 200).await?,
        policies: crate::policies::repo::policies_for_risk(&mut conn, id).await?,
        owners: crate::users::repo::active_with_role(&mut conn, Role::ItManager).await?,
        action_form: ActionForm {
            owner_id: risk.owner_id.to_string(),
            ..ActionForm::default()
        },
        acceptance_form: AcceptanceForm::default(),
        errors: FieldErrors::new(),
        risk,
        area,
        today: today(),
    })
}

/// `GET {area}/risks/{id}`: a risk with its history, actions and policies.
async fn detail(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<RiskPage> {
    risk_page(&state, ctx, id, viewer.area).await
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<RiskFormPage> {
    let risk = {
        let mut conn = state.pool.acquire().await?;
        repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?
    };
    let form = RiskForm::from_risk(&risk);
    RiskFormPage::new(&state, ctx, Some(risk), form).await
}

async fn update(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<RiskForm>,
) -> AppResult<Response> {
    let before = {
        let mut conn = state.pool.acquire().await?;
        repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?
    };
    let page = RiskFormPage::new(&state, ctx, Some(before.clone()), form).await?;
    let fields = match page.form.validate(&page.choices) {
        Ok(fields) => fields,
        Err(errors) => return Ok(page.refused(errors)),
    };
    let mut tx = state.pool.begin().await?;
    if !repo::update(&mut tx, &before, page.form.version, &fields, user.id).await? {
        let mut page = RiskFormPage {
            stale: true,
            ..page
        };
        page.form.version = before.version;
        return Ok(page.refused(FieldErrors::new()));
    }
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new("risk.updated", "risk", Some(before.reference.clone()))
                .before(json!(before))
                .after(json!(fields)),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The risk has been saved.",
        &format!("/manage/risks/{id}"),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct ActionForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    owner_id: String,
    #[serde(default)]
    due_date: String,
}

/// `POST /manage/risks/{id}/actions`: a new action treating the risk.
async fn add_action(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> AppResult<Response> {
    let page = risk_page(&state, ctx, id, Area::Manage).await?;
    let mut errors = FieldErrors::new();
    let description = form::required_text(&mut errors, "description", &form.description, 2_000);
    let owner_id = form
        .owner_id
        .parse::<i64>()
        .ok()
        .filter(|id| page.owners.iter().any(|o| o.id == *id));
    if owner_id.is_none() {
        errors.add("owner_id", "Choose who carries the action out.");
    }
    let due_date = form::required_date(&mut errors, "due_date", &form.due_date);
    let (Some(owner_id), Some(due_date), true) = (owner_id, due_date, errors.is_empty()) else {
        let page = RiskPage {
            action_form: form,
            errors,
            ..page
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = state.pool.begin().await?;
    repo::add_action(&mut tx, id, &description, owner_id, due_date).await?;
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new(
                "risk.action_added",
                "risk",
                Some(page.risk.reference.clone()),
            )
            .after(
                json!({ "description": description, "owner_id": owner_id, "due_date": due_date }),
            ),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The action has been added.",
        &format!("/manage/risks/{id}"),
    )
    .await
}

/// `POST /manage/risks/{id}/actions/{action}/done`
async fn complete_action(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path((id, action)): Path<(i64, i64)>,
) -> AppResult<Response> {
    let back = format!("/manage/risks/{id}");
    let mut tx = state.pool.begin().await?;
    if !repo::complete_action(&mut tx, id, action).await? {
        drop(tx);
        return refuse_and_redirect(
            &session,
            "That action is already done, or belongs to another risk.",
            &back,
        )
        .await;
    }
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new("risk.action_done", "risk", Some(id.to_string()))
                .after(json!({ "action": action })),
        )
        .await?;
    commit_and_redirect(tx, &session, "The action is done.", &back).await
}

#[derive(Debug, Default, Deserialize)]
struct AcceptanceForm {
    #[serde(default)]
    justification: String,
    #[serde(default)]
    expires_on: String,
}

/// `POST /manage/risks/{id}/acceptance`: asks the board to accept the risk above its
/// appetite, on its current rating, until a date. Opens a request for the board's votes.
async fn ask_acceptance(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<AcceptanceForm>,
) -> AppResult<Response> {
    use crate::approvals::notices;
    let back = format!("/manage/risks/{id}");
    let page = risk_page(&state, ctx, id, Area::Manage).await?;
    let today = today();
    if !page.risk.is_unapproved_exception(today) {
        let message =
            "Only a risk accepted above its appetite without a valid board acceptance needs one.";
        return refuse_and_redirect(&session, message, &back).await;
    }
    let mut errors = FieldErrors::new();
    let justification =
        form::required_text(&mut errors, "justification", &form.justification, 10_000);
    let expires_on = form::required_date(&mut errors, "expires_on", &form.expires_on);
    if expires_on.is_some_and(|until| until <= today) {
        errors.add(
            "expires_on",
            "The acceptance must run until a date after today.",
        );
    }
    let Some(expires_on) = expires_on.filter(|_| errors.is_empty()) else {
        let page = RiskPage {
            acceptance_form: form,
            errors,
            ..page
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let risk = page.risk;
    let rule = state
        .config
        .rule(crate::approvals::model::RequestKind::RiskAcceptance);
    let audit = Context::new(Actor::user(&user), meta.request_id.as_deref());
    let mut tx = state.pool.begin().await?;
    let filing = acceptance_filing(rule, &risk, &justification, expires_on, today);
    let filed = match crate::approvals::filing::file(&mut tx, &filing, &user, today, &audit).await {
        Ok(filed) => filed,
        Err(error) => return crate::approvals::refused(&session, error, &back).await,
    };
    notices::request_opened(&mut tx, &state.config, filed.id).await?;
    commit_and_redirect(
        tx,
        &session,
        format!(
            "{} asks the board to accept {}.",
            filed.reference, risk.reference
        ),
        &back,
    )
    .await
}

/// The request for the board to accept `risk` above its appetite, on its current
/// rating, until `expires_on`. Used by the risk page and the demo data.
pub fn acceptance_filing(
    rule: crate::approvals::model::Rule,
    risk: &Risk,
    justification: &str,
    expires_on: time::Date,
    today: time::Date,
) -> crate::approvals::filing::Filing {
    use crate::approvals::filing::{Filing, Heading};
    use crate::approvals::subject::{RiskAcceptance, Subject};
    let acceptance = RiskAcceptance {
        risk_id: risk.id,
        risk_reference: risk.reference.clone(),
        risk_title: risk.title.clone(),
        residual_likelihood: risk.residual_likelihood,
        residual_impact: risk.residual_impact,
        appetite: risk.appetite.unwrap_or_default(),
        justification: justification.to_owned(),
        expires_on,
    };
    Filing {
        heading: Heading {
            title: format!(
                "Accept {} above appetite ({} against {})",
                risk.reference,
                risk.residual_score(),
                acceptance.appetite
            ),
            summary: String::new(),
            due_date: today + time::Duration::days(14),
            hide_tally: false,
        },
        // The first project it touches lists the request; the managers of every project
        // it touches are kept from voting by the conflicts rule.
        project_id: risk.project_ids.first().copied(),
        subject: Subject::RiskAcceptance(acceptance),
        rule,
        submit: true,
    }
}

/// One cell of a drawn heat map.
pub struct Cell {
    pub likelihood: i16,
    pub impact: i16,
    pub count: i64,
    pub band: &'static str,
}

/// A heat map laid out for the page: rows from likelihood 5 (top) to 1.
pub struct HeatMapView {
    pub title: &'static str,
    pub residual: bool,
    pub rows: Vec<(i16, &'static str, Vec<Cell>)>,
    pub total: i64,
}

impl HeatMapView {
    fn new(title: &'static str, residual: bool, map: &HeatMap) -> Self {
        let rows = (1..=5i16)
            .rev()
            .map(|l| {
                let cells = (1..=5i16)
                    .map(|i| Cell {
                        likelihood: l,
                        impact: i,
                        count: map.count(l, i),
                        band: model::band(model::score(l, i)),
                    })
                    .collect();
                (l, LIKELIHOOD[l as usize - 1].0, cells)
            })
            .collect();
        Self {
            title,
            residual,
            rows,
            total: map.total(),
        }
    }

    pub fn impact_names(&self) -> [&'static str; 5] {
        IMPACT.map(|(name, _)| name)
    }
}

#[derive(Deserialize)]
struct AsOfQuery {
    date: Option<String>,
    after: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/as_of.html")]
struct AsOfPage {
    ctx: PageContext,
    date: String,
    risks: Vec<repo::PastRisk>,
    next_after: Option<String>,
    errors: FieldErrors,
    area: Area,
}

/// The register as it stood at the end of a past day, from the rating history.
async fn as_of_page(
    state: &AppState,
    ctx: PageContext,
    query: AsOfQuery,
    area: Area,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let typed = query
        .date
        .clone()
        .unwrap_or_else(|| model::last_quarter_end(today()).to_string());
    let day = form::required_date(&mut errors, "date", &typed);
    let mut risks = Vec::new();
    let mut next_after = None;
    if let Some(day) = day {
        let mut conn = state.pool.acquire().await?;
        let rows = repo::as_of(
            &mut conn,
            model::end_of_day(day),
            query.after.as_deref(),
            fetch_limit(PAGE_SIZE),
        )
        .await?;
        let page = KeysetPage::from_rows(rows, PAGE_SIZE, |risk| risk.reference.clone());
        risks = page.items;
        next_after = page.next;
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        AsOfPage {
            ctx,
            date: typed,
            risks,
            next_after,
            errors,
            area,
        },
    )
        .into_response())
}

/// `GET {area}/risks/as-of?date=`: the register as it stood at the end of a past day.
async fn as_of(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Query(query): Query<AsOfQuery>,
) -> AppResult<Response> {
    as_of_page(&state, ctx, query, viewer.area).await
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/board.html")]
struct BoardRiskPage {
    ctx: PageContext,
    quarter_end: time::Date,
    movement: Vec<repo::Movement>,
    maps: [HeatMapView; 2],
    above: Vec<Risk>,
    /// Accepted above appetite without a valid board acceptance.
    exceptions: Vec<Risk>,
    overdue_reviews: Vec<Risk>,
    overdue_actions: Vec<repo::Action>,
    categories: Vec<Category>,
    /// A refused appetite form: its category and what was typed.
    appetite_refused: Option<(i64, String)>,
    errors: FieldErrors,
}

/// `GET /board/risks`: heat maps, risks above appetite, overdue reviews, the appetite.
async fn board_overview(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(_user): BoardMember,
) -> AppResult<BoardRiskPage> {
    BoardRiskPage::load(&state, ctx).await
}

impl BoardRiskPage {
    async fn load(state: &AppState, ctx: PageContext) -> AppResult<Self> {
        let today = today();
        let mut conn = state.pool.acquire().await?;
        let (inherent, residual) = repo::heat_maps(&mut conn).await?;
        let above = RiskQuery {
            above_appetite: true,
            sort: "residual",
            ..RiskQuery::all(500)
        };
        let mut above: Vec<Risk> = repo::find_risks(&mut conn, &above)
            .await?
            .into_iter()
            .map(|row| row.risk)
            .filter(|r| r.status() != RiskStatus::Closed)
            .collect();
        let exceptions = above
            .iter()
            .filter(|risk| risk.is_unapproved_exception(today))
            .cloned()
            .collect();
        above.truncate(25);
        let overdue = RiskQuery {
            review_due_before: Some(today),
            sort: "residual",
            ..RiskQuery::all(25)
        };
        let overdue_reviews = repo::find_risks(&mut conn, &overdue)
            .await?
            .into_iter()
            .map(|row| row.risk)
            .collect();
        let quarter_end = model::last_quarter_end(today);
        Ok(Self {
            ctx,
            exceptions,
            movement: repo::movement_since(&mut conn, model::end_of_day(quarter_end), 20).await?,
            overdue_actions: repo::actions(&mut conn, None, Some(today), 25).await?,
            quarter_end,
            maps: [
                HeatMapView::new("Inherent", false, &inherent),
                HeatMapView::new("Residual", true, &residual),
            ],
            above,
            overdue_reviews,
            categories: repo::categories(&mut conn).await?,
            appetite_refused: None,
            errors: FieldErrors::new(),
        })
    }

    /// What an appetite field shows: what was just typed into it, or the appetite.
    fn appetite_value(&self, category: &Category) -> String {
        match &self.appetite_refused {
            Some((id, typed)) if *id == category.id => typed.clone(),
            _ => category.appetite.map(|a| a.to_string()).unwrap_or_default(),
        }
    }

    fn appetite_error(&self, category: &Category) -> Option<&str> {
        match &self.appetite_refused {
            Some((id, _)) if *id == category.id => self.errors.get("appetite"),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct AppetiteForm {
    #[serde(default)]
    appetite: String,
    #[serde(default)]
    version: i32,
}

/// `POST /board/risks/appetite/{id}`: the board sets a category's appetite (empty: none).
async fn set_appetite(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
    Form(form): Form<AppetiteForm>,
) -> AppResult<Response> {
    let back = "/board/risks";
    let appetite = match form::optional(&form.appetite).map(|text| text.parse::<i16>()) {
        None => None,
        Some(Ok(value)) if (1..=25).contains(&value) => Some(value),
        Some(_) => {
            let mut page = BoardRiskPage::load(&state, ctx).await?;
            page.appetite_refused = Some((id, form.appetite));
            page.errors.add(
                "appetite",
                "The appetite is a residual score from 1 to 25 (likelihood × impact).",
            );
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    if !repo::set_appetite(&mut tx, id, form.version, appetite, user.id).await? {
        drop(tx);
        return refuse_and_redirect(
            &session,
            "The appetite changed meanwhile; nothing was saved. Check it and set it again.",
            back,
        )
        .await;
    }
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new("risk.appetite_set", "risk_category", Some(id.to_string()))
                .after(json!({ "appetite": appetite })),
        )
        .await?;
    commit_and_redirect(tx, &session, "The appetite has been set.", back).await
}

#[derive(Template, WebTemplate)]
#[template(path = "risks/categories.html")]
struct CategoriesPage {
    ctx: PageContext,
    categories: Vec<Category>,
    /// A refused form: the category (`None` for a new one) and what was typed.
    refused: Option<(Option<i64>, String)>,
    errors: FieldErrors,
}

impl CategoriesPage {
    async fn load(state: &AppState, ctx: PageContext) -> AppResult<Self> {
        let mut conn = state.pool.acquire().await?;
        Ok(Self {
            ctx,
            categories: repo::categories(&mut conn).await?,
            refused: None,
            errors: FieldErrors::new(),
        })
    }

    /// What a name field shows: what was just typed into it, or the name.
    fn name_value(&self, category: Option<&Category>) -> String {
        match (&self.refused, category) {
            (Some((refused, typed)), _) if *refused == category.map(|c| c.id) => typed.clone(),
            (_, Some(category)) => category.name.clone(),
            _ => String::new(),
        }
    }

    fn name_error(&self, category: Option<&Category>) -> Option<&str> {
        match &self.refused {
            Some((refused, _)) if *refused == category.map(|c| c.id) => self.errors.get("name"),
            _ => None,
        }
    }

    fn refused(mut self, category: Option<i64>, typed: String, message: &str) -> Response {
        self.refused = Some((category, typed));
        self.errors.add("name", message.to_owned());
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

/// `GET /manage/risks/categories`: the list the register's risks are filed under.
async fn categories_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
) -> AppResult<CategoriesPage> {
    CategoriesPage::load(&state, ctx).await
}

#[derive(Debug, Default, Deserialize)]
struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: i32,
}

const CATEGORY_TAKEN: &str = "A category already has this name.";

/// `POST /manage/risks/categories`
async fn add_category(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let name = form::required_text(&mut errors, "name", &form.name, 80);
    if let Some(message) = errors.get("name") {
        let page = CategoriesPage::load(&state, ctx).await?;
        return Ok(page.refused(None, form.name, message));
    }
    let mut tx = state.pool.begin().await?;
    let Ok(id) = repo::add_category(&mut tx, &name).await? else {
        drop(tx);
        let page = CategoriesPage::load(&state, ctx).await?;
        return Ok(page.refused(None, form.name, CATEGORY_TAKEN));
    };
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new("risk.category_added", "risk_category", Some(id.to_string()))
                .after(json!({ "name": name })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("Risks can now be filed under {name}; the board sets its appetite."),
        "/manage/risks/categories",
    )
    .await
}

/// `POST /manage/risks/categories/{id}`: renames a category (its risks follow).
async fn rename_category(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    let page = CategoriesPage::load(&state, ctx).await?;
    let Some(before) = page.categories.iter().find(|c| c.id == id).cloned() else {
        return Err(AppError::NotFound);
    };
    let mut errors = FieldErrors::new();
    let name = form::required_text(&mut errors, "name", &form.name, 80);
    if let Some(message) = errors.get("name") {
        return Ok(page.refused(Some(id), form.name, message));
    }
    let mut tx = state.pool.begin().await?;
    match repo::rename_category(&mut tx, id, form.version, &name).await? {
        Ok(()) => {}
        Err(refusal) => {
            drop(tx);
            let message = match refusal {
                repo::CategoryRefusal::NameTaken => CATEGORY_TAKEN,
                repo::CategoryRefusal::Stale => {
                    "Someone changed this category meanwhile; it is shown as it is now."
                }
            };
            return Ok(page.refused(Some(id), form.name, message));
        }
    }
    Context::new(Actor::user(&user), meta.request_id.as_deref())
        .record(
            &mut tx,
            audit::Entry::new(
                "risk.category_renamed",
                "risk_category",
                Some(id.to_string()),
            )
            .before(json!({ "name": before.name }))
            .after(json!({ "name": name })),
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        format!("{} is now called {name}.", before.name),
        "/manage/risks/categories",
    )
    .await
}

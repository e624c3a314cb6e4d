//! Recording and re-rating risks: the form, its checks, and saving with the rating
//! history.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::model::{IMPACT, LIKELIHOOD, RiskStatus, Treatment};
use super::repo::{Category, Risk, RiskFields};
use super::{model, repo};
use crate::audit::{self, Context};
use crate::common::dates::today;
use crate::projects::repo::Objective;
use crate::users::Role;
use crate::users::picker::PersonField;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::references::{ReferencesField, Register, references_of};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, ItManager, PageContext, RequestMeta, commit_and_redirect,
};

/// The risk form, as typed.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RiskForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) category_id: String,
    /// Who owns it: an IT manager's email or name.
    #[serde(default)]
    pub(super) owner: String,
    /// The projects it touches, by reference ("PRJ-0001, PRJ-0042").
    #[serde(default)]
    pub(super) projects: String,
    /// Repeated field: every objective chosen (a handful, listed).
    #[serde(default)]
    pub(super) objective_ids: Vec<String>,
    #[serde(default)]
    pub(super) likelihood: String,
    #[serde(default)]
    pub(super) impact: String,
    #[serde(default)]
    pub(super) controls: String,
    #[serde(default)]
    pub(super) residual_likelihood: String,
    #[serde(default)]
    pub(super) residual_impact: String,
    #[serde(default)]
    pub(super) treatment: String,
    #[serde(default)]
    pub(super) treatment_plan: String,
    #[serde(default)]
    pub(super) next_review_date: String,
    #[serde(default)]
    pub(super) status: String,
    #[serde(default)]
    pub(super) version: i32,
}

/// What the form offers to choose from.
pub(super) struct Choices {
    pub(super) categories: Vec<Category>,
    pub(super) owner: PersonField,
    pub(super) projects: ReferencesField,
    pub(super) objectives: Vec<Objective>,
}

impl RiskForm {
    /// The form of `risk` as it is; `projects` are the references of those it touches.
    fn from_risk(risk: &Risk, owner_email: String, projects: String) -> Self {
        let ids = |values: &[i64]| values.iter().map(i64::to_string).collect();
        Self {
            title: risk.title.clone(),
            description: risk.description.clone(),
            category_id: risk.category_id.to_string(),
            owner: owner_email,
            projects,
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
        let category_id = pick(
            &mut errors,
            "category_id",
            &self.category_id,
            &category_ids,
            "Choose a category.",
        );
        let owner_id = choices.owner.id(
            &mut errors,
            "owner",
            Role::ItManager,
            "Say who owns the risk.",
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
        let project_ids = choices
            .projects
            .ids(&mut errors, "projects", Register::Projects);
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
pub(super) struct RiskFormPage {
    pub(super) ctx: PageContext,
    pub(super) risk: Option<Risk>,
    pub(super) form: RiskForm,
    pub(super) errors: FieldErrors,
    pub(super) choices: Choices,
    pub(super) stale: bool,
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
            owner: PersonField::resolve(&mut conn, Role::ItManager, &form.owner).await?,
            projects: ReferencesField::resolve(&mut conn, Register::Projects, &form.projects)
                .await?,
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
        (form::refusal_status(self.stale), Self { errors, ..self }).into_response()
    }

    /// The form again with what was typed, saying the record changed meanwhile; it now
    /// carries `current_version`, so saving again applies it over what is there.
    fn stale(mut self, current_version: i32) -> Response {
        self.stale = true;
        self.form.version = current_version;
        self.refused(FieldErrors::new())
    }

    fn levels(&self) -> [(i16, &'static str, &'static str); 5] {
        std::array::from_fn(|i| (i as i16 + 1, LIKELIHOOD[i].0, LIKELIHOOD[i].1))
    }

    fn impacts(&self) -> [(i16, &'static str, &'static str); 5] {
        std::array::from_fn(|i| (i as i16 + 1, IMPACT[i].0, IMPACT[i].1))
    }

    fn chosen_objective(&self, id: &i64) -> bool {
        self.form.objective_ids.contains(&id.to_string())
    }
}

pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
) -> AppResult<RiskFormPage> {
    let form = RiskForm {
        owner: user.email.clone(),
        treatment: Treatment::Mitigate.as_str().to_owned(),
        status: RiskStatus::Open.as_str().to_owned(),
        next_review_date: (today() + time::Duration::days(90)).to_string(),
        ..RiskForm::default()
    };
    RiskFormPage::new(&state, ctx, None, form).await
}

pub(super) async fn create(
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
    Context::for_request(&user, &meta)
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

pub(super) async fn edit_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(_user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<RiskFormPage> {
    let (risk, owner_email, projects) = {
        let mut conn = state.pool.acquire().await?;
        let risk = repo::get(&mut conn, id).await?.ok_or(AppError::NotFound)?;
        let owner_email = crate::users::repo::email_of(&mut conn, risk.owner_id).await?;
        let projects = references_of(&mut conn, Register::Projects, &risk.project_ids).await?;
        (risk, owner_email.unwrap_or_default(), projects)
    };
    let form = RiskForm::from_risk(&risk, owner_email, projects);
    RiskFormPage::new(&state, ctx, Some(risk), form).await
}

pub(super) async fn update(
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
        return Ok(page.stale(before.version));
    }
    Context::for_request(&user, &meta)
        .record_change(
            &mut tx,
            "risk.updated",
            "risk",
            &before.reference,
            &before,
            &fields,
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

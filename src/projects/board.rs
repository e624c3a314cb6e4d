//! Governance's side of the portfolio: the dashboard, read-only projects and reports,
//! approved budgets and the strategic objectives.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use tower_sessions::Session;

use super::charts::{self, Bar};
use super::manage::ProjectDetailPage;
use super::model::{Phase, Rag};
use super::repo::{self, Objective, Project};
use super::reports::{ReportPage, ensure_board_may_read};
use super::{load_project, load_report, today};
use crate::audit::{self, Actor};
use crate::web::form::{self, FieldErrors, Form};
use crate::web::money::format_minor;
use crate::web::session::{self, FlashKind};
use crate::web::{
    AppError, AppResult, AppState, BoardMember, CurrentUser, PageContext, RequestMeta,
};

/// How many of each project's latest reports the trend shows.
const TREND_REPORTS: i64 = 8;

/// A project on the dashboard, with its RAG trend drawn.
pub struct PortfolioLine {
    pub project: Project,
    pub trend_svg: String,
    pub state_label: String,
    pub state_class: &'static str,
}

/// An objective with the budget and health of the projects behind it.
pub struct ObjectiveLine {
    pub objective: Objective,
    pub projects: usize,
    pub budget: i64,
    pub forecast: i64,
    pub red: usize,
    pub amber: usize,
    pub green: usize,
}

impl ObjectiveLine {
    pub fn budget_text(&self) -> String {
        format_minor(self.budget)
    }

    pub fn forecast_text(&self) -> String {
        format_minor(self.forecast)
    }
}

/// The portfolio's figures, computed from one row per project.
pub struct PortfolioSummary {
    pub lines: Vec<PortfolioLine>,
    pub rag_counts: Vec<(&'static str, &'static str, usize)>,
    pub phase_counts: Vec<(Phase, usize)>,
    pub total_budget: i64,
    pub total_spend: i64,
    pub total_forecast: i64,
    pub objectives: Vec<ObjectiveLine>,
    pub rag_chart: String,
    pub phase_chart: String,
    pub money_chart: String,
}

impl PortfolioSummary {
    /// Reads the portfolio in three queries, whatever its size.
    pub async fn load(conn: &mut PgConnection) -> AppResult<Self> {
        let projects = repo::all_projects(conn, None).await?;
        let trends = repo::rag_trends(conn, TREND_REPORTS).await?;
        let objectives = repo::list_objectives(conn).await?;
        Ok(Self::compute(projects, trends, objectives))
    }

    fn compute(
        projects: Vec<Project>,
        trends: Vec<repo::TrendPoint>,
        objectives: Vec<Objective>,
    ) -> Self {
        let today = today();
        let mut trend_by_project: HashMap<i64, Vec<&'static str>> = HashMap::new();
        for point in &trends {
            let class = point
                .overall_rag
                .parse::<Rag>()
                .map(rag_class)
                .unwrap_or("dot-none");
            trend_by_project
                .entry(point.project_id)
                .or_default()
                .push(class);
        }
        // Cancelled projects spend nothing more: they count with what they spent.
        let counted = |project: &&Project| project.phase() != Phase::Cancelled;
        let total_budget = projects
            .iter()
            .filter(counted)
            .map(|p| p.approved_budget)
            .sum();
        let total_spend = projects.iter().filter_map(|p| p.last_spend_to_date).sum();
        let total_forecast = projects
            .iter()
            .filter(counted)
            .map(|p| p.last_forecast.unwrap_or(p.approved_budget))
            .sum();

        let active: Vec<&Project> = projects
            .iter()
            .filter(|p| !matches!(p.phase(), Phase::Closed | Phase::Cancelled))
            .collect();
        let count_rag = |rag: Option<Rag>| active.iter().filter(|p| p.rag() == rag).count();
        let rag_counts = vec![
            ("Red", "bar-red", count_rag(Some(Rag::Red))),
            ("Amber", "bar-amber", count_rag(Some(Rag::Amber))),
            ("Green", "bar-green", count_rag(Some(Rag::Green))),
            ("No report yet", "bar-none", count_rag(None)),
        ];
        let phase_counts: Vec<(Phase, usize)> = Phase::ALL
            .iter()
            .map(|phase| {
                (
                    *phase,
                    projects.iter().filter(|p| p.phase() == *phase).count(),
                )
            })
            .collect();

        let objectives = objectives
            .into_iter()
            .map(|objective| {
                let behind: Vec<&Project> = projects
                    .iter()
                    .filter(|p| p.objective_id == objective.id && counted(p))
                    .collect();
                let count = |rag| behind.iter().filter(|p| p.rag() == Some(rag)).count();
                ObjectiveLine {
                    projects: behind.len(),
                    budget: behind.iter().map(|p| p.approved_budget).sum(),
                    forecast: behind
                        .iter()
                        .map(|p| p.last_forecast.unwrap_or(p.approved_budget))
                        .sum(),
                    red: count(Rag::Red),
                    amber: count(Rag::Amber),
                    green: count(Rag::Green),
                    objective,
                }
            })
            .collect();

        let rag_chart = charts::bar_chart(
            "Active projects by latest overall RAG",
            &rag_counts
                .iter()
                .map(|(label, class, count)| Bar {
                    label: (*label).to_owned(),
                    value: *count as i64,
                    class,
                    value_text: count.to_string(),
                })
                .collect::<Vec<_>>(),
        );
        let phase_chart = charts::bar_chart(
            "Projects by phase",
            &phase_counts
                .iter()
                .map(|(phase, count)| Bar {
                    label: phase.label().to_owned(),
                    value: *count as i64,
                    class: "bar-phase",
                    value_text: count.to_string(),
                })
                .collect::<Vec<_>>(),
        );
        let money_chart = charts::bar_chart(
            "Approved budget, spend to date and forecast at completion",
            &[
                Bar {
                    label: "Approved".into(),
                    value: total_budget,
                    class: "bar-budget",
                    value_text: format_minor(total_budget),
                },
                Bar {
                    label: "Spent to date".into(),
                    value: total_spend,
                    class: "bar-spend",
                    value_text: format_minor(total_spend),
                },
                Bar {
                    label: "Forecast".into(),
                    value: total_forecast,
                    class: if total_forecast > total_budget {
                        "bar-red"
                    } else {
                        "bar-forecast"
                    },
                    value_text: format_minor(total_forecast),
                },
            ],
        );

        let lines = projects
            .into_iter()
            .map(|project| {
                let dots = trend_by_project.remove(&project.id).unwrap_or_default();
                let state = project.reporting_state(today);
                PortfolioLine {
                    trend_svg: charts::rag_dots(
                        &format!(
                            "RAG over the last {} reports of {}",
                            dots.len(),
                            project.reference
                        ),
                        &dots,
                    ),
                    state_label: state.label(),
                    state_class: state.css_class(),
                    project,
                }
            })
            .collect();

        Self {
            lines,
            rag_counts,
            phase_counts,
            total_budget,
            total_spend,
            total_forecast,
            objectives,
            rag_chart,
            phase_chart,
            money_chart,
        }
    }

    pub fn variance(&self) -> i64 {
        self.total_forecast - self.total_budget
    }

    pub fn variance_text(&self) -> String {
        let variance = self.variance();
        if variance > 0 {
            format!("+{}", format_minor(variance))
        } else {
            format_minor(variance)
        }
    }

    pub fn money(&self, cents: &i64) -> String {
        format_minor(*cents)
    }

    /// Projects whose reporting is stale or late, for the board's attention.
    pub fn overdue(&self) -> Vec<&PortfolioLine> {
        let today = today();
        self.lines
            .iter()
            .filter(|line| line.project.reporting_state(today).is_overdue())
            .collect()
    }

    /// "Decisions needed from the board", from each project's latest report.
    pub fn decisions_needed(&self) -> Vec<&PortfolioLine> {
        self.lines
            .iter()
            .filter(|line| {
                line.project
                    .last_decisions_needed
                    .as_deref()
                    .is_some_and(|text| !text.trim().is_empty())
            })
            .collect()
    }

    pub fn project_count(&self) -> usize {
        self.lines.len()
    }
}

fn rag_class(rag: Rag) -> &'static str {
    match rag {
        Rag::Red => "dot-red",
        Rag::Amber => "dot-amber",
        Rag::Green => "dot-green",
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/portfolio.html")]
pub(super) struct PortfolioPage {
    ctx: PageContext,
    summary: PortfolioSummary,
    currency: String,
    today: time::Date,
}

/// `GET /board/portfolio`
pub(super) async fn portfolio(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(_user): BoardMember,
) -> AppResult<PortfolioPage> {
    let mut conn = state.pool.acquire().await?;
    Ok(PortfolioPage {
        ctx,
        summary: PortfolioSummary::load(&mut conn).await?,
        currency: state.config.currency.clone(),
        today: today(),
    })
}

/// `GET /board/projects/{id}`: the project as the board reads it.
pub(super) async fn project(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
) -> AppResult<ProjectDetailPage> {
    ProjectDetailPage::load(&state, ctx, &user, id, "/board").await
}

#[derive(Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    approved_budget: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    version: i32,
}

/// `POST /board/projects/{id}/budget`: sets the approved budget (approving a proposed
/// project). Until budget requests arrive, the board decides it here directly.
pub(super) async fn set_budget(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
    Form(form): Form<BudgetForm>,
) -> AppResult<Response> {
    let before = load_project(&state, id).await?;
    let mut errors = FieldErrors::new();
    let budget = form::required_money(&mut errors, "approved_budget", &form.approved_budget);
    let reason = form::required_text(&mut errors, "reason", &form.reason, 2_000);
    if matches!(before.phase(), Phase::Closed | Phase::Cancelled) {
        errors.add(
            "approved_budget",
            "The project is closed: its budget no longer changes.",
        );
    }
    let Some(budget) = budget.filter(|_| errors.is_empty()) else {
        return budget_refused(
            &state,
            ctx,
            &user,
            id,
            &form,
            errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let mut tx = state.pool.begin().await?;
    if !repo::set_budget(&mut tx, id, form.version, budget, &reason, user.id).await? {
        let mut errors = FieldErrors::new();
        errors.add(
            "approved_budget",
            "The project changed while you were deciding; check it above and decide again.",
        );
        drop(tx);
        return budget_refused(&state, ctx, &user, id, &form, errors, StatusCode::CONFLICT).await;
    }
    let after = repo::get_project(&mut tx, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new("project.budget_set", "project", Some(after.reference.clone()))
            .before(json!({ "approved_budget": before.approved_budget, "phase": before.phase }))
            .after(json!({ "approved_budget": after.approved_budget, "phase": after.phase, "reason": reason })),
    )
    .await?;
    tx.commit().await?;
    session::push_flash(
        &session,
        FlashKind::Success,
        format!(
            "The approved budget of {} is now {}.",
            after.reference,
            format_minor(after.approved_budget)
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/board/projects/{id}")).into_response())
}

/// The project page again, with the budget form's input and messages.
async fn budget_refused(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    id: i64,
    form: &BudgetForm,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut page = ProjectDetailPage::load(state, ctx, user, id, "/board").await?;
    page.budget_errors = errors;
    page.budget_input = form.approved_budget.clone();
    page.budget_reason = form.reason.clone();
    Ok((status, page).into_response())
}

/// `GET /board/reports/{id}`: a submitted report, read-only.
pub(super) async fn report(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(_user): BoardMember,
    Path(id): Path<i64>,
) -> AppResult<ReportPage> {
    let report = load_report(&state, id).await?;
    ensure_board_may_read(&report)?;
    let project = load_project(&state, report.project_id).await?;
    Ok(ReportPage {
        ctx,
        project,
        report,
        area: "/board",
        can_correct: false,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ObjectiveForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    version: i32,
}

impl ObjectiveForm {
    fn validate(&self) -> Result<(String, String), FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = form::required_text(&mut errors, "title", &self.title, 200);
        let description = form::bounded_text(&mut errors, "description", &self.description, 5_000);
        errors.into_result().map(|()| (title, description))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/objectives.html")]
pub(super) struct ObjectivesPage {
    ctx: PageContext,
    summary: PortfolioSummary,
    form: ObjectiveForm,
    errors: FieldErrors,
}

/// `GET /board/objectives`: the objectives with what is behind each, and a form for a new one.
pub(super) async fn objectives(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(_user): BoardMember,
) -> AppResult<ObjectivesPage> {
    let mut conn = state.pool.acquire().await?;
    Ok(ObjectivesPage {
        ctx,
        summary: PortfolioSummary::load(&mut conn).await?,
        form: ObjectiveForm::default(),
        errors: FieldErrors::new(),
    })
}

pub(super) async fn create_objective(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Form(form): Form<ObjectiveForm>,
) -> AppResult<Response> {
    let (title, description) = match form.validate() {
        Ok(valid) => valid,
        Err(errors) => {
            let mut conn = state.pool.acquire().await?;
            let page = ObjectivesPage {
                ctx,
                summary: PortfolioSummary::load(&mut conn).await?,
                form,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    let objective = repo::create_objective(&mut tx, &title, &description).await?;
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "objective.created",
            "objective",
            Some(objective.reference.clone()),
        )
        .after(serde_json::to_value(&objective).unwrap_or_default()),
    )
    .await?;
    tx.commit().await?;
    session::push_flash(
        &session,
        FlashKind::Success,
        format!("{} has been added.", objective.reference),
    )
    .await?;
    Ok(Redirect::to("/board/objectives").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/objective_form.html")]
pub(super) struct ObjectivePage {
    ctx: PageContext,
    objective: Objective,
    form: ObjectiveForm,
    errors: FieldErrors,
    stale: bool,
}

async fn find_objective(state: &AppState, id: i64) -> AppResult<Objective> {
    let mut conn = state.pool.acquire().await?;
    repo::get_objective(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// `GET /board/objectives/{id}`
pub(super) async fn objective_page(
    State(state): State<AppState>,
    ctx: PageContext,
    BoardMember(_user): BoardMember,
    Path(id): Path<i64>,
) -> AppResult<ObjectivePage> {
    let objective = find_objective(&state, id).await?;
    Ok(ObjectivePage {
        ctx,
        form: ObjectiveForm {
            title: objective.title.clone(),
            description: objective.description.clone(),
            version: objective.version,
        },
        objective,
        errors: FieldErrors::new(),
        stale: false,
    })
}

pub(super) async fn update_objective(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    BoardMember(user): BoardMember,
    Path(id): Path<i64>,
    Form(form): Form<ObjectiveForm>,
) -> AppResult<Response> {
    let before = find_objective(&state, id).await?;
    let (title, description) = match form.validate() {
        Ok(valid) => valid,
        Err(errors) => {
            let page = ObjectivePage {
                ctx,
                objective: before,
                form,
                errors,
                stale: false,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let mut tx = state.pool.begin().await?;
    let Some(after) =
        repo::update_objective(&mut tx, id, form.version, &title, &description).await?
    else {
        let page = ObjectivePage {
            ctx,
            objective: before,
            form,
            errors: FieldErrors::new(),
            stale: true,
        };
        return Ok((StatusCode::CONFLICT, page).into_response());
    };
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "objective.updated",
            "objective",
            Some(after.reference.clone()),
        )
        .before(serde_json::to_value(&before).unwrap_or_default())
        .after(serde_json::to_value(&after).unwrap_or_default()),
    )
    .await?;
    tx.commit().await?;
    session::push_flash(
        &session,
        FlashKind::Success,
        "The objective has been saved.",
    )
    .await?;
    Ok(Redirect::to("/board/objectives").into_response())
}

//! Governance's side of the portfolio: the dashboard, read-only projects and reports,
//! approved budgets and the strategic objectives.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::PgConnection;

use super::charts::{self, Bar};
use super::model::{Phase, Rag, latest_due_period_ends};
use super::repo::{self, Objective, Project, ProjectOrder, ProjectQuery};
use super::reports::{ReportPage, ensure_board_may_read};
use super::{load_project, load_report};
use crate::audit::{self, Actor, Context};
use crate::common::dates::today;
use crate::common::format::format_minor;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::read_cache::{FiguresKey, PageFigures};
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, Area, BoardMember, PageContext, RequestMeta, Viewer,
    commit_and_redirect,
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
    pub projects: i64,
    pub budget: i64,
    pub forecast: i64,
    pub red: i64,
    pub amber: i64,
    pub green: i64,
}

impl ObjectiveLine {
    pub fn budget_text(&self) -> String {
        format_minor(self.budget)
    }

    pub fn forecast_text(&self) -> String {
        format_minor(self.forecast)
    }
}

/// How many projects the dashboard lists by name in each section; the figures always
/// cover the whole portfolio.
const ATTENTION_LINES: i64 = 25;
const OVERDUE_LINES: i64 = 50;
const ASKING_LINES: i64 = 30;

/// The portfolio's figures and the projects that need the board's eyes. Reads a fixed
/// number of queries, whatever the size of the portfolio: totals come from aggregates,
/// named projects from bounded lists.
pub struct PortfolioSummary {
    /// Active projects, worst latest RAG first.
    pub attention: Vec<PortfolioLine>,
    /// Projects whose report for the latest due period is missing.
    pub overdue: Vec<PortfolioLine>,
    /// Projects whose latest report asks the board for a decision.
    pub asking: Vec<Project>,
    pub project_count: i64,
    pub rag_counts: Vec<(&'static str, &'static str, i64)>,
    pub phase_counts: Vec<(Phase, i64)>,
    pub total_budget: i64,
    pub total_spend: i64,
    pub total_forecast: i64,
    pub objectives: Vec<ObjectiveLine>,
    pub rag_chart: String,
    pub phase_chart: String,
    pub money_chart: String,
}

/// How much of the portfolio a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The figures and the projects asking the board or late (the board's home).
    Headline,
    /// Also the projects needing attention with their RAG trends, and the objectives.
    Full,
}

impl PortfolioSummary {
    pub async fn load(conn: &mut PgConnection, detail: Detail) -> AppResult<Self> {
        let today = today();
        let full = detail == Detail::Full;
        let cells = repo::portfolio_cells(conn).await?;
        let (objectives, objective_cells) = if full {
            (
                repo::list_objectives(conn).await?,
                repo::objective_cells(conn).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let attention = ProjectQuery {
            active_only: true,
            order: ProjectOrder::Rag,
            ..ProjectQuery::all(ATTENTION_LINES)
        };
        let overdue = ProjectQuery {
            overdue: Some(latest_due_period_ends(today)),
            ..ProjectQuery::all(OVERDUE_LINES)
        };
        let asking = ProjectQuery {
            active_only: true,
            asking_board: true,
            ..ProjectQuery::all(ASKING_LINES)
        };
        let [attention, overdue, asking] = if full {
            repo::project_lists(conn, [&attention, &overdue, &asking]).await?
        } else {
            let [overdue, asking] = repo::project_lists(conn, [&overdue, &asking]).await?;
            [Vec::new(), overdue, asking]
        };
        let trends = if full {
            let shown: Vec<i64> = attention.iter().chain(&overdue).map(|p| p.id).collect();
            repo::rag_trends(conn, &shown, TREND_REPORTS).await?
        } else {
            Vec::new()
        };

        let mut dots: HashMap<i64, Vec<&'static str>> = HashMap::new();
        for point in &trends {
            let class = rag_class(point.overall_rag);
            dots.entry(point.project_id).or_default().push(class);
        }
        let line = |project: Project| {
            let state = project.reporting_state(today);
            let project_dots = dots.get(&project.id).cloned().unwrap_or_default();
            PortfolioLine {
                trend_svg: charts::rag_dots(
                    &format!(
                        "RAG over the last {} reports of {}",
                        project_dots.len(),
                        project.reference
                    ),
                    &project_dots,
                ),
                state_label: state.label(),
                state_class: state.css_class(),
                project,
            }
        };

        let sum = |keep: &dyn Fn(&repo::PortfolioCell) -> bool,
                   value: &dyn Fn(&repo::PortfolioCell) -> i64| {
            cells
                .iter()
                .filter(|cell| keep(cell))
                .map(value)
                .sum::<i64>()
        };
        // Cancelled projects spend nothing more: out of budget and forecast.
        let counted = |cell: &repo::PortfolioCell| cell.phase != Phase::Cancelled;
        let active =
            |cell: &repo::PortfolioCell| !matches!(cell.phase, Phase::Closed | Phase::Cancelled);
        let total_budget = sum(&counted, &|c| c.budget);
        let total_spend = sum(&|_| true, &|c| c.spend);
        let total_forecast = sum(&counted, &|c| c.forecast);
        let active_with = |rag: Option<Rag>| sum(&|c| active(c) && c.rag == rag, &|c| c.projects);
        let rag_counts = vec![
            ("Red", "bar-red", active_with(Some(Rag::Red))),
            ("Amber", "bar-amber", active_with(Some(Rag::Amber))),
            ("Green", "bar-green", active_with(Some(Rag::Green))),
            ("No report yet", "bar-none", active_with(None)),
        ];
        let phase_counts: Vec<(Phase, i64)> = Phase::ALL
            .iter()
            .map(|phase| (*phase, sum(&|c| c.phase == *phase, &|c| c.projects)))
            .collect();

        let objectives = objectives
            .into_iter()
            .map(|objective| {
                let of_it = || {
                    objective_cells
                        .iter()
                        .filter(|c| c.objective_id == objective.id)
                };
                let count = |rag: Rag| {
                    of_it()
                        .filter(|c| c.rag == Some(rag))
                        .map(|c| c.projects)
                        .sum()
                };
                ObjectiveLine {
                    projects: of_it().map(|c| c.projects).sum(),
                    budget: of_it().map(|c| c.budget).sum(),
                    forecast: of_it().map(|c| c.forecast).sum(),
                    red: count(Rag::Red),
                    amber: count(Rag::Amber),
                    green: count(Rag::Green),
                    objective,
                }
            })
            .collect();

        Ok(Self {
            rag_chart: charts::bar_chart(
                "Active projects by latest overall RAG",
                &rag_counts
                    .iter()
                    .map(|(label, class, count)| Bar::count(label, *count, class))
                    .collect::<Vec<_>>(),
            ),
            phase_chart: charts::bar_chart(
                "Projects by phase",
                &phase_counts
                    .iter()
                    .map(|(phase, count)| Bar::count(phase.label(), *count, "bar-phase"))
                    .collect::<Vec<_>>(),
            ),
            money_chart: charts::bar_chart(
                "Approved budget, spend to date and forecast at completion",
                &[
                    Bar::money("Approved", total_budget, "bar-budget"),
                    Bar::money("Spent to date", total_spend, "bar-spend"),
                    Bar::money(
                        "Forecast",
                        total_forecast,
                        if total_forecast > total_budget {
                            "bar-red"
                        } else {
                            "bar-forecast"
                        },
                    ),
                ],
            ),
            project_count: sum(&|_| true, &|c| c.projects),
            attention: attention.into_iter().map(line).collect(),
            overdue: overdue.into_iter().map(line).collect(),
            asking,
            rag_counts,
            phase_counts,
            total_budget,
            total_spend,
            total_forecast,
            objectives,
        })
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
    summary: Arc<PortfolioSummary>,
    currency: String,
    today: time::Date,
}

/// `GET /board/portfolio`
pub(super) async fn portfolio(
    State(state): State<AppState>,
    ctx: PageContext,
    figures: PageFigures,
    BoardMember(_user): BoardMember,
) -> AppResult<PortfolioPage> {
    let summary = figures
        .load(FiguresKey::shared("portfolio"), async {
            PortfolioSummary::load(&mut *state.pool.acquire().await?, Detail::Full).await
        })
        .await?;
    Ok(PortfolioPage {
        ctx,
        summary,
        currency: state.config.currency.clone(),
        today: today(),
    })
}

/// `GET /board/reports/{id}`, `GET /audit/reports/{id}`: a submitted report, read-only
/// (drafts stay the manager's).
pub(super) async fn report(
    State(state): State<AppState>,
    ctx: PageContext,
    viewer: Viewer,
    Path(id): Path<i64>,
) -> AppResult<ReportPage> {
    read_only_report(&state, ctx, id, viewer.area).await
}

async fn read_only_report(
    state: &AppState,
    ctx: PageContext,
    id: i64,
    area: Area,
) -> AppResult<ReportPage> {
    let report = load_report(state, id).await?;
    ensure_board_may_read(&report)?;
    let project = load_project(state, report.project_id).await?;
    Ok(ReportPage {
        ctx,
        project,
        report,
        area,
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
        summary: PortfolioSummary::load(&mut conn, Detail::Full).await?,
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
                summary: PortfolioSummary::load(&mut conn, Detail::Full).await?,
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
    commit_and_redirect(
        tx,
        &session,
        format!("{} has been added.", objective.reference),
        "/board/objectives",
    )
    .await
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
    Context::for_request(&user, &meta)
        .record_change(
            &mut tx,
            "objective.updated",
            "objective",
            &after.reference,
            &before,
            &after,
        )
        .await?;
    commit_and_redirect(
        tx,
        &session,
        "The objective has been saved.",
        "/board/objectives",
    )
    .await
}

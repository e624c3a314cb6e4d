//! Status reports: an IT manager's weekly or monthly account of a project. A report is a
//! draft until submitted; a submitted report is frozen (the database enforces it), and a
//! correction is a new report for the same period that says what it corrects.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::model::{Period, Rag};
use super::repo::{self, Milestone, Project, Report, ReportFields};
use super::{ensure_manages, load_project, load_report};
use crate::audit::{self, Actor};
use crate::common::dates::today;
use crate::web::form::{self, FieldErrors, Form};
use crate::web::money::input_value;
use crate::web::session::Session;
use crate::web::{
    AppError, AppResult, AppState, Area, ItManager, PageContext, RequestMeta, commit_and_redirect,
    refuse_and_redirect,
};

/// Blank milestone rows offered below the existing ones.
const BLANK_MILESTONE_ROWS: usize = 3;
/// The message after a submission.
const SUBMITTED: &str = "The report has been submitted. The board sees it now.";
/// How many past periods a new report may be filed for.
const PERIODS_OFFERED: usize = 6;

/// The report form, exactly as typed. Milestones come as parallel lists of fields.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    period_start: String,
    #[serde(default)]
    overall_rag: String,
    #[serde(default)]
    schedule_rag: String,
    #[serde(default)]
    budget_rag: String,
    #[serde(default)]
    scope_rag: String,
    #[serde(default)]
    rag_explanation: String,
    #[serde(default)]
    percent_complete: String,
    #[serde(default)]
    spend_to_date: String,
    #[serde(default)]
    forecast_at_completion: String,
    #[serde(default)]
    highlights: String,
    #[serde(default)]
    issues: String,
    #[serde(default)]
    decisions_needed: String,
    #[serde(default)]
    next_steps: String,
    #[serde(default)]
    milestone_name: Vec<String>,
    #[serde(default)]
    milestone_planned: Vec<String>,
    #[serde(default)]
    milestone_actual: Vec<String>,
    /// The submitted report this one corrects, if it is a correction.
    #[serde(default)]
    corrects: Option<String>,
    #[serde(default)]
    correction_reason: String,
    #[serde(default)]
    version: i32,
    /// `save` keeps a draft, `submit` freezes the report.
    #[serde(default)]
    action: String,
}

/// One milestone row of the form, for the template.
pub struct MilestoneRow {
    pub name: String,
    pub planned: String,
    pub actual: String,
}

impl ReportForm {
    /// A form pre-filled from an earlier report (a new report starts from the last one).
    fn from_fields(fields: &ReportFields) -> Self {
        Self {
            period_start: fields.period_start.to_string(),
            overall_rag: fields.overall_rag.as_str().to_owned(),
            schedule_rag: fields.schedule_rag.as_str().to_owned(),
            budget_rag: fields.budget_rag.as_str().to_owned(),
            scope_rag: fields.scope_rag.as_str().to_owned(),
            rag_explanation: fields.rag_explanation.clone(),
            percent_complete: fields.percent_complete.to_string(),
            spend_to_date: input_value(fields.spend_to_date),
            forecast_at_completion: input_value(fields.forecast_at_completion),
            highlights: fields.highlights.clone(),
            issues: fields.issues.clone(),
            decisions_needed: fields.decisions_needed.clone(),
            next_steps: fields.next_steps.clone(),
            milestone_name: fields.milestones.iter().map(|m| m.name.clone()).collect(),
            milestone_planned: fields
                .milestones
                .iter()
                .map(|m| m.planned_date.to_string())
                .collect(),
            milestone_actual: fields
                .milestones
                .iter()
                .map(|m| m.actual_date.map(|d| d.to_string()).unwrap_or_default())
                .collect(),
            ..Self::default()
        }
    }

    fn blank() -> Self {
        Self {
            overall_rag: Rag::Green.as_str().to_owned(),
            schedule_rag: Rag::Green.as_str().to_owned(),
            budget_rag: Rag::Green.as_str().to_owned(),
            scope_rag: Rag::Green.as_str().to_owned(),
            percent_complete: "0".to_owned(),
            spend_to_date: "0".to_owned(),
            forecast_at_completion: "0".to_owned(),
            ..Self::default()
        }
    }

    /// The milestone rows to show: those typed, then a few blank ones.
    pub fn milestone_rows(&self) -> Vec<MilestoneRow> {
        let count = self
            .milestone_name
            .len()
            .max(self.milestone_planned.len())
            .max(self.milestone_actual.len());
        let cell = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        (0..count)
            .map(|i| MilestoneRow {
                name: cell(&self.milestone_name, i),
                planned: cell(&self.milestone_planned, i),
                actual: cell(&self.milestone_actual, i),
            })
            .filter(|row| {
                !row.name.trim().is_empty()
                    || !row.planned.trim().is_empty()
                    || !row.actual.trim().is_empty()
            })
            .chain((0..BLANK_MILESTONE_ROWS).map(|_| MilestoneRow {
                name: String::new(),
                planned: String::new(),
                actual: String::new(),
            }))
            .collect()
    }

    pub fn is_rag(&self, field: &str, rag: &Rag) -> bool {
        let value = match field {
            "overall_rag" => &self.overall_rag,
            "schedule_rag" => &self.schedule_rag,
            "budget_rag" => &self.budget_rag,
            _ => &self.scope_rag,
        };
        value == rag.as_str()
    }

    /// The text of a narrative field, by name.
    pub fn narrative(&self, field: &str) -> &str {
        match field {
            "highlights" => &self.highlights,
            "issues" => &self.issues,
            "decisions_needed" => &self.decisions_needed,
            _ => &self.next_steps,
        }
    }

    fn wants_submit(&self) -> bool {
        self.action == "submit"
    }

    /// Checks everything; `periods` are the periods this report may be for.
    fn validate(
        &self,
        periods: &[Period],
        is_correction: bool,
    ) -> Result<ReportFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let period = periods
            .iter()
            .find(|period| period.start.to_string() == self.period_start.trim())
            .copied();
        if period.is_none() {
            errors.add("period_start", "Choose the period this report covers.");
        }
        let overall = form::required_choice::<Rag>(&mut errors, "overall_rag", &self.overall_rag);
        let schedule =
            form::required_choice::<Rag>(&mut errors, "schedule_rag", &self.schedule_rag);
        let budget = form::required_choice::<Rag>(&mut errors, "budget_rag", &self.budget_rag);
        let scope = form::required_choice::<Rag>(&mut errors, "scope_rag", &self.scope_rag);
        let explanation =
            form::bounded_text(&mut errors, "rag_explanation", &self.rag_explanation, 5_000);
        let needs_explanation = [overall, schedule, budget, scope]
            .iter()
            .flatten()
            .any(|rag| rag.needs_explanation());
        if needs_explanation && explanation.is_empty() {
            errors.add(
                "rag_explanation",
                "A rating is amber or red: explain why, and what is being done about it.",
            );
        }
        let percent = match self.percent_complete.trim().parse::<i16>() {
            Ok(percent) if (0..=100).contains(&percent) => Some(percent),
            _ => {
                errors.add("percent_complete", "Enter a whole number from 0 to 100.");
                None
            }
        };
        let spend = form::required_money(&mut errors, "spend_to_date", &self.spend_to_date);
        let forecast = form::required_money(
            &mut errors,
            "forecast_at_completion",
            &self.forecast_at_completion,
        );
        if let (Some(spend), Some(forecast)) = (spend, forecast)
            && forecast < spend
        {
            errors.add(
                "forecast_at_completion",
                "The forecast at completion cannot be less than what is already spent.",
            );
        }
        let milestones = self.validate_milestones(&mut errors, period);
        if is_correction && self.correction_reason.trim().is_empty() {
            errors.add(
                "correction_reason",
                "Say what this report corrects, and why.",
            );
        }
        let text = |errors: &mut FieldErrors, field, value: &str| {
            form::bounded_text(errors, field, value, 10_000)
        };
        let highlights = text(&mut errors, "highlights", &self.highlights);
        let issues = text(&mut errors, "issues", &self.issues);
        let decisions_needed = text(&mut errors, "decisions_needed", &self.decisions_needed);
        let next_steps = text(&mut errors, "next_steps", &self.next_steps);
        errors.into_result()?;
        let period = period.expect("checked above");
        Ok(ReportFields {
            period_start: period.start,
            period_end: period.end,
            overall_rag: overall.unwrap_or(Rag::Green),
            schedule_rag: schedule.unwrap_or(Rag::Green),
            budget_rag: budget.unwrap_or(Rag::Green),
            scope_rag: scope.unwrap_or(Rag::Green),
            rag_explanation: explanation,
            percent_complete: percent.unwrap_or_default(),
            spend_to_date: spend.unwrap_or_default(),
            forecast_at_completion: forecast.unwrap_or_default(),
            highlights,
            issues,
            decisions_needed,
            next_steps,
            milestones,
        })
    }

    fn validate_milestones(
        &self,
        errors: &mut FieldErrors,
        period: Option<Period>,
    ) -> Vec<Milestone> {
        let mut milestones = Vec::new();
        for row in self.milestone_rows() {
            if row.name.trim().is_empty()
                && row.planned.trim().is_empty()
                && row.actual.trim().is_empty()
            {
                continue;
            }
            let name = row.name.trim();
            if name.is_empty() {
                errors.add("milestones", "Every milestone with dates needs a name.");
            } else if name.chars().count() > 200 {
                errors.add("milestones", "Keep milestone names to 200 characters.");
            }
            let planned = form::required_date(errors, "milestones", &row.planned);
            let actual = form::optional_date(errors, "milestones", &row.actual);
            if let (Some(actual), Some(period)) = (actual, period)
                && actual > period.end
            {
                errors.add(
                    "milestones",
                    format!("“{name}” cannot have been reached after the end of the period reported on ({}).", period.end),
                );
            }
            if let Some(planned_date) = planned {
                milestones.push(Milestone {
                    name: name.to_owned(),
                    planned_date,
                    actual_date: actual,
                });
            }
        }
        milestones
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/report_form.html")]
pub struct ReportFormPage {
    ctx: PageContext,
    project: Project,
    /// The draft being edited; `None` for a new report.
    report: Option<Report>,
    /// The submitted report a correction corrects.
    corrects: Option<Report>,
    form: ReportForm,
    errors: FieldErrors,
    periods: Vec<Period>,
    rags: &'static [Rag],
    stale: bool,
}

impl ReportFormPage {
    pub fn period_label(&self, period: &Period) -> String {
        period.label(self.project.cadence())
    }

    fn action(&self) -> String {
        match &self.report {
            Some(report) => format!("/manage/reports/{}", report.id),
            None => format!("/manage/projects/{}/reports", self.project.id),
        }
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

/// The periods a new report for `project` may cover: the current one and those before it
/// since the project started, newest first, without those already reported (`taken`).
fn open_periods(project: &Project, taken: &[time::Date]) -> Vec<Period> {
    let cadence = project.cadence();
    let mut period = Period::containing(cadence, today());
    let mut periods = Vec::new();
    while periods.len() < PERIODS_OFFERED && period.end >= project.start_date {
        if !taken.contains(&period.start) {
            periods.push(period);
        }
        period = period.previous(cadence);
    }
    periods
}

async fn reported_period_starts(
    conn: &mut PgConnection,
    project_id: i64,
) -> AppResult<Vec<time::Date>> {
    Ok(repo::project_reports(conn, project_id, true, 200)
        .await?
        .into_iter()
        .filter(|report| report.corrects_report_id.is_none())
        .map(|report| report.period_start)
        .collect())
}

fn ensure_reporting(project: &Project) -> AppResult<()> {
    if project.phase().is_reporting() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{} is {}: status reports are filed for approved projects and projects in delivery.",
            project.reference,
            project.phase().label().to_lowercase()
        )))
    }
}

/// `GET /manage/projects/{id}/reports/new`: a new report, pre-filled from the last one.
pub(super) async fn new_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<ReportFormPage> {
    let project = load_project(&state, id).await?;
    ensure_manages(&user, &project)?;
    ensure_reporting(&project)?;
    let mut conn = state.pool.acquire().await?;
    let periods = open_periods(&project, &reported_period_starts(&mut conn, id).await?);
    let mut form = match project.last_report_id {
        Some(last) => match repo::get_report(&mut conn, last).await? {
            Some(report) => ReportForm::from_fields(&report.fields),
            None => ReportForm::blank(),
        },
        None => ReportForm::blank(),
    };
    form.period_start = periods
        .first()
        .map(|p| p.start.to_string())
        .unwrap_or_default();
    Ok(ReportFormPage {
        ctx,
        project,
        report: None,
        corrects: None,
        form,
        errors: FieldErrors::new(),
        periods,
        rags: Rag::ALL,
        stale: false,
    })
}

/// `GET /manage/reports/{id}/correction`: a correction, pre-filled from the report.
pub(super) async fn correction_page(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<ReportFormPage> {
    let corrected = load_report(&state, id).await?;
    let project = load_project(&state, corrected.project_id).await?;
    ensure_manages(&user, &project)?;
    if !corrected.is_submitted() {
        return Err(AppError::Forbidden(
            "Only a submitted report is corrected; a draft is simply edited.".to_owned(),
        ));
    }
    let mut form = ReportForm::from_fields(&corrected.fields);
    form.corrects = Some(corrected.id.to_string());
    Ok(ReportFormPage {
        ctx,
        periods: vec![corrected.fields.period()],
        project,
        report: None,
        corrects: Some(corrected),
        form,
        errors: FieldErrors::new(),
        rags: Rag::ALL,
        stale: false,
    })
}

/// `POST /manage/projects/{id}/reports`: files a new report (or a correction), as a draft
/// or submitted at once.
pub(super) async fn create(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ReportForm>,
) -> AppResult<Response> {
    let project = load_project(&state, id).await?;
    ensure_manages(&user, &project)?;
    let corrects = match form.corrects.as_deref().and_then(form::optional) {
        Some(corrected_id) => {
            let corrected_id = corrected_id.parse().map_err(|_| AppError::NotFound)?;
            let corrected = load_report(&state, corrected_id).await?;
            if corrected.project_id != project.id || !corrected.is_submitted() {
                return Err(AppError::Forbidden(
                    "Only a submitted report of this project can be corrected here.".to_owned(),
                ));
            }
            Some(corrected)
        }
        None => {
            ensure_reporting(&project)?;
            None
        }
    };
    let periods = match &corrects {
        Some(corrected) => vec![corrected.fields.period()],
        None => {
            let mut conn = state.pool.acquire().await?;
            open_periods(&project, &reported_period_starts(&mut conn, id).await?)
        }
    };
    let page = ReportFormPage {
        ctx,
        project,
        report: None,
        corrects,
        form,
        errors: FieldErrors::new(),
        periods,
        rags: Rag::ALL,
        stale: false,
    };
    let fields = match page.form.validate(&page.periods, page.corrects.is_some()) {
        Ok(fields) => fields,
        Err(errors) => return Ok(ReportFormPage { errors, ..page }.refused()),
    };
    let correction = page
        .corrects
        .as_ref()
        .map(|corrected| (corrected.id, page.form.correction_reason.trim()));
    let mut tx = state.pool.begin().await?;
    let report_id =
        match repo::create_report(&mut tx, page.project.id, user.id, &fields, correction).await {
            Ok(report_id) => report_id,
            Err(error) if crate::db::is_unique_violation(&error) => {
                // Someone filed a report for this period meanwhile.
                let mut errors = FieldErrors::new();
                errors.add(
                    "period_start",
                    "This period already has a report: open it from the project page.",
                );
                return Ok(ReportFormPage { errors, ..page }.refused());
            }
            Err(error) => return Err(error.into()),
        };
    let submit = page.form.wants_submit();
    if submit {
        repo::submit(&mut tx, report_id, 1).await?;
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            if submit {
                "report.submitted"
            } else {
                "report.drafted"
            },
            "status_report",
            Some(report_id.to_string()),
        )
        .after(json!({
            "project": page.project.reference,
            "corrects": correction.map(|(id, _)| id),
            "correction_reason": correction.map(|(_, reason)| reason),
            "report": fields,
        })),
    )
    .await?;
    let message = if submit {
        SUBMITTED
    } else {
        "The draft has been saved. Submit it when it is ready."
    };
    commit_and_redirect(
        tx,
        &session,
        message,
        &format!("/manage/reports/{report_id}"),
    )
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "projects/report.html")]
pub struct ReportPage {
    pub ctx: PageContext,
    pub project: Project,
    pub report: Report,
    pub area: Area,
    pub can_correct: bool,
}

impl ReportPage {
    pub fn period_label(&self) -> String {
        self.report.fields.period().label(self.project.cadence())
    }
}

/// `GET /manage/reports/{id}`: a draft opens in its form (for the project's manager only);
/// a submitted report is shown as filed.
pub(super) async fn show(
    State(state): State<AppState>,
    ctx: PageContext,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let report = load_report(&state, id).await?;
    let project = load_project(&state, report.project_id).await?;
    if report.is_submitted() {
        return Ok(ReportPage {
            ctx,
            can_correct: project.manager_id == user.id,
            project,
            report,
            area: Area::Manage,
        }
        .into_response());
    }
    ensure_manages(&user, &project)?;
    Ok(draft_page(&state, ctx, project, report)
        .await?
        .into_response())
}

async fn draft_page(
    state: &AppState,
    ctx: PageContext,
    project: Project,
    report: Report,
) -> AppResult<ReportFormPage> {
    let mut form = ReportForm::from_fields(&report.fields);
    form.version = report.version;
    let corrects = match report.corrects_report_id {
        Some(corrected_id) => Some(load_report(state, corrected_id).await?),
        None => None,
    };
    form.corrects = corrects.as_ref().map(|c| c.id.to_string());
    form.correction_reason = report.correction_reason.clone();
    let periods = match &corrects {
        Some(_) => vec![report.fields.period()],
        None => {
            let mut conn = state.pool.acquire().await?;
            let taken: Vec<time::Date> = reported_period_starts(&mut conn, project.id)
                .await?
                .into_iter()
                .filter(|start| *start != report.fields.period_start)
                .collect();
            let mut periods = open_periods(&project, &taken);
            let own = report.fields.period();
            if !periods.contains(&own) {
                periods.push(own);
            }
            periods
        }
    };
    Ok(ReportFormPage {
        ctx,
        project,
        report: Some(report),
        corrects,
        form,
        errors: FieldErrors::new(),
        periods,
        rags: Rag::ALL,
        stale: false,
    })
}

/// `POST /manage/reports/{id}`: saves a draft, or saves and submits it.
pub(super) async fn save(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    ItManager(user): ItManager,
    Path(id): Path<i64>,
    Form(form): Form<ReportForm>,
) -> AppResult<Response> {
    let report = load_report(&state, id).await?;
    let project = load_project(&state, report.project_id).await?;
    ensure_manages(&user, &project)?;
    if report.is_submitted() {
        return refuse_and_redirect(
            &session,
            "This report was submitted and is frozen; nothing was changed. To fix it, file a correction.",
            &format!("/manage/reports/{id}"),
        )
        .await;
    }
    let before = report.fields.clone();
    let page = draft_page(&state, ctx, project, report).await?;
    let page = ReportFormPage { form, ..page };
    let fields = match page.form.validate(&page.periods, page.corrects.is_some()) {
        Ok(fields) => fields,
        Err(errors) => return Ok(ReportFormPage { errors, ..page }.refused()),
    };
    let mut tx = state.pool.begin().await?;
    let saved = match repo::update_draft(&mut tx, id, page.form.version, &fields).await {
        Ok(saved) => saved,
        Err(error) if crate::db::is_unique_violation(&error) => {
            let mut errors = FieldErrors::new();
            errors.add("period_start", "This period already has a report.");
            return Ok(ReportFormPage { errors, ..page }.refused());
        }
        Err(error) => return Err(error.into()),
    };
    if !saved {
        // Nothing was written; the page is read again on a connection of its own.
        drop(tx);
        let mut page = ReportFormPage {
            stale: true,
            ..page
        };
        // Resubmitting the kept input applies it over the current version.
        if let Some(current) = load_report(&state, id)
            .await
            .ok()
            .filter(|r| !r.is_submitted())
        {
            page.form.version = current.version;
        }
        return Ok(page.refused());
    }
    let submit = page.form.wants_submit();
    if submit {
        repo::submit(&mut tx, id, page.form.version + 1).await?;
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            if submit {
                "report.submitted"
            } else {
                "report.updated"
            },
            "status_report",
            Some(id.to_string()),
        )
        .before(json!({ "report": before }))
        .after(json!({ "project": page.project.reference, "report": fields })),
    )
    .await?;
    let message = if submit {
        SUBMITTED
    } else {
        "The draft has been saved."
    };
    commit_and_redirect(tx, &session, message, &format!("/manage/reports/{id}")).await
}

/// Who may read a report from the board's side: submitted reports only.
pub fn ensure_board_may_read(report: &Report) -> AppResult<()> {
    if report.is_submitted() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "This report is a draft its manager has not submitted yet.".to_owned(),
        ))
    }
}

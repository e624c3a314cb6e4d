//! The portfolio's SQL. Functions take a connection so that handlers compose them in one
//! transaction with the audit-trail write.

use serde::Serialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

use super::model::{Cadence, Phase, Rag, ReportStatus, ReportingState};
use crate::common::format::format_minor;
use crate::common::format::format_time;
use crate::common::references::{self, Series};
use crate::db::listing::{self, Listing};

// ---------------------------------------------------------------------------------------
// Objectives

#[derive(Debug, Clone, Serialize)]
pub struct Objective {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub version: i32,
}

pub async fn list_objectives(conn: &mut PgConnection) -> sqlx::Result<Vec<Objective>> {
    sqlx::query_as!(
        Objective,
        "SELECT id, reference, title, description, version FROM objectives ORDER BY reference"
    )
    .fetch_all(conn)
    .await
}

pub async fn get_objective(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Objective>> {
    sqlx::query_as!(
        Objective,
        "SELECT id, reference, title, description, version FROM objectives WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

pub async fn create_objective(
    conn: &mut PgConnection,
    title: &str,
    description: &str,
) -> sqlx::Result<Objective> {
    let reference = references::next(conn, Series::Objective).await?;
    sqlx::query_as!(
        Objective,
        "INSERT INTO objectives (reference, title, description)
         VALUES ($1, $2, $3)
         RETURNING id, reference, title, description, version",
        reference,
        title,
        description
    )
    .fetch_one(conn)
    .await
}

/// Returns `None` when the objective changed meanwhile (optimistic concurrency).
pub async fn update_objective(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    title: &str,
    description: &str,
) -> sqlx::Result<Option<Objective>> {
    sqlx::query_as!(
        Objective,
        "UPDATE objectives SET title = $3, description = $4, version = version + 1,
                               updated_at = now()
         WHERE id = $1 AND version = $2
         RETURNING id, reference, title, description, version",
        id,
        version,
        title,
        description
    )
    .fetch_optional(conn)
    .await
}

// ---------------------------------------------------------------------------------------
// Projects

/// A project with its manager, objective and latest submitted report.
#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: i64,
    pub reference: String,
    pub name: String,
    pub description: String,
    pub sponsor: String,
    pub manager_id: i64,
    pub manager_name: String,
    pub objective_id: i64,
    pub objective_reference: String,
    pub objective_title: String,
    pub phase: Phase,
    pub start_date: Date,
    pub planned_end_date: Date,
    pub reporting_cadence: Cadence,
    pub approved_budget: i64,
    pub version: i32,
    pub last_report_id: Option<i64>,
    pub last_overall_rag: Option<Rag>,
    pub last_period_end: Option<Date>,
    pub last_percent_complete: Option<i16>,
    pub last_spend_to_date: Option<i64>,
    pub last_forecast: Option<i64>,
    pub last_decisions_needed: Option<String>,
}

impl Project {
    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn cadence(&self) -> Cadence {
        self.reporting_cadence
    }

    pub fn rag(&self) -> Option<Rag> {
        self.last_overall_rag
    }

    pub fn reporting_state(&self, today: Date) -> ReportingState {
        ReportingState::of(
            self.phase(),
            self.cadence(),
            self.start_date,
            self.last_period_end,
            today,
        )
    }

    pub fn budget_text(&self) -> String {
        format_minor(self.approved_budget)
    }

    pub fn spend_text(&self) -> String {
        self.last_spend_to_date
            .map(format_minor)
            .unwrap_or_else(|| "—".to_owned())
    }

    pub fn forecast_text(&self) -> String {
        self.last_forecast
            .map(format_minor)
            .unwrap_or_else(|| "—".to_owned())
    }

    /// Forecast at completion minus approved budget (positive: an overrun).
    pub fn variance(&self) -> Option<i64> {
        self.last_forecast
            .map(|forecast| forecast - self.approved_budget)
    }

    pub fn variance_text(&self) -> String {
        match self.variance() {
            Some(variance) if variance > 0 => format!("+{}", format_minor(variance)),
            Some(variance) => format_minor(variance),
            None => "—".to_owned(),
        }
    }

    pub fn is_over_budget(&self) -> bool {
        self.variance().is_some_and(|variance| variance > 0)
    }
}

/// Which projects to read, in what order: one query serves the project list, the
/// dashboards and single projects alike.
#[derive(Debug, Clone)]
pub struct ProjectQuery {
    /// Only these projects.
    pub ids: Option<Vec<i64>>,
    pub phase: Option<Phase>,
    pub manager_id: Option<i64>,
    /// `green`, `amber`, `red` or `none` (no report yet).
    pub rag: Option<RagFilter>,
    pub objective_id: Option<i64>,
    /// Leave out closed and cancelled projects.
    pub active_only: bool,
    /// Only projects whose latest report asks the board for a decision.
    pub asking_board: bool,
    /// Only projects whose report for the latest due period is missing, given the ends of
    /// the latest due week and month ([`super::model::latest_due_period_ends`]).
    pub overdue: Option<(Date, Date)>,
    pub order: ProjectOrder,
    /// Continue after this (sort key, reference).
    pub after: Option<(String, String)>,
    pub limit: i64,
}

/// The latest report's overall RAG a list is filtered by, or no report yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RagFilter {
    Rated(Rag),
    NoReport,
}

impl RagFilter {
    /// `none` or a RAG's name, as the list's filter sends it.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "none" => Some(Self::NoReport),
            other => other.parse().ok().map(Self::Rated),
        }
    }

    /// Its place in "needs attention" order, as kept on the project (`rag_order`).
    fn order(self) -> &'static str {
        match self {
            Self::Rated(Rag::Red) => "0",
            Self::Rated(Rag::Amber) => "1",
            Self::Rated(Rag::Green) => "2",
            Self::NoReport => "3",
        }
    }
}

/// The orders the project list can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectOrder {
    /// By reference, in number order.
    Reference,
    Name,
    /// The planned end, soonest first.
    End,
    /// The latest report's RAG, worst first (no report last).
    Rag,
}

impl ProjectOrder {
    /// The sort key, as text.
    fn key(self) -> &'static str {
        match self {
            Self::Reference => "reference_order(p.reference)",
            Self::Name => "lower(p.name)",
            Self::End => "to_char(p.planned_end_date, 'YYYY-MM-DD')",
            // Kept on the project from its latest report (migration 0021).
            Self::Rag => "p.rag_order",
        }
    }
}

impl ProjectQuery {
    /// Every project, in reference order, at most `limit`.
    pub fn all(limit: i64) -> Self {
        Self {
            ids: None,
            phase: None,
            manager_id: None,
            rag: None,
            objective_id: None,
            active_only: false,
            asking_board: false,
            overdue: None,
            order: ProjectOrder::Reference,
            after: None,
            limit,
        }
    }

    /// The statement selecting this query's page of ids: only the filters that are set
    /// (see [`crate::db::listing`]).
    pub fn selection(&self) -> QueryBuilder<'static, Postgres> {
        let key = self.order.key();
        let mut list = if self.overdue.is_some() {
            // A handful of projects overdue among thousands (see `Listing::matches_first`).
            Listing::matches_first("p.id", key, "p.reference", "projects p")
        } else {
            Listing::new(&format!("SELECT p.id, {key} FROM projects p"))
        };
        if let Some(ids) = &self.ids {
            list.and("p.id = ANY(").push_bind(ids.clone()).push(")");
        }
        if let Some(phase) = self.phase {
            list.and("p.phase = ").push_bind(phase);
        }
        if let Some(manager_id) = self.manager_id {
            list.and("p.manager_id = ").push_bind(manager_id);
        }
        if let Some(rag) = self.rag {
            list.and("p.rag_order = ").push_bind(rag.order());
        }
        if let Some(objective_id) = self.objective_id {
            list.and("p.objective_id = ").push_bind(objective_id);
        }
        if self.active_only {
            list.and("p.phase NOT IN ('closed', 'cancelled')");
        }
        if self.asking_board {
            list.and("p.asks_board");
        }
        if let Some((weekly_due_end, monthly_due_end)) = self.overdue {
            // One branch per cadence, each a range of `projects_reporting_idx`.
            let started_and_unreported = " AND coalesce(p.reported_through, '-infinity'::date) < ";
            list.and(
                "p.phase IN ('approved', 'in_delivery') \
                 AND ((p.reporting_cadence = 'weekly' AND p.start_date <= ",
            )
            .push_bind(weekly_due_end)
            .push(started_and_unreported)
            .push_bind(weekly_due_end)
            .push(") OR (p.reporting_cadence = 'monthly' AND p.start_date <= ")
            .push_bind(monthly_due_end)
            .push(started_and_unreported)
            .push_bind(monthly_due_end)
            .push("))");
        }
        list.keyset_page(key, "p.reference", self.after.as_ref(), self.limit)
    }
}

/// A project with the key the list continues after.
pub struct ProjectListRow {
    pub project: Project,
    pub sort_key: String,
}

pub async fn find_projects(
    conn: &mut PgConnection,
    query: &ProjectQuery,
) -> sqlx::Result<Vec<ProjectListRow>> {
    let page = listing::select_ids(conn, query.selection()).await?;
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let projects = by_ids(conn, &ids).await?;
    Ok(
        listing::in_page_order(&page, projects, |project| project.id)
            .into_iter()
            .map(|(project, sort_key)| ProjectListRow { project, sort_key })
            .collect(),
    )
}

/// The projects with these ids, in no particular order.
pub async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<Project>> {
    let rows = sqlx::query!(
        r#"SELECT p.id, p.reference, p.name, p.description, p.sponsor, p.manager_id,
                  m.display_name AS manager_name, p.objective_id,
                  o.reference AS objective_reference, o.title AS objective_title,
                  p.phase AS "phase: Phase", p.start_date, p.planned_end_date,
                  p.reporting_cadence AS "reporting_cadence: Cadence",
                  p.approved_budget, p.version, p.last_report_id,
                  r.overall_rag AS "last_overall_rag?: Rag",
                  r.period_end AS "last_period_end?",
                  r.percent_complete AS "last_percent_complete?",
                  r.spend_to_date AS "last_spend_to_date?",
                  r.forecast_at_completion AS "last_forecast?",
                  r.decisions_needed AS "last_decisions_needed?"
           FROM projects p
           JOIN users m ON m.id = p.manager_id
           JOIN objectives o ON o.id = p.objective_id
           LEFT JOIN status_reports r ON r.id = p.last_report_id
           WHERE p.id = ANY($1)"#,
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Project {
            id: row.id,
            reference: row.reference,
            name: row.name,
            description: row.description,
            sponsor: row.sponsor,
            manager_id: row.manager_id,
            manager_name: row.manager_name,
            objective_id: row.objective_id,
            objective_reference: row.objective_reference,
            objective_title: row.objective_title,
            phase: row.phase,
            start_date: row.start_date,
            planned_end_date: row.planned_end_date,
            reporting_cadence: row.reporting_cadence,
            approved_budget: row.approved_budget,
            version: row.version,
            last_report_id: row.last_report_id,
            last_overall_rag: row.last_overall_rag,
            last_period_end: row.last_period_end,
            last_percent_complete: row.last_percent_complete,
            last_spend_to_date: row.last_spend_to_date,
            last_forecast: row.last_forecast,
            last_decisions_needed: row.last_decisions_needed,
        })
        .collect())
}

/// The projects a query selects, without their sort keys.
pub async fn projects(conn: &mut PgConnection, query: &ProjectQuery) -> sqlx::Result<Vec<Project>> {
    Ok(find_projects(conn, query)
        .await?
        .into_iter()
        .map(|row| row.project)
        .collect())
}

/// The projects several queries select (one page each, without sort keys), read by id in
/// one statement for all of them.
pub async fn project_lists<const N: usize>(
    conn: &mut PgConnection,
    queries: [&ProjectQuery; N],
) -> sqlx::Result<[Vec<Project>; N]> {
    let selections = queries.map(ProjectQuery::selection);
    listing::several_pages(
        conn,
        selections,
        async |conn, ids| by_ids(conn, ids).await,
        |project| project.id,
    )
    .await
}

pub async fn get_project(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Project>> {
    let query = ProjectQuery {
        ids: Some(vec![id]),
        ..ProjectQuery::all(1)
    };
    Ok(projects(conn, &query).await?.into_iter().next())
}

/// Counts and money of the projects in one phase with one latest RAG (`None`: no report).
pub struct PortfolioCell {
    pub phase: Phase,
    pub rag: Option<Rag>,
    pub projects: i64,
    pub budget: i64,
    pub spend: i64,
    /// The latest forecasts, or the approved budget where there is no report yet.
    pub forecast: i64,
}

/// The whole portfolio in at most 5 × 4 rows, whatever its size.
pub async fn portfolio_cells(conn: &mut PgConnection) -> sqlx::Result<Vec<PortfolioCell>> {
    sqlx::query_as!(
        PortfolioCell,
        // Kept up to date by a trigger on `projects` (migration 0021).
        r#"SELECT phase AS "phase: Phase", nullif(rag, 'none') AS "rag?: Rag",
                  sum(projects)::bigint AS "projects!", sum(budget)::bigint AS "budget!",
                  sum(spend)::bigint AS "spend!", sum(forecast)::bigint AS "forecast!"
           FROM portfolio_figures WHERE projects > 0
           GROUP BY phase, rag"#
    )
    .fetch_all(conn)
    .await
}

/// The same per objective (cancelled projects left out), one row per objective and RAG;
/// an objective with no project has one row counting none.
pub struct ObjectiveCell {
    pub objective_id: i64,
    pub rag: Option<Rag>,
    pub projects: i64,
    pub budget: i64,
    pub forecast: i64,
}

pub async fn objective_cells(conn: &mut PgConnection) -> sqlx::Result<Vec<ObjectiveCell>> {
    sqlx::query_as!(
        ObjectiveCell,
        r#"SELECT o.id AS objective_id, nullif(f.rag, 'none') AS "rag?: Rag",
                  coalesce(sum(f.projects), 0)::bigint AS "projects!",
                  coalesce(sum(f.budget), 0)::bigint AS "budget!",
                  coalesce(sum(f.forecast), 0)::bigint AS "forecast!"
           FROM objectives o
           LEFT JOIN portfolio_figures f
                  ON f.objective_id = o.id AND f.phase <> 'cancelled' AND f.projects > 0
           GROUP BY o.id, f.rag"#
    )
    .fetch_all(conn)
    .await
}

/// A project's editable fields, validated.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectFields {
    pub name: String,
    pub description: String,
    pub sponsor: String,
    pub manager_id: i64,
    pub objective_id: i64,
    pub start_date: Date,
    pub planned_end_date: Date,
    pub reporting_cadence: Cadence,
    pub phase: Phase,
}

pub async fn create_project(conn: &mut PgConnection, fields: &ProjectFields) -> sqlx::Result<i64> {
    let reference = references::next(conn, Series::Project).await?;
    sqlx::query_scalar!(
        "INSERT INTO projects (reference, name, description, sponsor, manager_id, objective_id,
                               start_date, planned_end_date, reporting_cadence, phase)
         VALUES ($9, $1, $2, $3, $4, $5, $6, $7, $8, 'proposed')
         RETURNING id",
        fields.name,
        fields.description,
        fields.sponsor,
        fields.manager_id,
        fields.objective_id,
        fields.start_date,
        fields.planned_end_date,
        fields.reporting_cadence.as_str(),
        reference
    )
    .fetch_one(conn)
    .await
}

/// Returns false when the project changed meanwhile (optimistic concurrency).
pub async fn update_project(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    fields: &ProjectFields,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE projects SET name = $3, description = $4, sponsor = $5, manager_id = $6,
                             objective_id = $7, start_date = $8, planned_end_date = $9,
                             reporting_cadence = $10, phase = $11,
                             version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2",
        id,
        version,
        fields.name,
        fields.description,
        fields.sponsor,
        fields.manager_id,
        fields.objective_id,
        fields.start_date,
        fields.planned_end_date,
        fields.reporting_cadence.as_str(),
        fields.phase.as_str()
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Sets a project's approved budget, approving a proposed project with it, with its history
/// line. Pages change budgets only through approved budget requests ([`add_to_budget`]);
/// this serves the demo's history and test set-ups. Returns false when the project changed
/// meanwhile.
pub async fn set_budget(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    new_budget: i64,
    reason: &str,
    decided_by: i64,
) -> sqlx::Result<bool> {
    let previous = sqlx::query_scalar!(
        "SELECT approved_budget FROM projects WHERE id = $1 AND version = $2 FOR UPDATE",
        id,
        version
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(previous) = previous else {
        return Ok(false);
    };
    sqlx::query!(
        "UPDATE projects SET approved_budget = $2, version = version + 1, updated_at = now(),
                             phase = CASE WHEN phase = 'proposed' THEN 'approved' ELSE phase END
         WHERE id = $1",
        id,
        new_budget
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO project_budget_changes (project_id, previous_budget, new_budget, reason, decided_by)
         VALUES ($1, $2, $3, $4, $5)",
        id,
        previous,
        new_budget,
        reason,
        decided_by
    )
    .execute(conn)
    .await?;
    Ok(true)
}

pub struct BudgetChange {
    pub previous_budget: i64,
    pub new_budget: i64,
    pub reason: String,
    pub decided_by_name: String,
    pub decided_at: OffsetDateTime,
}

impl BudgetChange {
    pub fn previous_text(&self) -> String {
        format_minor(self.previous_budget)
    }

    pub fn new_text(&self) -> String {
        format_minor(self.new_budget)
    }

    pub fn when(&self) -> String {
        format_time(self.decided_at)
    }
}

pub async fn budget_history(
    conn: &mut PgConnection,
    project_id: i64,
) -> sqlx::Result<Vec<BudgetChange>> {
    sqlx::query_as!(
        BudgetChange,
        "SELECT c.previous_budget, c.new_budget, c.reason, u.display_name AS decided_by_name,
                c.decided_at
         FROM project_budget_changes c JOIN users u ON u.id = c.decided_by
         WHERE c.project_id = $1
         ORDER BY c.decided_at DESC, c.id DESC
         LIMIT 100",
        project_id
    )
    .fetch_all(conn)
    .await
}

// ---------------------------------------------------------------------------------------
// Status reports

#[derive(Debug, Clone, Serialize)]
pub struct Milestone {
    pub name: String,
    pub planned_date: Date,
    pub actual_date: Option<Date>,
}

/// A report's content, as typed and validated.
#[derive(Debug, Clone, Serialize)]
pub struct ReportFields {
    pub period_start: Date,
    pub period_end: Date,
    pub overall_rag: Rag,
    pub schedule_rag: Rag,
    pub budget_rag: Rag,
    pub scope_rag: Rag,
    pub rag_explanation: String,
    pub percent_complete: i16,
    pub spend_to_date: i64,
    pub forecast_at_completion: i64,
    pub highlights: String,
    pub issues: String,
    pub decisions_needed: String,
    pub next_steps: String,
    pub milestones: Vec<Milestone>,
}

impl ReportFields {
    /// The period the report covers.
    pub fn period(&self) -> super::model::Period {
        super::model::Period {
            start: self.period_start,
            end: self.period_end,
        }
    }

    /// The four ratings with their names, overall first.
    pub fn ratings(&self) -> [(&'static str, Rag); 4] {
        [
            ("Overall", self.overall_rag),
            ("Schedule", self.schedule_rag),
            ("Budget", self.budget_rag),
            ("Scope", self.scope_rag),
        ]
    }

    /// The narrative sections with their headings.
    pub fn narratives(&self) -> [(&'static str, &str); 4] {
        [
            ("Highlights", &self.highlights),
            ("Issues and blockers", &self.issues),
            ("Decisions needed from the board", &self.decisions_needed),
            ("Next steps", &self.next_steps),
        ]
    }

    pub fn spend_text(&self) -> String {
        format_minor(self.spend_to_date)
    }

    pub fn forecast_text(&self) -> String {
        format_minor(self.forecast_at_completion)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: i64,
    pub project_id: i64,
    pub status: ReportStatus,
    pub corrects_report_id: Option<i64>,
    pub correction_reason: String,
    pub author_name: String,
    pub submitted_at: Option<OffsetDateTime>,
    pub version: i32,
    pub fields: ReportFields,
}

impl Report {
    pub fn status(&self) -> ReportStatus {
        self.status
    }

    pub fn is_submitted(&self) -> bool {
        self.status() == ReportStatus::Submitted
    }

    pub fn submitted_text(&self) -> String {
        self.submitted_at.map(format_time).unwrap_or_default()
    }
}

/// Inserts a draft report with its milestones.
pub async fn create_report(
    conn: &mut PgConnection,
    project_id: i64,
    author_id: i64,
    fields: &ReportFields,
    corrects: Option<(i64, &str)>,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO status_reports (project_id, period_start, period_end, overall_rag,
                 schedule_rag, budget_rag, scope_rag, rag_explanation, percent_complete,
                 spend_to_date, forecast_at_completion, highlights, issues, decisions_needed,
                 next_steps, corrects_report_id, correction_reason, author_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
         RETURNING id",
        project_id,
        fields.period_start,
        fields.period_end,
        fields.overall_rag.as_str(),
        fields.schedule_rag.as_str(),
        fields.budget_rag.as_str(),
        fields.scope_rag.as_str(),
        fields.rag_explanation,
        fields.percent_complete,
        fields.spend_to_date,
        fields.forecast_at_completion,
        fields.highlights,
        fields.issues,
        fields.decisions_needed,
        fields.next_steps,
        corrects.map(|(id, _)| id),
        corrects.map(|(_, reason)| reason).unwrap_or(""),
        author_id
    )
    .fetch_one(&mut *conn)
    .await?;
    insert_milestones(conn, id, &fields.milestones).await?;
    Ok(id)
}

async fn insert_milestones(
    conn: &mut PgConnection,
    report_id: i64,
    milestones: &[Milestone],
) -> sqlx::Result<()> {
    let positions: Vec<i16> = (1..=milestones.len() as i16).collect();
    let names: Vec<String> = milestones.iter().map(|m| m.name.clone()).collect();
    let planned: Vec<Date> = milestones.iter().map(|m| m.planned_date).collect();
    let actual: Vec<Option<Date>> = milestones.iter().map(|m| m.actual_date).collect();
    sqlx::query!(
        "INSERT INTO report_milestones (report_id, position, name, planned_date, actual_date)
         SELECT $1, * FROM unnest($2::smallint[], $3::text[], $4::date[], $5::date[])",
        report_id,
        &positions,
        &names,
        &planned,
        &actual as &[Option<Date>]
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Replaces a draft's content. Returns false when it changed meanwhile or is no longer a
/// draft.
pub async fn update_draft(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    fields: &ReportFields,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE status_reports SET period_start = $3, period_end = $4, overall_rag = $5,
                schedule_rag = $6, budget_rag = $7, scope_rag = $8, rag_explanation = $9,
                percent_complete = $10, spend_to_date = $11, forecast_at_completion = $12,
                highlights = $13, issues = $14, decisions_needed = $15, next_steps = $16,
                version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2 AND status = 'draft'",
        id,
        version,
        fields.period_start,
        fields.period_end,
        fields.overall_rag.as_str(),
        fields.schedule_rag.as_str(),
        fields.budget_rag.as_str(),
        fields.scope_rag.as_str(),
        fields.rag_explanation,
        fields.percent_complete,
        fields.spend_to_date,
        fields.forecast_at_completion,
        fields.highlights,
        fields.issues,
        fields.decisions_needed,
        fields.next_steps
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!("DELETE FROM report_milestones WHERE report_id = $1", id)
        .execute(&mut *conn)
        .await?;
    insert_milestones(conn, id, &fields.milestones).await?;
    Ok(true)
}

/// Freezes a draft and makes it the project's latest report if it is the most recent
/// period. Returns false when it changed meanwhile or was already submitted.
pub async fn submit(conn: &mut PgConnection, id: i64, version: i32) -> sqlx::Result<bool> {
    submit_at(conn, id, version, None).await
}

/// [`submit`], recording `at` as the submission time (demo history); `None` is now.
pub async fn submit_at(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    at: Option<OffsetDateTime>,
) -> sqlx::Result<bool> {
    let submitted = sqlx::query!(
        "UPDATE status_reports SET status = 'submitted', submitted_at = coalesce($3, now()),
                                   version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2 AND status = 'draft'
         RETURNING project_id, period_start",
        id,
        version,
        at
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(submitted) = submitted else {
        return Ok(false);
    };
    // The latest report is the one for the latest period (a correction of an older period
    // does not displace it).
    sqlx::query!(
        "UPDATE projects p SET last_report_id = $1
         WHERE p.id = $2
           AND (p.last_report_id IS NULL
                OR (SELECT period_start FROM status_reports WHERE id = p.last_report_id) <= $3)",
        id,
        submitted.project_id,
        submitted.period_start
    )
    .execute(conn)
    .await?;
    Ok(true)
}

pub async fn get_report(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Report>> {
    let Some(row) = sqlx::query!(
        r#"SELECT r.id, r.project_id, r.status AS "status: ReportStatus", r.period_start,
                  r.period_end, r.overall_rag AS "overall_rag: Rag",
                  r.schedule_rag AS "schedule_rag: Rag", r.budget_rag AS "budget_rag: Rag",
                  r.scope_rag AS "scope_rag: Rag", r.rag_explanation,
                  r.percent_complete, r.spend_to_date, r.forecast_at_completion, r.highlights,
                  r.issues, r.decisions_needed, r.next_steps, r.corrects_report_id,
                  r.correction_reason, u.display_name AS author_name, r.submitted_at, r.version
           FROM status_reports r JOIN users u ON u.id = r.author_id
           WHERE r.id = $1"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let milestones = sqlx::query_as!(
        Milestone,
        "SELECT name, planned_date, actual_date FROM report_milestones
         WHERE report_id = $1 ORDER BY position",
        id
    )
    .fetch_all(conn)
    .await?;
    Ok(Some(Report {
        id: row.id,
        project_id: row.project_id,
        status: row.status,
        corrects_report_id: row.corrects_report_id,
        correction_reason: row.correction_reason,
        author_name: row.author_name,
        submitted_at: row.submitted_at,
        version: row.version,
        fields: ReportFields {
            period_start: row.period_start,
            period_end: row.period_end,
            overall_rag: row.overall_rag,
            schedule_rag: row.schedule_rag,
            budget_rag: row.budget_rag,
            scope_rag: row.scope_rag,
            rag_explanation: row.rag_explanation,
            percent_complete: row.percent_complete,
            spend_to_date: row.spend_to_date,
            forecast_at_completion: row.forecast_at_completion,
            highlights: row.highlights,
            issues: row.issues,
            decisions_needed: row.decisions_needed,
            next_steps: row.next_steps,
            milestones,
        },
    }))
}

/// A line in a project's list of reports.
pub struct ReportSummary {
    pub id: i64,
    pub period_start: Date,
    pub period_end: Date,
    pub status: ReportStatus,
    pub overall_rag: Rag,
    pub percent_complete: i16,
    pub corrects_report_id: Option<i64>,
    pub submitted_at: Option<OffsetDateTime>,
}

impl ReportSummary {
    pub fn rag(&self) -> Rag {
        self.overall_rag
    }

    pub fn is_draft(&self) -> bool {
        self.status == ReportStatus::Draft
    }
}

/// A project's reports, newest period first. Drafts only when `include_drafts`.
pub async fn project_reports(
    conn: &mut PgConnection,
    project_id: i64,
    include_drafts: bool,
    limit: i64,
) -> sqlx::Result<Vec<ReportSummary>> {
    sqlx::query_as!(
        ReportSummary,
        r#"SELECT id, period_start, period_end, status AS "status: ReportStatus",
                  overall_rag AS "overall_rag: Rag", percent_complete, corrects_report_id,
                  submitted_at
           FROM status_reports
           WHERE project_id = $1 AND ($2 OR status = 'submitted')
           ORDER BY period_start DESC, id DESC
           LIMIT $3"#,
        project_id,
        include_drafts,
        limit
    )
    .fetch_all(conn)
    .await
}

/// The RAG of the latest report of each of the last `periods` periods of the given
/// projects (a correction counts instead of what it corrects): the trend, in one query.
pub struct TrendPoint {
    pub project_id: i64,
    pub period_end: Date,
    pub overall_rag: Rag,
}

pub async fn rag_trends(
    conn: &mut PgConnection,
    project_ids: &[i64],
    periods: i64,
) -> sqlx::Result<Vec<TrendPoint>> {
    sqlx::query_as!(
        TrendPoint,
        r#"SELECT p.id AS project_id, t.period_end AS "period_end!", t.overall_rag AS "overall_rag!: Rag"
           FROM projects p
           CROSS JOIN LATERAL (
               SELECT DISTINCT ON (r.period_start) r.period_start, r.period_end, r.overall_rag
               FROM status_reports r
               WHERE r.project_id = p.id AND r.status = 'submitted'
               ORDER BY r.period_start DESC, r.id DESC
               LIMIT $2
           ) t
           WHERE p.id = ANY($1)
           ORDER BY p.id, t.period_start"#,
        project_ids,
        periods
    )
    .fetch_all(conn)
    .await
}

/// Raises a project's approved budget by `amount` (an approved budget request), with its
/// history line. Approves a proposed project.
pub async fn add_to_budget(
    conn: &mut PgConnection,
    project_id: i64,
    amount: i64,
    reason: &str,
    decided_by: i64,
) -> sqlx::Result<()> {
    let previous = sqlx::query_scalar!(
        "UPDATE projects p SET approved_budget = p.approved_budget + $2,
                               version = p.version + 1, updated_at = now(),
                               phase = CASE WHEN p.phase = 'proposed' THEN 'approved' ELSE p.phase END
         FROM projects old WHERE p.id = $1 AND old.id = p.id
         RETURNING old.approved_budget",
        project_id,
        amount
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO project_budget_changes (project_id, previous_budget, new_budget, reason, decided_by)
         VALUES ($1, $2, $3, $4, $5)",
        project_id,
        previous,
        previous + amount,
        reason,
        decided_by
    )
    .execute(conn)
    .await?;
    Ok(())
}

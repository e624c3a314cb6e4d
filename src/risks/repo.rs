//! The SQL of the risk register.

use serde::Serialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

use super::model::{self, HeatMap, RiskStatus, Treatment};
use crate::common::dates::today;
use crate::common::format::format_time;
use crate::common::references::{self, Series};
use crate::db::listing::{self, Listing};

#[derive(Debug, Clone, Serialize)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub appetite: Option<i16>,
    pub version: i32,
}

pub async fn categories(conn: &mut PgConnection) -> sqlx::Result<Vec<Category>> {
    sqlx::query_as!(
        Category,
        "SELECT id, name, appetite, version FROM risk_categories ORDER BY position, name"
    )
    .fetch_all(conn)
    .await
}

/// Sets a category's appetite and keeps it in the appetite history; false when the
/// category changed meanwhile.
pub async fn set_appetite(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    appetite: Option<i16>,
    set_by: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE risk_categories SET appetite = $3, version = version + 1
         WHERE id = $1 AND version = $2",
        id,
        version,
        appetite
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "INSERT INTO risk_appetite_history (category_id, appetite, set_by) VALUES ($1, $2, $3)",
        id,
        appetite,
        set_by
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// Why a category name was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CategoryRefusal {
    NameTaken,
    Stale,
}

/// Adds a category at the end of the list.
pub async fn add_category(
    conn: &mut PgConnection,
    name: &str,
) -> sqlx::Result<Result<i64, CategoryRefusal>> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO risk_categories (name, position)
         SELECT $1, coalesce(max(position), 0) + 1 FROM risk_categories
         RETURNING id",
        name
    )
    .fetch_one(conn)
    .await;
    match inserted {
        Ok(id) => Ok(Ok(id)),
        Err(error) if crate::db::is_unique_violation(&error) => Ok(Err(CategoryRefusal::NameTaken)),
        Err(error) => Err(error),
    }
}

/// Renames a category if it is still at `version`.
pub async fn rename_category(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    name: &str,
) -> sqlx::Result<Result<(), CategoryRefusal>> {
    let renamed = sqlx::query!(
        "UPDATE risk_categories SET name = $3, version = version + 1
         WHERE id = $1 AND version = $2",
        id,
        version,
        name
    )
    .execute(conn)
    .await;
    match renamed {
        Ok(done) if done.rows_affected() == 1 => Ok(Ok(())),
        Ok(_) => Ok(Err(CategoryRefusal::Stale)),
        Err(error) if crate::db::is_unique_violation(&error) => Ok(Err(CategoryRefusal::NameTaken)),
        Err(error) => Err(error),
    }
}

/// A risk with its category, appetite and owner.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub category_id: i64,
    pub category_name: String,
    pub appetite: Option<i16>,
    pub owner_id: i64,
    pub owner_name: String,
    /// The projects and objectives it touches: ids and references, in reference order.
    /// Read only with [`Links::Read`] (its page, its form, the register export); empty in
    /// lists, which do not show them.
    pub project_ids: Vec<i64>,
    pub project_references: Vec<String>,
    pub objective_ids: Vec<i64>,
    pub objective_references: Vec<String>,
    pub likelihood: i16,
    pub impact: i16,
    pub controls: String,
    pub residual_likelihood: i16,
    pub residual_impact: i16,
    pub treatment: Treatment,
    pub treatment_plan: String,
    pub next_review_date: Date,
    pub status: RiskStatus,
    pub version: i32,
    /// The board's acceptance above appetite, if any: its decision, the rating it covers
    /// and its expiry.
    pub accepted_decision_id: Option<i64>,
    pub accepted_residual_likelihood: Option<i16>,
    pub accepted_residual_impact: Option<i16>,
    pub accepted_until: Option<Date>,
}

/// Where a risk stands with the board's appetite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppetiteState {
    /// Within appetite, or being treated rather than accepted.
    Fine,
    /// Accepted above appetite by the board, on this very rating, until the date.
    Accepted { until: Date },
    /// Accepted above appetite without a valid board acceptance (none, expired, or for an
    /// earlier rating): an unapproved exception.
    Unapproved,
}

impl Risk {
    /// The projects it touches, as (id, reference).
    pub fn projects(&self) -> Vec<(i64, &str)> {
        self.project_ids
            .iter()
            .copied()
            .zip(self.project_references.iter().map(String::as_str))
            .collect()
    }

    pub fn appetite_state(&self, today: Date) -> AppetiteState {
        if !(self.is_above_appetite() && self.treatment() == Treatment::Accept) {
            return AppetiteState::Fine;
        }
        let same_rating = self.accepted_residual_likelihood == Some(self.residual_likelihood)
            && self.accepted_residual_impact == Some(self.residual_impact);
        match self.accepted_until {
            Some(until) if same_rating && until >= today => AppetiteState::Accepted { until },
            _ => AppetiteState::Unapproved,
        }
    }

    pub fn is_unapproved_exception(&self, today: Date) -> bool {
        self.appetite_state(today) == AppetiteState::Unapproved
    }

    pub fn inherent_score(&self) -> i16 {
        model::score(self.likelihood, self.impact)
    }

    pub fn residual_score(&self) -> i16 {
        model::score(self.residual_likelihood, self.residual_impact)
    }

    pub fn residual_band(&self) -> &'static str {
        model::band(self.residual_score())
    }

    pub fn inherent_band(&self) -> &'static str {
        model::band(self.inherent_score())
    }

    pub fn is_above_appetite(&self) -> bool {
        model::above_appetite(self.residual_score(), self.appetite)
    }

    pub fn treatment(&self) -> Treatment {
        self.treatment
    }

    pub fn status(&self) -> RiskStatus {
        self.status
    }

    pub fn review_overdue(&self, today: Date) -> bool {
        self.status() != RiskStatus::Closed && self.next_review_date < today
    }
}

/// What the register can be filtered and searched by, and where a page continues.
#[derive(Debug, Default, Clone)]
pub struct RiskQuery {
    pub id: Option<i64>,
    pub category_id: Option<i64>,
    pub status: Option<RiskStatus>,
    /// Only risks that are not closed.
    pub open_only: bool,
    /// Only risks whose residual score exceeds their category's appetite.
    pub above_appetite: bool,
    /// Only risks accepted above appetite without a board acceptance valid on this day
    /// for their current rating (see [`AppetiteState::Unapproved`]).
    pub unapproved_exception_on: Option<Date>,
    /// Only risks rated in this cell (likelihood, impact), inherent or residual.
    pub cell: Option<(i16, i16, bool)>,
    /// Full-text search (PostgreSQL `websearch_to_tsquery`).
    pub text: Option<String>,
    /// Only open risks whose review was due before this day.
    pub review_due_before: Option<Date>,
    pub order: RiskOrder,
    /// Continue after this (sort key, reference).
    pub after: Option<(String, String)>,
    pub limit: i64,
    pub links: Links,
}

/// Whether a read includes the projects and objectives each risk touches: two look-ups
/// per risk, more than half the cost of reading a list's rows.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    Read,
    #[default]
    Skip,
}

/// The orders the register lists in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum RiskOrder {
    /// By reference, in number order.
    #[default]
    Reference,
    /// Highest residual score first, then by reference.
    Residual,
}

impl RiskQuery {
    pub fn all(limit: i64) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The statement selecting this query's page of ids: only the filters that are set
    /// (see [`crate::db::listing`]), each backed by an index.
    pub fn selection(&self) -> QueryBuilder<'static, Postgres> {
        let key = match self.order {
            RiskOrder::Reference => "reference_order(r.reference)",
            RiskOrder::Residual => "risk_residual_order(r.residual_likelihood, r.residual_impact)",
        };
        let mut sql = QueryBuilder::new("");
        if let Some(text) = &self.text {
            // The matches first (the full-text index), then their order: no plan can test
            // every risk of the register against the search in turn.
            sql.push(
                "WITH found AS MATERIALIZED (SELECT s.id FROM risks s \
                 WHERE s.search @@ websearch_to_tsquery('english', ",
            )
            .push_bind(text.clone())
            .push(")) ");
        }
        sql.push(format!("SELECT r.id, {key} FROM risks r"));
        if self.text.is_some() {
            sql.push(" JOIN found ON found.id = r.id");
        }
        let mut list = Listing::continuing(sql);
        if self.above_appetite || self.unapproved_exception_on.is_some() {
            // Kept on the risk (migration 0026).
            list.and("r.above_appetite");
        }
        if let Some(id) = self.id {
            list.and("r.id = ").push_bind(id);
        }
        if let Some(category_id) = self.category_id {
            list.and("r.category_id = ").push_bind(category_id);
        }
        if let Some(status) = self.status {
            list.and("r.status = ").push_bind(status);
        }
        if self.open_only {
            list.and("r.status <> 'closed'");
        }
        if let Some(today) = self.unapproved_exception_on {
            list.and(
                "r.status <> 'closed' AND r.treatment = 'accept' AND NOT coalesce(\
                 r.accepted_residual_likelihood = r.residual_likelihood \
                 AND r.accepted_residual_impact = r.residual_impact AND r.accepted_until >= ",
            )
            .push_bind(today)
            .push(", false)");
        }
        if let Some((likelihood, impact, residual)) = self.cell {
            let (l, i) = if residual {
                ("r.residual_likelihood", "r.residual_impact")
            } else {
                ("r.likelihood", "r.impact")
            };
            list.and(&format!("{l} = ")).push_bind(likelihood);
            list.and(&format!("{i} = ")).push_bind(impact);
        }
        if let Some(day) = self.review_due_before {
            list.and("r.status <> 'closed' AND r.next_review_date < ")
                .push_bind(day);
        }
        list.keyset_page(key, "r.reference", self.after.as_ref(), self.limit)
    }
}

/// A risk with the key its page continues after.
pub struct RiskRow {
    pub risk: Risk,
    pub sort_key: String,
}

pub async fn find_risks(conn: &mut PgConnection, query: &RiskQuery) -> sqlx::Result<Vec<RiskRow>> {
    let page = listing::select_ids(conn, query.selection()).await?;
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let risks = by_ids(conn, &ids, query.links).await?;
    Ok(listing::in_page_order(&page, risks, |risk| risk.id)
        .into_iter()
        .map(|(risk, sort_key)| RiskRow { risk, sort_key })
        .collect())
}

/// The risks with these ids, in no particular order.
pub async fn by_ids(conn: &mut PgConnection, ids: &[i64], links: Links) -> sqlx::Result<Vec<Risk>> {
    // The look-ups sit in CASE arms, which PostgreSQL does not evaluate when skipped.
    let rows = sqlx::query!(
        r#"SELECT r.id, r.reference, r.title, r.description, r.category_id,
                  c.name AS category_name, c.appetite, r.owner_id,
                  u.display_name AS owner_name,
                  coalesce(CASE WHEN $2 THEN (
                      SELECT array_agg(p.id ORDER BY p.reference)
                      FROM risk_projects rp JOIN projects p ON p.id = rp.project_id
                      WHERE rp.risk_id = r.id) END, '{}') AS "project_ids!",
                  coalesce(CASE WHEN $2 THEN (
                      SELECT array_agg(p.reference ORDER BY p.reference)
                      FROM risk_projects rp JOIN projects p ON p.id = rp.project_id
                      WHERE rp.risk_id = r.id) END, '{}') AS "project_references!",
                  coalesce(CASE WHEN $2 THEN (
                      SELECT array_agg(o.id ORDER BY o.reference)
                      FROM risk_objectives ro JOIN objectives o ON o.id = ro.objective_id
                      WHERE ro.risk_id = r.id) END, '{}') AS "objective_ids!",
                  coalesce(CASE WHEN $2 THEN (
                      SELECT array_agg(o.reference ORDER BY o.reference)
                      FROM risk_objectives ro JOIN objectives o ON o.id = ro.objective_id
                      WHERE ro.risk_id = r.id) END, '{}') AS "objective_references!",
                  r.likelihood, r.impact, r.controls,
                  r.residual_likelihood, r.residual_impact,
                  r.treatment AS "treatment: Treatment", r.treatment_plan,
                  r.next_review_date, r.status AS "status: RiskStatus", r.version,
                  r.accepted_decision_id,
                  r.accepted_residual_likelihood, r.accepted_residual_impact, r.accepted_until
           FROM risks r
           JOIN risk_categories c ON c.id = r.category_id
           JOIN users u ON u.id = r.owner_id
           WHERE r.id = ANY($1)"#,
        ids,
        links == Links::Read
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Risk {
            id: row.id,
            reference: row.reference,
            title: row.title,
            description: row.description,
            category_id: row.category_id,
            category_name: row.category_name,
            appetite: row.appetite,
            owner_id: row.owner_id,
            owner_name: row.owner_name,
            project_ids: row.project_ids,
            project_references: row.project_references,
            objective_ids: row.objective_ids,
            objective_references: row.objective_references,
            likelihood: row.likelihood,
            impact: row.impact,
            controls: row.controls,
            residual_likelihood: row.residual_likelihood,
            residual_impact: row.residual_impact,
            treatment: row.treatment,
            treatment_plan: row.treatment_plan,
            next_review_date: row.next_review_date,
            status: row.status,
            version: row.version,
            accepted_decision_id: row.accepted_decision_id,
            accepted_residual_likelihood: row.accepted_residual_likelihood,
            accepted_residual_impact: row.accepted_residual_impact,
            accepted_until: row.accepted_until,
        })
        .collect())
}

/// The risks several queries select (one page each, without sort keys), read by id in one
/// statement for all of them.
pub async fn risk_lists<const N: usize>(
    conn: &mut PgConnection,
    queries: [&RiskQuery; N],
) -> sqlx::Result<[Vec<Risk>; N]> {
    let selections = queries.map(RiskQuery::selection);
    listing::several_pages(
        conn,
        selections,
        async |conn, ids| by_ids(conn, ids, Links::Skip).await,
        |risk| risk.id,
    )
    .await
}

/// The risks a query selects, without their sort keys.
pub async fn risks(conn: &mut PgConnection, query: &RiskQuery) -> sqlx::Result<Vec<Risk>> {
    Ok(find_risks(conn, query)
        .await?
        .into_iter()
        .map(|row| row.risk)
        .collect())
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Risk>> {
    Ok(by_ids(conn, &[id], Links::Read).await?.pop())
}

/// A risk's editable fields, validated.
#[derive(Debug, Clone, Serialize)]
pub struct RiskFields {
    pub title: String,
    pub description: String,
    pub category_id: i64,
    pub owner_id: i64,
    pub project_ids: Vec<i64>,
    pub objective_ids: Vec<i64>,
    pub likelihood: i16,
    pub impact: i16,
    pub controls: String,
    pub residual_likelihood: i16,
    pub residual_impact: i16,
    pub treatment: Treatment,
    pub treatment_plan: String,
    pub next_review_date: Date,
    pub status: RiskStatus,
}

pub async fn create(
    conn: &mut PgConnection,
    fields: &RiskFields,
    assessed_by: i64,
) -> sqlx::Result<(i64, String)> {
    let reference = references::next(conn, Series::Risk).await?;
    let row = sqlx::query!(
        "INSERT INTO risks (reference, title, description, category_id, owner_id,
                            likelihood, impact, controls, residual_likelihood,
                            residual_impact, treatment, treatment_plan, next_review_date, status)
         VALUES ($14, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING id, reference",
        fields.title,
        fields.description,
        fields.category_id,
        fields.owner_id,
        fields.likelihood,
        fields.impact,
        fields.controls,
        fields.residual_likelihood,
        fields.residual_impact,
        fields.treatment.as_str(),
        fields.treatment_plan,
        fields.next_review_date,
        fields.status.as_str(),
        reference
    )
    .fetch_one(&mut *conn)
    .await?;
    set_links(conn, row.id, fields).await?;
    record_assessment(conn, row.id, fields, assessed_by).await?;
    Ok((row.id, row.reference))
}

/// Replaces the projects and objectives a risk touches with those of `fields`.
async fn set_links(conn: &mut PgConnection, risk_id: i64, fields: &RiskFields) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM risk_projects WHERE risk_id = $1", risk_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO risk_projects (risk_id, project_id) SELECT $1, unnest($2::bigint[])",
        risk_id,
        &fields.project_ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!("DELETE FROM risk_objectives WHERE risk_id = $1", risk_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO risk_objectives (risk_id, objective_id) SELECT $1, unnest($2::bigint[])",
        risk_id,
        &fields.objective_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn record_assessment(
    conn: &mut PgConnection,
    risk_id: i64,
    fields: &RiskFields,
    assessed_by: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO risk_assessments (risk_id, likelihood, impact, residual_likelihood,
                                       residual_impact, status, treatment, assessed_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        risk_id,
        fields.likelihood,
        fields.impact,
        fields.residual_likelihood,
        fields.residual_impact,
        fields.status.as_str(),
        fields.treatment.as_str(),
        assessed_by
    )
    .execute(&mut *conn)
    .await?;
    // Where the rating stands against the last quarter end, for the board's "movement
    // since the quarter end".
    let quarter_end = model::last_quarter_end(today());
    sqlx::query!(
        "INSERT INTO risk_movements (quarter_end, risk_id, before, now)
         VALUES ($1, $2,
                 (SELECT a.residual_likelihood * a.residual_impact FROM risk_assessments a
                  WHERE a.risk_id = $2 AND a.assessed_at < $3
                  ORDER BY a.assessed_at DESC, a.id DESC LIMIT 1),
                 $4)
         ON CONFLICT (quarter_end, risk_id)
             DO UPDATE SET before = EXCLUDED.before, now = EXCLUDED.now",
        quarter_end,
        risk_id,
        model::end_of_day(quarter_end),
        model::score(fields.residual_likelihood, fields.residual_impact)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Saves an edit; a changed rating is added to the history. False when the risk changed
/// meanwhile.
pub async fn update(
    conn: &mut PgConnection,
    before: &Risk,
    version: i32,
    fields: &RiskFields,
    assessed_by: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE risks SET title = $3, description = $4, category_id = $5, owner_id = $6,
                          likelihood = $7, impact = $8,
                          controls = $9, residual_likelihood = $10, residual_impact = $11,
                          treatment = $12, treatment_plan = $13, next_review_date = $14,
                          status = $15, version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2",
        before.id,
        version,
        fields.title,
        fields.description,
        fields.category_id,
        fields.owner_id,
        fields.likelihood,
        fields.impact,
        fields.controls,
        fields.residual_likelihood,
        fields.residual_impact,
        fields.treatment.as_str(),
        fields.treatment_plan,
        fields.next_review_date,
        fields.status.as_str()
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    set_links(conn, before.id, fields).await?;
    let rating_changed = (
        before.likelihood,
        before.impact,
        before.residual_likelihood,
        before.residual_impact,
    ) != (
        fields.likelihood,
        fields.impact,
        fields.residual_likelihood,
        fields.residual_impact,
    );
    if rating_changed {
        record_assessment(conn, before.id, fields, assessed_by).await?;
    }
    Ok(true)
}

/// One rating in a risk's history.
pub struct Assessment {
    pub likelihood: i16,
    pub impact: i16,
    pub residual_likelihood: i16,
    pub residual_impact: i16,
    pub assessed_by_name: String,
    pub assessed_at: OffsetDateTime,
}

impl Assessment {
    pub fn inherent_score(&self) -> i16 {
        model::score(self.likelihood, self.impact)
    }

    pub fn residual_score(&self) -> i16 {
        model::score(self.residual_likelihood, self.residual_impact)
    }

    pub fn when(&self) -> String {
        format_time(self.assessed_at)
    }
}

pub async fn history(conn: &mut PgConnection, risk_id: i64) -> sqlx::Result<Vec<Assessment>> {
    sqlx::query_as!(
        Assessment,
        "SELECT a.likelihood, a.impact, a.residual_likelihood, a.residual_impact,
                u.display_name AS assessed_by_name, a.assessed_at
         FROM risk_assessments a JOIN users u ON u.id = a.assessed_by
         WHERE a.risk_id = $1 ORDER BY a.assessed_at DESC, a.id DESC LIMIT 200",
        risk_id
    )
    .fetch_all(conn)
    .await
}

/// The heat maps of the open register (closed risks left out): inherent and residual.
pub async fn heat_maps(conn: &mut PgConnection) -> sqlx::Result<(HeatMap, HeatMap)> {
    let rows = sqlx::query!(
        // Kept up to date by a trigger on `risks` (migration 0020).
        r#"SELECT likelihood, impact, residual_likelihood, residual_impact, risks AS count
           FROM risk_rating_counts WHERE risks > 0"#
    )
    .fetch_all(conn)
    .await?;
    let mut inherent = HeatMap::default();
    let mut residual = HeatMap::default();
    for row in rows {
        inherent.add(row.likelihood, row.impact, row.count);
        residual.add(row.residual_likelihood, row.residual_impact, row.count);
    }
    Ok((inherent, residual))
}

/// A risk as the register stood at a past moment: its assessment in force then.
pub struct PastRisk {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub category_name: String,
    pub likelihood: i16,
    pub impact: i16,
    pub residual_likelihood: i16,
    pub residual_impact: i16,
    pub status: RiskStatus,
    pub treatment: Treatment,
    /// The category's appetite in force at that moment.
    pub appetite: Option<i16>,
}

impl PastRisk {
    pub fn is_above_appetite(&self) -> bool {
        self.appetite
            .is_some_and(|appetite| self.residual_score() > appetite)
    }

    pub fn inherent_score(&self) -> i16 {
        model::score(self.likelihood, self.impact)
    }

    pub fn residual_score(&self) -> i16 {
        model::score(self.residual_likelihood, self.residual_impact)
    }

    pub fn residual_band(&self) -> &'static str {
        model::band(self.residual_score())
    }
}

/// The register as it stood just before `moment`: risks recorded by then, each with the
/// last assessment made before it, in number order (`RSK-9999` before `RSK-10000`), a page
/// continuing after the reference `after`.
pub async fn as_of(
    conn: &mut PgConnection,
    moment: OffsetDateTime,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<PastRisk>> {
    sqlx::query_as!(
        PastRisk,
        r#"SELECT r.id, r.reference, r.title, c.name AS category_name,
                  a.likelihood AS "likelihood!", a.impact AS "impact!",
                  a.residual_likelihood AS "residual_likelihood!",
                  a.residual_impact AS "residual_impact!", a.status AS "status!: RiskStatus",
                  a.treatment AS "treatment!: Treatment",
                  (SELECT h.appetite FROM risk_appetite_history h
                   WHERE h.category_id = r.category_id AND h.set_at < $1
                   ORDER BY h.set_at DESC, h.id DESC LIMIT 1) AS appetite
           FROM risks r
           JOIN risk_categories c ON c.id = r.category_id
           CROSS JOIN LATERAL (
               SELECT likelihood, impact, residual_likelihood, residual_impact, status, treatment
               FROM risk_assessments
               WHERE risk_id = r.id AND assessed_at < $1
               ORDER BY assessed_at DESC, id DESC
               LIMIT 1
           ) a
           -- Not `$2 IS NULL OR ...`: its generic plan could not start the index at $2.
           WHERE reference_order(r.reference) > coalesce(reference_order($2::text), '')
           ORDER BY reference_order(r.reference)
           LIMIT $3"#,
        moment,
        after,
        limit
    )
    .fetch_all(conn)
    .await
}

/// How a risk's residual score moved since a moment (`before` is `None` for a new risk).
pub struct Movement {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub before: Option<i16>,
    pub now: i16,
}

/// The risks whose residual score changed since `moment`, or which are new, biggest
/// rise first.
pub async fn movement_since(
    conn: &mut PgConnection,
    quarter_end: Date,
    limit: i64,
) -> sqlx::Result<Vec<Movement>> {
    // Kept with every rating (`record_assessment`): the largest rises first, from an index.
    sqlx::query_as!(
        Movement,
        r#"SELECT r.id, r.reference, r.title, m.before, m.now AS "now!"
           FROM risk_movements m
           JOIN risks r ON r.id = m.risk_id
           WHERE m.quarter_end = $1 AND m.before IS DISTINCT FROM m.now
             AND r.status <> 'closed'
           ORDER BY m.rise DESC, m.risk_id
           LIMIT $2"#,
        quarter_end,
        limit
    )
    .fetch_all(conn)
    .await
}

/// An action treating a risk.
pub struct Action {
    pub id: i64,
    pub risk_id: i64,
    pub risk_reference: String,
    pub risk_title: String,
    pub description: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub due_date: Date,
    pub done_at: Option<OffsetDateTime>,
}

impl Action {
    /// Whether `user_id` may mark it done: whoever carries it out, or the risk's owner.
    pub fn may_be_completed_by(&self, user_id: i64, risk_owner_id: i64) -> bool {
        self.done_at.is_none() && (user_id == self.owner_id || user_id == risk_owner_id)
    }

    pub fn is_overdue(&self, today: Date) -> bool {
        self.done_at.is_none() && self.due_date < today
    }
}

/// A risk's actions, open ones first, soonest due first.
pub async fn actions_of(
    conn: &mut PgConnection,
    risk_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<Action>> {
    sqlx::query_as!(
        Action,
        "SELECT a.id, a.risk_id, r.reference AS risk_reference, r.title AS risk_title,
                a.description, a.owner_id, u.display_name AS owner_name, a.due_date, a.done_at
         FROM risk_actions a
         JOIN risks r ON r.id = a.risk_id
         JOIN users u ON u.id = a.owner_id
         WHERE a.risk_id = $1
         ORDER BY a.done_at IS NOT NULL, a.due_date, a.id
         LIMIT $2",
        risk_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Every open action due before `day`, soonest due first.
pub async fn actions_overdue(
    conn: &mut PgConnection,
    day: Date,
    limit: i64,
) -> sqlx::Result<Vec<Action>> {
    sqlx::query_as!(
        Action,
        "SELECT a.id, a.risk_id, r.reference AS risk_reference, r.title AS risk_title,
                a.description, a.owner_id, u.display_name AS owner_name, a.due_date, a.done_at
         FROM risk_actions a
         JOIN risks r ON r.id = a.risk_id
         JOIN users u ON u.id = a.owner_id
         WHERE a.done_at IS NULL AND a.due_date < $1
         ORDER BY a.due_date, a.id
         LIMIT $2",
        day,
        limit
    )
    .fetch_all(conn)
    .await
}

pub async fn add_action(
    conn: &mut PgConnection,
    risk_id: i64,
    description: &str,
    owner_id: i64,
    due_date: Date,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO risk_actions (risk_id, description, owner_id, due_date)
         VALUES ($1, $2, $3, $4) RETURNING id",
        risk_id,
        description,
        owner_id,
        due_date
    )
    .fetch_one(conn)
    .await
}

/// Marks an open action of `risk_id` done, if `user_id` carries it out or owns the risk;
/// false if there is no such open action of theirs.
pub async fn complete_action(
    conn: &mut PgConnection,
    risk_id: i64,
    action_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE risk_actions a SET done_at = now()
         FROM risks r
         WHERE a.id = $1 AND a.risk_id = $2 AND r.id = a.risk_id AND a.done_at IS NULL
           AND $3 IN (a.owner_id, r.owner_id)",
        action_id,
        risk_id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The board accepted this rating of the risk until `until` (decision `decision_id`).
pub async fn record_acceptance(
    conn: &mut PgConnection,
    risk_id: i64,
    decision_id: i64,
    residual_likelihood: i16,
    residual_impact: i16,
    until: Date,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE risks SET accepted_decision_id = $2, accepted_residual_likelihood = $3,
                          accepted_residual_impact = $4, accepted_until = $5,
                          status = 'accepted', version = version + 1, updated_at = now()
         WHERE id = $1",
        risk_id,
        decision_id,
        residual_likelihood,
        residual_impact,
        until
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// How many title matches a suggestion orders at most.
const SUGGESTION_CANDIDATES: i64 = 200;

/// Up to `limit` risks for a field being typed: the one whose reference it is, then
/// some of those whose title has its words (the last one as a prefix), in number order:
/// (reference, title). At most [`SUGGESTION_CANDIDATES`] matches are ordered, so a word
/// most risks share costs no more than a rare one; typing more narrows them.
pub async fn suggest(
    conn: &mut PgConnection,
    typed: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    // A reference has letters and digits: without any, nothing can match.
    let Some(words) = crate::web::suggest::prefix_tsquery(typed) else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query!(
        r#"SELECT reference AS "reference!", title AS "title!" FROM (
               SELECT reference, title FROM risks WHERE reference = upper($1)
               UNION ALL
               (SELECT reference, title FROM risks
                WHERE search @@ to_tsquery('english', $2) AND reference <> upper($1)
                LIMIT $4)
           ) found
           ORDER BY reference = upper($1) DESC, reference_order(reference)
           LIMIT $3"#,
        typed,
        words,
        limit,
        SUGGESTION_CANDIDATES
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.reference, row.title))
        .collect())
}

/// A risk as the page of a project it touches lists it.
pub struct ProjectRisk {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub residual_score: i32,
    pub status: RiskStatus,
}

/// The risks that touch a project, the worst (residual score) first.
pub async fn risks_for_project(
    conn: &mut PgConnection,
    project_id: i64,
) -> sqlx::Result<Vec<ProjectRisk>> {
    sqlx::query_as!(
        ProjectRisk,
        r#"SELECT r.id, r.reference, r.title,
                  (r.residual_likelihood * r.residual_impact)::int AS "residual_score!",
                  r.status AS "status: RiskStatus"
           FROM risk_projects rp JOIN risks r ON r.id = rp.risk_id
           WHERE rp.project_id = $1
           ORDER BY r.status = 'closed', 4 DESC, r.id
           LIMIT 500"#,
        project_id
    )
    .fetch_all(conn)
    .await
}

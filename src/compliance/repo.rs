//! The SQL of frameworks, controls, their mappings, tests and evidence, coverage and the
//! Statement of Applicability.

use serde::Serialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

use super::model::{Coverage, Frequency, Implementation, TestResult};
use crate::common::format::format_time;
use crate::common::references::{self, Series};
use crate::db::listing::{self, Listing};

#[derive(Debug, Clone, Serialize)]
pub struct Framework {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub version: String,
    pub publisher: String,
    pub origin: String,
    pub has_statement_of_applicability: bool,
    /// Requirements controls map to.
    pub assessable: i64,
}

pub async fn frameworks(conn: &mut PgConnection) -> sqlx::Result<Vec<Framework>> {
    sqlx::query_as!(
        Framework,
        r#"SELECT f.id, f.code, f.name, f.short_name, f.version, f.publisher, f.origin,
                  f.has_statement_of_applicability,
                  (SELECT count(*) FROM framework_requirements r
                   WHERE r.framework_id = f.id AND r.assessable) AS "assessable!"
           FROM frameworks f ORDER BY f.origin, f.name LIMIT 200"#
    )
    .fetch_all(conn)
    .await
}

pub async fn framework(conn: &mut PgConnection, code: &str) -> sqlx::Result<Option<Framework>> {
    Ok(frameworks(conn)
        .await?
        .into_iter()
        .find(|framework| framework.code == code))
}

/// A requirement offered when mapping a control: "ISO 27001 A.5.15 Access control".
#[derive(Debug, Clone, Serialize)]
pub struct RequirementOption {
    pub id: i64,
    pub framework_name: String,
    pub label: String,
}

pub async fn requirement_options(conn: &mut PgConnection) -> sqlx::Result<Vec<RequirementOption>> {
    sqlx::query_as!(
        RequirementOption,
        r#"SELECT r.id, f.name AS framework_name,
                  f.short_name || ' ' || r.identifier || ' ' || r.title AS "label!"
           FROM framework_requirements r JOIN frameworks f ON f.id = r.framework_id
           WHERE r.assessable
           ORDER BY f.origin, f.name, r.position
           LIMIT 5000"#
    )
    .fetch_all(conn)
    .await
}

/// One requirement of a framework with where it stands: whether it applies, the controls
/// mapped to it, how many are implemented, tested and effective, and the evidence behind
/// them, as things stood at `moment` (now, for today's report).
#[derive(Debug, Clone, Serialize)]
pub struct CoverageRow {
    pub requirement_id: i64,
    pub identifier: String,
    pub title: String,
    pub group_identifier: Option<String>,
    pub applicable: Option<bool>,
    pub justification: Option<String>,
    pub applicability_version: Option<i32>,
    pub mapped: i64,
    pub implemented: i64,
    pub tested: i64,
    pub effective: i64,
    pub controls: Vec<String>,
    pub control_ids: Vec<i64>,
    pub evidence: i64,
}

impl CoverageRow {
    pub fn coverage(&self) -> Coverage {
        self.standing().coverage()
    }

    fn standing(&self) -> Standing {
        Standing {
            applicable: self.applicable,
            mapped: self.mapped,
            implemented: self.implemented,
            tested: self.tested,
            effective: self.effective,
        }
    }

    pub fn controls_text(&self) -> String {
        self.controls.join(", ")
    }

    /// The controls behind the requirement, as (id, reference), for links to their pages
    /// and evidence.
    pub fn control_links(&self) -> Vec<(i64, &str)> {
        self.control_ids
            .iter()
            .copied()
            .zip(self.controls.iter().map(String::as_str))
            .collect()
    }
}

/// The figures a requirement's coverage is judged by.
struct Standing {
    applicable: Option<bool>,
    mapped: i64,
    implemented: i64,
    tested: i64,
    effective: i64,
}

impl Standing {
    fn coverage(&self) -> Coverage {
        Coverage::of(
            self.applicable,
            self.mapped,
            self.implemented,
            self.tested,
            self.effective,
        )
    }
}

/// Every framework's coverage as it stands now, by framework id: one statement over the
/// current state (live mappings, each control's status and latest test), where
/// [`coverage`] rebuilds any moment from the history.
pub async fn summaries_now(
    conn: &mut PgConnection,
) -> sqlx::Result<std::collections::HashMap<i64, CoverageSummary>> {
    let rows = sqlx::query!(
        r#"SELECT r.framework_id, a.applicable AS "applicable?",
                  count(c.id) AS "mapped!",
                  count(c.id) FILTER (WHERE c.implementation = 'implemented') AS "implemented!",
                  count(c.id) FILTER (WHERE test.result IN ('effective', 'ineffective'))
                      AS "tested!",
                  count(c.id) FILTER (WHERE c.implementation = 'implemented'
                                      AND test.result = 'effective') AS "effective!"
           FROM framework_requirements r
           LEFT JOIN applicability a ON a.requirement_id = r.id
           LEFT JOIN control_requirements cr ON cr.requirement_id = r.id
                                            AND cr.unmapped_at IS NULL
           LEFT JOIN controls c ON c.id = cr.control_id
           LEFT JOIN LATERAL (SELECT t.result FROM control_tests t WHERE t.control_id = c.id
                              ORDER BY t.tested_on DESC, t.id DESC LIMIT 1) test ON true
           WHERE r.assessable
           GROUP BY r.id, a.applicable"#
    )
    .fetch_all(conn)
    .await?;
    let mut summaries = std::collections::HashMap::<i64, CoverageSummary>::new();
    for row in rows {
        summaries
            .entry(row.framework_id)
            .or_default()
            .count(&Standing {
                applicable: row.applicable,
                mapped: row.mapped,
                implemented: row.implemented,
                tested: row.tested,
                effective: row.effective,
            });
    }
    Ok(summaries)
}

pub async fn coverage(
    conn: &mut PgConnection,
    framework_id: i64,
    moment: OffsetDateTime,
) -> sqlx::Result<Vec<CoverageRow>> {
    // Each control as it stood at `moment`: existing, mapped then, with its status and
    // latest test recorded by then.
    sqlx::query_as!(
        CoverageRow,
        r#"SELECT r.id AS requirement_id, r.identifier, r.title,
                  r.parent_identifier AS group_identifier,
                  decided.applicable AS "applicable?", decided.justification AS "justification?",
                  a.version AS "applicability_version?",
                  count(c.id) AS "mapped!",
                  count(c.id) FILTER (WHERE c.implementation = 'implemented') AS "implemented!",
                  count(c.id) FILTER (WHERE c.result IN ('effective', 'ineffective')) AS "tested!",
                  count(c.id) FILTER (WHERE c.implementation = 'implemented'
                                      AND c.result = 'effective') AS "effective!",
                  coalesce(array_agg(c.reference ORDER BY c.reference)
                           FILTER (WHERE c.id IS NOT NULL), '{}') AS "controls!",
                  coalesce(array_agg(c.id ORDER BY c.reference)
                           FILTER (WHERE c.id IS NOT NULL), '{}') AS "control_ids!",
                  coalesce(sum(c.evidence), 0)::bigint AS "evidence!"
           FROM framework_requirements r
           LEFT JOIN applicability a ON a.requirement_id = r.id
           LEFT JOIN LATERAL (SELECT h.applicable, h.justification FROM applicability_history h
                              WHERE h.requirement_id = r.id AND h.decided_at <= $2
                              ORDER BY h.decided_at DESC, h.id DESC LIMIT 1) decided ON true
           LEFT JOIN LATERAL (
               SELECT ct.id, ct.reference, status.implementation, test.result,
                      (SELECT count(*) FROM evidence e
                       WHERE e.control_id = ct.id AND e.uploaded_at <= $2) AS evidence
               FROM control_requirements cr
               JOIN controls ct ON ct.id = cr.control_id
               JOIN LATERAL (SELECT h.implementation FROM control_status_history h
                             WHERE h.control_id = ct.id AND h.changed_at <= $2
                             ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) status ON true
               LEFT JOIN LATERAL (SELECT t.result FROM control_tests t
                                  WHERE t.control_id = ct.id AND t.recorded_at <= $2
                                  ORDER BY t.tested_on DESC, t.id DESC LIMIT 1) test ON true
               WHERE cr.requirement_id = r.id AND cr.mapped_at <= $2
                 AND (cr.unmapped_at IS NULL OR cr.unmapped_at > $2)
           ) c ON true
           WHERE r.framework_id = $1 AND r.assessable
           GROUP BY r.id, decided.applicable, decided.justification, a.version
           ORDER BY r.position"#,
        framework_id,
        moment
    )
    .fetch_all(conn)
    .await
}

/// A framework's numbers: how many requirements are mapped, implemented, tested and
/// covered, and how many are gaps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CoverageSummary {
    pub requirements: usize,
    pub not_applicable: usize,
    pub mapped: usize,
    pub implemented: usize,
    pub tested: usize,
    pub covered: usize,
    pub gaps: usize,
}

impl CoverageSummary {
    pub fn of(rows: &[CoverageRow]) -> Self {
        let mut summary = Self::default();
        for row in rows {
            summary.count(&row.standing());
        }
        summary
    }

    fn count(&mut self, standing: &Standing) {
        let coverage = standing.coverage();
        self.requirements += 1;
        self.not_applicable += usize::from(coverage == Coverage::NotApplicable);
        self.mapped += usize::from(standing.mapped > 0);
        self.implemented += usize::from(standing.implemented > 0);
        self.tested += usize::from(standing.tested > 0);
        self.covered += usize::from(coverage == Coverage::Covered);
        self.gaps += usize::from(coverage.is_gap());
    }

    /// Covered requirements as a share of those that apply, in whole percent.
    pub fn covered_percent(&self) -> usize {
        let applicable = self.requirements - self.not_applicable;
        (self.covered * 100).checked_div(applicable).unwrap_or(0)
    }
}

/// Records whether an ISO requirement applies, and why; false when someone changed it
/// meanwhile (`expected_version` is `None` for a first decision).
pub async fn set_applicability(
    conn: &mut PgConnection,
    requirement_id: i64,
    expected_version: Option<i32>,
    applicable: bool,
    justification: &str,
    decided_by: i64,
) -> sqlx::Result<bool> {
    let changed = sqlx::query!(
        "INSERT INTO applicability AS a (requirement_id, applicable, justification, decided_by)
         VALUES ($1, $3, $4, $5)
         ON CONFLICT (requirement_id) DO UPDATE
             SET applicable = $3, justification = $4, decided_by = $5, decided_at = now(),
                 version = a.version + 1
             WHERE a.version = $2",
        requirement_id,
        expected_version,
        applicable,
        justification,
        decided_by
    )
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query!(
        "INSERT INTO applicability_history (requirement_id, applicable, justification, decided_by)
         VALUES ($1, $2, $3, $4)",
        requirement_id,
        applicable,
        justification,
        decided_by
    )
    .execute(conn)
    .await?;
    Ok(true)
}

/// A control of the organisation, with its mappings, links and latest test.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub description: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub frequency: Frequency,
    pub implementation: Implementation,
    pub na_justification: String,
    pub version: i32,
    pub latest_result: Option<TestResult>,
    pub latest_tested_on: Option<Date>,
    pub latest_tester: Option<String>,
    pub requirement_ids: Vec<i64>,
    pub requirement_labels: Vec<String>,
    pub policy_ids: Vec<i64>,
    pub policy_references: Vec<String>,
    pub risk_ids: Vec<i64>,
    pub risk_references: Vec<String>,
    /// Evidence past its valid-until date.
    pub expired_evidence: i64,
}

impl Control {
    pub fn implementation(&self) -> Implementation {
        self.implementation
    }

    pub fn frequency_label(&self) -> &'static str {
        self.frequency.label()
    }

    pub fn result_label(&self) -> &'static str {
        self.latest_result
            .map(TestResult::label)
            .unwrap_or("Not tested")
    }

    /// How the latest test reads at a glance: `ok`, `bad` or `warn` (untested).
    pub fn result_tone(&self) -> &'static str {
        match self.latest_result {
            Some(TestResult::Effective) => "ok",
            Some(TestResult::Ineffective) => "bad",
            Some(TestResult::NotTested) | None => "warn",
        }
    }

    pub fn policies(&self) -> Vec<(i64, &str)> {
        self.policy_ids
            .iter()
            .copied()
            .zip(self.policy_references.iter().map(String::as_str))
            .collect()
    }

    pub fn risks(&self) -> Vec<(i64, &str)> {
        self.risk_ids
            .iter()
            .copied()
            .zip(self.risk_references.iter().map(String::as_str))
            .collect()
    }
}

/// Which controls a list shows.
#[derive(Debug, Default)]
pub struct ControlQuery {
    pub implementation: Option<String>,
    pub text: Option<String>,
    /// Continue after this reference (keyset paging).
    pub after: Option<String>,
    pub limit: i64,
}

impl ControlQuery {
    /// The statement selecting this query's page of ids, with only the filters that are
    /// set (see [`crate::db::listing`]).
    fn selection(&self) -> QueryBuilder<'static, Postgres> {
        let mut list = Listing::new("SELECT c.id, c.reference FROM controls c");
        if let Some(implementation) = &self.implementation {
            list.and("c.implementation = ")
                .push_bind(implementation.clone());
        }
        if let Some(text) = &self.text {
            list.and("(c.reference ILIKE ")
                .push_bind(text.clone())
                .push(
                    " OR to_tsvector('english', c.title || ' ' || c.description) \
                     @@ websearch_to_tsquery('english', ",
                )
                .push_bind(text.clone())
                .push("))");
        }
        if let Some(after) = &self.after {
            list.and("c.reference > ").push_bind(after.clone());
        }
        list.order_by("c.reference", self.limit)
    }
}

pub async fn find_controls(
    conn: &mut PgConnection,
    query: &ControlQuery,
    today: Date,
) -> sqlx::Result<Vec<Control>> {
    let page = listing::select_ids(conn, query.selection()).await?;
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let controls = controls_by_id(conn, &ids, today).await?;
    Ok(
        listing::in_page_order(&page, controls, |control| control.id)
            .into_iter()
            .map(|(control, _)| control)
            .collect(),
    )
}

/// The controls with these ids, in no particular order.
async fn controls_by_id(
    conn: &mut PgConnection,
    ids: &[i64],
    today: Date,
) -> sqlx::Result<Vec<Control>> {
    sqlx::query_as!(
        Control,
        r#"SELECT c.id, c.reference, c.title, c.description, c.owner_id,
                  u.display_name AS owner_name, c.frequency AS "frequency: Frequency",
                  c.implementation AS "implementation: Implementation",
                  c.na_justification, c.version,
                  test.result AS "latest_result?: TestResult",
                  test.tested_on AS "latest_tested_on?",
                  test.tester AS "latest_tester?",
                  coalesce(req.ids, '{}') AS "requirement_ids!",
                  coalesce(req.labels, '{}') AS "requirement_labels!",
                  coalesce(pol.ids, '{}') AS "policy_ids!",
                  coalesce(pol.refs, '{}') AS "policy_references!",
                  coalesce(rsk.ids, '{}') AS "risk_ids!",
                  coalesce(rsk.refs, '{}') AS "risk_references!",
                  (SELECT count(*) FROM evidence e
                   WHERE e.control_id = c.id AND e.valid_until < $2) AS "expired_evidence!"
           FROM controls c
           JOIN users u ON u.id = c.owner_id
           LEFT JOIN LATERAL (SELECT t.result, t.tested_on, tu.display_name AS tester
                              FROM control_tests t JOIN users tu ON tu.id = t.tester_id
                              WHERE t.control_id = c.id
                              ORDER BY t.tested_on DESC, t.id DESC LIMIT 1) test ON true
           LEFT JOIN LATERAL (
               SELECT array_agg(r.id ORDER BY f.name, r.position) AS ids,
                      array_agg(f.short_name || ' ' || r.identifier ORDER BY f.name, r.position) AS labels
               FROM control_requirements cr
               JOIN framework_requirements r ON r.id = cr.requirement_id
               JOIN frameworks f ON f.id = r.framework_id
               WHERE cr.control_id = c.id AND cr.unmapped_at IS NULL) req ON true
           LEFT JOIN LATERAL (
               SELECT array_agg(p.id ORDER BY p.reference) AS ids,
                      array_agg(p.reference ORDER BY p.reference) AS refs
               FROM control_policies cp JOIN policies p ON p.id = cp.policy_id
               WHERE cp.control_id = c.id) pol ON true
           LEFT JOIN LATERAL (
               SELECT array_agg(k.id ORDER BY k.reference) AS ids,
                      array_agg(k.reference ORDER BY k.reference) AS refs
               FROM control_risks ck JOIN risks k ON k.id = ck.risk_id
               WHERE ck.control_id = c.id) rsk ON true
           WHERE c.id = ANY($1)"#,
        ids,
        today
    )
    .fetch_all(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: i64, today: Date) -> sqlx::Result<Option<Control>> {
    Ok(controls_by_id(conn, &[id], today).await?.into_iter().next())
}

/// What the control form saves.
#[derive(Debug, Clone, Serialize)]
pub struct ControlFields {
    pub title: String,
    pub description: String,
    pub owner_id: i64,
    pub frequency: Frequency,
    pub implementation: Implementation,
    pub na_justification: String,
    pub requirement_ids: Vec<i64>,
    pub policy_ids: Vec<i64>,
    pub risk_ids: Vec<i64>,
}

pub async fn create(
    conn: &mut PgConnection,
    fields: &ControlFields,
    user_id: i64,
) -> sqlx::Result<(i64, String)> {
    let reference = references::next(conn, Series::Control).await?;
    let row = sqlx::query!(
        "INSERT INTO controls (reference, title, description, owner_id, frequency,
                               implementation, na_justification)
         VALUES ($7, $1, $2, $3, $4, $5, $6)
         RETURNING id, reference",
        fields.title,
        fields.description,
        fields.owner_id,
        fields.frequency.as_str(),
        fields.implementation.as_str(),
        fields.na_justification,
        reference
    )
    .fetch_one(&mut *conn)
    .await?;
    record_status(conn, row.id, fields, user_id).await?;
    set_links(conn, row.id, fields, user_id).await?;
    Ok((row.id, row.reference))
}

/// Saves an edit if the control is still at `version`; false when it changed meanwhile.
pub async fn update(
    conn: &mut PgConnection,
    before: &Control,
    version: i32,
    fields: &ControlFields,
    user_id: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE controls SET title = $3, description = $4, owner_id = $5, frequency = $6,
                             implementation = $7, na_justification = $8,
                             version = version + 1, updated_at = now()
         WHERE id = $1 AND version = $2",
        before.id,
        version,
        fields.title,
        fields.description,
        fields.owner_id,
        fields.frequency.as_str(),
        fields.implementation.as_str(),
        fields.na_justification
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    if (
        before.implementation.as_str(),
        before.na_justification.as_str(),
    ) != (
        fields.implementation.as_str(),
        fields.na_justification.as_str(),
    ) {
        record_status(conn, before.id, fields, user_id).await?;
    }
    set_links(conn, before.id, fields, user_id).await?;
    Ok(true)
}

async fn record_status(
    conn: &mut PgConnection,
    control_id: i64,
    fields: &ControlFields,
    user_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO control_status_history (control_id, implementation, na_justification, changed_by)
         VALUES ($1, $2, $3, $4)",
        control_id,
        fields.implementation.as_str(),
        fields.na_justification,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Makes the control's mappings and links those of `fields`: mappings no longer wanted
/// are ended (kept for past reports), new ones start now.
async fn set_links(
    conn: &mut PgConnection,
    control_id: i64,
    fields: &ControlFields,
    user_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE control_requirements SET unmapped_at = clock_timestamp()
         WHERE control_id = $1 AND unmapped_at IS NULL AND NOT (requirement_id = ANY($2))",
        control_id,
        &fields.requirement_ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO control_requirements (control_id, requirement_id, mapped_by)
         SELECT $1, wanted, $3 FROM unnest($2::bigint[]) AS wanted
         WHERE NOT EXISTS (SELECT FROM control_requirements cr
                           WHERE cr.control_id = $1 AND cr.requirement_id = wanted
                             AND cr.unmapped_at IS NULL)",
        control_id,
        &fields.requirement_ids,
        user_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM control_policies WHERE control_id = $1",
        control_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO control_policies (control_id, policy_id) SELECT $1, unnest($2::bigint[])",
        control_id,
        &fields.policy_ids
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM control_risks WHERE control_id = $1",
        control_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO control_risks (control_id, risk_id) SELECT $1, unnest($2::bigint[])",
        control_id,
        &fields.risk_ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A test of a control and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct ControlTest {
    pub result: TestResult,
    pub tested_on: Date,
    pub tester_name: String,
    pub notes: String,
    #[serde(skip)]
    pub recorded_at: OffsetDateTime,
}

impl ControlTest {
    pub fn result_label(&self) -> &'static str {
        self.result.label()
    }

    pub fn recorded(&self) -> String {
        format_time(self.recorded_at)
    }
}

pub async fn tests(conn: &mut PgConnection, control_id: i64) -> sqlx::Result<Vec<ControlTest>> {
    sqlx::query_as!(
        ControlTest,
        r#"SELECT t.result AS "result: TestResult", t.tested_on, u.display_name AS tester_name,
                  t.notes, t.recorded_at
           FROM control_tests t JOIN users u ON u.id = t.tester_id
           WHERE t.control_id = $1
           ORDER BY t.tested_on DESC, t.id DESC
           LIMIT 500"#,
        control_id
    )
    .fetch_all(conn)
    .await
}

pub async fn record_test(
    conn: &mut PgConnection,
    control_id: i64,
    result: TestResult,
    tested_on: Date,
    notes: &str,
    tester_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO control_tests (control_id, result, tested_on, notes, tester_id)
         VALUES ($1, $2, $3, $4, $5)",
        control_id,
        result.as_str(),
        tested_on,
        notes,
        tester_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An evidence file's record, without its content.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub id: i64,
    pub control_id: i64,
    pub control_reference: String,
    pub title: String,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub about_date: Date,
    pub valid_until: Option<Date>,
    pub uploader_name: String,
    #[serde(skip)]
    pub uploaded_at: OffsetDateTime,
}

impl Evidence {
    pub fn is_expired(&self, today: Date) -> bool {
        self.valid_until.is_some_and(|until| until < today)
    }

    pub fn uploaded(&self) -> String {
        format_time(self.uploaded_at)
    }

    pub fn size_text(&self) -> String {
        match self.size_bytes {
            bytes if bytes < 1024 => format!("{bytes} B"),
            bytes if bytes < 1024 * 1024 => format!("{:.1} KiB", bytes as f64 / 1024.0),
            bytes => format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0)),
        }
    }
}

/// The evidence of one control, newest first.
pub async fn evidence(
    conn: &mut PgConnection,
    control_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<Evidence>> {
    sqlx::query_as!(
        Evidence,
        "SELECT e.id, e.control_id, c.reference AS control_reference, e.title, e.original_name,
                e.content_type, e.size_bytes, e.sha256, e.about_date, e.valid_until,
                u.display_name AS uploader_name, e.uploaded_at
         FROM evidence e
         JOIN controls c ON c.id = e.control_id
         JOIN users u ON u.id = e.uploaded_by
         WHERE e.control_id = $1
         ORDER BY e.about_date DESC, e.id DESC
         LIMIT $2",
        control_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// A new evidence file.
#[derive(Debug, Clone, Serialize)]
pub struct NewEvidence {
    pub control_id: i64,
    pub title: String,
    pub original_name: String,
    pub content_type: String,
    pub sha256: String,
    pub about_date: Date,
    pub valid_until: Option<Date>,
    pub size_bytes: i64,
    /// The file's bytes when they are kept in the database; `None` when they were written
    /// to the evidence directory.
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
}

pub async fn add_evidence(
    conn: &mut PgConnection,
    new: &NewEvidence,
    uploaded_by: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO evidence (control_id, title, original_name, content_type, size_bytes, sha256,
                               about_date, valid_until, uploaded_by, content, stored_in)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                 CASE WHEN $10::bytea IS NULL THEN 'directory' ELSE 'database' END)
         RETURNING id",
        new.control_id,
        new.title,
        new.original_name,
        new.content_type,
        new.size_bytes,
        new.sha256,
        new.about_date,
        new.valid_until,
        uploaded_by,
        new.content
    )
    .fetch_one(conn)
    .await
}

/// An evidence file to download: its bytes, or `None` when they are in the evidence
/// directory under the file's SHA-256.
pub struct EvidenceFile {
    pub original_name: String,
    pub content_type: String,
    pub sha256: String,
    pub content: Option<Vec<u8>>,
}

pub async fn evidence_file(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<EvidenceFile>> {
    sqlx::query_as!(
        EvidenceFile,
        "SELECT original_name, content_type, sha256, content FROM evidence WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// A control as the page of a risk or a policy it covers lists it.
#[derive(Debug, Clone)]
pub struct CoveringControl {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub implementation: Implementation,
    pub latest_result: Option<TestResult>,
}

impl CoveringControl {
    pub fn result_label(&self) -> &'static str {
        self.latest_result
            .map(TestResult::label)
            .unwrap_or("Not tested")
    }
}

/// The controls that cover a risk, by reference.
pub async fn controls_for_risk(
    conn: &mut PgConnection,
    risk_id: i64,
) -> sqlx::Result<Vec<CoveringControl>> {
    sqlx::query_as!(
        CoveringControl,
        r#"SELECT c.id, c.reference, c.title,
                  c.implementation AS "implementation: Implementation",
                  (SELECT t.result FROM control_tests t WHERE t.control_id = c.id
                   ORDER BY t.tested_on DESC, t.id DESC LIMIT 1) AS "latest_result?: TestResult"
           FROM control_risks cr JOIN controls c ON c.id = cr.control_id
           WHERE cr.risk_id = $1
           ORDER BY c.id
           LIMIT 500"#,
        risk_id
    )
    .fetch_all(conn)
    .await
}

/// The controls that put a policy into practice, by reference.
pub async fn controls_for_policy(
    conn: &mut PgConnection,
    policy_id: i64,
) -> sqlx::Result<Vec<CoveringControl>> {
    sqlx::query_as!(
        CoveringControl,
        r#"SELECT c.id, c.reference, c.title,
                  c.implementation AS "implementation: Implementation",
                  (SELECT t.result FROM control_tests t WHERE t.control_id = c.id
                   ORDER BY t.tested_on DESC, t.id DESC LIMIT 1) AS "latest_result?: TestResult"
           FROM control_policies cp JOIN controls c ON c.id = cp.control_id
           WHERE cp.policy_id = $1
           ORDER BY c.id
           LIMIT 500"#,
        policy_id
    )
    .fetch_all(conn)
    .await
}

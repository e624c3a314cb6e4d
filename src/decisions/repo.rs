//! The SQL of the decision log: board resolutions and management decisions.

use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

use crate::approvals::model::RequestStatus;
use crate::common::format::format_time;
use crate::db::listing::{self, Listing};
use crate::text_enum::text_enum;

text_enum! {
    pub enum DecisionKind {
        Resolution => ("resolution", "Board resolution"),
        Management => ("management", "Management decision"),
    }
}

text_enum! {
    /// The life of a management decision (ADR style).
    pub enum DecisionStatus {
        Proposed => ("proposed", "Proposed"),
        Accepted => ("accepted", "Accepted"),
        Superseded => ("superseded", "Superseded"),
        Deprecated => ("deprecated", "Deprecated"),
    }
}

/// A decision record as the log and its page show it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub id: i64,
    pub reference: String,
    pub kind: DecisionKind,
    pub question: String,
    pub request_id: Option<i64>,
    pub request_reference: Option<String>,
    pub project_id: Option<i64>,
    pub project_reference: Option<String>,
    pub project_name: Option<String>,
    /// How a resolution's request ended.
    pub outcome: Option<RequestStatus>,
    pub tally: Option<serde_json::Value>,
    pub content_version: Option<i32>,
    pub content_hash: Option<String>,
    /// Where a management decision stands.
    pub status: Option<DecisionStatus>,
    pub context: String,
    pub options: String,
    pub decision: String,
    pub consequences: String,
    pub superseded_by: Option<i64>,
    pub superseded_by_reference: Option<String>,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub version: i32,
    pub decided_at: OffsetDateTime,
}

impl Decision {
    pub fn kind(&self) -> DecisionKind {
        self.kind
    }

    pub fn is_resolution(&self) -> bool {
        self.kind() == DecisionKind::Resolution
    }

    pub fn status(&self) -> Option<DecisionStatus> {
        self.status
    }

    pub fn is_proposed(&self) -> bool {
        self.status == Some(DecisionStatus::Proposed)
    }

    pub fn is_accepted(&self) -> bool {
        self.status == Some(DecisionStatus::Accepted)
    }

    /// The outcome of a resolution, or the status of a management decision, as stored
    /// (for styling and filters).
    pub fn state_key(&self) -> &'static str {
        match (self.outcome, self.status) {
            (Some(outcome), _) => outcome.as_str(),
            (None, Some(status)) => status.as_str(),
            (None, None) => "",
        }
    }

    /// The same, as people read it.
    pub fn state_label(&self) -> &'static str {
        match (self.outcome, self.status) {
            (Some(outcome), _) => outcome.label(),
            (None, Some(status)) => status.label(),
            (None, None) => "",
        }
    }

    pub fn when(&self) -> String {
        format_time(self.decided_at)
    }

    /// The tally's list under `key` (votes, recusals) of a resolution.
    pub fn tally_list(&self, key: &str) -> Vec<serde_json::Value> {
        self.tally
            .as_ref()
            .and_then(|tally| tally[key].as_array().cloned())
            .unwrap_or_default()
    }

    pub fn tally_number(&self, key: &str) -> i64 {
        self.tally
            .as_ref()
            .and_then(|tally| tally[key].as_i64())
            .unwrap_or_default()
    }

    /// Sections of a management decision with their headings.
    pub fn sections(&self) -> [(&'static str, &str); 4] {
        [
            ("Context", &self.context),
            ("Options considered", &self.options),
            ("Decision", &self.decision),
            ("Consequences", &self.consequences),
        ]
    }
}

/// What the decision log can be filtered by, and where a page continues.
#[derive(Debug, Default, Clone)]
pub struct DecisionFilter {
    pub kind: Option<DecisionKind>,
    /// A resolution's outcome or a management decision's status.
    pub state: Option<String>,
    pub project_id: Option<i64>,
    /// Resolutions of requests about this risk (its acceptance above appetite).
    pub risk_id: Option<i64>,
    /// Resolutions of requests about this policy (publications and exceptions).
    pub policy_id: Option<i64>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    /// Continue after this (decided_at, id), newest first.
    pub before: Option<(OffsetDateTime, i64)>,
    pub limit: i64,
}

/// A record decisions can be about, found by its reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    Project(i64),
    Risk(i64),
    Policy(i64),
}

/// The project, risk or policy with this reference (`PRJ-0005`, `RSK-0042`, `POL-0007`).
pub async fn record_by_reference(
    conn: &mut PgConnection,
    reference: &str,
) -> sqlx::Result<Option<Record>> {
    let found = sqlx::query!(
        r#"SELECT 'project' AS "kind!", id FROM projects WHERE reference = $1
           UNION ALL SELECT 'risk', id FROM risks WHERE reference = $1
           UNION ALL SELECT 'policy', id FROM policies WHERE reference = $1
           LIMIT 1"#,
        reference
    )
    .fetch_optional(conn)
    .await?;
    Ok(found.and_then(|row| match (row.kind.as_str(), row.id) {
        ("project", Some(id)) => Some(Record::Project(id)),
        ("risk", Some(id)) => Some(Record::Risk(id)),
        ("policy", Some(id)) => Some(Record::Policy(id)),
        _ => None,
    }))
}

pub async fn find_decisions(
    conn: &mut PgConnection,
    filter: &DecisionFilter,
) -> sqlx::Result<Vec<Decision>> {
    let page = listing::select_ids(conn, filter.selection()).await?;
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let decisions = by_ids(conn, &ids).await?;
    Ok(
        listing::in_page_order(&page, decisions, |decision| decision.id)
            .into_iter()
            .map(|(decision, _)| decision)
            .collect(),
    )
}

impl DecisionFilter {
    /// The statement selecting this filter's page of ids, newest first: only the filters
    /// that are set (see [`crate::db::listing`]). The page continues after its last
    /// row's time and id, so the selection's sort key is left empty.
    pub fn selection(&self) -> QueryBuilder<'static, Postgres> {
        let mut list = Listing::new("SELECT d.id, ''::text FROM decisions d");
        if let Some(kind) = self.kind {
            list.and("d.kind = ").push_bind(kind);
        }
        if let Some(state) = &self.state {
            list.and("coalesce(d.outcome, d.status) = ")
                .push_bind(state.clone());
        }
        if let Some(project_id) = self.project_id {
            list.and("d.project_id = ").push_bind(project_id);
        }
        if let Some(from) = self.from {
            list.and("d.decided_at >= ").push_bind(from).push("::date");
        }
        if let Some(to) = self.to {
            list.and("d.decided_at < ").push_bind(to).push("::date + 1");
        }
        if let Some((decided_at, id)) = self.before {
            list.and("(d.decided_at, d.id) < (")
                .push_bind(decided_at)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        // The requests about a risk or policy first (their indexes), computed once.
        if let Some(risk_id) = self.risk_id {
            list.and(
                "d.request_id = ANY(ARRAY(SELECT ra.request_id FROM risk_acceptances ra \
                 WHERE ra.risk_id = ",
            )
            .push_bind(risk_id)
            .push("))");
        }
        if let Some(policy_id) = self.policy_id {
            list.and(
                "d.request_id = ANY(ARRAY(SELECT pp.request_id FROM policy_publications pp \
                 JOIN policy_versions pv ON pv.id = pp.policy_version_id WHERE pv.policy_id = ",
            )
            .push_bind(policy_id)
            .push(" UNION ALL SELECT pe.request_id FROM policy_exceptions pe WHERE pe.policy_id = ")
            .push_bind(policy_id)
            .push("))");
        }
        list.order_by("d.decided_at DESC, d.id DESC", self.limit)
    }
}

/// The decisions with these ids, in no particular order.
pub async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<Decision>> {
    sqlx::query_as!(
        Decision,
        r#"SELECT d.id, d.reference, d.kind AS "kind: DecisionKind", d.question, d.request_id,
                  a.reference AS "request_reference?", d.project_id,
                  p.reference AS "project_reference?", p.name AS "project_name?",
                  d.outcome AS "outcome: RequestStatus", d.tally, d.content_version,
                  d.content_hash, d.status AS "status: DecisionStatus", d.context,
                  d.options, d.decision, d.consequences, d.superseded_by,
                  s.reference AS "superseded_by_reference?", d.author_id,
                  u.display_name AS "author_name?", d.version, d.decided_at
           FROM decisions d
           LEFT JOIN approval_requests a ON a.id = d.request_id
           LEFT JOIN projects p ON p.id = d.project_id
           LEFT JOIN decisions s ON s.id = d.superseded_by
           LEFT JOIN users u ON u.id = d.author_id
           WHERE d.id = ANY($1)"#,
        ids
    )
    .fetch_all(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Decision>> {
    Ok(by_ids(conn, &[id]).await?.pop())
}

pub async fn find_by_reference(
    conn: &mut PgConnection,
    reference: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM decisions WHERE reference = $1", reference)
        .fetch_optional(conn)
        .await
}

/// What a management decision says, validated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ManagementFields {
    pub title: String,
    pub project_id: Option<i64>,
    pub context: String,
    pub options: String,
    pub decision: String,
    pub consequences: String,
}

pub async fn create_management(
    conn: &mut PgConnection,
    reference: &str,
    author_id: i64,
    fields: &ManagementFields,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO decisions (reference, kind, question, project_id, context, options, decision,
                                consequences, status, author_id)
         VALUES ($1, 'management', $2, $3, $4, $5, $6, $7, 'proposed', $8)
         RETURNING id",
        reference,
        fields.title,
        fields.project_id,
        fields.context,
        fields.options,
        fields.decision,
        fields.consequences,
        author_id
    )
    .fetch_one(conn)
    .await
}

/// Edits a proposed decision; false when it changed meanwhile or is no longer proposed.
pub async fn update_proposed(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    fields: &ManagementFields,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE decisions SET question = $3, project_id = $4, context = $5, options = $6,
                              decision = $7, consequences = $8, version = version + 1
         WHERE id = $1 AND version = $2 AND kind = 'management' AND status = 'proposed'",
        id,
        version,
        fields.title,
        fields.project_id,
        fields.context,
        fields.options,
        fields.decision,
        fields.consequences
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Moves a management decision on: proposed → accepted (dated now), accepted →
/// deprecated, or accepted → superseded by `successor`. False when the move does not
/// apply (changed meanwhile, or not allowed from its status).
pub async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    to: DecisionStatus,
    successor: Option<i64>,
) -> sqlx::Result<bool> {
    let from = match to {
        DecisionStatus::Accepted => DecisionStatus::Proposed,
        DecisionStatus::Superseded | DecisionStatus::Deprecated => DecisionStatus::Accepted,
        DecisionStatus::Proposed => return Ok(false),
    };
    let updated = sqlx::query!(
        "UPDATE decisions SET status = $4, superseded_by = $5, version = version + 1,
                              decided_at = CASE WHEN $4 = 'accepted' THEN now() ELSE decided_at END
         WHERE id = $1 AND version = $2 AND kind = 'management' AND status = $3",
        id,
        version,
        from.as_str(),
        to.as_str(),
        successor
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

//! The SQL of requests, votes, recusals, decisions and fiscal years.

use serde::Serialize;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::model::{Choice, Count, RequestStatus, Rule, SpendType};
use crate::web::money::format_minor;
use crate::web::page::format_time;

/// The next reference of a kind in a year: `REQ-2026-0001`, `DEC-2026-0001`, ...
pub async fn next_reference(
    conn: &mut PgConnection,
    prefix: &str,
    year: i32,
) -> sqlx::Result<String> {
    let number = sqlx::query_scalar!(
        "INSERT INTO reference_counters (prefix, year, last) VALUES ($1, $2, 1)
         ON CONFLICT (prefix, year) DO UPDATE SET last = reference_counters.last + 1
         RETURNING last",
        prefix,
        year
    )
    .fetch_one(conn)
    .await?;
    Ok(format!("{prefix}-{year}-{number:04}"))
}

/// A budget request's content: what the board reads and votes on.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetContent {
    pub title: String,
    pub summary: String,
    pub project_id: i64,
    pub amount: i64,
    pub spend_type: SpendType,
    pub fiscal_year: i32,
    pub due_date: Date,
    pub benefits: String,
    pub costs: String,
    pub risks: String,
    pub alternatives: String,
    pub hide_tally: bool,
}

impl BudgetContent {
    /// The hash of what the board reads: a vote binds to it.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(canonical))
    }
}

pub async fn create_budget_request(
    conn: &mut PgConnection,
    reference: &str,
    requester_id: i64,
    rule: Rule,
    content: &BudgetContent,
) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar!(
        "INSERT INTO approval_requests (reference, kind, title, summary, requester_id, project_id,
                                        due_date, quorum_percent, majority_percent, hide_tally,
                                        content_hash)
         VALUES ($1, 'budget', $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id",
        reference,
        content.title,
        content.summary,
        requester_id,
        content.project_id,
        content.due_date,
        rule.quorum_percent,
        rule.majority_percent,
        content.hide_tally,
        content.hash()
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "INSERT INTO budget_requests (request_id, project_id, amount, spend_type, fiscal_year,
                                      benefits, costs, risks, alternatives)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        id,
        content.project_id,
        content.amount,
        content.spend_type.as_str(),
        content.fiscal_year,
        content.benefits,
        content.costs,
        content.risks,
        content.alternatives
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Replaces a draft's or an open request's content. An open request gets a new content
/// version. Returns the new content version, or `None` when the request changed meanwhile
/// or is closed.
pub async fn update_budget_request(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    content: &BudgetContent,
) -> sqlx::Result<Option<i32>> {
    let updated = sqlx::query_scalar!(
        "UPDATE approval_requests
         SET title = $3, summary = $4, project_id = $5, due_date = $6, hide_tally = $7,
             content_hash = $8, version = version + 1, updated_at = now(),
             content_version = content_version + CASE WHEN status = 'open' THEN 1 ELSE 0 END
         WHERE id = $1 AND version = $2 AND status IN ('draft', 'open')
         RETURNING content_version",
        id,
        version,
        content.title,
        content.summary,
        content.project_id,
        content.due_date,
        content.hide_tally,
        content.hash()
    )
    .fetch_optional(&mut *conn)
    .await?;
    if updated.is_some() {
        sqlx::query!(
            "UPDATE budget_requests SET project_id = $2, amount = $3, spend_type = $4,
                    fiscal_year = $5, benefits = $6, costs = $7, risks = $8, alternatives = $9
             WHERE request_id = $1",
            id,
            content.project_id,
            content.amount,
            content.spend_type.as_str(),
            content.fiscal_year,
            content.benefits,
            content.costs,
            content.risks,
            content.alternatives
        )
        .execute(conn)
        .await?;
    }
    Ok(updated)
}

/// A request as people read it, with its budget subject.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: i64,
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub requester_id: i64,
    pub requester_name: String,
    pub project_id: Option<i64>,
    pub project_reference: Option<String>,
    pub project_name: Option<String>,
    pub project_manager_id: Option<i64>,
    pub quorum_percent: i32,
    pub majority_percent: i32,
    pub content_version: i32,
    pub content_hash: String,
    pub opened_at: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    pub version: i32,
    pub decision_id: Option<i64>,
    pub decision_reference: Option<String>,
    pub title: String,
    pub summary: String,
    pub due_date: Date,
    pub hide_tally: bool,
    pub amount: i64,
    pub spend_type: String,
    pub fiscal_year: i32,
    pub benefits: String,
    pub costs: String,
    pub risks: String,
    pub alternatives: String,
    /// For a risk acceptance: the risk and the assessment the board is asked to accept.
    pub accept_risk_id: Option<i64>,
    pub accept_risk_reference: Option<String>,
    pub accept_risk_title: Option<String>,
    pub accept_residual_likelihood: Option<i16>,
    pub accept_residual_impact: Option<i16>,
    pub accept_appetite: Option<i16>,
    pub accept_justification: Option<String>,
    pub accept_expires_on: Option<Date>,
    /// For a policy publication or exception: the policy, and the version to publish.
    pub policy_id: Option<i64>,
    pub policy_reference: Option<String>,
    pub policy_title: Option<String>,
    pub policy_owner_id: Option<i64>,
    pub policy_version_id: Option<i64>,
    pub policy_version_number: Option<i32>,
    pub exception_scope: Option<String>,
    pub exception_justification: Option<String>,
    pub exception_controls: Option<String>,
    pub exception_starts_on: Option<Date>,
    pub exception_expires_on: Option<Date>,
}

impl Request {
    pub fn kind(&self) -> super::model::RequestKind {
        self.kind
            .parse()
            .unwrap_or(super::model::RequestKind::Budget)
    }

    pub fn is_budget(&self) -> bool {
        self.kind() == super::model::RequestKind::Budget
    }

    /// The residual score a risk acceptance is about.
    pub fn accept_score(&self) -> i16 {
        self.accept_residual_likelihood.unwrap_or_default()
            * self.accept_residual_impact.unwrap_or_default()
    }

    pub fn status(&self) -> RequestStatus {
        self.status.parse().unwrap_or(RequestStatus::Draft)
    }

    pub fn rule(&self) -> Rule {
        Rule {
            quorum_percent: self.quorum_percent,
            majority_percent: self.majority_percent,
        }
    }

    pub fn amount_text(&self) -> String {
        if self.is_budget() {
            format_minor(self.amount)
        } else {
            "—".to_owned()
        }
    }

    /// What is asked, in a few words: the amount, or the kind of request.
    pub fn what(&self) -> String {
        if self.is_budget() {
            format!("{} {}", format_minor(self.amount), self.spend_type_label())
        } else {
            self.kind().label().to_owned()
        }
    }

    pub fn spend_type_label(&self) -> &'static str {
        self.spend_type
            .parse::<SpendType>()
            .map(SpendType::label)
            .unwrap_or("")
    }

    /// The business case's sections with their headings.
    pub fn business_case(&self) -> [(&'static str, &str); 4] {
        [
            ("Benefits", &self.benefits),
            ("Costs", &self.costs),
            ("Risks", &self.risks),
            ("Alternatives considered", &self.alternatives),
        ]
    }

    pub fn short_hash(&self) -> &str {
        &self.content_hash[..self.content_hash.len().min(12)]
    }

    /// The content as typed into the request form.
    pub fn content(&self) -> BudgetContent {
        BudgetContent {
            title: self.title.clone(),
            summary: self.summary.clone(),
            project_id: self.project_id.unwrap_or_default(),
            amount: self.amount,
            spend_type: self.spend_type.parse().unwrap_or(SpendType::Capex),
            fiscal_year: self.fiscal_year,
            due_date: self.due_date,
            benefits: self.benefits.clone(),
            costs: self.costs.clone(),
            risks: self.risks.clone(),
            alternatives: self.alternatives.clone(),
            hide_tally: self.hide_tally,
        }
    }
}

/// Requests in a list: one request, or those of a requester, or those open.
#[derive(Debug, Default)]
pub struct RequestFilter {
    pub id: Option<i64>,
    pub requester_id: Option<i64>,
    pub project_id: Option<i64>,
    pub open_only: bool,
    /// Only open requests this board member may vote on and has not voted on yet.
    pub awaiting_vote_of: Option<i64>,
    /// Newest first (by id) instead of open first by due date, continuing before this id.
    pub newest_first: bool,
    pub before_id: Option<i64>,
    pub limit: i64,
}

pub async fn find_requests(
    conn: &mut PgConnection,
    filter: &RequestFilter,
) -> sqlx::Result<Vec<Request>> {
    sqlx::query_as!(
        Request,
        r#"SELECT a.id, a.reference, a.kind, a.status, a.requester_id,
                  u.display_name AS requester_name, a.project_id,
                  p.reference AS "project_reference?", p.name AS "project_name?",
                  p.manager_id AS "project_manager_id?",
                  a.quorum_percent, a.majority_percent, a.content_version, a.content_hash,
                  a.opened_at, a.closed_at, a.version,
                  d.id AS "decision_id?", d.reference AS "decision_reference?",
                  a.title, a.summary, a.due_date, a.hide_tally,
                  coalesce(b.amount, 0) AS "amount!", coalesce(b.spend_type, '') AS "spend_type!",
                  coalesce(b.fiscal_year, 0) AS "fiscal_year!", coalesce(b.benefits, '') AS "benefits!",
                  coalesce(b.costs, '') AS "costs!", coalesce(b.risks, '') AS "risks!",
                  coalesce(b.alternatives, '') AS "alternatives!",
                  ra.risk_id AS "accept_risk_id?", rk.reference AS "accept_risk_reference?",
                  rk.title AS "accept_risk_title?",
                  ra.residual_likelihood AS "accept_residual_likelihood?",
                  ra.residual_impact AS "accept_residual_impact?",
                  ra.appetite AS "accept_appetite?", ra.justification AS "accept_justification?",
                  ra.expires_on AS "accept_expires_on?",
                  pol.id AS "policy_id?", pol.reference AS "policy_reference?",
                  pol.title AS "policy_title?", pol.owner_id AS "policy_owner_id?",
                  pp.policy_version_id AS "policy_version_id?",
                  pv.number AS "policy_version_number?",
                  pe.scope AS "exception_scope?", pe.justification AS "exception_justification?",
                  pe.compensating_controls AS "exception_controls?",
                  pe.starts_on AS "exception_starts_on?", pe.expires_on AS "exception_expires_on?"
           FROM approval_requests a
           JOIN users u ON u.id = a.requester_id
           LEFT JOIN budget_requests b ON b.request_id = a.id
           LEFT JOIN risk_acceptances ra ON ra.request_id = a.id
           LEFT JOIN risks rk ON rk.id = ra.risk_id
           LEFT JOIN policy_publications pp ON pp.request_id = a.id
           LEFT JOIN policy_versions pv ON pv.id = pp.policy_version_id
           LEFT JOIN policy_exceptions pe ON pe.request_id = a.id
           LEFT JOIN policies pol ON pol.id = coalesce(pv.policy_id, pe.policy_id)
           LEFT JOIN projects p ON p.id = a.project_id
           LEFT JOIN decisions d ON d.request_id = a.id
           WHERE ($1::bigint IS NULL OR a.id = $1)
             AND ($2::bigint IS NULL OR a.requester_id = $2)
             AND ($3::bigint IS NULL OR a.project_id = $3)
             AND (NOT $4 OR a.status = 'open')
             AND ($6::bigint IS NULL OR (
                   a.status = 'open' AND a.requester_id <> $6
                   AND p.manager_id IS DISTINCT FROM $6
                   AND pol.owner_id IS DISTINCT FROM $6
                   AND NOT EXISTS (SELECT FROM recusals r WHERE r.request_id = a.id AND r.member_id = $6)
                   AND NOT EXISTS (SELECT FROM votes v WHERE v.request_id = a.id AND v.voter_id = $6
                                                       AND v.ended_at IS NULL)))
             AND ($8::bigint IS NULL OR a.id < $8)
           ORDER BY CASE WHEN $7 THEN NULL ELSE a.status = 'open' END DESC,
                    CASE WHEN $7 THEN NULL ELSE a.due_date END,
                    a.id DESC
           LIMIT $5"#,
        filter.id,
        filter.requester_id,
        filter.project_id,
        filter.open_only,
        filter.limit,
        filter.awaiting_vote_of,
        filter.newest_first,
        filter.before_id
    )
    .fetch_all(conn)
    .await
}

pub async fn get_request(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Request>> {
    let filter = RequestFilter {
        id: Some(id),
        limit: 1,
        ..RequestFilter::default()
    };
    Ok(find_requests(conn, &filter).await?.into_iter().next())
}

/// Locks a request for the rest of the transaction: votes, recusals, edits and closing of
/// one request happen one after the other.
pub async fn lock_request(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Request>> {
    sqlx::query!(
        "SELECT id FROM approval_requests WHERE id = $1 FOR UPDATE",
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    get_request(conn, id).await
}

pub async fn set_status(
    conn: &mut PgConnection,
    id: i64,
    status: RequestStatus,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE approval_requests
         SET status = $2, version = version + 1, updated_at = now(),
             opened_at = CASE WHEN $2 = 'open' THEN now() ELSE opened_at END,
             closed_at = CASE WHEN $2 IN ('draft', 'open') THEN NULL ELSE now() END
         WHERE id = $1",
        id,
        status.as_str()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An active board member.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub display_name: String,
    pub is_chair: bool,
}

pub async fn board_members(conn: &mut PgConnection) -> sqlx::Result<Vec<Member>> {
    sqlx::query_as!(
        Member,
        "SELECT u.id, u.display_name, u.is_chair FROM users u
         JOIN user_roles r ON r.user_id = u.id AND r.role = 'board'
         WHERE u.is_active
         ORDER BY u.display_name
         LIMIT 1000"
    )
    .fetch_all(conn)
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct Recusal {
    pub member_id: i64,
    pub member_name: String,
    pub reason: String,
    #[serde(skip)]
    pub declared_at: OffsetDateTime,
}

pub async fn recusals(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<Recusal>> {
    sqlx::query_as!(
        Recusal,
        "SELECT r.member_id, u.display_name AS member_name, r.reason, r.declared_at
         FROM recusals r JOIN users u ON u.id = r.member_id
         WHERE r.request_id = $1 ORDER BY r.declared_at",
        request_id
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_recusal(
    conn: &mut PgConnection,
    request_id: i64,
    member_id: i64,
    reason: &str,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        "INSERT INTO recusals (request_id, member_id, reason) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        request_id,
        member_id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

#[derive(Debug, Clone, Serialize)]
pub struct Vote {
    pub voter_id: i64,
    pub voter_name: String,
    pub content_version: i32,
    pub choice: String,
    pub comment: String,
    #[serde(skip)]
    pub cast_at: OffsetDateTime,
    #[serde(skip)]
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
}

impl Vote {
    pub fn choice(&self) -> Choice {
        self.choice.parse().unwrap_or(Choice::Abstain)
    }

    pub fn is_live(&self) -> bool {
        self.ended_at.is_none()
    }

    pub fn was_set_aside(&self) -> bool {
        self.end_reason.as_deref() == Some("set_aside")
    }

    pub fn when(&self) -> String {
        format_time(self.cast_at)
    }
}

/// Every vote on a request, live and ended, oldest first.
pub async fn votes(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<Vote>> {
    sqlx::query_as!(
        Vote,
        "SELECT v.voter_id, u.display_name AS voter_name, v.content_version, v.choice, v.comment,
                v.cast_at, v.ended_at, v.end_reason
         FROM votes v JOIN users u ON u.id = v.voter_id
         WHERE v.request_id = $1
         ORDER BY v.cast_at, v.id",
        request_id
    )
    .fetch_all(conn)
    .await
}

/// Ends a member's live vote (when they change it).
pub async fn end_live_vote(
    conn: &mut PgConnection,
    request_id: i64,
    voter_id: i64,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE votes SET ended_at = now(), end_reason = $3
         WHERE request_id = $1 AND voter_id = $2 AND ended_at IS NULL",
        request_id,
        voter_id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets aside every live vote (the request's content changed); returns their voters.
pub async fn set_aside_votes(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "UPDATE votes SET ended_at = now(), end_reason = 'set_aside'
         WHERE request_id = $1 AND ended_at IS NULL
         RETURNING voter_id",
        request_id
    )
    .fetch_all(conn)
    .await
}

pub async fn insert_vote(
    conn: &mut PgConnection,
    request_id: i64,
    voter_id: i64,
    content_version: i32,
    choice: Choice,
    comment: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO votes (request_id, voter_id, content_version, choice, comment)
         VALUES ($1, $2, $3, $4, $5)",
        request_id,
        voter_id,
        content_version,
        choice.as_str(),
        comment
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts the live votes of the eligible members.
pub fn count(eligible: &[i64], votes: &[Vote]) -> Count {
    let live = || {
        votes
            .iter()
            .filter(|vote| vote.is_live() && eligible.contains(&vote.voter_id))
    };
    let of = |choice: Choice| live().filter(|vote| vote.choice() == choice).count() as i64;
    Count {
        eligible: eligible.len() as i64,
        approve: of(Choice::Approve),
        reject: of(Choice::Reject),
        abstain: of(Choice::Abstain),
    }
}

pub async fn insert_resolution(
    conn: &mut PgConnection,
    reference: &str,
    request: &Request,
    outcome: &str,
    tally: &serde_json::Value,
    closed_by: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO decisions (reference, kind, request_id, project_id, question,
                                content_version, content_hash, outcome, tally, closed_by)
         VALUES ($1, 'resolution', $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id",
        reference,
        request.id,
        request.project_id,
        format!("{}: {}", request.reference, request.title),
        request.content_version,
        request.content_hash,
        outcome,
        tally,
        closed_by
    )
    .fetch_one(conn)
    .await
}

/// Adds an approved amount to the fiscal year's committed total.
pub async fn commit_to_fiscal_year(
    conn: &mut PgConnection,
    year: i32,
    amount: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO fiscal_years (year, committed) VALUES ($1, $2)
         ON CONFLICT (year) DO UPDATE SET committed = fiscal_years.committed + excluded.committed",
        year,
        amount
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A fiscal year's envelope and committed total.
pub struct FiscalYear {
    pub year: i32,
    pub envelope: i64,
    pub committed: i64,
}

pub async fn fiscal_years(conn: &mut PgConnection) -> sqlx::Result<Vec<FiscalYear>> {
    sqlx::query_as!(
        FiscalYear,
        "SELECT year, envelope, committed FROM fiscal_years ORDER BY year DESC LIMIT 50"
    )
    .fetch_all(conn)
    .await
}

/// Sets a year's envelope if it still is `expected` (optimistic concurrency); returns
/// false when someone changed it meanwhile.
pub async fn set_envelope(
    conn: &mut PgConnection,
    year: i32,
    expected: i64,
    envelope: i64,
) -> sqlx::Result<bool> {
    let changed = sqlx::query!(
        "INSERT INTO fiscal_years AS f (year, envelope) VALUES ($1, $3)
         ON CONFLICT (year) DO UPDATE SET envelope = $3 WHERE f.envelope = $2",
        year,
        expected,
        envelope
    )
    .execute(conn)
    .await?;
    Ok(changed.rows_affected() == 1)
}

/// Approved budget requests summed per fiscal year, spend type and objective.
pub struct CommittedLine {
    pub fiscal_year: i32,
    pub spend_type: String,
    pub objective_reference: String,
    pub objective_title: String,
    pub amount: i64,
}

pub async fn committed_lines(conn: &mut PgConnection) -> sqlx::Result<Vec<CommittedLine>> {
    sqlx::query_as!(
        CommittedLine,
        r#"SELECT b.fiscal_year, b.spend_type, o.reference AS objective_reference,
                  o.title AS objective_title, sum(b.amount)::bigint AS "amount!"
           FROM budget_requests b
           JOIN approval_requests a ON a.id = b.request_id AND a.status = 'approved'
           JOIN projects p ON p.id = b.project_id
           JOIN objectives o ON o.id = p.objective_id
           GROUP BY b.fiscal_year, b.spend_type, o.reference, o.title
           ORDER BY b.fiscal_year DESC, o.reference, b.spend_type"#
    )
    .fetch_all(conn)
    .await
}

/// What a risk acceptance asks the board: this rating of this risk, above this appetite,
/// accepted until this date, for these reasons.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptanceContent {
    pub risk_id: i64,
    pub residual_likelihood: i16,
    pub residual_impact: i16,
    pub appetite: i16,
    pub justification: String,
    pub expires_on: Date,
}

/// The envelope of a request whose subject lives in its own table.
pub struct NewRequest<'a> {
    pub reference: &'a str,
    pub kind: super::model::RequestKind,
    pub title: &'a str,
    pub summary: &'a str,
    pub requester_id: i64,
    pub project_id: Option<i64>,
    pub due_date: Date,
    pub rule: Rule,
    /// What the board reads, hashed: a vote binds to it.
    pub content_hash: String,
}

/// The SHA-256 of a subject's canonical JSON.
pub fn content_hash(content: &impl Serialize) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        serde_json::to_vec(content).unwrap_or_default(),
    ))
}

async fn insert_request(conn: &mut PgConnection, new: &NewRequest<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO approval_requests (reference, kind, title, summary, requester_id, project_id,
                                        due_date, quorum_percent, majority_percent, content_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         RETURNING id",
        new.reference,
        new.kind.as_str(),
        new.title,
        new.summary,
        new.requester_id,
        new.project_id,
        new.due_date,
        new.rule.quorum_percent,
        new.rule.majority_percent,
        new.content_hash
    )
    .fetch_one(conn)
    .await
}

pub async fn create_risk_acceptance_request(
    conn: &mut PgConnection,
    new: &NewRequest<'_>,
    content: &AcceptanceContent,
) -> sqlx::Result<i64> {
    let id = insert_request(conn, new).await?;
    sqlx::query!(
        "INSERT INTO risk_acceptances (request_id, risk_id, residual_likelihood, residual_impact,
                                       appetite, justification, expires_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        content.risk_id,
        content.residual_likelihood,
        content.residual_impact,
        content.appetite,
        content.justification,
        content.expires_on
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Asks the board to approve the publication of one policy version; the request's hash is
/// the version's.
pub async fn create_policy_publication_request(
    conn: &mut PgConnection,
    new: &NewRequest<'_>,
    version_id: i64,
) -> sqlx::Result<i64> {
    let id = insert_request(conn, new).await?;
    sqlx::query!(
        "INSERT INTO policy_publications (request_id, policy_version_id) VALUES ($1, $2)",
        id,
        version_id
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// What an exception to a policy asks the board.
#[derive(Debug, Clone, Serialize)]
pub struct ExceptionContent {
    pub policy_id: i64,
    pub scope: String,
    pub justification: String,
    pub compensating_controls: String,
    pub starts_on: Date,
    pub expires_on: Date,
}

pub async fn create_policy_exception_request(
    conn: &mut PgConnection,
    new: &NewRequest<'_>,
    content: &ExceptionContent,
) -> sqlx::Result<i64> {
    let id = insert_request(conn, new).await?;
    sqlx::query!(
        "INSERT INTO policy_exceptions (request_id, policy_id, scope, justification,
                                        compensating_controls, starts_on, expires_on)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        id,
        content.policy_id,
        content.scope,
        content.justification,
        content.compensating_controls,
        content.starts_on,
        content.expires_on
    )
    .execute(conn)
    .await?;
    Ok(id)
}

/// Whether a risk already has an open acceptance request.
pub async fn open_acceptance_for(
    conn: &mut PgConnection,
    risk_id: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "SELECT a.id FROM risk_acceptances ra JOIN approval_requests a ON a.id = ra.request_id
         WHERE ra.risk_id = $1 AND a.status IN ('draft', 'open')
         LIMIT 1",
        risk_id
    )
    .fetch_optional(conn)
    .await
}

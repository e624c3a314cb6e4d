//! The SQL of requests, votes, recusals, decisions and fiscal years.

use serde::Serialize;
use sqlx::PgConnection;
use time::{Date, OffsetDateTime};

use super::filing::Heading;
use super::model::{Choice, Count, RequestKind, RequestStatus, Rule, VoteEnd};
use super::subject::{self, Budget, PolicyException, PolicyPublication, RiskAcceptance, Subject};
use crate::common::format::format_minor;
use crate::common::format::format_time;

/// Replaces a draft's or an open request's budget. An open request gets a new content
/// version. Returns the new content version, or `None` when the request changed
/// meanwhile or is closed.
pub async fn update_budget_request(
    conn: &mut PgConnection,
    id: i64,
    version: i32,
    heading: &Heading,
    budget: &Budget,
    content_hash: &str,
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
        heading.title,
        heading.summary,
        budget.project_id,
        heading.due_date,
        heading.hide_tally,
        content_hash
    )
    .fetch_optional(&mut *conn)
    .await?;
    if updated.is_some() {
        sqlx::query!(
            "UPDATE budget_requests SET project_id = $2, amount = $3, spend_type = $4,
                    fiscal_year = $5, benefits = $6, costs = $7, risks = $8, alternatives = $9
             WHERE request_id = $1",
            id,
            budget.project_id,
            budget.amount,
            budget.spend_type.as_str(),
            budget.fiscal_year,
            budget.benefits,
            budget.costs,
            budget.risks,
            budget.alternatives
        )
        .execute(conn)
        .await?;
    }
    Ok(updated)
}

/// The part every request has, whatever its subject.
struct RequestRow {
    id: i64,
    reference: String,
    kind: RequestKind,
    status: RequestStatus,
    requester_id: i64,
    requester_name: String,
    project_id: Option<i64>,
    project_reference: Option<String>,
    project_name: Option<String>,
    quorum_percent: i32,
    majority_percent: i32,
    content_version: i32,
    content_hash: String,
    opened_at: Option<OffsetDateTime>,
    closed_at: Option<OffsetDateTime>,
    version: i32,
    decision_id: Option<i64>,
    decision_reference: Option<String>,
    title: String,
    summary: String,
    due_date: Date,
    hide_tally: bool,
}

/// A request as people read it: the common part and its subject.
#[derive(Debug, Clone)]
pub struct Request {
    pub id: i64,
    pub reference: String,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub requester_id: i64,
    pub requester_name: String,
    pub project_id: Option<i64>,
    pub project_reference: Option<String>,
    pub project_name: Option<String>,
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
    pub subject: Subject,
}

impl Request {
    fn new(row: RequestRow, subject: Subject) -> Self {
        Self {
            id: row.id,
            reference: row.reference,
            kind: row.kind,
            status: row.status,
            requester_id: row.requester_id,
            requester_name: row.requester_name,
            project_id: row.project_id,
            project_reference: row.project_reference,
            project_name: row.project_name,
            quorum_percent: row.quorum_percent,
            majority_percent: row.majority_percent,
            content_version: row.content_version,
            content_hash: row.content_hash,
            opened_at: row.opened_at,
            closed_at: row.closed_at,
            version: row.version,
            decision_id: row.decision_id,
            decision_reference: row.decision_reference,
            title: row.title,
            summary: row.summary,
            due_date: row.due_date,
            hide_tally: row.hide_tally,
            subject,
        }
    }

    pub fn status(&self) -> RequestStatus {
        self.status
    }

    pub fn budget(&self) -> Option<&Budget> {
        match &self.subject {
            Subject::Budget(budget) => Some(budget),
            _ => None,
        }
    }

    pub fn acceptance(&self) -> Option<&RiskAcceptance> {
        match &self.subject {
            Subject::RiskAcceptance(acceptance) => Some(acceptance),
            _ => None,
        }
    }

    pub fn publication(&self) -> Option<&PolicyPublication> {
        match &self.subject {
            Subject::PolicyPublication(publication) => Some(publication),
            _ => None,
        }
    }

    pub fn exception(&self) -> Option<&PolicyException> {
        match &self.subject {
            Subject::PolicyException(exception) => Some(exception),
            _ => None,
        }
    }

    pub fn rule(&self) -> Rule {
        Rule {
            quorum_percent: self.quorum_percent,
            majority_percent: self.majority_percent,
        }
    }

    pub fn heading(&self) -> Heading {
        Heading {
            title: self.title.clone(),
            summary: self.summary.clone(),
            due_date: self.due_date,
            hide_tally: self.hide_tally,
        }
    }

    pub fn amount_text(&self) -> String {
        match self.budget() {
            Some(budget) => format_minor(budget.amount),
            None => "—".to_owned(),
        }
    }

    /// What is asked, in a few words: the amount, or the kind of request.
    pub fn what(&self) -> String {
        match self.budget() {
            Some(budget) => format!(
                "{} {}",
                format_minor(budget.amount),
                budget.spend_type.label()
            ),
            None => self.kind.label().to_owned(),
        }
    }

    pub fn short_hash(&self) -> &str {
        &self.content_hash[..self.content_hash.len().min(12)]
    }
}

impl Budget {
    /// The business case's sections with their headings.
    pub fn business_case(&self) -> [(&'static str, &str); 4] {
        [
            ("Benefits", &self.benefits),
            ("Costs", &self.costs),
            ("Risks", &self.risks),
            ("Alternatives considered", &self.alternatives),
        ]
    }
}

/// Which requests a list shows. Each is its own query, planned for its own index.
#[derive(Debug, Clone, Copy)]
pub enum Selection {
    /// Filed by this person: open ones first by due date, then the newest.
    FiledBy(i64),
    /// This person's drafts, newest first.
    DraftsOf(i64),
    /// About this project: open ones first by due date, then the newest.
    AboutProject(i64),
    /// Open for votes, soonest due first (the newest first on the same day), continuing
    /// after this due date and id.
    OpenAfter(Option<(Date, i64)>),
    /// Open, and due on or before this day: the chair closes them.
    OpenDueBy(Date),
    /// Open, and this board member may vote and has not: soonest due first.
    AwaitingVoteOf(i64),
    /// Every request, newest first, continuing before this id.
    NewestBefore(Option<i64>),
}

/// The ids of the selected requests, in order.
async fn select_ids(
    conn: &mut PgConnection,
    selection: Selection,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    match selection {
        Selection::FiledBy(requester_id) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests WHERE requester_id = $1
                 ORDER BY status = 'open' DESC, CASE WHEN status = 'open' THEN due_date END,
                          id DESC
                 LIMIT $2",
                requester_id,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::DraftsOf(requester_id) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests WHERE requester_id = $1 AND status = 'draft'
                 ORDER BY id DESC LIMIT $2",
                requester_id,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::AboutProject(project_id) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests WHERE project_id = $1
                 ORDER BY status = 'open' DESC, CASE WHEN status = 'open' THEN due_date END,
                          id DESC
                 LIMIT $2",
                project_id,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::OpenAfter(None) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests WHERE status = 'open'
                 ORDER BY due_date, id DESC LIMIT $1",
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::OpenAfter(Some((due_date, id))) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests
                 WHERE status = 'open' AND due_date >= $1
                   AND (due_date > $1 OR id < $2)
                 ORDER BY due_date, id DESC LIMIT $3",
                due_date,
                id,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::OpenDueBy(day) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests WHERE status = 'open' AND due_date <= $1
                 ORDER BY due_date, id DESC LIMIT $2",
                day,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::AwaitingVoteOf(member_id) => {
            sqlx::query_scalar!(
                "SELECT a.id FROM approval_requests a
                 WHERE a.status = 'open'
                   AND NOT EXISTS (SELECT FROM request_conflicts c
                                   WHERE c.request_id = a.id AND c.user_id = $1)
                   AND NOT EXISTS (SELECT FROM votes v
                                   WHERE v.request_id = a.id AND v.voter_id = $1
                                     AND v.ended_at IS NULL)
                 ORDER BY a.due_date, a.id DESC LIMIT $2",
                member_id,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Selection::NewestBefore(before) => {
            sqlx::query_scalar!(
                "SELECT id FROM approval_requests WHERE id < $1 ORDER BY id DESC LIMIT $2",
                before.unwrap_or(i64::MAX),
                limit
            )
            .fetch_all(conn)
            .await
        }
    }
}

/// The requests a list shows, with their subjects: a fixed number of queries whatever
/// their number.
pub async fn find_requests(
    conn: &mut PgConnection,
    selection: Selection,
    limit: i64,
) -> sqlx::Result<Vec<Request>> {
    let ids = select_ids(conn, selection, limit).await?;
    requests_by_id(conn, &ids).await
}

/// The requests with these ids, in the order given.
async fn requests_by_id(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<Request>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as!(
        RequestRow,
        r#"SELECT a.id, a.reference, a.kind AS "kind: RequestKind",
                  a.status AS "status: RequestStatus", a.requester_id,
                  u.display_name AS requester_name, a.project_id,
                  p.reference AS "project_reference?", p.name AS "project_name?",
                  a.quorum_percent, a.majority_percent, a.content_version, a.content_hash,
                  a.opened_at, a.closed_at, a.version,
                  d.id AS "decision_id?", d.reference AS "decision_reference?",
                  a.title, a.summary, a.due_date, a.hide_tally
           FROM approval_requests a
           JOIN users u ON u.id = a.requester_id
           LEFT JOIN projects p ON p.id = a.project_id
           LEFT JOIN decisions d ON d.request_id = a.id
           WHERE a.id = ANY($1)"#,
        ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let kinds: Vec<(i64, RequestKind)> = rows.iter().map(|row| (row.id, row.kind)).collect();
    let mut subjects = subject::load(conn, &kinds).await?;
    let mut by_id: std::collections::HashMap<i64, RequestRow> =
        rows.into_iter().map(|row| (row.id, row)).collect();
    let mut requests = Vec::with_capacity(ids.len());
    for id in ids {
        let Some(row) = by_id.remove(id) else {
            continue;
        };
        let Some(subject) = subjects.remove(id) else {
            return Err(sqlx::Error::Protocol(format!(
                "request {} ({}) has no {} subject row",
                row.reference,
                row.id,
                row.kind.as_str()
            )));
        };
        requests.push(Request::new(row, subject));
    }
    Ok(requests)
}

pub async fn get_request(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Request>> {
    Ok(requests_by_id(conn, &[id]).await?.into_iter().next())
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
    pub choice: Choice,
    pub comment: String,
    #[serde(skip)]
    pub cast_at: OffsetDateTime,
    #[serde(skip)]
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<VoteEnd>,
}

impl Vote {
    pub fn choice(&self) -> Choice {
        self.choice
    }

    pub fn is_live(&self) -> bool {
        self.ended_at.is_none()
    }

    pub fn was_set_aside(&self) -> bool {
        self.end_reason == Some(VoteEnd::SetAside)
    }

    pub fn when(&self) -> String {
        format_time(self.cast_at)
    }
}

/// The votes that count now: one per member at most, so as many as the board has members
/// however often votes were changed.
pub async fn live_votes(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<Vec<Vote>> {
    sqlx::query_as!(
        Vote,
        r#"SELECT v.voter_id, u.display_name AS voter_name, v.content_version,
                  v.choice AS "choice: Choice", v.comment, v.cast_at, v.ended_at,
                  v.end_reason AS "end_reason: VoteEnd"
         FROM votes v JOIN users u ON u.id = v.voter_id
           WHERE v.request_id = $1 AND v.ended_at IS NULL
           ORDER BY v.cast_at, v.id"#,
        request_id
    )
    .fetch_all(conn)
    .await
}

/// The newest `limit` votes, live, changed or set aside, oldest of them first.
pub async fn latest_votes(
    conn: &mut PgConnection,
    request_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<Vote>> {
    let mut votes = sqlx::query_as!(
        Vote,
        r#"SELECT v.voter_id, u.display_name AS voter_name, v.content_version,
                  v.choice AS "choice: Choice", v.comment, v.cast_at, v.ended_at,
                  v.end_reason AS "end_reason: VoteEnd"
         FROM votes v JOIN users u ON u.id = v.voter_id
           WHERE v.request_id = $1
           ORDER BY v.cast_at DESC, v.id DESC
           LIMIT $2"#,
        request_id,
        limit
    )
    .fetch_all(conn)
    .await?;
    votes.reverse();
    Ok(votes)
}

/// Whether a vote of this member on the request was set aside (content changed or they
/// recused).
pub async fn vote_set_aside(
    conn: &mut PgConnection,
    request_id: i64,
    voter_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT FROM votes WHERE request_id = $1 AND voter_id = $2
                                          AND end_reason = 'set_aside') AS "set_aside!""#,
        request_id,
        voter_id
    )
    .fetch_one(conn)
    .await
}

/// How many votes on the request were set aside (content changed or a recusal).
pub async fn set_aside_count(conn: &mut PgConnection, request_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM votes
           WHERE request_id = $1 AND end_reason = 'set_aside'"#,
        request_id
    )
    .fetch_one(conn)
    .await
}

/// Ends a member's live vote (when they change it).
pub async fn end_live_vote(
    conn: &mut PgConnection,
    request_id: i64,
    voter_id: i64,
    reason: VoteEnd,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE votes SET ended_at = now(), end_reason = $3
         WHERE request_id = $1 AND voter_id = $2 AND ended_at IS NULL",
        request_id,
        voter_id,
        reason.as_str()
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

/// A board decision on a request someone filed, as their home lists it.
pub struct Answer {
    pub decision_id: i64,
    pub decision_reference: String,
    pub request_id: i64,
    pub request_reference: String,
    pub title: String,
    pub kind: RequestKind,
    pub outcome: RequestStatus,
    pub decided_at: OffsetDateTime,
}

impl Answer {
    pub fn when(&self) -> String {
        format_time(self.decided_at)
    }
}

/// The board's latest decisions on the requests `requester_id` filed, newest first.
pub async fn answers_to(
    conn: &mut PgConnection,
    requester_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<Answer>> {
    sqlx::query_as!(
        Answer,
        r#"SELECT d.id AS decision_id, d.reference AS decision_reference, a.id AS request_id,
                  a.reference AS request_reference, a.title, a.kind AS "kind: RequestKind",
                  a.status AS "outcome: RequestStatus", d.decided_at
           FROM approval_requests a JOIN decisions d ON d.request_id = a.id
           WHERE a.requester_id = $1
           ORDER BY d.decided_at DESC, d.id DESC
           LIMIT $2"#,
        requester_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// What a board member said with a vote on someone's request.
pub struct BoardComment {
    pub request_id: i64,
    pub request_reference: String,
    pub voter_name: String,
    pub choice: Choice,
    pub comment: String,
    pub cast_at: OffsetDateTime,
}

impl BoardComment {
    pub fn when(&self) -> String {
        format_time(self.cast_at)
    }
}

/// The latest comments the board left with its votes on the requests `requester_id`
/// filed, newest first.
pub async fn comments_on_requests_of(
    conn: &mut PgConnection,
    requester_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<BoardComment>> {
    sqlx::query_as!(
        BoardComment,
        r#"SELECT a.id AS request_id, a.reference AS request_reference,
                  u.display_name AS voter_name, v.choice AS "choice: Choice", v.comment,
                  v.cast_at
           FROM approval_requests a
           JOIN votes v ON v.request_id = a.id AND v.comment <> ''
           JOIN users u ON u.id = v.voter_id
           WHERE a.requester_id = $1
           ORDER BY v.cast_at DESC, v.id DESC
           LIMIT $2"#,
        requester_id,
        limit
    )
    .fetch_all(conn)
    .await
}

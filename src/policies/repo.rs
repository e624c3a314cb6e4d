//! The SQL of policies, their versions, exceptions and links to risks.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::{Date, OffsetDateTime};

use super::model::{ExceptionList, ExceptionState, Lifecycle, PolicyCategory, VersionStatus};
use crate::approvals::model::RequestStatus;
use crate::common::format::format_time;
use crate::common::references::{self, Series};
use crate::db::listing::{self, Listing};

/// A policy in the register: its metadata, the version everyone reads and the newest one.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub category: PolicyCategory,
    pub review_interval_months: i16,
    pub published_version_id: Option<i64>,
    pub published_number: Option<i32>,
    #[serde(skip)]
    pub published_at: Option<OffsetDateTime>,
    pub next_review_on: Option<Date>,
    pub last_reviewed_on: Option<Date>,
    #[serde(skip)]
    pub retired_at: Option<OffsetDateTime>,
    pub retired_reason: String,
    pub version: i32,
    pub latest_version_id: i64,
    pub latest_number: i32,
    pub lifecycle: Lifecycle,
    /// The open request asking the board to approve the newest version.
    pub review_request_id: Option<i64>,
    pub exceptions_in_force: i64,
}

impl Policy {
    pub fn lifecycle(&self) -> Lifecycle {
        self.lifecycle
    }

    pub fn category_label(&self) -> &'static str {
        self.category.label()
    }

    pub fn is_published(&self) -> bool {
        self.published_version_id.is_some() && self.retired_at.is_none()
    }

    pub fn review_overdue(&self, today: Date) -> bool {
        self.is_published() && self.next_review_on.is_some_and(|due| due < today)
    }

    /// A newer version than the published one is being written or decided.
    pub fn has_newer_version(&self) -> bool {
        self.published_number
            .is_some_and(|published| self.latest_number > published)
    }

    pub fn published_when(&self) -> String {
        self.published_at.map(format_time).unwrap_or_default()
    }
}

/// Which policies a list shows, in which order.
#[derive(Debug, Default)]
pub struct PolicyQuery {
    pub category: Option<PolicyCategory>,
    pub lifecycle: Option<Lifecycle>,
    pub text: Option<String>,
    /// Published policies whose review date has passed.
    pub overdue_on: Option<Date>,
    pub owner_id: Option<i64>,
    /// Only the policies in force: published and not retired.
    pub in_force_only: bool,
    pub order: PolicyOrder,
    /// Continue after this sort key and reference (keyset paging).
    pub after: Option<(String, String)>,
    pub limit: i64,
}

/// The orders the policy register lists in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOrder {
    /// By reference, in number order.
    #[default]
    Reference,
    /// The next review first (policies without one last), then by reference.
    Review,
}

/// The newest version of policy `p`, for the lifecycle filter.
const LATEST_VERSION: &str = " JOIN LATERAL (SELECT v.id, v.status \
     FROM policy_versions v WHERE v.policy_id = p.id ORDER BY v.number DESC LIMIT 1) lv ON true";

/// Whether the newest version is before the board (a publication request open or drafted).
const IN_REVIEW: &str = "EXISTS (SELECT FROM policy_publications pp \
     JOIN approval_requests a ON a.id = pp.request_id AND a.status IN ('draft', 'open') \
     WHERE pp.policy_version_id = lv.id)";

impl PolicyQuery {
    /// The statement selecting this query's page of ids: only the filters that are set
    /// (see [`crate::db::listing`]).
    pub fn selection(&self) -> QueryBuilder<'static, Postgres> {
        let key = match self.order {
            PolicyOrder::Reference => "reference_order(p.reference)",
            // As text, like every list's key (migration 0025: an index).
            PolicyOrder::Review => "review_order(p.next_review_on)",
        };
        let mut sql = QueryBuilder::new("");
        let search = self
            .text
            .as_ref()
            .filter(|text| !looks_like_reference(text));
        if let Some(text) = search {
            // The newest versions that match (the full-text index) first, then their order.
            sql.push(
                "WITH found AS MATERIALIZED (SELECT v.policy_id FROM policy_versions v \
                 WHERE v.search @@ websearch_to_tsquery('english', ",
            )
            .push_bind(text.clone())
            .push(
                ") AND NOT EXISTS (SELECT FROM policy_versions newer \
                 WHERE newer.policy_id = v.policy_id AND newer.number > v.number)) ",
            );
        }
        sql.push(format!("SELECT p.id, {key} FROM policies p"));
        if search.is_some() {
            sql.push(" JOIN found ON found.policy_id = p.id");
        }
        if self.lifecycle.is_some() {
            sql.push(LATEST_VERSION);
        }
        let mut list = Listing::continuing(sql);
        if let Some(category) = self.category {
            list.and("p.category = ").push_bind(category);
        }
        match self.lifecycle {
            None => {}
            Some(Lifecycle::Retired) => {
                list.and("p.retired_at IS NOT NULL");
            }
            Some(Lifecycle::InReview) => {
                list.and(&format!("p.retired_at IS NULL AND {IN_REVIEW}"));
            }
            Some(status) => {
                list.and(&format!(
                    "p.retired_at IS NULL AND NOT {IN_REVIEW} AND lv.status = "
                ))
                .push_bind(status);
            }
        }
        if let Some(reference) = self.text.as_ref().filter(|text| looks_like_reference(text)) {
            list.and("p.reference = ")
                .push_bind(reference.to_uppercase());
        }
        if let Some(day) = self.overdue_on {
            list.and(
                "p.retired_at IS NULL AND p.published_version_id IS NOT NULL AND p.next_review_on < ",
            )
            .push_bind(day);
        }
        if let Some(owner_id) = self.owner_id {
            list.and("p.owner_id = ").push_bind(owner_id);
        }
        if self.in_force_only {
            list.and("p.published_version_id IS NOT NULL AND p.retired_at IS NULL");
        }
        list.keyset_page(key, "p.reference", self.after.as_ref(), self.limit)
    }
}

/// Whether a search is a policy's reference (`POL-0007`, any case).
fn looks_like_reference(text: &str) -> bool {
    text.get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("POL-"))
        && text.len() > 4
        && text[4..].bytes().all(|b| b.is_ascii_digit())
}

/// A policy with the key its page continues after.
pub struct PolicyRow {
    pub policy: Policy,
    pub sort_key: String,
}

pub async fn find_policies(
    conn: &mut PgConnection,
    query: &PolicyQuery,
    today: Date,
) -> sqlx::Result<Vec<Policy>> {
    Ok(find_rows(conn, query, today)
        .await?
        .into_iter()
        .map(|row| row.policy)
        .collect())
}

pub async fn find_rows(
    conn: &mut PgConnection,
    query: &PolicyQuery,
    today: Date,
) -> sqlx::Result<Vec<PolicyRow>> {
    let page = listing::select_ids(conn, query.selection()).await?;
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    let policies = by_ids(conn, &ids, today).await?;
    Ok(listing::in_page_order(&page, policies, |policy| policy.id)
        .into_iter()
        .map(|(policy, sort_key)| PolicyRow { policy, sort_key })
        .collect())
}

/// The policies with these ids, in no particular order. The lifecycle is derived:
/// retired, else the newest version's status, "in review" while a request for it is open.
pub async fn by_ids(
    conn: &mut PgConnection,
    ids: &[i64],
    today: Date,
) -> sqlx::Result<Vec<Policy>> {
    let rows = sqlx::query!(
        r#"SELECT p.id, p.reference, p.title, p.owner_id, u.display_name AS owner_name,
                  p.category AS "category: PolicyCategory", p.review_interval_months,
                  p.published_version_id,
                  pub.number AS "published_number?", pub.published_at AS "published_at?",
                  p.next_review_on, p.last_reviewed_on, p.retired_at, p.retired_reason,
                  p.version, lv.id AS latest_version_id, lv.number AS latest_number,
                  CASE WHEN p.retired_at IS NOT NULL THEN 'retired'
                       WHEN review.request_id IS NOT NULL THEN 'in_review'
                       ELSE lv.status END AS "lifecycle!: Lifecycle",
                  review.request_id AS "review_request_id?",
                  (SELECT count(*) FROM policy_exceptions pe
                   JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
                   WHERE pe.policy_id = p.id AND $2 BETWEEN pe.starts_on AND pe.expires_on
                  ) AS "exceptions_in_force!"
           FROM policies p
           JOIN users u ON u.id = p.owner_id
           JOIN LATERAL (SELECT v.id, v.number, v.status, v.title, v.body FROM policy_versions v
                         WHERE v.policy_id = p.id ORDER BY v.number DESC LIMIT 1) lv ON true
           LEFT JOIN policy_versions pub ON pub.id = p.published_version_id
           LEFT JOIN LATERAL (SELECT pp.request_id FROM policy_publications pp
                              JOIN approval_requests a ON a.id = pp.request_id
                                                      AND a.status IN ('draft', 'open')
                              WHERE pp.policy_version_id = lv.id LIMIT 1) review ON true
           WHERE p.id = ANY($1)"#,
        ids,
        today
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Policy {
            id: row.id,
            reference: row.reference,
            title: row.title,
            owner_id: row.owner_id,
            owner_name: row.owner_name,
            category: row.category,
            review_interval_months: row.review_interval_months,
            published_version_id: row.published_version_id,
            published_number: row.published_number,
            published_at: row.published_at,
            next_review_on: row.next_review_on,
            last_reviewed_on: row.last_reviewed_on,
            retired_at: row.retired_at,
            retired_reason: row.retired_reason,
            version: row.version,
            latest_version_id: row.latest_version_id,
            latest_number: row.latest_number,
            lifecycle: row.lifecycle,
            review_request_id: row.review_request_id,
            exceptions_in_force: row.exceptions_in_force,
        })
        .collect())
}

pub async fn get(conn: &mut PgConnection, id: i64, today: Date) -> sqlx::Result<Option<Policy>> {
    Ok(by_ids(conn, &[id], today).await?.pop())
}

/// Locks a policy for the rest of the transaction: versions are numbered, submitted and
/// published one after the other.
pub async fn lock(conn: &mut PgConnection, id: i64, today: Date) -> sqlx::Result<Option<Policy>> {
    sqlx::query!("SELECT id FROM policies WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?;
    get(conn, id, today).await
}

/// What the owner keeps about a policy besides its text.
#[derive(Debug, Clone, Serialize)]
pub struct PolicySettings {
    pub owner_id: i64,
    pub category: PolicyCategory,
    pub review_interval_months: i16,
}

/// The text of a version: what the board approves.
#[derive(Debug, Clone, Serialize)]
pub struct VersionText {
    pub title: String,
    pub scope: String,
    pub body: String,
    pub change_note: String,
}

impl VersionText {
    /// The hash of what the board reads (the change note is the author's comment on it).
    pub fn hash(&self) -> String {
        let canonical = serde_json::json!([self.title, self.scope, self.body]);
        hex::encode(Sha256::digest(canonical.to_string()))
    }
}

/// Creates a policy with its first draft; returns its id and reference.
pub async fn create(
    conn: &mut PgConnection,
    settings: &PolicySettings,
    text: &VersionText,
    author_id: i64,
) -> sqlx::Result<(i64, String)> {
    let reference = references::next(conn, Series::Policy).await?;
    let row = sqlx::query!(
        "INSERT INTO policies (reference, title, owner_id, category, review_interval_months)
         VALUES ($5, $1, $2, $3, $4)
         RETURNING id, reference",
        text.title,
        settings.owner_id,
        settings.category.as_str(),
        settings.review_interval_months,
        reference
    )
    .fetch_one(&mut *conn)
    .await?;
    insert_version(conn, row.id, 1, text, author_id).await?;
    Ok((row.id, row.reference))
}

async fn insert_version(
    conn: &mut PgConnection,
    policy_id: i64,
    number: i32,
    text: &VersionText,
    author_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        "INSERT INTO policy_versions (policy_id, number, title, scope, body, change_note,
                                      content_hash, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         RETURNING id",
        policy_id,
        number,
        text.title,
        text.scope,
        text.body,
        text.change_note,
        text.hash(),
        author_id
    )
    .fetch_one(conn)
    .await
}

/// Changes a policy's settings and working title if it is still at `expected_version`
/// (optimistic concurrency); false when it changed meanwhile.
pub async fn update_settings(
    conn: &mut PgConnection,
    policy_id: i64,
    expected_version: i32,
    title: &str,
    settings: &PolicySettings,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE policies SET title = $3, owner_id = $4, category = $5,
                             review_interval_months = $6, version = version + 1,
                             updated_at = now()
         WHERE id = $1 AND version = $2",
        policy_id,
        expected_version,
        title,
        settings.owner_id,
        settings.category.as_str(),
        settings.review_interval_months
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Saves an edit as a new draft version after `policy`'s newest, with the settings, if
/// the policy is still at `expected_version`. The caller holds the policy's lock.
/// Returns the new version's number, or `None` when the policy changed meanwhile.
pub async fn add_version(
    conn: &mut PgConnection,
    policy: &Policy,
    expected_version: i32,
    settings: &PolicySettings,
    text: &VersionText,
    author_id: i64,
) -> sqlx::Result<Option<i32>> {
    if !update_settings(conn, policy.id, expected_version, &text.title, settings).await? {
        return Ok(None);
    }
    let number = policy.latest_number + 1;
    insert_version(conn, policy.id, number, text, author_id).await?;
    Ok(Some(number))
}

/// One version of a policy, with its text.
#[derive(Debug, Clone, Serialize)]
pub struct Version {
    pub id: i64,
    pub policy_id: i64,
    pub number: i32,
    pub title: String,
    pub scope: String,
    pub body: String,
    pub change_note: String,
    pub content_hash: String,
    pub status: VersionStatus,
    pub author_name: String,
    #[serde(skip)]
    pub created_at: OffsetDateTime,
    pub approved_decision_id: Option<i64>,
    pub approved_decision_reference: Option<String>,
    #[serde(skip)]
    pub approved_at: Option<OffsetDateTime>,
    #[serde(skip)]
    pub published_at: Option<OffsetDateTime>,
}

impl Version {
    pub fn status(&self) -> VersionStatus {
        self.status
    }

    pub fn written(&self) -> String {
        format_time(self.created_at)
    }

    pub fn approved_when(&self) -> String {
        self.approved_at.map(format_time).unwrap_or_default()
    }

    pub fn published_when(&self) -> String {
        self.published_at.map(format_time).unwrap_or_default()
    }

    pub fn short_hash(&self) -> &str {
        &self.content_hash[..self.content_hash.len().min(12)]
    }

    /// The text compared line by line between versions: title and scope first.
    pub fn comparable_text(&self) -> String {
        format!(
            "# {}\n\nScope: {}\n\n{}\n",
            self.title,
            self.scope,
            self.body.trim_end()
        )
    }
}

/// Every version of a policy, newest first.
pub async fn versions(conn: &mut PgConnection, policy_id: i64) -> sqlx::Result<Vec<Version>> {
    sqlx::query_as!(
        Version,
        r#"SELECT v.id, v.policy_id, v.number, v.title, v.scope, v.body, v.change_note,
                  v.content_hash, v.status AS "status: VersionStatus",
                  u.display_name AS author_name, v.created_at,
                  v.approved_decision_id, d.reference AS "approved_decision_reference?",
                  v.approved_at, v.published_at
           FROM policy_versions v
           JOIN users u ON u.id = v.created_by
           LEFT JOIN decisions d ON d.id = v.approved_decision_id
           WHERE v.policy_id = $1
           ORDER BY v.number DESC
           LIMIT 1000"#,
        policy_id
    )
    .fetch_all(conn)
    .await
}

/// The board approved the publication of this version (the engine's effect).
pub async fn mark_approved(
    conn: &mut PgConnection,
    version_id: i64,
    decision_id: i64,
) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE policy_versions SET status = 'approved', approved_decision_id = $2,
                                    approved_at = now()
         WHERE id = $1 AND status = 'draft'",
        version_id,
        decision_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Publishes an approved version: the one published before is superseded, and the next
/// review falls due `next_review_on`.
pub async fn publish(
    conn: &mut PgConnection,
    policy: &Policy,
    version_id: i64,
    published_by: i64,
    today: Date,
    next_review_on: Date,
) -> sqlx::Result<()> {
    if let Some(previous) = policy.published_version_id {
        sqlx::query!(
            "UPDATE policy_versions SET status = 'superseded' WHERE id = $1",
            previous
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!(
        "UPDATE policy_versions SET status = 'published', published_by = $2, published_at = now()
         WHERE id = $1",
        version_id,
        published_by
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE policies SET published_version_id = $2, next_review_on = $3, last_reviewed_on = $4,
                             version = version + 1, updated_at = now()
         WHERE id = $1",
        policy.id,
        version_id,
        next_review_on,
        today
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a review that kept the published text; false when the policy changed meanwhile.
pub async fn record_review(
    conn: &mut PgConnection,
    policy_id: i64,
    expected_version: i32,
    today: Date,
    next_review_on: Date,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE policies SET last_reviewed_on = $3, next_review_on = $4, version = version + 1,
                             updated_at = now()
         WHERE id = $1 AND version = $2",
        policy_id,
        expected_version,
        today,
        next_review_on
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Retires a policy; false when it changed meanwhile.
pub async fn retire(
    conn: &mut PgConnection,
    policy_id: i64,
    expected_version: i32,
    reason: &str,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "UPDATE policies SET retired_at = now(), retired_reason = $3, version = version + 1,
                             updated_at = now()
         WHERE id = $1 AND version = $2 AND retired_at IS NULL",
        policy_id,
        expected_version,
        reason
    )
    .execute(conn)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// An exception to a policy, with the request that asks for it.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyException {
    pub request_id: i64,
    pub request_reference: String,
    pub request_status: RequestStatus,
    pub policy_id: i64,
    pub policy_reference: String,
    pub policy_title: String,
    pub requester_name: String,
    pub scope: String,
    pub justification: String,
    pub compensating_controls: String,
    pub starts_on: Date,
    pub expires_on: Date,
    pub decision_id: Option<i64>,
    pub decision_reference: Option<String>,
}

impl PolicyException {
    pub fn state(&self, today: Date) -> ExceptionState {
        ExceptionState::of(self.request_status, self.starts_on, self.expires_on, today)
    }
}

/// How long the register keeps showing an expired exception.
pub const RECENTLY_EXPIRED_DAYS: i64 = 90;

/// A policy's exceptions, those awaiting the board or approved first, newest expiry first.
pub async fn exceptions_of(
    conn: &mut PgConnection,
    policy_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<PolicyException>> {
    let ids = sqlx::query_scalar!(
        "SELECT pe.request_id FROM policy_exceptions pe
         JOIN approval_requests a ON a.id = pe.request_id
         WHERE pe.policy_id = $1
         ORDER BY a.status IN ('draft', 'open', 'approved') DESC, pe.expires_on DESC, a.id DESC
         LIMIT $2",
        policy_id,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    exceptions_by_request(conn, &ids).await
}

/// A published policy past its review date, as the home pages list it.
#[derive(Debug, Clone)]
pub struct ReviewDue {
    pub id: i64,
    pub reference: String,
    pub title: String,
    pub next_review_on: Date,
    pub owner_name: String,
}

/// Published policies whose review was due before `day` (of one owner, or all), the
/// longest overdue first: read in one statement, with only what a home page shows.
pub async fn reviews_due(
    conn: &mut PgConnection,
    day: Date,
    owner_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<ReviewDue>> {
    // Two statements, not `$n IS NULL OR ...`: each keeps to its index (migration 0025;
    // an owner's policies by the owner's index).
    match owner_id {
        None => {
            sqlx::query_as!(
                ReviewDue,
                r#"SELECT p.id, p.reference, p.title, p.next_review_on AS "next_review_on!",
                          u.display_name AS owner_name
                   FROM policies p JOIN users u ON u.id = p.owner_id
                   WHERE p.retired_at IS NULL AND p.published_version_id IS NOT NULL
                     AND p.next_review_on < $1
                   ORDER BY review_order(p.next_review_on), reference_order(p.reference)
                   LIMIT $2"#,
                day,
                limit
            )
            .fetch_all(conn)
            .await
        }
        Some(owner_id) => {
            sqlx::query_as!(
                ReviewDue,
                r#"SELECT p.id, p.reference, p.title, p.next_review_on AS "next_review_on!",
                          u.display_name AS owner_name
                   FROM policies p JOIN users u ON u.id = p.owner_id
                   WHERE p.owner_id = $3
                     AND p.retired_at IS NULL AND p.published_version_id IS NOT NULL
                     AND p.next_review_on < $1
                   ORDER BY review_order(p.next_review_on), reference_order(p.reference)
                   LIMIT $2"#,
                day,
                limit,
                owner_id
            )
            .fetch_all(conn)
            .await
        }
    }
}

/// How many exceptions each watched list holds on a day, and how many of those in force
/// expire within [`EXPIRING_SOON_DAYS`].
#[derive(Debug, Clone, Default)]
pub struct ExceptionCounts {
    pub awaiting_board: i64,
    pub in_force: i64,
    pub expiring_soon: i64,
    /// Expired in the last [`RECENTLY_EXPIRED_DAYS`].
    pub recently_expired: i64,
}

/// How far ahead an exception in force counts as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 30;

pub async fn exception_counts(conn: &mut PgConnection, day: Date) -> sqlx::Result<ExceptionCounts> {
    sqlx::query_as!(
        ExceptionCounts,
        r#"SELECT (SELECT count(*) FROM approval_requests a
                   WHERE a.status IN ('draft', 'open') AND a.kind = 'policy_exception')
                      AS "awaiting_board!",
                  count(*) FILTER (WHERE pe.expires_on >= $1) AS "in_force!",
                  count(*) FILTER (WHERE pe.expires_on >= $1
                                     AND pe.expires_on <= $1::date + $2::integer)
                      AS "expiring_soon!",
                  count(*) FILTER (WHERE pe.expires_on < $1) AS "recently_expired!"
           FROM policy_exceptions pe
           JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
           WHERE pe.expires_on >= $1::date - $3::integer AND pe.starts_on <= $1"#,
        day,
        EXPIRING_SOON_DAYS as i32,
        RECENTLY_EXPIRED_DAYS as i32
    )
    .fetch_one(conn)
    .await
}

/// The most pressing exceptions on `day`: those awaiting the board, then those in force
/// soonest to expire, then those expired in the last [`RECENTLY_EXPIRED_DAYS`], latest
/// first. The ids are chosen and ordered first, so only the exceptions shown are read.
pub async fn pressing_exceptions(
    conn: &mut PgConnection,
    day: Date,
    limit: i64,
) -> sqlx::Result<Vec<PolicyException>> {
    let ids = sqlx::query_scalar!(
        r#"SELECT request_id AS "request_id!" FROM (
               SELECT pe.request_id, 0 AS rank, 0 AS days FROM approval_requests a
               JOIN policy_exceptions pe ON pe.request_id = a.id
               WHERE a.status IN ('draft', 'open') AND a.kind = 'policy_exception'
               UNION ALL
               SELECT pe.request_id, 1, pe.expires_on - $1 FROM policy_exceptions pe
               JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
               WHERE pe.expires_on >= $1 AND pe.starts_on <= $1
               UNION ALL
               SELECT pe.request_id, 2, $1 - pe.expires_on FROM policy_exceptions pe
               JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
               WHERE pe.expires_on < $1 AND pe.expires_on >= $1::date - $3::integer
           ) watched
           ORDER BY rank, days, request_id
           LIMIT $2"#,
        day,
        limit,
        RECENTLY_EXPIRED_DAYS as i32
    )
    .fetch_all(&mut *conn)
    .await?;
    exceptions_by_request(conn, &ids).await
}

/// One page of a watched list on `day`, continuing after (date, request id): the day it
/// started for those awaiting the board, its expiry for the others.
pub async fn watched_exceptions(
    conn: &mut PgConnection,
    list: ExceptionList,
    day: Date,
    after: Option<(Date, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<PolicyException>> {
    // Not `$n IS NULL OR ...`: the first page starts after a position before any other.
    let (after_date, after_id) = after.unwrap_or((time::macros::date!(0001 - 01 - 01), 0));
    let ids = match list {
        ExceptionList::AwaitingBoard => {
            sqlx::query_scalar!(
                "SELECT pe.request_id FROM approval_requests a
                 JOIN policy_exceptions pe ON pe.request_id = a.id
                 WHERE a.status IN ('draft', 'open') AND a.kind = 'policy_exception'
                   AND (pe.starts_on, pe.request_id) > ($1, $2)
                 ORDER BY pe.starts_on, pe.request_id LIMIT $3",
                after_date,
                after_id,
                limit
            )
            .fetch_all(&mut *conn)
            .await?
        }
        ExceptionList::InForce => {
            sqlx::query_scalar!(
                "SELECT pe.request_id FROM policy_exceptions pe
                 JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
                 WHERE pe.expires_on >= $1 AND pe.starts_on <= $1
                   AND (pe.expires_on, pe.request_id) > ($2, $3)
                 ORDER BY pe.expires_on, pe.request_id LIMIT $4",
                day,
                after_date,
                after_id,
                limit
            )
            .fetch_all(&mut *conn)
            .await?
        }
        ExceptionList::Expired => {
            let (after_date, after_id) =
                after.unwrap_or((time::macros::date!(9999 - 12 - 31), i64::MAX));
            sqlx::query_scalar!(
                "SELECT pe.request_id FROM policy_exceptions pe
                 JOIN approval_requests a ON a.id = pe.request_id AND a.status = 'approved'
                 WHERE pe.expires_on < $1
                   AND (pe.expires_on, pe.request_id) < ($2, $3)
                 ORDER BY pe.expires_on DESC, pe.request_id DESC LIMIT $4",
                day,
                after_date,
                after_id,
                limit
            )
            .fetch_all(&mut *conn)
            .await?
        }
    };
    exceptions_by_request(conn, &ids).await
}

/// The exceptions asked for by these requests, in the order given.
async fn exceptions_by_request(
    conn: &mut PgConnection,
    request_ids: &[i64],
) -> sqlx::Result<Vec<PolicyException>> {
    if request_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query_as!(
        PolicyException,
        r#"SELECT pe.request_id, a.reference AS request_reference, a.status AS "request_status: RequestStatus",
                  pe.policy_id, p.reference AS policy_reference, p.title AS policy_title,
                  u.display_name AS requester_name, pe.scope, pe.justification,
                  pe.compensating_controls, pe.starts_on, pe.expires_on,
                  d.id AS "decision_id?", d.reference AS "decision_reference?"
           FROM policy_exceptions pe
           JOIN approval_requests a ON a.id = pe.request_id
           JOIN policies p ON p.id = pe.policy_id
           JOIN users u ON u.id = a.requester_id
           LEFT JOIN decisions d ON d.request_id = a.id
           WHERE pe.request_id = ANY($1)"#,
        request_ids
    )
    .fetch_all(conn)
    .await?;
    let mut by_id: std::collections::HashMap<i64, PolicyException> =
        rows.into_iter().map(|row| (row.request_id, row)).collect();
    Ok(request_ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .collect())
}

/// A risk a policy mitigates.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedRisk {
    pub risk_id: i64,
    pub reference: String,
    pub title: String,
    pub residual_score: i32,
}

pub async fn linked_risks(
    conn: &mut PgConnection,
    policy_id: i64,
) -> sqlx::Result<Vec<LinkedRisk>> {
    sqlx::query_as!(
        LinkedRisk,
        r#"SELECT r.id AS risk_id, r.reference, r.title,
                  (r.residual_likelihood * r.residual_impact)::int AS "residual_score!"
           FROM policy_risks pr JOIN risks r ON r.id = pr.risk_id
           WHERE pr.policy_id = $1
           ORDER BY r.reference
           LIMIT 500"#,
        policy_id
    )
    .fetch_all(conn)
    .await
}

/// A policy that mitigates a risk, as the risk's page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LinkedPolicy {
    pub policy_id: i64,
    pub reference: String,
    pub title: String,
}

pub async fn policies_for_risk(
    conn: &mut PgConnection,
    risk_id: i64,
) -> sqlx::Result<Vec<LinkedPolicy>> {
    sqlx::query_as!(
        LinkedPolicy,
        "SELECT p.id AS policy_id, p.reference, p.title
         FROM policy_risks pr JOIN policies p ON p.id = pr.policy_id
         WHERE pr.risk_id = $1
         ORDER BY p.reference
         LIMIT 500",
        risk_id
    )
    .fetch_all(conn)
    .await
}

/// Links a risk by its reference; returns the risk's id, or `None` when no risk has it.
/// Linking twice is harmless.
pub async fn link_risk(
    conn: &mut PgConnection,
    policy_id: i64,
    risk_reference: &str,
    linked_by: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!(
        "INSERT INTO policy_risks (policy_id, risk_id, linked_by)
         SELECT $1, r.id, $3 FROM risks r WHERE r.reference = $2
         ON CONFLICT (policy_id, risk_id) DO UPDATE SET linked_by = policy_risks.linked_by
         RETURNING risk_id",
        policy_id,
        risk_reference,
        linked_by
    )
    .fetch_optional(conn)
    .await
}

pub async fn unlink_risk(
    conn: &mut PgConnection,
    policy_id: i64,
    risk_id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!(
        "DELETE FROM policy_risks pr USING risks r
         WHERE pr.policy_id = $1 AND pr.risk_id = $2 AND r.id = pr.risk_id
         RETURNING r.reference",
        policy_id,
        risk_id
    )
    .fetch_optional(conn)
    .await
}

/// One version of one policy, as the policy register export lists it.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterLine {
    pub reference: String,
    pub policy_title: String,
    pub category: PolicyCategory,
    pub owner_name: String,
    pub review_interval_months: i16,
    pub next_review_on: Option<Date>,
    pub retired: bool,
    pub number: i32,
    pub version_title: String,
    pub status: VersionStatus,
    pub change_note: String,
    pub content_hash: String,
    #[serde(skip)]
    pub written_at: OffsetDateTime,
    pub author_name: String,
    pub approved_by_decision: Option<String>,
    #[serde(skip)]
    pub approved_at: Option<OffsetDateTime>,
    #[serde(skip)]
    pub published_at: Option<OffsetDateTime>,
}

/// Every version of every policy, by policy and version, up to `limit` lines.
pub async fn register_lines(
    conn: &mut PgConnection,
    limit: i64,
) -> sqlx::Result<Vec<RegisterLine>> {
    sqlx::query_as!(
        RegisterLine,
        r#"SELECT p.reference, p.title AS policy_title, p.category AS "category: PolicyCategory",
                  o.display_name AS owner_name,
                  p.review_interval_months, p.next_review_on, p.retired_at IS NOT NULL AS "retired!",
                  v.number, v.title AS version_title, v.status AS "status: VersionStatus",
                  v.change_note, v.content_hash,
                  v.created_at AS written_at, a.display_name AS author_name,
                  d.reference AS "approved_by_decision?", v.approved_at, v.published_at
           FROM policy_versions v
           JOIN policies p ON p.id = v.policy_id
           JOIN users o ON o.id = p.owner_id
           JOIN users a ON a.id = v.created_by
           LEFT JOIN decisions d ON d.id = v.approved_decision_id
           ORDER BY p.reference, v.number
           LIMIT $1"#,
        limit
    )
    .fetch_all(conn)
    .await
}

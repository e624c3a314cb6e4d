//! What a request asks the board to decide about: its subject, one typed value per kind.
//!
//! Every area files its requests through [`super::filing::file`] with a [`Subject`], and
//! the engine applies an approval with an exhaustive `match` on it. Adding a kind of
//! request touches:
//! 1. its subject table (a migration, with its arm in the `request_conflicts` view saying
//!    who may not vote on it),
//! 2. its [`Subject`] variant here, with its arms in this file's `match`es (the compiler
//!    lists them: kind, key, hash, insert, load),
//! 3. its arm in `engine::apply_approval` (what an approval does).

use std::collections::HashMap;

use serde::Serialize;
use sqlx::PgConnection;
use time::Date;

use super::model::{RequestKind, SpendType};

/// A budget request: money for a project in a fiscal year, with its business case.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub project_id: i64,
    pub amount: i64,
    pub spend_type: SpendType,
    pub fiscal_year: i32,
    pub benefits: String,
    pub costs: String,
    pub risks: String,
    pub alternatives: String,
}

/// Accepting a risk above the board's appetite, on this rating, until a date.
#[derive(Debug, Clone, Serialize)]
pub struct RiskAcceptance {
    pub risk_id: i64,
    #[serde(skip)]
    pub risk_reference: String,
    #[serde(skip)]
    pub risk_title: String,
    pub residual_likelihood: i16,
    pub residual_impact: i16,
    pub appetite: i16,
    pub justification: String,
    pub expires_on: Date,
}

impl RiskAcceptance {
    pub fn score(&self) -> i16 {
        self.residual_likelihood * self.residual_impact
    }
}

/// Publishing one exact version of a policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyPublication {
    pub policy_id: i64,
    #[serde(skip)]
    pub policy_reference: String,
    #[serde(skip)]
    pub policy_title: String,
    pub version_id: i64,
    pub version_number: i32,
    /// The version's own hash (title, scope, body): the request's content hash.
    pub version_hash: String,
}

/// A time-limited exception to a policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyException {
    pub policy_id: i64,
    #[serde(skip)]
    pub policy_reference: String,
    #[serde(skip)]
    pub policy_title: String,
    pub scope: String,
    pub justification: String,
    pub compensating_controls: String,
    pub starts_on: Date,
    pub expires_on: Date,
}

/// The subject of a request.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Budget(Budget),
    RiskAcceptance(RiskAcceptance),
    PolicyPublication(PolicyPublication),
    PolicyException(PolicyException),
}

/// The SHA-256 of a value's canonical JSON.
pub fn content_hash(content: &impl Serialize) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(
        serde_json::to_vec(content).unwrap_or_default(),
    ))
}

impl Subject {
    pub fn kind(&self) -> RequestKind {
        match self {
            Subject::Budget(_) => RequestKind::Budget,
            Subject::RiskAcceptance(_) => RequestKind::RiskAcceptance,
            Subject::PolicyPublication(_) => RequestKind::PolicyPublication,
            Subject::PolicyException(_) => RequestKind::PolicyException,
        }
    }

    /// What no two live requests may share: one open acceptance per risk, one
    /// publication in review per policy, and no exception asked twice in the same words.
    /// A budget request is its own subject (`None`).
    pub fn key(&self, content_hash: &str) -> Option<String> {
        match self {
            Subject::Budget(_) => None,
            Subject::RiskAcceptance(acceptance) => Some(format!("risk:{}", acceptance.risk_id)),
            Subject::PolicyPublication(publication) => {
                Some(format!("policy:{}", publication.policy_id))
            }
            Subject::PolicyException(exception) => Some(format!(
                "policy_exception:{}:{content_hash}",
                exception.policy_id
            )),
        }
    }

    /// Locks the row of the record the request is about until the transaction ends, so
    /// two filings about it run one after the other.
    pub async fn lock_record(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        match self {
            // Budget requests are not unique per project: nothing to serialise.
            Subject::Budget(_) => {}
            Subject::RiskAcceptance(acceptance) => {
                sqlx::query!(
                    "SELECT id FROM risks WHERE id = $1 FOR UPDATE",
                    acceptance.risk_id
                )
                .fetch_optional(conn)
                .await?;
            }
            Subject::PolicyPublication(PolicyPublication { policy_id, .. })
            | Subject::PolicyException(PolicyException { policy_id, .. }) => {
                sqlx::query!(
                    "SELECT id FROM policies WHERE id = $1 FOR UPDATE",
                    policy_id
                )
                .fetch_optional(conn)
                .await?;
            }
        }
        Ok(())
    }

    /// Writes the subject's row for the request `request_id`.
    pub async fn insert(&self, conn: &mut PgConnection, request_id: i64) -> sqlx::Result<()> {
        match self {
            Subject::Budget(budget) => {
                sqlx::query!(
                    "INSERT INTO budget_requests (request_id, project_id, amount, spend_type,
                                                  fiscal_year, benefits, costs, risks, alternatives)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    request_id,
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
            Subject::RiskAcceptance(acceptance) => {
                sqlx::query!(
                    "INSERT INTO risk_acceptances (request_id, risk_id, residual_likelihood,
                                                   residual_impact, appetite, justification,
                                                   expires_on)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    request_id,
                    acceptance.risk_id,
                    acceptance.residual_likelihood,
                    acceptance.residual_impact,
                    acceptance.appetite,
                    acceptance.justification,
                    acceptance.expires_on
                )
                .execute(conn)
                .await?;
            }
            Subject::PolicyPublication(publication) => {
                sqlx::query!(
                    "INSERT INTO policy_publications (request_id, policy_version_id)
                     VALUES ($1, $2)",
                    request_id,
                    publication.version_id
                )
                .execute(conn)
                .await?;
            }
            Subject::PolicyException(exception) => {
                sqlx::query!(
                    "INSERT INTO policy_exceptions (request_id, policy_id, scope, justification,
                                                    compensating_controls, starts_on, expires_on)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    request_id,
                    exception.policy_id,
                    exception.scope,
                    exception.justification,
                    exception.compensating_controls,
                    exception.starts_on,
                    exception.expires_on
                )
                .execute(conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// Loads the subjects of requests: one query per kind present, whatever their number.
pub async fn load(
    conn: &mut PgConnection,
    requests: &[(i64, RequestKind)],
) -> sqlx::Result<HashMap<i64, Subject>> {
    let ids_of = |kind: RequestKind| -> Vec<i64> {
        requests
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(id, _)| *id)
            .collect()
    };
    let mut subjects = HashMap::with_capacity(requests.len());
    for kind in RequestKind::ALL {
        let ids = ids_of(*kind);
        if ids.is_empty() {
            continue;
        }
        match kind {
            RequestKind::Budget => {
                let rows = sqlx::query!(
                    r#"SELECT request_id, project_id, amount, spend_type AS "spend_type: SpendType",
                              fiscal_year, benefits, costs, risks, alternatives
                       FROM budget_requests WHERE request_id = ANY($1)"#,
                    &ids
                )
                .fetch_all(&mut *conn)
                .await?;
                for row in rows {
                    let budget = Budget {
                        project_id: row.project_id,
                        amount: row.amount,
                        spend_type: row.spend_type,
                        fiscal_year: row.fiscal_year,
                        benefits: row.benefits,
                        costs: row.costs,
                        risks: row.risks,
                        alternatives: row.alternatives,
                    };
                    subjects.insert(row.request_id, Subject::Budget(budget));
                }
            }
            RequestKind::RiskAcceptance => {
                let rows = sqlx::query!(
                    "SELECT ra.request_id, ra.risk_id, r.reference, r.title,
                            ra.residual_likelihood, ra.residual_impact, ra.appetite,
                            ra.justification, ra.expires_on
                     FROM risk_acceptances ra JOIN risks r ON r.id = ra.risk_id
                     WHERE ra.request_id = ANY($1)",
                    &ids
                )
                .fetch_all(&mut *conn)
                .await?;
                for row in rows {
                    let acceptance = RiskAcceptance {
                        risk_id: row.risk_id,
                        risk_reference: row.reference,
                        risk_title: row.title,
                        residual_likelihood: row.residual_likelihood,
                        residual_impact: row.residual_impact,
                        appetite: row.appetite,
                        justification: row.justification,
                        expires_on: row.expires_on,
                    };
                    subjects.insert(row.request_id, Subject::RiskAcceptance(acceptance));
                }
            }
            RequestKind::PolicyPublication => {
                let rows = sqlx::query!(
                    "SELECT pp.request_id, pol.id AS policy_id, pol.reference, pol.title,
                            pv.id AS version_id, pv.number, pv.content_hash
                     FROM policy_publications pp
                     JOIN policy_versions pv ON pv.id = pp.policy_version_id
                     JOIN policies pol ON pol.id = pv.policy_id
                     WHERE pp.request_id = ANY($1)",
                    &ids
                )
                .fetch_all(&mut *conn)
                .await?;
                for row in rows {
                    let publication = PolicyPublication {
                        policy_id: row.policy_id,
                        policy_reference: row.reference,
                        policy_title: row.title,
                        version_id: row.version_id,
                        version_number: row.number,
                        version_hash: row.content_hash,
                    };
                    subjects.insert(row.request_id, Subject::PolicyPublication(publication));
                }
            }
            RequestKind::PolicyException => {
                let rows = sqlx::query!(
                    "SELECT pe.request_id, pol.id AS policy_id, pol.reference, pol.title,
                            pe.scope, pe.justification, pe.compensating_controls,
                            pe.starts_on, pe.expires_on
                     FROM policy_exceptions pe JOIN policies pol ON pol.id = pe.policy_id
                     WHERE pe.request_id = ANY($1)",
                    &ids
                )
                .fetch_all(&mut *conn)
                .await?;
                for row in rows {
                    let exception = PolicyException {
                        policy_id: row.policy_id,
                        policy_reference: row.reference,
                        policy_title: row.title,
                        scope: row.scope,
                        justification: row.justification,
                        compensating_controls: row.compensating_controls,
                        starts_on: row.starts_on,
                        expires_on: row.expires_on,
                    };
                    subjects.insert(row.request_id, Subject::PolicyException(exception));
                }
            }
        }
    }
    Ok(subjects)
}

//! What the approvals engine tells people by e-mail (when SMTP is configured): a request
//! opened, votes set aside, a decision taken. Queued in the caller's transaction.

use sqlx::PgConnection;

use super::eligibility::Conflicts;
use super::repo::{self, Request};
use crate::config::ServerConfig;
use crate::notify;

async fn emails_of(conn: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar!(
        "SELECT email FROM users WHERE id = ANY($1) AND is_active ORDER BY id",
        ids
    )
    .fetch_all(conn)
    .await
}

async fn reload(conn: &mut PgConnection, id: i64) -> sqlx::Result<Request> {
    repo::get_request(conn, id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

fn link(config: &ServerConfig, request: &Request) -> String {
    format!("{}/board/requests/{}", config.base_url(), request.id)
}

/// Every eligible board member is asked to vote.
pub async fn request_opened(
    conn: &mut PgConnection,
    config: &ServerConfig,
    id: i64,
) -> sqlx::Result<()> {
    let request = reload(conn, id).await?;
    let members = repo::board_members(conn).await?;
    let eligible = Conflicts::load(conn, id).await?.eligible(&members);
    let subject = format!("Your vote: {} {}", request.reference, request.title);
    let asked = match (request.budget(), request.project_reference.as_deref()) {
        (Some(_), Some(project)) => format!("{} for {project}", request.what()),
        _ => format!("a decision: {}", request.what()),
    };
    let body = format!(
        "{} asks the board for {asked}.\n\n{}\n\nPlease vote by {}:\n{}\n",
        request.requester_name,
        request.title,
        request.due_date,
        link(config, &request)
    );
    for email in emails_of(conn, &eligible).await? {
        notify::enqueue(conn, config, &email, &subject, &body).await?;
    }
    Ok(())
}

/// Members whose votes were set aside by a change are asked to vote again.
pub async fn votes_set_aside(
    conn: &mut PgConnection,
    config: &ServerConfig,
    id: i64,
    voters: &[i64],
) -> sqlx::Result<()> {
    if voters.is_empty() {
        return Ok(());
    }
    let request = reload(conn, id).await?;
    let subject = format!("Vote again: {} changed", request.reference);
    let body = format!(
        "{} changed after you voted, so your vote was set aside. Read version {} and vote again:\n{}\n",
        request.reference,
        request.content_version,
        link(config, &request)
    );
    for email in emails_of(conn, voters).await? {
        notify::enqueue(conn, config, &email, &subject, &body).await?;
    }
    Ok(())
}

/// The requester and the board hear the outcome.
pub async fn decision_taken(
    conn: &mut PgConnection,
    config: &ServerConfig,
    id: i64,
) -> sqlx::Result<()> {
    let request = reload(conn, id).await?;
    let mut recipients: Vec<i64> = repo::board_members(conn)
        .await?
        .iter()
        .map(|m| m.id)
        .collect();
    recipients.push(request.requester_id);
    recipients.sort_unstable();
    recipients.dedup();
    let subject = format!(
        "{}: {} {}",
        request.decision_reference.as_deref().unwrap_or("Decision"),
        request.reference,
        request.status().label().to_lowercase()
    );
    let body = format!(
        "The board's decision on {} {} is recorded: {}.\n{}\n",
        request.reference,
        request.title,
        request.status().label().to_lowercase(),
        link(config, &request)
    );
    for email in emails_of(conn, &recipients).await? {
        notify::enqueue(conn, config, &email, &subject, &body).await?;
    }
    Ok(())
}

//! E-mail notifications through SMTP, when configured (off by default).
//!
//! Areas call [`enqueue`] inside the transaction of the change they announce, so a mail
//! exists exactly when the change does. A sender task on every instance takes pending mails
//! with `FOR UPDATE SKIP LOCKED` (instances never send the same mail twice), sends them,
//! and retries failures with a growing delay.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::{PgConnection, PgPool};

use crate::config::ServerConfig;

/// How often the sender looks for pending mails.
const POLL: Duration = Duration::from_secs(2);
const BATCH: i64 = 20;
const MAX_ATTEMPTS: i32 = 8;

/// Queues a mail, unless no SMTP server is configured.
pub async fn enqueue(
    conn: &mut PgConnection,
    config: &ServerConfig,
    recipient: &str,
    subject: &str,
    body: &str,
) -> sqlx::Result<()> {
    if config.smtp_url.is_none() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO mail_outbox (recipient, subject, body) VALUES ($1, $2, $3)",
        recipient,
        subject,
        body
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Starts the sender when an SMTP server is configured; it finishes the batch in hand and
/// stops when `stopping` turns true.
pub fn spawn_sender(
    pool: PgPool,
    config: &ServerConfig,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let Some(url) = &config.smtp_url else {
        return Ok(None);
    };
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
        .timeout(Some(Duration::from_secs(20)))
        .build();
    let from: Mailbox = config.mail_from.parse()?;
    Ok(Some(tokio::spawn(async move {
        while !*stopping.borrow() {
            let pause = match send_pending(&pool, &transport, &from).await {
                Ok(0) => POLL,
                Ok(_) => Duration::ZERO,
                Err(error) => {
                    tracing::warn!(%error, "cannot send pending e-mails");
                    POLL
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopping.changed() => {}
            }
        }
    })))
}

struct PendingMail {
    id: i64,
    recipient: String,
    subject: String,
    body: String,
    attempts: i32,
}

/// Sends one batch; returns how many mails it handled.
async fn send_pending(
    pool: &PgPool,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
) -> anyhow::Result<usize> {
    let mut tx = pool.begin().await?;
    let batch = sqlx::query_as!(
        PendingMail,
        "SELECT id, recipient, subject, body, attempts FROM mail_outbox
         WHERE sent_at IS NULL AND next_attempt_at <= now() AND attempts < $1
         ORDER BY id LIMIT $2
         FOR UPDATE SKIP LOCKED",
        MAX_ATTEMPTS,
        BATCH
    )
    .fetch_all(&mut *tx)
    .await?;
    for mail in &batch {
        match send(transport, from, mail).await {
            Ok(()) => {
                sqlx::query!(
                    "UPDATE mail_outbox SET sent_at = now(), attempts = attempts + 1 WHERE id = $1",
                    mail.id
                )
                .execute(&mut *tx)
                .await?;
            }
            Err(error) => {
                tracing::warn!(%error, mail = mail.id, "e-mail not sent; will retry");
                let delay_secs = 30.0 * 2f64.powi(mail.attempts);
                sqlx::query!(
                    "UPDATE mail_outbox SET attempts = attempts + 1, last_error = $2,
                            next_attempt_at = now() + make_interval(secs => $3)
                     WHERE id = $1",
                    mail.id,
                    error.to_string(),
                    delay_secs
                )
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await?;
    Ok(batch.len())
}

async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: &PendingMail,
) -> anyhow::Result<()> {
    let message = Message::builder()
        .from(from.clone())
        .to(mail.recipient.parse()?)
        .subject(&mail.subject)
        .body(mail.body.clone())?;
    transport.send(message).await?;
    Ok(())
}

//! What Quorum keeps in a server-side session, and flash messages.
//!
//! Sessions live in PostgreSQL (tower-sessions with its sqlx store), so any instance can
//! serve any request. Reading a page does not write the session: its record is saved when
//! its data changes, and a signed-in session's idle deadline is pushed back at most once
//! per [`touch_interval`] (a minute, or a tenth of a short idle timeout), so a session
//! ends between that interval and the idle timeout after its last activity.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::config::ServerConfig;

const AUTH_KEY: &str = "auth";
const FLASH_KEY: &str = "flash";
/// When the idle deadline was last pushed back (Unix milliseconds).
const TOUCHED_KEY: &str = "touched_at";

/// Who is signed in to a session, and since when.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    /// Must equal the account's `session_epoch`; bumping that ends every session at once.
    pub epoch: i32,
    /// Unix seconds; the absolute timeout counts from here.
    pub signed_in_at: i64,
}

pub async fn auth(
    session: &Session,
) -> Result<Option<SessionAuth>, tower_sessions::session::Error> {
    session.get(AUTH_KEY).await
}

/// Marks the session as signed in as `auth`, under a new session id (no fixation).
pub async fn sign_in(
    session: &Session,
    auth: SessionAuth,
) -> Result<(), tower_sessions::session::Error> {
    session.cycle_id().await?;
    session.insert(AUTH_KEY, auth).await
}

/// Ends the session: its data and its record are gone.
pub async fn sign_out(session: &Session) -> Result<(), tower_sessions::session::Error> {
    session.flush().await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn css_class(&self) -> &'static str {
        match self {
            FlashKind::Success => "flash flash-success",
            FlashKind::Info => "flash flash-info",
            FlashKind::Error => "flash flash-error",
        }
    }
}

/// A message shown once, on the next page the person sees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

pub async fn push_flash(
    session: &Session,
    kind: FlashKind,
    message: impl Into<String>,
) -> Result<(), tower_sessions::session::Error> {
    let mut flashes: Vec<Flash> = session.get(FLASH_KEY).await?.unwrap_or_default();
    flashes.push(Flash {
        kind,
        message: message.into(),
    });
    session.insert(FLASH_KEY, flashes).await
}

pub async fn take_flashes(session: &Session) -> Result<Vec<Flash>, tower_sessions::session::Error> {
    // Removing marks the session changed (a write): only when there is something to take.
    if session.get::<Vec<Flash>>(FLASH_KEY).await?.is_none() {
        return Ok(Vec::new());
    }
    Ok(session.remove(FLASH_KEY).await?.unwrap_or_default())
}

/// How often a signed-in session's idle deadline is pushed back: a minute, or a tenth of
/// the idle timeout when that is shorter.
pub fn touch_interval(idle: std::time::Duration) -> std::time::Duration {
    (idle / 10).min(std::time::Duration::from_secs(60))
}

/// Pushes the idle deadline back (by saving the session) when it was last pushed more
/// than [`touch_interval`] ago; otherwise leaves the record alone.
pub async fn touch_if_due(
    session: &Session,
    idle: std::time::Duration,
) -> Result<(), tower_sessions::session::Error> {
    let now = time::OffsetDateTime::now_utc();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let touched_ms: Option<i64> = session.get(TOUCHED_KEY).await?;
    let interval_ms = i64::try_from(touch_interval(idle).as_millis()).unwrap_or(i64::MAX);
    if touched_ms.is_none_or(|touched| now_ms.saturating_sub(touched) >= interval_ms) {
        session.insert(TOUCHED_KEY, now_ms).await?;
    }
    Ok(())
}

/// The session layer: cookie settings from the configuration, records in PostgreSQL.
pub fn layer(pool: PgPool, config: &ServerConfig) -> SessionManagerLayer<PostgresStore> {
    let https = config.is_https();
    let idle = time::Duration::try_from(config.session_idle_timeout)
        .unwrap_or(time::Duration::minutes(30));
    SessionManagerLayer::new(PostgresStore::new(pool))
        // The `__Host-` prefix pins the cookie to this host, over HTTPS, for every path.
        .with_name(if https {
            "__Host-quorum_session"
        } else {
            "quorum_session"
        })
        .with_secure(https)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        // Saved when changed; `touch_if_due` changes a signed-in session now and then.
        .with_expiry(Expiry::OnInactivity(idle))
}

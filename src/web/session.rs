//! What Quorum keeps in a server-side session, and flash messages.
//!
//! Sessions live in PostgreSQL (tower-sessions with its sqlx store), so any instance can
//! serve any request.

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tower_sessions_sqlx_store::PostgresStore;

use crate::config::ServerConfig;

const AUTH_KEY: &str = "auth";
const FLASH_KEY: &str = "flash";

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
    Ok(session.remove(FLASH_KEY).await?.unwrap_or_default())
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
        .with_expiry(Expiry::OnInactivity(idle))
        // Each request pushes the idle deadline back.
        .with_always_save(true)
}

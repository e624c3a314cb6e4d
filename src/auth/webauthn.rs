//! WebAuthn plumbing for passkeys: Quorum as a relying party (`webauthn-rs` does the
//! checks of every answer: challenge, origin, signature, user verification, counter), and
//! the ceremonies under way, each kept in the database between its two requests and taken
//! by its answer so that an answer counts once.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::config::ServerConfig;
use crate::text_enum::text_enum;

/// How long a browser has to answer a challenge (the browser's own prompt times out at the
/// same moment).
pub const CEREMONY_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The relying party for the address people use to reach Quorum: its host is the passkeys'
/// scope (`rp.id`). Without a public address, `http://localhost:<port>` of the port
/// listened on. None where WebAuthn cannot work (an address that is not a domain name,
/// such as an IP address).
pub fn relying_party(config: &ServerConfig, port: u16) -> Option<Arc<Webauthn>> {
    let origin = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://localhost:{port}"),
    };
    let built = Url::parse(&origin)
        .map_err(|error| error.to_string())
        .and_then(|origin| {
            let host = origin
                .domain()
                .ok_or_else(|| format!("{origin} has no domain name"))?
                .to_owned();
            WebauthnBuilder::new(&host, &origin)
                .and_then(|builder| builder.rp_name("Quorum").timeout(CEREMONY_TIMEOUT).build())
                .map_err(|error| error.to_string())
        });
    match built {
        Ok(webauthn) => Some(Arc::new(webauthn)),
        Err(error) => {
            tracing::warn!(%origin, %error, "passkeys are off: WebAuthn needs a domain name in QUORUM_PUBLIC_URL");
            None
        }
    }
}

text_enum! {
    /// What a WebAuthn ceremony under way is for.
    pub enum Purpose {
        Register => ("register", "Adding a passkey"),
        SecondFactor => ("second_factor", "Second step of signing in"),
        Passwordless => ("passwordless", "Signing in with a passkey"),
        StepUp => ("step_up", "Confirming a change with a passkey"),
    }
}

/// Starts a ceremony in session `session_id` (replacing any other one it had).
pub async fn begin<S: Serialize>(
    conn: &mut PgConnection,
    session_id: i64,
    purpose: Purpose,
    user_id: Option<i64>,
    state: &S,
) -> sqlx::Result<()> {
    let state =
        serde_json::to_value(state).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query!(
        "INSERT INTO webauthn_ceremonies (session_id, purpose, user_id, state, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
         ON CONFLICT (session_id) DO UPDATE
            SET purpose = EXCLUDED.purpose, user_id = EXCLUDED.user_id,
                state = EXCLUDED.state, expires_at = EXCLUDED.expires_at",
        session_id,
        purpose as Purpose,
        user_id,
        state,
        CEREMONY_TIMEOUT.as_secs_f64()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A ceremony's state, taken by its answer.
pub struct Taken<S> {
    /// The account the ceremony was started for.
    pub user_id: Option<i64>,
    pub state: S,
}

/// Takes the session's live ceremony for `purpose`: it is gone afterwards, whatever the
/// answer turns out to be. None when there is none (never started, expired, answered).
pub async fn take<S: DeserializeOwned>(
    conn: &mut PgConnection,
    session_id: i64,
    purpose: Purpose,
) -> sqlx::Result<Option<Taken<S>>> {
    let row = sqlx::query!(
        "DELETE FROM webauthn_ceremonies
         WHERE session_id = $1 AND purpose = $2 AND expires_at > now()
         RETURNING user_id, state",
        session_id,
        purpose as Purpose,
    )
    .fetch_optional(conn)
    .await?;
    row.map(|row| {
        let state = serde_json::from_value(row.state)
            .map_err(|error| sqlx::Error::Decode(Box::new(error)))?;
        Ok(Taken {
            user_id: row.user_id,
            state,
        })
    })
    .transpose()
}

/// Ceremonies left unanswered: removed with the expired sessions.
pub async fn delete_expired(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM webauthn_ceremonies WHERE expires_at <= now()")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

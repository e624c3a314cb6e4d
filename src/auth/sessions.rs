//! The `sessions` table: one row per browser session, found by the SHA-256 of its
//! cookie's secret. The web side (cookie, handle, middleware) is `web::session`.

use std::time::Duration;

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::users::role::parse_stored_roles;
use crate::web::CurrentUser;
use crate::web::session::Flash;

/// A session's row as a request finds it, with its signed-in account.
#[derive(Debug)]
pub struct Found {
    pub id: i64,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub last_seen_at: OffsetDateTime,
    pub signed_in: SignedInState,
}

#[derive(Debug)]
pub enum SignedInState {
    /// Nobody has signed in to this session (a visitor on the sign-in page).
    Anonymous,
    User(CurrentUser),
    /// Signed in to an account that has since been deactivated or signed out everywhere.
    Revoked,
}

/// The live session whose secret hashes to `token_hash`, and its account, in one statement.
pub async fn find(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<Found>> {
    let row = sqlx::query!(
        r#"SELECT s.id, s.csrf_token, s.flashes AS "flashes: Json<Vec<Flash>>",
                  s.last_seen_at, s.user_id,
                  u.id AS "account_id?", u.email AS "email?",
                  u.display_name AS "display_name?", u.is_chair AS "is_chair?",
                  ARRAY(SELECT r.role FROM user_roles r WHERE r.user_id = u.id) AS "roles!"
           FROM sessions s
           LEFT JOIN users u
                  ON u.id = s.user_id AND u.is_active AND u.session_epoch = s.session_epoch
           WHERE s.token_hash = $1 AND s.expires_at > now()"#,
        token_hash
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| {
        let signed_in = match (row.user_id, row.account_id) {
            (None, _) => SignedInState::Anonymous,
            (Some(_), None) => SignedInState::Revoked,
            (Some(_), Some(id)) => SignedInState::User(CurrentUser {
                id,
                email: row.email.unwrap_or_default(),
                display_name: row.display_name.unwrap_or_default(),
                roles: parse_stored_roles(&row.roles),
                is_chair: row.is_chair.unwrap_or(false),
            }),
        };
        Found {
            id: row.id,
            csrf_token: row.csrf_token,
            flashes: row.flashes.map(|flashes| flashes.0).unwrap_or_default(),
            last_seen_at: row.last_seen_at,
            signed_in,
        }
    }))
}

/// How long sessions live, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Lifetime {
    fn idle_secs(&self) -> f64 {
        self.idle.as_secs_f64()
    }

    fn absolute_secs(&self) -> f64 {
        self.absolute.as_secs_f64()
    }
}

/// Who a new session belongs to and where it was opened from.
pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub csrf_token: &'a str,
    /// The account and its `session_epoch`; `None` for a visitor.
    pub account: Option<(i64, i32)>,
    pub user_agent: &'a str,
    pub client_ip: &'a str,
    pub flashes: &'a [Flash],
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    session: NewSession<'_>,
    lifetime: Lifetime,
) -> sqlx::Result<i64> {
    let (user_id, epoch) = session.account.unzip();
    sqlx::query_scalar!(
        r#"INSERT INTO sessions (token_hash, csrf_token, user_id, session_epoch, signed_in_at,
                                 expires_at, user_agent, client_ip, flashes)
           VALUES ($1, $2, $3, $4, CASE WHEN $3::bigint IS NULL THEN NULL ELSE now() END,
                   now() + make_interval(secs => CASE WHEN $3::bigint IS NULL THEN $5::float8
                                                      ELSE least($5::float8, $6::float8) END),
                   $7, $8, $9)
           RETURNING id"#,
        session.token_hash,
        session.csrf_token,
        user_id,
        epoch,
        lifetime.idle_secs(),
        lifetime.absolute_secs(),
        session.user_agent,
        session.client_ip,
        (!session.flashes.is_empty()).then_some(Json(session.flashes)) as _,
    )
    .fetch_one(db)
    .await
}

/// What a request changed about its session's row.
pub struct Update<'a> {
    /// The messages to keep for the next page, when they changed.
    pub flashes: Option<&'a [Flash]>,
    /// Push the idle deadline back (never past the absolute one).
    pub touch: bool,
}

pub async fn update(
    db: impl PgExecutor<'_>,
    id: i64,
    update: Update<'_>,
    lifetime: Lifetime,
) -> sqlx::Result<()> {
    let flashes = update
        .flashes
        .map(|flashes| (!flashes.is_empty()).then_some(Json(flashes)));
    sqlx::query!(
        r#"UPDATE sessions
           SET flashes = CASE WHEN $2 THEN $3 ELSE flashes END,
               last_seen_at = CASE WHEN $4 THEN now() ELSE last_seen_at END,
               expires_at = CASE WHEN NOT $4 THEN expires_at
                                 WHEN signed_in_at IS NULL
                                      THEN now() + make_interval(secs => $5::float8)
                                 ELSE least(now() + make_interval(secs => $5::float8),
                                            signed_in_at + make_interval(secs => $6::float8)) END
           WHERE id = $1"#,
        id,
        flashes.is_some(),
        flashes.flatten() as _,
        update.touch,
        lifetime.idle_secs(),
        lifetime.absolute_secs(),
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Removes the sessions past their deadline; returns how many.
pub async fn delete_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM sessions WHERE expires_at <= now()")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

//! The `sessions` table: one row per browser session, found by the SHA-256 of its
//! cookie's secret. The web side (cookie, handle, middleware) is `web::session`.

use std::time::Duration;

use sqlx::types::Json;
use sqlx::{PgConnection, PgExecutor};
use time::OffsetDateTime;

use crate::text_enum::text_enum;
use crate::users::role::parse_stored_roles;
use crate::web::CurrentUser;
use crate::web::read_cache::DataVersion;
use crate::web::session::Flash;

text_enum! {
    /// How the person behind a session proved who they are.
    pub enum SignInMethod {
        Password => ("password", "Password"),
        PasswordAndTotp => ("password_totp", "Password and authenticator code"),
        PasswordAndRecoveryCode => ("password_recovery_code", "Password and recovery code"),
        PasswordAndPasskey => ("password_passkey", "Password and passkey"),
        Passkey => ("passkey", "Passkey"),
        SingleSignOn => ("sso", "Single sign-on"),
    }
}

impl SignInMethod {
    /// Whether signing in this way gave a second factor (or a passkey, which is one).
    pub fn proves_second_factor(self) -> bool {
        !matches!(self, SignInMethod::Password | SignInMethod::SingleSignOn)
    }
}

/// A session's row as a request finds it, with its signed-in account.
#[derive(Debug)]
pub struct Found {
    pub id: i64,
    pub csrf_token: String,
    pub flashes: Vec<Flash>,
    pub last_seen_at: OffsetDateTime,
    pub signed_in: SignedInState,
    /// A visitor whose password was right, on the way to the second step.
    pub pending: Option<PendingSecondFactor>,
    /// The signed-in account's roles require a second factor it does not have yet.
    pub must_enrol: bool,
    /// The signed-in account has a second factor...
    pub has_second_factor: bool,
    /// ...last given in this session then.
    pub second_factor_at: Option<OffsetDateTime>,
    /// The audit chain head's position as this statement saw it (`web::read_cache`).
    pub data_version: DataVersion,
}

/// The account a visitor proved the password of, waiting for its second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingSecondFactor {
    pub user_id: i64,
    /// The account's `session_epoch` when the password was checked.
    pub epoch: i32,
}

#[derive(Debug)]
pub enum SignedInState {
    /// Nobody has signed in to this session (a visitor on the sign-in page).
    Anonymous,
    User(CurrentUser, SignInMethod),
    /// Signed in to an account that has since been deactivated or signed out everywhere.
    Revoked,
}

/// The live session whose secret hashes to `token_hash`, and its account, in one statement.
pub async fn find(db: impl PgExecutor<'_>, token_hash: &[u8]) -> sqlx::Result<Option<Found>> {
    let row = sqlx::query!(
        r#"SELECT s.id, s.csrf_token, s.flashes AS "flashes: Json<Vec<Flash>>",
                  s.last_seen_at, s.user_id, s.sign_in_method AS "method: SignInMethod",
                  u.id AS "account_id?", u.email AS "email?",
                  u.display_name AS "display_name?", u.is_chair AS "is_chair?",
                  ARRAY(SELECT r.role FROM user_roles r WHERE r.user_id = u.id) AS "roles!",
                  CASE WHEN s.pending_until > now() THEN s.pending_user_id END AS pending_user_id,
                  s.pending_epoch,
                  EXISTS (SELECT FROM user_roles r
                          JOIN second_factor_policy p ON p.role = r.role AND p.required
                          WHERE r.user_id = u.id) AS "factor_required!",
                  coalesce(u.has_second_factor, false) AS "has_second_factor!",
                  s.second_factor_at,
                  (SELECT h.seq FROM audit_chain_head h) AS "data_version!"
           FROM sessions s
           LEFT JOIN users u
                  ON u.id = s.user_id AND u.is_active AND u.session_epoch = s.session_epoch
           WHERE s.token_hash = $1 AND s.expires_at > now()"#,
        token_hash
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| {
        let signed_in = match (row.account_id, row.method) {
            _ if row.user_id.is_none() => SignedInState::Anonymous,
            (Some(id), Some(method)) => SignedInState::User(
                CurrentUser {
                    id,
                    email: row.email.unwrap_or_default(),
                    display_name: row.display_name.unwrap_or_default(),
                    roles: parse_stored_roles(&row.roles),
                    is_chair: row.is_chair.unwrap_or(false),
                },
                method,
            ),
            _ => SignedInState::Revoked,
        };
        Found {
            id: row.id,
            csrf_token: row.csrf_token,
            flashes: row.flashes.map(|flashes| flashes.0).unwrap_or_default(),
            last_seen_at: row.last_seen_at,
            signed_in,
            pending: row
                .pending_user_id
                .zip(row.pending_epoch)
                .map(|(user_id, epoch)| PendingSecondFactor { user_id, epoch }),
            must_enrol: row.account_id.is_some() && row.factor_required && !row.has_second_factor,
            has_second_factor: row.has_second_factor,
            second_factor_at: row.second_factor_at,
            data_version: DataVersion(row.data_version),
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

/// Who signed in to a session.
#[derive(Debug, Clone, Copy)]
pub struct SignedInAccount {
    pub id: i64,
    /// The account's `session_epoch` at sign-in.
    pub epoch: i32,
    pub method: SignInMethod,
}

/// Who a new session belongs to and where it was opened from.
pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub csrf_token: &'a str,
    /// `None` for a visitor.
    pub account: Option<SignedInAccount>,
    pub user_agent: &'a str,
    pub client_ip: &'a str,
    pub flashes: &'a [Flash],
}

pub async fn insert(
    db: impl PgExecutor<'_>,
    session: NewSession<'_>,
    lifetime: Lifetime,
) -> sqlx::Result<i64> {
    let account = session.account;
    sqlx::query_scalar!(
        r#"INSERT INTO sessions (token_hash, csrf_token, user_id, session_epoch, sign_in_method,
                                 signed_in_at, expires_at, user_agent, client_ip, flashes,
                                 second_factor_at)
           VALUES ($1, $2, $3, $4, $10, CASE WHEN $3::bigint IS NULL THEN NULL ELSE now() END,
                   now() + make_interval(secs => CASE WHEN $3::bigint IS NULL THEN $5::float8
                                                      ELSE least($5::float8, $6::float8) END),
                   $7, $8, $9, CASE WHEN $11 THEN now() END)
           RETURNING id"#,
        session.token_hash,
        session.csrf_token,
        account.map(|account| account.id),
        account.map(|account| account.epoch),
        lifetime.idle_secs(),
        lifetime.absolute_secs(),
        session.user_agent,
        session.client_ip,
        (!session.flashes.is_empty()).then_some(Json(session.flashes)) as _,
        account.map(|account| account.method) as Option<SignInMethod>,
        account.is_some_and(|account| account.method.proves_second_factor()),
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

/// How long a correct password waits for its second factor.
pub const SECOND_FACTOR_WAIT_SECS: f64 = 300.0;

/// Marks a visitor's session as having passed the password of `pending`; false when the
/// session is gone or already signed in.
pub async fn await_second_factor(
    conn: &mut PgConnection,
    id: i64,
    pending: PendingSecondFactor,
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE sessions
         SET pending_user_id = $2, pending_epoch = $3,
             pending_until = now() + make_interval(secs => $4::float8)
         WHERE id = $1 AND user_id IS NULL",
        id,
        pending.user_id,
        pending.epoch,
        SECOND_FACTOR_WAIT_SECS
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that the session's person gave their second factor just now (step-up).
pub async fn mark_second_factor(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE sessions SET second_factor_at = now() WHERE id = $1",
        id
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM sessions WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

/// One of an account's live sessions, as its owner and administrators see it.
#[derive(Debug)]
pub struct SessionLine {
    pub id: i64,
    pub method: SignInMethod,
    pub signed_in_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub user_agent: String,
    pub client_ip: String,
}

/// The account's live sessions, the most recently active first.
pub async fn of_account(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<SessionLine>> {
    sqlx::query_as!(
        SessionLine,
        r#"SELECT id, sign_in_method AS "method!: SignInMethod",
                  signed_in_at AS "signed_in_at!", last_seen_at, user_agent, client_ip
           FROM sessions
           WHERE user_id = $1 AND expires_at > now()
           ORDER BY last_seen_at DESC, id DESC"#,
        user_id
    )
    .fetch_all(conn)
    .await
}

/// Ends one of the account's sessions; false when it has no such session (any more).
pub async fn end_of_account(conn: &mut PgConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE id = $1 AND user_id = $2",
        id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of the account but `keep`; returns how many ended.
pub async fn end_others_of_account(
    conn: &mut PgConnection,
    user_id: i64,
    keep: i64,
) -> sqlx::Result<u64> {
    let done = sqlx::query!(
        "DELETE FROM sessions WHERE user_id = $1 AND id <> $2",
        user_id,
        keep
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Removes the sessions past their deadline; returns how many.
pub async fn delete_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM sessions WHERE expires_at <= now()")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

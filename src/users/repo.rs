//! The SQL of accounts and roles. Functions take a connection so that handlers compose
//! them in one transaction with the audit-trail write.

use serde::Serialize;
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::role::{Role, parse_stored_roles};
use crate::common::format::format_time;
use crate::web::CurrentUser;

/// What the sign-in check needs about an account.
#[derive(Debug)]
pub struct LoginCandidate {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub is_active: bool,
    pub session_epoch: i32,
    /// Signs in through a single sign-on provider only: the password is refused.
    pub sso_only: bool,
}

/// An account as the administration pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub is_active: bool,
    pub is_chair: bool,
    /// Signs in through single sign-on only.
    pub sso_only: bool,
    pub version: i32,
    #[serde(skip)]
    pub created_at: OffsetDateTime,
    #[serde(skip)]
    pub last_login_at: Option<OffsetDateTime>,
}

impl Account {
    pub fn has_role(&self, role: &Role) -> bool {
        self.roles.contains(role)
    }

    pub fn created_text(&self) -> String {
        format_time(self.created_at)
    }

    pub fn last_login_text(&self) -> String {
        self.last_login_at
            .map(format_time)
            .unwrap_or_else(|| "never".to_owned())
    }

    pub fn role_labels(&self) -> String {
        crate::users::role::labels(&self.roles)
    }
}

/// An account as the queries return it, roles still as stored names.
struct AccountRow {
    id: i64,
    email: String,
    display_name: String,
    roles: Vec<String>,
    is_active: bool,
    is_chair: bool,
    sso_only: bool,
    version: i32,
    created_at: OffsetDateTime,
    last_login_at: Option<OffsetDateTime>,
}

impl From<AccountRow> for Account {
    fn from(row: AccountRow) -> Self {
        Account {
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            roles: parse_stored_roles(&row.roles),
            is_active: row.is_active,
            is_chair: row.is_chair,
            sso_only: row.sso_only,
            version: row.version,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
        }
    }
}

/// A new account, validated.
#[derive(Debug)]
pub struct NewAccount {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub is_chair: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("an account with this e-mail address already exists")]
    EmailTaken,
    #[error("the account was changed by someone else meanwhile")]
    Stale,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn role_names(roles: &[Role]) -> Vec<String> {
    roles.iter().map(|role| role.as_str().to_owned()).collect()
}

pub async fn find_for_login(
    conn: &mut PgConnection,
    email: &str,
) -> sqlx::Result<Option<LoginCandidate>> {
    sqlx::query_as!(
        LoginCandidate,
        "SELECT id, email, password_hash, is_active, session_epoch, sso_only
         FROM users WHERE email = $1",
        email
    )
    .fetch_optional(conn)
    .await
}

/// The account a visitor passed the password of, for the second step.
pub async fn find_for_second_step(
    conn: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<LoginCandidate>> {
    sqlx::query_as!(
        LoginCandidate,
        "SELECT id, email, password_hash, is_active, session_epoch, sso_only
         FROM users WHERE id = $1",
        id
    )
    .fetch_optional(conn)
    .await
}

/// The signed-in user of a session, if the account is still active and the session is not
/// from before the account's last "sign out everywhere".
pub async fn load_signed_in(
    conn: &mut PgConnection,
    id: i64,
    epoch: i32,
) -> sqlx::Result<Option<CurrentUser>> {
    let row = sqlx::query!(
        r#"SELECT u.id, u.email, u.display_name, u.is_chair,
                  COALESCE(array_agg(r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS "roles!"
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           WHERE u.id = $1 AND u.is_active AND u.session_epoch = $2
           GROUP BY u.id"#,
        id,
        epoch
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| CurrentUser {
        id: row.id,
        email: row.email,
        display_name: row.display_name,
        roles: parse_stored_roles(&row.roles),
        is_chair: row.is_chair,
    }))
}

pub async fn record_login(conn: &mut PgConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query!("UPDATE users SET last_login_at = now() WHERE id = $1", id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<Account>> {
    let row = sqlx::query_as!(
        AccountRow,
        r#"SELECT u.id, u.email, u.display_name, u.is_active, u.is_chair, u.sso_only, u.version,
                  u.created_at, u.last_login_at,
                  COALESCE(array_agg(r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS "roles!"
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           WHERE u.id = $1
           GROUP BY u.id"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Account::from))
}

/// A page of accounts in e-mail order, after `after` (keyset paging).
pub async fn list(
    conn: &mut PgConnection,
    after: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Account>> {
    let rows = sqlx::query_as!(
        AccountRow,
        r#"SELECT u.id, u.email, u.display_name, u.is_active, u.is_chair, u.sso_only, u.version,
                  u.created_at, u.last_login_at,
                  COALESCE(array_agg(r.role) FILTER (WHERE r.role IS NOT NULL), '{}') AS "roles!"
           FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
           WHERE u.email > coalesce($1::text, '')
           GROUP BY u.id
           ORDER BY u.email
           LIMIT $2"#,
        after,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Account::from).collect())
}

pub async fn create(conn: &mut PgConnection, account: &NewAccount) -> Result<i64, AccountError> {
    let id = sqlx::query_scalar!(
        "INSERT INTO users (email, display_name, password_hash, is_chair)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO NOTHING
         RETURNING id",
        account.email,
        account.display_name,
        account.password_hash,
        account.is_chair
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccountError::EmailTaken)?;
    replace_roles(conn, id, &account.roles).await?;
    Ok(id)
}

async fn replace_roles(conn: &mut PgConnection, id: i64, roles: &[Role]) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM user_roles WHERE user_id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO user_roles (user_id, role) SELECT $1, unnest($2::text[])",
        id,
        &role_names(roles)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The account's roles, in Quorum's order.
pub async fn roles_of(conn: &mut PgConnection, id: i64) -> sqlx::Result<Vec<Role>> {
    let names = sqlx::query_scalar!("SELECT role FROM user_roles WHERE user_id = $1", id)
        .fetch_all(conn)
        .await?;
    let held = crate::users::role::parse_stored_roles(&names);
    Ok(Role::ALL
        .iter()
        .copied()
        .filter(|role| held.contains(role))
        .collect())
}

/// Gives the account exactly `roles` (single sign-on's mapped groups).
pub async fn set_roles(conn: &mut PgConnection, id: i64, roles: &[Role]) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE users SET version = version + 1, updated_at = now() WHERE id = $1",
        id
    )
    .execute(&mut *conn)
    .await?;
    replace_roles(conn, id, roles).await
}

/// Lets the account sign in through single sign-on only, or with its password too; false
/// when it was so already.
pub async fn set_sso_only(conn: &mut PgConnection, id: i64, sso_only: bool) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE users SET sso_only = $2, version = version + 1, updated_at = now()
         WHERE id = $1 AND sso_only <> $2",
        id,
        sso_only
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Applies `change` if the account is still at `expected_version` (optimistic concurrency).
pub async fn update_profile(
    conn: &mut PgConnection,
    id: i64,
    expected_version: i32,
    display_name: &str,
    roles: &[Role],
    is_chair: bool,
) -> Result<(), AccountError> {
    let updated = sqlx::query!(
        "UPDATE users SET display_name = $3, is_chair = $4, version = version + 1,
                          updated_at = now()
         WHERE id = $1 AND version = $2",
        id,
        expected_version,
        display_name,
        is_chair
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AccountError::Stale);
    }
    replace_roles(conn, id, roles).await?;
    Ok(())
}

/// Activates or deactivates an account. Deactivation ends its sessions at once (the epoch
/// moves on, and every request checks it).
pub async fn set_active(
    conn: &mut PgConnection,
    id: i64,
    expected_version: i32,
    active: bool,
) -> Result<(), AccountError> {
    let updated = sqlx::query!(
        "UPDATE users SET is_active = $3, version = version + 1, updated_at = now(),
                          session_epoch = session_epoch + CASE WHEN $3 THEN 0 ELSE 1 END
         WHERE id = $1 AND version = $2",
        id,
        expected_version,
        active
    )
    .execute(conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AccountError::Stale);
    }
    Ok(())
}

/// Sets a new password and ends every session of the account; returns the new epoch so
/// that the session that made the change can carry on.
pub async fn set_password(
    conn: &mut PgConnection,
    id: i64,
    password_hash: &str,
) -> sqlx::Result<i32> {
    sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1,
                          version = version + 1, updated_at = now()
         WHERE id = $1
         RETURNING session_epoch",
        id,
        password_hash
    )
    .fetch_one(conn)
    .await
}

pub async fn password_hash(conn: &mut PgConnection, id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar!("SELECT password_hash FROM users WHERE id = $1", id)
        .fetch_one(conn)
        .await
}

pub async fn find_id_by_email(conn: &mut PgConnection, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar!("SELECT id FROM users WHERE email = $1", email)
        .fetch_optional(conn)
        .await
}

/// Whether any account exists (a fresh installation has none).
pub async fn any_exists(conn: &mut PgConnection) -> sqlx::Result<bool> {
    let exists = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT FROM users) AS "exists!""#)
        .fetch_one(conn)
        .await?;
    Ok(exists)
}

/// An active account named in a form (e.g. a project's manager).
#[derive(Debug, Clone)]
pub struct PersonOption {
    pub id: i64,
    pub display_name: String,
}

/// The active holders of `role` whose email is `typed` (any case) or whose name is, the
/// email's match first; at most two, enough to tell a name that is not unique.
pub async fn active_holders_named(
    conn: &mut PgConnection,
    role: Role,
    typed: &str,
) -> sqlx::Result<Vec<(PersonOption, bool)>> {
    let rows = sqlx::query!(
        r#"SELECT u.id, u.display_name, u.email = lower($2) AS "by_email!"
           FROM users u JOIN user_roles r ON r.user_id = u.id
           WHERE r.role = $1 AND u.is_active
             AND (u.email = lower($2) OR lower(u.display_name) = lower($2))
           ORDER BY u.email = lower($2) DESC, u.id
           LIMIT 2"#,
        role.as_str(),
        typed
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let person = PersonOption {
                id: row.id,
                display_name: row.display_name,
            };
            (person, row.by_email)
        })
        .collect())
}

/// Up to `limit` active holders of `role` whose name (or a word of it) or email starts
/// with `prefix`, by name: (email, name).
pub async fn suggest_holders(
    conn: &mut PgConnection,
    role: Role,
    prefix: &str,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    let pattern = crate::web::suggest::like_prefix(prefix);
    let rows = sqlx::query!(
        r#"SELECT u.email, u.display_name FROM users u JOIN user_roles r ON r.user_id = u.id
           WHERE r.role = $1 AND u.is_active
             AND (lower(u.display_name) LIKE $2 OR lower(u.display_name) LIKE '% ' || $2
                  OR u.email LIKE $2)
           ORDER BY u.display_name, u.id
           LIMIT $3"#,
        role.as_str(),
        pattern,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.email, row.display_name))
        .collect())
}

pub async fn email_of(conn: &mut PgConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT email FROM users WHERE id = $1", id)
        .fetch_optional(conn)
        .await
}

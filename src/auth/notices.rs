//! What a person is told about their own account's security: a sign-in from a device not
//! seen before, a change of their second factor, a password change. Each is a notice in
//! their inbox and, when SMTP is configured, an e-mail, written in the transaction of the
//! change it tells of.

use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::config::ServerConfig;
use crate::notify;
use crate::text_enum::text_enum;

text_enum! {
    /// What happened to the account.
    pub enum NoticeKind {
        NewDevice => ("new_device", "Signed in from a new device"),
        SecondFactorAdded => ("second_factor_added", "Two-step sign-in set up"),
        SecondFactorRemoved => ("second_factor_removed", "Two-step sign-in removed"),
        SecondFactorReset => ("second_factor_reset", "Two-step sign-in reset by an administrator"),
        RecoveryCodesRenewed => ("recovery_codes_renewed", "New recovery codes made"),
        PasswordChanged => ("password_changed", "Password changed"),
        PasswordReset => ("password_reset", "Password reset by an administrator"),
    }
}

/// Who is told, and what about.
pub struct Notice<'a> {
    pub user_id: i64,
    pub email: &'a str,
    pub kind: NoticeKind,
    /// A line of detail (the device, who did it).
    pub detail: String,
}

/// Records the notice for the inbox and queues its e-mail.
pub async fn tell(
    conn: &mut PgConnection,
    config: &ServerConfig,
    notice: Notice<'_>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO account_notices (user_id, kind, detail) VALUES ($1, $2, $3)",
        notice.user_id,
        notice.kind as NoticeKind,
        notice.detail
    )
    .execute(&mut *conn)
    .await?;
    let body = format!(
        "{}: {}\n\nIf this was not you, change your password at once ({}/account/password) \
         and tell your administrator.\n\nYour account: {}/account",
        notice.kind.label(),
        notice.detail,
        config.base_url(),
        config.base_url()
    );
    notify::enqueue(
        conn,
        config,
        notice.email,
        &format!("Quorum: {}", notice.kind.label()),
        &body,
    )
    .await
}

/// Remembers that the account signed in from `device`; true when that is new and the
/// account had signed in from somewhere before (its very first device tells nothing).
pub async fn device_is_new(
    conn: &mut PgConnection,
    user_id: i64,
    device: &str,
) -> sqlx::Result<bool> {
    let known_before = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM known_devices WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let added = sqlx::query!(
        "INSERT INTO known_devices (user_id, device) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        user_id,
        device
    )
    .execute(conn)
    .await?;
    Ok(added.rows_affected() == 1 && known_before > 0)
}

/// A notice not yet dismissed, as the inbox shows it.
pub struct OpenNotice {
    pub id: i64,
    pub kind: NoticeKind,
    pub detail: String,
    pub created_at: OffsetDateTime,
}

impl OpenNotice {
    pub fn created_text(&self) -> String {
        crate::common::format::format_time(self.created_at)
    }
}

/// The person's notices not yet dismissed, newest first (at most `limit`).
pub async fn open_of(
    conn: &mut PgConnection,
    user_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<OpenNotice>> {
    sqlx::query_as!(
        OpenNotice,
        r#"SELECT id, kind AS "kind: NoticeKind", detail, created_at
           FROM account_notices
           WHERE user_id = $1 AND dismissed_at IS NULL
           ORDER BY created_at DESC, id DESC
           LIMIT $2"#,
        user_id,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Dismisses one of the person's own notices; false when it is not theirs or gone.
pub async fn dismiss(conn: &mut PgConnection, user_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE account_notices SET dismissed_at = now()
         WHERE id = $1 AND user_id = $2 AND dismissed_at IS NULL",
        id,
        user_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

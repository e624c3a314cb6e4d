//! Sign-in throttling per account and per client address, kept in PostgreSQL so that all
//! instances count together. After a few failures each further failure blocks the key for
//! a growing time: 30 s, 1 min, 2 min, ... up to 15 min. The key is whatever e-mail was
//! typed, so an unknown account is throttled exactly like a real one.

use sqlx::PgConnection;

/// Failures allowed before an account is blocked.
const ACCOUNT_FREE_FAILURES: i32 = 5;
/// Failures allowed from one address (which may be an office behind one NAT).
const ADDRESS_FREE_FAILURES: i32 = 20;
const FIRST_BLOCK_SECS: i64 = 30;
const MAX_BLOCK_SECS: i64 = 15 * 60;

pub struct ThrottleKeys {
    account: String,
    address: String,
}

impl ThrottleKeys {
    pub fn new(email: &str, client_ip: &str) -> Self {
        Self {
            account: format!("account:{email}"),
            address: format!("address:{client_ip}"),
        }
    }
}

/// Seconds until sign-in may be tried again, if either key is blocked now.
pub async fn blocked_for(
    conn: &mut PgConnection,
    keys: &ThrottleKeys,
) -> sqlx::Result<Option<i64>> {
    let remaining = sqlx::query_scalar!(
        r#"SELECT ceil(extract(epoch FROM max(blocked_until) - now()))::bigint
           FROM login_throttle
           WHERE key IN ($1, $2) AND blocked_until > now()"#,
        keys.account,
        keys.address
    )
    .fetch_one(conn)
    .await?;
    Ok(remaining.filter(|secs| *secs > 0))
}

/// Counts a failed attempt against both keys, blocking those past their allowance.
pub async fn record_failure(conn: &mut PgConnection, keys: &ThrottleKeys) -> sqlx::Result<()> {
    for (key, free) in [
        (&keys.account, ACCOUNT_FREE_FAILURES),
        (&keys.address, ADDRESS_FREE_FAILURES),
    ] {
        // A key that stayed quiet for an hour starts counting afresh.
        let failures = sqlx::query_scalar!(
            r#"INSERT INTO login_throttle AS t (key, failures, last_failure_at)
               VALUES ($1, 1, now())
               ON CONFLICT (key) DO UPDATE SET
                   failures = CASE WHEN t.last_failure_at < now() - interval '1 hour'
                                   THEN 1 ELSE t.failures + 1 END,
                   last_failure_at = now()
               RETURNING failures"#,
            key
        )
        .fetch_one(&mut *conn)
        .await?;
        if failures >= free {
            let doublings = (failures - free).min(20) as u32;
            let block_secs = (FIRST_BLOCK_SECS << doublings).min(MAX_BLOCK_SECS);
            sqlx::query!(
                "UPDATE login_throttle SET blocked_until = now() + make_interval(secs => $2)
                 WHERE key = $1",
                key,
                block_secs as f64
            )
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// A successful sign-in clears the account's count (the address keeps its own).
pub async fn clear_account(conn: &mut PgConnection, keys: &ThrottleKeys) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM login_throttle WHERE key = $1", keys.account)
        .execute(conn)
        .await?;
    Ok(())
}

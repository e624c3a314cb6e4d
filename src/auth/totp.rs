//! Authenticator apps as a second factor: time-based one-time codes (TOTP, RFC 6238:
//! HMAC-SHA-1, six digits, 30-second steps, one step of clock drift either way), computed
//! by `totp-rs`. Each code is accepted once: the last accepted step is kept, and a code of
//! that step or an earlier one is refused.

use qrcodegen::{QrCode, QrCodeEcc};
use sqlx::PgConnection;
use totp_rs::{Algorithm, TOTP};

/// The name authenticator apps show beside the account.
const ISSUER: &str = "Quorum";
const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// Codes of the step before and after the current one are accepted too (clock drift).
const SKEW_STEPS: u8 = 1;
pub const SECRET_BYTES: usize = 20;

pub fn new_secret() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_BYTES];
    getrandom::fill(&mut secret).expect("the operating system's random source failed");
    secret
}

fn totp(secret: &[u8], email: &str) -> TOTP {
    // An e-mail address has no colon and the secret is 160 bits: both checks pass.
    TOTP::new_unchecked(
        Algorithm::SHA1,
        DIGITS,
        SKEW_STEPS,
        STEP_SECS,
        secret.to_vec(),
        Some(ISSUER.to_owned()),
        email.to_owned(),
    )
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn setup_url(secret: &[u8], email: &str) -> String {
    totp(secret, email).get_url()
}

/// The secret as typed into an app by hand: base32 in groups of four.
pub fn secret_text(secret: &[u8], email: &str) -> String {
    let base32 = totp(secret, email).get_secret_base32();
    base32
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A QR code of `text` as an SVG image (drawn by Quorum: no script or image from
/// elsewhere, and no inline style, so the page's CSP holds).
pub fn qr_svg(text: &str) -> String {
    let Ok(code) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return String::new();
    };
    const QUIET: i32 = 4;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + QUIET, y + QUIET));
            }
        }
    }
    let full = size + 2 * QUIET;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {full} {full}" width="220" height="220" role="img" aria-label="QR code to scan with your authenticator app" shape-rendering="crispEdges"><rect width="{full}" height="{full}" fill="#ffffff"/><path d="{path}" fill="#000000"/></svg>"##
    )
}

/// A typed code, without the spaces and dashes people add, if it has the shape of one.
pub fn normalise(code: &str) -> Option<String> {
    let digits: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// The time step `code` belongs to, if it is the code of the current step or of one step
/// before or after it.
pub fn matching_step(secret: &[u8], email: &str, code: &str, unix_now: u64) -> Option<i64> {
    let code = normalise(code)?;
    let totp = totp(secret, email);
    let now = unix_now / STEP_SECS;
    let skew = u64::from(SKEW_STEPS);
    (now.saturating_sub(skew)..=now + skew)
        .find(|step| {
            let expected = totp.generate(step * STEP_SECS);
            bool::from(subtle::ConstantTimeEq::ct_eq(
                expected.as_bytes(),
                code.as_bytes(),
            ))
        })
        .and_then(|step| i64::try_from(step).ok())
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// An account's authenticator: confirmed, or still being set up.
pub struct Authenticator {
    pub secret: Vec<u8>,
    pub confirmed: bool,
}

pub async fn of_account(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<Option<Authenticator>> {
    let row = sqlx::query!(
        r#"SELECT secret, confirmed_at IS NOT NULL AS "confirmed!"
           FROM totp_authenticators WHERE user_id = $1"#,
        user_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Authenticator {
        secret: row.secret,
        confirmed: row.confirmed,
    }))
}

/// Starts setting up an authenticator with a new secret (replacing one not yet confirmed);
/// false when the account has a confirmed one already.
pub async fn start_setup(
    conn: &mut PgConnection,
    user_id: i64,
    secret: &[u8],
) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "INSERT INTO totp_authenticators (user_id, secret) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = now()
         WHERE totp_authenticators.confirmed_at IS NULL",
        user_id,
        secret
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Confirms the authenticator being set up with the step of its first correct code.
pub async fn confirm(conn: &mut PgConnection, user_id: i64, step: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE totp_authenticators SET confirmed_at = now(), last_used_step = $2
         WHERE user_id = $1 AND confirmed_at IS NULL",
        user_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Spends the code of `step`: false when that step's code (or a later one) was used
/// already, so a code seen over someone's shoulder cannot be used again.
pub async fn spend_step(conn: &mut PgConnection, user_id: i64, step: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE totp_authenticators SET last_used_step = $2
         WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_used_step < $2",
        user_id,
        step
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What became of a code typed as the account's authenticator code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right, and now spent.
    Accepted,
    /// Not the code of the current step or of one step either side.
    Wrong,
    /// Right, but that step's code (or a later one) was used already.
    Replayed,
    /// The account has no confirmed authenticator.
    NoAuthenticator,
}

impl CodeCheck {
    /// Why a code was refused, for the audit trail (never shown).
    pub fn reason(self) -> &'static str {
        match self {
            CodeCheck::Accepted => "accepted",
            CodeCheck::Wrong => "wrong or expired code",
            CodeCheck::Replayed => "code used already",
            CodeCheck::NoAuthenticator => "no authenticator",
        }
    }
}

/// Checks `code` against the account's confirmed authenticator and spends it if right.
pub async fn spend_code(
    conn: &mut PgConnection,
    user_id: i64,
    email: &str,
    code: &str,
) -> sqlx::Result<CodeCheck> {
    let Some(authenticator) = of_account(conn, user_id)
        .await?
        .filter(|authenticator| authenticator.confirmed)
    else {
        return Ok(CodeCheck::NoAuthenticator);
    };
    Ok(
        match matching_step(&authenticator.secret, email, code, unix_now()) {
            None => CodeCheck::Wrong,
            Some(step) if spend_step(conn, user_id, step).await? => CodeCheck::Accepted,
            Some(_) => CodeCheck::Replayed,
        },
    )
}

/// Removes the account's authenticator; false when it had none.
pub async fn remove(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "DELETE FROM totp_authenticators WHERE user_id = $1",
        user_id
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 test secret and two of its vectors (the last six digits).
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_vectors_within_one_step() {
        assert_eq!(totp(RFC_SECRET, "a@example.com").generate(59), "287082");
        assert_eq!(
            totp(RFC_SECRET, "a@example.com").generate(1_111_111_109),
            "081804"
        );
        let step = 1_111_111_109 / STEP_SECS;
        for (now, expected) in [
            (1_111_111_109, Some(step)),
            (1_111_111_109 + STEP_SECS, Some(step)),
            (1_111_111_109 - STEP_SECS, Some(step)),
            (1_111_111_109 + 2 * STEP_SECS, None),
        ] {
            assert_eq!(
                matching_step(RFC_SECRET, "a@example.com", "081 804", now),
                expected.map(|step| step as i64),
                "at {now}"
            );
        }
        assert_eq!(
            matching_step(RFC_SECRET, "a@example.com", "081805", 1_111_111_109),
            None
        );
        assert_eq!(normalise("12345"), None);
        assert_eq!(normalise("１２３４５６"), None);
        assert_eq!(normalise("123-456"), Some("123456".to_owned()));
    }

    #[test]
    fn the_qr_code_is_an_svg_without_style() {
        let svg = qr_svg(&setup_url(&[7u8; SECRET_BYTES], "board@example.com"));
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(!svg.contains("style"), "{svg}");
        assert!(svg.contains("<path d=\"M"), "{svg}");
    }
}

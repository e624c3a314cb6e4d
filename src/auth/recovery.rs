//! Recovery codes: ten single-use codes shown once when an authenticator is set up, for
//! signing in when the app is out of reach. Only their SHA-256 hashes are kept.

use sha2::{Digest, Sha256};
use sqlx::PgConnection;

pub const CODES: usize = 10;
/// Letters and digits that cannot be misread for one another (no 0/O, 1/I/L, 8/B).
const ALPHABET: &[u8] = b"2345679ACDEFGHJKMNPQRSTUVWXYZ";
const CODE_CHARS: usize = 10;

/// Ten new codes, as shown: `XXXXX-XXXXX`.
pub fn generate() -> Vec<String> {
    (0..CODES)
        .map(|_| {
            let mut bytes = [0u8; CODE_CHARS];
            getrandom::fill(&mut bytes).expect("the operating system's random source failed");
            let chars: String = bytes
                .iter()
                // 256 is not a multiple of the alphabet's size: the bias (under 1 %) costs
                // a fraction of a bit of a code's 48.
                .map(|byte| ALPHABET[usize::from(*byte) % ALPHABET.len()] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A typed code, upper-cased, without spaces and dashes, if it has the shape of one.
pub fn normalise(code: &str) -> Option<String> {
    let chars: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (chars.len() == CODE_CHARS && chars.bytes().all(|b| ALPHABET.contains(&b))).then_some(chars)
}

fn hash(normalised: &str) -> Vec<u8> {
    Sha256::digest(normalised.as_bytes()).to_vec()
}

/// Replaces the account's codes with `codes` (as shown).
pub async fn replace(conn: &mut PgConnection, user_id: i64, codes: &[String]) -> sqlx::Result<()> {
    let hashes: Vec<Vec<u8>> = codes
        .iter()
        .filter_map(|code| normalise(code))
        .map(|code| hash(&code))
        .collect();
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, unnest($2::bytea[])",
        user_id,
        &hashes
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Spends one of the account's unused codes; false when `code` is none of them.
pub async fn spend(conn: &mut PgConnection, user_id: i64, code: &str) -> sqlx::Result<bool> {
    let Some(code) = normalise(code) else {
        return Ok(false);
    };
    let done = sqlx::query!(
        "UPDATE recovery_codes SET used_at = now()
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        user_id,
        hash(&code)
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many of the account's codes are left.
pub async fn left(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "left!" FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

pub async fn remove_all(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM recovery_codes WHERE user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_readable_codes_that_normalise_back() {
        let codes = generate();
        assert_eq!(codes.len(), CODES);
        let distinct: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), CODES);
        for code in &codes {
            assert_eq!(code.len(), 11, "{code}");
            let typed = code.to_lowercase().replace('-', " ");
            assert_eq!(normalise(&typed), Some(code.replace('-', "")));
        }
        assert_eq!(normalise("ABCDE-FGHI0"), None, "0 is not in the alphabet");
        assert_eq!(normalise("ABCDE"), None);
    }
}

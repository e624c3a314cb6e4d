//! Passwords: the policy for new ones, and argon2id hashing off the async threads.

use std::sync::LazyLock;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_LENGTH: usize = 12;
pub const MAX_LENGTH: usize = 128;

const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// OWASP's argon2id parameters: 19 MiB of memory, 2 iterations, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Checks a new password against the policy; the message is shown next to the field.
pub fn check_policy(password: &str, email: &str, display_name: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(format!(
            "Use at least {MIN_LENGTH} characters (this one has {length}). A few unrelated \
             words make a strong password that is easy to remember."
        ));
    }
    if length > MAX_LENGTH {
        return Err(format!("Use at most {MAX_LENGTH} characters."));
    }
    let lowered = password.to_lowercase();
    let is_common = COMMON_PASSWORDS
        .lines()
        .filter(|line| !line.starts_with('#'))
        .any(|common| common == lowered);
    let single_character = lowered.chars().all(|c| lowered.starts_with(c));
    if is_common || single_character {
        return Err("This password is one of the most common ones; choose another.".to_owned());
    }
    let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
    let name = display_name.trim().to_lowercase();
    if lowered == email.to_lowercase()
        || (local_part.len() >= 4 && lowered.contains(&local_part))
        || (name.len() >= 4 && lowered.contains(&name))
    {
        return Err("The password must not contain your name or e-mail address.".to_owned());
    }
    Ok(())
}

/// Hashes a password (argon2id, random salt) on a blocking thread.
pub async fn hash(password: String) -> anyhow::Result<String> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let hashed: Result<PasswordHash, _> = hasher().hash_password(password.as_bytes());
        hashed
            .map(|hash| hash.to_string())
            .map_err(|error| anyhow::anyhow!("cannot hash the password: {error}"))
    })
    .await?
}

/// Checks a password against a stored hash on a blocking thread. Without a stored hash
/// (unknown account) it still spends the same time, so timing does not tell whether an
/// account exists.
pub async fn verify(password: String, stored_hash: Option<String>) -> anyhow::Result<bool> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let known_account = stored_hash.is_some();
        let stored = stored_hash.as_deref().unwrap_or(&DUMMY_HASH);
        let parsed = PasswordHash::new(stored)
            .map_err(|error| anyhow::anyhow!("stored password hash is malformed: {error}"))?;
        let matches = hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(matches && known_account)
    })
    .await?
}

/// A hash, with the same parameters, of a random password nobody knows.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random source failed");
    let hashed: PasswordHash = hasher()
        .hash_password(&secret)
        .expect("hashing random bytes cannot fail");
    hashed.to_string()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_long_common_and_personal_passwords() {
        assert!(check_policy("short", "a@example.com", "A").is_err());
        assert!(check_policy(&"x".repeat(129), "a@example.com", "A").is_err());
        assert!(check_policy("Password1234", "a@example.com", "A").is_err());
        assert!(check_policy("zzzzzzzzzzzzzz", "a@example.com", "A").is_err());
        assert!(check_policy("margaret-secure-9", "margaret@example.com", "M").is_err());
        assert!(check_policy("harbour lantern violet", "a@example.com", "A").is_ok());
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash("harbour lantern violet".to_owned()).await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify("harbour lantern violet".to_owned(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("harbour lantern violeT".to_owned(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify("anything at all".to_owned(), None).await.unwrap());
    }
}

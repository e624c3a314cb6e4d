//! The demo organisation `quorum demo` loads: its people, one per kind of user, a
//! believable portfolio ([`portfolio`]), requests before the board ([`approvals`]), a
//! risk register ([`risks`]), policies ([`policies`]) and a control library with evidence
//! ([`compliance`]).

pub mod approvals;
pub mod bench_data;
pub mod compliance;
pub mod policies;
pub mod portfolio;
pub mod risks;

use serde_json::json;
use sqlx::PgPool;

use crate::audit::{self, Actor};
use crate::auth::{passkeys, password, totp, two_step};
use crate::users::{self, Role, repo};

pub struct DemoAccount {
    pub email: &'static str,
    pub name: &'static str,
    pub roles: &'static [Role],
    pub is_chair: bool,
}

pub const ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "chair@example.com",
        name: "Catherine Hale",
        roles: &[Role::Board],
        is_chair: true,
    },
    DemoAccount {
        email: "board@example.com",
        name: "Daniel Okafor",
        roles: &[Role::Board],
        is_chair: false,
    },
    DemoAccount {
        email: "board2@example.com",
        name: "Ingrid Larsen",
        roles: &[Role::Board],
        is_chair: false,
    },
    DemoAccount {
        email: "manager@example.com",
        name: "Priya Raman",
        roles: &[Role::ItManager],
        is_chair: false,
    },
    DemoAccount {
        email: "manager2@example.com",
        name: "Tomás Silva",
        roles: &[Role::ItManager],
        is_chair: false,
    },
    DemoAccount {
        email: "cio@example.com",
        name: "Helen Whitfield",
        roles: &[Role::Board, Role::ItManager],
        is_chair: false,
    },
    DemoAccount {
        email: "auditor@example.com",
        name: "Marcus Bell",
        roles: &[Role::Auditor],
        is_chair: false,
    },
    DemoAccount {
        email: "admin@example.com",
        name: "Sam Jordan",
        roles: &[Role::Admin],
        is_chair: false,
    },
];

/// The demo board member who signs in with an authenticator app's code after the password
/// (the key is printed with the demo accounts, for a tester's app).
pub const TWO_STEP_ACCOUNT: &str = "board2@example.com";

/// The key of [`TWO_STEP_ACCOUNT`]'s authenticator, as typed into an app.
pub async fn two_step_key(pool: &PgPool) -> anyhow::Result<Option<String>> {
    let mut conn = pool.acquire().await?;
    let Some(id) = repo::find_id_by_email(&mut conn, TWO_STEP_ACCOUNT).await? else {
        return Ok(None);
    };
    Ok(totp::of_account(&mut conn, id)
        .await?
        .filter(|authenticator| authenticator.confirmed)
        .map(|authenticator| totp::secret_text(&authenticator.secret, TWO_STEP_ACCOUNT)))
}

/// Gives [`TWO_STEP_ACCOUNT`] a confirmed authenticator, unless it has one.
async fn enrol_two_step_account(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    let Some(id) = repo::find_id_by_email(&mut tx, TWO_STEP_ACCOUNT).await? else {
        return Ok(());
    };
    if two_step::has_second_factor(&mut tx, id).await? {
        return Ok(());
    }
    totp::start_setup(&mut tx, id, &totp::new_secret()).await?;
    totp::confirm(&mut tx, id, 0).await?;
    audit::record(
        &mut tx,
        &Actor::system(),
        None,
        audit::Entry::new("user.second_factor_added", "user", Some(id.to_string()))
            .after(json!({ "factor": "authenticator app", "reason": "demo organisation" })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A password for the demo accounts when none is configured: 20 random characters from
/// an alphabet without look-alikes, in groups of five.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
        .chunks(5)
        .map(|chunk| {
            chunk
                .iter()
                .map(|byte| ALPHABET[*byte as usize % ALPHABET.len()] as char)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Creates the demo accounts, or gives existing ones `password` again, each with its
/// audit event.
pub async fn load(pool: &PgPool, password: &str) -> anyhow::Result<()> {
    for account in ACCOUNTS {
        let hash = password::hash(password.to_owned()).await?;
        let mut tx = pool.begin().await?;
        match repo::find_id_by_email(&mut tx, account.email).await? {
            Some(id) => {
                repo::set_password(&mut tx, id, &hash).await?;
                audit::record(
                    &mut tx,
                    &Actor::system(),
                    None,
                    audit::Entry::new("user.password_reset", "user", Some(id.to_string()))
                        .after(json!({ "reason": "demo start" })),
                )
                .await?;
            }
            None => {
                let new = repo::NewAccount {
                    email: account.email.to_owned(),
                    display_name: account.name.to_owned(),
                    password_hash: hash,
                    roles: account.roles.to_vec(),
                    is_chair: account.is_chair,
                };
                users::create_with_audit(&mut tx, &Actor::system(), None, &new).await?;
            }
        }
        tx.commit().await?;
    }
    // The demo accounts sign in with the printed password: no role requires a second
    // factor here (a new installation requires one of the board and the administrators).
    let mut tx = pool.begin().await?;
    let relaxed = two_step::require_for_roles(&mut tx, &[]).await?;
    if relaxed {
        audit::record(
            &mut tx,
            &Actor::system(),
            None,
            audit::Entry::new("second_factor_policy.changed", "policy", None)
                .after(json!({ "required_for": [], "reason": "demo organisation" })),
        )
        .await?;
    }
    // ...and anyone who adds a passkey may sign in with it alone, to try it.
    if passkeys::allow_passkey_alone(&mut tx, true).await? {
        audit::record(
            &mut tx,
            &Actor::system(),
            None,
            audit::Entry::new("sign_in_policy.changed", "policy", None)
                .after(json!({ "passkey_without_password": true, "reason": "demo organisation" })),
        )
        .await?;
    }
    tx.commit().await?;
    enrol_two_step_account(pool).await
}

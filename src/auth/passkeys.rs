//! Passkeys and security keys: an account's list (add, rename, remove), the second step of
//! signing in with one, and signing in with a passkey alone where the organisation allows
//! it. The browser's side is `static/passkeys.js`; each ceremony is two requests (a
//! challenge as JSON, then the browser's answer posted in a form's `credential` field).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use sqlx::types::Json as JsonColumn;
use time::OffsetDateTime;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid,
};

use super::notices::NoticeKind;
use super::sessions::{SignInMethod, SignedInAccount};
use super::throttle::{self, ThrottleKeys};
use super::webauthn::{self, Purpose};
use super::{
    SignIn, complete_sign_in, password, recovery, refuse_if_throttled, safe_next, two_step,
    wait_message, with_retry_after,
};
use crate::audit::{self, Actor};
use crate::common::format::format_time;
use crate::users;
use crate::web::form::{FieldErrors, Form, required_text};
use crate::web::session::{Client, EnrolmentDue, FlashKind, Session};
use crate::web::{AppError, AppResult, AppState, CurrentUser, PageContext, RequestMeta, SignedIn};

/// The longest name of a passkey ("Work laptop", "YubiKey on my keyring").
pub const NAME_MAX: usize = 60;

const OVERVIEW: &str = "/account/two-step";

/// A passkey as its owner sees it in the list.
pub struct PasskeySummary {
    pub id: i64,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

impl PasskeySummary {
    pub fn added_text(&self) -> String {
        format_time(self.created_at)
    }

    pub fn last_used_text(&self) -> String {
        self.last_used_at
            .map_or_else(|| "Never".to_owned(), format_time)
    }
}

pub async fn list(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<PasskeySummary>> {
    sqlx::query_as!(
        PasskeySummary,
        "SELECT id, name, created_at, last_used_at FROM passkeys
         WHERE user_id = $1 ORDER BY created_at, id",
        user_id
    )
    .fetch_all(conn)
    .await
}

pub async fn count(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM passkeys WHERE user_id = $1"#,
        user_id
    )
    .fetch_one(conn)
    .await
}

/// The account's passkeys as WebAuthn needs them to ask for one.
async fn credentials_of(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Vec<Passkey>> {
    let rows = sqlx::query_scalar!(
        r#"SELECT credential AS "credential: JsonColumn<Passkey>" FROM passkeys
           WHERE user_id = $1 ORDER BY id"#,
        user_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|credential| credential.0).collect())
}

/// A stored passkey found by the credential id a browser answered with.
struct StoredPasskey {
    id: i64,
    user_id: i64,
    credential: Passkey,
}

async fn find_by_credential_id(
    conn: &mut PgConnection,
    credential_id: &[u8],
) -> sqlx::Result<Option<StoredPasskey>> {
    let row = sqlx::query!(
        r#"SELECT id, user_id, credential AS "credential: JsonColumn<Passkey>"
           FROM passkeys WHERE credential_id = $1"#,
        credential_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| StoredPasskey {
        id: row.id,
        user_id: row.user_id,
        credential: row.credential.0,
    }))
}

/// Why a new passkey was not kept.
enum NotAdded {
    NameTaken,
    /// The authenticator's credential is registered already (to this or another account).
    CredentialTaken,
}

async fn add(
    conn: &mut PgConnection,
    user_id: i64,
    name: &str,
    passkey: &Passkey,
) -> sqlx::Result<Result<i64, NotAdded>> {
    let credential =
        serde_json::to_value(passkey).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    let id = sqlx::query_scalar!(
        "INSERT INTO passkeys (user_id, name, credential_id, credential)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING id",
        user_id,
        name,
        passkey.cred_id().as_slice(),
        credential
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = id {
        return Ok(Ok(id));
    }
    let name_taken = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT FROM passkeys WHERE user_id = $1 AND name = $2) AS "taken!""#,
        user_id,
        name
    )
    .fetch_one(conn)
    .await?;
    Ok(Err(if name_taken {
        NotAdded::NameTaken
    } else {
        NotAdded::CredentialTaken
    }))
}

/// Keeps the passkey's new signature counter (and backup state) after a use.
async fn record_use(conn: &mut PgConnection, id: i64, passkey: &Passkey) -> sqlx::Result<()> {
    let credential =
        serde_json::to_value(passkey).map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query!(
        "UPDATE passkeys SET credential = $2, last_used_at = now() WHERE id = $1",
        id,
        credential
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes every passkey of the account (an administrator's reset); how many there were.
pub async fn remove_all(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<u64> {
    let done = sqlx::query!("DELETE FROM passkeys WHERE user_id = $1", user_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}

/// Whether the organisation lets people sign in with a passkey alone.
pub async fn passkey_alone_allowed(conn: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar!("SELECT passkey_without_password FROM sign_in_policy")
        .fetch_one(conn)
        .await
}

/// Allows or forbids signing in with a passkey alone; false when it was so already.
pub async fn allow_passkey_alone(conn: &mut PgConnection, allowed: bool) -> sqlx::Result<bool> {
    let done = sqlx::query!(
        "UPDATE sign_in_policy SET passkey_without_password = $1
         WHERE passkey_without_password <> $1",
        allowed
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The handle authenticators keep for the account (WebAuthn's `user.id`).
async fn webauthn_user_id(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Uuid> {
    sqlx::query_scalar!("SELECT webauthn_user_id FROM users WHERE id = $1", user_id)
        .fetch_one(conn)
        .await
}

/// Why no challenge was given, as JSON for `passkeys.js` to show.
struct NoChallenge(StatusCode, &'static str);

impl IntoResponse for NoChallenge {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

pub const UNAVAILABLE: &str = "Passkeys work when Quorum is reached by its domain name (the \
    address your administrator set as QUORUM_PUBLIC_URL), over https or on localhost.";

/// The relying party and the session's row id a ceremony is kept under, unless passkeys
/// cannot work at this address or the session has gone (a visitor's session has a row
/// once a form's CSRF token was handed out: the challenge request carries that token).
fn ceremony_place<'a>(
    state: &'a AppState,
    session: &Session,
) -> Result<(&'a Webauthn, i64), NoChallenge> {
    let webauthn = state
        .webauthn
        .as_deref()
        .ok_or(NoChallenge(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE))?;
    let session_id = session.id().ok_or(NoChallenge(
        StatusCode::CONFLICT,
        "Your session has ended. Reload the page and try again.",
    ))?;
    Ok((webauthn, session_id))
}

/// The browser's answer from a form's `credential` field, or what to tell the person.
fn parse_answer<T: serde::de::DeserializeOwned>(credential: &str) -> Result<T, &'static str> {
    if credential.trim().is_empty() {
        return Err(
            "Your browser sent no passkey. Passkeys need JavaScript: allow it for \
                    this site, or use another way to sign in.",
        );
    }
    serde_json::from_str(credential)
        .map_err(|_| "Your browser's answer could not be read. Try again.")
}

// ---------------------------------------------------------------------------------------
// The account's passkeys

/// `POST /account/two-step/passkeys/challenge`: the options for the browser to create a
/// passkey for the signed-in account.
pub(super) async fn registration_challenge(
    State(state): State<AppState>,
    session: Session,
    SignedIn(user): SignedIn,
) -> AppResult<Response> {
    let (webauthn, session_id) = match ceremony_place(&state, &session) {
        Ok(place) => place,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let mut tx = state.pool.begin().await?;
    let handle = webauthn_user_id(&mut tx, user.id).await?;
    let existing: Vec<_> = credentials_of(&mut tx, user.id)
        .await?
        .iter()
        .map(|passkey| passkey.cred_id().clone())
        .collect();
    let (options, registration) = webauthn
        .start_passkey_registration(handle, &user.email, &user.display_name, Some(existing))
        .map_err(|error| AppError::Internal(anyhow::anyhow!("passkey registration: {error}")))?;
    // Ask for a discoverable passkey where the authenticator can keep one, so that it can
    // also sign in without the e-mail address (the check of the answer does not depend on it).
    let mut options = serde_json::to_value(options)
        .map_err(|error| AppError::Internal(anyhow::anyhow!("passkey options: {error}")))?;
    if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection") {
        selection["residentKey"] = json!("preferred");
    }
    webauthn::begin(
        &mut tx,
        session_id,
        Purpose::Register,
        Some(user.id),
        &registration,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(options).into_response())
}

#[derive(Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    credential: String,
}

/// `POST /account/two-step/passkeys`: keeps the passkey the browser created, under the
/// name given. The first second factor of an account comes with its recovery codes.
pub(super) async fn add_passkey(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    EnrolmentDue(due): EnrolmentDue,
    SignedIn(user): SignedIn,
    Form(form): Form<AddForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "passkey_name", &form.name, NAME_MAX);
    let answer = parse_answer::<RegisterPublicKeyCredential>(&form.credential);
    if !errors.is_empty() {
        return refuse_new_passkey(&state, ctx, &user, due, errors, name).await;
    }
    let answer = match answer {
        Ok(answer) => answer,
        Err(message) => {
            errors.add("passkey", message);
            return refuse_new_passkey(&state, ctx, &user, due, errors, name).await;
        }
    };
    let Some(webauthn) = state.webauthn.as_deref() else {
        errors.add("passkey", UNAVAILABLE);
        return refuse_new_passkey(&state, ctx, &user, due, errors, name).await;
    };
    let mut tx = state.pool.begin().await?;
    let taken = match session.id() {
        Some(id) => webauthn::take::<PasskeyRegistration>(&mut tx, id, Purpose::Register).await?,
        None => None,
    };
    let Some(taken) = taken.filter(|taken| taken.user_id == Some(user.id)) else {
        tx.commit().await?;
        errors.add(
            "passkey",
            "The request for a passkey has expired. Add the passkey again.",
        );
        return refuse_new_passkey(&state, ctx, &user, due, errors, name).await;
    };
    let passkey = match webauthn.finish_passkey_registration(&answer, &taken.state) {
        Ok(passkey) => passkey,
        Err(error) => {
            audit::record(
                &mut tx,
                &Actor::user(&user),
                meta.request_id.as_deref(),
                audit::Entry::new("user.passkey_refused", "user", Some(user.id.to_string()))
                    .after(json!({ "reason": error.to_string() })),
            )
            .await?;
            tx.commit().await?;
            errors.add(
                "passkey",
                "Quorum could not accept this passkey (the browser's answer did not check \
                 out). Try again, or with another device.",
            );
            return refuse_new_passkey(&state, ctx, &user, due, errors, name).await;
        }
    };
    let first_factor = !two_step::has_second_factor(&mut tx, user.id).await?;
    match add(&mut tx, user.id, &name, &passkey).await? {
        Ok(_) => {}
        Err(not_added) => {
            tx.commit().await?;
            match not_added {
                NotAdded::NameTaken => errors.add(
                    "passkey_name",
                    "You have a passkey of this name already. Choose another name.",
                ),
                NotAdded::CredentialTaken => errors.add(
                    "passkey",
                    "This passkey is registered already. Use another device or security key.",
                ),
            }
            return refuse_new_passkey(&state, ctx, &user, due, errors, name).await;
        }
    }
    session.mark_second_factor(&mut tx).await?;
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "user.second_factor_added",
            "user",
            Some(user.id.to_string()),
        )
        .after(json!({ "factor": "passkey", "name": name })),
    )
    .await?;
    two_step::tell(
        &mut tx,
        &state,
        &user,
        NoticeKind::SecondFactorAdded,
        &format!("a passkey named “{name}”"),
    )
    .await?;
    if first_factor {
        let page = two_step::issue_recovery_codes(&mut tx, ctx, user.id).await?;
        tx.commit().await?;
        return Ok(page);
    }
    tx.commit().await?;
    session.push_flash(
        FlashKind::Success,
        format!("The passkey “{name}” is added: you can sign in with it."),
    );
    Ok(Redirect::to(OVERVIEW).into_response())
}

/// The two-step page again, with what was typed for the new passkey and why it was refused.
async fn refuse_new_passkey(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    enrolment_due: bool,
    errors: FieldErrors,
    name: String,
) -> AppResult<Response> {
    let page = two_step::overview(state, ctx, user, enrolment_due, errors)
        .await?
        .with_passkey_name(name);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Deserialize)]
pub(super) struct RenameForm {
    #[serde(default)]
    name: String,
}

/// `POST /account/two-step/passkeys/{id}/rename` (an account with a passkey has a second
/// factor: no enrolment is due on the page shown again).
pub(super) async fn rename_passkey(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<RenameForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let name = required_text(&mut errors, "rename", &form.name, NAME_MAX);
    if errors.is_empty() {
        let mut tx = state.pool.begin().await?;
        let renamed = sqlx::query!(
            r#"UPDATE passkeys p SET name = $3
               FROM (SELECT id, name FROM passkeys WHERE id = $1 AND user_id = $2 FOR UPDATE) old
               WHERE p.id = old.id
                 AND NOT EXISTS (SELECT FROM passkeys o
                                 WHERE o.user_id = $2 AND o.name = $3 AND o.id <> $1)
               RETURNING old.name AS "old_name!""#,
            id,
            user.id,
            name
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(renamed) = renamed {
            audit::record(
                &mut tx,
                &Actor::user(&user),
                meta.request_id.as_deref(),
                audit::Entry::new("user.passkey_renamed", "user", Some(user.id.to_string()))
                    .before(json!({ "name": renamed.old_name }))
                    .after(json!({ "name": name })),
            )
            .await?;
            tx.commit().await?;
            session.push_flash(
                FlashKind::Success,
                format!("The passkey is now named “{name}”."),
            );
            return Ok(Redirect::to(OVERVIEW).into_response());
        }
        drop(tx);
        let mut conn = state.pool.acquire().await?;
        let own = list(&mut conn, user.id).await?;
        if !own.iter().any(|passkey| passkey.id == id) {
            return Err(AppError::NotFound);
        }
        errors.add(
            "rename",
            "You have a passkey of this name already. Choose another name.",
        );
    }
    let page = two_step::overview(&state, ctx, &user, false, errors)
        .await?
        .with_renaming(id, name);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Deserialize)]
pub(super) struct RemoveForm {
    #[serde(default)]
    password: String,
}

/// `POST /account/two-step/passkeys/{id}/remove`: with the password. Removing the last
/// second factor removes the recovery codes too. (A wrong password leaves the passkey: no
/// enrolment is due on the page shown again.)
pub(super) async fn remove_passkey(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
    Path(id): Path<i64>,
    Form(form): Form<RemoveForm>,
) -> AppResult<Response> {
    let stored = {
        let mut conn = state.pool.acquire().await?;
        users::repo::password_hash(&mut conn, user.id).await?
    };
    if !password::verify(form.password, Some(stored)).await? {
        let mut errors = FieldErrors::new();
        errors.add(
            "remove_password",
            "This is not your password. Nothing was removed.",
        );
        let page = two_step::overview(&state, ctx, &user, false, errors)
            .await?
            .with_removing(id);
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut tx = state.pool.begin().await?;
    let name = sqlx::query_scalar!(
        "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name",
        id,
        user.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let last_factor = !two_step::has_second_factor(&mut tx, user.id).await?;
    if last_factor {
        recovery::remove_all(&mut tx, user.id).await?;
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "user.second_factor_removed",
            "user",
            Some(user.id.to_string()),
        )
        .after(json!({ "factor": "passkey", "name": name, "last_factor": last_factor })),
    )
    .await?;
    let detail = if last_factor {
        format!("the passkey “{name}”; you sign in with your password alone")
    } else {
        format!("the passkey “{name}”")
    };
    two_step::tell(
        &mut tx,
        &state,
        &user,
        NoticeKind::SecondFactorRemoved,
        &detail,
    )
    .await?;
    tx.commit().await?;
    session.push_flash(
        FlashKind::Success,
        if last_factor {
            format!(
                "The passkey “{name}” and your recovery codes are removed: you sign in with \
                 your password alone."
            )
        } else {
            format!("The passkey “{name}” is removed.")
        },
    );
    Ok(Redirect::to(OVERVIEW).into_response())
}

// ---------------------------------------------------------------------------------------
// Signing in

/// Checks the browser's answer against the challenge and the stored passkey, and keeps
/// the passkey's new counter. Err is the reason, for the audit trail (never shown).
fn check_assertion(
    webauthn: &Webauthn,
    answer: &PublicKeyCredential,
    stored: &mut StoredPasskey,
    check: impl FnOnce(
        &Webauthn,
        &PublicKeyCredential,
        &Passkey,
    ) -> Result<
        webauthn_rs::prelude::AuthenticationResult,
        webauthn_rs::prelude::WebauthnError,
    >,
) -> Result<(), String> {
    let result = check(webauthn, answer, &stored.credential).map_err(|error| error.to_string())?;
    stored.credential.update_credential(&result);
    Ok(())
}

/// A challenge answered in a session, for an account.
pub struct Answered {
    pub session_id: Option<i64>,
    pub purpose: Purpose,
    pub user_id: i64,
}

/// Checks `answer` against the session's challenge for `purpose` (taken: it counts once)
/// and one of the account's passkeys, and keeps the passkey's new counter. The inner Err
/// is the reason, for the audit trail (never shown).
pub async fn spend_answer(
    conn: &mut PgConnection,
    webauthn: &Webauthn,
    answered: Answered,
    answer: &PublicKeyCredential,
) -> sqlx::Result<Result<(), String>> {
    let taken = match answered.session_id {
        Some(id) => webauthn::take::<PasskeyAuthentication>(conn, id, answered.purpose).await?,
        None => None,
    };
    let stored = find_by_credential_id(conn, answer.get_credential_id()).await?;
    let checked = match (taken, stored) {
        (None, _) => Err("no passkey challenge under way (expired or answered)".to_owned()),
        (Some(taken), _) if taken.user_id != Some(answered.user_id) => {
            Err("challenge of another account".to_owned())
        }
        (_, None) => Err("unknown passkey".to_owned()),
        (_, Some(stored)) if stored.user_id != answered.user_id => {
            Err("passkey of another account".to_owned())
        }
        (Some(taken), Some(mut stored)) => {
            check_assertion(webauthn, answer, &mut stored, |webauthn, answer, _| {
                webauthn.finish_passkey_authentication(answer, &taken.state)
            })
            .map(|()| stored)
        }
    };
    Ok(match checked {
        Ok(stored) => {
            record_use(conn, stored.id, &stored.credential).await?;
            Ok(())
        }
        Err(reason) => Err(reason),
    })
}

/// Starts a ceremony asking for one of the account's passkeys: the options for the browser,
/// or None when the account has none.
async fn ask_for_passkey(
    conn: &mut PgConnection,
    webauthn: &Webauthn,
    session_id: i64,
    purpose: Purpose,
    user_id: i64,
) -> AppResult<Option<RequestChallengeResponse>> {
    let passkeys = credentials_of(conn, user_id).await?;
    if passkeys.is_empty() {
        return Ok(None);
    }
    let (options, authentication) = webauthn
        .start_passkey_authentication(&passkeys)
        .map_err(|error| AppError::Internal(anyhow::anyhow!("passkey authentication: {error}")))?;
    webauthn::begin(conn, session_id, purpose, Some(user_id), &authentication).await?;
    Ok(Some(options))
}

const NO_PASSKEY: &str = "This account has no passkey. Enter the code from your authenticator app.";

/// `POST /account/step-up/passkey/challenge`: the options to confirm a weighty change with
/// one of the signed-in person's passkeys (`web::step_up`).
pub(super) async fn step_up_challenge(
    State(state): State<AppState>,
    session: Session,
    SignedIn(user): SignedIn,
) -> AppResult<Response> {
    let (webauthn, session_id) = match ceremony_place(&state, &session) {
        Ok(place) => place,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let mut tx = state.pool.begin().await?;
    let Some(options) =
        ask_for_passkey(&mut tx, webauthn, session_id, Purpose::StepUp, user.id).await?
    else {
        return Ok(NoChallenge(StatusCode::CONFLICT, NO_PASSKEY).into_response());
    };
    tx.commit().await?;
    Ok(Json(options).into_response())
}

/// `POST /login/verify/passkey/challenge`: for a visitor whose password was right, the
/// options to ask the browser for one of the account's passkeys.
pub(super) async fn second_step_challenge(
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Response> {
    let (webauthn, session_id) = match ceremony_place(&state, &session) {
        Ok(place) => place,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let Some(pending) = session.pending_second_factor() else {
        return Ok(NoChallenge(
            StatusCode::CONFLICT,
            "Sign in with your password first (a half-finished sign-in lasts five minutes).",
        )
        .into_response());
    };
    let mut tx = state.pool.begin().await?;
    let asked = ask_for_passkey(
        &mut tx,
        webauthn,
        session_id,
        Purpose::SecondFactor,
        pending.user_id,
    )
    .await?;
    let Some(options) = asked else {
        return Ok(NoChallenge(StatusCode::CONFLICT, NO_PASSKEY).into_response());
    };
    tx.commit().await?;
    Ok(Json(options).into_response())
}

#[derive(Deserialize)]
pub(super) struct AnswerForm {
    #[serde(default)]
    credential: String,
    next: Option<String>,
}

/// `POST /login/verify/passkey`: the second step with a passkey; opens the session.
#[tracing::instrument(skip_all, fields(client_ip = %meta.client_ip))]
pub(super) async fn second_step(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    client: Client,
    Form(form): Form<AnswerForm>,
) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let Some(pending) = session.pending_second_factor() else {
        return Ok(two_step::start_again(&session, &next));
    };
    let account = {
        let mut conn = state.pool.acquire().await?;
        users::repo::find_for_second_step(&mut conn, pending.user_id).await?
    };
    let Some(account) =
        account.filter(|account| account.is_active && account.session_epoch == pending.epoch)
    else {
        return Ok(two_step::start_again(&session, &next));
    };
    let answer = match parse_answer::<PublicKeyCredential>(&form.credential) {
        Ok(answer) => answer,
        Err(message) => {
            return two_step::refuse_second_step(&state, ctx, account.id, next, "passkey", message)
                .await;
        }
    };
    let keys = ThrottleKeys::new(&account.email, &meta.client_ip);
    if let Some(wait_secs) = refuse_if_throttled(&state, &keys, &account.email, &meta).await? {
        let message = wait_message(wait_secs);
        let response =
            two_step::refuse_second_step(&state, ctx, account.id, next, "passkey", &message)
                .await?;
        let response = (StatusCode::TOO_MANY_REQUESTS, response).into_response();
        return Ok(with_retry_after(response, wait_secs));
    }
    let Some(webauthn) = state.webauthn.as_deref() else {
        return two_step::refuse_second_step(&state, ctx, account.id, next, "passkey", UNAVAILABLE)
            .await;
    };

    let mut tx = state.pool.begin().await?;
    let answered = Answered {
        session_id: session.id(),
        purpose: Purpose::SecondFactor,
        user_id: account.id,
    };
    let step = two_step::SecondStep {
        state: &state,
        session: &session,
        account: &account,
        keys: &keys,
        meta: &meta,
        client: &client,
    };
    match spend_answer(&mut tx, webauthn, answered, &answer).await? {
        Ok(()) => {
            step.succeed(tx, SignInMethod::PasswordAndPasskey).await?;
            Ok(Redirect::to(&next).into_response())
        }
        Err(reason) => {
            step.fail(tx, "passkey", &reason).await?;
            two_step::refuse_second_step(&state, ctx, account.id, next, "passkey", PASSKEY_REFUSED)
                .await
        }
    }
}

const PASSKEY_REFUSED: &str = "This passkey was not accepted. Use a passkey you added to your \
    Quorum account, on this site's address, and try again.";

/// `POST /login/passkey/challenge`: where the organisation allows it, the options for the
/// browser to offer the visitor's passkeys for this site (the passkey says whose it is).
pub(super) async fn passwordless_challenge(
    State(state): State<AppState>,
    session: Session,
) -> AppResult<Response> {
    let (webauthn, session_id) = match ceremony_place(&state, &session) {
        Ok(place) => place,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let mut tx = state.pool.begin().await?;
    if !passkey_alone_allowed(&mut tx).await? {
        return Ok(NoChallenge(StatusCode::CONFLICT, PASSKEY_ALONE_OFF).into_response());
    }
    let (mut options, authentication) = webauthn
        .start_discoverable_authentication()
        .map_err(|error| AppError::Internal(anyhow::anyhow!("passkey authentication: {error}")))?;
    // A button press asks at once (the browser's dialog), not an autofill suggestion.
    options.mediation = None;
    webauthn::begin(
        &mut tx,
        session_id,
        Purpose::Passwordless,
        None,
        &authentication,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(options).into_response())
}

const PASSKEY_ALONE_OFF: &str = "Your organisation does not allow signing in with a passkey \
    alone. Sign in with your e-mail address and password.";

/// `POST /login/passkey`: signs in with a passkey alone (it asked for the device's PIN or
/// biometrics, two factors in one), where the organisation allows it.
#[tracing::instrument(skip_all, fields(client_ip = %meta.client_ip))]
pub(super) async fn passwordless(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    client: Client,
    Form(form): Form<AnswerForm>,
) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let refuse = |status: StatusCode, message: &str| {
        let page = super::LoginPage {
            ctx,
            email: String::new(),
            next: next.clone(),
            error: None,
            passkey_error: Some(message.to_owned()),
            passkey_alone: true,
            sso: super::sso::buttons(&state.config),
        };
        (status, page).into_response()
    };
    let answer = match parse_answer::<PublicKeyCredential>(&form.credential) {
        Ok(answer) => answer,
        Err(message) => return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, message)),
    };
    let Some(webauthn) = state.webauthn.as_deref() else {
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, UNAVAILABLE));
    };
    // Whose passkey it claims to be: the account's handle the authenticator kept.
    let claimed = webauthn
        .identify_discoverable_authentication(&answer)
        .ok()
        .map(|(handle, _)| handle);
    let (stored, account) = {
        let mut conn = state.pool.acquire().await?;
        if !passkey_alone_allowed(&mut conn).await? {
            return Ok(refuse(StatusCode::CONFLICT, PASSKEY_ALONE_OFF));
        }
        let stored = find_by_credential_id(&mut conn, answer.get_credential_id()).await?;
        let account = match &stored {
            Some(stored) => users::repo::find_for_second_step(&mut conn, stored.user_id).await?,
            None => None,
        };
        (stored, account)
    };
    // Throttled by the account when the passkey is known, by the address always.
    let email = account.as_ref().map_or_else(
        || format!("(unknown passkey from {})", meta.client_ip),
        |account| account.email.clone(),
    );
    let keys = ThrottleKeys::new(&email, &meta.client_ip);
    if let Some(wait_secs) = refuse_if_throttled(&state, &keys, &email, &meta).await? {
        let response = refuse(StatusCode::TOO_MANY_REQUESTS, &wait_message(wait_secs));
        return Ok(with_retry_after(response, wait_secs));
    }

    let mut tx = state.pool.begin().await?;
    let taken = match session.id() {
        Some(id) => {
            webauthn::take::<DiscoverableAuthentication>(&mut tx, id, Purpose::Passwordless).await?
        }
        None => None,
    };
    let handle = match &stored {
        Some(stored) => Some(webauthn_user_id(&mut tx, stored.user_id).await?),
        None => None,
    };
    let checked = match (taken, stored, &account) {
        (None, _, _) => Err("no passkey challenge under way (expired or answered)".to_owned()),
        (_, None, _) | (_, _, None) => Err("unknown passkey".to_owned()),
        (_, _, Some(account)) if !account.is_active => Err("account deactivated".to_owned()),
        (_, Some(_), _) if claimed.is_none() || claimed != handle => {
            Err("passkey's account handle does not match".to_owned())
        }
        (Some(taken), Some(mut stored), Some(_)) => check_assertion(
            webauthn,
            &answer,
            &mut stored,
            |webauthn, answer, passkey| {
                webauthn.finish_discoverable_authentication_v2(answer, taken.state, passkey)
            },
        )
        .map(|()| stored),
    };
    match (checked, account) {
        (Ok(stored), Some(account)) => {
            record_use(&mut tx, stored.id, &stored.credential).await?;
            let sign_in = SignIn {
                config: &state.config,
                account: SignedInAccount {
                    id: account.id,
                    epoch: account.session_epoch,
                    method: SignInMethod::Passkey,
                },
                email: &account.email,
                keys: &keys,
                meta: &meta,
                client: &client,
            };
            complete_sign_in(&mut tx, &session, sign_in).await?;
            tx.commit().await?;
            Ok(Redirect::to(&next).into_response())
        }
        (checked, account) => {
            let reason = checked
                .err()
                .unwrap_or_else(|| "unknown passkey".to_owned());
            let actor = match &account {
                Some(account) => Actor::account(account.id, &account.email),
                None => Actor::anonymous("passkey"),
            };
            throttle::record_failure(&mut tx, &keys).await?;
            audit::record(
                &mut tx,
                &actor,
                meta.request_id.as_deref(),
                audit::Entry::new(
                    "auth.login_failed",
                    "user",
                    account.as_ref().map(|account| account.id.to_string()),
                )
                .after(json!({
                    "method": "passkey", "reason": reason, "client_ip": meta.client_ip
                })),
            )
            .await?;
            tx.commit().await?;
            Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, PASSKEY_REFUSED))
        }
    }
}

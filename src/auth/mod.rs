//! Signing in and out, and changing one's own password.

pub mod account;
pub mod notices;
pub mod passkeys;
pub mod password;
pub mod recovery;
pub mod sessions;
pub mod sso;
pub mod throttle;
pub mod totp;
pub mod two_step;
pub mod webauthn;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use crate::audit::{self, Actor};
use crate::users;
use crate::web::form::{FieldErrors, Form};
use crate::web::route_list::Routes;
use crate::web::session::{Client, FlashKind, Session};
use crate::web::{AppResult, AppState, CurrentUser, PageContext, RequestMeta, SignedIn};
use sessions::{PendingSecondFactor, SignInMethod, SignedInAccount};
use throttle::ThrottleKeys;

pub fn routes() -> Routes {
    Routes::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route(
            "/login/verify",
            get(two_step::verify_page).post(two_step::verify),
        )
        .route(
            "/login/verify/passkey/challenge",
            post(passkeys::second_step_challenge),
        )
        .route("/login/verify/passkey", post(passkeys::second_step))
        .route(
            "/login/passkey/challenge",
            post(passkeys::passwordless_challenge),
        )
        .route("/login/passkey", post(passkeys::passwordless))
        .route("/login/sso/{id}", post(sso::start))
        .route("/login/sso/{id}/callback", get(sso::callback))
        .route("/account", get(account::account_page))
        .route(
            "/account/step-up/passkey/challenge",
            post(passkeys::step_up_challenge),
        )
        .route("/account/two-step", get(two_step::overview_page))
        .route(
            "/account/two-step/totp",
            get(two_step::setup_page).post(two_step::start_setup),
        )
        .route(
            "/account/two-step/totp/confirm",
            post(two_step::confirm_setup),
        )
        .route(
            "/account/two-step/totp/remove",
            post(two_step::remove_authenticator),
        )
        .route("/account/two-step/passkeys", post(passkeys::add_passkey))
        .route(
            "/account/two-step/passkeys/challenge",
            post(passkeys::registration_challenge),
        )
        .route(
            "/account/two-step/passkeys/{id}/rename",
            post(passkeys::rename_passkey),
        )
        .route(
            "/account/two-step/passkeys/{id}/remove",
            post(passkeys::remove_passkey),
        )
        .route(
            "/account/two-step/recovery-codes",
            post(two_step::renew_recovery_codes),
        )
        .route(
            "/account/password",
            get(password_page).post(change_password),
        )
        .route("/account/sessions/{id}/end", post(account::end_session))
        .route(
            "/account/sessions/end-others",
            post(account::end_other_sessions),
        )
}

/// A sign-in whose every step succeeded.
struct SignIn<'a> {
    config: &'a crate::config::ServerConfig,
    account: SignedInAccount,
    email: &'a str,
    keys: &'a ThrottleKeys,
    meta: &'a RequestMeta,
    client: &'a Client,
}

/// Opens the signed-in session, in the caller's transaction with its audit event: the
/// account's failures are forgotten and its last sign-in recorded.
async fn complete_sign_in(
    tx: &mut sqlx::PgConnection,
    session: &Session,
    sign_in: SignIn<'_>,
) -> AppResult<()> {
    let account = sign_in.account;
    throttle::clear_account(tx, sign_in.keys).await?;
    users::repo::record_login(tx, account.id).await?;
    audit::record(
        tx,
        &Actor::account(account.id, sign_in.email),
        sign_in.meta.request_id.as_deref(),
        audit::Entry::new("auth.login", "user", Some(account.id.to_string())).after(json!({
            "client_ip": sign_in.meta.client_ip,
            "method": account.method.as_str(),
        })),
    )
    .await?;
    session.sign_in(tx, account, sign_in.client).await?;
    let device = account::device_label(&sign_in.client.user_agent);
    if notices::device_is_new(tx, account.id, &device).await? {
        let notice = notices::Notice {
            user_id: account.id,
            email: sign_in.email,
            kind: notices::NoticeKind::NewDevice,
            detail: format!("{device}, from the address {}", sign_in.client.ip),
        };
        notices::tell(tx, sign_in.config, notice).await?;
    }
    Ok(())
}

/// When sign-in is blocked for `keys`: records the refusal and returns how many seconds
/// are left to wait.
async fn refuse_if_throttled(
    state: &AppState,
    keys: &ThrottleKeys,
    email: &str,
    meta: &RequestMeta,
) -> AppResult<Option<i64>> {
    let wait_secs = {
        let mut conn = state.pool.acquire().await?;
        throttle::blocked_for(&mut conn, keys).await?
    };
    if wait_secs.is_some() {
        let mut tx = state.pool.begin().await?;
        audit::record(
            &mut tx,
            &Actor::anonymous(email),
            meta.request_id.as_deref(),
            audit::Entry::new("auth.login_throttled", "session", None)
                .after(json!({ "email": email, "client_ip": meta.client_ip })),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(wait_secs)
}

fn wait_message(wait_secs: i64) -> String {
    let minutes = (wait_secs + 59) / 60;
    format!(
        "Too many failed sign-in attempts. Please wait {} before trying again.",
        if minutes <= 1 {
            "a minute".to_owned()
        } else {
            format!("{minutes} minutes")
        }
    )
}

fn with_retry_after(mut response: Response, wait_secs: i64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_secs.max(1)));
    response
}

/// The one message for every failed sign-in: it does not tell whether the account exists.
const SIGN_IN_FAILED: &str = "The e-mail address or password is incorrect.";

/// E-mail addresses are compared in lower case, without surrounding blanks.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Where to go after signing in: only a path on this site (no `//host`, no scheme).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: PageContext,
    email: String,
    next: String,
    error: Option<String>,
    /// Why signing in with a passkey alone failed.
    passkey_error: Option<String>,
    /// The organisation allows signing in with a passkey alone (and this address can).
    passkey_alone: bool,
    /// Single sign-on buttons: (provider id, label).
    sso: Vec<(String, String)>,
}

/// Whether the sign-in page offers a passkey alone.
async fn passkey_alone_offered(state: &AppState) -> AppResult<bool> {
    if state.webauthn.is_none() {
        return Ok(false);
    }
    let mut conn = state.pool.acquire().await?;
    Ok(passkeys::passkey_alone_allowed(&mut conn).await?)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    ctx: PageContext,
    user: Option<CurrentUser>,
    Query(query): Query<NextQuery>,
) -> AppResult<Response> {
    let next = safe_next(query.next.as_deref());
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    Ok(LoginPage {
        ctx,
        email: String::new(),
        next,
        error: None,
        passkey_error: None,
        passkey_alone: passkey_alone_offered(&state).await?,
        sso: sso::buttons(&state.config),
    }
    .into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[tracing::instrument(skip_all, fields(client_ip = %meta.client_ip))]
async fn login(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    client: Client,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let email = normalize_email(&form.email);
    let next = safe_next(form.next.as_deref());
    let passkey_alone = passkey_alone_offered(&state).await?;
    let refuse = |ctx: PageContext, status: StatusCode, message: String| {
        let page = LoginPage {
            ctx,
            email: form.email.trim().to_owned(),
            next: next.clone(),
            error: Some(message),
            passkey_error: None,
            passkey_alone,
            sso: sso::buttons(&state.config),
        };
        (status, page).into_response()
    };
    let keys = ThrottleKeys::new(&email, &meta.client_ip);

    if let Some(wait_secs) = refuse_if_throttled(&state, &keys, &email, &meta).await? {
        let response = refuse(ctx, StatusCode::TOO_MANY_REQUESTS, wait_message(wait_secs));
        return Ok(with_retry_after(response, wait_secs));
    }
    let mut conn = state.pool.acquire().await?;
    let candidate = users::repo::find_for_login(&mut conn, &email).await?;
    // Hashing takes a while: do not hold a connection meanwhile.
    drop(conn);

    let password_ok = password::verify(
        form.password.clone(),
        candidate
            .as_ref()
            .map(|account| account.password_hash.clone()),
    )
    .await?;

    let mut tx = state.pool.begin().await?;
    match candidate {
        Some(account) if password_ok && account.is_active && account.sso_only => {
            // Said only to whoever knows the password: it reveals nothing to others.
            audit::record(
                &mut tx,
                &Actor::account(account.id, &account.email),
                meta.request_id.as_deref(),
                audit::Entry::new("auth.login_failed", "user", Some(account.id.to_string())).after(
                    json!({
                        "reason": "single sign-on only", "client_ip": meta.client_ip
                    }),
                ),
            )
            .await?;
            tx.commit().await?;
            Ok(refuse(
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                "This account signs in with single sign-on only: use the button below.".to_owned(),
            ))
        }
        Some(account) if password_ok && account.is_active => {
            if two_step::has_second_factor(&mut tx, account.id).await? {
                // Half-way: the session stays a visitor's until the second step.
                audit::record(
                    &mut tx,
                    &Actor::account(account.id, &account.email),
                    meta.request_id.as_deref(),
                    audit::Entry::new(
                        "auth.password_accepted",
                        "user",
                        Some(account.id.to_string()),
                    )
                    .after(json!({ "client_ip": meta.client_ip, "next_step": "second factor" })),
                )
                .await?;
                let pending = PendingSecondFactor {
                    user_id: account.id,
                    epoch: account.session_epoch,
                };
                session.await_second_factor(&mut tx, pending).await?;
                tx.commit().await?;
                return Ok(Redirect::to(&two_step::verify_address(&next)).into_response());
            }
            let signed_in = SignedInAccount {
                id: account.id,
                epoch: account.session_epoch,
                method: SignInMethod::Password,
            };
            let sign_in = SignIn {
                config: &state.config,
                account: signed_in,
                email: &account.email,
                keys: &keys,
                meta: &meta,
                client: &client,
            };
            complete_sign_in(&mut tx, &session, sign_in).await?;
            tx.commit().await?;
            Ok(Redirect::to(&next).into_response())
        }
        candidate => {
            let (actor, reason) = match &candidate {
                None => (Actor::anonymous(&email), "unknown account"),
                Some(account) if !account.is_active && password_ok => (
                    Actor::account(account.id, &account.email),
                    "account deactivated",
                ),
                Some(account) => (Actor::account(account.id, &account.email), "wrong password"),
            };
            throttle::record_failure(&mut tx, &keys).await?;
            audit::record(
                &mut tx,
                &actor,
                meta.request_id.as_deref(),
                audit::Entry::new(
                    "auth.login_failed",
                    "user",
                    candidate.as_ref().map(|account| account.id.to_string()),
                )
                .after(json!({ "reason": reason, "client_ip": meta.client_ip })),
            )
            .await?;
            tx.commit().await?;
            Ok(refuse(
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                SIGN_IN_FAILED.to_owned(),
            ))
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/signed_out.html")]
struct SignedOutPage {
    ctx: PageContext,
    /// The provider the session signed in through, and where to sign out there too.
    provider_label: String,
    end_session_url: String,
}

async fn logout(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    user: Option<CurrentUser>,
    meta: RequestMeta,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    let provider = match session.id() {
        Some(id) => sso::provider_of_session(&mut tx, id).await?,
        None => None,
    };
    if let Some(user) = user {
        audit::record(
            &mut tx,
            &Actor::user(&user),
            meta.request_id.as_deref(),
            audit::Entry::new("auth.logout", "user", Some(user.id.to_string())),
        )
        .await?;
    }
    session.sign_out(&mut tx).await?;
    tx.commit().await?;
    // Signed in through a provider that can end its own session: offer that too.
    if let Some(provider) = provider
        && let Some((label, url)) = sso::end_session_url(&state.config, &provider).await
    {
        let page = SignedOutPage {
            ctx: ctx.signed_out(),
            provider_label: label,
            end_session_url: url,
        };
        return Ok(page.into_response());
    }
    session.push_flash(FlashKind::Info, "You have signed out.");
    Ok(Redirect::to("/login").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/password.html")]
struct PasswordPage {
    ctx: PageContext,
    errors: FieldErrors,
}

async fn password_page(ctx: PageContext, SignedIn(_user): SignedIn) -> PasswordPage {
    PasswordPage {
        ctx,
        errors: FieldErrors::new(),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    client: Client,
    SignedIn(user): SignedIn,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    if let Err(message) =
        password::check_policy(&form.new_password, &user.email, &user.display_name)
    {
        errors.add("new_password", message);
    }
    if form.new_password != form.confirm_password {
        errors.add("confirm_password", "The two new passwords differ.");
    }
    let stored = {
        let mut conn = state.pool.acquire().await?;
        users::repo::password_hash(&mut conn, user.id).await?
    };
    if !password::verify(form.current_password.clone(), Some(stored)).await? {
        errors.add("current_password", "This is not your current password.");
    }
    if !errors.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            PasswordPage { ctx, errors },
        )
            .into_response());
    }

    let new_hash = password::hash(form.new_password).await?;
    let mut tx = state.pool.begin().await?;
    let epoch = users::repo::set_password(&mut tx, user.id, &new_hash).await?;
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new("user.password_changed", "user", Some(user.id.to_string()))
            .after(json!({ "other_sessions_ended": true })),
    )
    .await?;
    // Every other session of this account has ended; this one carries on, renewed.
    session.renew(&mut tx, user.id, epoch, &client).await?;
    let notice = notices::Notice {
        user_id: user.id,
        email: &user.email,
        kind: notices::NoticeKind::PasswordChanged,
        detail: format!(
            "from {}; every other session was ended",
            account::device_label(&client.user_agent)
        ),
    };
    notices::tell(&mut tx, &state.config, notice).await?;
    tx.commit().await?;
    session.push_flash(
        FlashKind::Success,
        "Your password has been changed. You were signed out everywhere else.",
    );
    Ok(Redirect::to("/").into_response())
}

//! The second step of signing in (an authenticator app's code, or a recovery code), and
//! setting up, renewing and removing that second factor.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::notices::{self, Notice, NoticeKind};
use super::sessions::{SignInMethod, SignedInAccount};
use super::throttle::{self, ThrottleKeys};
use super::totp::CodeCheck;
use super::webauthn::Purpose;
use super::{
    NextQuery, SignIn, complete_sign_in, passkeys, password, recovery, refuse_if_throttled,
    safe_next, totp, wait_message, with_retry_after,
};
use crate::audit::{self, Actor};
use crate::users::{self, Role};
use crate::web::form::{FieldErrors, Form};
use crate::web::session::{Client, EnrolmentDue, FlashKind, Session};
use crate::web::{AppError, AppResult, AppState, CurrentUser, PageContext, RequestMeta, SignedIn};

const OVERVIEW: &str = "/account/two-step";
const SETUP: &str = "/account/two-step/totp";

/// An account's second factors.
#[derive(Debug, Default)]
pub struct Factors {
    pub authenticator: bool,
    pub passkeys: i64,
}

pub async fn factors(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<Factors> {
    let row = sqlx::query!(
        r#"SELECT EXISTS (SELECT FROM totp_authenticators
                          WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS "authenticator!",
                  (SELECT count(*) FROM passkeys WHERE user_id = $1) AS "passkeys!""#,
        user_id
    )
    .fetch_one(conn)
    .await?;
    Ok(Factors {
        authenticator: row.authenticator,
        passkeys: row.passkeys,
    })
}

/// Whether the account signs in with a second factor (an authenticator app or a passkey):
/// the account's column, which the factor tables' triggers keep (migration 0036).
pub async fn has_second_factor(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    let found = sqlx::query_scalar!("SELECT has_second_factor FROM users WHERE id = $1", user_id)
        .fetch_optional(conn)
        .await?;
    Ok(found.unwrap_or(false))
}

/// The roles whose members must sign in with a second factor.
pub async fn roles_requiring(conn: &mut PgConnection) -> sqlx::Result<Vec<Role>> {
    let names =
        sqlx::query_scalar!("SELECT role FROM second_factor_policy WHERE required ORDER BY role")
            .fetch_all(conn)
            .await?;
    Ok(users::role::parse_stored_roles(&names))
}

/// Requires a second factor of exactly the `roles` given; false when that was so already.
pub async fn require_for_roles(conn: &mut PgConnection, roles: &[Role]) -> sqlx::Result<bool> {
    let names: Vec<String> = roles.iter().map(|role| role.as_str().to_owned()).collect();
    let done = sqlx::query!(
        "UPDATE second_factor_policy SET required = (role = ANY($1))
         WHERE required <> (role = ANY($1))",
        &names
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Tells the signed-in person about a change to their own second factor.
pub(super) async fn tell(
    conn: &mut PgConnection,
    state: &AppState,
    user: &CurrentUser,
    kind: NoticeKind,
    detail: &str,
) -> sqlx::Result<()> {
    let notice = Notice {
        user_id: user.id,
        email: &user.email,
        kind,
        detail: detail.to_owned(),
    };
    notices::tell(conn, &state.config, notice).await
}

/// Where the second step is asked for, then `next`.
pub fn verify_address(next: &str) -> String {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login/verify?next={next}")
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/verify.html")]
pub(super) struct VerifyPage {
    ctx: PageContext,
    next: String,
    factors: Factors,
    errors: FieldErrors,
}

/// The second step's page for the account `user_id` is signing in to: its passkey button,
/// its code field, or both.
pub(super) async fn verify_page_for(
    state: &AppState,
    ctx: PageContext,
    user_id: i64,
    next: String,
    errors: FieldErrors,
) -> AppResult<VerifyPage> {
    let mut conn = state.pool.acquire().await?;
    Ok(VerifyPage {
        ctx,
        next,
        factors: factors(&mut conn, user_id).await?,
        errors,
    })
}

/// The second step's page again (422), with `message` next to `field`.
pub(super) async fn refuse_second_step(
    state: &AppState,
    ctx: PageContext,
    user_id: i64,
    next: String,
    field: &'static str,
    message: &str,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    let page = verify_page_for(state, ctx, user_id, next, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// `GET /login/verify`: the code field, for a visitor whose password was right.
pub(super) async fn verify_page(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    user: Option<CurrentUser>,
    Query(query): Query<NextQuery>,
) -> AppResult<Response> {
    let next = safe_next(query.next.as_deref());
    if user.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let Some(pending) = session.pending_second_factor() else {
        return Ok(start_again(&session, &next));
    };
    let page = verify_page_for(&state, ctx, pending.user_id, next, FieldErrors::new()).await?;
    Ok(page.into_response())
}

/// Back to the password, with the reason.
pub(super) fn start_again(session: &Session, next: &str) -> Response {
    session.push_flash(
        FlashKind::Info,
        "Sign in with your password first (a half-finished sign-in lasts five minutes).",
    );
    AppError::LoginRequired {
        next: next.to_owned(),
    }
    .into_response()
}

#[derive(Deserialize)]
pub(super) struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

const WRONG_CODE: &str = "This code is not right, or was used already. Enter the code your \
    authenticator app shows now, or one of your recovery codes.";

/// `POST /login/verify`: checks the second factor and opens the signed-in session.
#[tracing::instrument(skip_all, fields(client_ip = %meta.client_ip))]
pub(super) async fn verify(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    client: Client,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let next = safe_next(form.next.as_deref());
    let Some(pending) = session.pending_second_factor() else {
        return Ok(start_again(&session, &next));
    };
    let account = {
        let mut conn = state.pool.acquire().await?;
        users::repo::find_for_second_step(&mut conn, pending.user_id).await?
    };
    // Deactivated or signed out everywhere since the password: start again.
    let Some(account) =
        account.filter(|account| account.is_active && account.session_epoch == pending.epoch)
    else {
        return Ok(start_again(&session, &next));
    };
    if form.code.trim().is_empty() {
        let message = "Enter the six-digit code your authenticator app shows, or a recovery code.";
        return refuse_second_step(&state, ctx, account.id, next, "code", message).await;
    }
    let keys = ThrottleKeys::new(&account.email, &meta.client_ip);
    if let Some(wait_secs) = refuse_if_throttled(&state, &keys, &account.email, &meta).await? {
        let message = wait_message(wait_secs);
        let response = refuse_second_step(&state, ctx, account.id, next, "code", &message).await?;
        let response = (StatusCode::TOO_MANY_REQUESTS, response).into_response();
        return Ok(with_retry_after(response, wait_secs));
    }

    let mut tx = state.pool.begin().await?;
    let step = SecondStep {
        state: &state,
        session: &session,
        account: &account,
        keys: &keys,
        meta: &meta,
        client: &client,
    };
    match check_code(&mut tx, account.id, &account.email, &form.code).await? {
        Ok(method) => {
            step.succeed(tx, method).await?;
            Ok(Redirect::to(&next).into_response())
        }
        Err(reason) => {
            step.fail(tx, "authenticator app or recovery code", reason)
                .await?;
            refuse_second_step(&state, ctx, account.id, next, "code", WRONG_CODE).await
        }
    }
}

/// A second step being answered (a code, or a passkey).
pub(super) struct SecondStep<'a> {
    pub state: &'a AppState,
    pub session: &'a Session,
    pub account: &'a users::repo::LoginCandidate,
    pub keys: &'a ThrottleKeys,
    pub meta: &'a RequestMeta,
    pub client: &'a Client,
}

impl SecondStep<'_> {
    /// The factor was right: opens the signed-in session and commits.
    pub(super) async fn succeed(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        method: SignInMethod,
    ) -> AppResult<()> {
        let sign_in = SignIn {
            config: &self.state.config,
            account: SignedInAccount {
                id: self.account.id,
                epoch: self.account.session_epoch,
                method,
            },
            email: &self.account.email,
            keys: self.keys,
            meta: self.meta,
            client: self.client,
        };
        complete_sign_in(&mut tx, self.session, sign_in).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The factor was wrong: counts the failure, records why and commits.
    pub(super) async fn fail(
        &self,
        mut tx: sqlx::Transaction<'_, sqlx::Postgres>,
        factor: &str,
        reason: &str,
    ) -> AppResult<()> {
        let account = self.account;
        throttle::record_failure(&mut tx, self.keys).await?;
        audit::record(
            &mut tx,
            &Actor::account(account.id, &account.email),
            self.meta.request_id.as_deref(),
            audit::Entry::new(
                "auth.second_factor_failed",
                "user",
                Some(account.id.to_string()),
            )
            .after(json!({
                "factor": factor, "reason": reason, "client_ip": self.meta.client_ip
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Spends `code` as the account's authenticator code or one of its recovery codes; says
/// which, or why it was refused (for the audit trail, never shown).
async fn check_code(
    conn: &mut PgConnection,
    user_id: i64,
    email: &str,
    code: &str,
) -> sqlx::Result<Result<SignInMethod, &'static str>> {
    if totp::normalise(code).is_some() {
        return Ok(match totp::spend_code(conn, user_id, email, code).await? {
            CodeCheck::Accepted => Ok(SignInMethod::PasswordAndTotp),
            refused => Err(refused.reason()),
        });
    }
    if recovery::spend(conn, user_id, code).await? {
        Ok(Ok(SignInMethod::PasswordAndRecoveryCode))
    } else {
        Ok(Err("wrong or used recovery code"))
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/two_step.html")]
pub(super) struct OverviewPage {
    ctx: PageContext,
    /// The account's roles require a second factor it does not have yet.
    enrolment_due: bool,
    has_authenticator: bool,
    /// A set-up was started and not confirmed: it can be continued.
    setup_started: bool,
    recovery_codes_left: i64,
    passkeys: Vec<passkeys::PasskeySummary>,
    /// Whether this address can carry passkeys (a domain name).
    passkeys_available: bool,
    /// The name typed for a new passkey, kept when it was refused.
    passkey_name: String,
    /// The passkey whose rename was refused, and the name typed.
    renaming: Option<(i64, String)>,
    /// The passkey whose removal was refused (a wrong password).
    removing: Option<i64>,
    errors: FieldErrors,
}

impl OverviewPage {
    pub(super) fn with_passkey_name(mut self, name: String) -> Self {
        self.passkey_name = name;
        self
    }

    pub(super) fn with_renaming(mut self, id: i64, name: String) -> Self {
        self.renaming = Some((id, name));
        self
    }

    pub(super) fn with_removing(mut self, id: i64) -> Self {
        self.removing = Some(id);
        self
    }

    /// The name shown in a passkey's rename field: what was typed if it was refused.
    fn rename_value<'a>(&'a self, passkey: &'a passkeys::PasskeySummary) -> &'a str {
        match &self.renaming {
            Some((id, name)) if *id == passkey.id => name,
            _ => &passkey.name,
        }
    }

    fn is_renaming(&self, passkey: &passkeys::PasskeySummary) -> bool {
        self.renaming
            .as_ref()
            .is_some_and(|(id, _)| *id == passkey.id)
    }

    fn is_removing(&self, passkey: &passkeys::PasskeySummary) -> bool {
        self.removing == Some(passkey.id)
    }
}

pub(super) async fn overview(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    enrolment_due: bool,
    errors: FieldErrors,
) -> AppResult<OverviewPage> {
    let mut conn = state.pool.acquire().await?;
    let authenticator = totp::of_account(&mut conn, user.id).await?;
    Ok(OverviewPage {
        ctx,
        enrolment_due,
        has_authenticator: authenticator.as_ref().is_some_and(|a| a.confirmed),
        setup_started: authenticator.as_ref().is_some_and(|a| !a.confirmed),
        recovery_codes_left: recovery::left(&mut conn, user.id).await?,
        passkeys: passkeys::list(&mut conn, user.id).await?,
        passkeys_available: state.webauthn.is_some(),
        passkey_name: String::new(),
        renaming: None,
        removing: None,
        errors,
    })
}

/// `GET /account/two-step`
pub(super) async fn overview_page(
    State(state): State<AppState>,
    ctx: PageContext,
    EnrolmentDue(due): EnrolmentDue,
    SignedIn(user): SignedIn,
) -> AppResult<OverviewPage> {
    overview(&state, ctx, &user, due, FieldErrors::new()).await
}

/// `POST /account/two-step/totp`: a new secret to scan, until a first code confirms it.
pub(super) async fn start_setup(
    State(state): State<AppState>,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
) -> AppResult<Response> {
    let mut tx = state.pool.begin().await?;
    if !totp::start_setup(&mut tx, user.id, &totp::new_secret()).await? {
        drop(tx);
        session.push_flash(
            FlashKind::Info,
            "You have an authenticator app already. To move to another, remove this one first.",
        );
        return Ok(Redirect::to(OVERVIEW).into_response());
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "user.second_factor_setup_started",
            "user",
            Some(user.id.to_string()),
        )
        .after(json!({ "factor": "authenticator app" })),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(SETUP).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/totp_setup.html")]
pub(super) struct SetupPage {
    ctx: PageContext,
    qr_svg: String,
    secret_text: String,
    errors: FieldErrors,
}

async fn setup_page_for(
    state: &AppState,
    ctx: PageContext,
    user: &CurrentUser,
    errors: FieldErrors,
) -> AppResult<Option<SetupPage>> {
    let mut conn = state.pool.acquire().await?;
    let Some(authenticator) = totp::of_account(&mut conn, user.id)
        .await?
        .filter(|authenticator| !authenticator.confirmed)
    else {
        return Ok(None);
    };
    Ok(Some(SetupPage {
        ctx,
        qr_svg: totp::qr_svg(&totp::setup_url(&authenticator.secret, &user.email)),
        secret_text: totp::secret_text(&authenticator.secret, &user.email),
        errors,
    }))
}

/// `GET /account/two-step/totp`: the QR code and the secret, and the field to confirm.
pub(super) async fn setup_page(
    State(state): State<AppState>,
    ctx: PageContext,
    SignedIn(user): SignedIn,
) -> AppResult<Response> {
    Ok(
        match setup_page_for(&state, ctx, &user, FieldErrors::new()).await? {
            Some(page) => no_store(page.into_response()),
            None => Redirect::to(OVERVIEW).into_response(),
        },
    )
}

#[derive(Template, WebTemplate)]
#[template(path = "auth/recovery_codes.html")]
pub(super) struct RecoveryCodesPage {
    ctx: PageContext,
    codes: Vec<String>,
}

/// A page with a secret on it: kept out of every cache.
fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// New recovery codes for the account, stored hashed, shown this once.
pub(super) async fn issue_recovery_codes(
    conn: &mut PgConnection,
    ctx: PageContext,
    user_id: i64,
) -> sqlx::Result<Response> {
    let codes = recovery::generate();
    recovery::replace(conn, user_id, &codes).await?;
    Ok(no_store(RecoveryCodesPage { ctx, codes }.into_response()))
}

/// `POST /account/two-step/totp/confirm`: the first code confirms the app; recovery
/// codes are issued.
pub(super) async fn confirm_setup(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    SignedIn(user): SignedIn,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let authenticator = {
        let mut conn = state.pool.acquire().await?;
        totp::of_account(&mut conn, user.id)
            .await?
            .filter(|authenticator| !authenticator.confirmed)
    };
    let Some(authenticator) = authenticator else {
        return Ok(Redirect::to(OVERVIEW).into_response());
    };
    let step = totp::matching_step(
        &authenticator.secret,
        &user.email,
        &form.code,
        totp::unix_now(),
    );
    let Some(step) = step else {
        let mut errors = FieldErrors::new();
        errors.add(
            "code",
            if form.code.trim().is_empty() {
                "Enter the six-digit code the app shows after scanning."
            } else {
                "This is not the code the app shows now. Check that the app's clock is right, \
                 then enter the code it shows."
            },
        );
        return Ok(match setup_page_for(&state, ctx, &user, errors).await? {
            Some(page) => no_store((StatusCode::UNPROCESSABLE_ENTITY, page).into_response()),
            None => Redirect::to(OVERVIEW).into_response(),
        });
    };
    let mut tx = state.pool.begin().await?;
    if !totp::confirm(&mut tx, user.id, step).await? {
        return Ok(Redirect::to(OVERVIEW).into_response());
    }
    // The first code proves the app: no fresh one is asked for the next minutes.
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
        .after(json!({ "factor": "authenticator app" })),
    )
    .await?;
    tell(
        &mut tx,
        &state,
        &user,
        NoticeKind::SecondFactorAdded,
        "an authenticator app",
    )
    .await?;
    let page = issue_recovery_codes(&mut tx, ctx, user.id).await?;
    tx.commit().await?;
    Ok(page)
}

/// New recovery codes, confirmed with an authenticator code or a passkey's answer.
#[derive(Deserialize)]
pub(super) struct RenewForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    credential: String,
}

#[derive(Deserialize)]
pub(super) struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /account/two-step/totp/remove`: with the password, removes the app and the
/// recovery codes.
pub(super) async fn remove_authenticator(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    EnrolmentDue(due): EnrolmentDue,
    SignedIn(user): SignedIn,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let stored = {
        let mut conn = state.pool.acquire().await?;
        users::repo::password_hash(&mut conn, user.id).await?
    };
    if !password::verify(form.password, Some(stored)).await? {
        let mut errors = FieldErrors::new();
        errors.add(
            "password",
            "This is not your password. Nothing was removed.",
        );
        let page = overview(&state, ctx, &user, due, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let mut tx = state.pool.begin().await?;
    if !totp::remove(&mut tx, user.id).await? {
        drop(tx);
        session.push_flash(FlashKind::Info, "You had no authenticator app to remove.");
        return Ok(Redirect::to(OVERVIEW).into_response());
    }
    // The recovery codes stand in for every factor: they go with the last one.
    let last_factor = !has_second_factor(&mut tx, user.id).await?;
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
        .after(json!({ "factor": "authenticator app", "last_factor": last_factor })),
    )
    .await?;
    let detail = if last_factor {
        "the authenticator app; you sign in with your password alone"
    } else {
        "the authenticator app; you sign in with your password and a passkey"
    };
    tell(
        &mut tx,
        &state,
        &user,
        NoticeKind::SecondFactorRemoved,
        detail,
    )
    .await?;
    tx.commit().await?;
    session.push_flash(
        FlashKind::Success,
        if last_factor {
            "The authenticator app and your recovery codes are removed: you sign in with your \
             password alone."
        } else {
            "The authenticator app is removed: you sign in with your password and a passkey."
        },
    );
    Ok(Redirect::to(OVERVIEW).into_response())
}

/// `POST /account/two-step/recovery-codes`: with a current code, ten new recovery codes
/// replace the old ones.
pub(super) async fn renew_recovery_codes(
    State(state): State<AppState>,
    ctx: PageContext,
    session: Session,
    meta: RequestMeta,
    EnrolmentDue(due): EnrolmentDue,
    SignedIn(user): SignedIn,
    Form(form): Form<RenewForm>,
) -> AppResult<Response> {
    let with_passkey = !form.credential.is_empty();
    let error_field = if with_passkey {
        "renew_passkey"
    } else {
        "renew_code"
    };
    // Guessing codes here would win recovery codes: throttled like the sign-in.
    let keys = ThrottleKeys::new(&user.email, &meta.client_ip);
    if let Some(wait_secs) = refuse_if_throttled(&state, &keys, &user.email, &meta).await? {
        let mut errors = FieldErrors::new();
        errors.add(error_field, wait_message(wait_secs));
        let page = overview(&state, ctx, &user, due, errors).await?;
        let response = (StatusCode::TOO_MANY_REQUESTS, page).into_response();
        return Ok(with_retry_after(response, wait_secs));
    }
    let mut tx = state.pool.begin().await?;
    let checked = if with_passkey {
        let answer =
            serde_json::from_str::<webauthn_rs::prelude::PublicKeyCredential>(&form.credential);
        match (state.webauthn.as_deref(), answer) {
            (Some(webauthn), Ok(answer)) => {
                let answered = passkeys::Answered {
                    session_id: session.id(),
                    purpose: Purpose::StepUp,
                    user_id: user.id,
                };
                passkeys::spend_answer(&mut tx, webauthn, answered, &answer)
                    .await?
                    .is_ok()
            }
            _ => false,
        }
    } else {
        totp::spend_code(&mut tx, user.id, &user.email, &form.code).await? == CodeCheck::Accepted
    };
    if !checked {
        // (A taken passkey challenge stays taken: the next try asks for a new one.)
        throttle::record_failure(&mut tx, &keys).await?;
        audit::record(
            &mut tx,
            &Actor::user(&user),
            meta.request_id.as_deref(),
            audit::Entry::new("auth.step_up_failed", "user", Some(user.id.to_string()))
                .after(json!({ "for": "new recovery codes", "client_ip": meta.client_ip })),
        )
        .await?;
        tx.commit().await?;
        let mut errors = FieldErrors::new();
        errors.add(
            error_field,
            if with_passkey {
                "This passkey was not accepted. Use a passkey you added to your account."
            } else {
                "Enter the code your authenticator app shows now (each code works once)."
            },
        );
        let page = overview(&state, ctx, &user, due, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    audit::record(
        &mut tx,
        &Actor::user(&user),
        meta.request_id.as_deref(),
        audit::Entry::new(
            "user.recovery_codes_renewed",
            "user",
            Some(user.id.to_string()),
        ),
    )
    .await?;
    let detail = "the earlier ones no longer work";
    tell(
        &mut tx,
        &state,
        &user,
        NoticeKind::RecoveryCodesRenewed,
        detail,
    )
    .await?;
    let page = issue_recovery_codes(&mut tx, ctx, user.id).await?;
    tx.commit().await?;
    Ok(page)
}

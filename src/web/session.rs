//! Server-side sessions: an HttpOnly cookie holds a random secret, the `sessions` table
//! (`auth::sessions`) the rest. One statement per request reads the session and its
//! signed-in account; a handler changes the session through the [`Session`] handle, and
//! [`load`] writes what changed once the handler is done.
//!
//! Reading a page writes nothing: the row is written when its data changes, and a
//! signed-in session's idle deadline is pushed back at most once per [`touch_interval`] (a
//! minute, or a tenth of a short idle timeout), so a session ends between that interval
//! and the idle timeout after its last activity, and never past its absolute timeout.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::OffsetDateTime;

use super::AppState;
use super::error::AppError;
use super::request::RequestMeta;
use crate::auth::sessions::{
    self, Found, Lifetime, NewSession, PendingSecondFactor, SignInMethod, SignedInAccount,
    SignedInState,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashKind {
    Success,
    Info,
    Error,
}

impl FlashKind {
    pub fn css_class(&self) -> &'static str {
        match self {
            FlashKind::Success => "flash flash-success",
            FlashKind::Info => "flash flash-info",
            FlashKind::Error => "flash flash-error",
        }
    }
}

/// A message shown once, on the next page the person sees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

/// This request's session: cheap to clone, shared by the middleware and the handler.
#[derive(Clone)]
pub struct Session {
    state: Arc<Mutex<SessionState>>,
    lifetime: Lifetime,
}

#[derive(Default)]
struct SessionState {
    /// The row the cookie named; `None` when there is none (yet, or any more).
    id: Option<i64>,
    /// How its signed-in person signed in.
    method: Option<SignInMethod>,
    /// A visitor whose password was right, waiting for the second step.
    pending: Option<PendingSecondFactor>,
    /// The signed-in account has a second factor, last given in this session then.
    has_second_factor: bool,
    second_factor_at: Option<OffsetDateTime>,
    csrf_token: Option<String>,
    /// A token made during this request for a visitor without a row: the row is created.
    csrf_token_is_new: bool,
    flashes: Vec<Flash>,
    flashes_changed: bool,
    /// The idle deadline is due to be pushed back.
    touch_due: bool,
    /// The secret to send: a new session's, opened by signing in or by a visitor's first
    /// form or message.
    new_secret: Option<String>,
    /// The cookie named a session that is over: unless a new one is sent, it is cleared.
    cookie_is_stale: bool,
}

impl Session {
    fn state(&self) -> MutexGuard<'_, SessionState> {
        // Never held across an await; a panic while holding it leaves plain data behind.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The session's CSRF token, created on first use. It stays the same for the whole
    /// session so that a page opened in another tab never invalidates an open form.
    pub fn csrf_token(&self) -> String {
        let mut state = self.state();
        if let Some(token) = &state.csrf_token {
            return token.clone();
        }
        let token = random_hex();
        state.csrf_token = Some(token.clone());
        state.csrf_token_is_new = true;
        token
    }

    /// The session's row, once it has one (its owner's list marks it "this session").
    pub fn id(&self) -> Option<i64> {
        self.state().id
    }

    /// Whether a weighty change must first ask for a fresh code: the account has a second
    /// factor, and this session last gave it longer than `max_age` ago (or never).
    pub fn step_up_due(&self, max_age: std::time::Duration) -> bool {
        let state = self.state();
        state.has_second_factor
            && state
                .second_factor_at
                .is_none_or(|at| OffsetDateTime::now_utc() - at > max_age)
    }

    /// Records that the person gave their second factor just now (step-up).
    pub async fn mark_second_factor(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        let id = self.state().id;
        if let Some(id) = id {
            sessions::mark_second_factor(conn, id).await?;
        }
        self.state().second_factor_at = Some(OffsetDateTime::now_utc());
        Ok(())
    }

    /// The account whose password this visitor proved, waiting for its second factor.
    pub fn pending_second_factor(&self) -> Option<PendingSecondFactor> {
        self.state().pending
    }

    /// Records that this visitor proved the password of `pending`: the session is not
    /// signed in, and reaches nothing but the second step, for a few minutes.
    pub async fn await_second_factor(
        &self,
        conn: &mut PgConnection,
        pending: PendingSecondFactor,
    ) -> Result<(), AppError> {
        let id = self.state().id;
        // The sign-in form's token came from this session's row: there is one.
        let marked = match id {
            Some(id) => sessions::await_second_factor(conn, id, pending).await?,
            None => false,
        };
        if !marked {
            return Err(AppError::Internal(anyhow::anyhow!(
                "no visitor's session to hold the second step"
            )));
        }
        self.state().pending = Some(pending);
        Ok(())
    }

    /// The token a state-changing request must present, if the session has one.
    pub fn expected_csrf_token(&self) -> Option<String> {
        self.state().csrf_token.clone()
    }

    /// Leaves a message for the next page the person sees.
    pub fn push_flash(&self, kind: FlashKind, message: impl Into<String>) {
        let mut state = self.state();
        state.flashes.push(Flash {
            kind,
            message: message.into(),
        });
        state.flashes_changed = true;
    }

    /// The messages left for this page; they are shown once.
    pub fn take_flashes(&self) -> Vec<Flash> {
        let mut state = self.state();
        if state.flashes.is_empty() {
            return Vec::new();
        }
        state.flashes_changed = true;
        std::mem::take(&mut state.flashes)
    }

    /// Opens a signed-in session for the account under a new secret (no fixation) and a
    /// new CSRF token, and ends the one the request came with, in the caller's transaction
    /// (the sign-in's audit event commits with it).
    pub async fn sign_in(
        &self,
        conn: &mut PgConnection,
        account: SignedInAccount,
        client: &Client,
    ) -> sqlx::Result<()> {
        let (previous, flashes) = {
            let state = self.state();
            (state.id, state.flashes.clone())
        };
        if let Some(previous) = previous {
            sessions::delete(conn, previous).await?;
        }
        let secret = random_hex();
        let csrf_token = random_hex();
        let id = sessions::insert(
            &mut *conn,
            NewSession {
                token_hash: &token_hash(&secret),
                csrf_token: &csrf_token,
                account: Some(account),
                user_agent: &client.user_agent,
                client_ip: &client.ip,
                flashes: &flashes,
            },
            self.lifetime,
        )
        .await?;
        let mut state = self.state();
        *state = SessionState {
            id: Some(id),
            method: Some(account.method),
            second_factor_at: account
                .method
                .proves_second_factor()
                .then(OffsetDateTime::now_utc),
            csrf_token: Some(csrf_token),
            flashes: state.flashes.clone(),
            new_secret: Some(secret),
            ..SessionState::default()
        };
        Ok(())
    }

    /// Renews a signed-in session under a new secret after its account's `session_epoch`
    /// moved (a password change ended the account's other sessions), keeping how its
    /// person signed in.
    pub async fn renew(
        &self,
        conn: &mut PgConnection,
        account_id: i64,
        session_epoch: i32,
        client: &Client,
    ) -> sqlx::Result<()> {
        let method = self.state().method.unwrap_or(SignInMethod::Password);
        let account = SignedInAccount {
            id: account_id,
            epoch: session_epoch,
            method,
        };
        self.sign_in(conn, account, client).await
    }

    /// Ends the session in the caller's transaction: its row is gone, its cookie cleared.
    pub async fn sign_out(&self, conn: &mut PgConnection) -> sqlx::Result<()> {
        let previous = self.state().id;
        if let Some(previous) = previous {
            sessions::delete(conn, previous).await?;
        }
        let mut state = self.state();
        *state = SessionState {
            cookie_is_stale: true,
            ..SessionState::default()
        };
        Ok(())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "the session middleware does not cover this route"
            ))
        })
    }
}

/// Where a session was opened from, shown in the account's list of sessions.
pub struct Client {
    pub user_agent: String,
    pub ip: String,
}

/// Longer user agents are cut (a header can be kilobytes; the list shows a line).
const MAX_USER_AGENT_CHARS: usize = 300;

impl FromRequestParts<AppState> for Client {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let meta = RequestMeta::from_request_parts(parts, state).await?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        Ok(Self {
            user_agent: super::form::clean_text(user_agent)
                .chars()
                .take(MAX_USER_AGENT_CHARS)
                .collect(),
            ip: meta.client_ip,
        })
    }
}

/// How often a signed-in session's idle deadline is pushed back: a minute, or a tenth of
/// the idle timeout when that is shorter.
pub fn touch_interval(idle: std::time::Duration) -> std::time::Duration {
    (idle / 10).min(std::time::Duration::from_secs(60))
}

/// The session middleware: finds the request's session and its signed-in account
/// (put in the request's extensions as a [`CurrentUser`](super::CurrentUser)), runs the
/// handler, then writes what the handler changed and sets or clears the cookie.
pub async fn load(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let cookie_name = cookie_name(&app);
    let lifetime = lifetime(&app);
    let mut state = SessionState::default();
    if let Some(secret) = cookie_value(request.headers(), cookie_name) {
        match open(&app, &secret).await {
            Ok(Some(found)) => {
                state.id = Some(found.id);
                state.csrf_token = Some(found.csrf_token);
                state.flashes = found.flashes;
                state.touch_due =
                    OffsetDateTime::now_utc() - found.last_seen_at >= touch_interval(lifetime.idle);
                state.pending = found.pending;
                state.has_second_factor = found.has_second_factor;
                state.second_factor_at = found.second_factor_at;
                if let SignedInState::User(user, method) = found.signed_in {
                    state.method = Some(method);
                    request.extensions_mut().insert(user);
                    request.extensions_mut().insert(found.data_version);
                    if found.must_enrol {
                        request.extensions_mut().insert(SecondFactorRequired);
                    }
                }
            }
            Ok(None) => state.cookie_is_stale = true,
            Err(error) => return AppError::from(error).into_response(),
        }
    }
    let session = Session {
        state: Arc::new(Mutex::new(state)),
        lifetime,
    };
    request.extensions_mut().insert(session.clone());
    let mut response = next.run(request).await;
    match save(&app, &session).await {
        Ok(Some(cookie)) => {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        Ok(None) => {}
        Err(error) => return AppError::from(error).into_response(),
    }
    response
}

/// In the request's extensions when the signed-in person's roles require a second factor
/// they have not set up: until they do, only the set-up pages answer.
#[derive(Debug, Clone, Copy)]
pub struct SecondFactorRequired;

/// Whether the signed-in person still has to set up a second factor their roles require.
pub struct EnrolmentDue(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for EnrolmentDue {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(EnrolmentDue(
            parts.extensions.get::<SecondFactorRequired>().is_some(),
        ))
    }
}

/// Where a person whose roles require a second factor sets one up.
pub const ENROLMENT_PAGE: &str = "/account/two-step";

/// Sends a person who must set up a second factor to its set-up, from any page but the
/// set-up's own and signing out (after the CSRF check: a forged form is refused first).
pub async fn enrolment_gate(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let reachable =
        path == "/logout" || path == ENROLMENT_PAGE || path.starts_with("/account/two-step/");
    if request.extensions().get::<SecondFactorRequired>().is_some() && !reachable {
        return Redirect::to(ENROLMENT_PAGE).into_response();
    }
    next.run(request).await
}

/// The live session a secret opens. A session whose account was deactivated or signed
/// out everywhere is over: its row is removed.
async fn open(app: &AppState, secret: &str) -> sqlx::Result<Option<Found>> {
    let found = sessions::find(&app.pool, &token_hash(secret)).await?;
    if let Some(found) = &found
        && matches!(found.signed_in, SignedInState::Revoked)
    {
        let mut conn = app.pool.acquire().await?;
        sessions::delete(&mut conn, found.id).await?;
        return Ok(None);
    }
    Ok(found)
}

/// Writes what the request changed; returns the `Set-Cookie` value to send, if any.
async fn save(app: &AppState, session: &Session) -> sqlx::Result<Option<HeaderValue>> {
    let lifetime = session.lifetime;
    let (id, touch, flashes, csrf_token, mut new_secret, stale) = {
        let mut state = session.state();
        let flashes = state.flashes_changed.then(|| state.flashes.clone());
        let csrf_token = state
            .csrf_token_is_new
            .then(|| state.csrf_token.clone())
            .flatten();
        state.flashes_changed = false;
        state.csrf_token_is_new = false;
        (
            state.id,
            std::mem::take(&mut state.touch_due),
            flashes,
            csrf_token,
            state.new_secret.take(),
            state.cookie_is_stale,
        )
    };
    match id {
        Some(id) if touch || flashes.is_some() => {
            let update = sessions::Update {
                flashes: flashes.as_deref(),
                touch,
            };
            sessions::update(&app.pool, id, update, lifetime).await?;
        }
        Some(_) => {}
        // A visitor's first form (a token to check) or message: a session begins.
        None if csrf_token.is_some() || flashes.as_ref().is_some_and(|f| !f.is_empty()) => {
            let secret = random_hex();
            sessions::insert(
                &app.pool,
                NewSession {
                    token_hash: &token_hash(&secret),
                    csrf_token: &csrf_token.unwrap_or_else(random_hex),
                    account: None,
                    user_agent: "",
                    client_ip: "",
                    flashes: flashes.as_deref().unwrap_or_default(),
                },
                lifetime,
            )
            .await?;
            new_secret = Some(secret);
        }
        None => {}
    }
    let https = app.config.is_https();
    Ok(match new_secret {
        Some(secret) => Some(set_cookie(cookie_name(app), &secret, https)),
        None if stale => Some(clear_cookie(cookie_name(app), https)),
        None => None,
    })
}

fn lifetime(app: &AppState) -> Lifetime {
    Lifetime {
        idle: app.config.session_idle_timeout,
        absolute: app.config.session_absolute_timeout,
    }
}

/// The `__Host-` prefix pins the cookie to this host, over HTTPS, for every path.
fn cookie_name(app: &AppState) -> &'static str {
    if app.config.is_https() {
        "__Host-quorum_session"
    } else {
        "quorum_session"
    }
}

/// The session cookie's value in a request, if it sent one that could be a secret.
fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| value.len() == SECRET_BYTES * 2 && hex::decode(value).is_ok())
}

/// A browser-session cookie (no `Max-Age`: it goes when the browser closes; the server
/// enforces the idle and absolute timeouts either way).
fn set_cookie(name: &str, secret: &str, https: bool) -> HeaderValue {
    cookie_header(format!("{name}={secret}"), https)
}

fn clear_cookie(name: &str, https: bool) -> HeaderValue {
    cookie_header(format!("{name}=; Max-Age=0"), https)
}

fn cookie_header(start: String, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::try_from(format!("{start}; Path=/; HttpOnly; SameSite=Lax{secure}"))
        .expect("a cookie of hex digits and fixed attributes is a valid header value")
}

const SECRET_BYTES: usize = 32;

fn random_hex() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    hex::encode(bytes)
}

fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

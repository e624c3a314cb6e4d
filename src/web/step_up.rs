//! Step-up: the weightiest changes (a vote, an account's roles, an export) ask a person
//! with a second factor for it again (a fresh code, or a passkey) when they last gave it
//! longer ago than the configured time. The form they sent comes back with a code field
//! and a passkey button, and everything they typed kept in it, so nothing is lost; once
//! the factor is right, the same form goes on.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRequest, FromRequestParts, OriginalUri, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::form::{FieldErrors, Form, clean_text};
use super::session::Session;
use super::{AppError, AppState, CurrentUser, PageContext, RequestMeta, csrf};
use crate::audit::{self, Actor};
use crate::auth::passkeys::{self, Answered};
use crate::auth::throttle::{self, ThrottleKeys};
use crate::auth::totp;
use crate::auth::two_step::{self, Factors};
use crate::auth::webauthn::Purpose;

/// The field the confirmation form adds for a code...
pub const CODE_FIELD: &str = "step_up_code";
/// ...or for a passkey's answer (filled by `passkeys.js`).
pub const PASSKEY_FIELD: &str = "step_up_passkey";
/// Forms larger than this are refused (the CSRF check refuses them before anyway).
const MAX_FORM_BYTES: usize = 256 * 1024;

/// A url-encoded form whose sender gave their second factor recently enough (or has none).
pub struct SteppedUp<T>(pub T);

#[derive(Template, WebTemplate)]
#[template(path = "auth/step_up.html")]
struct ConfirmPage {
    ctx: PageContext,
    /// Where the form was going.
    action: String,
    /// What the person sent, sent again with the code.
    fields: Vec<(String, String)>,
    /// The person's second factors: the ways offered.
    factors: Factors,
    errors: FieldErrors,
}

/// What the person gave to confirm.
enum Proof {
    Code(String),
    /// A passkey's answer, as JSON.
    Passkey(String),
}

impl<T: DeserializeOwned> FromRequest<AppState> for SteppedUp<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !session.step_up_due(state.config.step_up_after) {
            let request = Request::from_parts(parts, body);
            let Form(form) = Form::<T>::from_request(request, state)
                .await
                .map_err(IntoResponse::into_response)?;
            return Ok(SteppedUp(form));
        }
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
        };
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes)
            .map(|(name, value)| {
                (
                    clean_text(&name).into_owned(),
                    clean_text(&value).into_owned(),
                )
            })
            .collect();
        let meta = RequestMeta::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let field = |wanted: &str| {
            pairs
                .iter()
                .find(|(name, _)| name == wanted)
                .map(|(_, value)| value.clone())
        };
        let proof = field(PASSKEY_FIELD)
            .filter(|answer| !answer.is_empty())
            .map(Proof::Passkey)
            .or_else(|| field(CODE_FIELD).map(Proof::Code));
        // The message goes next to what was used.
        let error_field = match proof {
            Some(Proof::Passkey(_)) => PASSKEY_FIELD,
            _ => CODE_FIELD,
        };
        let error = match proof {
            None => None,
            Some(proof) => match confirm(state, &parts, &meta, &session, proof).await {
                Ok(()) => {
                    let request = Request::from_parts(parts, Body::from(bytes));
                    let Form(form) = Form::<T>::from_request(request, state)
                        .await
                        .map_err(IntoResponse::into_response)?;
                    return Ok(SteppedUp(form));
                }
                Err(Refusal::Error(error)) => return Err(error.into_response()),
                Err(Refusal::Message(message)) => Some(message),
            },
        };
        let action = parts
            .extensions
            .get::<OriginalUri>()
            .map_or_else(|| parts.uri.to_string(), |uri| uri.0.to_string());
        let ctx = PageContext::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let mut errors = FieldErrors::new();
        let status = match error {
            Some(message) => {
                errors.add(error_field, message);
                StatusCode::UNPROCESSABLE_ENTITY
            }
            None => StatusCode::OK,
        };
        let fields = pairs
            .into_iter()
            .filter(|(name, _)| {
                name != CODE_FIELD && name != PASSKEY_FIELD && name != csrf::FORM_FIELD
            })
            .collect();
        let factors = factors_of(state, parts.extensions.get::<CurrentUser>())
            .await
            .map_err(IntoResponse::into_response)?;
        let page = ConfirmPage {
            ctx,
            action,
            fields,
            factors,
            errors,
        };
        Err((status, page).into_response())
    }
}

/// The signed-in person's second factors, to offer each.
async fn factors_of(state: &AppState, user: Option<&CurrentUser>) -> Result<Factors, AppError> {
    let Some(user) = user else {
        return Ok(Factors::default());
    };
    let mut conn = state.pool.acquire().await?;
    Ok(two_step::factors(&mut conn, user.id).await?)
}

enum Refusal {
    /// Shown next to the code field.
    Message(String),
    Error(AppError),
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        Refusal::Error(error.into())
    }
}

/// Checks and spends a step-up code or passkey answer (throttled and audited like the
/// sign-in's), and marks the session as having given its second factor now.
async fn confirm(
    state: &AppState,
    parts: &axum::http::request::Parts,
    meta: &RequestMeta,
    session: &Session,
    proof: Proof,
) -> Result<(), Refusal> {
    let user = parts
        .extensions
        .get::<CurrentUser>()
        .cloned()
        .ok_or(Refusal::Message("Sign in again.".to_owned()))?;
    let client_ip = &meta.client_ip;
    let keys = ThrottleKeys::new(&user.email, client_ip);
    let mut conn = state.pool.acquire().await?;
    if let Some(wait_secs) = throttle::blocked_for(&mut conn, &keys).await? {
        return Err(Refusal::Message(format!(
            "Too many failed attempts. Please wait {wait_secs} seconds, then try again."
        )));
    }
    drop(conn);
    let (factor, refusal) = match &proof {
        Proof::Code(_) => (
            "authenticator app",
            "This code is not right, or was used already. Enter the code your authenticator \
             app shows now.",
        ),
        Proof::Passkey(_) => (
            "passkey",
            "This passkey was not accepted. Use a passkey you added to your account.",
        ),
    };
    let mut tx = state.pool.begin().await?;
    let checked = match proof {
        Proof::Code(code) => match totp::spend_code(&mut tx, user.id, &user.email, &code).await? {
            totp::CodeCheck::Accepted => Ok(()),
            refused => Err(refused.reason().to_owned()),
        },
        Proof::Passkey(answer) => {
            let Some(webauthn) = state.webauthn.as_deref() else {
                return Err(Refusal::Message(passkeys::UNAVAILABLE.to_owned()));
            };
            let Ok(answer) = serde_json::from_str(&answer) else {
                return Err(Refusal::Message(
                    "Your browser's answer could not be read. Try again.".to_owned(),
                ));
            };
            let answered = Answered {
                session_id: session.id(),
                purpose: Purpose::StepUp,
                user_id: user.id,
            };
            passkeys::spend_answer(&mut tx, webauthn, answered, &answer).await?
        }
    };
    if let Err(reason) = checked {
        throttle::record_failure(&mut tx, &keys).await?;
        audit::record(
            &mut tx,
            &Actor::user(&user),
            meta.request_id.as_deref(),
            audit::Entry::new("auth.step_up_failed", "user", Some(user.id.to_string()))
                .after(json!({ "factor": factor, "reason": reason, "client_ip": client_ip })),
        )
        .await?;
        tx.commit().await?;
        return Err(Refusal::Message(refusal.to_owned()));
    }
    session.mark_second_factor(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

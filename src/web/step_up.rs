//! Step-up: the weightiest changes (a vote, an account's roles, an export) ask a person
//! with a second factor for a fresh code when they last gave one longer ago than the
//! configured time. The form they sent comes back with a code field and everything they
//! typed kept in it, so nothing is lost; once the code is right, the same form goes on.

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
use crate::auth::throttle::{self, ThrottleKeys};
use crate::auth::totp;

/// The field the confirmation form adds.
pub const CODE_FIELD: &str = "step_up_code";
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
    errors: FieldErrors,
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
        let code = pairs
            .iter()
            .find(|(name, _)| name == CODE_FIELD)
            .map(|(_, value)| value.clone());
        let error = match code {
            None => None,
            Some(code) => match confirm(state, &parts, &meta, &session, &code).await {
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
                errors.add(CODE_FIELD, message);
                StatusCode::UNPROCESSABLE_ENTITY
            }
            None => StatusCode::OK,
        };
        let fields = pairs
            .into_iter()
            .filter(|(name, _)| name != CODE_FIELD && name != csrf::FORM_FIELD)
            .collect();
        let page = ConfirmPage {
            ctx,
            action,
            fields,
            errors,
        };
        Err((status, page).into_response())
    }
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

/// Checks and spends a step-up code (throttled and audited like the sign-in's), and marks
/// the session as having given its second factor now.
async fn confirm(
    state: &AppState,
    parts: &axum::http::request::Parts,
    meta: &RequestMeta,
    session: &Session,
    code: &str,
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
            "Too many wrong codes. Please wait {} seconds, then enter the code your app shows.",
            wait_secs
        )));
    }
    drop(conn);
    let mut tx = state.pool.begin().await?;
    let spent =
        totp::spend_code(&mut tx, user.id, &user.email, code).await? == totp::CodeCheck::Accepted;
    if !spent {
        throttle::record_failure(&mut tx, &keys).await?;
        audit::record(
            &mut tx,
            &Actor::user(&user),
            meta.request_id.as_deref(),
            audit::Entry::new("auth.step_up_failed", "user", Some(user.id.to_string()))
                .after(json!({ "client_ip": client_ip })),
        )
        .await?;
        tx.commit().await?;
        return Err(Refusal::Message(
            "This code is not right, or was used already. Enter the code your authenticator \
             app shows now."
                .to_owned(),
        ));
    }
    session.mark_second_factor(&mut tx).await?;
    tx.commit().await?;
    Ok(())
}

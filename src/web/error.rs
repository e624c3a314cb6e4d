//! One error type for every handler, and one place that turns errors into pages.
//!
//! A handler returns `AppError`; its response carries an [`ErrorReport`] in its extensions
//! and no body. The [`render_error_pages`] middleware, inside the trace span, logs the cause
//! and renders a page that leaks nothing but shows the request id.

use askama::Template;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::page::PageContext;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// The visitor is signed in but may not do this; the reason is shown to them.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The visitor must sign in first; they come back to `next` afterwards.
    #[error("sign-in required")]
    LoginRequired { next: String },
    /// The request could not be read at all (not a validation error: those re-render the
    /// form with messages next to the fields).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The address's query string holds what no page takes; the reason is shown.
    #[error("bad address: {0}")]
    BadAddress(String),
    #[error("the form's security token is missing or does not match the session")]
    CsrfRejected,
    /// Too much heavy work runs already (documents being rendered): nothing was done; the
    /// reason is shown and the visitor asked to retry shortly.
    #[error("busy: {0}")]
    Busy(String),
    /// A report too large for one file: nothing was produced; the reason is shown.
    #[error("too large: {0}")]
    TooLarge(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Errors that say PostgreSQL is out of reach (stopped, restarting, refusing more
/// connections) or too slow (the pool's wait or a statement's timeout ran out).
fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            // 08: connection exceptions; 57P01-03: shutting down or starting up;
            // 53300: too many connections; 57014: a statement timeout or cancellation.
            code.starts_with("08")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300" | "57014")
        }),
        _ => false,
    }
}

/// What the error-page middleware needs to know about a failed request.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    pub title: &'static str,
    pub message: String,
    /// Logged, never shown.
    pub cause: Option<String>,
}

/// How long a visitor is asked to wait when the database is out of reach or overloaded.
const RETRY_AFTER_SECS: u32 = 5;

impl AppError {
    /// The database could not be reached, or could not answer in time: nothing was done,
    /// and the same request may well succeed a few seconds later.
    pub fn is_unavailable(&self) -> bool {
        match self {
            AppError::Database(error) => database_unavailable(error),
            _ => false,
        }
    }

    /// Whether asking again shortly may succeed (503 with `Retry-After`).
    fn is_retryable(&self) -> bool {
        matches!(self, AppError::Busy(_)) || self.is_unavailable()
    }

    fn status(&self) -> StatusCode {
        match self {
            _ if self.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::CsrfRejected => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) | AppError::BadAddress(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::LoginRequired { .. } => StatusCode::SEE_OTHER,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let report = match &self {
            AppError::LoginRequired { next } => {
                let target = format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            AppError::NotFound => ErrorReport {
                title: "Page not found",
                message: "There is no page at this address. It may have moved, or the link \
                          may be mistyped."
                    .to_owned(),
                cause: None,
            },
            AppError::Forbidden(reason) => ErrorReport {
                title: "Not allowed",
                message: reason.clone(),
                cause: None,
            },
            AppError::BadRequest(detail) => ErrorReport {
                title: "Could not read the form",
                message: "What was sent could not be read. Go back, reload the page and try \
                          again."
                    .to_owned(),
                cause: Some(detail.clone()),
            },
            AppError::BadAddress(reason) => ErrorReport {
                title: "Could not read the address",
                message: reason.clone(),
                cause: None,
            },
            AppError::Busy(reason) => ErrorReport {
                title: "Busy just now",
                message: reason.clone(),
                cause: None,
            },
            AppError::TooLarge(reason) => ErrorReport {
                title: "Too large for one file",
                message: reason.clone(),
                cause: None,
            },
            AppError::CsrfRejected => ErrorReport {
                title: "The form has expired",
                message: "This form could not be accepted because its security token is \
                          missing or out of date (for example after signing in again in \
                          another tab). Go back, reload the page and submit it again."
                    .to_owned(),
                cause: None,
            },
            _ if self.is_unavailable() => ErrorReport {
                title: "Quorum is busy or cannot reach its database",
                message: format!(
                    "Nothing was changed. Please try again in {RETRY_AFTER_SECS} seconds; \
                     what you typed is still in the page you came from."
                ),
                cause: Some(format!("{self:#}")),
            },
            AppError::Database(_) | AppError::Internal(_) => ErrorReport {
                title: "Something went wrong",
                message: "Quorum could not complete this request. Nothing was changed. \
                              Please try again; if it happens again, give the request id \
                              below to your administrator."
                    .to_owned(),
                cause: Some(format!("{self:#}")),
            },
        };
        if matches!(self, AppError::Database(_)) {
            super::metrics::count_database_error();
        }
        let mut response = self.status().into_response();
        if self.is_retryable() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, RETRY_AFTER_SECS.into());
        }
        response.extensions_mut().insert(report);
        response
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    ctx: PageContext,
    status: u16,
    title: &'static str,
    message: String,
    request_id: String,
}

/// Renders every error response as a page: those from handlers (with an [`ErrorReport`])
/// and bare ones from the framework and middleware (405, 408, 413, a cross-site 403, ...).
pub async fn render_error_pages(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let mut response = next.run(request).await;
    let status = response.status();
    let report = match response.extensions_mut().remove::<ErrorReport>() {
        Some(report) => report,
        None if (status.is_client_error() || status.is_server_error())
            && !response.headers().contains_key(header::CONTENT_TYPE) =>
        {
            generic_report(status)
        }
        None => return response,
    };
    match (&report.cause, status.is_server_error()) {
        (Some(cause), true) => tracing::error!(%status, %cause, "request failed"),
        (None, true) => tracing::error!(%status, "request failed"),
        (Some(cause), false) => tracing::info!(%status, %cause, "request refused"),
        (None, false) => {}
    }
    let page = ErrorPage {
        ctx: PageContext::bare(),
        status: status.as_u16(),
        title: report.title,
        message: report.message,
        request_id,
    };
    match page.render() {
        Ok(html) => {
            let mut rendered = (status, Html(html)).into_response();
            // Keep headers set by inner layers (e.g. Retry-After, Allow).
            for (name, value) in response.headers() {
                if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                    rendered.headers_mut().append(name, value.clone());
                }
            }
            rendered
        }
        Err(error) => {
            tracing::error!(%error, "cannot render the error page");
            status.into_response()
        }
    }
}

fn generic_report(status: StatusCode) -> ErrorReport {
    let (title, message) = match status {
        StatusCode::FORBIDDEN => (
            "Not allowed",
            "This request was refused because it did not come from a Quorum page.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "Not available",
            "This address does not accept that kind of request.",
        ),
        StatusCode::REQUEST_TIMEOUT => (
            "This took too long",
            "Quorum stopped this request because it took too long. Nothing was changed; \
             please try again.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "Too much data",
            "What was sent is larger than Quorum accepts here.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::UNPROCESSABLE_ENTITY => (
            "Could not read the form",
            "The form could not be read. Go back, reload the page and try again.",
        ),
        status if status.is_server_error() => (
            "Something went wrong",
            "Quorum could not complete this request. Please try again; if it happens \
             again, give the request id below to your administrator.",
        ),
        _ => ("Request refused", "Quorum could not accept this request."),
    };
    ErrorReport {
        title,
        message: message.to_owned(),
        cause: None,
    }
}

/// The answer to a panic inside a handler: a plain 500, rendered by the middleware above.
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    AppError::Internal(anyhow::anyhow!("handler panicked: {detail}")).into_response()
}

/// The fallback for addresses no route matches.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

//! Synchronizer CSRF tokens: one random token per session (`Session::csrf_token`), embedded
//! in every form and checked by one middleware on every state-changing request.
//! (Cross-site requests are also refused earlier by their `Sec-Fetch-Site`/`Origin` headers: tower-http's
//! `CsrfLayer`, see `routes.rs`.)

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::error::AppError;
use super::session::Session;

/// The form field every state-changing form carries.
pub const FORM_FIELD: &str = "csrf_token";
/// For requests that are not url-encoded forms.
pub const HEADER: &str = "x-csrf-token";
/// Url-encoded forms larger than this are refused before their token is read.
const MAX_FORM_BYTES: usize = 256 * 1024;
/// Multipart uploads larger than this are refused before their token is read.
const MAX_MULTIPART_BYTES: usize = super::upload::MAX_UPLOAD_REQUEST_BYTES;

/// Refuses any POST/PUT/PATCH/DELETE whose token does not match the session's.
pub async fn verify_token(session: Session, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(expected) = session.expected_csrf_token() else {
        return AppError::CsrfRejected.into_response();
    };
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let multipart_boundary = multer::parse_boundary(&content_type).ok();
    let (request, presented) = if let Some(boundary) = multipart_boundary {
        // An upload: the token is one of its fields. Read the body (up to the largest
        // upload), find the field, then hand the same bytes to the handler.
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_MULTIPART_BYTES).await else {
            return (axum::http::StatusCode::PAYLOAD_TOO_LARGE).into_response();
        };
        let presented = multipart_token(bytes.clone(), boundary).await;
        (Request::from_parts(parts, Body::from(bytes)), presented)
    } else if is_form {
        // Read the body to find the token, then hand the same bytes to the handler.
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
            return (axum::http::StatusCode::PAYLOAD_TOO_LARGE).into_response();
        };
        let presented = form_urlencoded::parse(&bytes)
            .find(|(name, _)| name == FORM_FIELD)
            .map(|(_, value)| value.into_owned());
        (Request::from_parts(parts, Body::from(bytes)), presented)
    } else {
        let presented = request
            .headers()
            .get(HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        (request, presented)
    };
    match presented {
        Some(presented) if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) => {
            next.run(request).await
        }
        _ => AppError::CsrfRejected.into_response(),
    }
}

/// The value of the token field of a multipart body, if it has one.
async fn multipart_token(body: axum::body::Bytes, boundary: String) -> Option<String> {
    let stream =
        futures_util::stream::once(std::future::ready(Ok::<_, std::convert::Infallible>(body)));
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some(FORM_FIELD) {
            return field.text().await.ok();
        }
    }
    None
}

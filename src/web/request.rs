//! Facts about the request that the audit trail and sign-in throttling need, and the
//! check every request's query string passes.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;
use super::error::AppError;

#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// The id the request-id layer gave the request (also shown on error pages).
    pub request_id: Option<String>,
    /// The client's address: the peer's, or the proxy's `X-Forwarded-For` when trusted.
    pub client_ip: String,
}

impl FromRequestParts<AppState> for RequestMeta {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let forwarded = state
            .config
            .trust_forwarded_for
            .then(|| {
                parts
                    .headers
                    .get("x-forwarded-for")
                    .and_then(|value| value.to_str().ok())
                    // The proxy appends the address it saw: the last entry is the one
                    // a client cannot forge.
                    .and_then(|value| value.rsplit(',').next())
                    .map(|ip| ip.trim().to_owned())
            })
            .flatten();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(Self {
            request_id,
            client_ip: forwarded.or(peer).unwrap_or_else(|| "unknown".to_owned()),
        })
    }
}

/// Refuses a request whose query string holds a NUL once decoded. No filter, search or
/// page position can hold one (PostgreSQL's text refuses it), so every page refuses it
/// here at once, with a 400 instead of a database error.
pub async fn refuse_nul_in_query(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let holds_nul = request.uri().query().is_some_and(|query| {
        form_urlencoded::parse(query.as_bytes())
            .any(|(name, value)| name.contains('\0') || value.contains('\0'))
    });
    if holds_nul {
        return AppError::BadAddress(
            "The address holds a NUL character, which no filter or search takes. Remove it \
             and try again."
                .to_owned(),
        )
        .into_response();
    }
    next.run(request).await
}

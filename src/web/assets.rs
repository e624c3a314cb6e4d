//! The stylesheet, script and icons, compiled into the binary so that Quorum runs from any
//! directory with nothing beside it.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::error::AppError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "quorum.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../static/quorum.css"),
    },
    Asset {
        name: "quorum.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/quorum.js"),
    },
    Asset {
        name: "passkeys.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../static/passkeys.js"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../static/favicon.svg"),
    },
    Asset {
        name: "favicon.ico",
        content_type: "image/x-icon",
        bytes: include_bytes!("../../static/favicon.ico"),
    },
];

fn serve(name: &str) -> Result<Response, AppError> {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        asset.bytes,
    )
        .into_response())
}

/// `GET /static/{name}`
pub async fn static_file(Path(name): Path<String>) -> Result<Response, AppError> {
    serve(&name)
}

/// `GET /favicon.ico`: browsers ask for it on their own.
pub async fn favicon() -> Result<Response, AppError> {
    serve("favicon.ico")
}

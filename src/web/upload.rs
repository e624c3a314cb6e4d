//! The size of what a browser may upload. The web plumbing bounds every request body by
//! it; the areas that take files (evidence, framework imports) use the same figures.

use axum::extract::DefaultBodyLimit;
use axum::extract::multipart::{Field, MultipartError};

/// The largest file accepted.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The largest upload request: the file and the few form fields around it.
pub const MAX_UPLOAD_REQUEST_BYTES: usize = MAX_FILE_BYTES + 64 * 1024;

/// The body limit of an upload route (the others keep axum's default for forms).
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(MAX_UPLOAD_REQUEST_BYTES)
}

/// A text field of an upload form, cleaned as every form's text is
/// ([`super::form::clean_text`]).
pub async fn text_field(field: Field<'_>) -> Result<String, MultipartError> {
    let text = field.text().await?;
    Ok(super::form::clean_text(&text).into_owned())
}

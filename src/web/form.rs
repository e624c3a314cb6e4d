//! Forms: one extractor whose rejection is the same friendly error as any other, and the
//! field errors that re-render a form with messages next to the fields.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::AppError;

/// How a form re-shown with what was typed answers: 409 when the record changed while it
/// was being edited (optimistic concurrency), 422 when something typed must be mended.
pub fn refusal_status(stale: bool) -> axum::http::StatusCode {
    if stale {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A url-encoded form (repeated fields such as checkboxes become a `Vec`).
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        axum_extra::extract::Form::<T>::from_request(request, state)
            .await
            .map(|axum_extra::extract::Form(value)| Form(value))
            .map_err(|rejection| AppError::BadRequest(rejection.to_string()))
    }
}

/// Messages for the fields of a form that failed validation, by field name.
#[derive(Debug, Default, Clone)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field`, keeping the first message if there are several.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when there is no error, for `?` in validation functions.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// A record offered in a select or a datalist: its id, reference and title.
#[derive(Debug, Clone)]
pub struct RecordOption {
    pub id: i64,
    pub reference: String,
    pub title: String,
}

impl RecordOption {
    pub fn label(&self) -> String {
        format!("{} {}", self.reference, self.title)
    }
}

/// Trims a text field; an empty one becomes `None`.
pub fn optional(text: &str) -> Option<String> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// Reads a date typed as `YYYY-MM-DD` (what `<input type="date">` sends); records a
/// message for `field` when it is missing or malformed.
pub fn required_date(
    errors: &mut FieldErrors,
    field: &'static str,
    text: &str,
) -> Option<time::Date> {
    match optional_date(errors, field, text) {
        Some(date) => Some(date),
        None if text.trim().is_empty() => {
            errors.add(field, "Enter a date.");
            None
        }
        None => None,
    }
}

/// Like [`required_date`], but an empty field is simply no date.
pub fn optional_date(
    errors: &mut FieldErrors,
    field: &'static str,
    text: &str,
) -> Option<time::Date> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let date = crate::common::dates::parse_iso(text);
    if date.is_none() {
        errors.add(field, "Enter a date as YYYY-MM-DD, for example 2026-03-31.");
    }
    date
}

/// Reads a choice among `T`'s values (an enum with `FromStr`).
pub fn required_choice<T: std::str::FromStr>(
    errors: &mut FieldErrors,
    field: &'static str,
    text: &str,
) -> Option<T> {
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        errors.add(field, "Choose one of the options.");
    }
    parsed
}

/// Reads a required line of text of at most `max` characters.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &'static str,
    text: &str,
    max: usize,
) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        errors.add(field, "This cannot be empty.");
    } else if trimmed.chars().count() > max {
        errors.add(field, format!("Use at most {max} characters."));
    }
    trimmed.to_owned()
}

/// Reads free text of at most `max` characters (may be empty).
pub fn bounded_text(
    errors: &mut FieldErrors,
    field: &'static str,
    text: &str,
    max: usize,
) -> String {
    let trimmed = text.trim();
    if trimmed.chars().count() > max {
        errors.add(field, format!("Use at most {max} characters."));
    }
    trimmed.to_owned()
}

/// Reads an amount of money in minor units.
pub fn required_money(errors: &mut FieldErrors, field: &'static str, text: &str) -> Option<i64> {
    match super::money::parse_minor(text) {
        Ok(cents) => Some(cents),
        Err(message) => {
            errors.add(field, message);
            None
        }
    }
}

//! Forms: one extractor whose rejection is the same friendly error as any other, and the
//! field errors that re-render a form with messages next to the fields.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::extract::{FromRequest, RawForm, Request};
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

/// A url-encoded form (repeated fields such as checkboxes become a `Vec`), every name and
/// value cleaned by [`clean_text`] before the handler sees it.
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let RawForm(body) = RawForm::from_request(request, state)
            .await
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
        // Invalid UTF-8 is read as U+FFFD, as browsers show it.
        let mut cleaned = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(&body) {
            cleaned.append_pair(&clean_text(&name), &clean_text(&value));
        }
        let cleaned = cleaned.finish();
        serde_html_form::from_str(&cleaned)
            .map(Form)
            .map_err(|error| AppError::BadRequest(format!("the form could not be read: {error}")))
    }
}

/// Text as a person meant it: without NUL and the other control characters (which
/// PostgreSQL refuses or which only garble what others see), with line breaks as `\n`,
/// and without the explicit bidirectional controls that can make text read differently
/// from what was stored ("Trojan Source"). Tabs, line breaks, right-to-left letters and
/// the harmless direction marks (U+200E, U+200F, U+061C) are kept.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    fn unwanted(c: char) -> bool {
        (c.is_control() && !matches!(c, '\t' | '\n'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unwanted) {
        return Cow::Borrowed(text);
    }
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Cow::Owned(text.chars().filter(|c| !unwanted(*c)).collect())
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
    use crate::common::dates::{EARLIEST, LATEST, parse_iso};
    match parse_iso(text) {
        Some(date) if (EARLIEST..=LATEST).contains(&date) => Some(date),
        Some(_) => {
            errors.add(
                field,
                format!("Enter a date between {EARLIEST} and {LATEST}."),
            );
            None
        }
        None => {
            errors.add(field, "Enter a date as YYYY-MM-DD, for example 2026-03-31.");
            None
        }
    }
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

#[cfg(test)]
mod tests {
    use super::clean_text;

    #[test]
    fn dates_outside_the_calendar_quorum_keeps_are_refused_with_a_reason() {
        let mut errors = super::FieldErrors::new();
        assert!(super::optional_date(&mut errors, "due", "9999-12-31").is_none());
        assert_eq!(
            errors.get("due"),
            Some("Enter a date between 1900-01-01 and 2200-12-31.")
        );
        let mut errors = super::FieldErrors::new();
        assert!(super::optional_date(&mut errors, "due", "2026-02-30").is_none());
        assert!(
            errors
                .get("due")
                .unwrap()
                .starts_with("Enter a date as YYYY-MM-DD")
        );
        let mut errors = super::FieldErrors::new();
        let day = super::required_date(&mut errors, "due", " 2200-12-31 ");
        assert_eq!(day, Some(time::macros::date!(2200 - 12 - 31)));
        assert!(errors.is_empty());
    }

    #[test]
    fn text_is_cleaned_of_what_nobody_types() {
        assert_eq!(clean_text("before\0after"), "beforeafter");
        assert_eq!(
            clean_text("bell\u{7} esc\u{1b}[31m del\u{7f} c1\u{85}"),
            "bell esc[31m del c1"
        );
        assert_eq!(
            clean_text("one\r\ntwo\rthree\n\tfour"),
            "one\ntwo\nthree\n\tfour"
        );
        assert_eq!(
            clean_text("\u{202e}gnp.exe\u{202c} \u{2066}x\u{2069}"),
            "gnp.exe x"
        );
        // Letters of every script, emoji and the harmless direction marks stay.
        let kept = "Zürich 東京 שלום\u{200f} مرحبا\u{61c} 👩‍💻";
        assert!(matches!(clean_text(kept), std::borrow::Cow::Borrowed(_)));
        assert_eq!(clean_text(kept), kept);
    }

    proptest::proptest! {
        /// Any text is a date in Quorum's calendar or a message next to the field.
        #[test]
        fn any_text_is_a_date_in_range_or_a_message(text in "(?s).{0,16}|[+-]?[0-9]{1,6}-[0-9]{1,3}-[0-9]{1,3}") {
            let mut errors = super::FieldErrors::new();
            match super::optional_date(&mut errors, "date", &text) {
                Some(date) => {
                    proptest::prop_assert!(errors.is_empty());
                    proptest::prop_assert!((crate::common::dates::EARLIEST..=crate::common::dates::LATEST).contains(&date));
                }
                None => proptest::prop_assert!(text.trim().is_empty() || errors.has("date")),
            }
        }

        /// Every day of the calendar reads back from how it is written.
        #[test]
        fn every_day_in_range_reads_back(days in 0i64..=110_000) {
            let day = crate::common::dates::EARLIEST + time::Duration::days(days);
            proptest::prop_assume!(day <= crate::common::dates::LATEST);
            let mut errors = super::FieldErrors::new();
            proptest::prop_assert_eq!(super::required_date(&mut errors, "date", &day.to_string()), Some(day));
        }

        /// Cleaning leaves no control character but tab and line feed, no bidirectional
        /// control, and changes nothing the second time.
        #[test]
        fn cleaned_text_is_clean_and_stays_so(text in "(?s).{0,40}") {
            let cleaned = clean_text(&text);
            proptest::prop_assert!(!cleaned.chars().any(|c| (c.is_control() && c != '\t' && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')), "not clean: {:?}", cleaned);
            proptest::prop_assert_eq!(clean_text(&cleaned), cleaned.clone());
        }
    }
}

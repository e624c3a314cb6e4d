//! The calendar Quorum counts in.

use time::{Date, OffsetDateTime};

/// A date written `YYYY-MM-DD` (what `<input type="date">` sends, and how dates appear in
/// links), or `None`.
pub fn parse_iso(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// Today, in UTC: reporting periods, due dates and reviews are counted in days.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

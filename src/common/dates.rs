//! The calendar Quorum counts in.

use time::{Date, OffsetDateTime};

/// A date written `YYYY-MM-DD` (what `<input type="date">` sends, and how dates appear in
/// links), or `None`.
pub fn parse_iso(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// The first and last day Quorum accepts in a form: governance records fall within
/// these, and past them a typo (year 20226, year 0202) is far likelier than intent.
pub const EARLIEST: Date = time::macros::date!(1900 - 01 - 01);
pub const LATEST: Date = time::macros::date!(2200 - 12 - 31);

/// Today, in UTC: reporting periods, due dates and reviews are counted in days.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

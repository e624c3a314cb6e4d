//! The calendar Quorum counts in.

use time::{Date, OffsetDateTime};

/// Today, in UTC: reporting periods, due dates and reviews are counted in days.
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

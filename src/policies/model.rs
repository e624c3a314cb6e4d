//! The policy vocabulary: categories, where a policy is in its lifecycle, and the rules
//! that follow from it (what may be edited, submitted, published).

use time::{Date, Month};

use crate::approvals::model::RequestStatus;
use crate::text_enum::text_enum;

text_enum! {
    pub enum PolicyCategory {
        InformationSecurity => ("information_security", "Information security"),
        AcceptableUse => ("acceptable_use", "Acceptable use"),
        Access => ("access", "Access control"),
        Data => ("data", "Data protection"),
        Continuity => ("continuity", "Continuity and recovery"),
        Change => ("change", "Change management"),
        Vendor => ("vendor", "Vendors and cloud"),
        Operations => ("operations", "IT operations"),
        Governance => ("governance", "IT governance"),
    }
}

text_enum! {
    /// Where a policy stands. Draft, in review and approved describe its newest version;
    /// a published policy may have a newer draft being written.
    pub enum Lifecycle {
        Draft => ("draft", "Draft"),
        InReview => ("in_review", "In review by the board"),
        Approved => ("approved", "Approved, to publish"),
        Published => ("published", "Published"),
        Retired => ("retired", "Retired"),
    }
}

impl Lifecycle {
    /// A new version may be written: the text under review or approved stays as the board
    /// saw it until it is published or the review is withdrawn.
    pub fn editable(self) -> bool {
        matches!(self, Lifecycle::Draft | Lifecycle::Published)
    }

    /// The badge class the pages use (`status-…`).
    pub fn tone(self) -> &'static str {
        match self {
            Lifecycle::Draft => "draft",
            Lifecycle::InReview => "open",
            Lifecycle::Approved => "approved",
            Lifecycle::Published => "ok",
            Lifecycle::Retired => "off",
        }
    }
}

text_enum! {
    /// A version's own status, stored; "in review" is read from its open request.
    pub enum VersionStatus {
        Draft => ("draft", "Draft"),
        Approved => ("approved", "Approved"),
        Published => ("published", "Published"),
        Superseded => ("superseded", "Superseded"),
    }
}

/// The date a review falls due: `months` after `from`, on the same day or the month's
/// last day when it has fewer.
pub fn review_due(from: Date, months: i16) -> Date {
    let total = from.year() * 12 + i32::from(u8::from(from.month())) - 1 + i32::from(months);
    let year = total.div_euclid(12);
    let month = Month::try_from((total.rem_euclid(12) + 1) as u8).unwrap_or(Month::January);
    let last_day = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, from.day().min(last_day)).unwrap_or(from)
}

text_enum! {
    /// The lists of exceptions the register watches, each with a page of its own.
    pub enum ExceptionList {
        AwaitingBoard => ("awaiting", "Awaiting the board"),
        /// Soonest to expire first.
        InForce => ("in_force", "In force"),
        /// Latest to expire first.
        Expired => ("expired", "Expired"),
    }
}

/// Where an exception to a policy stands, from its request and dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionState {
    AwaitingBoard,
    InForce,
    NotYetInForce,
    Expired,
    /// Rejected, withdrawn or expired without a decision.
    NotGranted,
}

impl ExceptionState {
    pub fn of(request: RequestStatus, starts_on: Date, expires_on: Date, today: Date) -> Self {
        match request {
            RequestStatus::Draft | RequestStatus::Open => ExceptionState::AwaitingBoard,
            RequestStatus::Approved if expires_on < today => ExceptionState::Expired,
            RequestStatus::Approved if starts_on > today => ExceptionState::NotYetInForce,
            RequestStatus::Approved => ExceptionState::InForce,
            RequestStatus::Rejected | RequestStatus::Withdrawn | RequestStatus::Expired => {
                ExceptionState::NotGranted
            }
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ExceptionState::AwaitingBoard => "Awaiting the board",
            ExceptionState::InForce => "In force",
            ExceptionState::NotYetInForce => "Approved, not yet in force",
            ExceptionState::Expired => "Expired",
            ExceptionState::NotGranted => "Not granted",
        }
    }

    /// The badge class the pages use (`status-…`).
    pub fn tone(self) -> &'static str {
        match self {
            ExceptionState::AwaitingBoard | ExceptionState::NotYetInForce => "warn",
            ExceptionState::InForce => "ok",
            ExceptionState::Expired => "bad",
            ExceptionState::NotGranted => "off",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn reviews_fall_due_months_later_on_a_real_day() {
        assert_eq!(review_due(date!(2026 - 01 - 15), 12), date!(2027 - 01 - 15));
        assert_eq!(review_due(date!(2026 - 01 - 31), 1), date!(2026 - 02 - 28));
        assert_eq!(review_due(date!(2026 - 11 - 30), 3), date!(2027 - 02 - 28));
        assert_eq!(review_due(date!(2027 - 12 - 01), 1), date!(2028 - 01 - 01));
    }

    #[test]
    fn an_exception_is_in_force_only_between_its_dates_once_approved() {
        let (start, end) = (date!(2026 - 01 - 01), date!(2026 - 06 - 30));
        let on = |status, today| ExceptionState::of(status, start, end, today);
        assert_eq!(
            on(RequestStatus::Open, date!(2026 - 03 - 01)),
            ExceptionState::AwaitingBoard
        );
        assert_eq!(
            on(RequestStatus::Approved, date!(2025 - 12 - 31)),
            ExceptionState::NotYetInForce
        );
        assert_eq!(
            on(RequestStatus::Approved, date!(2026 - 06 - 30)),
            ExceptionState::InForce
        );
        assert_eq!(
            on(RequestStatus::Approved, date!(2026 - 07 - 01)),
            ExceptionState::Expired
        );
        assert_eq!(
            on(RequestStatus::Rejected, date!(2026 - 03 - 01)),
            ExceptionState::NotGranted
        );
    }

    #[test]
    fn only_drafts_and_published_policies_take_a_new_version() {
        let editable: Vec<_> = Lifecycle::ALL.iter().filter(|l| l.editable()).collect();
        assert_eq!(editable, [&Lifecycle::Draft, &Lifecycle::Published]);
    }
}

//! The portfolio's vocabulary: phases, RAG ratings, reporting cadences and periods, and
//! when a project's reporting is due, late or stale.

use time::{Date, Duration, Month};

use crate::text_enum::text_enum;

text_enum! {
    /// Where a project is in its life.
    pub enum Phase {
        Proposed => ("proposed", "Proposed"),
        Approved => ("approved", "Approved"),
        InDelivery => ("in_delivery", "In delivery"),
        Closed => ("closed", "Closed"),
        Cancelled => ("cancelled", "Cancelled"),
    }
}

impl Phase {
    /// Whether status reports are expected in this phase.
    pub fn is_reporting(self) -> bool {
        matches!(self, Phase::Approved | Phase::InDelivery)
    }

    /// The phases a project's manager may move it to from this one. Approval is the
    /// board's: a proposed project waits for it.
    pub fn manager_transitions(self) -> &'static [Phase] {
        match self {
            Phase::Proposed => &[Phase::Proposed, Phase::Cancelled],
            Phase::Approved => &[Phase::Approved, Phase::InDelivery, Phase::Cancelled],
            Phase::InDelivery => &[Phase::InDelivery, Phase::Closed, Phase::Cancelled],
            Phase::Closed => &[Phase::Closed],
            Phase::Cancelled => &[Phase::Cancelled],
        }
    }
}

text_enum! {
    /// Red / amber / green.
    pub enum Rag {
        Green => ("green", "Green"),
        Amber => ("amber", "Amber"),
        Red => ("red", "Red"),
    }
}

impl Rag {
    pub fn needs_explanation(self) -> bool {
        self != Rag::Green
    }
}

text_enum! {
    /// How often a project reports.
    pub enum Cadence {
        Weekly => ("weekly", "Weekly"),
        Monthly => ("monthly", "Monthly"),
    }
}

text_enum! {
    pub enum ReportStatus {
        Draft => ("draft", "Draft"),
        Submitted => ("submitted", "Submitted"),
    }
}

/// A reporting period: a week (Monday to Sunday) or a calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Date,
    pub end: Date,
}

/// Days after a period's end by which its report is expected.
pub const REPORT_GRACE_DAYS: i64 = 3;

impl Period {
    /// The period of `cadence` that contains `day`.
    pub fn containing(cadence: Cadence, day: Date) -> Period {
        match cadence {
            Cadence::Weekly => {
                let start =
                    day - Duration::days(i64::from(day.weekday().number_days_from_monday()));
                Period {
                    start,
                    end: start + Duration::days(6),
                }
            }
            Cadence::Monthly => {
                let start = day.replace_day(1).expect("day 1 exists in every month");
                let end = start
                    .replace_day(days_in_month(start.year(), start.month()))
                    .expect("valid day");
                Period { start, end }
            }
        }
    }

    /// The period just before this one.
    pub fn previous(self, cadence: Cadence) -> Period {
        Period::containing(cadence, self.start - Duration::days(1))
    }

    /// The latest period whose report is already due (past its grace days) on `today`.
    pub fn latest_due(cadence: Cadence, today: Date) -> Period {
        let last_completed = Period::containing(cadence, today).previous(cadence);
        if today <= last_completed.due() {
            last_completed.previous(cadence)
        } else {
            last_completed
        }
    }

    /// The day by which this period's report is expected.
    pub fn due(self) -> Date {
        self.end + Duration::days(REPORT_GRACE_DAYS)
    }

    /// "Week of 2026-11-23" or "November 2026".
    pub fn label(self, cadence: Cadence) -> String {
        match cadence {
            Cadence::Weekly => format!("Week of {}", self.start),
            Cadence::Monthly => format!("{} {}", self.start.month(), self.start.year()),
        }
    }
}

fn days_in_month(year: i32, month: Month) -> u8 {
    time::util::days_in_month(month, year)
}

/// The ends of the latest due week and month on `today`: a reporting project whose last
/// report ends before the one of its cadence is overdue.
pub fn latest_due_period_ends(today: Date) -> (Date, Date) {
    (
        Period::latest_due(Cadence::Weekly, today).end,
        Period::latest_due(Cadence::Monthly, today).end,
    )
}

/// Where a project stands with its reporting, as of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportingState {
    /// Not expected to report (proposed, closed, cancelled, or not started yet).
    NotReporting,
    /// Every period that has come due is reported.
    UpToDate,
    /// The last completed period's report is past its due date.
    Late { period: Period, due: Date },
    /// Two or more completed periods are unreported: the board sees old news.
    Stale { last_reported: Option<Date> },
}

impl ReportingState {
    /// `last_reported` is the end of the latest period with a submitted report.
    pub fn of(
        phase: Phase,
        cadence: Cadence,
        start_date: Date,
        last_reported: Option<Date>,
        today: Date,
    ) -> ReportingState {
        if !phase.is_reporting() || today < start_date {
            return ReportingState::NotReporting;
        }
        let last_due = Period::latest_due(cadence, today);
        let reported = |period: Period| last_reported.is_some_and(|end| end >= period.end);
        if last_due.end < start_date || reported(last_due) {
            return ReportingState::UpToDate;
        }
        let one_before = last_due.previous(cadence);
        if one_before.end >= start_date && !reported(one_before) {
            ReportingState::Stale { last_reported }
        } else {
            ReportingState::Late {
                period: last_due,
                due: last_due.due(),
            }
        }
    }

    pub fn is_overdue(self) -> bool {
        matches!(
            self,
            ReportingState::Late { .. } | ReportingState::Stale { .. }
        )
    }

    pub fn is_stale(self) -> bool {
        matches!(self, ReportingState::Stale { .. })
    }

    pub fn label(self) -> String {
        match self {
            ReportingState::NotReporting => "Not reporting".to_owned(),
            ReportingState::UpToDate => "Up to date".to_owned(),
            ReportingState::Late { due, .. } => format!("Late (due {due})"),
            ReportingState::Stale {
                last_reported: Some(end),
            } => {
                format!("Stale (last report to {end})")
            }
            ReportingState::Stale {
                last_reported: None,
            } => "Stale (never reported)".to_owned(),
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            ReportingState::NotReporting => "status status-off",
            ReportingState::UpToDate => "status status-ok",
            ReportingState::Late { .. } => "status status-warn",
            ReportingState::Stale { .. } => "status status-bad",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weeks_run_monday_to_sunday_and_months_are_calendar_months() {
        let week = Period::containing(Cadence::Weekly, date!(2026 - 11 - 25));
        assert_eq!(
            (week.start, week.end),
            (date!(2026 - 11 - 23), date!(2026 - 11 - 29))
        );
        let month = Period::containing(Cadence::Monthly, date!(2024 - 02 - 10));
        assert_eq!(
            (month.start, month.end),
            (date!(2024 - 02 - 01), date!(2024 - 02 - 29))
        );
        assert_eq!(
            month.previous(Cadence::Monthly).start,
            date!(2024 - 01 - 01)
        );
        assert_eq!(month.label(Cadence::Monthly), "February 2024");
    }

    #[test]
    fn reporting_is_late_after_the_grace_days_and_stale_after_two_periods() {
        let start = date!(2026 - 01 - 01);
        let state = |last, today| {
            ReportingState::of(Phase::InDelivery, Cadence::Weekly, start, last, today)
        };
        // Week of Nov 16 (ends Nov 22) is due Nov 25.
        assert_eq!(
            state(Some(date!(2026 - 11 - 22)), date!(2026 - 11 - 27)),
            ReportingState::UpToDate
        );
        assert_eq!(
            state(Some(date!(2026 - 11 - 15)), date!(2026 - 11 - 25)),
            ReportingState::UpToDate
        );
        assert!(matches!(
            state(Some(date!(2026 - 11 - 15)), date!(2026 - 11 - 26)),
            ReportingState::Late { .. }
        ));
        assert!(state(Some(date!(2026 - 11 - 08)), date!(2026 - 11 - 26)).is_stale());
        assert!(state(None, date!(2026 - 11 - 26)).is_stale());
        // Within the grace days of the last week, the weeks before still count.
        assert!(state(Some(date!(2026 - 10 - 18)), date!(2026 - 11 - 25)).is_stale());
        assert!(matches!(
            state(Some(date!(2026 - 11 - 08)), date!(2026 - 11 - 25)),
            ReportingState::Late { .. }
        ));
        assert_eq!(
            ReportingState::of(
                Phase::Proposed,
                Cadence::Weekly,
                start,
                None,
                date!(2026 - 11 - 26)
            ),
            ReportingState::NotReporting
        );
    }
}

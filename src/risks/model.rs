//! Rating risks: a 5 x 5 scale of likelihood and impact, each level with its meaning, the
//! score (likelihood × impact), and the board's appetite.

use crate::text_enum::text_enum;

/// Likelihood levels 1..=5: name and meaning.
pub const LIKELIHOOD: [(&str, &str); 5] = [
    (
        "Rare",
        "May happen only in exceptional circumstances (under 5 % a year).",
    ),
    (
        "Unlikely",
        "Could happen, but not expected (5 to 20 % a year).",
    ),
    ("Possible", "Might happen (20 to 50 % a year)."),
    ("Likely", "Will probably happen (50 to 80 % a year)."),
    ("Almost certain", "Expected to happen (over 80 % a year)."),
];

/// Impact levels 1..=5: name and meaning.
pub const IMPACT: [(&str, &str); 5] = [
    (
        "Negligible",
        "No noticeable effect on service, money or reputation.",
    ),
    (
        "Minor",
        "Short disruption or a loss under 10,000; handled within the team.",
    ),
    (
        "Moderate",
        "A day's disruption or a loss up to 100,000; management attention.",
    ),
    (
        "Major",
        "Days of disruption, a loss up to 1 million, regulator interest.",
    ),
    (
        "Severe",
        "Lasting harm: weeks of disruption, losses over 1 million, sanctions.",
    ),
];

text_enum! {
    pub enum Treatment {
        Mitigate => ("mitigate", "Mitigate"),
        Transfer => ("transfer", "Transfer"),
        Avoid => ("avoid", "Avoid"),
        Accept => ("accept", "Accept"),
    }
}

text_enum! {
    pub enum RiskStatus {
        Open => ("open", "Open"),
        Treating => ("treating", "Treating"),
        Accepted => ("accepted", "Accepted"),
        Closed => ("closed", "Closed"),
    }
}

/// A rating on the scale: likelihood × impact, from 1 to 25.
pub fn score(likelihood: i16, impact: i16) -> i16 {
    likelihood * impact
}

/// Low (1–4), medium (5–9), high (10–16), critical (17–25): the colour of a cell.
pub fn band(score: i16) -> &'static str {
    match score {
        ..=4 => "low",
        5..=9 => "medium",
        10..=16 => "high",
        _ => "critical",
    }
}

/// Whether a residual score exceeds the category's appetite (none set: nothing exceeds).
pub fn above_appetite(residual_score: i16, appetite: Option<i16>) -> bool {
    appetite.is_some_and(|appetite| residual_score > appetite)
}

/// The last day of the quarter before the one `today` is in.
pub fn last_quarter_end(today: time::Date) -> time::Date {
    let quarter_first_month = (u8::from(today.month()) - 1) / 3 * 3 + 1;
    let quarter_start = time::Date::from_calendar_date(
        today.year(),
        time::Month::try_from(quarter_first_month).unwrap_or(time::Month::January),
        1,
    )
    .unwrap_or(today);
    quarter_start - time::Duration::days(1)
}

/// The moment a day ends (the start of the next day, UTC): "as it stood on that date".
pub fn end_of_day(day: time::Date) -> time::OffsetDateTime {
    match day.next_day() {
        Some(next) => next.midnight().assume_utc(),
        // The calendar's last day (year 9999): its last instant.
        None => day
            .with_hms_nano(23, 59, 59, 999_999_999)
            .unwrap_or(day.midnight())
            .assume_utc(),
    }
}

/// A 5 × 5 count of risks by (likelihood, impact).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeatMap {
    /// `cells[likelihood - 1][impact - 1]`
    pub cells: [[i64; 5]; 5],
}

impl HeatMap {
    pub fn add(&mut self, likelihood: i16, impact: i16, count: i64) {
        if (1..=5).contains(&likelihood) && (1..=5).contains(&impact) {
            self.cells[likelihood as usize - 1][impact as usize - 1] += count;
        }
    }

    pub fn total(&self) -> i64 {
        self.cells.iter().flatten().sum()
    }

    pub fn count(&self, likelihood: i16, impact: i16) -> i64 {
        self.cells[likelihood as usize - 1][impact as usize - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_bands_and_appetite() {
        assert_eq!(score(4, 5), 20);
        assert_eq!(band(score(1, 4)), "low");
        assert_eq!(band(score(3, 3)), "medium");
        assert_eq!(band(score(4, 4)), "high");
        assert_eq!(band(score(5, 4)), "critical");
        assert!(above_appetite(12, Some(10)));
        assert!(!above_appetite(10, Some(10)), "at appetite is tolerated");
        assert!(!above_appetite(25, None));
    }

    #[test]
    fn quarter_ends() {
        use time::macros::date;
        assert_eq!(
            last_quarter_end(date!(2026 - 11 - 25)),
            date!(2026 - 09 - 30)
        );
        assert_eq!(
            last_quarter_end(date!(2026 - 01 - 01)),
            date!(2025 - 12 - 31)
        );
        assert_eq!(
            last_quarter_end(date!(2026 - 06 - 30)),
            date!(2026 - 03 - 31)
        );
    }

    #[test]
    fn the_heat_map_counts_by_cell() {
        let mut map = HeatMap::default();
        map.add(5, 4, 2);
        map.add(1, 1, 1);
        map.add(6, 1, 9);
        assert_eq!(map.count(5, 4), 2);
        assert_eq!(map.total(), 3, "out-of-scale ratings are ignored");
    }
}

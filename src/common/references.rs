//! Human-readable references beside the internal ids: `OBJ-07`, `PRJ-0005`, `RSK-0042`,
//! `POL-0007`, `CTL-0003`, `REQ-2026-0021`, `DEC-2026-0013`. Every reference is numbered
//! here, and a number wider than its padding widens the reference (`RSK-10000` follows
//! `RSK-9999`) instead of being cut, as SQL's `lpad` would.

use sqlx::PgConnection;

/// A numbered series of references.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Objective,
    Project,
    Risk,
    Policy,
    Control,
    /// Requests to the board, numbered per year.
    Request {
        year: i32,
    },
    /// Decision records (resolutions and management decisions), numbered per year.
    Decision {
        year: i32,
    },
}

impl Series {
    fn prefix(self) -> &'static str {
        match self {
            Series::Objective => "OBJ",
            Series::Project => "PRJ",
            Series::Risk => "RSK",
            Series::Policy => "POL",
            Series::Control => "CTL",
            Series::Request { .. } => "REQ",
            Series::Decision { .. } => "DEC",
        }
    }

    /// The digits a number is padded to (it may use more).
    fn width(self) -> usize {
        match self {
            Series::Objective => 2,
            _ => 4,
        }
    }

    /// The reference of the `number`th record of this series.
    pub fn format(self, number: i64) -> String {
        let (prefix, width) = (self.prefix(), self.width());
        match self {
            Series::Request { year } | Series::Decision { year } => {
                format!("{prefix}-{year}-{number:0width$}")
            }
            _ => format!("{prefix}-{number:0width$}"),
        }
    }
}

/// Takes the next number of `series` (inside the caller's transaction for the per-year
/// counters, which lock their row until it ends) and returns its reference.
pub async fn next(conn: &mut PgConnection, series: Series) -> sqlx::Result<String> {
    let number: i64 = match series {
        Series::Request { year } | Series::Decision { year } => sqlx::query_scalar!(
            "INSERT INTO reference_counters (prefix, year, last) VALUES ($1, $2, 1)
                 ON CONFLICT (prefix, year) DO UPDATE SET last = reference_counters.last + 1
                 RETURNING last",
            series.prefix(),
            year
        )
        .fetch_one(conn)
        .await?
        .into(),
        Series::Objective => sequence_next(conn, "objective_reference_seq").await?,
        Series::Project => sequence_next(conn, "project_reference_seq").await?,
        Series::Risk => sequence_next(conn, "risk_reference_seq").await?,
        Series::Policy => sequence_next(conn, "policy_reference_seq").await?,
        Series::Control => sequence_next(conn, "control_reference_seq").await?,
    };
    Ok(series.format(number))
}

async fn sequence_next(conn: &mut PgConnection, sequence: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(r#"SELECT nextval($1::text::regclass) AS "n!""#, sequence)
        .fetch_one(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::Series;

    #[test]
    fn references_are_padded_and_widen_past_their_padding() {
        assert_eq!(Series::Objective.format(7), "OBJ-07");
        assert_eq!(Series::Objective.format(99), "OBJ-99");
        assert_eq!(Series::Objective.format(100), "OBJ-100");
        assert_eq!(Series::Risk.format(42), "RSK-0042");
        assert_eq!(Series::Risk.format(9_999), "RSK-9999");
        assert_eq!(Series::Risk.format(10_000), "RSK-10000");
        assert_eq!(Series::Control.format(123_456), "CTL-123456");
        assert_eq!(Series::Request { year: 2026 }.format(21), "REQ-2026-0021");
        assert_eq!(
            Series::Decision { year: 2026 }.format(10_001),
            "DEC-2026-10001"
        );
    }
}

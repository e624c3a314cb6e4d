//! The compliance vocabulary: how often a control runs, how far it is implemented, what
//! its last test found, and where a framework requirement stands.

use crate::text_enum::text_enum;

text_enum! {
    pub enum Frequency {
        Continuous => ("continuous", "Continuous"),
        Daily => ("daily", "Daily"),
        Weekly => ("weekly", "Weekly"),
        Monthly => ("monthly", "Monthly"),
        Quarterly => ("quarterly", "Quarterly"),
        Semiannual => ("semiannual", "Every six months"),
        Annual => ("annual", "Annual"),
    }
}

text_enum! {
    pub enum Implementation {
        NotStarted => ("not_started", "Not started"),
        Partial => ("partial", "Partially implemented"),
        Implemented => ("implemented", "Implemented"),
        NotApplicable => ("not_applicable", "Not applicable"),
    }
}

text_enum! {
    pub enum TestResult {
        Effective => ("effective", "Effective"),
        Ineffective => ("ineffective", "Ineffective"),
        NotTested => ("not_tested", "Not tested"),
    }
}

/// Where a framework requirement stands, from the controls mapped to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The Statement of Applicability excludes it.
    NotApplicable,
    NoControl,
    NotImplemented,
    /// Implemented, with no test result yet.
    Untested,
    /// Implemented and tested, but no mapped control was found effective.
    Ineffective,
    /// At least one implemented control tested effective.
    Covered,
}

impl Coverage {
    /// The standing of a requirement with `mapped` controls, of which `implemented` are
    /// implemented, `tested` have a test result and `effective` were found effective.
    pub fn of(
        applicable: Option<bool>,
        mapped: i64,
        implemented: i64,
        tested: i64,
        effective: i64,
    ) -> Self {
        if applicable == Some(false) {
            Coverage::NotApplicable
        } else if mapped == 0 {
            Coverage::NoControl
        } else if implemented == 0 {
            Coverage::NotImplemented
        } else if effective > 0 {
            Coverage::Covered
        } else if tested > 0 {
            Coverage::Ineffective
        } else {
            Coverage::Untested
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Coverage::NotApplicable => "Not applicable",
            Coverage::NoControl => "Gap: no control",
            Coverage::NotImplemented => "Gap: not implemented",
            Coverage::Untested => "Implemented, not tested",
            Coverage::Ineffective => "Gap: found ineffective",
            Coverage::Covered => "Covered",
        }
    }

    /// A gap the report lists: the requirement applies and no control covers it yet.
    pub fn is_gap(self) -> bool {
        !matches!(self, Coverage::NotApplicable | Coverage::Covered)
    }

    /// The badge class the pages use (`status-…`).
    pub fn tone(self) -> &'static str {
        match self {
            Coverage::Covered => "ok",
            Coverage::NotApplicable => "off",
            Coverage::Untested => "warn",
            Coverage::NoControl | Coverage::NotImplemented | Coverage::Ineffective => "bad",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_requirement_is_covered_only_by_an_implemented_control_tested_effective() {
        assert_eq!(Coverage::of(None, 0, 0, 0, 0), Coverage::NoControl);
        assert_eq!(
            Coverage::of(Some(true), 2, 0, 1, 0),
            Coverage::NotImplemented
        );
        assert_eq!(Coverage::of(None, 1, 1, 0, 0), Coverage::Untested);
        assert_eq!(Coverage::of(None, 2, 1, 2, 0), Coverage::Ineffective);
        assert_eq!(Coverage::of(None, 2, 1, 1, 1), Coverage::Covered);
        assert_eq!(
            Coverage::of(Some(false), 0, 0, 0, 0),
            Coverage::NotApplicable
        );
        assert!(!Coverage::NotApplicable.is_gap() && !Coverage::Covered.is_gap());
        assert!(Coverage::Untested.is_gap());
    }
}

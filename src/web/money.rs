//! Money in forms: integer minor units (cents) of the one configured currency, read from
//! what people type ("1,250,000", "1250000.50") and written back into inputs. How amounts
//! are shown is `common::format::format_minor`.

/// `1234567.89` (or with separators) → `123456789` cents. Refuses negatives, more than two
/// decimals and amounts beyond a trillion.
pub fn parse_minor(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{a0}' | '_' | '\''))
        .collect();
    if cleaned.is_empty() {
        return Err("Enter an amount.".to_owned());
    }
    if cleaned.starts_with('-') {
        return Err("The amount cannot be negative.".to_owned());
    }
    let (units, fraction) = match cleaned.split_once('.') {
        Some((units, fraction)) => (units, fraction),
        None => (cleaned.as_str(), ""),
    };
    let all_digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if units.is_empty() || !all_digits(units) || !all_digits(fraction) {
        return Err("Enter an amount such as 125000 or 125,000.50.".to_owned());
    }
    if fraction.len() > 2 {
        return Err("Use at most two decimals.".to_owned());
    }
    let units: i64 = units
        .parse()
        .ok()
        .filter(|units| *units <= 1_000_000_000_000)
        .ok_or_else(|| "The amount is too large.".to_owned())?;
    let fraction: i64 = format!("{fraction:0<2}").parse().unwrap_or(0);
    Ok(units * 100 + fraction)
}

/// For forms: cents back to what a person would type.
pub fn input_value(cents: i64) -> String {
    if cents % 100 == 0 {
        (cents / 100).to_string()
    } else {
        format!("{}.{:02}", cents / 100, cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_from_what_people_type() {
        assert_eq!(parse_minor("1,250,000"), Ok(125_000_000));
        assert_eq!(parse_minor(" 1250000.5 "), Ok(125_000_050));
        assert_eq!(parse_minor("0.07"), Ok(7));
        assert!(parse_minor("-5").is_err());
        assert!(parse_minor("12.345").is_err());
        assert!(parse_minor("ten").is_err());
        assert!(parse_minor("").is_err());
        assert!(parse_minor("99999999999999").is_err());
        assert_eq!(input_value(125_000_050), "1250000.50");
    }

    proptest::proptest! {
        /// Any text is an amount within bounds or a message, never a panic or an overflow.
        #[test]
        fn any_text_is_a_bounded_amount_or_a_message(text in "(?s).{0,40}|[-0-9., ']{0,30}") {
            if let Ok(cents) = parse_minor(&text) {
                proptest::prop_assert!((0..=100_000_000_000_000).contains(&cents));
            }
        }

        /// What a form writes back into an input reads as the same amount, and so does the
        /// amount as the pages show it.
        #[test]
        fn amounts_survive_the_round_trip(cents in 0i64..=100_000_000_000_000) {
            proptest::prop_assert_eq!(parse_minor(&input_value(cents)), Ok(cents));
            let shown = crate::common::format::format_minor(cents);
            proptest::prop_assert_eq!(parse_minor(&shown), Ok(cents));
        }
    }
}

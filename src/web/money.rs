//! Money: integer minor units (cents) of the one configured currency, shown with
//! thousands separators, read from what people type ("1,250,000", "1250000.50").

/// `123456789` cents → `1,234,567.89`.
pub fn format_minor(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let (units, fraction) = (abs / 100, abs % 100);
    let digits = units.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if fraction == 0 {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{fraction:02}")
    }
}

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
    fn amounts_format_with_separators() {
        assert_eq!(format_minor(0), "0");
        assert_eq!(format_minor(123_456_789), "1,234,567.89");
        assert_eq!(format_minor(100_000_000), "1,000,000");
        assert_eq!(format_minor(-250_000), "-2,500");
    }

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
}

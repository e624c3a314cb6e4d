//! How numbers and times are written on pages, in e-mails and in exports.

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

/// How times are shown everywhere: ISO date and minutes, in UTC, said so.
pub fn format_time(time: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| time.to_string())
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
}

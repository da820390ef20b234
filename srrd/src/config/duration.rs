//! Durations as written in the configuration: `"250ms"`, `"5s"`, `"2m"`,
//! `"1h"`, or several of those from the largest unit down (`"1m30s"`).
//! This is the one place that parses and formats them.

use std::time::Duration;

/// The longest duration srrd accepts: one year (8760h). Anything longer is
/// a typo, and keeping timers small keeps deadline arithmetic far from
/// overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(8760 * 3600);

const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("a duration cannot be negative")]
    Negative,
    #[error("expected a number followed by a unit (ms, s, m or h), e.g. \"5s\"")]
    Malformed,
    #[error("missing unit after {0} (use ms, s, m or h)")]
    MissingUnit(String),
    #[error("unknown unit `{0}` (use ms, s, m or h)")]
    UnknownUnit(String),
    #[error("fractions are not supported: use a smaller unit, e.g. \"1500ms\" for 1.5s")]
    Fraction,
    #[error("units must go from largest to smallest, each at most once (e.g. \"1m30s\")")]
    UnitOrder,
    #[error("duration too large (at most 8760h)")]
    TooLarge,
}

/// Parses `"250ms"`, `"5s"`, `"2m"`, `"1h"` or a sequence like `"1h30m"`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    if s.starts_with('-') {
        return Err(DurationError::Negative);
    }
    let mut rest = s;
    let mut total_ms: u64 = 0;
    let mut previous_unit_ms = u64::MAX;
    while !rest.is_empty() {
        let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits_len == 0 {
            return Err(DurationError::Malformed);
        }
        let (digits, after) = rest.split_at(digits_len);
        if after.starts_with('.') {
            return Err(DurationError::Fraction);
        }
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(match after.chars().next() {
                None => DurationError::MissingUnit(digits.to_string()),
                Some(_) => DurationError::Malformed,
            });
        }
        let unit_ms = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, ms)| ms)
            .ok_or_else(|| DurationError::UnknownUnit(unit.to_string()))?;
        if unit_ms >= previous_unit_ms {
            return Err(DurationError::UnitOrder);
        }
        previous_unit_ms = unit_ms;
        let value: u64 = digits.parse().map_err(|_| DurationError::TooLarge)?;
        total_ms = value
            .checked_mul(unit_ms)
            .and_then(|ms| ms.checked_add(total_ms))
            .ok_or(DurationError::TooLarge)?;
        rest = after;
    }
    let duration = Duration::from_millis(total_ms);
    if duration > MAX_DURATION {
        return Err(DurationError::TooLarge);
    }
    Ok(duration)
}

/// The shortest text [`parse_duration`] reads back as `d` (to the
/// millisecond; finer parts are dropped): `"0s"`, `"250ms"`, `"1m30s"`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return String::from("0s");
    }
    let mut out = String::new();
    for (name, unit_ms) in UNITS {
        let count = ms / unit_ms;
        if count > 0 {
            out.push_str(&format!("{count}{name}"));
            ms -= count * unit_ms;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn accepts_each_unit_and_sequences() {
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("5s"), Ok(ms(5_000)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
        assert_eq!(parse_duration("1m30s"), Ok(ms(90_000)));
        assert_eq!(parse_duration("1h2m3s4ms"), Ok(ms(3_723_004)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(" 5s "), Ok(ms(5_000)));
        assert_eq!(parse_duration("8760h"), Ok(MAX_DURATION));
    }

    #[test]
    fn rejects_garbage() {
        use DurationError::*;
        assert_eq!(parse_duration(""), Err(Empty));
        assert_eq!(parse_duration("   "), Err(Empty));
        assert_eq!(parse_duration("-5s"), Err(Negative));
        assert_eq!(parse_duration("5"), Err(MissingUnit("5".into())));
        assert_eq!(parse_duration("5 s"), Err(Malformed));
        assert_eq!(parse_duration("s"), Err(Malformed));
        assert_eq!(parse_duration("+5s"), Err(Malformed));
        assert_eq!(parse_duration("5sec"), Err(UnknownUnit("sec".into())));
        assert_eq!(parse_duration("5d"), Err(UnknownUnit("d".into())));
        assert_eq!(parse_duration("1.5s"), Err(Fraction));
        assert_eq!(parse_duration("30s1m"), Err(UnitOrder));
        assert_eq!(parse_duration("1s1s"), Err(UnitOrder));
        assert_eq!(parse_duration("5s!"), Err(Malformed));
        assert_eq!(parse_duration("٣s"), Err(Malformed));
    }

    #[test]
    fn rejects_overflow() {
        assert_eq!(parse_duration("8761h"), Err(DurationError::TooLarge));
        assert_eq!(
            parse_duration("99999999999999999999999ms"),
            Err(DurationError::TooLarge)
        );
        assert_eq!(
            parse_duration("18446744073709551615h"),
            Err(DurationError::TooLarge)
        );
        assert_eq!(
            parse_duration("8760h18446744073709551615ms"),
            Err(DurationError::TooLarge)
        );
    }

    #[test]
    fn formats_shortest() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(ms(20)), "20ms");
        assert_eq!(format_duration(ms(10_000)), "10s");
        assert_eq!(format_duration(ms(90_000)), "1m30s");
        assert_eq!(format_duration(ms(3_600_000)), "1h");
        assert_eq!(format_duration(Duration::from_micros(1500)), "1ms");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(n in 0u64..=MAX_DURATION.as_millis() as u64) {
            prop_assert_eq!(parse_duration(&format_duration(ms(n))), Ok(ms(n)));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = parse_duration(&s);
        }
    }
}

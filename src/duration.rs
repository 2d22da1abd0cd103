//! Human durations on the command line: `90s`, `30m`, `1h30m`, `2d`, or a bare number of seconds.

use crate::error::{Error, Result};

/// The rule shown when a duration is refused.
pub const DURATION_RULE: &str = "a duration is a whole number of seconds or units s, m, h, d combined largest first (e.g. 90s, 30m, 1h30m, 2d)";

/// Parses a duration into seconds. `field` names the option in the error.
pub fn parse_secs(field: &str, text: &str) -> Result<u64> {
    let bad = || Error::invalid(field, text, DURATION_RULE);
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| bad());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut last_rank = usize::MAX;
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let (rank, unit) = match c.to_ascii_lowercase() {
            'd' => (3, 86_400),
            'h' => (2, 3600),
            'm' => (1, 60),
            's' => (0, 1),
            _ => return Err(bad()),
        };
        if number.is_empty() || rank >= last_rank {
            return Err(bad());
        }
        last_rank = rank;
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// Parses a duration and checks it lies in `min..=max` seconds.
pub fn parse_secs_in(field: &str, text: &str, min: u64, max: u64) -> Result<u64> {
    let v = parse_secs(field, text)?;
    if v < min || v > max {
        return Err(Error::invalid(field, text, format!("must be {}", range_rule(min, max))));
    }
    Ok(v)
}

/// The words of a range refusal: `between 1s and 7d`.
pub fn range_rule(min: u64, max: u64) -> String {
    format!("between {} and {}", crate::render::secs(min), crate::render::secs(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts() {
        for (s, v) in [
            ("90", 90),
            ("90s", 90),
            ("30m", 1800),
            ("1h30m", 5400),
            ("2d", 172_800),
            ("1d2h3m4s", 93_784),
            ("1H", 3600),
        ] {
            assert_eq!(parse_secs("timeout", s).unwrap(), v, "{s}");
        }
    }

    #[test]
    fn rejects() {
        for s in
            ["", "m", "10x", "1m1h", "1h1h", "-5", "5 m", "1.5h", "99999999999999999999d", "10m5"]
        {
            let e = parse_secs("--timeout", s).unwrap_err();
            assert!(e.to_string().contains("--timeout"), "{s}: {e}");
        }
        assert!(parse_secs_in("--retry-delay", "3d", 0, 86_400).is_err());
    }
}

#[cfg(test)]
mod fuzz;

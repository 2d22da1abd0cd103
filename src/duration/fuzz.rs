//! Property-based fuzzing of durations (issue 12): render → parse is the identity, and the
//! parser never panics nor overflows.

use proptest::prelude::*;

use super::{parse_secs, parse_secs_in};

/// Cases per property (issue 12 asks for at least 10,000).
const CASES: u32 = 10_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    /// What orc prints for a duration (`render::secs`) reads back as the same duration.
    #[test]
    fn render_then_parse_is_identity(secs in prop_oneof![0u64..1_000_000, any::<u64>()]) {
        let text = crate::render::secs(secs);
        prop_assert_eq!(parse_secs("--timeout", &text).ok(), Some(secs), "{}", text);
    }

    /// Any text: no panic; an accepted value equals the sum of its parts, computed in u128.
    #[test]
    fn any_text_is_accepted_exactly_or_refused(text in "[0-9dhmsDHMS +-]{0,30}") {
        match parse_secs("--x", &text) {
            Ok(v) => prop_assert_eq!(Some(u128::from(v)), reference(&text), "{}", text),
            Err(e) => {
                prop_assert_eq!(e.exit_code(), 2);
                prop_assert!(reference(&text).is_none_or(|r| r > u128::from(u64::MAX)), "{}", text);
            }
        }
    }

    /// Range checks agree with the plain parser.
    #[test]
    fn range_check_agrees(text in "[0-9]{1,6}[smhd]?", min in 0u64..100, max in 0u64..200_000) {
        let plain = parse_secs("--x", &text).unwrap();
        let ranged = parse_secs_in("--x", &text, min, max);
        prop_assert_eq!(ranged.is_ok(), plain >= min && plain <= max);
    }
}

/// An independent reading of the grammar: a bare number, or number+unit pairs with units
/// strictly decreasing (d > h > m > s). `None` when the text is not a duration.
fn reference(text: &str) -> Option<u128> {
    let s = text.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<u128>().ok().filter(|v| *v <= u128::from(u64::MAX));
    }
    let mut total: u128 = 0;
    let mut rank = 4;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits == rest.len() {
            return None;
        }
        let n: u128 = rest[..digits].parse().ok()?;
        let (r, unit) = match rest.as_bytes()[digits].to_ascii_lowercase() {
            b'd' => (3, 86_400),
            b'h' => (2, 3600),
            b'm' => (1, 60),
            b's' => (0, 1),
            _ => return None,
        };
        if r >= rank {
            return None;
        }
        rank = r;
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = &rest[digits + 1..];
    }
    Some(total)
}

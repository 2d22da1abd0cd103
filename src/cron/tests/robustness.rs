//! Robustness: arbitrary input never panics, every path stays bounded in time.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::{at, day, expr, generate};
use crate::cron::{CronError, CronExpr, trigger, xml};

/// Exercises everything a parsed expression offers; must not panic.
fn exercise(e: &CronExpr) {
    let t = at("2027-06-15 12:34:56");
    let _ = (e.matches(t), e.next_after(t), e.prev_at_or_before(t), e.never_fires());
    assert!(!e.describe().is_empty());
    let plan = trigger::plan(e);
    assert!(plan.triggers.len() <= trigger::MAX_TRIGGERS);
    assert!(xml::triggers_fragment(&plan, day("2027-01-01")).starts_with("<Triggers"));
}

proptest! {
    #![proptest_config(super::proptest_cases(2000))]

    #[test]
    fn random_strings_never_panic(text in ".{0,300}") {
        if let Ok(e) = CronExpr::parse(&text) {
            exercise(&e);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(e) = CronExpr::parse(&String::from_utf8_lossy(&bytes)) {
            exercise(&e);
        }
    }

    /// Strings over the cron alphabet reach deep into the parser.
    #[test]
    fn cron_alphabet_never_panics(text in "[0-9*/,\\- \t?#LWHlwh~@a-zA-Z]{0,60}") {
        match CronExpr::parse(&text) {
            Ok(e) => exercise(&e),
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    /// Valid expressions round-trip through their source text and describe themselves.
    #[test]
    fn valid_expressions_work_everywhere(text in generate::expression()) {
        let e = CronExpr::parse(&text).map_err(|err| TestCaseError::fail(err.to_string()))?;
        let again = CronExpr::parse(e.source());
        prop_assert_eq!(again.as_ref(), Ok(&e));
        exercise(&e);
    }
}

#[test]
fn a_ten_thousand_character_string_is_rejected_quickly() {
    let text = "1,".repeat(5000);
    let started = Instant::now();
    let result = CronExpr::parse(&text);
    assert!(started.elapsed() < Duration::from_millis(5));
    assert_eq!(result, Err(CronError::TooLong { len: 10_000 }));
    assert!(result.unwrap_err().to_string().len() < 100);
}

#[test]
fn never_firing_searches_are_bounded() {
    for text in ["0 0 31 2 *", "0 0 30 2 *", "59 23 31 4,6,9,11 *"] {
        let e = expr(text);
        let started = Instant::now();
        assert_eq!(e.next_after(at("2024-01-01 00:00")), None, "{text}");
        assert_eq!(e.prev_at_or_before(at("2024-01-01 00:00")), None, "{text}");
        assert!(started.elapsed() < Duration::from_millis(50), "{text}");
    }
}

#[test]
fn worst_case_searches_are_fast() {
    // The rarest firing dates: Feb 29 on a Sunday (38 years ahead from 2090), and a full
    // 256-character expression.
    let longest = format!(
        "{} {} */2 jan-dec/1 *",
        (0..60).step_by(3).map(|m| m.to_string()).collect::<Vec<_>>().join(","),
        (0..24).map(|h| h.to_string()).collect::<Vec<_>>().join(",")
    );
    assert!(longest.len() <= CronExpr::MAX_LEN, "{}", longest.len());
    let started = Instant::now();
    let parsed = expr(&longest);
    let rare = expr("0 0 29 2 */7");
    assert_eq!(rare.next_after(at("2090-01-01 00:00")), Some(at("2128-02-29 00:00")));
    assert_eq!(rare.prev_at_or_before(at("2127-12-31 00:00")), Some(at("2088-02-29 00:00")));
    let _ = (parsed.next_after(at("2090-01-01 00:00")), trigger::plan(&parsed));
    assert!(started.elapsed() < Duration::from_millis(50), "{:?}", started.elapsed());
}

/// Cases of the parse/validate agreement fuzz (issue 12 asks for at least 10,000).
const AGREEMENT_CASES: u32 = 10_000;

proptest! {
    #![proptest_config(super::proptest_cases(AGREEMENT_CASES))]

    /// The task validator (`--schedule`) accepts exactly what the parser accepts and can
    /// fire, and a refusal is exit 2 naming `--schedule`; never a panic.
    #[test]
    fn validator_agrees_with_the_parser(text in "[0-9*/,\\- ?#LW@a-z]{0,24}") {
        let parsed = CronExpr::parse(&text);
        let checked = crate::task::validate::check_schedule(&text);
        match (&parsed, &checked) {
            (Ok(e), Ok(())) => prop_assert!(!e.never_fires()),
            (Ok(e), Err(err)) => {
                prop_assert!(e.never_fires(), "{text:?}: {err}");
                prop_assert_eq!(err.exit_code(), 2);
            }
            (Err(_), Ok(())) => prop_assert!(false, "{:?} validated but does not parse", text),
            (Err(_), Err(err)) => {
                prop_assert_eq!(err.exit_code(), 2);
                prop_assert!(err.to_string().contains("--schedule"), "{err}");
            }
        }
    }
}

//! Tests for the cron engine: cronie rule table, descriptions, differential test against
//! croner, trigger simulation, snapshots, DST and robustness.

mod describe;
mod differential;
mod dst;
mod first_window;
mod generate;
mod robustness;
mod rules;
mod simulator;
mod snapshots;
mod triggers;

use chrono::{NaiveDate, NaiveDateTime};

use super::CronExpr;

/// Parses or fails the test with the error text.
pub(super) fn expr(text: &str) -> CronExpr {
    CronExpr::parse(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

/// `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS`.
pub(super) fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
        .unwrap_or_else(|e| panic!("bad test time {text:?}: {e}"))
}

/// `YYYY-MM-DD`.
pub(super) fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad date {text}: {e}"))
}

/// The next `count` slots after `from`, formatted `YYYY-MM-DD HH:MM`.
pub(super) fn next_slots(e: &CronExpr, from: &str, count: usize) -> Vec<String> {
    let mut cursor = at(from);
    let mut out = Vec::new();
    for _ in 0..count {
        let Some(next) = e.next_after(cursor) else { break };
        out.push(next.format("%Y-%m-%d %H:%M").to_string());
        cursor = next;
    }
    out
}

/// Asserts each `(expression, from, slots)`: the next `slots.len()` slots after `from` are
/// `slots` (formatted as by [`next_slots`]).
pub(super) fn assert_next_slots(cases: &[(&str, &str, &[&str])]) {
    for (text, from, slots) in cases {
        assert_eq!(next_slots(&expr(text), from, slots.len()), *slots, "{text:?} after {from}");
    }
}

/// The proptest settings of the cron engine's properties: `cases` cases, and no failure file
/// (a failing case is printed; the regressions worth keeping become named tests).
pub(super) fn proptest_cases(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    }
}

/// Set bits of a bitset, ascending.
pub(super) fn bits(value: u64) -> Vec<u32> {
    (0..64).filter(|b| value & (1 << b) != 0).collect()
}

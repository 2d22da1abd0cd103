//! Differential test against croner 4.0.3 (docs/design/cron-mapping.md §0): orc hands croner each field as an
//! explicit list and sets `dom_and_dow` when a day field starts with `*`, which makes croner
//! follow cronie exactly. Then `next_after`, `prev_at_or_before` and `matches` must agree on
//! naive times (no time zone, so DST cannot interfere).

use chrono::{Duration, NaiveDate, NaiveDateTime};
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use proptest::prelude::*;

use super::{at, bits, generate};
use crate::cron::CronExpr;

/// The normalised list form of a parsed expression.
fn normalised(e: &CronExpr) -> String {
    let list = |values: Vec<u32>| values.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    [
        list(bits(e.minutes)),
        list(bits(u64::from(e.hours))),
        list(bits(u64::from(e.dom))),
        list(bits(u64::from(e.months))),
        list(bits(u64::from(e.dow))),
    ]
    .join(" ")
}

/// croner configured for 5-field patterns and cronie's day rule for this expression.
fn oracle(e: &CronExpr) -> Cron {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .dom_and_dow(e.days_are_anded())
        .build()
        .parse(&normalised(e))
        .unwrap_or_else(|err| panic!("croner rejected {:?}: {err}", normalised(e)))
}

/// A start time between 1990 and 2150, with seconds.
fn start_time() -> impl Strategy<Value = NaiveDateTime> {
    (0i64..160 * 366, 0i64..86_400).prop_map(|(days, seconds)| {
        let base = NaiveDate::from_ymd_opt(1990, 1, 1)
            .unwrap_or_default()
            .and_time(chrono::NaiveTime::MIN);
        base + Duration::days(days) + Duration::seconds(seconds)
    })
}

/// Compares 20 successive `next_after` results, 5 `prev_at_or_before` results and `matches`
/// around each of them.
fn compare(e: &CronExpr, cron: &Cron, start: NaiveDateTime) -> Result<(), TestCaseError> {
    let mut cursor = start;
    for _ in 0..20 {
        let ours = e.next_after(cursor);
        let theirs = cron.find_next_occurrence(&cursor, false).ok();
        prop_assert_eq!(ours, theirs, "next after {} for {:?}", cursor, e.source());
        let Some(next) = ours else { break };
        prop_assert!(e.matches(next));
        let before = next - Duration::minutes(1);
        prop_assert_eq!(e.matches(before), cron.is_time_matching(&before).unwrap_or(false));
        cursor = next;
    }
    let mut cursor = start;
    for _ in 0..5 {
        let ours = e.prev_at_or_before(cursor);
        let theirs = cron.find_previous_occurrence(&cursor, true).ok();
        prop_assert_eq!(ours, theirs, "prev at or before {} for {:?}", cursor, e.source());
        let Some(previous) = ours else { break };
        cursor = previous - Duration::seconds(1);
    }
    // croner also tests the seconds; orc matches at minute resolution.
    let minute = crate::cron::schedule::floor_minute(start);
    prop_assert_eq!(e.matches(start), cron.is_time_matching(&minute).unwrap_or(false));
    Ok(())
}

proptest! {
    #![proptest_config(super::proptest_cases(3000))]

    /// Thousands of random valid expressions × 3 start points × (20 next + 5 previous).
    #[test]
    fn agrees_with_croner(
        text in generate::expression(),
        starts in prop::collection::vec(start_time(), 3),
    ) {
        let e = CronExpr::parse(&text).map_err(|err| TestCaseError::fail(err.to_string()))?;
        prop_assume!(!e.never_fires());
        let cron = oracle(&e);
        for start in starts {
            compare(&e, &cron, start)?;
        }
    }
}

#[test]
fn agrees_with_croner_on_the_famous_cases() {
    let cases = [
        "0 0 1,15 * 1",
        "0 0 */2 * 1",
        "0 0 1-31 * 4",
        "0 12 *,10 * 2",
        "0 12 10,* * 2",
        "0 0 29 2 */7",
        "0 0 29 2 1",
        "*/7 * * * *",
        "0 0 * * 5-0",
        "0-59/70 * * * *",
        "@weekly",
        "@yearly",
    ];
    for text in cases {
        let e = super::expr(text);
        let cron = oracle(&e);
        for start in ["2024-01-01 00:00", "2090-03-01 12:34:56", "2099-12-31 23:59:59"] {
            if let Err(failure) = compare(&e, &cron, at(start)) {
                panic!("{text} from {start}: {failure}");
            }
        }
    }
}

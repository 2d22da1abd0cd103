//! End-to-end check of the Windows mapping: plan → XML → trigger simulator → minutes, compared
//! with the expression's own fire times over two years (2027–2028, one leap year).

use chrono::NaiveDate;
use proptest::prelude::*;

use super::{day, generate};
use crate::cron::trigger::{self, MAX_TRIGGERS};
use crate::cron::trigger_sim::{self, MinuteSet};
use crate::cron::{CronExpr, xml};

/// First simulated day, also the `StartBoundary` date.
fn first_day() -> NaiveDate {
    day("2027-01-01")
}

/// Last simulated day.
fn last_day() -> NaiveDate {
    day("2028-12-31")
}

/// The expression's fire minutes over the range, from its day rule and time sets.
fn expected_minutes(e: &CronExpr) -> MinuteSet {
    let mut set = MinuteSet::new(first_day(), last_day());
    let times: Vec<usize> = (0..1440u32)
        .filter(|t| e.hours & (1 << (t / 60)) != 0 && e.minutes & (1 << (t % 60)) != 0)
        .map(|t| t as usize)
        .collect();
    let last = last_day();
    for (index, date) in first_day().iter_days().take_while(|d| *d <= last).enumerate() {
        if e.day_matches(date) {
            for t in &times {
                set.insert_index(index * 1440 + t);
            }
        }
    }
    set
}

/// Checks one expression; returns the plan's trigger count and exactness.
fn check(text: &str) -> Result<(usize, bool), TestCaseError> {
    let e = CronExpr::parse(text).map_err(|err| TestCaseError::fail(err.to_string()))?;
    let plan = trigger::plan(&e);
    prop_assert!(!plan.triggers.is_empty(), "{text}: no triggers");
    prop_assert!(plan.triggers.len() <= MAX_TRIGGERS, "{text}: {} triggers", plan.triggers.len());
    let fragment = xml::triggers_fragment(&plan, first_day());
    let parsed = trigger_sim::parse_triggers(&fragment).map_err(TestCaseError::fail)?;
    prop_assert_eq!(parsed.len(), plan.triggers.len());
    let simulation = trigger_sim::simulate_parsed(&parsed, first_day(), last_day());
    let union = simulation.minutes;
    let expected = expected_minutes(&e);
    let missing = expected.missing_from(&union, 5);
    prop_assert!(missing.is_empty(), "{text}: triggers miss {missing:?}\n{fragment}");
    if plan.exact {
        let extra = union.missing_from(&expected, 5);
        prop_assert!(extra.is_empty(), "{text}: exact plan has extra starts {extra:?}\n{fragment}");
    } else {
        prop_assert!(!plan.notes.is_empty(), "{text}: an inexact plan must explain itself");
    }
    if !plan.may_duplicate {
        prop_assert_eq!(
            simulation.starts,
            union.len(),
            "{}: duplicate starts without may_duplicate",
            text
        );
    }
    Ok((plan.triggers.len(), plan.exact))
}

proptest! {
    #![proptest_config(super::proptest_cases(2000))]

    /// Random expressions of every syntactic form.
    #[test]
    fn triggers_fire_exactly_on_the_schedule(text in generate::expression()) {
        check(&text)?;
    }

    /// Scattered minutes × hours: many need more than 48 triggers and get a superset.
    #[test]
    fn dense_schedules_stay_within_the_trigger_limit(text in generate::dense_expression()) {
        check(&text)?;
    }
}

#[test]
fn cron_md_table_is_reproduced() {
    let cases = [
        ("0 9-17 * * 1-5", 1, true),
        ("*/15 8-18 * * MON-FRI", 1, true),
        ("0 0 1,15 * *", 1, true),
        ("30 2 * * 0", 1, true),
        ("0 0 1,15 * 1", 2, true),
        ("*/7 * * * *", 9, true),
        ("5,20,35,50 */3 * * *", 4, true),
        ("1,2,4,8,16,32 1,2,4,8,16 * * *", 14, true),
        ("0 12 */2 * 0,6", 1, false),
    ];
    for (text, count, exact) in cases {
        match check(text) {
            Ok(got) => assert_eq!(got, (count, exact), "{text}"),
            Err(failure) => panic!("{text}: {failure}"),
        }
    }
}

#[test]
fn over_the_limit_plans_are_supersets_with_notes() {
    let cases = [
        "0,1,3,7,12,20,26,30,31,33,37,42,44,47,50,52,55,58,59 0,1,3,4,7,9,12,13,15,17,19,22 * * *",
        "3,7,11,19,23,29,31,37,41,43,47,53,59 0,1,2,3,5,7,11,13,17,19,23 1,15 * 1",
        "0,1,3,7,12,20,26,30,31,33,37,42,44,47,50,52,55,58,59 0,1,3,4,7,9,12,13,15,17,19,22 */2 * \
         1-5",
    ];
    for text in cases {
        let e = super::expr(text);
        let plan = trigger::plan(&e);
        assert!(!plan.exact, "{text}");
        assert!(
            plan.notes.iter().any(|n| n.contains("more than Task Scheduler's limit")),
            "{text}"
        );
        if let Err(failure) = check(text) {
            panic!("{text}: {failure}");
        }
    }
}

#[test]
fn simulator_understands_a_whole_task_document() {
    let document = r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <Triggers>
    <CalendarTrigger>
      <StartBoundary>2027-01-01T09:00:00</StartBoundary>
      <Repetition><Interval>PT1M</Interval><Duration>PT4M</Duration></Repetition>
      <ScheduleByMonth>
        <DaysOfMonth><Day>Last</Day></DaysOfMonth>
        <Months><February/></Months>
      </ScheduleByMonth>
    </CalendarTrigger>
    <CalendarTrigger>
      <Enabled>false</Enabled>
      <StartBoundary>2027-01-01T10:00:00</StartBoundary>
      <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>
    </CalendarTrigger>
    <CalendarTrigger>
      <StartBoundary>2027-01-01T08:00:00</StartBoundary>
      <ScheduleByMonthDayOfWeek>
        <Weeks><Week>2</Week><Week>Last</Week></Weeks>
        <DaysOfWeek><Tuesday/></DaysOfWeek>
        <Months><March/></Months>
      </ScheduleByMonthDayOfWeek>
    </CalendarTrigger>
  </Triggers>
  <Actions Context="Author"><Exec><Command>orc.exe</Command></Exec></Actions>
</Task>"#;
    let minutes = trigger_sim::simulate_minutes(document, day("2027-01-01"), day("2027-12-31"))
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<String> = minutes.iter().map(|t| t.format("%m-%d %H:%M").to_string()).collect();
    // Feb 28 (end-inclusive repetition: 5 starts), 2nd and last Tuesday of March 2027.
    assert_eq!(
        got,
        [
            "02-28 09:00",
            "02-28 09:01",
            "02-28 09:02",
            "02-28 09:03",
            "02-28 09:04",
            "03-09 08:00",
            "03-30 08:00",
        ]
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(document.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let decoded = trigger_sim::decode_task_bytes(&utf16).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decoded, document);
}

#[test]
fn simulator_refuses_what_it_cannot_model() {
    let fragments = [
        "<Triggers><BootTrigger/></Triggers>",
        "<Triggers><CalendarTrigger><StartBoundary>2027-01-01T00:00:00Z</StartBoundary>\
         <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger></Triggers>",
        "<Triggers><CalendarTrigger><StartBoundary>2027-01-01T00:00:00</StartBoundary>\
         <RandomDelay>PT1H</RandomDelay><ScheduleByDay><DaysInterval>1</DaysInterval>\
         </ScheduleByDay></CalendarTrigger></Triggers>",
        "<Triggers><CalendarTrigger><StartBoundary>2027-01-01T00:00:00</StartBoundary>\
         <Repetition><Interval>P1M</Interval></Repetition>\
         <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger></Triggers>",
        "<Task/>",
    ];
    for fragment in fragments {
        assert!(
            trigger_sim::simulate(fragment, day("2027-01-01"), day("2027-01-31")).is_err(),
            "{fragment}"
        );
    }
}

#[test]
fn simulator_handles_indefinite_repetition_and_time_triggers() {
    let fragment = "<Triggers><TimeTrigger><StartBoundary>2026-12-31T23:00:00</StartBoundary>\
                    <Repetition><Interval>PT7H</Interval></Repetition></TimeTrigger></Triggers>";
    let minutes = trigger_sim::simulate_minutes(fragment, day("2027-01-01"), day("2027-01-02"))
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<String> = minutes.iter().map(|t| t.format("%d %H:%M").to_string()).collect();
    assert_eq!(got, ["01 06:00", "01 13:00", "01 20:00", "02 03:00", "02 10:00", "02 17:00"]);
}

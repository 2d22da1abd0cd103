//! Day selectors, progressions and the XML shape.

use chrono::NaiveTime;

use super::{day, expr};
use crate::cron::trigger::{self, ALL_WEEKS, DaySelector, Repetition, Trigger, WEEK_LAST};
use crate::cron::xml;

/// Days of month as bits.
fn dom(days: &[u32]) -> u32 {
    days.iter().fold(0, |bits, d| bits | 1 << d)
}

/// Weekdays as bits (Sunday = 0).
fn dow(days: &[u32]) -> u8 {
    days.iter().fold(0, |bits, d| bits | 1 << d)
}

/// Months as bits.
fn months(list: &[u32]) -> u16 {
    list.iter().fold(0, |bits, m| bits | 1 << m)
}

/// The distinct day selectors of a plan, in order.
fn selectors(text: &str) -> Vec<DaySelector> {
    let mut out: Vec<DaySelector> = Vec::new();
    for t in trigger::plan(&expr(text)).triggers {
        if !out.contains(&t.days) {
            out.push(t.days);
        }
    }
    out
}

#[test]
fn day_selectors_follow_the_and_or_rules() {
    let all_months = months(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let cases: Vec<(&str, Vec<DaySelector>)> = vec![
        ("0 0 * * *", vec![DaySelector::Daily]),
        (
            "0 0 * 1,7 *",
            vec![DaySelector::Monthly { days: crate::cron::ALL_DOM, months: months(&[1, 7]) }],
        ),
        ("0 0 * * 1-5", vec![DaySelector::Weekly { days: dow(&[1, 2, 3, 4, 5]) }]),
        (
            "0 0 * 6 1-5",
            vec![DaySelector::MonthlyDayOfWeek {
                weeks: ALL_WEEKS,
                days: dow(&[1, 2, 3, 4, 5]),
                months: months(&[6]),
            }],
        ),
        ("0 0 1,15 * *", vec![DaySelector::Monthly { days: dom(&[1, 15]), months: all_months }]),
        // OR: two selectors.
        (
            "0 0 1,15 * 1",
            vec![
                DaySelector::Monthly { days: dom(&[1, 15]), months: all_months },
                DaySelector::Weekly { days: dow(&[1]) },
            ],
        ),
        // OR with a full side: every day.
        ("0 0 1-31 * 4", vec![DaySelector::Daily]),
        (
            "0 0 13 2 0-6",
            vec![DaySelector::Monthly { days: crate::cron::ALL_DOM, months: months(&[2]) }],
        ),
        // AND with whole week blocks: the first Monday, the 2nd–3rd Fridays.
        (
            "0 0 1-7 * *,1",
            vec![DaySelector::Monthly { days: dom(&[1, 2, 3, 4, 5, 6, 7]), months: all_months }],
        ),
        ("0 0 */1 * 1", vec![DaySelector::Weekly { days: dow(&[1]) }]),
        (
            "0 0 8-21 * */5",
            vec![DaySelector::MonthlyDayOfWeek {
                weeks: 0b0000_1100,
                days: dow(&[0, 5]),
                months: all_months,
            }],
        ),
        // AND, not expressible: the smaller superset.
        ("0 12 */2 * 0,6", vec![DaySelector::Weekly { days: dow(&[0, 6]) }]),
        (
            "0 12 */15 * 1-5",
            vec![DaySelector::Monthly { days: dom(&[1, 16, 31]), months: all_months }],
        ),
    ];
    for (text, want) in cases {
        assert_eq!(selectors(text), want, "{text}");
    }
    assert_eq!(WEEK_LAST, 1 << 5);
}

#[test]
fn first_monday_uses_the_week_block() {
    // DOM 1-7 with DOW_STAR and a restricted weekday: `*/7` is Sunday.
    assert_eq!(
        selectors("0 0 1-7 * */7"),
        [DaySelector::MonthlyDayOfWeek {
            weeks: 0b0000_0010,
            days: dow(&[0]),
            months: months(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
        }]
    );
    assert!(trigger::plan(&expr("0 0 1-7 * */7")).exact);
}

#[test]
fn progressions_and_repetition() {
    let plan = trigger::plan(&expr("*/15 8-18 * * MON-FRI"));
    assert_eq!(
        plan.triggers,
        [Trigger {
            start: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            repetition: Some(Repetition {
                interval_minutes: 15,
                duration_seconds: 10 * 3600 + 52 * 60 + 30
            }),
            days: DaySelector::Weekly { days: dow(&[1, 2, 3, 4, 5]) },
        }]
    );
    let seven = trigger::plan(&expr("*/7 * * * *"));
    let starts: Vec<String> =
        seven.triggers.iter().map(|t| t.start.format("%H:%M").to_string()).collect();
    assert_eq!(
        starts,
        ["00:00", "00:07", "00:14", "00:21", "00:28", "00:35", "00:42", "00:49", "00:56"]
    );
    assert!(seven.triggers.iter().all(|t| t.repetition
        == Some(Repetition { interval_minutes: 60, duration_seconds: 23 * 3600 + 1800 })));
    let single = trigger::plan(&expr("30 2 * * 0"));
    assert_eq!(single.triggers[0].repetition, None);
    // Never across midnight: 23:00, 00:00 and 01:00 are two progressions, not one.
    assert_eq!(trigger::plan(&expr("0 23,0,1 * * *")).triggers.len(), 2);
}

#[test]
fn plan_notes_explain_duplicates_and_supersets() {
    let or = trigger::plan(&expr("0 0 1,15 * 1"));
    assert!(or.exact && or.may_duplicate);
    assert!(or.notes.iter().any(|n| n.contains("ORed")), "{:?}", or.notes);
    let and = trigger::plan(&expr("0 12 */2 * 0,6"));
    assert!(!and.exact && !and.may_duplicate);
    assert!(and.notes.iter().any(|n| n.contains("skips the days")), "{:?}", and.notes);
    let never = trigger::plan(&expr("0 0 31 2 *"));
    assert!(never.notes.iter().any(|n| n.contains("never fires")), "{:?}", never.notes);
    assert!(trigger::plan(&expr("0 9 * * 1-5")).notes.is_empty());
}

#[test]
fn xml_has_the_documented_shape() {
    let plan = trigger::plan(&expr("0 9-17 * * 1-5"));
    let fragment = xml::triggers_fragment(&plan, day("2027-01-01"));
    assert_eq!(
        fragment,
        "<Triggers xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">
  <CalendarTrigger>
    <StartBoundary>2027-01-01T09:00:00</StartBoundary>
    <Repetition>
      <Interval>PT1H</Interval>
      <Duration>PT8H30M</Duration>
    </Repetition>
    <ScheduleByWeek>
      <WeeksInterval>1</WeeksInterval>
      <DaysOfWeek>
        <Monday/>
        <Tuesday/>
        <Wednesday/>
        <Thursday/>
        <Friday/>
      </DaysOfWeek>
    </ScheduleByWeek>
  </CalendarTrigger>
</Triggers>"
    );
    let mut writer = quick_xml::Writer::new(Vec::new());
    xml::write_triggers(&mut writer, &trigger::plan(&expr("0 6 1,31 1,7 *")), day("2025-01-01"))
        .unwrap_or_else(|e| panic!("{e}"));
    let embedded = String::from_utf8(writer.into_inner()).unwrap_or_default();
    assert_eq!(
        embedded,
        "<Triggers><CalendarTrigger><StartBoundary>2025-01-01T06:00:00</StartBoundary>\
         <ScheduleByMonth><DaysOfMonth><Day>1</Day><Day>31</Day></DaysOfMonth>\
         <Months><January/><July/></Months></ScheduleByMonth></CalendarTrigger></Triggers>"
    );
    let by_dow = xml::triggers_fragment(&trigger::plan(&expr("0 0 * 6 sun")), day("2027-01-01"));
    assert!(by_dow.contains(
        "<Weeks>\n        <Week>1</Week>\n        <Week>2</Week>\n        <Week>3</Week>\n        \
         <Week>4</Week>\n        <Week>Last</Week>\n      </Weeks>"
    ), "{by_dow}");
}

#[test]
fn iso_durations_use_only_d_h_m_s() {
    let cases = [
        (0, "PT0S"),
        (60, "PT1M"),
        (3600, "PT1H"),
        (39_150, "PT10H52M30S"),
        (86_400, "P1D"),
        (90_061, "P1DT1H1M1S"),
        (30, "PT30S"),
    ];
    for (seconds, want) in cases {
        assert_eq!(xml::iso_duration(seconds), want);
    }
}

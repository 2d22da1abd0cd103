//! The cronie rule table (docs/design/cron-mapping.md §1): grammar, names, Sunday, `N-0`, `*` in lists, steps,
//! backwards ranges, macros and their star flags, the day rule, month ends, Feb 29, year
//! rollover.

use chrono::{Datelike, NaiveDate, Weekday};

use super::{assert_next_slots, at, bits, expr};
use crate::cron::schedule::SEARCH_DAYS;
use crate::cron::{CronError, CronExpr, Field};

/// Expected parse result: the text; minutes, hours, days of month, months, weekdays
/// (Sunday = 0); and the DOM_STAR / DOW_STAR flags.
type Accept = (
    &'static str,
    &'static [u32],
    &'static [u32],
    &'static [u32],
    &'static [u32],
    &'static [u32],
    (bool, bool),
);

const ALL_M: &[u32] = &[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49,
    50, 51, 52, 53, 54, 55, 56, 57, 58, 59,
];
const ALL_H: &[u32] =
    &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23];
const ALL_DOM: &[u32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31,
];
const ALL_MON: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
const ALL_DOW: &[u32] = &[0, 1, 2, 3, 4, 5, 6];

const ACCEPTED: &[Accept] = &[
    ("* * * * *", ALL_M, ALL_H, ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    ("0 0 * * 0", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    // 7 is Sunday too, and 0,7 is just Sunday.
    ("0 0 * * 7", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    ("0 0 * * 0,7", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    ("0 0 * * 1-7", &[0], &[0], ALL_DOM, ALL_MON, ALL_DOW, (true, false)),
    // N-0 without a step means N-7.
    ("0 0 * * 5-0", &[0], &[0], ALL_DOM, ALL_MON, &[0, 5, 6], (true, false)),
    ("0 0 * * fri-sun", &[0], &[0], ALL_DOM, ALL_MON, &[0, 5, 6], (true, false)),
    ("0 0 * * 7-0", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    ("0 0 * * sun-sun", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    ("0 0 * * 0-0", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    // `*` in day-of-week is 0-7: */2 is 0,2,4,6 and */7 is 0 and 7 (Sunday).
    ("0 0 * * */2", &[0], &[0], ALL_DOM, ALL_MON, &[0, 2, 4, 6], (true, true)),
    ("0 0 * * */7", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, true)),
    ("0 0 * * 1-7/2", &[0], &[0], ALL_DOM, ALL_MON, &[0, 1, 3, 5], (true, false)),
    // Names: case-insensitive, in ranges and with steps.
    ("0 0 * * mon-fri/2", &[0], &[0], ALL_DOM, ALL_MON, &[1, 3, 5], (true, false)),
    ("0 0 * * MON,wed,Fri", &[0], &[0], ALL_DOM, ALL_MON, &[1, 3, 5], (true, false)),
    ("0 0 * jan-mar,DEC *", &[0], &[0], ALL_DOM, &[1, 2, 3, 12], ALL_DOW, (true, true)),
    ("0 0 * Jan-Dec/3 *", &[0], &[0], ALL_DOM, &[1, 4, 7, 10], ALL_DOW, (true, true)),
    ("0 0 * */3 *", &[0], &[0], ALL_DOM, &[1, 4, 7, 10], ALL_DOW, (true, true)),
    // Steps larger than the range are accepted: only the first value.
    ("0-59/70 * * * *", &[0], ALL_H, ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    ("*/70 * * * *", &[0], ALL_H, ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    ("5-10/3 * * * *", &[5, 8], ALL_H, ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    (
        "*/7 * * * *",
        &[0, 7, 14, 21, 28, 35, 42, 49, 56],
        ALL_H,
        ALL_DOM,
        ALL_MON,
        ALL_DOW,
        (true, true),
    ),
    ("0 */5 * * *", &[0], &[0, 5, 10, 15, 20], ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    ("0 0 */10 * *", &[0], &[0], &[1, 11, 21, 31], ALL_MON, ALL_DOW, (true, true)),
    // `*` inside a list; the star flag depends only on the first character.
    ("*,10 * * * *", ALL_M, ALL_H, ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    ("0 12 *,10 * 2", &[0], &[12], ALL_DOM, ALL_MON, &[2], (true, false)),
    ("0 12 10,* * 2", &[0], &[12], ALL_DOM, ALL_MON, &[2], (false, false)),
    ("0 0 1-31 * 4", &[0], &[0], ALL_DOM, ALL_MON, &[4], (false, false)),
    // Leading zeros, tabs, repeated blanks, surrounding whitespace.
    (" 00\t09  01 * *\n", &[0], &[9], &[1], ALL_MON, ALL_DOW, (false, true)),
    ("00005 0 * * *", &[5], &[0], ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    ("*/0015 0 * * *", &[0, 15, 30, 45], &[0], ALL_DOM, ALL_MON, ALL_DOW, (true, true)),
    (
        "1,2,3,5-7 0-23/6 1,15 2,8 1-5",
        &[1, 2, 3, 5, 6, 7],
        &[0, 6, 12, 18],
        &[1, 15],
        &[2, 8],
        &[1, 2, 3, 4, 5],
        (false, false),
    ),
    // Macros and their star flags (cronie entry.c).
    ("@yearly", &[0], &[0], &[1], &[1], ALL_DOW, (false, true)),
    ("@annually", &[0], &[0], &[1], &[1], ALL_DOW, (false, true)),
    ("@monthly", &[0], &[0], &[1], ALL_MON, ALL_DOW, (false, true)),
    ("@weekly", &[0], &[0], ALL_DOM, ALL_MON, &[0], (true, false)),
    ("@daily", &[0], &[0], ALL_DOM, ALL_MON, ALL_DOW, (false, false)),
    ("@midnight", &[0], &[0], ALL_DOM, ALL_MON, ALL_DOW, (false, false)),
    ("@hourly", &[0], ALL_H, ALL_DOM, ALL_MON, ALL_DOW, (false, false)),
];

#[test]
fn accepted_expressions_parse_to_cronie_bitsets() {
    for (text, minutes, hours, dom, months, dow, stars) in ACCEPTED {
        let e = expr(text);
        let got = (
            bits(e.minutes),
            bits(u64::from(e.hours)),
            bits(u64::from(e.dom)),
            bits(u64::from(e.months)),
            bits(u64::from(e.dow)),
            (e.dom_star, e.dow_star),
        );
        let want =
            (minutes.to_vec(), hours.to_vec(), dom.to_vec(), months.to_vec(), dow.to_vec(), *stars);
        assert_eq!(got, want, "{text:?}");
    }
}

#[test]
fn source_is_the_trimmed_text() {
    assert_eq!(expr("  0 9 * * 1-5 \t").source(), "0 9 * * 1-5");
    assert_eq!(expr("0\t9 *  * MON").to_string(), "0\t9 *  * MON");
    assert_eq!("@daily".parse::<CronExpr>().map(|e| e.source().to_owned()), Ok("@daily".into()));
}

#[test]
fn wildcard_time_follows_the_first_character_of_minute_and_hour() {
    let cases = [
        ("30 2 * * *", false),
        ("0,30 2 * * *", false),
        ("*/30 * * * *", true),
        ("*/30 2 * * *", true),
        ("0 * * * *", true),
        ("0 */2 * * *", true),
        ("0-59 2 * * *", false),
        ("30 1-3 * * *", false),
        ("@hourly", true),
        ("@daily", false),
        ("@weekly", false),
    ];
    for (text, wildcard) in cases {
        assert_eq!(expr(text).is_wildcard_time(), wildcard, "{text}");
    }
}

/// (expression, field, token, text the rule must contain)
const REJECTED: &[(&str, Option<Field>, &str, &str)] = &[
    ("0 0 ? * *", Some(Field::DayOfMonth), "?", "cronie rejects ?, L, W, #, H"),
    ("0 0 * * ?", Some(Field::DayOfWeek), "?", "cronie rejects"),
    ("0 0 L * *", Some(Field::DayOfMonth), "L", "cronie rejects"),
    ("0 0 15W * *", Some(Field::DayOfMonth), "15W", "cronie rejects"),
    ("0 0 LW * *", Some(Field::DayOfMonth), "LW", "cronie rejects"),
    ("0 0 * * 5L", Some(Field::DayOfWeek), "5L", "cronie rejects"),
    ("0 0 * * 5#3", Some(Field::DayOfWeek), "5#3", "cronie rejects"),
    ("H * * * *", Some(Field::Minute), "H", "cronie rejects"),
    ("H/15 * * * *", Some(Field::Minute), "H", "cronie rejects"),
    ("5/15 * * * *", Some(Field::Minute), "5/15", "write 5-59/15 or */15"),
    ("0 0/6 * * *", Some(Field::Hour), "0/6", "single value"),
    ("0 0 * * mon/2", Some(Field::DayOfWeek), "mon/2", "single value"),
    ("*/0 * * * *", Some(Field::Minute), "*/0", "step of 0"),
    ("0 0 1-10/0 * *", Some(Field::DayOfMonth), "1-10/0", "step of 0"),
    ("*/000 * * * *", Some(Field::Minute), "*/000", "step of 0"),
    ("*/1234567890 * * * *", Some(Field::Minute), "*/1234567890", "too large"),
    ("0 0 00 * *", Some(Field::DayOfMonth), "00", "out of range 1-31"),
    ("*/a * * * *", Some(Field::Minute), "*/a", "not a number"),
    ("*/ * * * *", Some(Field::Minute), "*/", "empty step"),
    ("*/5/2 * * * *", Some(Field::Minute), "*/5/2", "more than one /"),
    ("0 0 * * monday", Some(Field::DayOfWeek), "monday", "3-letter names such as \"mon\""),
    ("0 0 * * Tues", Some(Field::DayOfWeek), "Tues", "\"tue\""),
    ("0 0 * january *", Some(Field::Month), "january", "\"jan\""),
    ("0 0 * foo *", Some(Field::Month), "foo", "not a month name"),
    ("0 0 mon * *", Some(Field::DayOfMonth), "mon", "only allowed in the month and day-of-week"),
    ("jan 0 * * *", Some(Field::Minute), "jan", "only allowed"),
    ("60 * * * *", Some(Field::Minute), "60", "out of range 0-59"),
    ("0 24 * * *", Some(Field::Hour), "24", "out of range 0-23"),
    ("0 0 0 * *", Some(Field::DayOfMonth), "0", "out of range 1-31"),
    ("0 0 32 * *", Some(Field::DayOfMonth), "32", "out of range 1-31"),
    ("0 0 * 0 *", Some(Field::Month), "0", "out of range 1-12"),
    ("0 0 * 13 *", Some(Field::Month), "13", "out of range 1-12"),
    ("0 0 * * 8", Some(Field::DayOfWeek), "8", "out of range 0-7 (0 and 7 are Sunday)"),
    ("0 0 * * 99999999999", Some(Field::DayOfWeek), "99999999999", "out of range"),
    ("0 17-9 * * *", Some(Field::Hour), "17-9", "backwards range"),
    ("0 17-9 * * *", Some(Field::Hour), "17-9", "write 17-23,0-9"),
    ("0 0 * nov-mar *", Some(Field::Month), "nov-mar", "write nov-dec,jan-mar"),
    ("0 0 * * sat-sun/2", Some(Field::DayOfWeek), "sat-sun/2", "backwards range"),
    ("0 0 * * 5-0/1", Some(Field::DayOfWeek), "5-0/1", "N-0 means N-7 only without a step"),
    ("0 0 * * 7-mon", Some(Field::DayOfWeek), "7-mon", "never run it"),
    ("0 0 * * fri-mon", Some(Field::DayOfWeek), "fri-mon", "write fri-sat,sun-mon"),
    ("0 0 * * 5-1", Some(Field::DayOfWeek), "5-1", "write 5-6,0-1"),
    ("0 0 20-10 * *", Some(Field::DayOfMonth), "20-10", "backwards"),
    ("50-10/5 * * * *", Some(Field::Minute), "50-10/5", "backwards"),
    ("0~30 * * * *", Some(Field::Minute), "0~30", "not be deterministic"),
    ("~ * * * *", Some(Field::Minute), "~", "random ~"),
    ("0 0 * * mon-", Some(Field::DayOfWeek), "mon-", "missing the end"),
    ("-5 * * * *", Some(Field::Minute), "-5", "missing the start"),
    ("0 0 * * 1-2-3", Some(Field::DayOfWeek), "1-2-3", "more than one -"),
    ("1,,2 * * * *", Some(Field::Minute), "1,,2", "empty item"),
    ("1, * * * *", Some(Field::Minute), "1,", "empty item"),
    (",1 * * * *", Some(Field::Minute), ",1", "empty item"),
    ("5-* * * * *", Some(Field::Minute), "5-*", "* must stand alone"),
    ("** * * * *", Some(Field::Minute), "**", "* must stand alone"),
    ("/5 * * * *", Some(Field::Minute), "/5", "missing a value"),
    ("0 0 * * %", Some(Field::DayOfWeek), "%", "'%'"),
    ("0 0 1.5 * *", Some(Field::DayOfMonth), "1.5", "'.'"),
    ("0 0 * * 1a", Some(Field::DayOfWeek), "1a", "not a number"),
];

#[test]
fn rejected_expressions_name_field_token_and_rule() {
    for (text, field, token, rule) in REJECTED {
        let error = CronExpr::parse(text).expect_err(text);
        assert_eq!(error.field(), *field, "{text}: {error}");
        assert_eq!(error.token(), Some(*token), "{text}: {error}");
        let message = error.to_string();
        assert!(message.contains(rule), "{text}: {message:?} should contain {rule:?}");
        assert!(message.starts_with(&format!("invalid cron expression {text:?}: ")), "{message}");
        assert!(message.contains(&format!("{} field", field.map(Field::name).unwrap_or(""))));
    }
}

#[test]
fn error_display_matches_the_documented_form() {
    let error = CronExpr::parse("0 0 ? * *").expect_err("? is rejected");
    assert_eq!(
        error.to_string(),
        "invalid cron expression \"0 0 ? * *\": day-of-month field: \"?\" is not cron syntax \
         (cronie rejects ?, L, W, #, H)"
    );
}

#[test]
fn wrong_field_counts_are_rejected() {
    let cases = [("0 0 * * * *", 6), ("0 0 * * * * 2027", 7), ("0 0 * *", 4), ("*", 1)];
    for (text, found) in cases {
        let error = CronExpr::parse(text).expect_err(text);
        assert_eq!(error, CronError::FieldCount { expr: text.to_owned(), found });
        assert!(error.to_string().contains("expected 5"), "{error}");
    }
    let six = CronExpr::parse("0 0 0 * * *").expect_err("six fields").to_string();
    assert!(six.contains("does not support seconds or years"), "{six}");
}

#[test]
fn macros_outside_cronie_are_rejected() {
    let reboot = CronExpr::parse("@reboot").expect_err("@reboot").to_string();
    assert!(reboot.contains("orc has no boot trigger"), "{reboot}");
    let every = CronExpr::parse("@every").expect_err("@every").to_string();
    assert!(every.contains("\"@every\" is not a cron macro"), "{every}");
    let upper = CronExpr::parse("@Daily").expect_err("@Daily").to_string();
    assert!(upper.contains("macros are lowercase"), "{upper}");
    let extra = CronExpr::parse("@daily 5").expect_err("@daily 5").to_string();
    assert!(extra.contains("stands alone"), "{extra}");
    assert!(matches!(CronExpr::parse("@"), Err(CronError::Macro { .. })));
}

#[test]
fn empty_long_and_non_ascii_input_is_rejected() {
    assert_eq!(CronExpr::parse(""), Err(CronError::Empty));
    assert_eq!(CronExpr::parse(" \t\n "), Err(CronError::Empty));
    let long = "0 ".repeat(200);
    assert_eq!(CronExpr::parse(&long), Err(CronError::TooLong { len: 400 }));
    let control = CronExpr::parse("0 0\n* * *").expect_err("newline inside");
    assert!(matches!(control, CronError::BadChar { ch: '\n', position: 4, .. }), "{control:?}");
    let umlaut = CronExpr::parse("0 0 * * mön").expect_err("non-ASCII");
    assert!(matches!(umlaut, CronError::BadChar { ch: 'ö', position: 10, .. }), "{umlaut:?}");
    assert!(CronExpr::parse("0 0 * * *\0").is_err());
    // Exactly at the limit is fine.
    let padded = format!("0 0 * * *{}", " ".repeat(CronExpr::MAX_LEN - 9));
    assert_eq!(padded.len(), CronExpr::MAX_LEN);
    assert!(CronExpr::parse(&padded).is_ok());
}

/// Every date of 2024 on which the expression fires, from `next_after`.
fn fire_dates_2024(e: &CronExpr) -> Vec<NaiveDate> {
    let mut dates = Vec::new();
    let mut cursor = at("2023-12-31 23:59");
    while let Some(next) = e.next_after(cursor) {
        if next.year() > 2024 {
            break;
        }
        if dates.last() != Some(&next.date()) {
            dates.push(next.date());
        }
        cursor = next;
    }
    dates
}

/// Every date of 2024 satisfying `predicate`.
fn dates_2024(predicate: impl Fn(NaiveDate) -> bool) -> Vec<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2024, 1, 1).expect("date");
    first.iter_days().take_while(|d| d.year() == 2024).filter(|d| predicate(*d)).collect()
}

#[test]
fn day_rule_follows_cronie() {
    type Rule = fn(NaiveDate) -> bool;
    let cases: [(&str, Rule); 11] = [
        // OR: neither day field starts with `*`.
        ("0 0 1,15 * 1", |d| d.day() == 1 || d.day() == 15 || d.weekday() == Weekday::Mon),
        // AND: */2 starts with `*`, so odd-dated Mondays only.
        ("0 0 */2 * 1", |d| d.day() % 2 == 1 && d.weekday() == Weekday::Mon),
        // OR with a full DOM list: every day.
        ("0 0 1-31 * 4", |_| true),
        // `*,10` starts with `*`: AND with a full DOM set → Tuesdays only.
        ("0 12 *,10 * 2", |d| d.weekday() == Weekday::Tue),
        // `10,*` does not: OR with a full DOM set → every day.
        ("0 12 10,* * 2", |_| true),
        ("0 0 * * 1", |d| d.weekday() == Weekday::Mon),
        ("0 0 1 * *", |d| d.day() == 1),
        // DOW starting with `*` forces AND, and the full weekday set makes it DOM only.
        ("0 0 1 * *,1", |d| d.day() == 1),
        ("@weekly", |d| d.weekday() == Weekday::Sun),
        ("@monthly", |d| d.day() == 1),
        ("@yearly", |d| d.day() == 1 && d.month() == 1),
    ];
    for (text, rule) in cases {
        let e = expr(text);
        assert_eq!(fire_dates_2024(&e), dates_2024(rule), "{text}");
        for date in dates_2024(|_| true) {
            assert_eq!(e.day_matches(date), rule(date), "{text} on {date}");
        }
    }
}

#[test]
fn months_are_always_anded() {
    let e = expr("0 0 1 2 1");
    let dates = fire_dates_2024(&e);
    assert!(dates.iter().all(|d| d.month() == 2), "{dates:?}");
    // Feb 1 2024 is a Thursday; then the Mondays of February.
    let want: Vec<String> = ["2024-02-01", "2024-02-05", "2024-02-12", "2024-02-19", "2024-02-26"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let got: Vec<String> = dates.iter().map(|d| d.to_string()).collect();
    assert_eq!(got, want);
}

#[test]
fn month_ends_are_skipped_when_the_day_does_not_exist() {
    assert_next_slots(&[
        (
            "0 0 31 * *",
            "2024-01-31 00:00",
            &[
                "2024-03-31 00:00",
                "2024-05-31 00:00",
                "2024-07-31 00:00",
                "2024-08-31 00:00",
                "2024-10-31 00:00",
                "2024-12-31 00:00",
            ],
        ),
        ("0 0 30 * *", "2024-01-30 00:00", &["2024-03-30 00:00", "2024-04-30 00:00"]),
        ("0 0 29 2 *", "2024-03-01 00:00", &["2028-02-29 00:00", "2032-02-29 00:00"]),
    ]);
}

#[test]
fn february_29_across_2100() {
    assert_next_slots(&[
        // 2100 is not a leap year.
        ("0 0 29 2 *", "2096-03-01 00:00", &["2104-02-29 00:00"]),
        // AND: Feb 29 that is a Sunday (`*/7` is 0 and 7). The next one after 2090 is 2128.
        ("0 0 29 2 */7", "2090-01-01 00:00", &["2128-02-29 00:00", "2156-02-29 00:00"]),
        // OR: Feb 29, or any Monday in February.
        ("0 0 29 2 1", "2090-03-01 00:00", &["2091-02-05 00:00", "2091-02-12 00:00"]),
    ]);
    let back = expr("0 0 29 2 */7").prev_at_or_before(at("2127-12-31 00:00"));
    assert_eq!(back, Some(at("2088-02-29 00:00")));
}

#[test]
fn search_bound_covers_the_longest_possible_wait() {
    // Feb 29 on a given weekday is the rarest date a firing expression can need; its longest
    // gap over the 400-year Gregorian cycle must fit in the search bound.
    let mut longest = 0;
    for weekday in 0..7 {
        let years: Vec<i32> = (2000..2800)
            .filter(|y| {
                NaiveDate::from_ymd_opt(*y, 2, 29)
                    .is_some_and(|d| d.weekday().num_days_from_sunday() == weekday)
            })
            .collect();
        for pair in years.windows(2) {
            longest = longest.max(pair[1] - pair[0]);
        }
    }
    assert_eq!(longest, 40);
    assert!(i64::from(longest + 1) * 366 < SEARCH_DAYS);
}

#[test]
fn year_rollover() {
    assert_next_slots(&[
        ("59 23 31 12 *", "2024-12-31 23:59", &["2025-12-31 23:59"]),
        ("0 0 1 1 *", "2024-12-31 23:59:59", &["2025-01-01 00:00"]),
        ("*/7 * * * *", "2024-12-31 23:56", &["2025-01-01 00:00", "2025-01-01 00:07"]),
    ]);
    let e = expr("0 0 1 1 *");
    assert_eq!(e.prev_at_or_before(at("2025-01-01 00:00:59")), Some(at("2025-01-01 00:00")));
    assert_eq!(e.prev_at_or_before(at("2024-12-31 23:59")), Some(at("2024-01-01 00:00")));
}

#[test]
fn every_seven_minutes_restarts_each_hour() {
    assert_next_slots(&[(
        "*/7 * * * *",
        "2024-05-01 10:49",
        &["2024-05-01 10:56", "2024-05-01 11:00", "2024-05-01 11:07", "2024-05-01 11:14"],
    )]);
}

#[test]
fn next_after_is_strict_and_minute_resolution() {
    let e = expr("30 9 * * *");
    assert_eq!(e.next_after(at("2024-05-01 09:30")), Some(at("2024-05-02 09:30")));
    assert_eq!(e.next_after(at("2024-05-01 09:29:59")), Some(at("2024-05-01 09:30")));
    assert_eq!(e.next_after(at("2024-05-01 09:30:30")), Some(at("2024-05-02 09:30")));
    assert!(e.matches(at("2024-05-01 09:30:45")));
    assert!(!e.matches(at("2024-05-01 09:31")));
}

#[test]
fn prev_at_or_before_is_inclusive() {
    let e = expr("0 9 * * 1-5");
    // 2024-01-08 is a Monday.
    assert_eq!(e.prev_at_or_before(at("2024-01-08 08:59")), Some(at("2024-01-05 09:00")));
    assert_eq!(e.prev_at_or_before(at("2024-01-08 09:00:30")), Some(at("2024-01-08 09:00")));
    assert_eq!(e.prev_at_or_before(at("2024-01-08 23:00")), Some(at("2024-01-08 09:00")));
}

#[test]
fn never_firing_expressions() {
    for text in ["0 0 31 2 *", "0 0 30 2 *", "0 0 30,31 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *,1"] {
        let e = expr(text);
        assert!(e.never_fires(), "{text}");
        assert_eq!(e.next_after(at("2024-01-01 00:00")), None, "{text}");
        assert_eq!(e.prev_at_or_before(at("2024-01-01 00:00")), None, "{text}");
    }
    for text in ["0 0 29 2 *", "0 0 31 2 1", "0 0 31 * *", "0 0 29 2 */7", "0 0 */31 2 *"] {
        let e = expr(text);
        assert!(!e.never_fires(), "{text}");
        assert!(e.next_after(at("2024-01-01 00:00")).is_some(), "{text}");
    }
}

#[test]
fn calendar_edges_do_not_panic() {
    use chrono::{Duration, NaiveDateTime};
    let e = expr("* * * * *");
    assert_eq!(e.next_after(NaiveDateTime::MAX), None);
    assert_eq!(e.prev_at_or_before(NaiveDateTime::MIN), Some(NaiveDateTime::MIN));
    let rare = expr("0 0 29 2 */7");
    for t in [NaiveDateTime::MAX - Duration::days(400), NaiveDateTime::MIN + Duration::days(1)] {
        let _ = (rare.next_after(t), rare.prev_at_or_before(t), rare.matches(t));
    }
}

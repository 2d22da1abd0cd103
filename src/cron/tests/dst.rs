//! DST policy with real zones: America/New_York (2024-03-10 spring forward at 02:00,
//! 2024-11-03 fall back at 02:00) and Europe/Berlin (2027-03-28 02:00 → 03:00, 2027-10-31
//! 03:00 → 02:00).

use chrono::{DateTime, TimeZone};
use chrono_tz::America::New_York;
use chrono_tz::Europe::Berlin;
use chrono_tz::Tz;

use super::{at, expr};

/// A local time in a zone (the earlier instant when ambiguous).
fn local(tz: Tz, text: &str) -> DateTime<Tz> {
    tz.from_local_datetime(&at(text)).earliest().unwrap_or_else(|| panic!("{text} does not exist"))
}

/// Runs as `local time offset`, e.g. `2024-03-10 03:00 -04:00`.
fn runs(text: &str, tz: Tz, after: &str, count: usize) -> Vec<String> {
    expr(text)
        .next_runs(&local(tz, after), count)
        .iter()
        .map(|t| t.format("%Y-%m-%d %H:%M %:z").to_string())
        .collect()
}

#[test]
fn fixed_time_in_the_spring_gap_runs_once_at_the_end_of_the_gap() {
    assert_eq!(
        runs("30 2 * * *", New_York, "2024-03-09 12:00", 3),
        ["2024-03-10 03:00 -04:00", "2024-03-11 02:30 -04:00", "2024-03-12 02:30 -04:00",]
    );
    // Two slots in the gap collapse into one run.
    assert_eq!(
        runs("0,30 2 * * *", New_York, "2024-03-09 12:00", 3),
        ["2024-03-10 03:00 -04:00", "2024-03-11 02:00 -04:00", "2024-03-11 02:30 -04:00",]
    );
    // A slot right at the end of the gap is the same run as the moved one.
    assert_eq!(
        runs("30 2,3 * * *", New_York, "2024-03-09 12:00", 3),
        ["2024-03-10 03:00 -04:00", "2024-03-10 03:30 -04:00", "2024-03-11 02:30 -04:00",]
    );
    assert_eq!(
        runs("30 2 * * *", Berlin, "2027-03-27 12:00", 2),
        ["2027-03-28 03:00 +02:00", "2027-03-29 02:30 +02:00",]
    );
}

#[test]
fn wildcard_jobs_skip_the_spring_gap() {
    assert_eq!(
        runs("*/30 * * * *", New_York, "2024-03-10 01:00", 4),
        [
            "2024-03-10 01:30 -05:00",
            "2024-03-10 03:00 -04:00",
            "2024-03-10 03:30 -04:00",
            "2024-03-10 04:00 -04:00",
        ]
    );
    // `*/30 2 * * *` is wildcard: no run at all on the spring day.
    assert_eq!(runs("*/30 2 * * *", Berlin, "2027-03-27 12:00", 1), ["2027-03-29 02:00 +02:00"]);
}

#[test]
fn fixed_time_in_the_autumn_overlap_runs_once() {
    assert_eq!(
        runs("30 1 * * *", New_York, "2024-11-02 12:00", 2),
        ["2024-11-03 01:30 -04:00", "2024-11-04 01:30 -05:00",]
    );
    // cronie counts `30 1-3` as fixed-time too (croner does not).
    assert_eq!(
        runs("30 1-3 * * *", New_York, "2024-11-03 00:00", 4),
        [
            "2024-11-03 01:30 -04:00",
            "2024-11-03 02:30 -05:00",
            "2024-11-03 03:30 -05:00",
            "2024-11-04 01:30 -05:00",
        ]
    );
    assert_eq!(
        runs("30 2 * * *", Berlin, "2027-10-30 12:00", 2),
        ["2027-10-31 02:30 +02:00", "2027-11-01 02:30 +01:00",]
    );
}

#[test]
fn wildcard_jobs_run_twice_in_the_autumn_overlap() {
    assert_eq!(
        runs("0 * * * *", New_York, "2024-11-03 00:30", 4),
        [
            "2024-11-03 01:00 -04:00",
            "2024-11-03 01:00 -05:00",
            "2024-11-03 02:00 -05:00",
            "2024-11-03 03:00 -05:00",
        ]
    );
    assert_eq!(
        runs("*/30 * * * *", Berlin, "2027-10-31 01:45", 6),
        [
            "2027-10-31 02:00 +02:00",
            "2027-10-31 02:30 +02:00",
            "2027-10-31 02:00 +01:00",
            "2027-10-31 02:30 +01:00",
            "2027-10-31 03:00 +01:00",
            "2027-10-31 03:30 +01:00",
        ]
    );
}

#[test]
fn next_runs_starting_inside_the_overlap() {
    // After the first 01:30 (EDT): a fixed-time job's next run is tomorrow; a wildcard job
    // still has the second 01:00 hour ahead of it.
    let first_half = local(New_York, "2024-11-03 01:30");
    let fixed: Vec<String> =
        expr("30 1 * * *").next_runs(&first_half, 1).iter().map(|t| t.to_rfc3339()).collect();
    assert_eq!(fixed, ["2024-11-04T01:30:00-05:00"]);
    let wildcard: Vec<String> =
        expr("*/30 * * * *").next_runs(&first_half, 3).iter().map(|t| t.to_rfc3339()).collect();
    assert_eq!(
        wildcard,
        ["2024-11-03T01:00:00-05:00", "2024-11-03T01:30:00-05:00", "2024-11-03T02:00:00-05:00",]
    );
}

#[test]
fn next_runs_are_strictly_increasing_without_duplicates() {
    for text in ["*/5 * * * *", "0,30 1,2 * * *", "*/10 0-3 * * *", "0 2 * * 0", "* 2 * * *"] {
        for (tz, after) in [(New_York, "2024-03-09 00:00"), (New_York, "2024-11-02 00:00")] {
            let got = expr(text).next_runs(&local(tz, after), 200);
            assert_eq!(got.len(), 200, "{text}");
            assert!(got.windows(2).all(|w| w[0] < w[1]), "{text} from {after}");
        }
    }
    assert!(expr("0 0 31 2 *").next_runs(&local(Berlin, "2027-01-01 00:00"), 5).is_empty());
    assert!(expr("* * * * *").next_runs(&local(Berlin, "2027-01-01 00:00"), 0).is_empty());
}

#[test]
fn next_runs_in_utc_match_next_after() {
    let e = expr("*/7 9-17 * * 1-5");
    let after = chrono::Utc.from_utc_datetime(&at("2027-03-26 16:50"));
    let runs = e.next_runs(&after, 50);
    let mut cursor = at("2027-03-26 16:50");
    for run in runs {
        let next = e.next_after(cursor).unwrap_or_else(|| panic!("slot after {cursor}"));
        assert_eq!(run.naive_utc(), next);
        cursor = next;
    }
}

#[test]
fn dst_warnings_mention_the_date_and_what_happens() {
    let spring = expr("30 2 * * *").dst_warnings(&local(Berlin, "2027-01-01 00:00"), 12);
    assert_eq!(
        spring,
        [
            "On 2027-03-28 the clock jumps from 02:00 to 03:00: the 02:30 run happens at 03:00 \
         instead",
            "On 2027-10-31 02:00–03:00 happens twice: this task runs once, at the first 02:30",
        ]
    );
    let hourly = expr("0 * * * *").dst_warnings(&local(New_York, "2024-01-01 00:00"), 12);
    assert_eq!(
        hourly,
        [
            "On 2024-03-10 the clock jumps from 02:00 to 03:00: the 02:00 run will not happen \
         (repeating schedules skip the missing time)",
            "On 2024-11-03 01:00–02:00 happens twice: the 01:00 run happens twice, once before and \
         once after the clock goes back",
        ]
    );
    let two = expr("0,30 2 * * *").dst_warnings(&local(New_York, "2024-01-01 00:00"), 12);
    assert_eq!(
        two,
        ["On 2024-03-10 the clock jumps from 02:00 to 03:00: the 02:00 and 02:30 runs happen \
         once, at 03:00 instead"]
    );
    let every_five = expr("*/5 1 * * *").dst_warnings(&local(New_York, "2024-06-01 00:00"), 6);
    assert_eq!(
        every_five,
        ["On 2024-11-03 01:00–02:00 happens twice: the 12 runs from 01:00 through 01:55 happen \
         twice, once before and once after the clock goes back"]
    );
    // Transitions that touch no slot, and zones without DST, give no warning.
    assert!(expr("0 12 * * *").dst_warnings(&local(Berlin, "2027-01-01 00:00"), 12).is_empty());
    assert!(expr("30 2 * * 1-5").dst_warnings(&local(New_York, "2024-01-01 00:00"), 12).is_empty());
    let utc = chrono::Utc.from_utc_datetime(&at("2027-01-01 00:00"));
    assert!(expr("* * * * *").dst_warnings(&utc, 12).is_empty());
    // The window is [from, from + months).
    assert!(expr("30 2 * * *").dst_warnings(&local(Berlin, "2027-04-01 00:00"), 6).is_empty());
}

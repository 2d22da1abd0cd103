//! `describe()`: one test row per shape.

use super::expr;

const SHAPES: &[(&str, &str)] = &[
    // Single times.
    ("0 9 * * 1-5", "At 09:00, Monday through Friday"),
    ("30 2 * * 0", "At 02:30, on Sunday"),
    ("30 2 * * 7", "At 02:30, on Sunday"),
    ("0 0 * * *", "At 00:00"),
    ("@daily", "At 00:00"),
    ("15 14 * * 1,3,5", "At 14:15, on Monday, Wednesday and Friday"),
    ("0 10 * * sat,sun", "At 10:00, on Saturday and Sunday"),
    ("0 10 * * 5-0", "At 10:00, Friday through Sunday"),
    // Few times: listed.
    ("0,30 9 * * *", "At 09:00 and 09:30"),
    ("10 8,13,17 * * *", "At 08:10, 13:10 and 17:10"),
    // One minute, several hours.
    ("0 9-17 * * 1-5", "Every hour from 09:00 through 17:00, Monday through Friday"),
    ("30 8-18 * * *", "Every hour from 08:30 through 18:30"),
    ("0 */2 * * *", "Every 2 hours from 00:00 through 22:00"),
    ("0 * * * *", "Every hour, on the hour"),
    ("@hourly", "Every hour, on the hour"),
    ("5 * * * *", "At minute 5 past every hour"),
    ("5 1,2,4,8,16 * * *", "At 01:05, 02:05, 04:05, 08:05 and 16:05"),
    // Minute patterns.
    ("* * * * *", "Every minute"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("*/30 * * * *", "Every 30 minutes"),
    ("*/15 8-18 * * MON-FRI", "Every 15 minutes, 08:00 through 18:59, Monday through Friday"),
    ("* 9 * * *", "Every minute, 09:00 through 09:59"),
    ("*/7 * * * *", "Every 7 minutes (at minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 of the hour)"),
    ("5-59/15 * * * *", "Every 15 minutes (at minutes 5, 20, 35 and 50 of the hour)"),
    ("0-9 * * * *", "Every minute from minute 0 through 9 of the hour"),
    ("0-30/10 * * * *", "Every 10 minutes from minute 0 through 30 of the hour"),
    ("1,2,4,8,16,32 * * * *", "At minutes 1, 2, 4, 8, 16 and 32 past the hour"),
    ("*/20 8,12,17 * * *", "Every 20 minutes, during the hours starting 08:00, 12:00 and 17:00"),
    // Days of the month.
    ("0 0 1,15 * *", "At 00:00 on day 1 and 15 of the month"),
    ("0 0 1 * *", "At 00:00 on day 1 of the month"),
    ("@monthly", "At 00:00 on day 1 of the month"),
    ("0 0 1-7 * *", "At 00:00 on days 1 through 7 of the month"),
    ("0 0 */2 * *", "At 00:00 on odd days of the month (1, 3, 5 …)"),
    ("0 0 2-31/2 * *", "At 00:00 on even days of the month (2, 4, 6 …)"),
    ("0 0 */3 * *", "At 00:00 on every 3rd day of the month (1, 4, 7 …)"),
    ("0 0 1 1 *", "At 00:00 on January 1"),
    ("@yearly", "At 00:00 on January 1"),
    ("0 6 1,15 1,7 *", "At 06:00 on day 1 and 15 of the month, only in January and July"),
    // The day rule, stated explicitly.
    ("0 0 1,15 * 1", "At 00:00 on day 1 and 15 of the month, and on Monday"),
    ("0 0 */2 * 1", "At 00:00 on odd days of the month (1, 3, 5 …) if it is a Monday"),
    (
        "0 12 */2 * 0,6",
        "At 12:00 on odd days of the month (1, 3, 5 …) if it is a Saturday or Sunday",
    ),
    ("0 12 1-7 * */1", "At 12:00 on days 1 through 7 of the month"),
    ("0 0 1-7 * *,1", "At 00:00 on days 1 through 7 of the month"),
    (
        "0 0 */2 * 1-5",
        "At 00:00 on odd days of the month (1, 3, 5 …) if it falls on Monday through Friday",
    ),
    ("0 12 *,10 * 2", "At 12:00, on Tuesday"),
    (
        "0 12 10,* * 2",
        "At 12:00, every day (cron ORs the two day fields, and the day-of-month field covers \
         every day)",
    ),
    (
        "0 0 1-31 * 4",
        "At 00:00, every day (cron ORs the two day fields, and the day-of-month field covers \
         every day)",
    ),
    (
        "0 0 13 * 0-6",
        "At 00:00, every day (cron ORs the two day fields, and the day-of-week field covers \
         every day)",
    ),
    ("@weekly", "At 00:00, on Sunday"),
    // Months.
    ("0 9 * 3-10 1-5", "At 09:00, Monday through Friday, only from March through October"),
    ("0 9 * 2 *", "At 09:00, only in February"),
    // Never.
    ("0 0 31 2 *", "At 00:00 on February 31 (no such date exists, so this never runs)"),
    (
        "0 0 31 4,6,9,11 *",
        "At 00:00 on day 31 of the month, only in April, June, September and November (no \
         such date exists, so this never runs)",
    ),
];

#[test]
fn descriptions_for_each_shape() {
    for (text, want) in SHAPES {
        assert_eq!(expr(text).describe(), *want, "{text}");
    }
}

#[test]
fn descriptions_are_never_empty_and_start_capitalised() {
    for text in ["59 23 31 12 *", "1-59/2 0-22/2 2-30/4 */5 1-5", "*/59 */23 */30 */11 */6"] {
        let text_out = expr(text).describe();
        assert!(text_out.chars().next().is_some_and(char::is_uppercase), "{text}: {text_out}");
    }
}

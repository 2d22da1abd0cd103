//! Plain-English descriptions of parsed expressions.
//!
//! A description is a time phrase (`At 09:00`, `Every 15 minutes, 08:00 through 18:59`)
//! followed by a day phrase that states cronie's day rule explicitly: `, Monday through
//! Friday`, ` on day 1 and 15 of the month, and on Monday` (OR), ` on odd days of the month
//! (1, 3, 5 …) if it is a Monday` (AND), then any month restriction.

use super::{ALL_DOM, ALL_DOW, ALL_MONTHS, CronExpr, DAY_NAMES, MONTH_NAMES};

/// Describes `e`; see the module docs.
pub(super) fn describe(e: &CronExpr) -> String {
    let mut text = time_phrase(e);
    text.push_str(&day_phrase(e));
    if e.never_fires() {
        text.push_str(" (no such date exists, so this never runs)");
    }
    text
}

/// The shape of a sorted set of values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// Every value of the field.
    All,
    /// Exactly one value.
    One(u32),
    /// Three or more consecutive values.
    Range(u32, u32),
    /// Three or more values with a common difference of at least 2.
    Step { first: u32, step: u32, last: u32 },
    /// Anything else (including two values).
    List,
}

/// Classifies `values` (sorted, non-empty) of a field with `full` possible values.
fn shape(values: &[u32], full: usize) -> Shape {
    match values {
        _ if values.len() == full => Shape::All,
        [one] => Shape::One(*one),
        [first, second, .., last] if values.len() >= 3 && is_progression(values) => {
            match second - first {
                1 => Shape::Range(*first, *last),
                step => Shape::Step { first: *first, step, last: *last },
            }
        }
        _ => Shape::List,
    }
}

/// Whether `values` (at least two) have one common difference.
fn is_progression(values: &[u32]) -> bool {
    values.len() >= 2 && values.windows(2).all(|w| w[1] - w[0] == values[1] - values[0])
}

/// The set bits of `bits`, ascending.
pub(super) fn bit_values(bits: u64) -> Vec<u32> {
    (0..64).filter(|bit| bits & (1 << bit) != 0).collect()
}

/// `HH:MM`.
fn hm(hour: u32, minute: u32) -> String {
    format!("{hour:02}:{minute:02}")
}

/// `a`, `a and b`, `a, b and c`.
fn join_with(items: &[String], last_word: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {last_word} {last}", init.join(", ")),
    }
}

/// `a, b and c`.
fn join_and(items: &[String]) -> String {
    join_with(items, "and")
}

/// Numbers as a list: long progressions are abbreviated `0, 7, 14, …, 56`, and runs of
/// three or more consecutive numbers become `16–43`.
pub(super) fn number_list(values: &[u32]) -> String {
    if values.len() > 10 && is_progression(values) {
        let shown: Vec<String> = values[..3].iter().map(u32::to_string).collect();
        return format!("{}, …, {}", shown.join(", "), values[values.len() - 1]);
    }
    let parts: Vec<String> = runs(values)
        .into_iter()
        .flat_map(|(first, last)| match last - first {
            0 => vec![first.to_string()],
            1 => vec![first.to_string(), last.to_string()],
            _ => vec![format!("{first}–{last}")],
        })
        .collect();
    join_and(&parts)
}

/// Whether [`number_list`] writes at least one `a–b` run.
fn has_long_run(values: &[u32]) -> bool {
    runs(values).iter().any(|(first, last)| last - first >= 2)
}

/// Maximal runs of consecutive values (sorted input): `(first, last)` pairs.
fn runs(values: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &value in values {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == value => *last = value,
            _ => out.push((value, value)),
        }
    }
    out
}

/// `2nd`, `3rd`, `11th`, `21st`.
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// The time-of-day part, starting with a capital letter.
fn time_phrase(e: &CronExpr) -> String {
    let minutes = bit_values(e.minutes);
    let hours = bit_values(u64::from(e.hours));
    if minutes.len() * hours.len() <= 4 {
        let times: Vec<String> =
            hours.iter().flat_map(|h| minutes.iter().map(move |m| hm(*h, *m))).collect();
        return format!("At {}", join_and(&times));
    }
    let hour_shape = shape(&hours, 24);
    if let [minute] = minutes[..] {
        return single_minute_phrase(minute, &hours, &hour_shape);
    }
    format!("{}{}", minute_phrase(&minutes), hour_window(&hours, &hour_shape))
}

/// The time phrase when only one minute of the hour is selected.
fn single_minute_phrase(minute: u32, hours: &[u32], hour_shape: &Shape) -> String {
    match *hour_shape {
        Shape::All if minute == 0 => "Every hour, on the hour".to_owned(),
        Shape::All => format!("At minute {minute} past every hour"),
        Shape::Range(first, last) => {
            format!("Every hour from {} through {}", hm(first, minute), hm(last, minute))
        }
        Shape::Step { first, step, last } => {
            format!("Every {step} hours from {} through {}", hm(first, minute), hm(last, minute))
        }
        Shape::One(_) | Shape::List => {
            let times: Vec<String> = hours.iter().map(|h| hm(*h, minute)).collect();
            format!("At {}", join_and(&times))
        }
    }
}

/// The minutes part when several minutes of the hour are selected.
fn minute_phrase(minutes: &[u32]) -> String {
    let all = minutes.len() == 60;
    if all {
        return "Every minute".to_owned();
    }
    if is_progression(minutes) {
        let (first, step) = (minutes[0], minutes[1] - minutes[0]);
        let last = minutes[minutes.len() - 1];
        let count = u32::try_from(minutes.len()).unwrap_or(u32::MAX);
        if step == 1 {
            return format!("Every minute from minute {first} through {last} of the hour");
        }
        if count * step == 60 && first == 0 {
            return format!("Every {step} minutes");
        }
        let restarts_each_hour = first < step && last + step >= 60;
        if count * step == 60 || (restarts_each_hour && count >= 3) {
            return format!(
                "Every {step} minutes (at minutes {} of the hour)",
                number_list(minutes)
            );
        }
        if count >= 3 {
            return format!("Every {step} minutes from minute {first} through {last} of the hour");
        }
    }
    format!("At minutes {} past the hour", number_list(minutes))
}

/// The hour restriction appended to a minutes phrase; empty for every hour.
fn hour_window(hours: &[u32], hour_shape: &Shape) -> String {
    match *hour_shape {
        Shape::All => String::new(),
        Shape::One(hour) => format!(", {} through {}", hm(hour, 0), hm(hour, 59)),
        Shape::Range(first, last) => format!(", {} through {}", hm(first, 0), hm(last, 59)),
        Shape::Step { .. } | Shape::List => {
            let windows = runs(hours);
            if windows.len() <= 4 && windows.iter().any(|(first, last)| last > first) {
                let text: Vec<String> = windows
                    .iter()
                    .map(|(first, last)| format!("{} through {}", hm(*first, 0), hm(*last, 59)))
                    .collect();
                return format!(", {}", join_and(&text));
            }
            let mut starts: Vec<String> = hours.iter().map(|h| hm(*h, 0)).collect();
            if starts.len() > 5 && is_progression(hours) {
                starts.drain(3..starts.len() - 1);
                starts.insert(3, "…".to_owned());
                return format!(", during the hours starting {}", starts.join(", "));
            }
            format!(", during the hours starting {}", join_and(&starts))
        }
    }
}

/// The day part (day-of-month, day-of-week and month), starting with a space or comma, or
/// empty for every day.
fn day_phrase(e: &CronExpr) -> String {
    let dom_full = e.dom == ALL_DOM;
    let dow_full = e.dow == ALL_DOW;
    let months = month_phrase(e.months);
    let days = match (e.days_are_anded(), dom_full, dow_full) {
        (_, true, true) => String::new(),
        (true, true, false) => weekdays_alone(e.dow),
        (true, false, true) => return dates_phrase(e.dom, e.months),
        (true, false, false) => {
            format!(" {} if it {}", dom_phrase(e.dom), weekday_condition(e.dow))
        }
        (false, true, false) => ", every day (cron ORs the two day fields, and the \
                                  day-of-month field covers every day)"
            .to_owned(),
        (false, false, true) => ", every day (cron ORs the two day fields, and the \
                                  day-of-week field covers every day)"
            .to_owned(),
        (false, false, false) => {
            format!(" {}, and on {}", dom_phrase(e.dom), weekday_names(e.dow, "and"))
        }
    };
    format!("{days}{months}")
}

/// Day-of-month only (AND case with every weekday): `on January 1` when one month is
/// selected and the days are few, else the generic day-of-month phrase plus months.
fn dates_phrase(dom: u32, months: u16) -> String {
    let days = bit_values(u64::from(dom));
    let month_list = bit_values(u64::from(months));
    if let (&[month], true) = (month_list.as_slice(), days.len() <= 4) {
        let name = MONTH_NAMES[(month - 1) as usize];
        return format!(" on {name} {}", number_list(&days));
    }
    format!(" {}{}", dom_phrase(dom), month_phrase(months))
}

/// `on day 1 and 15 of the month`, `on days 1 through 15 of the month`,
/// `on odd days of the month (1, 3, 5 …)`, `on every 3rd day of the month (1, 4, 7 …)`.
fn dom_phrase(dom: u32) -> String {
    let days = bit_values(u64::from(dom));
    match shape(&days, 31) {
        Shape::Range(first, last) => format!("on days {first} through {last} of the month"),
        Shape::Step { first, step, last } if last + step > 31 && first <= 2 => {
            let sample = format!("({}, {}, {} …)", first, first + step, first + 2 * step);
            match (first, step) {
                (1, 2) => format!("on odd days of the month {sample}"),
                (2, 2) => format!("on even days of the month {sample}"),
                (1, _) => format!("on every {} day of the month {sample}", ordinal(step)),
                _ => listed_days(&days),
            }
        }
        _ => listed_days(&days),
    }
}

/// `on day 1 and 15 of the month`, `on days 1–7 and 15–28 of the month`.
fn listed_days(days: &[u32]) -> String {
    let noun = if has_long_run(days) { "days" } else { "day" };
    format!("on {noun} {} of the month", number_list(days))
}

/// The weekdays of `dow` as contiguous (cyclic) runs: returns the days in run order when
/// they form one run, else `None`.
fn weekday_run(dow: u8) -> Option<Vec<usize>> {
    let selected: Vec<usize> = (0..7).filter(|d| dow & (1 << d) != 0).collect();
    let starts: Vec<usize> =
        selected.iter().copied().filter(|d| dow & (1 << ((d + 6) % 7)) == 0).collect();
    match starts[..] {
        [start] => Some((0..selected.len()).map(|i| (start + i) % 7).collect()),
        _ => None,
    }
}

/// `Monday through Friday`, `Saturday and Sunday`, `Monday, Wednesday and Friday`
/// (`last_word` joins the final pair of a list).
pub(super) fn weekday_names(dow: u8, last_word: &str) -> String {
    match weekday_run(dow) {
        Some(run) if run.len() >= 3 => {
            format!("{} through {}", DAY_NAMES[run[0]], DAY_NAMES[run[run.len() - 1]])
        }
        Some(run) => join_with(&names(&run), last_word),
        None => {
            let days: Vec<usize> = (0..7).filter(|d| dow & (1 << d) != 0).collect();
            join_with(&names(&days), last_word)
        }
    }
}

/// Day names for indexes.
fn names(days: &[usize]) -> Vec<String> {
    days.iter().map(|d| DAY_NAMES[*d].to_owned()).collect()
}

/// Weekdays as the only day restriction: `, Monday through Friday` or `, on Sunday`.
fn weekdays_alone(dow: u8) -> String {
    match weekday_run(dow) {
        Some(run) if run.len() >= 3 => format!(", {}", weekday_names(dow, "and")),
        _ => format!(", on {}", weekday_names(dow, "and")),
    }
}

/// The AND-case condition: `is a Monday`, `is a Saturday or Sunday`,
/// `falls on Monday through Friday`.
fn weekday_condition(dow: u8) -> String {
    match weekday_run(dow) {
        Some(run) if run.len() >= 3 => format!("falls on {}", weekday_names(dow, "or")),
        _ => format!("is a {}", weekday_names(dow, "or")),
    }
}

/// The month restriction: empty, `, only in February`, `, only from March through October`.
fn month_phrase(months: u16) -> String {
    if months == ALL_MONTHS {
        return String::new();
    }
    let list = bit_values(u64::from(months));
    let name = |m: u32| MONTH_NAMES[(m - 1) as usize].to_owned();
    match shape(&list, 12) {
        Shape::Range(first, last) => {
            format!(", only from {} through {}", name(first), name(last))
        }
        _ => format!(", only in {}", join_and(&list.iter().map(|m| name(*m)).collect::<Vec<_>>())),
    }
}

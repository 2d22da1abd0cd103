//! Task Scheduler trigger simulator for tests.
//!
//! Parses a `<Triggers>` fragment or a whole `<Task>` document and expands every
//! `CalendarTrigger` (and `TimeTrigger`) into the naive local minutes at which Task Scheduler
//! would start the task, over an inclusive date range. Self-contained (std, chrono,
//! quick-xml only) so that both the library's unit tests and the integration tests can
//! include it with `#[path]`.
//!
//! Semantics modelled (Task Scheduler 2.x, per the task XSD and Microsoft's docs):
//!
//! * `StartBoundary` `YYYY-MM-DDTHH:MM:SS` (local; an offset or `Z` is refused): no start
//!   before it; its time of day is the daily start time. `EndBoundary`: no start at or after
//!   it. `Enabled` `false` disables the trigger.
//! * `ScheduleByDay{DaysInterval}` counts days from the start date; `ScheduleByWeek{
//!   WeeksInterval, DaysOfWeek}` counts Sunday-based weeks from the week of the start date;
//!   `ScheduleByMonth{DaysOfMonth{Day n|Last}, Months}`; `ScheduleByMonthDayOfWeek{Weeks{Week
//!   1..4|Last}, DaysOfWeek, Months}` (week n = days 7n−6..7n, Last = the last seven days).
//!   Missing `Months` / `Weeks` mean all. A day number beyond the month's length never fires.
//! * `Repetition{Interval, Duration}`: starts at base + k·Interval while k·Interval ≤
//!   Duration (end-inclusive, as the `IRepetitionPattern` docs' five-launch example says); no
//!   Duration repeats until the end of the simulated range.
//! * `TimeTrigger`: one base start at `StartBoundary`, plus its repetition.
//! * Registration instant `R` ([`simulate_registered`]): a base start at or before `R` does not
//!   happen, and neither does the repetition window it would have opened (oven-sh/bun#34195:
//!   a window already open at registration does not start); so nothing fires at or before `R`.
//!   This is applied to `TimeTrigger`s too, which is conservative: bun#34199 reports that a
//!   `TimeTrigger` with a past `StartBoundary` does activate its repetition, but orc never
//!   registers one, so the model need not count on it.
//!
//! Anything else (other trigger types, `RandomDelay`, durations in years or months) is an
//! error, so a test never silently simulates something the model does not cover.
#![allow(dead_code, unreachable_pub)]

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

// A child module of a file included with `#[path]` is found by its own `#[path]`, relative to
// this file's directory, whichever crate includes it.
#[path = "trigger_sim/xml.rs"]
mod xml;

#[allow(unused_imports)] // each including crate uses a different part
pub use xml::{Element, decode_task_bytes, parse_xml};

/// Which days a trigger fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `TimeTrigger`: only the start date.
    Once,
    /// `ScheduleByDay`.
    ByDay {
        /// `DaysInterval`.
        interval: u32,
    },
    /// `ScheduleByWeek`.
    ByWeek {
        /// `WeeksInterval`.
        interval: u32,
        /// Index 0 = Sunday.
        days: [bool; 7],
    },
    /// `ScheduleByMonth`.
    ByMonth {
        /// Index 1..=31.
        days: [bool; 32],
        /// `Day` `Last`.
        last_day: bool,
        /// Index 1..=12.
        months: [bool; 13],
    },
    /// `ScheduleByMonthDayOfWeek`.
    ByMonthDayOfWeek {
        /// Index 1..=4.
        weeks: [bool; 5],
        /// `Week` `Last`.
        last_week: bool,
        /// Index 0 = Sunday.
        days: [bool; 7],
        /// Index 1..=12.
        months: [bool; 13],
    },
}

impl Schedule {
    /// Whether the schedule fires on `date`, for a trigger whose start date is `start`.
    pub fn fires_on(&self, date: NaiveDate, start: NaiveDate) -> bool {
        self.fires_on_day(&DayInfo::of(date), &DayInfo::of(start))
    }

    /// [`Schedule::fires_on`] on precomputed calendar data.
    fn fires_on_day(&self, date: &DayInfo, start: &DayInfo) -> bool {
        let (day, month, weekday) = (date.day, date.month, date.weekday);
        match self {
            Schedule::Once => date.number == start.number,
            Schedule::ByDay { interval } => {
                (date.number - start.number).rem_euclid(i64::from(*interval)) == 0
            }
            Schedule::ByWeek { interval, days } => {
                let week_start = |d: &DayInfo| d.number - d.weekday as i64;
                let weeks = (week_start(date) - week_start(start)) / 7;
                days[weekday] && weeks.rem_euclid(i64::from(*interval)) == 0
            }
            Schedule::ByMonth { days, last_day, months } => {
                months[month] && (days[day] || (*last_day && day == date.month_length))
            }
            Schedule::ByMonthDayOfWeek { weeks, last_week, days, months } => {
                let numbered = day <= 28 && weeks[(day - 1) / 7 + 1];
                let last = *last_week && day + 7 > date.month_length;
                months[month] && days[weekday] && (numbered || last)
            }
        }
    }
}

/// Calendar facts about one date, computed once per simulation.
#[derive(Debug, Clone, Copy)]
struct DayInfo {
    date: NaiveDate,
    /// Days since 0001-01-01.
    number: i64,
    /// 0 = Sunday.
    weekday: usize,
    day: usize,
    month: usize,
    month_length: usize,
}

impl DayInfo {
    fn of(date: NaiveDate) -> DayInfo {
        DayInfo {
            date,
            number: i64::from(date.num_days_from_ce()),
            weekday: date.weekday().num_days_from_sunday() as usize,
            day: date.day() as usize,
            month: date.month() as usize,
            month_length: month_length(date),
        }
    }
}

/// The number of days in `date`'s month.
fn month_length(date: NaiveDate) -> usize {
    (28..=31).rev().find(|d| date.with_day(*d).is_some()).unwrap_or(28) as usize
}

/// One trigger, ready to expand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTrigger {
    /// `CalendarTrigger` or `TimeTrigger`.
    pub kind: String,
    /// `Enabled` (default true).
    pub enabled: bool,
    /// `StartBoundary`.
    pub start: NaiveDateTime,
    /// `EndBoundary`.
    pub end: Option<NaiveDateTime>,
    /// `Repetition/Interval` in seconds.
    pub interval_seconds: Option<i64>,
    /// `Repetition/Duration` in seconds; `None` = indefinitely (or no repetition).
    pub duration_seconds: Option<i64>,
    /// The day pattern.
    pub schedule: Schedule,
}

/// Finds and parses every trigger under `Triggers` (fragment or whole task document).
pub fn parse_triggers(xml: &str) -> Result<Vec<SimTrigger>, String> {
    let document = parse_xml(xml)?;
    let mut containers = Vec::new();
    document.collect(&["Triggers"], &mut containers);
    if containers.is_empty() {
        return Err("no <Triggers> element".to_owned());
    }
    let mut triggers = Vec::new();
    for container in containers {
        for element in &container.children {
            triggers.push(parse_trigger(element)?);
        }
    }
    Ok(triggers)
}

/// Parses one trigger element.
fn parse_trigger(element: &Element) -> Result<SimTrigger, String> {
    let kind = element.name.clone();
    if kind != "CalendarTrigger" && kind != "TimeTrigger" {
        return Err(format!("unsupported trigger type <{kind}>"));
    }
    if element.child("RandomDelay").is_some() {
        return Err("RandomDelay is not deterministic and not simulated".to_owned());
    }
    let start = parse_boundary(element.child_text("StartBoundary").ok_or("no StartBoundary")?)?;
    let end = element.child_text("EndBoundary").map(parse_boundary).transpose()?;
    let enabled = element.child_text("Enabled").is_none_or(|t| t != "false");
    let (interval_seconds, duration_seconds) = match element.child("Repetition") {
        None => (None, None),
        Some(repetition) => parse_repetition(repetition)?,
    };
    let schedule = if kind == "TimeTrigger" { Schedule::Once } else { parse_schedule(element)? };
    Ok(SimTrigger { kind, enabled, start, end, interval_seconds, duration_seconds, schedule })
}

/// `Interval` (required, ≥ 1 minute) and `Duration` (optional).
fn parse_repetition(repetition: &Element) -> Result<(Option<i64>, Option<i64>), String> {
    let interval = parse_duration(repetition.child_text("Interval").ok_or("no Interval")?)?;
    if interval < 60 {
        return Err(format!("Repetition Interval below one minute: {interval}s"));
    }
    let duration = repetition.child_text("Duration").map(parse_duration).transpose()?;
    if duration.is_some_and(|d| d < 60) {
        return Err("Repetition Duration below one minute".to_owned());
    }
    Ok((Some(interval), duration))
}

/// `YYYY-MM-DDTHH:MM:SS` (local). Offsets and `Z` are refused: the simulator is naive.
pub fn parse_boundary(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .map_err(|e| format!("StartBoundary/EndBoundary {text:?} is not a local time: {e}"))
}

/// ISO 8601 durations with W/D/H/M/S components (`P1DT2H`, `PT15M`, `PT10H52M30S`).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let bad = || format!("unsupported duration {text:?}");
    let body = text.strip_prefix('P').ok_or_else(bad)?;
    let (date_part, time_part) = match body.split_once('T') {
        Some((date, time)) if !time.is_empty() => (date, time),
        Some(_) => return Err(bad()),
        None => (body, ""),
    };
    let mut total = 0i64;
    for (part, units) in [
        (date_part, &[('W', 604_800), ('D', 86_400)][..]),
        (time_part, &[('H', 3600), ('M', 60), ('S', 1)][..]),
    ] {
        let mut number = String::new();
        for ch in part.chars() {
            if ch.is_ascii_digit() {
                number.push(ch);
                continue;
            }
            let factor = units.iter().find(|(u, _)| *u == ch).ok_or_else(bad)?.1;
            let value: i64 = number.parse().map_err(|_| bad())?;
            total += value * factor;
            number.clear();
        }
        if !number.is_empty() {
            return Err(bad());
        }
    }
    if date_part.is_empty() && time_part.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

/// The `ScheduleBy…` child of a `CalendarTrigger`.
fn parse_schedule(element: &Element) -> Result<Schedule, String> {
    if let Some(by_day) = element.child("ScheduleByDay") {
        let interval = parse_number(by_day.child_text("DaysInterval").unwrap_or("1"))?;
        return Ok(Schedule::ByDay { interval });
    }
    if let Some(by_week) = element.child("ScheduleByWeek") {
        let interval = parse_number(by_week.child_text("WeeksInterval").unwrap_or("1"))?;
        let days = parse_weekdays(by_week.child("DaysOfWeek").ok_or("no DaysOfWeek")?)?;
        return Ok(Schedule::ByWeek { interval, days });
    }
    if let Some(by_month) = element.child("ScheduleByMonth") {
        let mut days = [false; 32];
        let mut last_day = false;
        let list = by_month.child("DaysOfMonth").ok_or("no DaysOfMonth")?;
        for day in list.children_named("Day") {
            match day.text.trim() {
                "Last" => last_day = true,
                number => {
                    let n = parse_number(number)? as usize;
                    *days.get_mut(n).filter(|_| n >= 1).ok_or("Day out of range")? = true;
                }
            }
        }
        let months = parse_months(by_month.child("Months"))?;
        return Ok(Schedule::ByMonth { days, last_day, months });
    }
    if let Some(by_dow) = element.child("ScheduleByMonthDayOfWeek") {
        let mut weeks = [false; 5];
        let mut last_week = false;
        match by_dow.child("Weeks") {
            None => (weeks, last_week) = ([false, true, true, true, true], true),
            Some(list) => {
                for week in list.children_named("Week") {
                    match week.text.trim() {
                        "Last" => last_week = true,
                        number => {
                            let n = parse_number(number)? as usize;
                            *weeks.get_mut(n).filter(|_| n >= 1).ok_or("Week out of range")? = true;
                        }
                    }
                }
            }
        }
        let days = parse_weekdays(by_dow.child("DaysOfWeek").ok_or("no DaysOfWeek")?)?;
        let months = parse_months(by_dow.child("Months"))?;
        return Ok(Schedule::ByMonthDayOfWeek { weeks, last_week, days, months });
    }
    Err("CalendarTrigger without a supported ScheduleBy… element".to_owned())
}

/// A positive decimal number.
fn parse_number(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("bad number {text:?}")),
    }
}

/// `<DaysOfWeek><Monday/>…` → index 0 = Sunday.
fn parse_weekdays(list: &Element) -> Result<[bool; 7], String> {
    const NAMES: [&str; 7] =
        ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    let mut days = [false; 7];
    for child in &list.children {
        let index = NAMES.iter().position(|n| *n == child.name).ok_or("unknown weekday")?;
        days[index] = true;
    }
    Ok(days)
}

/// `<Months><January/>…` → index 1..=12; absent = all months.
fn parse_months(list: Option<&Element>) -> Result<[bool; 13], String> {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let Some(list) = list else {
        let mut all = [true; 13];
        all[0] = false;
        return Ok(all);
    };
    let mut months = [false; 13];
    for child in &list.children {
        let index = NAMES.iter().position(|n| *n == child.name).ok_or("unknown month")?;
        months[index + 1] = true;
    }
    Ok(months)
}

/// A set of naive minutes between two dates (inclusive), as a bitmap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteSet {
    from: NaiveDate,
    days: usize,
    words: Vec<u64>,
}

impl MinuteSet {
    /// An empty set covering `from 00:00` through `to 23:59`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> MinuteSet {
        let days = usize::try_from((to - from).num_days() + 1).unwrap_or(0);
        MinuteSet { from, days, words: vec![0; (days * 1440).div_ceil(64)] }
    }

    /// The first day covered.
    pub fn first_date(&self) -> NaiveDate {
        self.from
    }

    /// How many minutes the range covers.
    pub fn capacity(&self) -> usize {
        self.days * 1440
    }

    /// The index of a minute, if inside the range.
    fn index_of(&self, t: NaiveDateTime) -> Option<usize> {
        let day = usize::try_from((t.date() - self.from).num_days()).ok()?;
        (day < self.days).then(|| day * 1440 + (t.hour() * 60 + t.minute()) as usize)
    }

    /// The minute at an index.
    fn minute_at(&self, index: usize) -> NaiveDateTime {
        self.from.and_time(NaiveTime::MIN) + Duration::minutes(index as i64)
    }

    /// Adds the minute containing `t`; `false` when it is outside the range.
    pub fn insert(&mut self, t: NaiveDateTime) -> bool {
        match self.index_of(t) {
            Some(index) => {
                self.insert_index(index);
                true
            }
            None => false,
        }
    }

    /// Adds a minute by index (minutes since `from 00:00`); ignored when out of range.
    pub fn insert_index(&mut self, index: usize) {
        if index < self.capacity() {
            self.words[index / 64] |= 1 << (index % 64);
        }
    }

    /// Whether the set holds the minute at `index`.
    pub fn contains_index(&self, index: usize) -> bool {
        index < self.capacity() && self.words[index / 64] & (1 << (index % 64)) != 0
    }

    /// Whether the set holds the minute containing `t`.
    pub fn contains(&self, t: NaiveDateTime) -> bool {
        self.index_of(t).is_some_and(|index| self.contains_index(index))
    }

    /// The number of minutes in the set.
    pub fn len(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The minutes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = NaiveDateTime> + '_ {
        self.words.iter().enumerate().filter(|(_, word)| **word != 0).flat_map(move |(i, word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| self.minute_at(i * 64 + bit))
        })
    }

    /// Adds every minute of `other` (same range).
    pub fn union_with(&mut self, other: &MinuteSet) {
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine |= *theirs;
        }
    }

    /// Whether every minute of `self` is in `other` (same range).
    pub fn is_subset(&self, other: &MinuteSet) -> bool {
        self.words.iter().zip(&other.words).all(|(mine, theirs)| mine & !theirs == 0)
    }

    /// Up to `limit` minutes in `self` but not in `other`, for failure messages.
    pub fn missing_from(&self, other: &MinuteSet, limit: usize) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        for (i, (mine, theirs)) in self.words.iter().zip(&other.words).enumerate() {
            let only_mine = mine & !theirs;
            if only_mine == 0 {
                continue;
            }
            for bit in (0..64).filter(|bit| only_mine & (1 << bit) != 0) {
                if out.len() == limit {
                    return out;
                }
                out.push(self.minute_at(i * 64 + bit));
            }
        }
        out
    }
}

/// The result of simulating several triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// The union of all start minutes.
    pub minutes: MinuteSet,
    /// The number of starts counted per trigger; larger than `minutes.len()` when two
    /// triggers (or two repetitions) start in the same minute.
    pub starts: usize,
}

/// Simulates every trigger in `xml` over `from..=to` and returns the union of start minutes.
pub fn simulate(xml: &str, from: NaiveDate, to: NaiveDate) -> Result<MinuteSet, String> {
    Ok(simulate_detailed(xml, from, to)?.minutes)
}

/// [`simulate`], also counting starts that coincide.
pub fn simulate_detailed(xml: &str, from: NaiveDate, to: NaiveDate) -> Result<Simulation, String> {
    Ok(simulate_parsed(&parse_triggers(xml)?, from, to))
}

/// [`simulate_detailed`] for triggers already parsed with [`parse_triggers`].
pub fn simulate_parsed(triggers: &[SimTrigger], from: NaiveDate, to: NaiveDate) -> Simulation {
    simulate_from(triggers, from, to, None)
}

/// [`simulate_parsed`] for a task registered at `registered` (see the module docs): base starts
/// at or before it, and the repetition windows they would open, do not happen.
pub fn simulate_registered(
    triggers: &[SimTrigger],
    from: NaiveDate,
    to: NaiveDate,
    registered: NaiveDateTime,
) -> Simulation {
    simulate_from(triggers, from, to, Some(registered))
}

/// The simulation, with an optional registration instant.
fn simulate_from(
    triggers: &[SimTrigger],
    from: NaiveDate,
    to: NaiveDate,
    registered: Option<NaiveDateTime>,
) -> Simulation {
    let mut minutes = MinuteSet::new(from, to);
    let first = triggers.iter().map(|t| first_base_day(t, from)).min().unwrap_or(from);
    let calendar: Vec<DayInfo> =
        first.iter_days().take_while(|d| *d <= to).map(DayInfo::of).collect();
    let mut starts = 0;
    for trigger in triggers {
        starts += expand(trigger, &mut minutes, &calendar, registered);
    }
    Simulation { minutes, starts }
}

/// [`simulate`] as a sorted list of minutes.
pub fn simulate_minutes(
    xml: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NaiveDateTime>, String> {
    Ok(simulate(xml, from, to)?.iter().collect())
}

/// The start minutes of one trigger over `from..=to`.
pub fn simulate_trigger(trigger: &SimTrigger, from: NaiveDate, to: NaiveDate) -> MinuteSet {
    let mut set = MinuteSet::new(from, to);
    let first = first_base_day(trigger, from);
    let calendar: Vec<DayInfo> =
        first.iter_days().take_while(|d| *d <= to).map(DayInfo::of).collect();
    expand(trigger, &mut set, &calendar, None);
    set
}

/// The earliest base day whose starts can reach into a range beginning on `from`.
fn first_base_day(trigger: &SimTrigger, from: NaiveDate) -> NaiveDate {
    let start_date = trigger.start.date();
    // Repetitions of a base start up to `lookback` days earlier can reach into the range.
    let lookback = match (trigger.interval_seconds, trigger.duration_seconds) {
        (Some(_), None) => (from - start_date).num_days().max(0),
        (_, Some(duration)) => duration / 86_400 + 1,
        (None, None) => 0,
    };
    (from - Duration::days(lookback)).max(start_date)
}

/// Adds one trigger's starts to `set`; returns how many starts it made in the range
/// (coinciding ones included). Base starts at or before `registered` are skipped with their
/// whole repetition series.
fn expand(
    trigger: &SimTrigger,
    set: &mut MinuteSet,
    calendar: &[DayInfo],
    registered: Option<NaiveDateTime>,
) -> usize {
    if !trigger.enabled || set.days == 0 {
        return 0;
    }
    let from = set.from;
    let start = DayInfo::of(trigger.start.date());
    let origin = from.and_time(NaiveTime::MIN);
    let range_end = i64::try_from(set.capacity()).unwrap_or(i64::MAX) * 60;
    let end = trigger.end.map(|end| (end - origin).num_seconds());
    let limit = end.map_or(range_end, |end| end.min(range_end));
    let first = first_base_day(trigger, from);
    let from_number = i64::from(from.num_days_from_ce());
    let pattern = DayPattern::new(trigger);
    let mut starts = 0;
    for date in calendar.iter().filter(|d| d.date >= first) {
        if !trigger.schedule.fires_on_day(date, &start) {
            continue;
        }
        if registered.is_some_and(|r| date.date.and_time(trigger.start.time()) <= r) {
            continue;
        }
        let day = date.number - from_number;
        match &pattern {
            Some(pattern) if day >= 0 && end.is_none() => starts += pattern.apply(set, day),
            _ => {
                let base = (date.date.and_time(trigger.start.time()) - origin).num_seconds();
                starts += expand_series(set, trigger, base, limit);
            }
        }
    }
    starts
}

/// The start minutes one base day produces, as the non-zero 64-minute words of a bitmap
/// relative to that day's midnight, in both alignments a day can have (a day is 22.5 words).
struct DayPattern {
    /// (word index, bits) with bit `m` = minute `m` after midnight.
    aligned: Vec<(usize, u64)>,
    /// (word index, bits) with bit `m + 32` = minute `m` after midnight.
    shifted: Vec<(usize, u64)>,
}

impl DayPattern {
    /// `None` for patterns that are not whole minutes or repeat indefinitely.
    fn new(trigger: &SimTrigger) -> Option<DayPattern> {
        let start = i64::from(trigger.start.num_seconds_from_midnight());
        let (interval, last) = match (trigger.interval_seconds, trigger.duration_seconds) {
            (None, _) => (60, 0),
            (Some(interval), Some(duration)) => (interval, duration),
            (Some(_), None) => return None,
        };
        if start % 60 != 0 || interval % 60 != 0 {
            return None;
        }
        let minutes: Vec<usize> = (0..=last / interval)
            .map(|k| usize::try_from((start + k * interval) / 60).unwrap_or(usize::MAX))
            .collect();
        let sparse = |shift: usize| {
            let mut words: Vec<(usize, u64)> = Vec::new();
            for m in &minutes {
                let (index, bit) = ((m + shift) / 64, (m + shift) % 64);
                match words.last_mut() {
                    Some((last, bits)) if *last == index => *bits |= 1 << bit,
                    _ => words.push((index, 1 << bit)),
                }
            }
            words
        };
        Some(DayPattern { aligned: sparse(0), shifted: sparse(32) })
    }

    /// ORs the pattern into `set` for base day `day` (≥ 0); returns the starts in range.
    fn apply(&self, set: &mut MinuteSet, day: i64) -> usize {
        let bit = usize::try_from(day).unwrap_or(0) * 1440;
        let words = if bit % 64 == 0 { &self.aligned } else { &self.shifted };
        let capacity = set.capacity();
        let mut starts = 0;
        for (offset, word) in words {
            let index = bit / 64 + offset;
            if index * 64 >= capacity {
                break;
            }
            let mut word = *word;
            if (index + 1) * 64 > capacity {
                word &= (1u64 << (capacity - index * 64)) - 1;
            }
            starts += word.count_ones() as usize;
            set.words[index] |= word;
        }
        starts
    }
}

/// Adds base + k·interval for k ≥ 0 within the duration and before `limit` seconds; returns
/// the number of starts in range.
fn expand_series(set: &mut MinuteSet, trigger: &SimTrigger, base: i64, limit: i64) -> usize {
    let Some(interval) = trigger.interval_seconds else {
        return usize::from(add_second(set, base, limit));
    };
    let last_offset = trigger.duration_seconds.unwrap_or(i64::MAX);
    let mut starts = 0;
    let mut offset = 0i64;
    while offset <= last_offset && base + offset < limit {
        let second = base + offset;
        // Without a Duration, every series runs to the end of the range; once it meets a
        // minute an earlier series of this trigger already holds, the rest coincides too.
        if trigger.duration_seconds.is_none()
            && second >= 0
            && set.contains_index(minute_index(second))
        {
            return starts;
        }
        starts += usize::from(add_second(set, second, limit));
        offset += interval;
    }
    starts
}

/// Adds the minute containing `second` (seconds since the range origin) when in range.
fn add_second(set: &mut MinuteSet, second: i64, limit: i64) -> bool {
    if second >= 0 && second < limit {
        set.insert_index(minute_index(second));
        return true;
    }
    false
}

/// Minute index of a non-negative second offset.
fn minute_index(second: i64) -> usize {
    usize::try_from(second.div_euclid(60)).unwrap_or(usize::MAX)
}

//! Cron expression → Windows Task Scheduler triggers (docs/design/cron-mapping.md §4).
//!
//! Every expression splits into *time-of-day arithmetic progressions* × *day selectors*:
//!
//! 1. **Day selectors.** `allDays` is `ScheduleByDay(1)` (or `ScheduleByMonth(1..31, months)`
//!    when months are restricted); `byDom(D)` is `ScheduleByMonth(D, months)`; `byDow(W)` is
//!    `ScheduleByWeek(W)` (or `ScheduleByMonthDayOfWeek(weeks 1–4 + Last, W, months)` when
//!    months are restricted).
//!    * AND case (a day field starts with `*`): both full → `allDays`; D full → `byDow`;
//!      W full → `byDom`; D a union of the week blocks 1–7/8–14/15–21/22–28 →
//!      `ScheduleByMonthDayOfWeek(those weeks, W)`; otherwise Task Scheduler cannot express
//!      the set, and the smaller of `byDom` and `byDow` is used as a superset (`exact =
//!      false`; the runner checks the expression).
//!    * OR case: D or W full → `allDays`; otherwise `byDom` **and** `byDow`
//!      (`may_duplicate`: a date in both starts two triggers in the same minute).
//! 2. **Times.** T = {60·h + m}. Three partitions into arithmetic progressions are tried —
//!    greedy longest-first on T, one per minute value over the hours, one per hour over the
//!    minutes — and the smallest kept. A progression (t0, step, count) becomes a trigger at
//!    t0 with `Repetition(Interval = step, Duration = (count − 1)·step + step/2)` when
//!    count > 1; the half-step margin gives the same number of starts whether the end is
//!    inclusive or not. Progressions never cross midnight.
//! 3. **Limit.** Triggers = progressions × selectors. When that exceeds [`MAX_TRIGGERS`], the
//!    plan switches to the superset with the fewest extra starts among a few coarsenings
//!    (arithmetic hulls of the minutes, of the hours, of both, of all times; merging two day
//!    selectors into one) that fit, and says so in `notes` (`exact = false`).
//!
//! [`plan`] never fails and never returns more than [`MAX_TRIGGERS`] triggers.

use chrono::{Datelike, NaiveDate, NaiveTime};
use serde::Serialize;

use super::describe::{bit_values, number_list, weekday_names};
use super::schedule::{MINUTES_PER_DAY, days_in_month, time_of};
use super::{ALL_DOM, ALL_DOW, ALL_MONTHS, CronExpr};

/// Task Scheduler's limit on triggers per task.
pub const MAX_TRIGGERS: usize = 48;

/// `weeks` bit for the last seven days of a month in [`DaySelector::MonthlyDayOfWeek`].
pub const WEEK_LAST: u8 = 1 << 5;

/// `weeks` bits 1–4 plus Last: together they cover every day of every month.
pub const ALL_WEEKS: u8 = 0b0011_1110;

/// The triggers for one expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TriggerPlan {
    /// At most [`MAX_TRIGGERS`], never empty.
    pub triggers: Vec<Trigger>,
    /// `true` when the triggers start exactly at the expression's slots (ignoring duplicate
    /// starts in the same minute); `false` when they start on a superset that
    /// `orc execute --scheduled` filters.
    pub exact: bool,
    /// `true` when two triggers can start in the same minute (the OR day rule); the runner
    /// de-duplicates by scheduled minute.
    pub may_duplicate: bool,
    /// Plain-English remarks for `orc cron explain`: supersets, duplicates, never-firing.
    pub notes: Vec<String>,
}

/// One `CalendarTrigger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// Local time of day of the first start (the time part of `StartBoundary`).
    pub start: NaiveTime,
    /// Repeated starts after `start` on the same day.
    pub repetition: Option<Repetition>,
    /// Which days the trigger fires.
    pub days: DaySelector,
}

/// A `Repetition` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Repetition {
    /// `Interval`, in minutes (at least 1).
    pub interval_minutes: u32,
    /// `Duration`, in seconds: (count − 1)·interval + interval/2.
    pub duration_seconds: u32,
}

/// The schedule part of a `CalendarTrigger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum DaySelector {
    /// `ScheduleByDay` with `DaysInterval` 1.
    Daily,
    /// `ScheduleByWeek` with `WeeksInterval` 1; bit 0 = Sunday … bit 6 = Saturday.
    Weekly {
        /// Weekday bits.
        days: u8,
    },
    /// `ScheduleByMonth`.
    Monthly {
        /// Day-of-month bits 1..=31.
        days: u32,
        /// Month bits 1..=12.
        months: u16,
    },
    /// `ScheduleByMonthDayOfWeek`.
    MonthlyDayOfWeek {
        /// Week bits 1..=4 (days 1–7, 8–14, 15–21, 22–28) and [`WEEK_LAST`] (the last seven
        /// days of the month).
        weeks: u8,
        /// Weekday bits, bit 0 = Sunday.
        days: u8,
        /// Month bits 1..=12.
        months: u16,
    },
}

impl DaySelector {
    /// Whether Task Scheduler fires this selector on `date`.
    pub fn fires_on(&self, date: NaiveDate) -> bool {
        self.fires_on_parts(CalendarDay {
            day: date.day(),
            month: date.month(),
            weekday: date.weekday().num_days_from_sunday(),
            month_length: days_in_month(date.year(), date.month()),
        })
    }

    /// [`DaySelector::fires_on`] on a date given by its parts.
    fn fires_on_parts(&self, date: CalendarDay) -> bool {
        let weekday_bit = 1u8 << date.weekday;
        let month_bit = 1u16 << date.month;
        match *self {
            DaySelector::Daily => true,
            DaySelector::Weekly { days } => days & weekday_bit != 0,
            DaySelector::Monthly { days, months } => {
                months & month_bit != 0 && days & (1 << date.day) != 0
            }
            DaySelector::MonthlyDayOfWeek { weeks, days, months } => {
                let day = date.day;
                let in_numbered_week = day <= 28 && weeks & (1 << ((day - 1) / 7 + 1)) != 0;
                let in_last_week = weeks & WEEK_LAST != 0 && day + 7 > date.month_length;
                months & month_bit != 0
                    && days & weekday_bit != 0
                    && (in_numbered_week || in_last_week)
            }
        }
    }
}

/// A date by its parts, for fast calendar walks.
#[derive(Debug, Clone, Copy)]
struct CalendarDay {
    /// 1..=31.
    day: u32,
    /// 1..=12.
    month: u32,
    /// 0 = Sunday.
    weekday: u32,
    /// Days in the month.
    month_length: u32,
}

/// An arithmetic progression of minutes of the day: `start`, `start + step`, … (`count`
/// values, all below 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Progression {
    start: u32,
    step: u32,
    count: u32,
}

impl Progression {
    /// The trigger for this progression on `days`.
    fn trigger(self, days: DaySelector) -> Trigger {
        let repetition = (self.count > 1).then(|| Repetition {
            interval_minutes: self.step,
            duration_seconds: (self.count - 1) * self.step * 60 + self.step * 30,
        });
        Trigger { start: time_of(self.start), repetition, days }
    }
}

/// Builds the trigger plan for `expr`; see the module docs. Never fails.
pub fn plan(expr: &CronExpr) -> TriggerPlan {
    let days = day_plan(expr);
    let minutes = bit_values(expr.minutes);
    let hours = bit_values(u64::from(expr.hours));
    let exact_times = TimeOption::exact(&hours, &minutes);
    let needed = exact_times.progressions.len() * days.selectors.len();
    let (times, days, merged) = if needed <= MAX_TRIGGERS {
        (exact_times, days, false)
    } else {
        coarsen(expr, &hours, &minutes, days)
    };
    let triggers: Vec<Trigger> = days
        .selectors
        .iter()
        .flat_map(|selector| times.progressions.iter().map(|p| p.trigger(*selector)))
        .collect();
    let may_duplicate = days.selectors.len() > 1;
    let mut notes = Vec::new();
    if expr.never_fires() {
        notes.push(
            "This expression never fires (no such date exists), so its triggers never start \
             either."
                .to_owned(),
        );
    }
    if !days.exact {
        notes.push(format!(
            "Task Scheduler cannot require both a day of the month and a day of the week, so \
             the triggers fire on {}, and `orc execute --scheduled` skips the days that do not \
             match both fields.",
            superset_days(&days.selectors)
        ));
    }
    if merged {
        notes.push(
            "The triggers fire every day (instead of separate day-of-month and day-of-week \
             triggers) to stay within Task Scheduler's limit of 48 triggers; `orc execute \
             --scheduled` skips the days the expression does not contain."
                .to_owned(),
        );
    }
    if !times.exact {
        notes.push(format!(
            "The exact schedule needs {needed} triggers, more than Task Scheduler's limit of \
             {MAX_TRIGGERS}; orc registers {} triggers that start {} times a day instead of {}, \
             and `orc execute --scheduled` skips the starts that are not in the expression.",
            triggers.len(),
            times.points,
            hours.len() * minutes.len(),
        ));
    }
    if may_duplicate {
        notes.push(
            "The day-of-month and day-of-week fields are ORed: on a date that matches both, two \
             triggers start in the same minute, and `orc execute --scheduled` runs the task \
             once."
                .to_owned(),
        );
    }
    TriggerPlan { triggers, exact: days.exact && times.exact && !merged, may_duplicate, notes }
}

/// The days a superset selector fires on, for the notes: `every Saturday and Sunday`,
/// `day 1, 16 and 31 of the month`.
fn superset_days(selectors: &[DaySelector]) -> String {
    match selectors.first() {
        Some(DaySelector::Monthly { days, .. }) => {
            format!("day {} of the month", number_list(&bit_values(u64::from(*days))))
        }
        Some(DaySelector::Weekly { days } | DaySelector::MonthlyDayOfWeek { days, .. }) => {
            format!("every {}", weekday_names(*days, "and"))
        }
        _ => "every day".to_owned(),
    }
}

/// Day selectors and whether they fire on exactly the expression's days.
#[derive(Debug, Clone)]
struct DayPlan {
    selectors: Vec<DaySelector>,
    exact: bool,
}

/// Step 2 of docs/design/cron-mapping.md §4.
fn day_plan(expr: &CronExpr) -> DayPlan {
    let (dom, dow, months) = (expr.dom, expr.dow, expr.months);
    let all_days = if months == ALL_MONTHS {
        DaySelector::Daily
    } else {
        DaySelector::Monthly { days: ALL_DOM, months }
    };
    let by_dom = DaySelector::Monthly { days: dom, months };
    let by_dow = if months == ALL_MONTHS {
        DaySelector::Weekly { days: dow }
    } else {
        DaySelector::MonthlyDayOfWeek { weeks: ALL_WEEKS, days: dow, months }
    };
    let exact = |selectors: Vec<DaySelector>| DayPlan { selectors, exact: true };
    let (dom_full, dow_full) = (dom == ALL_DOM, dow == ALL_DOW);
    if !expr.days_are_anded() {
        return if dom_full || dow_full {
            exact(vec![all_days])
        } else {
            exact(vec![by_dom, by_dow])
        };
    }
    match (dom_full, dow_full) {
        (true, true) => exact(vec![all_days]),
        (true, false) => exact(vec![by_dow]),
        (false, true) => exact(vec![by_dom]),
        (false, false) => match week_blocks(dom) {
            Some(weeks) => exact(vec![DaySelector::MonthlyDayOfWeek { weeks, days: dow, months }]),
            None => {
                let smaller =
                    if day_count(&[by_dow]) < day_count(&[by_dom]) { by_dow } else { by_dom };
                DayPlan { selectors: vec![smaller], exact: false }
            }
        },
    }
}

/// The week bits when `dom` is exactly a union of the blocks 1–7, 8–14, 15–21, 22–28.
fn week_blocks(dom: u32) -> Option<u8> {
    let block = |week: u32| 0x7Fu32 << (7 * (week - 1) + 1);
    let mut weeks = 0u8;
    let mut covered = 0u32;
    for week in 1..=4u32 {
        if dom & block(week) == block(week) {
            weeks |= 1 << week;
            covered |= block(week);
        }
    }
    (weeks != 0 && covered == dom).then_some(weeks)
}

/// How many days of a reference span (2024–2027, one leap year) any selector fires on.
fn day_count(selectors: &[DaySelector]) -> usize {
    // 2024-01-01 was a Monday.
    let mut weekday = 1;
    let mut count = 0;
    for year in 2024..=2027 {
        for month in 1..=12 {
            let month_length = days_in_month(year, month);
            for day in 1..=month_length {
                let date = CalendarDay { day, month, weekday, month_length };
                if selectors.iter().any(|s| s.fires_on_parts(date)) {
                    count += 1;
                }
                weekday = (weekday + 1) % 7;
            }
        }
    }
    count
}

/// A set of times of day and its partition into progressions.
#[derive(Debug, Clone)]
struct TimeOption {
    progressions: Vec<Progression>,
    /// How many starts a day the progressions make.
    points: usize,
    /// Whether the starts are exactly the expression's times.
    exact: bool,
}

impl TimeOption {
    /// The expression's own times, hours × minutes.
    fn exact(hours: &[u32], minutes: &[u32]) -> TimeOption {
        TimeOption {
            progressions: partition_grid(hours, minutes),
            points: hours.len() * minutes.len(),
            exact: true,
        }
    }

    /// A superset of times, hours × minutes, from hulls.
    fn coarse(hours: &[u32], minutes: &[u32]) -> TimeOption {
        TimeOption { exact: false, ..TimeOption::exact(hours, minutes) }
    }
}

/// Step 4: the cheapest superset that fits in [`MAX_TRIGGERS`]. Returns the times, the days,
/// and whether two day selectors were merged into one.
fn coarsen(
    expr: &CronExpr,
    hours: &[u32],
    minutes: &[u32],
    days: DayPlan,
) -> (TimeOption, DayPlan, bool) {
    let (hour_hull, minute_hull) = (hull(hours), hull(minutes));
    let mut times: Vec<TimeOption> = vec![
        TimeOption::exact(hours, minutes),
        TimeOption::coarse(hours, &minute_hull),
        TimeOption::coarse(&hour_hull, minutes),
        TimeOption::coarse(&hour_hull, &minute_hull),
        whole_hull(hours, minutes),
    ];
    for budget in [MAX_TRIGGERS, MAX_TRIGGERS / 2] {
        times.extend(grouped_rows(hours, minutes, budget));
        times.extend(grouped_columns(hours, minutes, budget));
    }
    let mut day_options = vec![(days.clone(), false)];
    if days.selectors.len() > 1 {
        let all_days = if expr.months == ALL_MONTHS {
            DaySelector::Daily
        } else {
            DaySelector::Monthly { days: ALL_DOM, months: expr.months }
        };
        day_options.push((DayPlan { selectors: vec![all_days], exact: false }, true));
    }
    let mut best: Option<(usize, usize, TimeOption, DayPlan, bool)> = None;
    for (day_plan, merged) in &day_options {
        let day_total = day_count(&day_plan.selectors);
        for time in &times {
            let count = time.progressions.len() * day_plan.selectors.len();
            if count > MAX_TRIGGERS {
                continue;
            }
            let cost = time.points * day_total;
            let better = best.as_ref().is_none_or(|(best_cost, best_count, ..)| {
                (cost, count) < (*best_cost, *best_count)
            });
            if better {
                best = Some((cost, count, time.clone(), day_plan.clone(), *merged));
            }
        }
    }
    match best {
        Some((_, _, time, day_plan, merged)) => (time, day_plan, merged),
        // Unreachable: the whole hull is one progression and there are at most two
        // selectors. Kept total anyway.
        None => (whole_hull(hours, minutes), days, false),
    }
}

/// Every selected hour, with the minutes covered by at most `budget / hours` progressions:
/// the hulls of an optimal split of the minutes into consecutive groups.
fn grouped_rows(hours: &[u32], minutes: &[u32], budget: usize) -> Option<TimeOption> {
    let groups = group_hulls(minutes, budget / hours.len().max(1))?;
    let mut progressions = each_hour(hours, &groups);
    progressions.sort();
    let points = hours.len() * groups.iter().map(|g| g.count as usize).sum::<usize>();
    Some(TimeOption { progressions, points, exact: false })
}

/// Every selected minute, with the hours covered by at most `budget / minutes` progressions.
fn grouped_columns(hours: &[u32], minutes: &[u32], budget: usize) -> Option<TimeOption> {
    let groups = group_hulls(hours, budget / minutes.len().max(1))?;
    let mut progressions = each_minute(minutes, &groups);
    progressions.sort();
    let points = minutes.len() * groups.iter().map(|g| g.count as usize).sum::<usize>();
    Some(TimeOption { progressions, points, exact: false })
}

/// Splits `values` (sorted) into at most `groups` runs of consecutive values so that the
/// hulls of the runs hold as few values as possible (dynamic programming); returns the hulls.
/// `None` when `groups` is 0.
fn group_hulls(values: &[u32], groups: usize) -> Option<Vec<Progression>> {
    let n = values.len();
    if groups == 0 || n == 0 {
        return None;
    }
    let groups = groups.min(n);
    let hull_of = |i: usize, j: usize| {
        let step = values[i..=j].iter().fold(0, |g, v| gcd(g, v - values[i]));
        let count = (values[j] - values[i]).checked_div(step).map_or(1, |n| n + 1);
        Progression { start: values[i], step: step.max(1), count }
    };
    // best[g][j]: (size, split) for values[..j] in g groups.
    let mut best = vec![vec![(usize::MAX, 0usize); n + 1]; groups + 1];
    best[0][0] = (0, 0);
    for g in 1..=groups {
        for j in 1..=n {
            for i in (g - 1)..j {
                let (before, _) = best[g - 1][i];
                if before == usize::MAX {
                    continue;
                }
                let size = before + hull_of(i, j - 1).count as usize;
                if size < best[g][j].0 {
                    best[g][j] = (size, i);
                }
            }
        }
    }
    let used = (1..=groups).min_by_key(|g| best[*g][n].0)?;
    let mut result = Vec::new();
    let (mut g, mut j) = (used, n);
    while g > 0 {
        let i = best[g][j].1;
        result.push(hull_of(i, j - 1));
        (g, j) = (g - 1, i);
    }
    result.reverse();
    Some(result)
}

/// One progression covering every time of day in hours × minutes.
fn whole_hull(hours: &[u32], minutes: &[u32]) -> TimeOption {
    let points: Vec<u32> =
        hours.iter().flat_map(|h| minutes.iter().map(move |m| h * 60 + m)).collect();
    let values = hull(&points);
    let progression = match values[..] {
        [first, second, ..] => Progression {
            start: first,
            step: second - first,
            count: u32::try_from(values.len()).unwrap_or(1),
        },
        _ => Progression { start: values.first().copied().unwrap_or(0), step: 1, count: 1 },
    };
    TimeOption { progressions: vec![progression], points: values.len(), exact: false }
}

/// The smallest arithmetic progression containing `values` (sorted): from the first to the
/// last value, stepping by the gcd of the differences.
fn hull(values: &[u32]) -> Vec<u32> {
    let (Some(&first), Some(&last)) = (values.first(), values.last()) else {
        return Vec::new();
    };
    let step = values.iter().fold(0, |g, v| gcd(g, v - first));
    if step == 0 {
        return vec![first];
    }
    (first..=last).step_by(step as usize).collect()
}

/// Greatest common divisor.
fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Step 3: the smallest of the three partitions of hours × minutes, sorted by start.
fn partition_grid(hours: &[u32], minutes: &[u32]) -> Vec<Progression> {
    let points: Vec<u32> =
        hours.iter().flat_map(|h| minutes.iter().map(move |m| h * 60 + m)).collect();
    let greedy_all = greedy_partition(&points, MINUTES_PER_DAY);
    let hour_runs = greedy_partition(hours, 24);
    let minute_runs = greedy_partition(minutes, 60);
    let per_minute = each_minute(minutes, &hour_runs);
    let per_hour = each_hour(hours, &minute_runs);
    let mut best =
        [greedy_all, per_minute, per_hour].into_iter().min_by_key(Vec::len).unwrap_or_default();
    best.sort();
    best
}

/// For each of `hours`, its minutes of the day along each of `minute_runs` (progressions of
/// minutes within an hour), hour by hour.
fn each_hour(hours: &[u32], minute_runs: &[Progression]) -> Vec<Progression> {
    hours
        .iter()
        .flat_map(|h| {
            minute_runs.iter().map(move |p| Progression { start: h * 60 + p.start, ..*p })
        })
        .collect()
}

/// For each of `minutes`, its minutes of the day along each of `hour_runs` (progressions of
/// hours), minute by minute.
fn each_minute(minutes: &[u32], hour_runs: &[Progression]) -> Vec<Progression> {
    minutes
        .iter()
        .flat_map(|m| {
            hour_runs.iter().map(move |p| Progression {
                start: p.start * 60 + m,
                step: p.step * 60,
                count: p.count,
            })
        })
        .collect()
}

/// Partitions `values` (sorted, distinct, all below `universe`) into arithmetic progressions,
/// repeatedly taking the longest progression among the values not yet covered.
fn greedy_partition(values: &[u32], universe: u32) -> Vec<Progression> {
    let mut remaining = vec![false; universe as usize];
    for v in values {
        remaining[*v as usize] = true;
    }
    let mut left: Vec<u32> = values.to_vec();
    let mut result = Vec::new();
    while !left.is_empty() {
        let best = longest_progression(&left, &remaining, universe);
        let mut value = best.start;
        for _ in 0..best.count {
            remaining[value as usize] = false;
            value += best.step;
        }
        left.retain(|v| remaining[*v as usize]);
        result.push(best);
    }
    result
}

/// The longest progression inside `left` (sorted, non-empty; `remaining` is its membership
/// table); ties go to the smallest start, then the smallest step.
fn longest_progression(left: &[u32], remaining: &[bool], universe: u32) -> Progression {
    let mut best = Progression { start: left[0], step: 1, count: 1 };
    for (i, &start) in left.iter().enumerate() {
        if u32::try_from(left.len() - i).unwrap_or(u32::MAX) <= best.count {
            break;
        }
        for &second in &left[i + 1..] {
            let step = second - start;
            if (universe - 1 - start) / step < best.count {
                break;
            }
            if start >= step && remaining[(start - step) as usize] {
                continue; // not the first term of a maximal progression
            }
            let mut count = 2;
            let mut next = second + step;
            while next < universe && remaining[next as usize] {
                count += 1;
                next += step;
            }
            if count > best.count {
                best = Progression { start, step, count };
            }
        }
    }
    best
}

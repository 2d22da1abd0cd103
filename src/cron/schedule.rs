//! Matching and the bounded next/previous search, on naive local wall-clock minutes.
//!
//! The search walks days (skipping whole months that the month field excludes), tests each
//! day with cronie's day rule, then picks the first or last matching minute of that day with
//! bit operations. It gives up after [`SEARCH_DAYS`] days, which is longer than the longest
//! possible wait between two fires of a firing expression (Feb 29 on a given weekday recurs
//! within 40 years); expressions that can never fire are detected analytically first, so the
//! search is always short.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::CronExpr;

/// How far `next_after` / `prev_at_or_before` look: 100 years of days.
pub(crate) const SEARCH_DAYS: i64 = 36_525;

/// Minutes in a day.
pub(crate) const MINUTES_PER_DAY: u32 = 1440;

impl CronExpr {
    /// Whether `t` (truncated to the minute) is one of the expression's slots.
    pub fn matches(&self, t: NaiveDateTime) -> bool {
        self.hours & (1 << t.hour()) != 0
            && self.minutes & (1 << t.minute()) != 0
            && self.day_matches(t.date())
    }

    /// The first slot strictly after `t` (naive wall clock, minute resolution), or `None` when
    /// there is none within 100 years (or before the end of chrono's calendar).
    pub fn next_after(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        if self.never_fires() {
            return None;
        }
        let start = floor_minute(t).checked_add_signed(Duration::minutes(1))?;
        let limit = start.date().checked_add_signed(Duration::days(SEARCH_DAYS));
        let mut date = start.date();
        let mut from = minute_of_day(start);
        while limit.is_none_or(|limit| date <= limit) {
            if !self.month_matches(date.month()) {
                date = first_of_next_month(date)?;
                from = 0;
                continue;
            }
            if self.day_matches(date)
                && let Some(minute) = self.first_minute_from(from)
            {
                return Some(date.and_time(time_of(minute)));
            }
            date = date.succ_opt()?;
            from = 0;
        }
        None
    }

    /// The latest slot at or before `t` truncated to the minute, or `None` when there is none
    /// within 100 years (or after the start of chrono's calendar).
    pub fn prev_at_or_before(&self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        if self.never_fires() {
            return None;
        }
        let start = floor_minute(t);
        let limit = start.date().checked_sub_signed(Duration::days(SEARCH_DAYS));
        let mut date = start.date();
        let mut upto = minute_of_day(start);
        while limit.is_none_or(|limit| date >= limit) {
            if !self.month_matches(date.month()) {
                date = last_of_previous_month(date)?;
                upto = MINUTES_PER_DAY - 1;
                continue;
            }
            if self.day_matches(date)
                && let Some(minute) = self.last_minute_upto(upto)
            {
                return Some(date.and_time(time_of(minute)));
            }
            date = date.pred_opt()?;
            upto = MINUTES_PER_DAY - 1;
        }
        None
    }

    /// Whether the expression can never fire because no date satisfies it, e.g. `0 0 31 2 *`
    /// or `0 0 30 2 *`.
    ///
    /// Analytic: the minute and hour sets are never empty, and in the OR case every weekday
    /// fires. In the AND case a fire exists exactly when some selected month has a selected
    /// day-of-month (every month/day pair, Feb 29 included, falls on every weekday within a
    /// 400-year Gregorian cycle).
    pub fn never_fires(&self) -> bool {
        if !self.days_are_anded() {
            return false;
        }
        !(1..=12u32).any(|month| {
            self.month_matches(month) && self.dom & days_upto(max_days_in_month(month)) != 0
        })
    }

    /// cronie's day rule (cron.c): month always restricts; with a star flag both day fields
    /// must match, otherwise either.
    pub(crate) fn day_matches(&self, date: NaiveDate) -> bool {
        if !self.month_matches(date.month()) {
            return false;
        }
        let in_dom = self.dom & (1 << date.day()) != 0;
        let in_dow = self.dow & (1 << date.weekday().num_days_from_sunday()) != 0;
        if self.days_are_anded() { in_dom && in_dow } else { in_dom || in_dow }
    }

    /// Whether `month` (1–12) is selected.
    pub(crate) fn month_matches(&self, month: u32) -> bool {
        self.months & (1 << month) != 0
    }

    /// The first minute-of-day `>= from` whose hour and minute are both selected.
    pub(crate) fn first_minute_from(&self, from: u32) -> Option<u32> {
        let (first_hour, first_minute) = (from / 60, from % 60);
        (first_hour..24).find_map(|hour| {
            if self.hours & (1 << hour) == 0 {
                return None;
            }
            let floor = if hour == first_hour { first_minute } else { 0 };
            let candidates = self.minutes & (u64::MAX << floor);
            (candidates != 0).then(|| hour * 60 + candidates.trailing_zeros())
        })
    }

    /// The last minute-of-day `<= upto` whose hour and minute are both selected.
    pub(crate) fn last_minute_upto(&self, upto: u32) -> Option<u32> {
        let (last_hour, last_minute) = (upto / 60, upto % 60);
        (0..=last_hour).rev().find_map(|hour| {
            if self.hours & (1 << hour) == 0 {
                return None;
            }
            let ceiling = if hour == last_hour { last_minute } else { 59 };
            let candidates = self.minutes & (u64::MAX >> (63 - ceiling));
            (candidates != 0).then(|| hour * 60 + (63 - candidates.leading_zeros()))
        })
    }
}

/// `t` with seconds and fractions dropped.
pub(crate) fn floor_minute(t: NaiveDateTime) -> NaiveDateTime {
    t.date().and_time(NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap_or(NaiveTime::MIN))
}

/// Minutes since midnight.
pub(crate) fn minute_of_day(t: NaiveDateTime) -> u32 {
    t.hour() * 60 + t.minute()
}

/// The time of day of a minute-of-day below 1440.
pub(crate) fn time_of(minute_of_day: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(minute_of_day / 60, minute_of_day % 60, 0).unwrap_or(NaiveTime::MIN)
}

/// The longest a month can be (February counts 29).
pub(crate) fn max_days_in_month(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The number of days in `month` of `year`.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        other => max_days_in_month(other),
    }
}

/// Bits 1..=days.
pub(crate) fn days_upto(days: u32) -> u32 {
    (u32::MAX >> (31 - days)) & !1
}

/// The first day of the month after `date`'s.
fn first_of_next_month(date: NaiveDate) -> Option<NaiveDate> {
    let (year, month) =
        if date.month() == 12 { (date.year() + 1, 1) } else { (date.year(), date.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// The last day of the month before `date`'s.
fn last_of_previous_month(date: NaiveDate) -> Option<NaiveDate> {
    date.with_day(1)?.pred_opt()
}

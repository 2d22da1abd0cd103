//! "Next Run Time": the earliest firing of any enabled time-based trigger strictly after
//! now, honouring StartBoundary, EndBoundary, the schedule pattern and Repetition
//! (end-inclusive, §4.4). Weeks of `ScheduleByWeek` are counted from the Sunday of the
//! week that contains the StartBoundary ([U]).

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};

use crate::model::{Repetition, Sched, TaskDef, TrigKind, Trigger};

pub(crate) fn next_run(def: &TaskDef, now: NaiveDateTime) -> Option<NaiveDateTime> {
    if !def.settings.enabled {
        return None;
    }
    def.triggers.iter().filter(|t| t.enabled).filter_map(|t| next_for(t, now)).min()
}

fn days_in_month(d: NaiveDate) -> u32 {
    let (y, m) = (d.year(), d.month());
    let first_next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    first_next.and_then(|f| f.pred_opt()).map(|l| l.day()).unwrap_or(31)
}

fn sunday_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_sunday()))
}

fn matches(s: &Sched, first: NaiveDate, d: NaiveDate) -> bool {
    if d < first {
        return false;
    }
    let wd = d.weekday().num_days_from_sunday() as usize;
    match s {
        Sched::Day { interval } => (d - first).num_days() % (*interval).max(1) == 0,
        Sched::Week { interval, days } => {
            let weeks = (sunday_of(d) - sunday_of(first)).num_days() / 7;
            days[wd] && weeks % (*interval).max(1) == 0
        }
        Sched::Month { days, months } => {
            months[d.month0() as usize]
                && (days.contains(&d.day()) || (days.contains(&32) && d.day() == days_in_month(d)))
        }
        Sched::MonthDow { weeks, days, months } => {
            if !months[d.month0() as usize] || !days[wd] {
                return false;
            }
            let nth = ((d.day() - 1) / 7) as usize;
            let is_last = d.day() + 7 > days_in_month(d);
            (nth < 4 && weeks[nth]) || (weeks[4] && is_last)
        }
    }
}

/// Next firing of a repetition chain that started at `base`.
fn chain_next(
    base: NaiveDateTime,
    rep: Option<&Repetition>,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    if base > now {
        return Some(base);
    }
    let r = rep?;
    if r.interval <= 0 {
        return None;
    }
    let elapsed = (now - base).num_seconds();
    let k = elapsed / r.interval + 1;
    let offset = k.checked_mul(r.interval)?;
    if r.duration.is_some_and(|d| offset > d) {
        return None;
    }
    Some(base + Duration::seconds(offset))
}

fn next_for(t: &Trigger, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let start = t.start?;
    let within = |x: &NaiveDateTime| t.end.is_none_or(|e| *x <= e);
    let rep = t.repetition.as_ref();
    match &t.kind {
        TrigKind::Time => chain_next(start, rep, now).filter(within),
        TrigKind::Calendar(s) => {
            let first = start.date();
            let scan_from = first.max(now.date() - Duration::days(400));
            let horizon = now.date() + Duration::days(5 * 366 + 31);
            let mut recent: Vec<NaiveDateTime> = Vec::new();
            let mut best: Option<NaiveDateTime> = None;
            let mut d = scan_from;
            while d <= horizon {
                if matches(s, first, d) {
                    let base = d.and_time(start.time());
                    if base <= now {
                        recent.push(base);
                        if recent.len() > 3 {
                            recent.remove(0);
                        }
                    } else {
                        if within(&base) {
                            best = Some(base);
                        }
                        break;
                    }
                }
                d = match d.succ_opt() {
                    Some(n) => n,
                    None => break,
                };
            }
            for b in recent {
                if let Some(c) = chain_next(b, rep, now).filter(within) {
                    best = Some(best.map_or(c, |x| x.min(c)));
                }
            }
            best
        }
        _ => None,
    }
}

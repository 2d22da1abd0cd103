//! Expected run times of a cron schedule inside a time window: the single seam between the
//! report and the cron engine.

use chrono::{DateTime, Duration, Local, NaiveDateTime, TimeZone, Timelike};

/// Every scheduled run time in `[from, to)`, at most `cap` of them; `Err` with the reason
/// when the expression is not valid.
pub fn slots_between(
    schedule: &str,
    from: DateTime<Local>,
    to: DateTime<Local>,
    cap: usize,
) -> Result<Vec<DateTime<Local>>, String> {
    let expr = mini::Expr::parse(schedule)?;
    let mut out = Vec::new();
    if to <= from {
        return Ok(out);
    }
    // Walk wall-clock minutes; a minute that does not exist (DST gap) is skipped, a repeated
    // one (DST overlap) counts once, at its first occurrence.
    let start = from.naive_local().with_second(0).and_then(|t| t.with_nanosecond(0));
    let Some(mut t) = start else { return Ok(out) };
    if t < from.naive_local() {
        t += Duration::minutes(1);
    }
    let end = to.naive_local() + Duration::hours(3);
    while t < end && out.len() < cap {
        if expr.matches(t)
            && let Some(at) = Local.from_local_datetime(&t).earliest()
            && at >= from
            && at < to
        {
            out.push(at);
        }
        t += Duration::minutes(1);
    }
    Ok(out)
}

/// A compact cronie-compatible matcher (five fields, names, steps, macros, the day rule).
mod mini {
    use super::*;
    use chrono::Datelike;

    pub(super) struct Expr {
        minutes: u64,
        hours: u64,
        dom: u64,
        months: u64,
        dow: u64,
        and_days: bool,
    }

    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    fn value(tok: &str, names: &[&str], base: u32) -> Option<u32> {
        if let Ok(v) = tok.parse::<u32>() {
            return Some(v);
        }
        let lower = tok.to_ascii_lowercase();
        names.iter().position(|n| *n == lower).map(|i| i as u32 + base)
    }

    fn field(text: &str, lo: u32, hi: u32, names: &[&str], base: u32) -> Result<u64, String> {
        let mut bits = 0u64;
        for item in text.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0).ok_or("bad step")?),
                None => (item, 1),
            };
            let (a, b) = if range == "*" {
                (lo, hi)
            } else if let Some((a, b)) = range.split_once('-') {
                (
                    value(a, names, base).ok_or("bad value")?,
                    value(b, names, base).ok_or("bad value")?,
                )
            } else {
                let v = value(range, names, base).ok_or("bad value")?;
                (v, if item.contains('/') { hi } else { v })
            };
            let b = if names.len() == 7 && b == 0 && a > 0 { 7 } else { b };
            if a < lo || b > hi || a > b {
                return Err(format!("{item:?} is out of range {lo}-{hi}"));
            }
            let mut v = a;
            while v <= b {
                bits |= 1 << v;
                v += step;
            }
        }
        Ok(bits)
    }

    impl Expr {
        pub(super) fn parse(text: &str) -> Result<Expr, String> {
            let t = text.trim();
            let expanded = match t.to_ascii_lowercase().as_str() {
                "@yearly" | "@annually" => "0 0 1 1 *".to_string(),
                "@monthly" => "0 0 1 * *".to_string(),
                "@weekly" => "0 0 * * 0".to_string(),
                "@daily" | "@midnight" => "0 0 * * *".to_string(),
                "@hourly" => "0 * * * *".to_string(),
                _ => t.to_string(),
            };
            let f: Vec<&str> = expanded.split_whitespace().collect();
            if f.len() != 5 {
                return Err(format!("{text:?} is not a five-field cron expression"));
            }
            let err = |e: String| format!("{text:?}: {e}");
            let mut dow = field(f[4], 0, 7, &DAYS, 0).map_err(err)?;
            if dow & (1 << 7) != 0 {
                dow |= 1;
            }
            Ok(Expr {
                minutes: field(f[0], 0, 59, &[], 0).map_err(err)?,
                hours: field(f[1], 0, 23, &[], 0).map_err(err)?,
                dom: field(f[2], 1, 31, &[], 0).map_err(err)?,
                months: field(f[3], 1, 12, &MONTHS, 1).map_err(err)?,
                dow,
                and_days: f[2].starts_with('*') || f[4].starts_with('*'),
            })
        }

        pub(super) fn matches(&self, t: NaiveDateTime) -> bool {
            let bit = |set: u64, v: u32| set & (1 << v) != 0;
            if !bit(self.minutes, t.minute()) || !bit(self.hours, t.hour()) {
                return false;
            }
            if !bit(self.months, t.month()) {
                return false;
            }
            let d = bit(self.dom, t.day());
            let w = bit(self.dow, t.weekday().num_days_from_sunday());
            if self.and_days { d && w } else { d || w }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> DateTime<Local> {
        Local.from_local_datetime(&crate::clock::parse_local(s).unwrap()).earliest().unwrap()
    }

    fn hm(v: &[DateTime<Local>]) -> Vec<String> {
        v.iter().map(|t| t.format("%d %H:%M").to_string()).collect()
    }

    #[test]
    fn slots_in_a_window() {
        let from = local("2026-03-02T00:00");
        let to = local("2026-03-03T00:00");
        assert_eq!(hm(&slots_between("0 2 * * *", from, to, 100).unwrap()), vec!["02 02:00"]);
        assert_eq!(slots_between("*/15 * * * *", from, to, 1000).unwrap().len(), 96);
        assert_eq!(slots_between("* * * * *", from, to, 10).unwrap().len(), 10, "capped");
        // 2026-03-02 is a Monday.
        assert_eq!(
            hm(&slots_between("30 9 * * mon-fri", from, to, 100).unwrap()),
            vec!["02 09:30"]
        );
        assert!(slots_between("30 9 * * sat,sun", from, to, 100).unwrap().is_empty());
        // cronie's OR rule when both day fields are restricted.
        assert_eq!(slots_between("0 0 15 * 1", from, to, 100).unwrap().len(), 1);
        assert_eq!(
            hm(&slots_between("@hourly", local("2026-03-02T10:30"), local("2026-03-02T12:30"), 9)
                .unwrap()),
            vec!["02 11:00", "02 12:00"]
        );
        // Window bounds: start inclusive, end exclusive.
        assert_eq!(
            slots_between("0 * * * *", local("2026-03-02T10:00"), local("2026-03-02T11:00"), 9)
                .unwrap()
                .len(),
            1
        );
        assert!(slots_between("61 * * * *", from, to, 9).is_err());
        assert!(slots_between("nonsense", from, to, 9).is_err());
    }
}

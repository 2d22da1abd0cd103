//! Expected run times of a cron schedule inside a time window: the single seam between the
//! report and the cron engine.

use chrono::{DateTime, Duration, Local};

use crate::cron::CronExpr;

/// Every scheduled run time in `[from, to)`, at most `cap` of them, under the cron engine's
/// DST policy; `Err` with the reason when the expression is not valid.
pub fn slots_between(
    schedule: &str,
    from: DateTime<Local>,
    to: DateTime<Local>,
    cap: usize,
) -> Result<Vec<DateTime<Local>>, String> {
    let expr = CronExpr::parse(schedule).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut cursor = crate::clock::saturating_add(from, -Duration::seconds(1));
    while to > from && out.len() < cap {
        let batch = expr.next_runs(&cursor, 64);
        let Some(last) = batch.last().copied() else { break };
        for t in batch {
            if t >= to || out.len() >= cap {
                return Ok(out);
            }
            if t >= from {
                out.push(t);
            }
        }
        cursor = last;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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

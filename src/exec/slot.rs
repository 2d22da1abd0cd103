//! Scheduled slots: which cron slot a `--scheduled` start serves, and claiming it so that a
//! slot runs at most once whatever fires how often.
//!
//! * The slot served is the **latest run instant at or before now** under the cron engine's
//!   DST policy ([`crate::cron::CronExpr::next_runs`]).
//! * A start is accepted up to [`TOLERANCE`] after its slot (Task Scheduler may start late on
//!   a busy machine). With catch-up `once`, any delay is accepted, but only for that latest
//!   slot: a backlog is never replayed. Otherwise the start is **not due**: orc exits 0 and
//!   records nothing (this is also what happens when a coarser "superset" trigger fires at a
//!   time that is not one of the expression's slots).
//! * The slot text is the local wall-clock minute **with its offset**
//!   (`2026-11-22T02:00+01:00`), so the two instants of an autumn overlap are distinct slots.
//! * A claim is an `INSERT … ON CONFLICT DO NOTHING` into `slot_claims` inside an immediate
//!   transaction (with the run row): exactly one process wins.

use chrono::{DateTime, Duration, Local, TimeZone};
use rusqlite::{Connection, params};

use crate::cron::CronExpr;
use crate::task::CatchUp;

/// How late after its slot a scheduled start is still accepted (catch-up `none`).
pub const TOLERANCE_MINUTES: i64 = 10;

/// What a `--scheduled` start should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotDecision {
    /// Serve this slot.
    Due {
        at: DateTime<Local>,
        /// The slot text stored in `runs.slot` and `slot_claims.slot`.
        text: String,
    },
    /// Nothing to run now, and why (logged at debug level).
    NotDue(String),
}

/// The stored text of a slot.
pub fn slot_text(at: DateTime<Local>) -> String {
    at.format("%Y-%m-%dT%H:%M%:z").to_string()
}

/// Decides which slot a scheduled start at `now` serves.
pub fn decide(expr: &CronExpr, catch_up: CatchUp, now: DateTime<Local>) -> SlotDecision {
    let Some(at) = latest_at_or_before(expr, now) else {
        return SlotDecision::NotDue(format!(
            "the schedule {:?} has no run at or before {}",
            expr.source(),
            now.format("%Y-%m-%d %H:%M:%S")
        ));
    };
    let late = now - at;
    if late <= Duration::minutes(TOLERANCE_MINUTES) || catch_up == CatchUp::Once {
        return SlotDecision::Due { at, text: slot_text(at) };
    }
    SlotDecision::NotDue(format!(
        "{} is not a slot of {:?}: the latest slot {} is {} min ago, more than the {} min \
         tolerance, and catch-up is off",
        now.format("%Y-%m-%d %H:%M:%S"),
        expr.source(),
        slot_text(at),
        late.num_minutes(),
        TOLERANCE_MINUTES
    ))
}

/// The latest run instant of `expr` at or before `now`, following the cron engine's DST policy
/// (a fixed-time slot in a spring-forward gap runs right after it; a wildcard slot in an autumn
/// overlap exists twice).
pub fn latest_at_or_before<Tz: TimeZone>(
    expr: &CronExpr,
    now: DateTime<Tz>,
) -> Option<DateTime<Tz>> {
    let naive = expr.prev_at_or_before(now.naive_local())?;
    // Clock changes move a slot by at most a few hours: start the forward walk well before it.
    let tz = now.timezone();
    let mut from_naive = naive.checked_sub_signed(Duration::hours(3))?;
    let mut from = None;
    for _ in 0..6 {
        if let Some(t) = crate::clock::earliest(tz.from_local_datetime(&from_naive)) {
            from = Some(t);
            break;
        }
        from_naive -= Duration::hours(1);
    }
    let mut cursor = from?;
    let mut best = None;
    loop {
        let batch = expr.next_runs(&cursor, 256);
        let Some(last) = batch.last().cloned() else { return best };
        for run in batch {
            if run <= now {
                best = Some(run);
            } else {
                return best;
            }
        }
        cursor = last;
    }
}

/// Claims `(task, slot)` inside the caller's immediate transaction. `true` when this process
/// won the slot.
pub fn claim(tx: &Connection, task: &str, slot: &str, claimed_at: &str) -> rusqlite::Result<bool> {
    let n = tx.execute(
        "INSERT INTO slot_claims (task, slot, claimed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (task, slot) DO NOTHING",
        params![task, slot, claimed_at],
    )?;
    Ok(n == 1)
}

/// Links a claim to the run that served it.
pub fn link(tx: &Connection, task: &str, slot: &str, run_id: i64) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE slot_claims SET run_id = ?3 WHERE task = ?1 AND slot = ?2",
        params![task, slot, run_id],
    )?;
    Ok(())
}

/// Whether `(task, slot)` is already claimed (a cheap read before taking the write lock).
pub fn is_claimed(conn: &Connection, task: &str, slot: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM slot_claims WHERE task = ?1 AND slot = ?2)",
        params![task, slot],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    fn expr(s: &str) -> CronExpr {
        CronExpr::parse(s).unwrap()
    }

    fn local(s: &str) -> DateTime<Local> {
        Local.from_local_datetime(&crate::clock::parse_local(s).unwrap()).earliest().unwrap()
    }

    #[test]
    fn on_time_and_late_starts() {
        let e = expr("0 2 * * *");
        match decide(&e, CatchUp::None, local("2026-06-10T02:00:05")) {
            SlotDecision::Due { at, .. } => assert_eq!(at, local("2026-06-10T02:00:00")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide(&e, CatchUp::None, local("2026-06-10T02:09:59")),
            SlotDecision::Due { .. }
        ));
        let late = decide(&e, CatchUp::None, local("2026-06-10T02:10:01"));
        assert!(
            matches!(late, SlotDecision::NotDue(ref why) if why.contains("tolerance")),
            "{late:?}"
        );
        // Catch-up once: the latest missed slot only, however late.
        match decide(&e, CatchUp::Once, local("2026-06-12T01:00:00")) {
            SlotDecision::Due { at, .. } => assert_eq!(at, local("2026-06-11T02:00:00")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn superset_starts_between_slots_are_not_due() {
        let e = expr("0 9 * * 1");
        // A Tuesday at 09:00: Monday's slot is a day old.
        assert!(matches!(
            decide(&e, CatchUp::None, local("2026-06-09T09:00:00")),
            SlotDecision::NotDue(_)
        ));
    }

    #[test]
    fn slot_text_has_minute_and_offset() {
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 22, 2, 0, 30)
            .unwrap()
            .with_timezone(&Local);
        let text = slot_text(t);
        assert!(text.len() == "2026-11-22T02:00+01:00".len(), "{text}");
        assert!(text.contains('T') && (text.contains('+') || text.contains("-0")), "{text}");
    }

    #[test]
    fn dst_overlap_gives_two_distinct_slots() {
        use chrono_tz::Europe::Berlin;
        let e = expr("30 2 * * *");
        // 2026-10-25: 02:30 happens at +02:00 and again at +01:00. A fixed-time job runs at the
        // earlier one only.
        let after_both = Berlin.with_ymd_and_hms(2026, 10, 25, 4, 0, 0).unwrap();
        let at = latest_at_or_before(&e, after_both).unwrap();
        assert_eq!(at.format("%H:%M%:z").to_string(), "02:30+02:00");
        let w = expr("30 * * * *");
        let at = latest_at_or_before(&w, after_both - Duration::minutes(75)).unwrap();
        // 02:45+01:00 → the latest wildcard slot is 02:30+01:00 (the second 02:30).
        assert_eq!(at.format("%H:%M%:z").to_string(), "02:30+01:00");
    }

    #[test]
    fn claims_are_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        let path = store.path().to_path_buf();
        let map = |e| crate::store::classify(&path, "claim", e);
        let first: bool = store.write(|tx| claim(tx, "t", "s1", "now").map_err(map)).unwrap();
        let again: bool = store.write(|tx| claim(tx, "T", "s1", "now").map_err(map)).unwrap();
        let other: bool = store.write(|tx| claim(tx, "t", "s2", "now").map_err(map)).unwrap();
        assert!(first && !again && other);
        assert!(is_claimed(store.conn(), "t", "s1").unwrap());
    }
}

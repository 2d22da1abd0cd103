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
//!   transaction (with the run row): exactly one process wins. The key is (task, slot,
//!   scope): the scope is `''` for a `run-on any` task (one winner across every host sharing
//!   the store) and the host for `run-on all` (one per host), see
//!   [`crate::fleet::assign::claim_scope`]; `host` records who claimed.

use crate::store::sql::{Connection, params};
use chrono::{DateTime, Duration, Local, TimeZone};

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

/// The key of one slot claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimKey<'a> {
    pub task: &'a str,
    pub slot: &'a str,
    /// `''` (run-on any) or the claiming host (run-on all).
    pub scope: &'a str,
}

/// Claims `key` for `host` inside the caller's immediate transaction. `true` when this
/// process won the slot.
pub fn claim(
    tx: &Connection,
    key: &ClaimKey<'_>,
    host: &str,
    claimed_at: &str,
) -> crate::store::sql::Result<bool> {
    let n = tx.execute(
        "INSERT INTO slot_claims (task, slot, scope, host, claimed_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (task, slot, scope) DO NOTHING",
        params![key.task, key.slot, key.scope, host, claimed_at],
    )?;
    Ok(n == 1)
}

/// Links a claim to the run that served it.
pub fn link(tx: &Connection, key: &ClaimKey<'_>, run_id: i64) -> crate::store::sql::Result<()> {
    tx.execute(
        "UPDATE slot_claims SET run_id = ?4 WHERE task = ?1 AND slot = ?2 AND scope = ?3",
        params![key.task, key.slot, key.scope, run_id],
    )?;
    Ok(())
}

/// The host holding the claim `key` (`Some("")` for a claim made before hosts were recorded),
/// `None` when unclaimed. Also the cheap read before taking the write lock.
pub fn claimed_by(
    conn: &Connection,
    key: &ClaimKey<'_>,
) -> crate::store::sql::Result<Option<String>> {
    use crate::store::sql::OptionalExtension;
    conn.query_row(
        "SELECT coalesce(host, '') FROM slot_claims WHERE task = ?1 AND slot = ?2 AND scope = ?3",
        params![key.task, key.slot, key.scope],
        |r| r.get(0),
    )
    .optional()
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
        let key = |task, slot, scope| ClaimKey { task, slot, scope };
        let mut try_claim = |k: ClaimKey<'_>, host: &str| -> bool {
            store.write(|tx| claim(tx, &k, host, "now").map_err(map)).unwrap()
        };
        let first = try_claim(key("t", "s1", ""), "h1");
        let again = try_claim(key("T", "s1", ""), "h2");
        let other = try_claim(key("t", "s2", ""), "h2");
        assert!(first && !again && other);
        // Per-host scopes (run-on all): one claim per host, each exclusive.
        assert!(try_claim(key("t", "s1", "h1"), "h1"));
        assert!(try_claim(key("t", "s1", "h2"), "h2"));
        assert!(!try_claim(key("t", "s1", "H2"), "h2"));
        let by = |k: ClaimKey<'_>| claimed_by(store.conn(), &k).unwrap();
        assert_eq!(by(key("t", "s1", "")).as_deref(), Some("h1"));
        assert_eq!(by(key("t", "s2", "")).as_deref(), Some("h2"));
        assert_eq!(by(key("t", "s3", "")), None);
    }
}

//! Silent hosts and the runs they leave behind (issue 18, "Watch and alerts").
//!
//! The heartbeat (`hosts.last_seen_at`) is written by every `orc execute` on a host that reaches
//! its write transaction, so a live host refreshes it at every slot of the tasks it runs itself.
//! The rule, the one owner of it (the watch pass and `orc status` call it):
//!
//! * a host's **own tasks** are the enabled tasks assigned to it (directly or through a group)
//!   whose slots it must start itself: `run-on all`, or `run-on any` assigned to it alone. A
//!   `run-on any` task shared by several hosts is left out: a host that loses its claims to a
//!   faster one may write no heartbeat, and that is not silence. Unassigned tasks are left out
//!   too (nothing says which hosts schedule them);
//! * a host is **silent** when a slot of one of its own tasks came and went more than
//!   `watch.grace` ago, after its last heartbeat (never seen: after it was added) and after the
//!   task's last change. A task the host is still **busy** with (a `RUNNING` row of it on the
//!   host, with no timeout or within its timeout + grace) does not count: overlap `skip`
//!   registers `IgnoreNew`, so Task Scheduler starts nothing while a long run lasts;
//! * a `RUNNING` row of a silent host (not this one) may be **abandoned** when its task has a
//!   timeout and the run is older than timeout + grace (a live orc would have stopped it and
//!   recorded TIMEOUT), or when its task has no timeout (the host's silence then comes from
//!   another of its tasks, since a busy task never counts). A host with no own tasks is never
//!   silent: nothing is expected of it.

use chrono::{DateTime, Duration, Local, Utc};

use super::table::Heartbeat;
use crate::error::Result;
use crate::exec::runs::RunRecord;
use crate::store::sql::Connection;
use crate::task::RunOn;
use crate::task::repo::StoredTask;

/// A task a host must start itself, as the rule sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnTask {
    pub name: String,
    pub schedule: String,
    /// Seconds.
    pub timeout: Option<u64>,
    /// Its last change (`tasks.updated_at`): slots before it are not expected.
    pub changed: DateTime<Utc>,
    /// Starts of its `RUNNING` rows on the host.
    pub running: Vec<DateTime<Utc>>,
}

/// The first slot a silent host let pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Missed {
    pub task: String,
    pub slot: DateTime<Local>,
}

/// Whether a run started at `start` has outlived its `timeout` (seconds) plus `grace`.
pub fn outlived(start: DateTime<Utc>, timeout: u64, grace: Duration, now: DateTime<Utc>) -> bool {
    let limit = i64::try_from(timeout)
        .ok()
        .and_then(Duration::try_seconds)
        .and_then(|d| d.checked_add(&grace))
        .and_then(|d| start.checked_add_signed(d));
    limit.is_some_and(|limit| now > limit)
}

/// Whether the host may still be running `task` (so its slots may not start).
pub fn busy(task: &OwnTask, grace: Duration, now: DateTime<Utc>) -> bool {
    task.running.iter().any(|s| task.timeout.is_none_or(|t| !outlived(*s, t, grace, now)))
}

/// Whether `host` is silent as of `now`: the first slot of its own tasks that passed (by more
/// than `grace`) since its last heartbeat, or `None`.
pub fn silent(
    host: &Heartbeat,
    tasks: &[OwnTask],
    grace: Duration,
    now: DateTime<Local>,
) -> Option<Missed> {
    let seen = host.last_seen_at.unwrap_or(host.added_at);
    let now_utc = now.with_timezone(&Utc);
    let until = now - grace;
    tasks
        .iter()
        .filter(|t| !busy(t, grace, now_utc))
        .filter_map(|t| {
            // A heartbeat at 10:00:00 served the 10:00 slot: look from the next second.
            let from = (seen.max(t.changed) + Duration::seconds(1)).with_timezone(&Local);
            let slots = crate::report::slots::slots_between(&t.schedule, from, until, 1).ok()?;
            slots.into_iter().next().map(|slot| Missed { task: t.name.clone(), slot })
        })
        .min_by_key(|m| m.slot)
}

/// Whether a `RUNNING` row of a host found silent may be marked ABANDONED (see the module
/// documentation).
pub fn may_abandon(
    silence: Option<&Missed>,
    start: DateTime<Utc>,
    timeout: Option<u64>,
    grace: Duration,
    now: DateTime<Utc>,
) -> bool {
    silence.is_some() && timeout.is_none_or(|t| outlived(start, t, grace, now))
}

/// When the host was last seen, for people.
pub fn seen_text(host: &Heartbeat) -> String {
    match host.last_seen_at {
        Some(t) => format!("its last heartbeat was {}", crate::clock::to_local_iso(t)),
        None => format!("it was never seen (added {})", crate::clock::to_local_iso(host.added_at)),
    }
}

/// The one line of a silent host's incident.
pub fn summary(host: &Heartbeat, missed: &Missed) -> String {
    format!(
        "host {}: the slot {} of task {} passed without it; {}",
        host.name,
        crate::exec::slot::slot_text(missed.slot),
        missed.task,
        seen_text(host)
    )
}

/// The error text of a run abandoned because its host is silent.
pub fn abandoned_text(host: &Heartbeat, missed: &Missed) -> String {
    format!(
        "abandoned: host {} stopped running its slots (the slot {} of task {} passed without \
         it; {}); the orc process that ran this attempt there cannot record a result",
        host.name,
        crate::exec::slot::slot_text(missed.slot),
        missed.task,
        seen_text(host)
    )
}

/// One host of the fleet as the watch pass and `orc status` see it.
#[derive(Debug, Clone)]
pub struct HostState {
    pub heartbeat: Heartbeat,
    /// Its `RUNNING` rows.
    pub running: Vec<RunRecord>,
    /// The tasks it must start itself.
    pub own: Vec<OwnTask>,
    /// Why it is silent, if it is.
    pub silence: Option<Missed>,
}

/// The tasks `host` must start itself (see the module documentation), out of the enabled
/// assigned tasks and the hosts each runs on.
fn own_tasks(
    assigned: &[(&StoredTask, Vec<String>)],
    running: &[RunRecord],
    host: &str,
) -> Vec<OwnTask> {
    let mut out = Vec::new();
    for (t, hosts) in assigned {
        let here = hosts.iter().any(|h| super::same_host(h, host));
        let own = match t.spec.run_on {
            RunOn::All => here,
            RunOn::Any => here && hosts.len() == 1,
        };
        if own {
            out.push(OwnTask {
                name: t.spec.name.clone(),
                schedule: t.spec.schedule.clone(),
                timeout: t.spec.timeout,
                changed: t.updated_at,
                running: running
                    .iter()
                    .filter(|r| {
                        r.task.eq_ignore_ascii_case(&t.spec.name) && super::same_host(&r.host, host)
                    })
                    .map(|r| r.start)
                    .collect(),
            });
        }
    }
    out
}

/// Every host of the fleet with its running rows and whether it is silent as of `now`.
pub fn survey(
    conn: &Connection,
    tasks: &[StoredTask],
    running: &[RunRecord],
    grace: Duration,
    now: DateTime<Local>,
) -> Result<Vec<HostState>> {
    let hosts = super::table::heartbeats(conn)?;
    let mut assigned = Vec::new();
    if !hosts.is_empty() {
        for t in tasks.iter().filter(|t| t.spec.enabled) {
            if let Some(on) = super::assign::hosts_of(conn, &t.spec)? {
                assigned.push((t, on));
            }
        }
    }
    let mut out = Vec::new();
    for heartbeat in hosts {
        let own = own_tasks(&assigned, running, &heartbeat.name);
        let silence = silent(&heartbeat, &own, grace, now);
        let running = running
            .iter()
            .filter(|r| super::same_host(&r.host, &heartbeat.name))
            .cloned()
            .collect();
        out.push(HostState { heartbeat, running, own, silence });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Local> {
        Local.with_ymd_and_hms(2026, 3, 2, h, m, 0).earliest().unwrap()
    }

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        at(h, m).with_timezone(&Utc)
    }

    fn host(seen: Option<DateTime<Utc>>) -> Heartbeat {
        Heartbeat { name: "h1".into(), added_at: utc(8, 0), last_seen_at: seen }
    }

    fn task(name: &str, schedule: &str, timeout: Option<u64>, running: &[u32]) -> OwnTask {
        OwnTask {
            name: name.into(),
            schedule: schedule.into(),
            timeout,
            changed: utc(7, 0),
            running: running.iter().map(|h| utc(*h, 0)).collect(),
        }
    }

    const GRACE: Duration = Duration::minutes(10);

    #[test]
    fn a_host_is_silent_once_a_slot_of_its_own_passed_by_the_grace() {
        let hourly = [task("job", "0 * * * *", None, &[])];
        let h = host(Some(utc(10, 0)));
        assert_eq!(silent(&h, &hourly, GRACE, at(11, 10)), None, "the grace is not over");
        assert_eq!(
            silent(&h, &hourly, GRACE, at(11, 11)),
            Some(Missed { task: "job".into(), slot: at(11, 0) })
        );
        // A heartbeat at the slot itself served it.
        assert_eq!(silent(&host(Some(utc(11, 0))), &hourly, GRACE, at(11, 30)), None);
        // Never seen: counted from when it was added (08:00).
        assert_eq!(silent(&host(None), &hourly, GRACE, at(8, 5)), None);
        assert_eq!(silent(&host(None), &hourly, GRACE, at(9, 11)).unwrap().slot, at(9, 0));
        // No own tasks: nothing is expected.
        assert_eq!(silent(&h, &[], GRACE, at(23, 0)), None);
        // The first missed slot over all tasks is reported.
        let two = [task("daily", "0 6 * * *", None, &[]), task("job", "30 * * * *", None, &[])];
        assert_eq!(silent(&h, &two, GRACE, at(12, 0)).unwrap().slot, at(10, 30));
        // A task changed after the heartbeat: slots before the change are not expected.
        let mut changed = task("job", "0 * * * *", None, &[]);
        changed.changed = utc(11, 5);
        assert_eq!(silent(&h, &[changed], GRACE, at(11, 30)), None);
    }

    #[test]
    fn a_task_the_host_is_busy_with_does_not_make_it_silent() {
        let h = host(Some(utc(10, 0)));
        // Running since 10:00 without a timeout: Task Scheduler starts no new instance.
        let long = [task("long", "0 * * * *", None, &[10])];
        assert_eq!(silent(&h, &long, GRACE, at(14, 0)), None);
        // With a timeout of 30m: busy until 10:40, then its 11:00 slot counts.
        let timed = [task("long", "0 * * * *", Some(1800), &[10])];
        assert!(busy(&timed[0], GRACE, utc(10, 40)));
        assert!(!busy(&timed[0], GRACE, utc(10, 41)));
        assert_eq!(silent(&h, &timed, GRACE, at(11, 11)).unwrap().slot, at(11, 0));
        // Busy with one task, silent through another.
        let mixed =
            [task("long", "0 * * * *", None, &[10]), task("tick", "*/15 * * * *", None, &[])];
        assert_eq!(
            silent(&h, &mixed, GRACE, at(10, 26)),
            Some(Missed { task: "tick".into(), slot: at(10, 15) })
        );
    }

    #[test]
    fn only_runs_past_their_timeout_or_without_one_are_abandoned() {
        let missed = Missed { task: "tick".into(), slot: at(10, 15) };
        let now = utc(10, 30);
        assert!(!may_abandon(None, utc(10, 0), None, GRACE, now), "a live host");
        assert!(may_abandon(Some(&missed), utc(10, 0), None, GRACE, now));
        assert!(!may_abandon(Some(&missed), utc(10, 0), Some(3600), GRACE, now), "within timeout");
        assert!(!may_abandon(Some(&missed), utc(10, 0), Some(1200), GRACE, now), "20m + 10m");
        assert!(may_abandon(Some(&missed), utc(10, 0), Some(1140), GRACE, now));
        assert!(!outlived(utc(10, 0), u64::MAX, GRACE, now), "a huge timeout never overflows");
    }
}

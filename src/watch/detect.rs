//! What a watch pass finds, as pure functions of what the pass read: missed slots, late and
//! runaway runs, registrations that are missing, disabled or drifted, and the outbox.
//!
//! Slots come from the cron engine under its DST policy ([`crate::report::slots`] /
//! [`crate::report::daily::missed_slots`], the same seam as the daily report), so a superset
//! trigger that fires at times that are not slots never makes a slot expected, and the two
//! instants of an autumn overlap are two slots.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Local, Utc};
use serde::Serialize;
use serde_json::json;

use crate::scheduler::{History, Registered};

/// How far back a pass looks for missed slots (also after a long outage).
pub const LOOKBACK: Duration = Duration::hours(24);
/// Successful runs whose p95 defines a runaway, and how many are needed at least.
pub const RUNAWAY_SAMPLE: usize = 20;
pub const RUNAWAY_MIN_SAMPLE: usize = 5;
/// A run is never called a runaway before it has run this long (a task that takes 200 ms is
/// not a runaway at 700 ms).
pub const RUNAWAY_FLOOR: Duration = Duration::minutes(1);

/// What an incident is about. Stored in `incidents.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Scheduled slots without a run.
    Missed,
    /// A run still RUNNING past its timeout plus the grace.
    Late,
    /// A run far longer than the task's usual successful runs.
    Runaway,
    /// orc's registration of a task is missing, disabled or changed outside orc.
    Registration,
    /// The OS scheduler could not be read.
    Scheduler,
    /// Notifications the outbox gave up on.
    Outbox,
    /// A host of the fleet let a slot of its own tasks pass without a heartbeat
    /// ([`crate::fleet::silence`]); the subject is the host.
    HostSilent,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Missed,
        Kind::Late,
        Kind::Runaway,
        Kind::Registration,
        Kind::Scheduler,
        Kind::Outbox,
        Kind::HostSilent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Missed => "missed",
            Kind::Late => "late",
            Kind::Runaway => "runaway",
            Kind::Registration => "registration",
            Kind::Scheduler => "scheduler",
            Kind::Outbox => "outbox",
            Kind::HostSilent => "host_silent",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One problem found by a pass. `subject` is the task name, or `""` for machine-wide kinds.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: Kind,
    pub subject: String,
    /// One line for people.
    pub summary: String,
    pub detail: serde_json::Value,
    /// Kind-specific high-water mark (missed: the latest missed slot, as stored in `runs.slot`).
    pub mark: Option<String>,
    /// Occurrences this finding adds to its incident's count (missed: slots newly missed).
    pub added: i64,
}

/// The outcome of checking one subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A problem (new, or news about an open incident).
    Found(Finding),
    /// Nothing new, but an open incident is not over yet (missed slots without a later run).
    Persists,
    /// No problem.
    Clear,
}

/// The slot minutes (Unix minutes) of stored slot texts.
pub fn slot_minutes<'a>(slots: impl IntoIterator<Item = &'a str>) -> BTreeSet<i64> {
    slots
        .into_iter()
        .filter_map(crate::report::daily::parse_slot)
        .map(|t| t.timestamp().div_euclid(60))
        .collect()
}

/// Missed slots of one task: the schedule's slots in `[from, until)` absent from `served`.
/// `open_mark` is the latest missed slot of the task's open incident, if one is open: it stays
/// open until a run serves a later slot.
pub fn missed(
    task: &str,
    schedule: &str,
    from: DateTime<Local>,
    until: DateTime<Local>,
    served: &BTreeSet<i64>,
    open_mark: Option<DateTime<Utc>>,
) -> Result<Check, String> {
    let slots = if until > from {
        crate::report::daily::missed_slots(schedule, from, until, served)?
    } else {
        Vec::new()
    };
    if let Some(last) = slots.last() {
        let text: Vec<String> = slots.iter().map(|t| crate::exec::slot::slot_text(*t)).collect();
        let n = slots.len();
        let summary = if n == 1 {
            format!("{task}: the run of {} did not start", text[0])
        } else {
            format!("{task}: {n} runs did not start ({} … {})", text[0], text[n - 1])
        };
        let shown: Vec<&String> = text.iter().rev().take(10).rev().collect();
        return Ok(Check::Found(Finding {
            kind: Kind::Missed,
            subject: task.to_string(),
            summary,
            detail: json!({ "schedule": schedule, "slots": shown, "count": n }),
            mark: Some(crate::exec::slot::slot_text(*last)),
            added: n as i64,
        }));
    }
    match open_mark {
        Some(mark) if !served.iter().any(|m| *m > mark.timestamp().div_euclid(60)) => {
            Ok(Check::Persists)
        }
        _ => Ok(Check::Clear),
    }
}

/// One RUNNING run, as the late/runaway check sees it.
#[derive(Debug, Clone)]
pub struct RunningRun {
    pub id: i64,
    pub task: String,
    pub start: DateTime<Utc>,
    /// The task's timeout (seconds), if any.
    pub timeout: Option<u64>,
    /// Durations (ms) of the task's newest successful runs.
    pub durations: Vec<u64>,
}

/// Whether a RUNNING run is late (past timeout + grace) or a runaway (longer than
/// `factor` × p95 of at least [`RUNAWAY_MIN_SAMPLE`] successful runs, and than
/// [`RUNAWAY_FLOOR`]). Late wins over runaway.
pub fn overdue(
    run: &RunningRun,
    now: DateTime<Utc>,
    grace: Duration,
    factor: f64,
) -> Option<Finding> {
    let elapsed = now - run.start;
    let human = |d: Duration| crate::render::secs(d.num_seconds().max(0) as u64);
    let start = crate::clock::to_local_iso(run.start);
    if let Some(t) = run.timeout
        && elapsed > Duration::seconds(t as i64) + grace
    {
        return Some(Finding {
            kind: Kind::Late,
            subject: run.task.clone(),
            summary: format!(
                "{}: run {} has been running for {}, past its timeout of {} plus {} grace",
                run.task,
                run.id,
                human(elapsed),
                crate::render::secs(t),
                human(grace)
            ),
            detail: json!({ "run_id": run.id, "start": start, "timeout_s": t,
                            "running_s": elapsed.num_seconds() }),
            mark: Some(run.id.to_string()),
            added: 1,
        });
    }
    if run.durations.len() < RUNAWAY_MIN_SAMPLE {
        return None;
    }
    let p95 = crate::report::stats::percentile(&run.durations, 0.95)?;
    let limit = Duration::milliseconds((p95 as f64 * factor).round() as i64).max(RUNAWAY_FLOOR);
    (elapsed > limit).then(|| Finding {
        kind: Kind::Runaway,
        subject: run.task.clone(),
        summary: format!(
            "{}: run {} has been running for {}, more than {factor} × its usual {} (p95 of the \
             last {} successful runs)",
            run.task,
            run.id,
            human(elapsed),
            crate::render::millis(p95),
            run.durations.len()
        ),
        detail: json!({ "run_id": run.id, "start": start, "p95_ms": p95, "factor": factor,
                        "running_s": elapsed.num_seconds() }),
        mark: Some(run.id.to_string()),
        added: 1,
    })
}

/// Registration problems of the enabled tasks orc registered: `history` is orc's record
/// (`registrations`), `registered` what one query of the OS scheduler shows. A registration is
/// **missing** when the scheduler no longer has it, **disabled** when it is turned off there,
/// and **drifted** when its definition hash is not the one orc wrote, or the scheduler's print
/// of its triggers and settings changed since orc last saw it unchanged (a hand edit).
pub fn registrations(
    enabled: &[String],
    history: &[History],
    registered: &[Registered],
) -> Vec<(String, Check)> {
    let key = |s: &str| s.to_ascii_lowercase();
    let regs: HashMap<String, &Registered> = registered.iter().map(|r| (key(&r.task), r)).collect();
    let hist: HashMap<String, &History> = history.iter().map(|h| (key(&h.task), h)).collect();
    let mut out = Vec::new();
    for task in enabled {
        let Some(h) = hist.get(&key(task)) else { continue };
        let problem = match regs.get(&key(task)) {
            None => Some(("missing", "is missing from the scheduler (deleted outside orc)")),
            Some(r) if r.seen.enabled == Some(false) => {
                Some(("disabled", "is disabled in the scheduler"))
            }
            Some(r) if r.seen.hash.as_deref().is_some_and(|s| s != h.hash) => {
                Some(("drifted", "was changed outside orc (its definition is not orc's)"))
            }
            Some(r)
                if h.observed.is_some()
                    && r.seen.observed.is_some()
                    && h.observed != r.seen.observed =>
            {
                Some(("drifted", "was changed outside orc (its triggers or settings)"))
            }
            Some(_) => None,
        };
        let check = match problem {
            Some((what, text)) => Check::Found(Finding {
                kind: Kind::Registration,
                subject: task.clone(),
                summary: format!(
                    "{task}: the registration {} {text}; `orc schedule --all` restores it",
                    h.path
                ),
                detail: json!({ "problem": what, "path": h.path }),
                mark: Some(what.to_string()),
                added: 1,
            }),
            None => Check::Clear,
        };
        out.push((task.clone(), check));
    }
    out
}

/// The scheduler could not be read.
pub fn unreachable(target: &str, error: &str) -> Finding {
    Finding {
        kind: Kind::Scheduler,
        subject: String::new(),
        summary: format!("{target} cannot be read: {error}"),
        detail: json!({ "target": target, "error": error }),
        mark: None,
        added: 1,
    }
}

/// Messages the outbox gave up on.
pub fn outbox(given_up: usize) -> Check {
    if given_up == 0 {
        return Check::Clear;
    }
    Check::Found(Finding {
        kind: Kind::Outbox,
        subject: String::new(),
        summary: format!(
            "{given_up} notification{} could not be delivered and {} given up \
             (`orc notify status`; `orc notify flush --retry-given-up`)",
            if given_up == 1 { "" } else { "s" },
            if given_up == 1 { "was" } else { "were" }
        ),
        detail: json!({ "given_up": given_up }),
        mark: Some(given_up.to_string()),
        added: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::Fingerprint;
    use chrono::TimeZone;

    fn local(s: &str) -> DateTime<Local> {
        Local.from_local_datetime(&crate::clock::parse_local(s).unwrap()).earliest().unwrap()
    }

    fn served(slots: &[&str]) -> BTreeSet<i64> {
        slots.iter().map(|s| local(s).timestamp() / 60).collect()
    }

    #[test]
    fn missed_slots_are_found_then_persist_until_a_later_run() {
        let (from, until) = (local("2026-03-02T10:00"), local("2026-03-02T10:50"));
        let f = match missed("t", "*/15 * * * *", from, until, &served(&["2026-03-02T10:00"]), None)
            .unwrap()
        {
            Check::Found(f) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(f.added, 3);
        assert_eq!(
            f.mark.as_deref(),
            Some(crate::exec::slot::slot_text(local("2026-03-02T10:45")).as_str())
        );
        assert_eq!(f.detail["count"], 3);
        let mark = Some(local("2026-03-02T10:45").with_timezone(&Utc));
        // Later pass: nothing newly missed, no run after the mark yet.
        let later = local("2026-03-02T11:00");
        assert_eq!(
            missed("t", "*/15 * * * *", later, later, &served(&[]), mark).unwrap(),
            Check::Persists
        );
        // A run served 11:00: over.
        let s = served(&["2026-03-02T11:00"]);
        assert_eq!(missed("t", "*/15 * * * *", later, later, &s, mark).unwrap(), Check::Clear);
        assert!(missed("t", "bad", from, until, &s, None).is_err());
    }

    #[test]
    fn expected_slots_are_the_expressions_not_the_triggers() {
        // */7 restarts at every hour (:56 then :00): Task Scheduler fires a superset and
        // `execute --scheduled` skips the extra starts, so only the cron slots are expected.
        let (from, until) = (local("2026-03-02T10:00"), local("2026-03-02T11:00"));
        match missed("t", "*/7 * * * *", from, until, &BTreeSet::new(), None).unwrap() {
            Check::Found(f) => {
                assert_eq!(f.added, 9);
                assert_eq!(
                    f.detail["slots"][8],
                    crate::exec::slot::slot_text(local("2026-03-02T10:56"))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    fn running(
        secs_ago: i64,
        timeout: Option<u64>,
        durations: Vec<u64>,
    ) -> (RunningRun, DateTime<Utc>) {
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        let run = RunningRun {
            id: 7,
            task: "t".into(),
            start: now - Duration::seconds(secs_ago),
            timeout,
            durations,
        };
        (run, now)
    }

    #[test]
    fn late_and_runaway() {
        let g = Duration::minutes(10);
        let (r, now) = running(25 * 60, Some(15 * 60), vec![]);
        assert!(overdue(&r, now, g, 3.0).is_none(), "exactly at timeout + grace");
        let (r, now) = running(25 * 60 + 1, Some(15 * 60), vec![]);
        assert_eq!(overdue(&r, now, g, 3.0).unwrap().kind, Kind::Late);
        let usual = vec![60_000, 62_000, 58_000, 61_000, 100_000];
        let (r, now) = running(301, None, usual.clone());
        assert_eq!(overdue(&r, now, g, 3.0).unwrap().kind, Kind::Runaway, "p95 100s × 3");
        let (r, now) = running(299, None, usual.clone());
        assert!(overdue(&r, now, g, 3.0).is_none());
        let (r, now) = running(3600, None, usual[..4].to_vec());
        assert!(overdue(&r, now, g, 3.0).is_none(), "fewer than 5 successful runs");
        let (r, now) = running(59, None, vec![100; 20]);
        assert!(overdue(&r, now, g, 3.0).is_none(), "the one-minute floor");
    }

    #[test]
    fn registration_problems() {
        let h = |t: &str| History {
            task: t.into(),
            path: format!("\\O\\{t}"),
            hash: "h1".into(),
            observed: Some("p1".into()),
        };
        let r = |t: &str, hash: &str, enabled: bool, obs: &str| Registered {
            task: t.into(),
            path: format!("\\O\\{t}"),
            seen: Fingerprint {
                hash: Some(hash.into()),
                enabled: Some(enabled),
                observed: Some(obs.into()),
                ..Fingerprint::default()
            },
            ..Registered::default()
        };
        let enabled: Vec<String> =
            ["a", "b", "c", "d", "e", "new"].iter().map(|s| s.to_string()).collect();
        let history = vec![h("a"), h("b"), h("c"), h("d"), h("e")];
        let regs = vec![
            r("b", "h1", false, "p1"),
            r("c", "h2", true, "p1"),
            r("d", "h1", true, "p2"),
            r("E", "h1", true, "p1"),
        ];
        let got: Vec<(String, Option<String>)> = registrations(&enabled, &history, &regs)
            .into_iter()
            .map(|(t, c)| {
                (
                    t,
                    match c {
                        Check::Found(f) => f.mark,
                        _ => None,
                    },
                )
            })
            .collect();
        let want: Vec<(String, Option<String>)> = vec![
            ("a".into(), Some("missing".into())),
            ("b".into(), Some("disabled".into())),
            ("c".into(), Some("drifted".into())),
            ("d".into(), Some("drifted".into())),
            ("e".into(), None),
        ];
        assert_eq!(got, want, "tasks orc never registered are not checked");
    }
}

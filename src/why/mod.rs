//! `orc why TASK`: explains the last run — or the run that did not happen — from every source:
//! the registration in the OS scheduler, Task Scheduler's operational log, orc's run records
//! and attempts, dependencies, the slot logic of `orc execute --scheduled`, the DST policy and
//! the next cron time. The facts are gathered in [`gather`]; [`explain`] is pure.

pub mod gather;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::exec::runs::{RunRecord, Status};
use crate::exec::slot::{self, SlotDecision};
use crate::scheduler::Registered;
use crate::scheduler::schtasks::hresult::describe_result;
use crate::scheduler::wevtutil::TaskEvent;
use crate::task::{CatchUp, TaskSpec};

/// Everything `why` looks at.
#[derive(Debug, Clone)]
pub struct Facts {
    pub task: TaskSpec,
    pub now: DateTime<Local>,
    /// `--at TIME`: the start (or slot) asked about.
    pub at: Option<DateTime<Local>>,
    /// `--run ID` was given.
    pub run_asked: bool,
    /// The registration: `Ok(None)` when the scheduler holds none.
    pub registration: Result<Option<Registered>, String>,
    /// Task Scheduler's operational log (schtasks only): the task's events, newest first.
    pub events: Option<Result<Vec<TaskEvent>, String>>,
    /// Whether that log is enabled (schtasks only).
    pub log_enabled: Option<bool>,
    /// The run explained (`--run`, the slot of `--at`, else the latest) and its attempts,
    /// oldest first.
    pub attempts: Vec<RunRecord>,
    /// The task's recent runs, newest first (to match Task Scheduler's starts with slots).
    pub recent: Vec<RunRecord>,
    /// Each `task:` dependency and its latest finished run.
    pub dependencies: Vec<(String, Option<RunRecord>)>,
}

/// One source's lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    pub name: &'static str,
    pub lines: Vec<String>,
}

/// A Task Scheduler event with what it meant for orc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub id: u32,
    pub time: Option<String>,
    pub meaning: String,
    /// What orc did with a start (slot served, superset start skipped, duplicate skipped).
    pub orc: Option<String>,
}

/// The explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub task: String,
    /// The answer, in one sentence.
    pub verdict: String,
    pub sources: Vec<Source>,
    pub events: Vec<EventView>,
    pub next_run: Option<String>,
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// A Last Result in words: `0x00041303 (has not run yet)`, `1`.
pub fn result_text(code: i64) -> String {
    let (hex, words) = describe_result(code);
    let shown = hex.unwrap_or_else(|| code.to_string());
    match words {
        Some(w) => format!("{shown} ({w})"),
        None => shown,
    }
}

/// Codes Task Scheduler sets itself when it could not start (or stopped) the task: orc then
/// has no run record, so these explain the run that did not happen.
fn scheduler_side(code: i64) -> Option<&'static str> {
    match code as u32 {
        0x0004_1303 => Some("it never ran: Task Scheduler has not started it yet"),
        0x8004_131F => Some(
            "Task Scheduler did not start it: an instance was already running \
             (MultipleInstancesPolicy IgnoreNew)",
        ),
        0x8007_010B => Some(
            "Task Scheduler could not start it: the registration's Start In directory is \
             invalid (re-register with `orc schedule --task NAME --force`)",
        ),
        0x8007_10E0 => {
            Some("Task Scheduler refused to start it (operator or administrator refusal)")
        }
        0x8007_0002 => {
            Some("Task Scheduler could not start it: the registered program was not found")
        }
        0x0004_1306 => Some("its last instance was terminated by Task Scheduler or a user"),
        _ => None,
    }
}

fn run_line(r: &RunRecord) -> String {
    let mut s =
        format!("#{} attempt {} {} started {}", r.id, r.attempt, r.status.as_str(), local(r.start));
    if let Some(ms) = r.duration_ms {
        s.push_str(&format!(", took {}", crate::render::millis(ms.max(0) as u64)));
    }
    if let Some(c) = r.process.exit_code {
        s.push_str(&format!(", exit {}", crate::exec::runs::exit_code_text(c)));
    }
    if let Some(e) = &r.error {
        s.push_str(&format!(": {}", crate::render::printable(e)));
    }
    s
}

fn run_verdict(r: &RunRecord, spec: &TaskSpec) -> String {
    let slot = r.slot.as_deref().map(|s| format!(" (slot {s})")).unwrap_or_default();
    let err = r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
    match r.status {
        Status::Success => format!("run #{}{slot} succeeded", r.id),
        Status::Timeout => format!(
            "run #{}{slot} timed out: orc stopped its process tree after the task's timeout of {}",
            r.id,
            spec.timeout.map_or_else(|| "?".into(), crate::render::secs)
        ),
        Status::Skipped => format!("run #{}{slot} was skipped{err}", r.id),
        Status::Failed => format!("run #{}{slot} failed{err}", r.id),
        Status::Abandoned => format!("run #{}{slot} was abandoned{err}", r.id),
        Status::Running => format!("run #{}{slot} is still running", r.id),
    }
}

/// What orc did with a Task Scheduler start at `at` (events 100/107/110/129).
fn start_outcome(f: &Facts, at: DateTime<Local>) -> Option<String> {
    let expr = crate::cron::CronExpr::parse(&f.task.schedule).ok()?;
    match slot::decide(&expr, f.task.catch_up, at) {
        SlotDecision::NotDue(_) => Some(
            "not a slot of the schedule: orc skipped this start (superset trigger)".to_string(),
        ),
        SlotDecision::Due { text, .. } => {
            let served = f
                .recent
                .iter()
                .filter(|r| r.slot.as_deref() == Some(&text))
                .min_by_key(|r| r.start);
            Some(match served {
                Some(r) if (at.to_utc() - r.start).num_seconds() > 60 => format!(
                    "slot {text} was already served by run #{}: duplicate start skipped",
                    r.id
                ),
                Some(r) => format!("served slot {text} as run #{}", r.id),
                None => format!("slot {text}: orc recorded no run"),
            })
        }
    }
}

/// The explanation of `f`.
pub fn explain(f: &Facts) -> Explanation {
    let spec = &f.task;
    let expr = crate::cron::CronExpr::parse(&spec.schedule).ok();
    let mut sources = Vec::new();

    // The task.
    let mut lines = vec![format!(
        "schedule {:?}{}; catch-up {}; overlap {}; {}",
        spec.schedule,
        expr.as_ref().map(|e| format!(" ({})", e.describe())).unwrap_or_default(),
        match spec.catch_up {
            CatchUp::None => "none",
            CatchUp::Once => "once",
        },
        serde_json::to_value(spec.overlap)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        if spec.enabled { "enabled" } else { "disabled" }
    )];
    lines.push(format!(
        "a scheduled start serves the latest slot at or before it, up to {} min late{}",
        slot::TOLERANCE_MINUTES,
        if spec.catch_up == CatchUp::Once {
            " (catch-up once: any delay, latest slot only)"
        } else {
            ""
        }
    ));
    sources.push(Source { name: "task", lines });

    // The registration.
    let mut reg_verdict = None;
    let lines = match &f.registration {
        Err(e) => vec![format!("could not be read: {e}")],
        Ok(None) => {
            reg_verdict = Some(
                "it is not registered with the OS scheduler: run `orc schedule --all`".to_string(),
            );
            vec!["not registered".to_string()]
        }
        Ok(Some(r)) => {
            let mut l =
                vec![format!("{}: {}", r.path, r.status.as_deref().unwrap_or("registered"))];
            if let Some(t) = &r.last_run {
                l.push(format!("last run time: {t}"));
            }
            if let Some(code) = r.last_result {
                l.push(format!("last result: {}", result_text(code)));
                let hex = describe_result(code).0.unwrap_or_else(|| code.to_string());
                reg_verdict = scheduler_side(code).map(|s| format!("{s} (last result {hex})"));
            }
            if let Some(t) = &r.next_run {
                l.push(format!("next run time: {t}"));
            }
            l
        }
    };
    sources.push(Source { name: "scheduler", lines });

    // The operational log.
    let mut events = Vec::new();
    let mut event_verdict = None;
    if let Some(ev) = &f.events {
        let mut lines = Vec::new();
        match ev {
            Err(e) => lines.push(format!("could not be read: {e}")),
            Ok(list) => {
                if list.is_empty() {
                    lines.push(match f.log_enabled {
                        Some(false) => {
                            "no events: the history log is disabled (`orc doctor --fix` enables it)"
                                .into()
                        }
                        _ => "no events for this task".into(),
                    });
                }
                for e in list {
                    let time = e.time.map(local);
                    let orc = match (e.id, e.time) {
                        (100, Some(t)) => start_outcome(f, t.with_timezone(&Local)),
                        _ => None,
                    };
                    let mut line =
                        format!("{} {} {}", time.as_deref().unwrap_or("?"), e.id, e.meaning());
                    if let Some(o) = &orc {
                        line.push_str(&format!(" → {o}"));
                    }
                    lines.push(line);
                    events.push(EventView { id: e.id, time, meaning: e.meaning(), orc });
                }
                if let Some(e) = list.first()
                    && matches!(e.id, 101 | 103 | 203 | 322 | 329 | 332)
                {
                    event_verdict = Some(format!("Task Scheduler: {}", e.meaning()));
                }
            }
        }
        sources.push(Source { name: "operational log", lines });
    }

    // orc's runs.
    let chosen = f.attempts.last();
    let mut lines: Vec<String> = f.attempts.iter().map(run_line).collect();
    if lines.is_empty() {
        lines.push("no run recorded".into());
    }
    sources.push(Source { name: "runs", lines });

    // Dependencies.
    if !spec.depends_on.is_empty() {
        let mut lines = vec![format!("depends on: {}", spec.depends_on.join(", "))];
        for (name, last) in &f.dependencies {
            lines.push(match last {
                Some(r) => format!(
                    "{name}: last run #{} {} at {}",
                    r.id,
                    r.status.as_str(),
                    local(r.start)
                ),
                None => format!("{name}: no finished run"),
            });
        }
        sources.push(Source { name: "dependencies", lines });
    }

    // The slot asked about.
    let mut at_verdict = None;
    if let (Some(at), Some(expr)) = (f.at, &expr) {
        let shown = at.format("%Y-%m-%dT%H:%M:%S");
        let line = match slot::decide(expr, spec.catch_up, at) {
            SlotDecision::NotDue(why) => {
                at_verdict = Some(format!(
                    "a start at {shown} serves no slot, so orc skips it by design (a superset \
                     trigger or a late start): {why}"
                ));
                format!("{shown}: not due — {why}")
            }
            SlotDecision::Due { text, .. } => {
                if chosen.is_none() {
                    let started =
                        f.events.as_ref().and_then(|e| e.as_ref().ok()).is_some_and(|l| {
                            l.iter().any(|e| {
                                e.id == 100
                                    && e.time
                                        .and_then(|t| start_outcome(f, t.with_timezone(&Local)))
                                        .is_some_and(|o| o.contains(&text))
                            })
                        });
                    let why = if f.events.is_some() && !started {
                        "Task Scheduler did not start orc for it (no start event)"
                    } else {
                        "orc recorded nothing for it"
                    };
                    let catch_up = match spec.catch_up {
                        CatchUp::None => "catch-up is off, so it is not run later",
                        CatchUp::Once => {
                            "catch-up once: the next start serves the latest slot only"
                        }
                    };
                    at_verdict = Some(format!("missed slot {text}: {why}; {catch_up}"));
                }
                format!("{shown} is in slot {text}")
            }
        };
        sources.push(Source { name: "slot", lines: vec![line] });
    }

    // DST and the next run.
    let now = f.now;
    if let Some(e) = &expr {
        let mut w = e.dst_warnings(&now, 12);
        if w.is_empty() {
            w.push("no clock change in the next 12 months moves, skips or repeats a run".into());
        }
        sources.push(Source { name: "daylight saving", lines: w });
    }
    let next = spec.next_run(&now);
    let next_run = next.at().map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string());
    sources.push(Source {
        name: "next run",
        lines: vec![next_run.clone().unwrap_or_else(|| next.note().unwrap_or("none").to_string())],
    });

    // The answer: the slot asked about; else the run asked for; else Task Scheduler's own
    // refusal of the latest start (orc has no record of a start that did not happen); else
    // the latest run; else the log.
    let refused = f
        .registration
        .as_ref()
        .ok()
        .and_then(|g| g.as_ref())
        .and_then(|g| g.last_result)
        .is_some_and(|c| (c as u32) & 0x8000_0000 != 0 || chosen.is_none());
    let verdict = if let Some(v) = at_verdict {
        v
    } else if let (true, Some(r)) = (f.run_asked, chosen) {
        run_verdict(r, spec)
    } else if let (true, Some(v)) = (refused, reg_verdict.clone()) {
        v
    } else if let Some(r) = chosen {
        run_verdict(r, spec)
    } else {
        event_verdict.or(reg_verdict).unwrap_or_else(|| "it has no run yet".to_string())
    };
    Explanation { task: spec.name.clone(), verdict, sources, events, next_run }
}

/// The human text.
pub fn render(x: &Explanation) -> String {
    let mut out = format!("{}: {}\n", x.task, x.verdict);
    for s in &x.sources {
        out.push_str(&format!("\n{}:\n", s.name));
        for l in &s.lines {
            out.push_str(&format!("  {l}\n"));
        }
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests;

//! Gathering the facts `orc why` explains (all its I/O).

use chrono::{DateTime, Local};

use super::Facts;
use crate::error::{Error, Result};
use crate::exec::runs::{self, RunRecord};
use crate::exec::slot::{self, SlotDecision};
use crate::scheduler::Backend;
use crate::store::Store;

/// Runs read to match starts with slots and to find a slot's attempts.
const RECENT_RUNS: u32 = 200;

/// What was asked.
#[derive(Debug, Clone)]
pub struct Request {
    pub task: String,
    pub run: Option<i64>,
    pub at: Option<DateTime<Local>>,
}

/// Gathers the facts for `req` (the task must exist: exit 3 otherwise).
pub fn gather(
    store: &Store,
    backend: std::result::Result<&mut dyn Backend, String>,
    backend_kind: &str,
    req: &Request,
) -> Result<Facts> {
    let conn = store.conn();
    let task = crate::task::repo::require(conn, &req.task)?.spec;
    let registration = backend.and_then(|b| {
        b.registered()
            .map(|all| all.into_iter().find(|r| r.task.eq_ignore_ascii_case(&task.name)))
            .map_err(|e| e.to_string())
    });
    let (events, log_enabled) = if backend_kind == "schtasks" {
        let path = crate::scheduler::schtasks::TaskFolder::from_config(conn)?.path_of(&task.name);
        let w = crate::scheduler::wevtutil::Wevtutil::locate();
        (Some(w.task_events(&path).map_err(|e| e.to_string())), w.log_enabled().ok())
    } else {
        (None, None)
    };
    let filter =
        runs::Filter { task: Some(task.name.clone()), limit: RECENT_RUNS, ..Default::default() };
    let recent = runs::list(conn, &filter).map_err(|e| store.err("read runs", e))?;
    let attempts = match (req.run, req.at) {
        (Some(id), _) => {
            let run = runs::get(conn, id)
                .map_err(|e| store.err("read runs", e))?
                .filter(|r| r.task.eq_ignore_ascii_case(&task.name))
                .ok_or_else(|| Error::NotFound {
                    what: "run of this task",
                    name: id.to_string(),
                })?;
            attempts_of(&recent, run)
        }
        (None, Some(at)) => match crate::cron::CronExpr::parse(&task.schedule)
            .ok()
            .map(|e| slot::decide(&e, task.catch_up, at))
        {
            Some(SlotDecision::Due { text, .. }) => {
                let mut rows: Vec<RunRecord> =
                    recent.iter().filter(|r| r.slot.as_deref() == Some(&text)).cloned().collect();
                rows.reverse();
                rows
            }
            _ => Vec::new(),
        },
        (None, None) => match recent.first() {
            Some(r) => attempts_of(&recent, r.clone()),
            None => Vec::new(),
        },
    };
    let mut dependencies = Vec::new();
    for name in crate::task::deps::task_refs(&task) {
        let last = runs::last_finished(conn, &name).map_err(|e| store.err("read runs", e))?;
        dependencies.push((name, last));
    }
    Ok(Facts {
        now: crate::clock::now(),
        at: req.at,
        run_asked: req.run.is_some(),
        registration,
        events,
        log_enabled,
        attempts,
        recent,
        dependencies,
        task,
    })
}

/// The rows of `run`'s slot (its attempts), oldest first; a manual run alone.
fn attempts_of(recent: &[RunRecord], run: RunRecord) -> Vec<RunRecord> {
    let Some(slot) = &run.slot else { return vec![run] };
    let mut rows: Vec<RunRecord> = recent
        .iter()
        .filter(|r| r.slot.as_deref() == Some(slot) && r.id <= run.id)
        .cloned()
        .collect();
    if rows.is_empty() {
        return vec![run];
    }
    rows.reverse();
    rows
}

/// Parses `--at`: a local wall-clock time.
pub fn parse_at(text: &str) -> Result<DateTime<Local>> {
    use chrono::TimeZone;
    crate::clock::parse_local(text)
        .and_then(|t| crate::clock::earliest(Local.from_local_datetime(&t)))
        .ok_or_else(|| Error::invalid("--at", text, "give a local time as YYYY-MM-DDTHH:MM[:SS]"))
}

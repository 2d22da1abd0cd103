//! The fleet part of a watch pass (issue 18): a silent host becomes a `host_silent` incident
//! (subject: the host), and the `RUNNING` rows it left behind are marked `ABANDONED` and go
//! through the failure notification of any run ([`crate::notify::after_final_attempt_at`]).
//! When a host is silent and when its runs may be abandoned is [`crate::fleet::silence`]'s rule.

use chrono::{DateTime, Duration, Local, Utc};
use serde::Serialize;
use serde_json::json;

use super::detect::{Check, Finding, Kind};
use crate::error::{Error, Result};
use crate::exec::runs::{self, RunRecord};
use crate::fleet::silence::{self, HostState};
use crate::store::Store;
use crate::task::repo::StoredTask;

/// A run of a silent host that the pass marked ABANDONED.
#[derive(Debug, Clone, Serialize)]
pub struct AbandonedRun {
    pub id: i64,
    pub task: String,
    pub host: String,
}

/// Marks the `RUNNING` rows of silent hosts (other than this one) that
/// [`silence::may_abandon`] allows `ABANDONED`, then queues their failure notifications.
/// Notification problems are added to `warnings`.
pub fn abandon_dead_runs(
    store: &mut Store,
    grace: Duration,
    now: DateTime<Local>,
    warnings: &mut Vec<String>,
) -> Result<Vec<AbandonedRun>> {
    let path = store.path().to_path_buf();
    let db = |context: &'static str| {
        let path = path.clone();
        move |e| Error::Store(crate::store::classify(&path, context, e))
    };
    let now_utc = now.with_timezone(&Utc);
    let tasks = crate::task::repo::list(store.conn())?;
    let running = runs::running(store.conn(), None).map_err(db("read runs"))?;
    let me = runs::hostname();
    let mut doomed: Vec<(RunRecord, String)> = Vec::new();
    for st in silence::survey(store.conn(), &tasks, &running, grace, now)? {
        let Some(missed) = &st.silence else { continue };
        for r in st.running.iter().filter(|r| !crate::fleet::same_host(&r.host, &me)) {
            let timeout = spec_of(&tasks, r).and_then(|t| t.spec.timeout);
            if silence::may_abandon(Some(missed), r.start, timeout, grace, now_utc) {
                doomed.push((r.clone(), silence::abandoned_text(&st.heartbeat, missed)));
            }
        }
    }
    if doomed.is_empty() {
        return Ok(Vec::new());
    }
    let marked = store.write(|tx| -> Result<Vec<RunRecord>> {
        let mut marked = Vec::new();
        for (r, why) in &doomed {
            if runs::mark_abandoned_because(tx, r, now_utc, why).map_err(db("mark abandoned"))? {
                marked.push(r.clone());
            }
        }
        Ok(marked)
    })?;
    let mut out = Vec::new();
    for r in marked {
        let Some(record) = runs::get(store.conn(), r.id).map_err(db("read run"))? else { continue };
        let outcome = crate::notify::after_final_attempt_at(store, &record, now_utc);
        if let Some(e) = outcome.error {
            warnings.push(format!("run {} of {}: failure notification: {e}", r.id, r.task));
        }
        out.push(AbandonedRun { id: r.id, task: r.task, host: r.host });
    }
    Ok(out)
}

fn spec_of<'t>(tasks: &'t [StoredTask], run: &RunRecord) -> Option<&'t StoredTask> {
    tasks.iter().find(|t| t.spec.name.eq_ignore_ascii_case(&run.task))
}

/// The `host_silent` checks of the hosts that have tasks of their own (the others are never
/// silent: nothing is expected of them).
pub fn checks(states: &[HostState]) -> Vec<(Kind, String, Check)> {
    states
        .iter()
        .filter(|st| !st.own.is_empty())
        .map(|st| {
            let name = st.heartbeat.name.clone();
            let check = match &st.silence {
                Some(m) => Check::Found(Finding {
                    kind: Kind::HostSilent,
                    subject: name.clone(),
                    summary: silence::summary(&st.heartbeat, m),
                    detail: json!({
                        "host": name,
                        "last_seen_at": st.heartbeat.last_seen_at.map(crate::clock::to_local_iso),
                        "task": m.task,
                        "slot": crate::exec::slot::slot_text(m.slot),
                    }),
                    mark: None,
                    added: 0,
                }),
                None => Check::Clear,
            };
            (Kind::HostSilent, name, check)
        })
        .collect()
}

//! One row per task — enabled, last run, next run, running now — as `orc status` and the
//! REST API's `/api/v1/status` show it (the JSON objects of `orc status --json`).

use crate::store::sql::Connection;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::exec::runs::{self, RunRecord};
use crate::store::classify;

/// A task's status row.
#[derive(Debug, Clone)]
pub struct StatusRow {
    pub name: String,
    pub enabled: bool,
    pub schedule: String,
    pub last: Option<RunRecord>,
    pub next: Option<chrono::DateTime<chrono::Local>>,
    pub next_note: Option<String>,
    pub running: Vec<RunRecord>,
}

impl StatusRow {
    /// The object of `orc status --json`.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "enabled": self.enabled,
            "schedule": self.schedule,
            "last_run": self.last.as_ref().map(RunRecord::last_run_json),
            "next_run": self.next.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
            "running": self.running.iter().map(RunRecord::running_json).collect::<Vec<_>>(),
        })
    }
}

/// Every task's row, by name.
pub fn rows(conn: &Connection) -> Result<Vec<StatusRow>> {
    let err =
        |e| Error::Store(classify(std::path::Path::new(conn.path().unwrap_or("")), "read runs", e));
    let now = crate::clock::now();
    let mut out = Vec::new();
    for task in super::repo::list(conn)? {
        let name = task.spec.name.clone();
        let next_run = task.spec.next_run(&now);
        out.push(StatusRow {
            last: runs::last_for_task(conn, &name).map_err(err)?,
            running: runs::running(conn, Some(&name)).map_err(err)?,
            enabled: task.spec.enabled,
            schedule: task.spec.schedule.clone(),
            next: next_run.at(),
            next_note: next_run.note().map(str::to_string),
            name,
        });
    }
    Ok(out)
}

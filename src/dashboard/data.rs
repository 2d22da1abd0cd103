//! What the dashboard shows, read from the store: tasks with their last run, next run and
//! 7-day success rate; runs; one run with its stored output. Every function takes a plain
//! connection; the server opens it read-only per request and reads inside one short
//! deferred transaction.

use std::collections::BTreeMap;

use crate::store::sql::Connection;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::clock;
use crate::cron::CronExpr;
use crate::exec::runs::{self, RunRecord, Status};
use crate::task::TaskSpec;
use crate::task::next_run::NextRun;

/// Runs, newest first, optionally of one task (case-insensitive).
pub fn runs(
    conn: &Connection,
    task: Option<&str>,
    limit: u32,
) -> crate::store::sql::Result<Vec<RunRecord>> {
    let filter = runs::Filter { task: task.map(str::to_string), limit, ..runs::Filter::default() };
    runs::list(conn, &filter)
}

/// A task as stored, or the reason its definition cannot be read.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub name: String,
    pub enabled: bool,
    pub spec: Result<TaskSpec, String>,
}

/// Every task, by name.
pub fn tasks(conn: &Connection) -> crate::store::sql::Result<Vec<TaskRow>> {
    let mut stmt =
        conn.prepare("SELECT name, enabled, spec FROM tasks ORDER BY name COLLATE NOCASE, id")?;
    let rows = stmt.query_map([], |r| {
        let name: String = r.get(0)?;
        let enabled: bool = r.get(1)?;
        let text: String = r.get(2)?;
        Ok((name, enabled, text))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (name, enabled_col, text) = row?;
        let spec = serde_json::from_str::<TaskSpec>(&text).map_err(|e| e.to_string());
        let enabled = enabled_col && spec.as_ref().map(|s| s.enabled).unwrap_or(true);
        out.push(TaskRow { name, enabled, spec });
    }
    Ok(out)
}

/// One task by name (case-insensitive).
pub fn task(conn: &Connection, name: &str) -> crate::store::sql::Result<Option<TaskRow>> {
    Ok(tasks(conn)?.into_iter().find(|t| t.name.eq_ignore_ascii_case(name)))
}

/// Per-task figures for the overview.
#[derive(Debug, Clone, Default)]
pub struct TaskStats {
    pub last: Option<RunRecord>,
    pub running: Vec<RunRecord>,
    /// Runs that finished with a verdict in the window (SUCCESS, FAILED, TIMEOUT, ABANDONED).
    pub finished_7d: i64,
    pub success_7d: i64,
}

impl TaskStats {
    /// Success rate over the window in percent, if any run finished in it.
    pub fn success_rate(&self) -> Option<f64> {
        (self.finished_7d > 0).then(|| self.success_7d as f64 * 100.0 / self.finished_7d as f64)
    }
}

/// Last run, running runs and 7-day counts of every task, keyed by lower-case name.
pub fn stats(
    conn: &Connection,
    now: DateTime<Utc>,
) -> crate::store::sql::Result<BTreeMap<String, TaskStats>> {
    let mut out: BTreeMap<String, TaskStats> = BTreeMap::new();
    let mut lasts: Vec<RunRecord> = Vec::new();
    for run in runs::latest_and_running(conn)? {
        let key = run.task.to_ascii_lowercase();
        if run.status == Status::Running {
            out.entry(key.clone()).or_default().running.push(run.clone());
        }
        lasts.push(run);
    }
    for run in lasts {
        let entry = out.entry(run.task.to_ascii_lowercase()).or_default();
        let newer = match &entry.last {
            Some(l) => (run.start, run.id) > (l.start, l.id),
            None => true,
        };
        if newer {
            entry.last = Some(run);
        }
    }
    let since = crate::clock::saturating_add(now, -Duration::days(7));
    for (key, (finished, ok)) in runs::finished_counts_since(conn, since)? {
        let e = out.entry(key).or_default();
        e.finished_7d = finished;
        e.success_7d = ok;
    }
    Ok(out)
}

/// `/api/status`: one object per task, the objects of `orc status --json`
/// ([`RunRecord::last_run_json`], [`RunRecord::running_json`]), plus the description, the
/// last run's duration and the 7-day success figures.
pub fn status_json(conn: &Connection) -> crate::store::sql::Result<Value> {
    let now = clock::now_utc();
    let stats = stats(conn, now)?;
    let mut out = Vec::new();
    for t in tasks(conn)? {
        let key = t.name.to_ascii_lowercase();
        let s = stats.get(&key).cloned().unwrap_or_default();
        let schedule = t.spec.as_ref().map(|s| s.schedule.clone()).unwrap_or_default();
        let next = NextRun::of(t.enabled, &schedule, &clock::now()).at();
        out.push(json!({
            "name": t.name,
            "enabled": t.enabled,
            "schedule": schedule,
            "description": CronExpr::parse(&schedule).ok().map(|e| e.describe()),
            "last_run": s.last.as_ref().map(|l| {
                let mut v = l.last_run_json();
                v["duration_ms"] = json!(l.duration_ms);
                v
            }),
            "next_run": next.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
            "running": s.running.iter().map(RunRecord::running_json).collect::<Vec<_>>(),
            "runs_7d": s.finished_7d,
            "success_7d": s.success_7d,
            "success_rate_7d": s.success_rate(),
        }));
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::params;
    use crate::store::to_db_time;

    fn insert(conn: &Connection, task: &str, status: &str, start: DateTime<Utc>) -> i64 {
        conn.query_row(
            "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
             VALUES (?1, 'manual', ?2, ?3, 'h', 'v') RETURNING id",
            params![task, status, to_db_time(start)],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn stats_pick_the_latest_run_count_the_window_and_list_running() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let c = store.conn();
        let now = crate::clock::now_utc();
        let h = |n: i64| now - Duration::hours(n);
        insert(c, "a", "SUCCESS", h(24 * 10)); // outside the window
        insert(c, "a", "FAILED", h(24 * 10));
        insert(c, "a", "SUCCESS", h(5));
        insert(c, "A", "TIMEOUT", h(4)); // same task, other case
        insert(c, "a", "SKIPPED", h(3)); // not a verdict
        let last_a = insert(c, "a", "SUCCESS", h(2));
        let run_b = insert(c, "b", "RUNNING", h(1));
        let old_b = insert(c, "b", "RUNNING", h(30)); // two running rows
        let st = stats(c, now).unwrap();
        let a = &st["a"];
        assert_eq!(a.last.as_ref().unwrap().id, last_a);
        assert_eq!((a.success_7d, a.finished_7d), (2, 3));
        assert!((a.success_rate().unwrap() - 66.666).abs() < 0.01);
        assert!(a.running.is_empty());
        let b = &st["b"];
        assert_eq!(b.last.as_ref().unwrap().id, run_b);
        let mut ids: Vec<i64> = b.running.iter().map(|r| r.id).collect();
        ids.sort();
        assert_eq!(ids, vec![run_b, old_b]);
        assert_eq!(b.success_rate(), None, "no finished runs");
        assert!(!st.contains_key("c"));
        let list = runs(c, Some("A"), 3).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].id, last_a, "newest first, any letter case");
        assert_eq!(runs(c, None, 100).unwrap().len(), 8);
        assert!(runs::get(c, 9999).unwrap().is_none());
    }
}

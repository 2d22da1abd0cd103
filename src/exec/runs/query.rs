//! Reading run records: every query of the `runs` table other modules need (history, status,
//! dependencies, the dashboard, the daily report, task listings, `orc watch`, metrics).
//!
//! # Indexed reads
//!
//! Every read here costs the same on a database of a million runs as on an empty one (issue
//! 17; `scripts/bench_history.sh` measures it), because each walks an index to the rows it
//! returns instead of scanning the history. Task names are compared ignoring case, so the
//! indexes are `COLLATE NOCASE` (schema migration 6):
//!
//! | read | index |
//! |---|---|
//! | the tasks that have runs ([`TASK_NAMES`]: a loose index scan, one seek per task) | `runs_task_start` |
//! | newest run of a task ([`last_for_task`], [`latest_per_task`], [`last_per_task`], [`list`] by task) | `runs_task_start` |
//! | newest run of a task with a status ([`last_with_status`], [`last_finished`]) | `runs_task_status_start` |
//! | runs per task and status since an instant ([`counts_by_status_since`], [`finished_counts_since`]) | `runs_task_status_start` (covering) |
//! | end of the newest success ([`last_success_end`]) | `runs_task_success_end` |
//! | `RUNNING` rows ([`running`]) | `runs_running` |
//! | a time window ([`started_between`], [`list`] by time) | `runs_by_start` |
//! | newest runs with a status, any task ([`list`] and [`super::page()`] by status) | `runs_status_start` |
//! | slots served since an instant ([`slots_started_since`]) | `runs_task_start` |
//! | durations of the newest successes ([`success_durations`]) | `runs_task_status_start` |
//! | the metrics textfile's per-task values ([`task_stats`]) | `runs_task_start`, `runs_task_status_start`, table `run_counts` |
//!
//! `run_counts` (runs per task and status) is kept by triggers on `runs` (schema migration
//! 11), so a total over the whole history is one lookup, not a count.
//!
//! A new read should use one of these (check with `EXPLAIN QUERY PLAN`: no `SCAN runs`).

use std::collections::BTreeMap;

use crate::store::sql::{Connection, OptionalExtension, Row};
use chrono::{DateTime, Utc};

use super::{ProcessResult, RunRecord, Status, StoredStream, Trigger};
use crate::store::{from_db_time, to_db_time};

pub(super) const COLUMNS: &str =
    "id, task_id, task, slot, attempt, trigger, status, start, \"end\", duration_ms,
    exit_code, killed_by_timeout, error, stdout_head, stdout_tail, stdout_bytes, stderr_head,
    stderr_tail, stderr_bytes, output_file, pid, pid_started, child_pid, host, orc_version";

pub(super) fn from_row(r: &Row<'_>) -> crate::store::sql::Result<RunRecord> {
    let time = |s: String| from_db_time(&s).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let status: String = r.get(6)?;
    Ok(RunRecord {
        id: r.get(0)?,
        task_id: r.get(1)?,
        task: r.get(2)?,
        slot: r.get(3)?,
        attempt: r.get(4)?,
        trigger: Trigger::parse(&r.get::<_, String>(5)?),
        status: Status::parse(&status).unwrap_or(Status::Failed),
        start: time(r.get(7)?),
        end: r.get::<_, Option<String>>(8)?.map(time),
        duration_ms: r.get(9)?,
        error: r.get(12)?,
        process: ProcessResult {
            exit_code: r.get(10)?,
            killed_by_timeout: r.get(11)?,
            stdout: StoredStream {
                head: r.get::<_, Option<Vec<u8>>>(13)?.unwrap_or_default(),
                tail: r.get::<_, Option<Vec<u8>>>(14)?.unwrap_or_default(),
                bytes: r.get(15)?,
            },
            stderr: StoredStream {
                head: r.get::<_, Option<Vec<u8>>>(16)?.unwrap_or_default(),
                tail: r.get::<_, Option<Vec<u8>>>(17)?.unwrap_or_default(),
                bytes: r.get(18)?,
            },
            output_file: r.get(19)?,
        },
        pid: r.get(20)?,
        pid_started: r.get(21)?,
        child_pid: r.get(22)?,
        host: r.get(23)?,
        orc_version: r.get(24)?,
    })
}

/// One run by id.
pub fn get(conn: &Connection, id: i64) -> crate::store::sql::Result<Option<RunRecord>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"), [id], from_row).optional()
}

/// What `history` asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub task: Option<String>,
    pub status: Option<Status>,
    pub since: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// Runs matching `f`, newest first.
pub fn list(conn: &Connection, f: &Filter) -> crate::store::sql::Result<Vec<RunRecord>> {
    let mut sql = format!("SELECT {COLUMNS} FROM runs WHERE 1=1");
    let mut args: Vec<Box<dyn crate::store::sql::ToSql>> = Vec::new();
    if let Some(t) = &f.task {
        args.push(Box::new(t.clone()));
        sql.push_str(&format!(" AND task = ?{} COLLATE NOCASE", args.len()));
    }
    if let Some(s) = f.status {
        args.push(Box::new(s.as_str()));
        sql.push_str(&format!(" AND status = ?{}", args.len()));
    }
    if let Some(since) = f.since {
        args.push(Box::new(to_db_time(since)));
        sql.push_str(&format!(" AND start >= ?{}", args.len()));
    }
    args.push(Box::new(i64::from(f.limit)));
    sql.push_str(&format!(" ORDER BY start DESC, id DESC LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(crate::store::sql::params_from_iter(args.iter()), from_row)?;
    rows.collect()
}

/// The newest run of a task (any status).
pub fn last_for_task(
    conn: &Connection,
    task: &str,
) -> crate::store::sql::Result<Option<RunRecord>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM runs WHERE task COLLATE NOCASE = ?1
             ORDER BY start DESC, id DESC LIMIT 1"
        ),
        [task],
        from_row,
    )
    .optional()
}

/// `RUNNING` rows, of one task or of all.
pub fn running(conn: &Connection, task: Option<&str>) -> crate::store::sql::Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM runs WHERE status = 'RUNNING'
         AND (task COLLATE NOCASE = ?1 OR ?1 IS NULL) ORDER BY id"
    ))?;
    let rows = stmt.query_map([task], from_row)?;
    rows.collect()
}

/// A `WITH` clause naming `names(t)`: one spelling of every task name that has runs (told
/// apart ignoring letter case), found by a loose index scan of `runs_task_start` (one index
/// seek per task, not a scan of the history). The last row of `names` is `NULL`.
pub const TASK_NAMES: &str = "WITH RECURSIVE names(t) AS (
      SELECT (SELECT task FROM runs ORDER BY task COLLATE NOCASE LIMIT 1)
      UNION ALL
      SELECT (SELECT task FROM runs WHERE task > names.t COLLATE NOCASE
              ORDER BY task COLLATE NOCASE LIMIT 1)
      FROM names WHERE names.t IS NOT NULL)";

/// The id of the newest run of task `names.t` (for use with [`TASK_NAMES`]).
const NEWEST_OF_NAME: &str = "(SELECT id FROM runs WHERE task = names.t COLLATE NOCASE
      ORDER BY start DESC, id DESC LIMIT 1)";

/// The newest run (any status) of every task that has runs, tasks told apart ignoring letter
/// case, in task order.
pub fn latest_per_task(conn: &Connection) -> crate::store::sql::Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare(&format!(
        "{TASK_NAMES} SELECT {COLUMNS} FROM names JOIN runs ON runs.id = {NEWEST_OF_NAME}
         WHERE names.t IS NOT NULL ORDER BY names.t COLLATE NOCASE"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

/// The newest run of every task (tasks told apart ignoring letter case) and every `RUNNING`
/// row, in no particular order.
pub fn latest_and_running(conn: &Connection) -> crate::store::sql::Result<Vec<RunRecord>> {
    let mut out = latest_per_task(conn)?;
    let ids: std::collections::HashSet<i64> = out.iter().map(|r| r.id).collect();
    out.extend(running(conn, None)?.into_iter().filter(|r| !ids.contains(&r.id)));
    Ok(out)
}

/// The newest run of `task` whose status is one of `statuses` (e.g. the last failure:
/// `[Failed, Timeout, Abandoned]`). One index seek per status.
pub fn last_with_status(
    conn: &Connection,
    task: &str,
    statuses: &[Status],
) -> crate::store::sql::Result<Option<RunRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM runs WHERE task COLLATE NOCASE = ?1 AND status = ?2
         ORDER BY start DESC, id DESC LIMIT 1"
    ))?;
    let mut best: Option<RunRecord> = None;
    for s in statuses {
        if let Some(r) =
            stmt.query_row(crate::store::sql::params![task, s.as_str()], from_row).optional()?
            && best.as_ref().is_none_or(|b| (r.start, r.id) > (b.start, b.id))
        {
            best = Some(r);
        }
    }
    Ok(best)
}

/// Per task (lower-case name) and status: how many runs started at or after `since`
/// (statuses without runs are left out, and tasks without any).
pub fn counts_by_status_since(
    conn: &Connection,
    since: DateTime<Utc>,
) -> crate::store::sql::Result<BTreeMap<String, BTreeMap<Status, i64>>> {
    let statuses: Vec<String> = Status::ALL.iter().map(|s| format!("('{}')", s.as_str())).collect();
    let mut stmt = conn.prepare(&format!(
        "{TASK_NAMES} SELECT lower(names.t), s.column1,
           (SELECT count(*) FROM runs WHERE task = names.t COLLATE NOCASE
            AND status = s.column1 AND start >= ?1)
         FROM names, (VALUES {}) s WHERE names.t IS NOT NULL",
        statuses.join(", ")
    ))?;
    let rows = stmt.query_map([to_db_time(since)], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
    })?;
    let mut out: BTreeMap<String, BTreeMap<Status, i64>> = BTreeMap::new();
    for row in rows {
        let (task, status, n) = row?;
        if let Some(status) = Status::parse(&status)
            && n > 0
        {
            out.entry(task).or_default().insert(status, n);
        }
    }
    Ok(out)
}

/// The newest run of `task` that is over and was not skipped (the run `task:NAME` looks at).
pub fn last_finished(
    conn: &Connection,
    task: &str,
) -> crate::store::sql::Result<Option<RunRecord>> {
    conn.query_row(
        &format!(
            "SELECT {COLUMNS} FROM runs WHERE task COLLATE NOCASE = ?1
             AND status NOT IN ('RUNNING', 'SKIPPED') ORDER BY start DESC, id DESC LIMIT 1"
        ),
        [task],
        from_row,
    )
    .optional()
}

/// The end of the newest successful run of `task`.
pub fn last_success_end(
    conn: &Connection,
    task: &str,
) -> crate::store::sql::Result<Option<DateTime<Utc>>> {
    let end: Option<Option<String>> = conn
        .query_row(
            "SELECT \"end\" FROM runs WHERE task COLLATE NOCASE = ?1 AND status = 'SUCCESS'
             ORDER BY \"end\" DESC LIMIT 1",
            [task],
            |r| r.get(0),
        )
        .optional()?;
    Ok(end.flatten().and_then(|s| from_db_time(&s)))
}

/// The latest run of every task that has one: task name (lower case) → (status, start).
pub fn last_per_task(
    conn: &Connection,
) -> crate::store::sql::Result<BTreeMap<String, (String, DateTime<Utc>)>> {
    let mut stmt = conn.prepare(&format!(
        "{TASK_NAMES} SELECT runs.task, runs.status, runs.start FROM names
         JOIN runs ON runs.id = {NEWEST_OF_NAME} WHERE names.t IS NOT NULL"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (task, status, start) = row?;
        if let Some(t) = from_db_time(&start) {
            out.insert(task.to_ascii_lowercase(), (status, t));
        }
    }
    Ok(out)
}

/// Runs that started in `[from, to)`, oldest first (the daily report's window).
pub fn started_between(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> crate::store::sql::Result<Vec<RunRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM runs WHERE start >= ?1 AND start < ?2 ORDER BY start, id"
    ))?;
    let rows = stmt.query_map([to_db_time(from), to_db_time(to)], from_row)?;
    rows.collect()
}

/// Per task (lower-case name): finished runs (SUCCESS, FAILED, TIMEOUT, ABANDONED) since
/// `since`, and how many of them succeeded (from [`counts_by_status_since`]).
pub fn finished_counts_since(
    conn: &Connection,
    since: DateTime<Utc>,
) -> crate::store::sql::Result<BTreeMap<String, (i64, i64)>> {
    let finished = [Status::Success, Status::Failed, Status::Timeout, Status::Abandoned];
    Ok(counts_by_status_since(conn, since)?
        .into_iter()
        .filter_map(|(task, counts)| {
            let n: i64 = finished.iter().filter_map(|s| counts.get(s)).sum();
            let ok = counts.get(&Status::Success).copied().unwrap_or(0);
            (n > 0).then_some((task, (n, ok)))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_per_task_picks_the_newest_per_task() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        for (task, status, start) in [
            ("a", "FAILED", "2026-01-01T00:00:00.000Z"),
            ("A", "SUCCESS", "2026-01-02T00:00:00.000Z"),
            ("b", "TIMEOUT", "2026-01-01T00:00:00.000Z"),
        ] {
            store
                .conn()
                .execute(
                    "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
                     VALUES (?1, 'manual', ?2, ?3, 'h', 'v')",
                    crate::store::sql::params![task, status, start],
                )
                .unwrap();
        }
        let last = last_per_task(store.conn()).unwrap();
        assert_eq!(last["a"].0, "SUCCESS");
        assert_eq!(last["b"].0, "TIMEOUT");
        assert_eq!(last.len(), 2);
    }

    /// `run_counts` follows every write of `runs` (insert, a status change, a rename, a
    /// delete), task names told apart ignoring case, and migration 11 fills it from the runs a
    /// database already has.
    #[test]
    fn run_counts_follow_every_write_of_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("orc.db");
        {
            // A database at the schema before run_counts, with runs.
            let c = rusqlite::Connection::open(&path).unwrap();
            let migrations = crate::store::MIGRATIONS;
            let counts_at = migrations.iter().position(|m| m.contains("TABLE run_counts")).unwrap();
            for (i, sql) in migrations[..counts_at].iter().enumerate() {
                c.execute_batch(sql).unwrap();
                c.pragma_update(None, "user_version", i as i64 + 1).unwrap();
            }
            for (task, status) in [("a", "SUCCESS"), ("A", "SUCCESS"), ("a", "FAILED")] {
                c.execute(
                    "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
                     VALUES (?1, 'manual', ?2, '2026-01-01T00:00:00.000Z', 'h', 'v')",
                    rusqlite::params![task, status],
                )
                .unwrap();
            }
        }
        let store = crate::store::Store::open(dir.path()).unwrap();
        let c = store.conn();
        let counts = |task: &str| task_stats(c, task).unwrap().by_status;
        let of = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
            pairs.iter().map(|(s, n)| (s.to_string(), *n)).collect()
        };
        assert_eq!(counts("A"), of(&[("FAILED", 1), ("SUCCESS", 2)]));
        let insert = |task: &str, status: &str| {
            c.query_row(
                "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
                 VALUES (?1, 'manual', ?2, '2026-01-02T00:00:00.000Z', 'h', 'v') RETURNING id",
                crate::store::sql::params![task, status],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        };
        let running = insert("a", "RUNNING");
        insert("b", "SKIPPED");
        assert_eq!(counts("a"), of(&[("FAILED", 1), ("RUNNING", 1), ("SUCCESS", 2)]));
        c.execute("UPDATE runs SET status = 'TIMEOUT' WHERE id = ?1", [running]).unwrap();
        c.execute("UPDATE runs SET error = 'x' WHERE id = ?1", [running]).unwrap();
        assert_eq!(counts("a"), of(&[("FAILED", 1), ("SUCCESS", 2), ("TIMEOUT", 1)]));
        c.execute("UPDATE runs SET task = 'b' WHERE id = ?1", [running]).unwrap();
        assert_eq!(counts("B"), of(&[("SKIPPED", 1), ("TIMEOUT", 1)]));
        c.execute("DELETE FROM runs WHERE task = 'a' COLLATE NOCASE AND status = 'SUCCESS'", [])
            .unwrap();
        assert_eq!(counts("a"), of(&[("FAILED", 1)]));
        let table = |sql: &str| -> BTreeMap<(String, String), i64> {
            c.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
                .unwrap()
                .collect::<crate::store::sql::Result<_>>()
                .unwrap()
        };
        assert_eq!(
            table("SELECT lower(task), status, n FROM run_counts WHERE n > 0"),
            table("SELECT lower(task), status, count(*) FROM runs GROUP BY 1, 2")
        );
    }

    /// Every read of this module walks an index: the plan of each statement it runs (traced
    /// with its parameters) has no full scan of `runs` and no sort of the whole table. The
    /// planner has no statistics (orc never runs ANALYZE), so the plan does not depend on
    /// how many rows there are: what holds here holds on a million runs.
    #[test]
    fn every_read_walks_an_index() {
        use std::sync::{Arc, Mutex};
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        for (i, task) in ["a", "B", "c"].iter().enumerate() {
            store
                .conn()
                .execute(
                    "INSERT INTO runs (task, trigger, status, start, \"end\", host, orc_version) \
                     VALUES (?1, 'manual', 'SUCCESS', ?2, ?2, 'h', 'v')",
                    crate::store::sql::params![task, format!("2026-01-0{}T00:00:00.000Z", i + 1)],
                )
                .unwrap();
        }
        let mut raw = rusqlite::Connection::open(store.path()).unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&seen);
        raw.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_STMT,
            Some(move |e: rusqlite::trace::TraceEvent<'_>| {
                if let rusqlite::trace::TraceEvent::Stmt(s, _) = e
                    && let Some(sql) = s.expanded_sql()
                {
                    sink.lock().unwrap().push(sql);
                }
            }),
        )
        .unwrap();
        let conn = Connection::from_sqlite(raw);
        let since = from_db_time("2026-01-01T00:00:00.000Z").unwrap();
        let failure = [Status::Failed, Status::Timeout, Status::Abandoned];
        get(&conn, 1).unwrap();
        list(&conn, &Filter { task: Some("a".into()), limit: 50, ..Filter::default() }).unwrap();
        let by_status = Filter { status: Some(Status::Failed), ..Filter::default() };
        list(&conn, &Filter { task: Some("a".into()), limit: 50, ..by_status.clone() }).unwrap();
        list(&conn, &Filter { limit: 50, ..Filter::default() }).unwrap();
        assert_eq!(last_for_task(&conn, "b").unwrap().unwrap().task, "B");
        running(&conn, Some("a")).unwrap();
        running(&conn, None).unwrap();
        assert_eq!(latest_per_task(&conn).unwrap().len(), 3);
        assert_eq!(latest_and_running(&conn).unwrap().len(), 3);
        assert!(last_with_status(&conn, "a", &failure).unwrap().is_none());
        assert_eq!(last_with_status(&conn, "A", &[Status::Success]).unwrap().unwrap().id, 1);
        assert!(last_finished(&conn, "c").unwrap().is_some());
        assert!(last_success_end(&conn, "c").unwrap().is_some());
        assert_eq!(last_per_task(&conn).unwrap().len(), 3);
        assert_eq!(counts_by_status_since(&conn, since).unwrap()["b"][&Status::Success], 1);
        assert_eq!(finished_counts_since(&conn, since).unwrap()["c"], (1, 1));
        started_between(&conn, since, since).unwrap();
        list(&conn, &Filter { limit: 50, ..by_status.clone() }).unwrap();
        let since_filter = Filter { since: Some(since), limit: 50, ..by_status.clone() };
        list(&conn, &since_filter).unwrap();
        let failed_page = super::super::PageQuery {
            status: Some(Status::Failed),
            after: Some(2),
            limit: 50,
            ..Default::default()
        };
        super::super::page(&conn, &failed_page).unwrap();
        assert_eq!(slots_started_since(&conn, "A", since).unwrap(), Vec::<String>::new());
        assert_eq!(success_durations(&conn, "b", 5).unwrap(), Vec::<u64>::new());
        let stats = task_stats(&conn, "C").unwrap();
        assert_eq!(stats.by_status, BTreeMap::from([("SUCCESS".to_string(), 1)]));
        let mut raw = conn.into_sqlite().unwrap();
        raw.trace_v2(
            rusqlite::trace::TraceEventCodes::empty(),
            None::<fn(rusqlite::trace::TraceEvent<'_>)>,
        )
        .unwrap();
        let conn = Connection::from_sqlite(raw);
        let statements = seen.lock().unwrap().clone();
        assert!(statements.len() >= 28, "{statements:?}");
        for sql in statements {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> =
                stmt.query_map([], |r| r.get(3)).unwrap().collect::<Result<_, _>>().unwrap();
            // A status without a task: walking `runs_by_start` and filtering would read the
            // whole history for a rare status; the (status, start) index seeks to it.
            let by_task = sql.contains("task =") || sql.contains("task COLLATE NOCASE =");
            if sql.contains("status = 'FAILED'") && !by_task {
                let seek = plan.iter().any(|s| s.contains("INDEX runs_status_start (status=?"));
                assert!(seek, "status read not on runs_status_start in {sql}: {plan:?}");
            }
            for step in &plan {
                // `SCAN runs` / `SCAN r1`: a table scan (the CTE `names` and constant rows
                // are scanned by design).
                let table_scan = step.starts_with("SCAN ")
                    && step.split(' ').count() == 2
                    && !matches!(step.as_str(), "SCAN names" | "SCAN s");
                assert!(!table_scan, "full scan of runs in {sql}: {plan:?}");
                assert!(
                    !(step.starts_with("USE TEMP B-TREE") && plan.len() == 2),
                    "sort of runs in {sql}: {plan:?}"
                );
            }
        }
    }
}

/// The slots served by runs of `task` (ignoring letter case) that started at or after
/// `since`: what `orc watch` compares a schedule's slots with. Uses `runs_task_start`.
pub fn slots_started_since(
    conn: &Connection,
    task: &str,
    since: DateTime<Utc>,
) -> crate::store::sql::Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT slot FROM runs WHERE task COLLATE NOCASE = ?1 AND start >= ?2
         AND slot IS NOT NULL",
    )?;
    let rows = stmt.query_map(crate::store::sql::params![task, to_db_time(since)], |r| r.get(0))?;
    rows.collect()
}

/// Durations (ms) of the newest `n` successful runs of `task`, newest first.
pub fn success_durations(
    conn: &Connection,
    task: &str,
    n: usize,
) -> crate::store::sql::Result<Vec<u64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT duration_ms FROM runs WHERE task COLLATE NOCASE = ?1 AND status = 'SUCCESS'
         AND duration_ms IS NOT NULL ORDER BY start DESC LIMIT ?2",
    )?;
    let rows =
        stmt.query_map(crate::store::sql::params![task, n as i64], |r| r.get::<_, i64>(0))?;
    rows.map(|r| r.map(|ms| ms.max(0) as u64)).collect()
}

/// What the metrics textfile shows about one task, each value from an indexed lookup
/// (`runs_task_start`, `runs_task_status_start`, the `run_counts` table), never a scan or a
/// count of the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskStats {
    /// Start of the newest run (any status).
    pub last_run: Option<DateTime<Utc>>,
    /// Start of the newest successful run.
    pub last_success: Option<DateTime<Utc>>,
    /// Start of the newest FAILED, TIMEOUT or ABANDONED run.
    pub last_failure: Option<DateTime<Utc>>,
    /// Duration and exit code of the newest finished run.
    pub last_duration_ms: Option<i64>,
    pub last_exit_code: Option<i64>,
    /// Runs per status (stored names), statuses without runs left out.
    pub by_status: BTreeMap<String, i64>,
}

/// [`TaskStats`] of `task` (ignoring letter case).
pub fn task_stats(conn: &Connection, task: &str) -> crate::store::sql::Result<TaskStats> {
    let time = |s: Option<String>| s.as_deref().and_then(from_db_time);
    let max_start = |statuses: &[Status]| -> crate::store::sql::Result<Option<DateTime<Utc>>> {
        let mut stmt = conn.prepare_cached(
            "SELECT max(start) FROM runs WHERE task COLLATE NOCASE = ?1 AND status = ?2",
        )?;
        let mut best = None;
        for s in statuses {
            let v: Option<String> = stmt.query_row([task, s.as_str()], |r| r.get(0))?;
            best = best.max(time(v));
        }
        Ok(best)
    };
    let last_run: Option<String> = conn
        .prepare_cached("SELECT max(start) FROM runs WHERE task COLLATE NOCASE = ?1")?
        .query_row([task], |r| r.get(0))?;
    let last_finished = conn
        .prepare_cached(
            "SELECT duration_ms, exit_code FROM runs WHERE task COLLATE NOCASE = ?1 \
             AND \"end\" IS NOT NULL \
             AND status NOT IN ('RUNNING', 'SKIPPED') ORDER BY start DESC LIMIT 1",
        )?
        .query_row([task], |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)))
        .optional()?;
    let mut stmt =
        conn.prepare_cached("SELECT status, n FROM run_counts WHERE task = ?1 AND n > 0")?;
    let by_status = stmt
        .query_map([task], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<crate::store::sql::Result<BTreeMap<_, _>>>()?;
    let (last_duration_ms, last_exit_code) = last_finished.unwrap_or_default();
    Ok(TaskStats {
        last_run: time(last_run),
        last_success: max_start(&[Status::Success])?,
        last_failure: max_start(&[Status::Failed, Status::Timeout, Status::Abandoned])?,
        last_duration_ms,
        last_exit_code,
        by_status,
    })
}

//! What the dashboard shows, read from the store: tasks with their last run, next run and
//! 7-day success rate; runs; one run with its stored output. Every function takes a plain
//! connection; the server opens it read-only per request and reads inside one short
//! deferred transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};

use crate::clock;
use crate::cron::CronExpr;
use crate::store::{from_db_time, to_db_time};
use crate::task::TaskSpec;

/// Bytes of each stream's tail included in list JSON (as `orc history --json`).
pub const LIST_TAIL_BYTES: usize = 4096;

/// One row of `runs`, as the dashboard needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub task: String,
    pub slot: Option<String>,
    pub attempt: i64,
    pub trigger: String,
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    pub exit_code: Option<i64>,
    pub killed_by_timeout: bool,
    pub error: Option<String>,
    pub host: String,
    pub orc_version: String,
    pub pid: Option<i64>,
    pub stdout: Stream,
    pub stderr: Stream,
    pub output_file: Option<String>,
}

/// One output stream as stored: the first and last bytes and the total count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    pub bytes: i64,
}

impl Stream {
    /// Bytes were dropped between head and tail.
    pub fn truncated(&self) -> bool {
        self.bytes > (self.head.len() + self.tail.len()) as i64
    }

    /// Everything stored, decoded lossily, with a marker where bytes were not kept.
    pub fn text(&self) -> String {
        if !self.truncated() {
            return decode(&[&self.head[..], &self.tail].concat());
        }
        let omitted = self.bytes - (self.head.len() + self.tail.len()) as i64;
        format!("{}\n[… {omitted} bytes not kept …]\n{}", decode(&self.head), decode(&self.tail))
    }

    /// At most the last `max` bytes kept, decoded lossily.
    pub fn tail_text(&self, max: usize) -> String {
        let kept: Vec<u8> = if self.truncated() {
            self.tail.clone()
        } else {
            [&self.head[..], &self.tail].concat()
        };
        decode(&kept[kept.len().saturating_sub(max)..])
    }
}

/// Lossy decoding: UTF-8 (BOM dropped), UTF-16LE when it starts with its BOM, CRLF as LF.
pub fn decode(bytes: &[u8]) -> String {
    let text = if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else {
        let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        String::from_utf8_lossy(b).into_owned()
    };
    text.replace("\r\n", "\n")
}

/// An exit value as people read it: decimal, and hex for NTSTATUS values (≥ 0xC0000000,
/// also when stored as a negative 32-bit number).
pub fn exit_code_text(code: i64) -> String {
    let as_u32 = if (i64::from(i32::MIN)..0).contains(&code) { Some(code as u32) } else { None };
    let unsigned = as_u32.map(i64::from).unwrap_or(code);
    if (0xC000_0000..=0xFFFF_FFFF).contains(&unsigned) {
        let name = match unsigned {
            0xC000_0005 => " (access violation)",
            0xC000_013A => " (Ctrl+C: STATUS_CONTROL_C_EXIT)",
            0xC000_00FD => " (stack overflow)",
            0xC000_0409 => " (stack buffer overrun)",
            0xC000_0135 => " (DLL not found)",
            0xC000_0142 => " (DLL initialization failed)",
            0xC000_0017 => " (out of memory)",
            _ => "",
        };
        if code < 0 && name.is_empty() {
            // e.g. `exit /b -1`: show what the program returned and what Windows shows.
            return format!("{code} (0x{unsigned:08X})");
        }
        format!("0x{unsigned:08X}{name}")
    } else {
        code.to_string()
    }
}

impl Run {
    /// The run as JSON, with the fields of `orc history --json`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "task": self.task,
            "slot": self.slot,
            "attempt": self.attempt,
            "trigger": self.trigger,
            "status": self.status,
            "start": clock::to_local_iso(self.start),
            "end": self.end.map(clock::to_local_iso),
            "duration_ms": self.duration_ms,
            "exit_code": self.exit_code,
            "exit_code_text": self.exit_code.map(exit_code_text),
            "error": self.error,
            "killed_by_timeout": self.killed_by_timeout,
            "host": self.host,
            "orc_version": self.orc_version,
            "pid": self.pid,
            "stdout_bytes": self.stdout.bytes,
            "stderr_bytes": self.stderr.bytes,
            "truncated": self.stdout.truncated() || self.stderr.truncated(),
            "output_file": self.output_file,
            "stdout_tail": self.stdout.tail_text(LIST_TAIL_BYTES),
            "stderr_tail": self.stderr.tail_text(LIST_TAIL_BYTES),
        })
    }
}

const RUN_COLUMNS: &str = "id, task, slot, attempt, trigger, status, start, end, duration_ms, \
    exit_code, killed_by_timeout, error, host, orc_version, pid, stdout_head, stdout_tail, \
    stdout_bytes, stderr_head, stderr_tail, stderr_bytes, output_file";

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    let start: String = r.get(6)?;
    let end: Option<String> = r.get(7)?;
    Ok(Run {
        id: r.get(0)?,
        task: r.get(1)?,
        slot: r.get(2)?,
        attempt: r.get(3)?,
        trigger: r.get(4)?,
        status: r.get(5)?,
        start: from_db_time(&start).unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
        end: end.as_deref().and_then(from_db_time),
        duration_ms: r.get(8)?,
        exit_code: r.get(9)?,
        killed_by_timeout: r.get(10)?,
        error: r.get(11)?,
        host: r.get(12)?,
        orc_version: r.get(13)?,
        pid: r.get(14)?,
        stdout: Stream {
            head: r.get::<_, Option<Vec<u8>>>(15)?.unwrap_or_default(),
            tail: r.get::<_, Option<Vec<u8>>>(16)?.unwrap_or_default(),
            bytes: r.get(17)?,
        },
        stderr: Stream {
            head: r.get::<_, Option<Vec<u8>>>(18)?.unwrap_or_default(),
            tail: r.get::<_, Option<Vec<u8>>>(19)?.unwrap_or_default(),
            bytes: r.get(20)?,
        },
        output_file: r.get(21)?,
    })
}

/// Runs, newest first, optionally of one task (case-insensitive).
pub fn runs(conn: &Connection, task: Option<&str>, limit: u32) -> rusqlite::Result<Vec<Run>> {
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE (?1 IS NULL OR task = ?1 COLLATE NOCASE) \
         ORDER BY start DESC, id DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![task, limit], run_from_row)?;
    rows.collect()
}

/// One run by id.
pub fn run(conn: &Connection, id: i64) -> rusqlite::Result<Option<Run>> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
    conn.query_row(&sql, [id], run_from_row).optional()
}

/// A task as stored, or the reason its definition cannot be read.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub name: String,
    pub enabled: bool,
    pub spec: Result<TaskSpec, String>,
}

/// Every task, by name.
pub fn tasks(conn: &Connection) -> rusqlite::Result<Vec<TaskRow>> {
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
pub fn task(conn: &Connection, name: &str) -> rusqlite::Result<Option<TaskRow>> {
    Ok(tasks(conn)?.into_iter().find(|t| t.name.eq_ignore_ascii_case(name)))
}

/// Per-task figures for the overview.
#[derive(Debug, Clone, Default)]
pub struct TaskStats {
    pub last: Option<Run>,
    pub running: Vec<Run>,
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
) -> rusqlite::Result<BTreeMap<String, TaskStats>> {
    let mut out: BTreeMap<String, TaskStats> = BTreeMap::new();
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id IN (SELECT (SELECT id FROM runs r2 \
         WHERE r2.task = r1.task COLLATE NOCASE ORDER BY start DESC, id DESC LIMIT 1) \
         FROM runs r1 GROUP BY task COLLATE NOCASE) OR status = 'RUNNING'"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], run_from_row)?;
    let mut lasts: Vec<Run> = Vec::new();
    for row in rows {
        let run = row?;
        let key = run.task.to_ascii_lowercase();
        if run.status == "RUNNING" {
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
    let since = to_db_time(now - Duration::days(7));
    let mut stmt = conn.prepare(
        "SELECT lower(task), count(*), sum(status = 'SUCCESS') FROM runs \
         WHERE start >= ?1 AND status IN ('SUCCESS', 'FAILED', 'TIMEOUT', 'ABANDONED') \
         GROUP BY lower(task)",
    )?;
    let rows = stmt.query_map([since], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })?;
    for row in rows {
        let (key, finished, ok) = row?;
        let e = out.entry(key).or_default();
        e.finished_7d = finished;
        e.success_7d = ok;
    }
    Ok(out)
}

/// The next start of an enabled task, or why there is none.
pub fn next_run(
    enabled: bool,
    schedule: &str,
) -> (Option<DateTime<chrono::Local>>, Option<&'static str>) {
    if !enabled {
        return (None, Some("disabled"));
    }
    match CronExpr::parse(schedule) {
        Ok(expr) => match expr.next_runs(&clock::now(), 1).into_iter().next() {
            Some(t) => (Some(t), None),
            None => (None, Some("never")),
        },
        Err(_) => (None, Some("invalid schedule")),
    }
}

/// A run object of `/api/status`'s `last_run`.
#[derive(Debug, Serialize)]
struct LastRunJson<'a> {
    id: i64,
    status: &'a str,
    start: String,
    end: Option<String>,
    duration_ms: Option<i64>,
    exit_code: Option<i64>,
    error: Option<&'a str>,
}

/// `/api/status`: one object per task, the shape of `orc status --json`, plus the
/// description and the 7-day success figures.
pub fn status_json(conn: &Connection) -> rusqlite::Result<Value> {
    let now = clock::now_utc();
    let stats = stats(conn, now)?;
    let mut out = Vec::new();
    for t in tasks(conn)? {
        let key = t.name.to_ascii_lowercase();
        let s = stats.get(&key).cloned().unwrap_or_default();
        let schedule = t.spec.as_ref().map(|s| s.schedule.clone()).unwrap_or_default();
        let (next, _) = next_run(t.enabled, &schedule);
        out.push(json!({
            "name": t.name,
            "enabled": t.enabled,
            "schedule": schedule,
            "description": CronExpr::parse(&schedule).ok().map(|e| e.describe()),
            "last_run": s.last.as_ref().map(|l| LastRunJson {
                id: l.id,
                status: &l.status,
                start: clock::to_local_iso(l.start),
                end: l.end.map(clock::to_local_iso),
                duration_ms: l.duration_ms,
                exit_code: l.exit_code,
                error: l.error.as_deref(),
            }),
            "next_run": next.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
            "running": s.running.iter().map(|x| json!({
                "id": x.id,
                "attempt": x.attempt,
                "start": clock::to_local_iso(x.start),
                "pid": x.pid,
                "host": x.host,
            })).collect::<Vec<_>>(),
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

    #[test]
    fn exit_codes_show_hex_for_ntstatus() {
        assert_eq!(exit_code_text(0), "0");
        assert_eq!(exit_code_text(1), "1");
        assert_eq!(exit_code_text(-1), "-1 (0xFFFFFFFF)");
        assert_eq!(exit_code_text(-2_000_000_000), "-2000000000");
        assert_eq!(exit_code_text(0xC000_0005), "0xC0000005 (access violation)");
        assert_eq!(
            exit_code_text(i64::from(0xC000_0005_u32 as i32)),
            "0xC0000005 (access violation)"
        );
        assert_eq!(exit_code_text(0xC000_0001), "0xC0000001");
        assert_eq!(exit_code_text(0xBFFF_FFFF), (0xBFFF_FFFF_i64).to_string());
    }

    fn insert(conn: &Connection, task: &str, status: &str, start: DateTime<Utc>) -> i64 {
        conn.execute(
            "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
             VALUES (?1, 'manual', ?2, ?3, 'h', 'v')",
            params![task, status, to_db_time(start)],
        )
        .unwrap();
        conn.last_insert_rowid()
    }

    #[test]
    fn stats_pick_the_latest_run_count_the_window_and_list_running() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let c = store.conn();
        let now = Utc::now();
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
        assert!(run(c, 9999).unwrap().is_none());
    }

    #[test]
    fn streams_decode_lossily_and_mark_gaps() {
        let s = Stream { head: b"ab\xffc\r\n".to_vec(), tail: Vec::new(), bytes: 6 };
        assert_eq!(s.text(), "ab\u{FFFD}c\n");
        let s = Stream { head: b"head".to_vec(), tail: b"tail".to_vec(), bytes: 108 };
        assert_eq!(s.text(), "head\n[… 100 bytes not kept …]\ntail");
        assert_eq!(s.tail_text(2), "il");
        let utf16 = [0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode(&utf16), "hi");
    }
}

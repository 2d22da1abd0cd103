//! Run records: the `runs` rows, their JSON form, and the queries `execute`, `history` and
//! `status` need.
//!
//! A `RUNNING` row is also the **lease** of the run: `pid` and `pid_started` identify the orc
//! process that owns it and will write its result; `child_pid` is the task's main process. A
//! `RUNNING` row whose owner is gone (pid dead, or reused: start time differs) on this host is
//! **stale** and is marked `ABANDONED` by the next `execute` or `status` ([`reap_stale`]).

use crate::store::sql::{Connection, params};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::clock;
use crate::exec::decode;
use crate::exec::process;
use crate::store::{Store, StoreError, classify, to_db_time};

mod log;
mod page;
pub use log::read_log;
mod query;
pub use page::{MAX_PAGE, Page, PageQuery, page};
pub use query::*;

/// The state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Running,
    Success,
    Failed,
    Timeout,
    Skipped,
    Abandoned,
}

impl Status {
    /// Every status, in display order.
    pub const ALL: [Status; 6] = [
        Status::Running,
        Status::Success,
        Status::Failed,
        Status::Timeout,
        Status::Skipped,
        Status::Abandoned,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Success => "SUCCESS",
            Status::Failed => "FAILED",
            Status::Timeout => "TIMEOUT",
            Status::Skipped => "SKIPPED",
            Status::Abandoned => "ABANDONED",
        }
    }

    /// Parses a name, ignoring case.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Parses the value of `field` (`--status`, the API's `status`), refused with the names.
    pub fn parse_field(field: &str, s: &str) -> crate::error::Result<Status> {
        let choices = Status::ALL.map(|st| (st.as_str(), st));
        crate::choice::parse(field, s, &choices)
    }

    /// Whether the run is over.
    pub fn is_final(self) -> bool {
        self != Status::Running
    }
}

/// Why a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Scheduled,
    Manual,
    Retry,
}

impl Trigger {
    /// Every trigger.
    pub const ALL: [Trigger; 3] = [Trigger::Scheduled, Trigger::Manual, Trigger::Retry];

    /// Parses the value of `field` (the API's `trigger`), refused with the names.
    pub fn parse_field(field: &str, s: &str) -> crate::error::Result<Trigger> {
        let choices = Trigger::ALL.map(|t| (t.as_str(), t));
        crate::choice::parse(field, s, &choices)
    }

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
            Trigger::Retry => "retry",
        }
    }

    fn parse(s: &str) -> Trigger {
        match s {
            "scheduled" => Trigger::Scheduled,
            "retry" => Trigger::Retry,
            _ => Trigger::Manual,
        }
    }
}

/// The stored part of one output stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredStream {
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
    /// Bytes the task wrote to the stream.
    pub bytes: i64,
}

impl StoredStream {
    /// Whether bytes were dropped between head and tail. Only a full tail ring can have
    /// dropped anything: `bytes` counts what the task wrote *before* secrets were masked, so
    /// comparing it with the kept length alone would call a redacted short output truncated.
    pub fn truncated(&self) -> bool {
        self.tail.len() >= crate::exec::output::TAIL_CAP
            && self.bytes > (self.head.len() + self.tail.len()) as i64
    }

    /// The last `max` bytes that were kept (the whole output when it was small), decoded.
    pub fn tail_text(&self, max: usize) -> String {
        let kept: Vec<u8> = if self.truncated() {
            self.tail.clone()
        } else {
            [&self.head[..], &self.tail].concat()
        };
        if kept.len() <= max && !self.truncated() {
            return decode::decode(&kept);
        }
        decode::decode_fragment(&kept[kept.len().saturating_sub(max)..])
    }

    /// Everything stored, decoded, with a marker where bytes were dropped.
    pub fn full_text(&self) -> String {
        if !self.truncated() {
            return decode::decode(&[&self.head[..], &self.tail].concat());
        }
        let omitted = self.bytes - (self.head.len() + self.tail.len()) as i64;
        format!(
            "{}\n[… {omitted} bytes not kept …]\n{}",
            decode::decode(&self.head),
            decode::decode_fragment(&self.tail)
        )
    }
}

/// One row of `runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRecord {
    pub id: i64,
    pub task_id: Option<i64>,
    pub task: String,
    /// The scheduled slot served (`2026-11-22T02:00+01:00`); `None` for manual runs.
    pub slot: Option<String>,
    pub attempt: u32,
    pub trigger: Trigger,
    pub status: Status,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub duration_ms: Option<i64>,
    /// What happened, in words, for anything but a plain success.
    pub error: Option<String>,
    /// What the task's process left (empty while it runs).
    pub process: ProcessResult,
    /// The orc process that owns (owned) the run.
    pub pid: Option<i64>,
    pub pid_started: Option<String>,
    /// The task's main process.
    pub child_pid: Option<i64>,
    pub host: String,
    pub orc_version: String,
}

/// Bytes of each stream's tail shown in list views.
pub const LIST_TAIL_BYTES: usize = 4096;

impl RunRecord {
    /// The run object of the JSON contract. `full` adds the stored heads and whole tails.
    pub fn to_json(&self, full: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "task": self.task,
            "slot": self.slot,
            "attempt": self.attempt,
            "trigger": self.trigger.as_str(),
            "status": self.status.as_str(),
            "start": clock::to_local_iso(self.start),
            "end": self.end.map(clock::to_local_iso),
            "duration_ms": self.duration_ms,
            "exit_code": self.process.exit_code,
            "exit_code_text": self.process.exit_code.map(exit_code_text),
            "error": self.error,
            "killed_by_timeout": self.process.killed_by_timeout,
            "host": self.host,
            "orc_version": self.orc_version,
            "pid": self.pid,
            "child_pid": self.child_pid,
            "stdout_bytes": self.process.stdout.bytes,
            "stderr_bytes": self.process.stderr.bytes,
            "truncated": self.process.stdout.truncated() || self.process.stderr.truncated(),
            "output_file": self.process.output_file,
        });
        let tail = if full { usize::MAX } else { LIST_TAIL_BYTES };
        v["stdout_tail"] = Value::String(self.process.stdout.tail_text(tail));
        v["stderr_tail"] = Value::String(self.process.stderr.tail_text(tail));
        if full {
            v["stdout"] = Value::String(self.process.stdout.full_text());
            v["stderr"] = Value::String(self.process.stderr.full_text());
        }
        v
    }

    /// The `last_run` object of `orc status --json`.
    pub fn last_run_json(&self) -> Value {
        json!({
            "id": self.id,
            "status": self.status.as_str(),
            "start": clock::to_local_iso(self.start),
            "end": self.end.map(clock::to_local_iso),
            "exit_code": self.process.exit_code,
            "error": self.error,
        })
    }

    /// An object of the `running` list of `orc status --json`.
    pub fn running_json(&self) -> Value {
        json!({
            "id": self.id,
            "attempt": self.attempt,
            "start": clock::to_local_iso(self.start),
            "pid": self.pid,
            "child_pid": self.child_pid,
            "host": self.host,
        })
    }

    /// Local start time for tables.
    pub fn start_human(&self) -> String {
        clock::to_local_human(self.start)
    }
}

/// An exit value as people read it: decimal for ordinary codes, hex for NTSTATUS-like values
/// (`0xC0000005 (access violation)`), with the name of well-known ones.
/// A code stored as a negative 32-bit number (legacy rows, `exit /b -1`) is read as the
/// unsigned value Windows shows: `-1 (0xFFFFFFFF)`, `0xC0000005 (access violation)`.
pub fn exit_code_text(code: i64) -> String {
    if (i64::from(i32::MIN)..0).contains(&code) {
        let unsigned = i64::from(code as u32);
        let text = exit_code_text(unsigned);
        if unsigned >= 0xC000_0000 && text.contains('(') {
            return text;
        }
        if unsigned >= 0xC000_0000 {
            return format!("{code} ({text})");
        }
        return code.to_string();
    }
    let name = match code {
        259 => Some("STILL_ACTIVE: ambiguous"),
        0xC000_0005 => Some("access violation"),
        0xC000_00FD => Some("stack overflow"),
        0xC000_0135 => Some("DLL not found"),
        0xC000_0139 => Some("entry point not found"),
        0xC000_0142 => Some("DLL initialization failed"),
        0xC000_0374 => Some("heap corruption"),
        0xC000_0409 => Some("stack buffer overrun"),
        0xC000_013A => Some("Ctrl+C or console closed"),
        0xC000_001D => Some("illegal instruction"),
        0xC000_0094 => Some("integer division by zero"),
        0x4F52_4354 => Some("killed by orc"),
        _ => None,
    };
    let number = if code >= 0x8000_0000 || code == 0x4F52_4354 {
        format!("0x{code:08X}")
    } else {
        code.to_string()
    };
    match name {
        Some(n) => format!("{number} ({n})"),
        None => number,
    }
}

/// The sentence for a task that exited on its own with a non-zero code or by a signal.
pub fn ended_text(ended: process::Ended) -> String {
    match ended {
        process::Ended::Code(c) => format!("exit code {}", exit_code_text(c)),
        process::Ended::Signal(s) => format!("killed by signal {s}{}", signal_name(s)),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        3 => " (SIGQUIT)",
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        14 => " (SIGALRM)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// Everything needed to insert a run row.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub task_id: Option<i64>,
    pub task: String,
    pub slot: Option<String>,
    pub attempt: u32,
    pub trigger: Trigger,
    pub start: DateTime<Utc>,
}

/// The result part of a run row.
#[derive(Debug, Clone)]
pub struct Finish {
    pub status: Status,
    pub end: DateTime<Utc>,
    pub duration_ms: i64,
    pub error: Option<String>,
    pub process: ProcessResult,
}

/// What the task's process left, in a run row and in its [`Finish`]: the exit value, whether
/// the timeout killed it, and its stored output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessResult {
    /// The full exit value (Windows: unsigned 32-bit; Unix signal death: 128 + n).
    pub exit_code: Option<i64>,
    pub killed_by_timeout: bool,
    pub stdout: StoredStream,
    pub stderr: StoredStream,
    /// The spill file with the complete output, when one was written.
    pub output_file: Option<String>,
}

impl Finish {
    /// A result with no output (skips, refusals).
    pub fn bare(status: Status, start: DateTime<Utc>, error: Option<String>) -> Finish {
        let end = clock::now_utc().max(start);
        Finish {
            status,
            end,
            duration_ms: (end - start).num_milliseconds(),
            error,
            process: ProcessResult::default(),
        }
    }
}

/// This machine's name, as recorded in `runs.host`: [`crate::fleet::this_host`] (the one
/// owner of the host identity; `ORC_HOSTNAME` overrides the computer name).
pub use crate::fleet::this_host as hostname;

/// Inserts a `RUNNING` row owned by this process. Returns its id.
pub fn insert_running(tx: &Connection, run: &NewRun) -> crate::store::sql::Result<i64> {
    let me = std::process::id();
    tx.query_row(
        "INSERT INTO runs (task_id, task, slot, attempt, trigger, status, start, pid, pid_started,
                           host, orc_version)
         VALUES (?1, ?2, ?3, ?4, ?5, 'RUNNING', ?6, ?7, ?8, ?9, ?10) RETURNING id",
        params![
            run.task_id,
            run.task,
            run.slot,
            run.attempt,
            run.trigger.as_str(),
            to_db_time(run.start),
            me,
            process::start_token(me),
            hostname(),
            env!("CARGO_PKG_VERSION"),
        ],
        |r| r.get(0),
    )
}

/// Records the task's main process and the moment it really started.
pub fn mark_started(
    tx: &Connection,
    id: i64,
    child_pid: u32,
    start: DateTime<Utc>,
) -> crate::store::sql::Result<()> {
    tx.execute(
        "UPDATE runs SET child_pid = ?2, start = ?3, error = NULL WHERE id = ?1",
        params![id, child_pid, to_db_time(start)],
    )?;
    Ok(())
}

/// Writes the result of a run.
pub fn finish(tx: &Connection, id: i64, f: &Finish) -> crate::store::sql::Result<()> {
    tx.execute(
        "UPDATE runs SET status = ?2, \"end\" = ?3, duration_ms = ?4, exit_code = ?5,
             killed_by_timeout = ?6, error = ?7, stdout_head = ?8, stdout_tail = ?9,
             stdout_bytes = ?10, stderr_head = ?11, stderr_tail = ?12, stderr_bytes = ?13,
             output_file = ?14
         WHERE id = ?1",
        params![
            id,
            f.status.as_str(),
            to_db_time(f.end),
            f.duration_ms,
            f.process.exit_code,
            f.process.killed_by_timeout,
            f.error,
            f.process.stdout.head,
            f.process.stdout.tail,
            f.process.stdout.bytes,
            f.process.stderr.head,
            f.process.stderr.tail,
            f.process.stderr.bytes,
            f.process.output_file,
        ],
    )?;
    Ok(())
}

/// Inserts the `RUNNING` row of a retry that starts later, its error saying when. Returns its id.
pub fn insert_pending_retry(tx: &Connection, run: &NewRun) -> crate::store::sql::Result<i64> {
    let id = insert_running(tx, run)?;
    let note = format!(
        "retry pending: attempt {} starts at {}",
        run.attempt,
        clock::to_local_human(run.start)
    );
    tx.execute("UPDATE runs SET error = ?2 WHERE id = ?1", params![id, note])?;
    Ok(id)
}

/// Inserts a run that is final from the start (SKIPPED, or FAILED before anything ran).
pub fn insert_final(tx: &Connection, run: &NewRun, f: &Finish) -> crate::store::sql::Result<i64> {
    let id = insert_running(tx, run)?;
    finish(tx, id, f)?;
    Ok(id)
}

/// Whether a `RUNNING` row's owner is gone: on this host, and its orc process is dead or its
/// pid now belongs to another process. Rows of other hosts are never judged.
pub fn is_stale(run: &RunRecord, host: &str) -> bool {
    if run.status != Status::Running || run.host != host {
        return false;
    }
    match run.pid {
        Some(pid) if pid > 0 && pid <= i64::from(u32::MAX) => {
            !process::is_alive(pid as u32, run.pid_started.as_deref())
        }
        _ => true,
    }
}

/// The explanation written into an abandoned row.
pub fn abandoned_text(run: &RunRecord) -> String {
    let owner = match run.pid {
        Some(pid) => format!("orc process {pid}"),
        None => "the orc process".to_string(),
    };
    let child = match run.child_pid {
        Some(c) => format!(
            "; the task's process {c} was in its {} and was killed with it",
            if cfg!(windows) { "job" } else { "process group" }
        ),
        None => "; the task had not started".to_string(),
    };
    format!(
        "abandoned: {owner} that ran this attempt is gone (killed, crashed, or the machine \
         restarted) before it recorded a result{child}"
    )
}

/// Marks one stale `RUNNING` row `ABANDONED` with an explanation.
pub fn mark_abandoned(
    tx: &Connection,
    run: &RunRecord,
    now: DateTime<Utc>,
) -> crate::store::sql::Result<()> {
    mark_abandoned_because(tx, run, now, &abandoned_text(run)).map(drop)
}

/// Marks one `RUNNING` row `ABANDONED` with the explanation `why`; `false` when it was no
/// longer RUNNING.
pub fn mark_abandoned_because(
    tx: &Connection,
    run: &RunRecord,
    now: DateTime<Utc>,
    why: &str,
) -> crate::store::sql::Result<bool> {
    let end = now.max(run.start);
    let n = tx.execute(
        "UPDATE runs SET status = 'ABANDONED', \"end\" = ?2, duration_ms = ?3, error = ?4
         WHERE id = ?1 AND status = 'RUNNING'",
        params![run.id, to_db_time(end), (end - run.start).num_milliseconds(), why],
    )?;
    tracing::info!(run = run.id, task = %run.task, "stale run marked ABANDONED");
    Ok(n > 0)
}

/// Marks every stale `RUNNING` row of this host `ABANDONED` (optionally only one task's).
/// Liveness is checked outside the transaction, then re-checked inside it. Returns the rows
/// that were reaped.
pub fn reap_stale(store: &mut Store, task: Option<&str>) -> Result<Vec<RunRecord>, StoreError> {
    let host = hostname();
    let path = store.path().to_path_buf();
    let candidates: Vec<RunRecord> = running(store.conn(), task)
        .map_err(|e| classify(&path, "read running runs", e))?
        .into_iter()
        .filter(|r| is_stale(r, &host))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let now = clock::now_utc();
    store.write(|tx| {
        let mut reaped = Vec::new();
        for run in candidates {
            let current = get(tx, run.id).map_err(|e| classify(&path, "read run", e))?;
            let Some(current) = current else { continue };
            if current.status != Status::Running || !is_stale(&current, &host) {
                continue;
            }
            mark_abandoned(tx, &current, now).map_err(|e| classify(&path, "mark abandoned", e))?;
            reaped.push(current);
        }
        Ok(reaped)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_read_well() {
        assert_eq!(exit_code_text(0), "0");
        assert_eq!(exit_code_text(255), "255");
        assert_eq!(exit_code_text(259), "259 (STILL_ACTIVE: ambiguous)");
        assert_eq!(exit_code_text(0xC000_0005), "0xC0000005 (access violation)");
        assert_eq!(exit_code_text(0xC000_013A), "0xC000013A (Ctrl+C or console closed)");
        assert_eq!(exit_code_text(0xE043_4352), "0xE0434352");
        // Negative 32-bit values as Windows shows them (moved from the dashboard's copy).
        assert_eq!(exit_code_text(1), "1");
        assert_eq!(exit_code_text(-1), "-1 (0xFFFFFFFF)");
        assert_eq!(exit_code_text(-2_000_000_000), "-2000000000");
        assert_eq!(
            exit_code_text(i64::from(0xC000_0005_u32 as i32)),
            "0xC0000005 (access violation)"
        );
        assert_eq!(exit_code_text(0xC000_0001), "0xC0000001");
        assert_eq!(ended_text(process::Ended::Signal(9)), "killed by signal 9 (SIGKILL)");
        assert_eq!(ended_text(process::Ended::Code(1)), "exit code 1");
    }

    #[test]
    fn streams_decode_lossily_and_mark_gaps() {
        // Moved from the dashboard's copy of the stream type.
        let s = StoredStream { head: b"ab\xffc\n".to_vec(), tail: Vec::new(), bytes: 5 };
        // Not UTF-8: on Windows the OEM code page gives it a meaning, elsewhere it is lossy.
        if cfg!(windows) {
            let text = s.full_text();
            assert!(text.starts_with("ab") && text.ends_with("c\n") && !text.contains('\u{FFFD}'));
        } else {
            assert_eq!(s.full_text(), "ab\u{FFFD}c\n");
        }
        let cap = crate::exec::output::TAIL_CAP;
        let s =
            StoredStream { head: b"head".to_vec(), tail: vec![b't'; cap], bytes: 104 + cap as i64 };
        assert_eq!(s.full_text(), format!("head\n[… 100 bytes not kept …]\n{}", "t".repeat(cap)));
        assert_eq!(s.tail_text(2), "tt");
        let utf16 = [0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode::decode(&utf16), "hi");
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(Status::parse(&s.as_str().to_lowercase()), Some(s));
        }
        assert_eq!(Status::parse("done"), None);
    }

    #[test]
    fn insert_finish_get_and_reap() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let start = clock::now_utc();
        let new = NewRun {
            task_id: None,
            task: "t1".into(),
            slot: Some("2026-01-01T02:00+01:00".into()),
            attempt: 1,
            trigger: Trigger::Scheduled,
            start,
        };
        let id: i64 = store
            .write(|tx| insert_running(tx, &new).map_err(|e| classify(Path::new("x"), "i", e)))
            .unwrap();
        let r = get(store.conn(), id).unwrap().unwrap();
        assert_eq!(r.status, Status::Running);
        assert_eq!(r.pid, Some(i64::from(std::process::id())));
        // Our own row is alive: not reaped.
        assert!(reap_stale(&mut store, None).unwrap().is_empty());
        // Pretend the owner is a process instance that no longer exists.
        store
            .conn()
            .execute("UPDATE runs SET pid_started = 'another-instance' WHERE id = ?1", [id])
            .unwrap();
        let reaped = reap_stale(&mut store, Some("T1")).unwrap();
        if process::start_token(std::process::id()).is_some() {
            assert_eq!(reaped.len(), 1);
            let r = get(store.conn(), id).unwrap().unwrap();
            assert_eq!(r.status, Status::Abandoned);
            assert!(r.error.unwrap().contains("abandoned"));
            assert!(r.end.is_some());
        }
        let f = Finish {
            status: Status::Failed,
            end: start,
            duration_ms: 5,
            error: Some("exit code 0xC0000005 (access violation)".into()),
            process: ProcessResult {
                exit_code: Some(0xC000_0005),
                stdout: StoredStream { head: b"\x82\xff".to_vec(), tail: Vec::new(), bytes: 2 },
                ..ProcessResult::default()
            },
        };
        let id2 = store
            .write(|tx| insert_final(tx, &new, &f).map_err(|e| classify(Path::new("x"), "i", e)))
            .unwrap();
        let r = get(store.conn(), id2).unwrap().unwrap();
        assert_eq!(r.process.exit_code, Some(0xC000_0005));
        assert_eq!(r.process.stdout.head, b"\x82\xff");
        let j = r.to_json(false);
        assert_eq!(j["exit_code_text"], "0xC0000005 (access violation)");
        assert_eq!(j["status"], "FAILED");
        let listed =
            list(store.conn(), &Filter { task: Some("T1".into()), limit: 10, ..Filter::default() })
                .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].id, id2, "newest first");
    }

    use std::path::Path;
}

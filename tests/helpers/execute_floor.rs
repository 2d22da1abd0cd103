//! The compiled floor of `orc execute` (issue 17): the durable work of one run and nothing
//! else, for `scripts/bench_execute.sh` to compare orc with. Opens the WAL database with
//! `synchronous=FULL` and a busy timeout, commits a RUNNING row, runs the command through
//! `sh -c` with its output captured, waits, and commits the result (status, end, exit code,
//! output tail).
//!
//! Usage: orc_execute_floor DATABASE [COMMAND]      (COMMAND defaults to `true`)

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}", d.as_secs(), d.subsec_millis())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db = args.next().ok_or("usage: orc_execute_floor DATABASE [COMMAND]")?;
    let command = args.next().unwrap_or_else(|| "true".into());
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, task TEXT NOT NULL,
           status TEXT NOT NULL, start TEXT NOT NULL, end TEXT, exit_code INTEGER,
           stdout_tail BLOB, stderr_tail BLOB);",
    )?;
    conn.execute(
        "INSERT INTO runs (task, status, start) VALUES ('floor', 'RUNNING', ?1)",
        [now()],
    )?;
    let id = conn.last_insert_rowid();
    let out = Command::new("sh").arg("-c").arg(&command).output()?;
    let code = out.status.code();
    conn.execute(
        "UPDATE runs SET status = ?1, \"end\" = ?2, exit_code = ?3, stdout_tail = ?4,
         stderr_tail = ?5 WHERE id = ?6",
        rusqlite::params![
            if code == Some(0) { "SUCCESS" } else { "FAILED" },
            now(),
            code,
            out.stdout,
            out.stderr,
            id
        ],
    )?;
    Ok(())
}

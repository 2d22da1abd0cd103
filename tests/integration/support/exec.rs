//! Helpers for the executor tests: tasks written straight into the database (so these tests do
//! not depend on `orc task add`), the test child's command line, and database inspection.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use orc::task::{Shell, TaskSpec};

use crate::support::{Env, helper_exe};

/// Inserts (or replaces) a task. `edit` adjusts the defaults: shell none, schedule every
/// minute, 60 s timeout, no retries.
pub fn add_task(env: &Env, name: &str, command: &str, edit: impl FnOnce(&mut TaskSpec)) {
    let mut spec = TaskSpec::new(name, command, "* * * * *");
    spec.shell = Shell::None;
    spec.timeout = Some(60);
    spec.retry_delay = 1;
    edit(&mut spec);
    let store = env.store();
    let json = serde_json::to_string(&spec).unwrap();
    store
        .conn()
        .execute(
            "INSERT INTO tasks (name, enabled, spec, created_at, updated_at)
             VALUES (?1, ?2, ?3, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, spec = excluded.spec",
            orc::store::sql::params![name, spec.enabled, json],
        )
        .expect("insert task");
}

/// Quotes one word for the task's command line (both splitting rules accept double quotes
/// around words without quotes or backslashes).
pub fn quote(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "._-/:=,".contains(c))
    {
        word.to_string()
    } else {
        format!("\"{word}\"")
    }
}

/// The command line that runs the test child with these actions (shell `none`).
pub fn child(actions: &[&str]) -> String {
    let exe = helper_exe("orc_test_child");
    let mut s = quote(&exe.to_string_lossy());
    for a in actions {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s
}

/// A path inside the env's scratch root, as a string for command lines.
pub fn scratch(env: &Env, name: &str) -> String {
    env.root().join(name).to_string_lossy().into_owned()
}

/// Opens the env's database directly (read-only checks), SQLite or PostgreSQL.
pub fn db(env: &Env) -> orc::store::sql::Connection {
    match env.location() {
        orc::store::Location::Sqlite => {
            let c = rusqlite::Connection::open(env.db()).expect("open db");
            c.busy_timeout(Duration::from_secs(20)).unwrap();
            orc::store::sql::Connection::from_sqlite(c)
        }
        orc::store::Location::Postgres(url) => {
            orc::store::sql::Connection::connect_postgres(url).expect("connect")
        }
    }
}

/// `(id, status, attempt, trigger, slot, exit_code, error)` of every run, oldest first.
pub type Row = (i64, String, i64, String, Option<String>, Option<i64>, Option<String>);

pub fn rows(env: &Env) -> Vec<Row> {
    let c = db(env);
    let mut stmt = c
        .prepare(
            "SELECT id, status, attempt, trigger, slot, exit_code, error FROM runs ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
    })
    .unwrap()
    .collect::<orc::store::sql::Result<_>>()
    .unwrap()
}

/// Lines in a counter file (0 when it does not exist).
pub fn count(path: &str) -> usize {
    std::fs::read_to_string(path).map(|s| s.lines().count()).unwrap_or(0)
}

/// Starts `orc execute --task TASK --scheduled` (on `host`, via `ORC_HOSTNAME`, when given)
/// with its output captured, for [`count_claimed`].
pub fn start_scheduled(env: &Env, task: &str, host: Option<&str>) -> Child {
    let mut c = env.command();
    if let Some(host) = host {
        c.env("ORC_HOSTNAME", host);
    }
    c.args(["execute", "--task", task, "--scheduled"]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().unwrap()
}

/// Waits for every child (each must exit 0; its stderr is shown otherwise) and returns how
/// many printed `claimed` (the "slot already claimed" note) on stdout.
#[track_caller]
pub fn count_claimed(children: Vec<Child>, claimed: &str) -> usize {
    let mut count = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        if String::from_utf8_lossy(&out.stdout).contains(claimed) {
            count += 1;
        }
    }
    count
}

/// Waits until `cond` holds, panicking after `limit`.
#[track_caller]
pub fn wait_for(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out after {limit:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads a pid file.
pub fn read_pid(path: &str) -> u32 {
    std::fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    orc::exec::process::is_alive(pid, None)
}

/// `integrity_check` of a database file.
pub fn integrity(path: &Path) -> String {
    let c = rusqlite::Connection::open(path).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

/// The spill directory of the env.
pub fn runs_dir(env: &Env) -> PathBuf {
    env.home().join("runs")
}

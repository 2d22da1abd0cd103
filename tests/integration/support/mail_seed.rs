//! Seeding the database directly for the mail and report tests: settings, tasks and finished
//! runs, as the configuration commands and the executor would write them.

use chrono::{DateTime, Utc};
use orc::store::{Store, to_db_time};
use orc::task::TaskSpec;

use crate::support::Env;

pub fn store(env: &Env) -> Store {
    env.store()
}

pub fn set_config(env: &Env, pairs: &[(&str, &str)]) {
    let mut s = store(env);
    s.write(|tx| {
        for (k, v) in pairs {
            tx.execute(
                "INSERT INTO config (key, value, updated_at) VALUES (?1, ?2, 'now') \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [k, v],
            )
            .map_err(|e| orc::store::classify(std::path::Path::new("db"), "seed", e))?;
        }
        Ok::<_, orc::store::StoreError>(())
    })
    .unwrap();
}

/// Mail settings pointing at a relay on 127.0.0.1:`port`.
pub fn mail_config(env: &Env, port: u16, tls: &str) {
    let ca = crate::support::mailserver::test_ca();
    set_config(
        env,
        &[
            ("smtp.host", "127.0.0.1"),
            ("smtp.port", &port.to_string()),
            ("smtp.tls", tls),
            ("smtp.timeout", "5s"),
            ("smtp.ca_file", ca.to_str().unwrap()),
            ("mail.from", "orc on TESTHOST <orc@example.com>"),
            ("mail.to", "ops@example.com, oncall@example.com"),
        ],
    );
}

pub fn add_task(env: &Env, spec: &TaskSpec) -> i64 {
    let mut s = store(env);
    let json = serde_json::to_string(spec).unwrap();
    s.write(|tx| {
        tx.query_row(
            "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) \
             VALUES (?1, ?2, ?3, '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z') \
             RETURNING id",
            orc::store::sql::params![spec.name, spec.enabled, json],
            |r| r.get(0),
        )
        .map_err(|e| orc::store::classify(std::path::Path::new("db"), "seed", e))
    })
    .unwrap()
}

/// A finished run as the executor records it.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub task: &'a str,
    pub status: &'a str,
    pub exit_code: Option<i64>,
    pub start: DateTime<Utc>,
    pub duration_ms: i64,
    pub slot: Option<String>,
    pub attempt: u32,
    pub trigger: &'a str,
    pub error: Option<&'a str>,
    pub stderr: &'a [u8],
    pub host: &'a str,
}

impl<'a> Run<'a> {
    pub fn new(
        task: &'a str,
        status: &'a str,
        exit_code: Option<i64>,
        start: DateTime<Utc>,
    ) -> Self {
        Run {
            task,
            status,
            exit_code,
            start,
            duration_ms: 1500,
            slot: None,
            attempt: 1,
            trigger: "scheduled",
            error: None,
            stderr: b"",
            host: "TESTHOST",
        }
    }
}

pub fn add_run(env: &Env, run: &Run<'_>) -> i64 {
    let mut s = store(env);
    let end = run.start + chrono::Duration::milliseconds(run.duration_ms);
    s.write(|tx| {
        let task_id: Option<i64> =
            tx.query_row("SELECT id FROM tasks WHERE name = ?1", [run.task], |r| r.get(0)).ok();
        tx.query_row(
            "INSERT INTO runs (task_id, task, slot, attempt, trigger, status, start, \"end\", \
             duration_ms, exit_code, killed_by_timeout, error, stderr_tail, stderr_bytes, host, \
             orc_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             ?15, 'test') RETURNING id",
            orc::store::sql::params![
                task_id,
                run.task,
                run.slot,
                run.attempt,
                run.trigger,
                run.status,
                to_db_time(run.start),
                if run.status == "RUNNING" { None } else { Some(to_db_time(end)) },
                run.duration_ms,
                run.exit_code,
                run.status == "TIMEOUT",
                run.error,
                run.stderr,
                run.stderr.len() as i64,
                run.host,
            ],
            |r| r.get(0),
        )
        .map_err(|e| orc::store::classify(std::path::Path::new("db"), "seed", e))
    })
    .unwrap()
}

/// Outbox rows as (kind, subject, tries, sent, gave_up, last_error).
pub fn outbox(env: &Env) -> Vec<(String, String, i64, bool, bool, Option<String>)> {
    let s = store(env);
    let mut stmt = s
        .conn()
        .prepare(
            "SELECT kind, subject, tries, sent_at IS NOT NULL, gave_up_at IS NOT NULL, \
             last_error FROM outbox ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub fn t0() -> DateTime<Utc> {
    use chrono::TimeZone;
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap()
}

pub fn minutes(m: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::minutes(m)
}

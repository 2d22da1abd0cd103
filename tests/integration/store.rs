//! The store seen from outside: concurrent first runs after an upgrade migrate exactly once,
//! and a home on a network path is refused.

use std::process::Stdio;

use crate::support::Env;

/// Builds a database at schema version 1 the way an older orc left it.
fn old_schema_db(env: &Env) {
    std::fs::create_dir_all(env.home()).unwrap();
    if let orc::store::Location::Postgres(_) = env.location() {
        let c = crate::support::exec::db(env);
        c.execute_batch(orc::store::PG_MIGRATIONS[0]).unwrap();
        c.execute_batch(
            "INSERT INTO schema_log (version, applied_at, applied_by) \
             VALUES (1, '2026-01-01T00:00:00.000Z', 'old orc')",
        )
        .unwrap();
        c.execute(
            "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) VALUES ('old', 1, ?1, 'x', 'x')",
            [serde_json::json!({"name": "old", "command": "echo old", "schedule": "@daily"}).to_string()],
        )
        .unwrap();
        return;
    }
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    c.execute_batch(orc::store::MIGRATIONS[0]).unwrap();
    c.execute(
        "INSERT INTO schema_log (version, applied_at, applied_by) VALUES (1, '2026-01-01T00:00:00.000Z', 'old orc')",
        [],
    )
    .unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    c.execute(
        "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) VALUES ('old', 1, ?1, 'x', 'x')",
        [serde_json::json!({"name": "old", "command": "echo old", "schedule": "@daily"}).to_string()],
    )
    .unwrap();
}

#[test]
fn sixteen_concurrent_first_runs_migrate_exactly_once() {
    assert!(orc::store::MIGRATIONS.len() >= 2, "the test needs a migration to apply");
    let env = Env::new();
    old_schema_db(&env);
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut cmd = env.command();
            cmd.args(["--json", "task", "list"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            crate::support::spawn(&mut cmd)
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
        assert!(!stderr.contains("already exists") && !stderr.contains("duplicate"), "{stderr}");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list[0]["name"], "old");
    }
    let c = crate::support::exec::db(&env);
    let version: i64 = match c.sqlite() {
        Some(lite) => lite.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap(),
        None => c.query_row("SELECT max(version) FROM schema_log", [], |r| r.get(0)).unwrap(),
    };
    assert_eq!(version, orc::store::MIGRATIONS.len() as i64);
    let mut stmt = c
        .prepare("SELECT version, count(*) FROM schema_log GROUP BY version ORDER BY version")
        .unwrap();
    let rows: Vec<(i64, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let want: Vec<(i64, i64)> = (1..=orc::store::MIGRATIONS.len() as i64).map(|v| (v, 1)).collect();
    assert_eq!(rows, want, "exactly one row per version");
    let applied_by: Vec<String> = c
        .prepare("SELECT DISTINCT applied_by FROM schema_log WHERE version > 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(applied_by.len(), 1, "one process applied every pending migration: {applied_by:?}");
    if let Some(lite) = c.sqlite() {
        let check: String = lite.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
    }
}

#[test]
fn a_home_on_a_unc_path_is_refused() {
    let env = Env::new();
    env.orc(["task", "add", "nightly", "--command", "echo hi", "--schedule", "@daily"]).ok();
    let before = env.db_bytes();
    let scratch = env.root().join("cwd");
    std::fs::create_dir_all(&scratch).unwrap();
    for home in ["\\\\server\\share\\orc", "//server/share/orc"] {
        let out = env
            .command()
            .current_dir(&scratch)
            .args(["--home", home, "task", "list"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{home}: {stderr}");
        assert!(stderr.contains("--home") && stderr.contains("network path"), "{stderr}");
        let mut cmd = env.command();
        cmd.current_dir(&scratch).env("ORC_HOME", home).args(["task", "list"]).stdin(Stdio::null());
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "ORC_HOME={home}");
    }
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0, "nothing was created");
    assert_eq!(env.db_bytes(), before);
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

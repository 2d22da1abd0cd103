//! `orc db backup|restore|check|prune`.

use crate::support::Env;
use crate::support::exec::*;

#[test]
fn backup_then_restore_brings_the_old_state_back() {
    let env = Env::new();
    add_task(&env, "a", &child(&["print", "one"]), |_| {});
    env.orc(["execute", "--task", "a"]).ok();
    let backup = env.root().join("backup.db");
    let out = env.orc(["db", "backup", &backup.to_string_lossy()]).ok();
    assert!(out.stdout.contains("integrity_check: ok"), "{}", out.stdout);
    assert_eq!(integrity(&backup), "ok");
    // Refuses to overwrite, and changes nothing.
    let e = env.orc(["db", "backup", &backup.to_string_lossy()]).code(2);
    assert!(e.stderr.contains("already exists"), "{}", e.stderr);

    env.orc(["execute", "--task", "a"]).ok();
    env.orc(["execute", "--task", "a"]).ok();
    assert_eq!(rows(&env).len(), 3);
    let v = env.orc(["--json", "db", "restore", &backup.to_string_lossy()]).ok().json();
    assert_eq!(v["runs"], 1);
    assert_eq!(rows(&env).len(), 1, "the restored database is live");
    let bak = std::path::PathBuf::from(v["previous"].as_str().unwrap());
    assert_eq!(saved_copies(&env), vec![bak.clone()]);
    assert_eq!(integrity(&bak), "ok");
    let c = rusqlite::Connection::open(&bak).unwrap();
    let n: i64 = c.query_row("SELECT count(*) FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 3, "the replaced database was kept as orc.db.<UTC time>.bak");
    env.orc(["db", "check"]).ok();
}

#[test]
fn restore_refuses_what_is_not_an_orc_database() {
    let env = Env::new();
    add_task(&env, "a", &child(&[]), |_| {});
    env.orc(["execute", "--task", "a"]).ok();
    let junk = env.root().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let other = env.root().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    let before = env.db_bytes();
    for f in [&junk, &other, &env.root().join("missing.db")] {
        let e = env.orc(["db", "restore", &f.to_string_lossy()]).code(2);
        assert!(e.stderr.contains("orc database"), "{}", e.stderr);
    }
    assert_eq!(env.db_bytes(), before, "nothing changed");
    assert!(saved_copies(&env).is_empty());
}

/// The `orc.db.<UTC time>.bak` copies a restore keeps in the home, sorted.
pub fn saved_copies(env: &Env) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(env.home())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("orc.db.") && n.ends_with(".bak")
        })
        .collect();
    out.sort();
    out
}

#[test]
fn restore_is_refused_while_a_task_runs() {
    let env = Env::new();
    let pid = scratch(&env, "p");
    add_task(&env, "busy", &child(&["pidfile", &pid, "sleep", "2000"]), |_| {});
    let backup = env.root().join("b.db");
    env.orc(["db", "backup", &backup.to_string_lossy()]).ok();
    let mut c = env.command();
    c.args(["execute", "--task", "busy"]).stdout(std::process::Stdio::null());
    let mut running = c.spawn().unwrap();
    wait_for(std::time::Duration::from_secs(20), "the run to start", || {
        std::path::Path::new(&pid).exists()
    });
    let e = env.orc(["db", "restore", &backup.to_string_lossy()]).code(2);
    assert!(e.stderr.contains("in progress"), "{}", e.stderr);
    assert!(running.wait().unwrap().success());
    env.orc(["db", "restore", &backup.to_string_lossy()]).ok();
}

#[test]
fn prune_deletes_old_runs_and_their_output_files() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-01-10T12:00:00");
    add_task(&env, "old", &child(&["out", "100"]), |_| {});
    env.orc(["execute", "--task", "old"]).ok();
    env.orc(["execute", "--task", "old"]).ok();
    let files: Vec<_> = std::fs::read_dir(runs_dir(&env))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension().is_some_and(|x| x == "log")).then_some(p)
        })
        .collect();
    assert_eq!(files.len(), 2);
    // The same home, 100 days later.
    env.set_env("ORC_NOW", "2026-04-20T12:00:00");
    env.orc(["execute", "--task", "old"]).ok();
    let dry = env.orc(["--json", "db", "prune", "--older-than", "90d", "--dry-run"]).ok().json();
    assert_eq!(dry["runs"], 2);
    assert_eq!(rows(&env).len(), 3);
    let v = env.orc(["--json", "db", "prune", "--older-than", "90d"]).ok().json();
    assert_eq!(v["runs"], 2);
    assert_eq!(v["files"], 2);
    assert_eq!(rows(&env).len(), 1);
    assert!(files.iter().all(|f| !f.exists()));
    env.orc(["db", "prune", "--older-than", "1h"]).code(2);
    env.orc(["db", "prune", "--older-than", "soon"]).code(2);
}

#[test]
fn check_reports_ok_and_counts() {
    let env = Env::new();
    add_task(&env, "a", &child(&[]), |_| {});
    env.orc(["execute", "--task", "a"]).ok();
    let v = env.orc(["--json", "db", "check"]).ok().json();
    assert_eq!(v["ok"], true);
    assert_eq!(v["runs"], 1);
    assert_eq!(v["tasks"], 1);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
}

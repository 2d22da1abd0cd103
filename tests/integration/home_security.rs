//! How orc creates and protects its files (issue 11 item 3, issue 12 findings 1, 11, 12):
//! private home and files on Unix, run logs never follow links, `--output` never destroys a
//! device, and `db restore` refuses anything that is not exactly orc's schema.

use std::path::Path;

use crate::exec_db::saved_copies;
use crate::support::Env;
#[cfg(unix)]
use crate::support::Output;
use crate::support::exec::*;

#[cfg(unix)]
/// Runs orc with umask 000 (Unix), so any mode orc does not set itself would show.
fn orc_umask0(env: &Env, args: &[&str]) -> Output {
    let mut cmd = env.command();
    cmd.args(args).stdin(std::process::Stdio::null());
    use std::os::unix::process::CommandExt;
    // SAFETY: umask is async-signal-safe and touches only the child's own state.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        })
    };
    let out = cmd.output().unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

#[cfg(unix)]
fn modes_under(dir: &Path) -> Vec<(std::path::PathBuf, u32)> {
    use std::os::unix::fs::MetadataExt;
    let mut out =
        vec![(dir.to_path_buf(), std::fs::symlink_metadata(dir).unwrap().mode() & 0o7777)];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            out.extend(modes_under(&p));
        } else {
            out.push((p, meta.mode() & 0o7777));
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn nothing_in_the_home_is_readable_by_others_after_a_full_workflow() {
    let env = Env::new();
    let home = env.home();
    let h = |name: &str| home.join(name).to_string_lossy().into_owned();
    orc_umask0(
        &env,
        &[
            "task",
            "add",
            "big",
            "--command",
            &child(&["out", "300000"]),
            "--schedule",
            "@daily",
            "--shell",
            "none",
        ],
    )
    .ok();
    // Held open so that `-wal` and `-shm` outlive each orc process (SQLite deletes them when
    // the last connection closes); SQLite gives them the database file's mode.
    let reader = crate::support::exec::db(&env);
    let _: i64 = reader.query_row("SELECT count(*) FROM tasks", [], |r| r.get(0)).unwrap();
    let out = orc_umask0(&env, &["execute", "--task", "big"]).ok();
    assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
    assert!(home.join("runs").join("1.log").is_file(), "the output was spilled");
    orc_umask0(&env, &["db", "backup", &h("backup.db")]).ok();
    orc_umask0(&env, &["task", "export", "--output", &h("export.json")]).ok();
    orc_umask0(&env, &["report", "daily", "--output", &h("report.html")]).ok();
    // A home left by an older orc with open modes is narrowed when orc opens it.
    let old = env.root().join("old-home");
    std::fs::create_dir(&old).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(old.join("orc.db"), b"").unwrap();
        std::fs::set_permissions(old.join("orc.db"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
    }
    env.orc(["--home", &old.to_string_lossy(), "task", "list"]).ok();

    let mut all = modes_under(&home);
    drop(reader);
    all.extend(modes_under(&old));
    assert!(all.len() >= 9, "{all:?}");
    let open: Vec<_> = all
        .iter()
        .filter(|(p, m)| {
            let want = if p.is_dir() { 0o700 } else { 0o600 };
            *m != want
        })
        .collect();
    assert!(open.is_empty(), "not private: {open:?}");
    for name in ["orc.db", "orc.db-wal", "orc.db-shm", "backup.db", "export.json", "report.html"] {
        assert!(all.iter().any(|(p, _)| p == &home.join(name)), "{name} was checked");
    }
}

#[cfg(unix)]
#[test]
fn a_link_planted_at_a_run_log_path_is_not_followed() {
    let env = Env::new();
    add_task(&env, "big", &child(&["out", "300000"]), |_| {});
    let victim = env.root().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let runs = env.home().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    std::os::unix::fs::symlink(&victim, runs.join("1.log")).unwrap();
    let out = env.orc(["execute", "--task", "big"]).ok();
    assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(std::fs::symlink_metadata(runs.join("1.log")).unwrap().file_type().is_symlink());
}

#[cfg(unix)]
#[test]
fn output_to_dev_null_keeps_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new();
    add_task(&env, "a", &child(&[]), |_| {});
    for args in [
        &["report", "daily", "--output", "/dev/null"][..],
        &["task", "export", "--output", "/dev/null"][..],
    ] {
        env.orc(args).ok();
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(meta.file_type().is_char_device(), "{args:?} replaced /dev/null");
    }
}

#[test]
fn output_dash_is_standard_output_and_bad_targets_exit_2() {
    let env = Env::new();
    add_task(&env, "a", &child(&[]), |_| {});
    let out = env.orc(["task", "export", "--output", "-"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["tasks"][0]["name"], "a", "{}", out.stdout);
    let out = env.orc(["report", "daily", "--output", "-"]).ok();
    assert!(
        out.stdout.starts_with("<!DOCTYPE html>") || out.stdout.contains("<html"),
        "{}",
        out.stdout
    );

    let missing = env.root().join("no").join("dir").join("x");
    let before = env.db_bytes();
    for args in [
        vec!["task", "export", "--output", missing.to_str().unwrap()],
        vec!["report", "daily", "--output", missing.to_str().unwrap()],
    ] {
        let e = env.orc(&args).code(2);
        assert_eq!(
            e.stderr.trim_end(),
            format!(
                "error: invalid --output {:?}: its directory does not exist",
                missing.display().to_string()
            )
        );
    }
    let dir = env.root().to_string_lossy().into_owned();
    let e = env.orc(["task", "export", "--output", &dir]).code(2);
    assert_eq!(e.stderr.lines().count(), 1, "{}", e.stderr);
    assert!(e.stderr.contains("is a directory"), "{}", e.stderr);
    let e = env.orc(["task", "import", &dir]).code(2);
    assert_eq!(
        e.stderr.trim_end(),
        format!("error: invalid import file {dir:?}: is a directory; give a JSON document")
    );
    assert_eq!(env.db_bytes(), before, "nothing changed");
}

/// A database with orc's table names and the right `user_version`, but other columns.
fn crafted_db(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE tasks (id INTEGER PRIMARY KEY, x TEXT);
         CREATE TABLE runs (id INTEGER PRIMARY KEY, y TEXT);
         CREATE TABLE config (key TEXT, v TEXT);
         CREATE TABLE schema_log (version INTEGER);",
    )
    .unwrap();
    c.pragma_update(None, "user_version", orc::store::MIGRATIONS.len() as i64).unwrap();
}

#[test]
fn restore_refuses_crafted_schemas_and_changes_nothing() {
    let env = Env::new();
    add_task(&env, "a", &child(&["print", "one"]), |_| {});
    env.orc(["execute", "--task", "a"]).ok();
    let crafted = env.root().join("crafted.db");
    crafted_db(&crafted);
    let trigger = env.root().join("trigger.db");
    env.orc(["db", "backup", &trigger.to_string_lossy()]).ok();
    rusqlite::Connection::open(&trigger)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER evil AFTER INSERT ON runs BEGIN
               UPDATE tasks SET spec = json_set(spec, '$.command', 'echo EVIL'); END;",
        )
        .unwrap();
    let before = env.db_bytes();
    let e = env.orc(["db", "restore", &crafted.to_string_lossy()]).code(2);
    assert_eq!(e.stderr.lines().count(), 1, "{}", e.stderr);
    assert!(e.stderr.contains("its schema differs from orc's schema version"), "{}", e.stderr);
    assert!(e.stderr.contains("different table tasks"), "{}", e.stderr);
    let e = env.orc(["db", "restore", &trigger.to_string_lossy()]).code(2);
    assert!(e.stderr.contains(": unexpected trigger evil;"), "{}", e.stderr);
    assert_eq!(env.db_bytes(), before, "nothing changed");
    assert!(saved_copies(&env).is_empty());
    // orc still works and can restore a good backup.
    let good = env.root().join("good.db");
    env.orc(["db", "backup", &good.to_string_lossy()]).ok();
    env.orc(["db", "restore", &good.to_string_lossy()]).ok();
    env.orc(["db", "check"]).ok();
}

#[test]
fn two_restores_keep_two_copies_and_backup_never_overwrites() {
    let env = Env::new();
    add_task(&env, "a", &child(&["print", "one"]), |_| {});
    let good = env.root().join("good.db");
    env.orc(["db", "backup", &good.to_string_lossy()]).ok();
    let original = std::fs::read(&good).unwrap();
    env.orc(["execute", "--task", "a"]).ok();
    env.orc(["db", "restore", &good.to_string_lossy()]).ok();
    env.orc(["execute", "--task", "a"]).ok();
    env.orc(["db", "restore", &good.to_string_lossy()]).ok();
    let copies = saved_copies(&env);
    assert_eq!(copies.len(), 2, "{copies:?}");
    for c in &copies {
        assert_eq!(integrity(c), "ok");
    }
    let e = env.orc(["db", "backup", &good.to_string_lossy()]).code(2);
    assert_eq!(e.stderr.lines().count(), 1, "{}", e.stderr);
    assert!(e.stderr.contains("already exists"), "{}", e.stderr);
    assert_eq!(std::fs::read(&good).unwrap(), original, "unchanged");
}

//! `orc home init` and `orc uninstall` (the logic behind scripts/install.ps1 and
//! scripts/uninstall.ps1), against the fake schtasks.

use std::path::{Path, PathBuf};

use crate::support::Env;

fn env() -> Env {
    let mut env = Env::new();
    env.with_fake_schtasks();
    env.without_watch_task();
    env
}

/// The task XML files the fake schtasks holds (one per registration).
fn registered(env: &Env) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![env.root().join("schtasks")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries {
            let p: PathBuf = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                found.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    found
}

fn with_two_scheduled_tasks(env: &Env) {
    for name in ["backup", "report"] {
        env.orc(["task", "add", name, "--command", "echo hi", "--schedule", "0 3 * * *"]).ok();
    }
    env.orc(["schedule", "--all"]).ok();
    assert_eq!(registered(env), ["orc_backup.xml", "orc_report.xml"]);
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

#[test]
fn home_init_creates_the_home_and_is_idempotent() {
    let mut env = Env::new(); // no home yet: `env()` would create it with its setting
    env.with_fake_schtasks();
    let home = shown(&env.home());
    let db = shown(&env.db());
    let schema = orc::store::MIGRATIONS.len();
    let out = env.orc(["home", "init"]).ok();
    let perms = if cfg!(windows) {
        let v = env.orc(["--json", "home", "init"]).ok().json();
        v["permissions"].as_str().unwrap().to_string()
    } else {
        "directories 700, files 600".to_string()
    };
    out.assert_stdout(&format!(
        "home created {home}\ndatabase {db} (schema {schema})\npermissions {perms}\n"
    ));
    if cfg!(windows) {
        assert!(perms.starts_with("D:P"), "a protected DACL: {perms}");
    }
    // Again: the data stays, the permissions are re-applied.
    env.orc(["task", "add", "keep", "--command", "echo hi", "--schedule", "0 3 * * *"]).ok();
    let v = env.orc(["--json", "home", "init"]).ok().json();
    assert_eq!(
        v,
        serde_json::json!({
            "home": home, "created": false, "database": db,
            "schema_version": schema, "permissions": perms, "store": "sqlite",
        })
    );
    env.orc(["task", "show", "keep"]).ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
        env.orc(["home", "init"]).ok();
        let mode = std::fs::metadata(env.home()).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "home init narrows a widened home");
    }
}

#[test]
fn uninstall_without_yes_and_without_a_terminal_changes_nothing() {
    let env = env();
    with_two_scheduled_tasks(&env);
    let out = env.orc(["uninstall"]).code(2);
    out.assert_stderr_line(
        "error: uninstall removes every registration of this home (and the home itself unless \
         --keep-data); confirm interactively or add --yes — nothing was changed",
    );
    assert_eq!(registered(&env), ["orc_backup.xml", "orc_report.xml"]);
    assert!(env.db().is_file());
}

#[test]
fn uninstall_removes_registrations_home_and_its_key_file() {
    let mut env = env();
    // The per-home default key file, as on a real install (no ORC_KEY_FILE).
    let state = env.root().join("xdg-config");
    env.set_env("XDG_CONFIG_HOME", &state);
    env.set_env("LOCALAPPDATA", &state);
    with_two_scheduled_tasks(&env);
    let mut cmd = env.command();
    cmd.env_remove("ORC_KEY_FILE");
    let set = cmd
        .args(["credential", "set", "pw", "--from-stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(b"s3cret\n")?;
            c.wait()
        })
        .unwrap();
    assert!(set.success());
    // Unix: a per-home key file. Windows protects the key with DPAPI instead, so there is
    // no file to remove there.
    let key_dir = state.join("orc").join("keys");
    let keys: Vec<PathBuf> = std::fs::read_dir(&key_dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert_eq!(keys.len(), usize::from(cfg!(unix)), "{keys:?}");

    let out =
        env.command().env_remove("ORC_KEY_FILE").args(["uninstall", "--yes"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let mut want = format!(
        "deleted \\Orchestrator\\Orc_backup\ndeleted \\Orchestrator\\Orc_report\n\
         2 registration(s) removed\nremoved {}\n",
        shown(&env.home())
    );
    for k in &keys {
        want.push_str(&format!("removed {}\n", shown(k)));
    }
    assert_eq!(stdout, want);
    assert_eq!(registered(&env), Vec::<String>::new());
    assert!(!env.home().exists());
    assert!(keys.iter().all(|k| !k.exists()));
    // Nothing left to do the second time.
    env.orc(["uninstall", "--yes"]).ok().assert_stdout(&format!(
        "0 registration(s) removed\n{} does not exist; nothing to remove\n",
        shown(&env.home())
    ));
    assert!(!env.home().exists(), "uninstall never creates the home");
}

#[test]
fn uninstall_keep_data_only_unschedules() {
    let env = env();
    with_two_scheduled_tasks(&env);
    let v = env.orc(["--json", "uninstall", "--keep-data", "--yes"]).ok().json();
    assert_eq!(v["home_removed"], false);
    assert_eq!(v["unscheduled"].as_array().unwrap().len(), 2);
    assert_eq!(v["unscheduled"][0]["action"], "delete");
    assert_eq!(v["unscheduled"][0]["result"], "ok");
    assert_eq!(registered(&env), Vec::<String>::new());
    let names: Vec<_> = env
        .orc(["--json", "task", "list"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["backup", "report"]);
}

#[test]
fn uninstall_never_removes_a_directory_that_is_not_an_orc_home() {
    let env = env();
    let other = env.root().join("not-orc");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("precious.txt"), b"x").unwrap();
    let home = other.display().to_string();
    let out = env.orc(["--home", &home, "uninstall", "--yes"]).code(2);
    out.assert_stderr_line(&format!(
        "error: invalid --home {home:?}: it holds neither orc.db nor store.conf — not an orc \
         home, so orc will not remove it"
    ));
    assert!(other.join("precious.txt").is_file());
}

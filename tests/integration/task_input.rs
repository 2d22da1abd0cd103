//! Bad input to `orc task …`: every refusal exits 2, names the field or rule, and leaves the
//! database byte-for-byte unchanged (docs/design/reliability.md test 16 and §5).
//!
//! A NUL cannot travel through a process's argument vector on any OS (execve and
//! CreateProcess both take NUL-terminated strings; Rust's `Command` refuses it before the
//! spawn), so NUL is tested where it can arrive: an import document (`\u0000` in JSON).

use std::ffi::OsString;

use serde_json::json;

use crate::support::Env;

fn env_with_one_task() -> Env {
    let env = Env::new();
    env.orc(["task", "add", "nightly", "--command", "echo hi", "--schedule", "0 2 * * *"]).ok();
    env
}

/// `orc task add NAME --command echo --schedule @daily EXTRA…`
fn add(name: &str, extra: &[&str]) -> Vec<OsString> {
    let mut v: Vec<OsString> = ["task", "add", name, "--command", "echo", "--schedule", "@daily"]
        .iter()
        .map(OsString::from)
        .collect();
    v.extend(extra.iter().map(OsString::from));
    v
}

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

#[track_caller]
fn refused(env: &Env, argv: Vec<OsString>, needle: &str) {
    let before = env.db_bytes();
    assert!(!before.is_empty());
    let out = env.orc(&argv).code(2);
    assert!(
        out.stderr.contains(needle),
        "orc {:?}: stderr does not name {needle:?}:\n{}",
        out.args,
        out.stderr
    );
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert_eq!(out.stderr.trim_end().lines().count(), 1, "one line: {}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(env.db_bytes() == before, "orc {:?} changed the database", out.args);
}

#[test]
fn hostile_task_names() {
    let env = env_with_one_task();
    let long = "a".repeat(300);
    for name in [
        "a\\b",
        "..",
        " lead",
        "CON",
        "con.txt",
        "a&b<c>\"'",
        &long,
        "\u{202e}cod.exe",
        "🙂",
        "",
        "trail.",
        "a b",
        "a/b",
    ] {
        refused(&env, add(name, &[]), "task name");
    }
    // Case-insensitive duplicate.
    refused(&env, add("NIGHTLY", &[]), "already exists");
    // Nothing refused left a stray directory or file behind.
    let entries: Vec<_> =
        std::fs::read_dir(env.home()).unwrap().map(|e| e.unwrap().file_name()).collect();
    for e in entries {
        let e = e.to_string_lossy().into_owned();
        let ours = e.starts_with("orc.db") || e == orc::store::location::BOOTSTRAP_FILE;
        assert!(ours, "unexpected file in the home: {e}");
    }
}

#[test]
fn bad_commands_schedules_and_shells() {
    let env = env_with_one_task();
    let mut empty = add("t", &[]);
    empty[4] = "".into();
    refused(&env, empty, "--command");
    let mut blank = add("t", &[]);
    blank[4] = "   ".into();
    refused(&env, blank, "--command");
    let mut two_lines = add("t", &["--shell", "cmd"]);
    two_lines[4] = "echo a\r\necho b".into();
    refused(&env, two_lines, "line breaks");
    let mut too_long = add("t", &["--shell", "cmd"]);
    too_long[4] = "x".repeat(8192).into();
    refused(&env, too_long, "8191");

    let sched = |s: &str| args(&["task", "add", "t", "--command", "echo", "--schedule", s]);
    refused(&env, sched("61 * * * *"), "minute");
    refused(&env, sched("* * * *"), "--schedule");
    refused(&env, sched("0 0 30 2 * *"), "--schedule");
    refused(&env, sched("@reboot"), "@reboot");
    refused(&env, sched("5/15 * * * *"), "step");
    refused(&env, sched("* * L * *"), "day-of-month");
    refused(&env, sched(&"1,".repeat(5000)), "--schedule");

    refused(&env, add("t", &["--shell", "bash"]), "--shell");
}

#[test]
fn bad_workdirs_and_numbers() {
    let env = env_with_one_task();
    refused(&env, add("t", &["--workdir", "relative/dir"]), "--workdir");
    refused(&env, add("t", &["--workdir", "\\\\.\\C:\\jobs"]), "--workdir");
    refused(&env, add("t", &["--timeout", "8d"]), "--timeout");
    refused(&env, add("t", &["--timeout", "soon"]), "--timeout");
    refused(&env, add("t", &["--retries", "21"]), "--retries");
    refused(&env, add("t", &["--retries=-1"]), "--retries");
    refused(&env, add("t", &["--retries", "-1"]), "--retries");
    refused(&env, add("t", &["--timeout", "-5m"]), "--timeout");
    refused(&env, add("t", &["--retry-delay", "25h"]), "--retry-delay");
    refused(&env, add("t", &["--backoff", "linear"]), "--backoff");
    refused(&env, add("t", &["--retry-on", "0"]), "--retry-on");
    refused(&env, add("t", &["--notify", "sometimes"]), "--notify");
    refused(&env, add("t", &["--notify-after", "0"]), "--notify-after");
    refused(&env, add("t", &["--overlap", "maybe"]), "--overlap");
    refused(&env, add("t", &["--catch-up", "all"]), "--catch-up");
}

#[test]
fn bad_environment() {
    let env = env_with_one_task();
    refused(&env, add("t", &["--env", "NOEQUALS"]), "KEY=VALUE");
    refused(&env, add("t", &["--env", "1BAD=x"]), "--env");
    refused(&env, add("t", &["--env", "A-B=x"]), "--env");
    refused(&env, add("t", &["--env", "PATH=/tmp/evil"]), "--allow-env-override");
    refused(&env, add("t", &["--env", "ComSpec=evil.exe"]), "--allow-env-override");
    refused(&env, add("t", &["--env", "LD_PRELOAD=/tmp/x.so"]), "--allow-env-override");
    refused(&env, add("t", &["--env", "ORC_HOME=/x", "--allow-env-override"]), "ORC_");
    // A Windows command line holds at most 32767 characters, so there the oversized value
    // is tested through an import document (below) only.
    #[cfg(unix)]
    refused(&env, add("t", &["--env", &format!("BIG={}", "x".repeat(32 * 1024 + 1))]), "32 KiB");
    refused(&env, add("t", &["--env", "A=1", "--env", "a=2"]), "twice");
    refused(&env, add("t", &["--secret-env", "TOKEN=bad name"]), "credential name");
    refused(&env, add("t", &["--secret-env", "ORC_VAULT_PASSPHRASE=x"]), "ORC_");
    refused(&env, add("t", &["--secret-env", "NOCRED"]), "KEY=CREDENTIAL");
}

#[test]
fn bad_dependencies() {
    let env = env_with_one_task();
    refused(&env, add("t", &["--depends-on", "ftp:server/file"]), "unknown dependency kind");
    refused(
        &env,
        add("t", &["--depends-on", "url:https://user:secret@example.com/"]),
        "credentials",
    );
    refused(&env, add("t", &["--depends-on", "url:file:///etc/passwd"]), "http");
    refused(&env, add("t", &["--depends-on", "tcp:db:70000"]), "1-65535");
    refused(&env, add("t", &["--depends-on", "tcp:::1:22"]), "brackets");
    refused(&env, add("t", &["--depends-on", "file:relative.csv?max_age=1h"]), "absolute");
    refused(&env, add("t", &["--depends-on", "cmd:check.exe?retries=3"]), "unknown parameter");
    refused(&env, add("t", &["--depends-on", "task:nightly?since=1h"]), "unknown parameter");
    refused(&env, add("t", &["--depends-on", "task:ghost"]), "does not exist");
    refused(&env, add("t", &["--depends-on", "task:T"]), "dependency cycle: t → t");
    refused(
        &env,
        args(&["task", "edit", "nightly", "--depends-on", "task:nightly"]),
        "dependency cycle",
    );
}

#[test]
fn bad_mail_owner_description_run_as() {
    let env = env_with_one_task();
    refused(&env, add("t", &["--email", "not-an-address"]), "--email");
    refused(&env, add("t", &["--email", "a@example.com\r\nBcc: evil@example.com"]), "--email");
    let mut many = add("t", &[]);
    for i in 0..51 {
        many.push("--email".into());
        many.push(format!("user{i}@example.com").into());
    }
    refused(&env, many, "at most 50");
    refused(&env, add("t", &["--owner", &"o".repeat(129)]), "--owner");
    refused(&env, add("t", &["--description", "ring the bell\u{7}"]), "--description");
    refused(&env, add("t", &["--description", &"d".repeat(1025)]), "--description");
    refused(&env, add("t", &["--run-as", "ann\"; del *"]), "--run-as");
    refused(&env, add("t", &["--run-as", "A\\B\\C"]), "--run-as");
}

#[test]
fn bad_edits() {
    let env = env_with_one_task();
    refused(&env, args(&["task", "edit", "nightly"]), "nothing to change");
    refused(&env, args(&["task", "edit", "nightly", "--retries", "99"]), "--retries");
    refused(&env, args(&["task", "edit", "nightly", "--unset-env", "NOPE"]), "--unset-env");
    refused(
        &env,
        args(&["task", "edit", "nightly", "--shell", "cmd", "--command", "a\nb"]),
        "line breaks",
    );
}

#[test]
fn nul_and_other_bad_values_in_an_import_document() {
    let env = env_with_one_task();
    let file = env.root().join("in.json");
    let base = json!({"name": "t", "command": "echo", "schedule": "@daily"});
    for (patch, needle) in [
        (json!({"name": "a\u{0}b"}), "task name"),
        (json!({"command": "echo\u{0}rm"}), "--command"),
        (json!({"env": {"A": "x\u{0}y"}}), "NUL"),
        (json!({"description": "a\u{0}b"}), "--description"),
        (json!({"env": {"BIG": "x".repeat(32 * 1024 + 1)}}), "32 KiB"),
        (json!({"timeout": 0}), "--timeout"),
        (json!({"retries": 21}), "--retries"),
        (json!({"shell": "bash"}), "unknown variant"),
        (json!({"unknown_field": 1}), "unknown field"),
        (json!({"depends_on": ["task:nightly", "task:NIGHTLY"]}), "twice"),
    ] {
        let mut task = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            task[k] = v.clone();
        }
        let doc = json!({"orc_export": 1, "tasks": [task]});
        std::fs::write(&file, doc.to_string()).unwrap();
        refused(&env, args(&["task", "import", file.to_str().unwrap()]), needle);
    }
}

#[test]
fn json_error_shape() {
    let env = env_with_one_task();
    let before = env.db_bytes();
    let out = env.orc(add("t", &["--json", "--timeout", "8d"])).code(2);
    assert!(out.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(out.stderr.trim()).expect("one JSON object on stderr");
    assert_eq!(v["error"]["kind"], "invalid_input");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("--timeout") && message.contains("8d") && message.contains("7d"),
        "{message}"
    );
    assert_eq!(env.db_bytes(), before);
}

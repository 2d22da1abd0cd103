//! `orc task …` end to end: every field round-trips through add and show, edit changes only
//! what it is given, enable/disable/rm, list (table and JSON), export/import, and the audit
//! trail in the database.

use serde_json::{Value, json};

use crate::support::redact::TIMES;
use crate::support::{Env, redact, snapshot_settings};

fn add_nightly(env: &Env) {
    env.orc(["task", "add", "nightly", "--command", "echo hi", "--schedule", "0 2 * * *"]).ok();
}

/// An absolute directory that exists on this platform, inside the test's scratch root.
fn workdir(env: &Env) -> String {
    let dir = env.root().join("work");
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}

fn audit_rows(env: &Env) -> Vec<orc::audit::AuditEntry> {
    let c = crate::support::exec::db(env);
    let mut stmt = c
        .prepare(
            "SELECT id, at, os_user, command, object, name, before, after FROM audit \
             WHERE object = 'task' ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(orc::audit::AuditEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            os_user: r.get(2)?,
            command: r.get(3)?,
            object: r.get(4)?,
            name: r.get(5)?,
            before: r.get(6)?,
            after: r.get(7)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn add_then_show_round_trips_every_field() {
    let env = Env::new();
    add_nightly(&env);
    let dir = workdir(&env);
    let flag = env.root().join("in.flag").to_string_lossy().into_owned();
    let file_dep = format!("file:{flag}?max_age=1h");
    env.orc([
        "task",
        "add",
        "full",
        "--command",
        "Get-Date; exit 3",
        "--schedule",
        "*/15 9-17 * * mon-fri",
        "--shell",
        "powershell",
        "--workdir",
        &dir,
        "--timeout",
        "30m",
        "--retries",
        "3",
        "--retry-delay",
        "90s",
        "--backoff",
        "exponential",
        "--retry-on",
        "3,0xC0000005",
        "--env",
        "MODE=full",
        "--env",
        "EMPTY=",
        "--env",
        "PATH=/opt/bin",
        "--allow-env-override",
        "--secret-env",
        "API_TOKEN=api-token",
        "--depends-on",
        "task:nightly?within=24h",
        "--depends-on",
        "tcp:[::1]:5432",
        "--depends-on",
        "url:https://example.com/health?x=1",
        "--depends-on",
        "cmd:exit 0?timeout=10s",
        "--depends-on",
        &file_dep,
        "--on-unmet",
        "fail",
        "--notify",
        "recovery",
        "--notify-after",
        "3",
        "--email",
        "ops@example.com",
        "--email",
        "Data Team <data@example.com>",
    ])
    .code(2); // a display name is not an address: refused, and nothing changed
    env.orc(["host", "add", "srv01"]).ok();
    env.orc(["group", "add", "etl", "--hosts", "srv01"]).ok();
    let out = env
        .orc([
            "--json",
            "task",
            "add",
            "full",
            "--command",
            "Get-Date; exit 3",
            "--schedule",
            "*/15 9-17 * * mon-fri",
            "--shell",
            "powershell",
            "--workdir",
            &dir,
            "--timeout",
            "30m",
            "--retries",
            "3",
            "--retry-delay",
            "90s",
            "--backoff",
            "exponential",
            "--retry-on",
            "3,0xC0000005",
            "--env",
            "MODE=full",
            "--env",
            "EMPTY=",
            "--env",
            "PATH=/opt/bin",
            "--allow-env-override",
            "--secret-env",
            "API_TOKEN=api-token",
            "--depends-on",
            "task:nightly?within=24h",
            "--depends-on",
            "tcp:[::1]:5432",
            "--depends-on",
            "url:https://example.com/health?x=1",
            "--depends-on",
            "cmd:exit 0?timeout=10s",
            "--depends-on",
            &file_dep,
            "--on-unmet",
            "fail",
            "--notify",
            "recovery",
            "--notify-after",
            "3",
            "--email",
            "ops@example.com",
            "--email",
            "data@example.com",
            "--notify-channel",
            "email",
            "--owner",
            "Data team",
            "--description",
            "Full load\tweekdays",
            "--disabled",
            "--overlap",
            "queue",
            "--catch-up",
            "once",
            "--run-as",
            "CONTOSO\\svc_etl",
            "--logon",
            "s4u",
            "--wake-to-run",
            "--at-boot",
            "--allow-breakaway",
            "--hosts",
            "srv01,@etl",
            "--run-on",
            "all",
        ])
        .ok();
    let added = out.json();
    let shown = env.orc(["--json", "task", "show", "FULL"]).ok().json();
    assert_eq!(added, shown, "the add output is the stored task");
    let expected = json!({
        "name": "full",
        "command": "Get-Date; exit 3",
        "shell": "powershell",
        "schedule": "*/15 9-17 * * mon-fri",
        "enabled": false,
        "workdir": dir,
        "timeout": 1800,
        "retries": 3,
        "retry_delay": 90,
        "backoff": "exponential",
        "retry_on": [3, 3221225477u64],
        "env": {"EMPTY": "", "MODE": "full", "PATH": "/opt/bin"},
        "allow_env_override": true,
        "secret_env": {"API_TOKEN": "api-token"},
        "depends_on": [
            "task:nightly?within=24h",
            "tcp:[::1]:5432",
            "url:https://example.com/health?x=1",
            "cmd:exit 0?timeout=10s",
            file_dep,
        ],
        "on_unmet": "fail",
        "notify": "recovery",
        "notify_after": 3,
        "email": ["ops@example.com", "data@example.com"],
        "notify_channels": ["email"],
        "owner": "Data team",
        "description": "Full load\tweekdays",
        "overlap": "queue",
        "catch_up": "once",
        "run_as": "CONTOSO\\svc_etl",
        "logon": "s4u",
        "wake_to_run": true,
        "at_boot": true,
        "allow_breakaway": true,
        "hosts": ["srv01", "@etl"],
        "run_on": "all",
        "last_run": null,
        "next_run": null,
    });
    for (key, want) in expected.as_object().unwrap() {
        assert_eq!(&shown[key], want, "field {key}");
    }
    for key in ["created_at", "updated_at"] {
        let t = shown[key].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{key}: {t}");
    }
    // Nothing beyond the documented fields sneaks in.
    let mut keys: Vec<String> = shown.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    let mut want: Vec<String> = expected.as_object().unwrap().keys().cloned().collect();
    want.extend(["created_at".to_string(), "updated_at".to_string()]);
    want.sort();
    assert_eq!(keys, want);

    // The human listing names every field.
    let text = env.orc(["task", "show", "full"]).ok().stdout;
    for needle in [
        "name:",
        "Get-Date; exit 3",
        "powershell",
        "30m",
        "1m30s (exponential backoff)",
        "API_TOKEN ← credential api-token",
        "tcp:[::1]:5432",
        "recovery (after 3 consecutive failures)",
        "channels:",
        "CONTOSO\\svc_etl",
        "logon:",
        "s4u",
        "queue",
        "once",
        "hosts:        srv01, @etl",
        "run on:       all",
        "at boot:",
    ] {
        assert!(text.contains(needle), "show lacks {needle:?}:\n{text}");
    }
}

#[test]
fn defaults_are_shown_in_json() {
    let env = Env::new();
    add_nightly(&env);
    let t = env.orc(["--json", "task", "show", "nightly"]).ok().json();
    assert_eq!(t["timeout"], 3600);
    assert_eq!(t["retry_delay"], 60);
    assert_eq!(t["retries"], 0);
    assert_eq!(t["enabled"], true);
    assert_eq!(t["env"], json!({}));
    assert_eq!(t["secret_env"], json!({}));
    assert_eq!(t["depends_on"], json!([]));
    assert_eq!(t["email"], json!([]));
    assert_eq!(t["notify"], "default");
    assert_eq!(t["description"], Value::Null);
    assert_eq!(t["logon"], Value::Null);
    assert_eq!(t["hosts"], json!([]));
    assert_eq!(t["run_on"], "any");
    assert_eq!(t["shell"], if cfg!(windows) { "cmd" } else { "sh" });
}

#[test]
fn edit_changes_only_the_given_fields() {
    let env = Env::new();
    env.orc([
        "task",
        "add",
        "job",
        "--command",
        "echo a",
        "--schedule",
        "@daily",
        "--env",
        "A=1",
        "--env",
        "B=2",
        "--email",
        "a@example.com",
        "--description",
        "first",
        "--retries",
        "2",
    ])
    .ok();
    let before = env.orc(["--json", "task", "show", "job"]).ok().json();
    let out = env.orc(["task", "edit", "JOB", "--timeout", "none", "--env", "a=9"]).ok();
    assert!(out.stdout.contains("updated task job ("), "{}", out.stdout);
    assert!(out.stdout.contains("timeout") && out.stdout.contains("env"), "{}", out.stdout);
    assert!(!out.stdout.contains("retries"), "{}", out.stdout);
    let after = env.orc(["--json", "task", "show", "job"]).ok().json();
    for (key, value) in before.as_object().unwrap() {
        match key.as_str() {
            "timeout" => assert_eq!(after[key], Value::Null),
            "env" => assert_eq!(after[key], json!({"a": "9", "B": "2"})),
            "updated_at" | "created_at" => {}
            _ => assert_eq!(&after[key], value, "{key} must not change"),
        }
    }
    // Lists append; --clear-* empties first; clears of optional values.
    let after = env
        .orc([
            "--json",
            "task",
            "edit",
            "job",
            "--email",
            "b@example.com",
            "--clear-description",
            "--unset-env",
            "B",
            "--depends-on",
            "tcp:localhost:1",
        ])
        .ok()
        .json();
    assert_eq!(after["email"], json!(["a@example.com", "b@example.com"]));
    assert_eq!(after["description"], Value::Null);
    assert_eq!(after["env"], json!({"a": "9"}));
    assert_eq!(after["depends_on"], json!(["tcp:localhost:1"]));
    let after = env
        .orc([
            "--json",
            "task",
            "edit",
            "job",
            "--clear-email",
            "--email",
            "c@example.com",
            "--clear-deps",
            "--clear-env",
        ])
        .ok()
        .json();
    assert_eq!(after["email"], json!(["c@example.com"]));
    assert_eq!(after["depends_on"], json!([]));
    assert_eq!(after["env"], json!({}));
    assert_eq!(after["retries"], 2);

    // No flags: a usage error. Same values: "unchanged", no audit row.
    env.orc(["task", "edit", "job"]).code(2);
    let rows = audit_rows(&env).len();
    let out = env.orc(["task", "edit", "job", "--retries", "2"]).ok();
    out.assert_stdout("task job unchanged\n");
    assert_eq!(audit_rows(&env).len(), rows);
    env.orc(["task", "edit", "missing", "--retries", "1"]).code(3);
}

#[test]
fn enable_disable_and_rm() {
    let env = Env::new();
    add_nightly(&env);
    let t = env.orc(["--json", "task", "disable", "nightly"]).ok().json();
    assert_eq!(t["enabled"], false);
    let out = env.orc(["task", "disable", "nightly"]).ok();
    out.assert_stdout("task nightly is already disabled\n");
    assert_eq!(env.orc(["--json", "task", "show", "nightly"]).ok().json()["enabled"], false);
    let c = crate::support::exec::db(&env);
    let enabled: bool = c.query_row("SELECT enabled FROM tasks", [], |r| r.get(0)).unwrap();
    assert!(!enabled, "the enabled column follows");
    drop(c);
    let out = env.orc(["task", "enable", "Nightly"]).ok();
    out.assert_stdout("enabled task nightly\n");
    assert_eq!(env.orc(["--json", "task", "show", "nightly"]).ok().json()["enabled"], true);

    env.orc(["task", "enable", "ghost"]).code(3);
    env.orc(["task", "disable", "ghost"]).code(3);
    env.orc(["task", "rm", "ghost"]).code(3);
    env.orc(["task", "show", "ghost"]).code(3);
    let out = env.orc(["--json", "task", "show", "ghost"]).code(3);
    let err: Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["kind"], "not_found");

    let out = env.orc(["--json", "task", "rm", "NIGHTLY"]).ok();
    assert_eq!(out.json(), json!({"removed": "nightly"}));
    assert_eq!(env.orc(["--json", "task", "list"]).ok().json(), json!([]));
}

#[test]
fn rm_is_refused_while_others_depend_on_the_task() {
    let env = Env::new();
    add_nightly(&env);
    env.orc([
        "task",
        "add",
        "report",
        "--command",
        "echo r",
        "--schedule",
        "@daily",
        "--depends-on",
        "task:Nightly",
    ])
    .ok();
    let before = env.db_bytes();
    let out = env.orc(["task", "rm", "nightly"]).code(2);
    out.assert_stderr_line("error: invalid task name \"nightly\": other tasks depend on it (report); remove those dependencies first (orc task edit NAME --clear-deps …)");
    assert_eq!(env.db_bytes(), before);
    env.orc(["task", "edit", "report", "--clear-deps"]).ok();
    env.orc(["task", "rm", "nightly"]).ok();
}

#[test]
fn list_table_and_json() {
    let env = Env::new();
    let out = env.orc(["task", "list"]).ok();
    out.assert_stdout("no tasks (add one with `orc task add NAME --command … --schedule …`)\n");
    add_nightly(&env);
    env.orc([
        "task", "add", "Backup.SQL-01", "--command",
        "sqlcmd -S localhost -Q \"BACKUP DATABASE [Sales] TO DISK = N'D:\\backup\\sales.bak' WITH COMPRESSION\"",
        "--schedule", "30 23 * * 1-5", "--disabled",
    ])
    .ok();
    env.orc([
        "task",
        "add",
        "hourly",
        "--command",
        "echo one\necho two",
        "--schedule",
        "@hourly",
        "--shell",
        "sh",
    ])
    .ok();
    // A run recorded by the executor shows in LAST RUN.
    let c = crate::support::exec::db(&env);
    c.execute(
        "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
         VALUES ('nightly', 'scheduled', 'SUCCESS', '2026-03-01T01:00:00.000Z', 'h', 'v')",
        [],
    )
    .unwrap();
    drop(c);
    let out = env.orc(["task", "list"]).ok();
    snapshot_settings(&[TIMES])
        .bind(|| insta::assert_snapshot!("task_list_table", redact(&env, &out.stdout)));
    let list = env.orc(["--json", "task", "list"]).ok().json();
    let names: Vec<&str> =
        list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Backup.SQL-01", "hourly", "nightly"]);
    for t in list.as_array().unwrap() {
        for key in [
            "name",
            "command",
            "shell",
            "schedule",
            "enabled",
            "timeout",
            "retries",
            "retry_delay",
            "env",
            "secret_env",
            "depends_on",
            "notify",
            "email",
            "description",
        ] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
    }
    assert_eq!(list[2]["last_run"]["status"], "SUCCESS");
    assert!(list[2]["last_run"]["start"].as_str().unwrap().starts_with("2026-03-01"));
    assert_eq!(list[0]["last_run"], Value::Null);
}

fn without_exported_at(mut v: Value) -> Value {
    assert!(v["exported_at"].is_string());
    v.as_object_mut().unwrap().remove("exported_at");
    v
}

#[test]
fn export_import_round_trip() {
    let env = Env::new();
    add_nightly(&env);
    env.orc([
        "task",
        "add",
        "load",
        "--command",
        "echo load",
        "--schedule",
        "15 3 * * *",
        "--depends-on",
        "task:nightly?within=6h",
        "--secret-env",
        "DB_PASSWORD=warehouse",
        "--env",
        "STAGE=prod",
        "--timeout",
        "0",
        "--email",
        "ops@example.com",
        "--disabled",
        "--description",
        "Loads\tthe warehouse",
    ])
    .ok();
    let exported = env.orc(["task", "export"]).ok();
    let doc = exported.json();
    assert_eq!(doc["orc_export"], 1);
    assert_eq!(doc["tasks"].as_array().unwrap().len(), 2);
    // Secrets travel by name only.
    assert_eq!(doc["tasks"][0]["secret_env"], json!({"DB_PASSWORD": "warehouse"}));
    let file = env.root().join("tasks.json");
    env.orc(["task", "export", "--output", file.to_str().unwrap()]).ok();
    let from_file: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(without_exported_at(from_file.clone()), without_exported_at(doc.clone()));

    // Into a fresh home: the export of the copy is identical.
    let other = Env::new();
    let out =
        other.orc(["--json", "task", "import", file.to_str().unwrap(), "--replace"]).ok().json();
    assert_eq!(out["created"], 2);
    assert_eq!(out["dry_run"], false);
    let again = other.orc(["task", "export"]).ok().json();
    assert_eq!(without_exported_at(again), without_exported_at(doc.clone()));

    // Without --replace an existing name is an error naming it; nothing changes.
    let before = other.db_bytes();
    let out = other.orc(["task", "import", file.to_str().unwrap()]).code(2);
    assert!(
        out.stderr.contains("load, nightly") && out.stderr.contains("--replace"),
        "{}",
        out.stderr
    );
    assert_eq!(other.db_bytes(), before);

    // --dry-run shows the plan and changes nothing.
    other.orc(["task", "edit", "nightly", "--retries", "5"]).ok();
    other.orc(["task", "add", "extra", "--command", "echo x", "--schedule", "@daily"]).ok();
    let mut changed = doc.clone();
    changed["tasks"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "new", "command": "echo n", "schedule": "@weekly"}));
    let changed_file = env.root().join("changed.json");
    std::fs::write(&changed_file, serde_json::to_vec(&changed).unwrap()).unwrap();
    let before = other.db_bytes();
    let plan = other
        .orc(["--json", "task", "import", changed_file.to_str().unwrap(), "--replace", "--dry-run"])
        .ok()
        .json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["plan"],
        json!([
            {"name": "load", "action": "unchanged"},
            {"name": "nightly", "action": "replace"},
            {"name": "new", "action": "create"},
        ])
    );
    assert_eq!(other.db_bytes(), before, "a dry run changes nothing");
    let text = other
        .orc(["task", "import", changed_file.to_str().unwrap(), "--replace", "--dry-run"])
        .ok()
        .stdout;
    assert!(text.contains("replace") && text.contains("nothing was changed"), "{text}");

    other.orc(["task", "import", changed_file.to_str().unwrap(), "--replace"]).ok();
    assert_eq!(other.orc(["--json", "task", "show", "nightly"]).ok().json()["retries"], 0);
    assert_eq!(other.orc(["--json", "task", "show", "new"]).ok().json()["schedule"], "@weekly");
    assert_eq!(
        other.orc(["--json", "task", "show", "extra"]).ok().json()["name"],
        "extra",
        "tasks not in the document stay"
    );
}

#[test]
fn import_reads_utf16_documents_from_windows_powershell() {
    let env = Env::new();
    add_nightly(&env);
    let doc = env.orc(["task", "export"]).ok().stdout;
    let other = Env::new();
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(doc.encode_utf16().flat_map(u16::to_le_bytes));
    let file = other.root().join("utf16.json");
    std::fs::write(&file, bytes).unwrap();
    other.orc(["task", "import", file.to_str().unwrap()]).ok();
    other.orc(["task", "show", "nightly"]).ok();
}

#[test]
fn import_is_all_or_nothing() {
    let env = Env::new();
    add_nightly(&env);
    let before = env.db_bytes();
    // The second task is fine on its own but depends on a task that exists nowhere.
    let doc = json!({"orc_export": 1, "tasks": [
        {"name": "a", "command": "echo a", "schedule": "@daily"},
        {"name": "b", "command": "echo b", "schedule": "@daily", "depends_on": ["task:ghost"]},
    ]});
    let file = env.root().join("bad.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = env.orc(["task", "import", file.to_str().unwrap()]).code(2);
    out.assert_stderr_line("error: invalid --depends-on \"task:ghost\": task \"b\" depends on task \"ghost\", which does not exist (add it first)");
    assert_eq!(env.db_bytes(), before);
    // A cycle through the document and the database.
    env.orc(["task", "edit", "nightly", "--depends-on", "task:nightly2"]).code(2);
    let doc = json!({"orc_export": 1, "tasks": [
        {"name": "nightly2", "command": "echo", "schedule": "@daily", "depends_on": ["task:nightly"]},
        {"name": "nightly", "command": "echo", "schedule": "@daily", "depends_on": ["task:nightly2"]},
    ]});
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = env.orc(["task", "import", file.to_str().unwrap(), "--replace"]).code(2);
    out.assert_stderr_line("error: invalid --depends-on \"task:nightly\": dependency cycle: nightly2 → nightly → nightly2");
    assert_eq!(env.db_bytes(), before);
    // Unknown versions are refused.
    std::fs::write(&file, r#"{"orc_export": 2, "tasks": []}"#).unwrap();
    let out = env.orc(["task", "import", file.to_str().unwrap()]).code(2);
    out.assert_stderr_line(&format!(
        "error: invalid import file {:?}: export document version 2 is not supported (this orc \
         reads version 1); export it again with this orc's version or upgrade orc",
        file.display().to_string()
    ));
    env.orc(["task", "import", env.root().join("missing.json").to_str().unwrap()]).code(2);
    assert_eq!(env.db_bytes(), before);
}

#[test]
fn dependency_cycles_are_refused_with_the_whole_cycle() {
    let env = Env::new();
    env.orc(["task", "add", "a", "--command", "echo", "--schedule", "@daily"]).ok();
    env.orc([
        "task",
        "add",
        "b",
        "--command",
        "echo",
        "--schedule",
        "@daily",
        "--depends-on",
        "task:a",
    ])
    .ok();
    env.orc([
        "task",
        "add",
        "c",
        "--command",
        "echo",
        "--schedule",
        "@daily",
        "--depends-on",
        "task:b",
    ])
    .ok();
    let before = env.db_bytes();
    let out = env.orc(["task", "edit", "a", "--depends-on", "task:c"]).code(2);
    out.assert_stderr_line(
        "error: invalid --depends-on \"task:c\": dependency cycle: a → c → b → a",
    );
    let out = env
        .orc([
            "task",
            "add",
            "d",
            "--command",
            "echo",
            "--schedule",
            "@daily",
            "--depends-on",
            "task:e",
        ])
        .code(2);
    out.assert_stderr_line("error: invalid --depends-on \"task:e\": task \"d\" depends on task \"e\", which does not exist (add it first)");
    assert_eq!(env.db_bytes(), before);
}

#[test]
fn every_change_writes_an_audit_row() {
    let env = Env::new();
    add_nightly(&env);
    env.orc(["task", "edit", "nightly", "--retries", "1"]).ok();
    env.orc(["task", "disable", "nightly"]).ok();
    env.orc(["task", "rm", "nightly"]).ok();
    let rows = audit_rows(&env);
    assert_eq!(rows.len(), 4, "{rows:?}");
    let commands: Vec<&str> = rows.iter().map(|r| r.command.as_str()).collect();
    assert!(commands[0].contains("task add nightly --command echo hi"), "{}", commands[0]);
    assert!(commands[1].contains("task edit nightly --retries 1"));
    assert!(commands[2].contains("task disable nightly"));
    assert!(commands[3].contains("task rm nightly"));
    for r in &rows {
        assert!(r.at.ends_with('Z'), "UTC time: {}", r.at);
        assert!(!r.os_user.is_empty());
        assert_eq!(r.name.as_deref(), Some("nightly"));
    }
    let parse =
        |s: &Option<String>| s.as_deref().map(|t| serde_json::from_str::<Value>(t).unwrap());
    assert_eq!(parse(&rows[0].before), None);
    assert_eq!(parse(&rows[0].after).unwrap()["command"], "echo hi");
    assert_eq!(parse(&rows[1].before).unwrap()["retries"], 0);
    assert_eq!(parse(&rows[1].after).unwrap()["retries"], 1);
    assert_eq!(parse(&rows[2].after).unwrap()["enabled"], false);
    assert!(parse(&rows[3].before).is_some() && rows[3].after.is_none());
}

#[test]
fn show_describes_the_schedule_and_the_next_run() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T10:00:00");
    env.orc(["task", "add", "weekday", "--command", "echo", "--schedule", "0 9 * * mon-fri"]).ok();
    let text = env.orc(["task", "show", "weekday"]).ok().stdout;
    assert!(text.contains("runs:         At 09:00, Monday through Friday"), "{text}");
    assert!(text.contains("next run:     2026-03-03 09:00:00"), "{text}");
    let json = env.orc(["--json", "task", "show", "weekday"]).ok().json();
    assert!(json["next_run"].as_str().unwrap().starts_with("2026-03-03T09:00:00"), "{json}");
    env.orc(["task", "disable", "weekday"]).ok();
    let text = env.orc(["task", "show", "weekday"]).ok().stdout;
    assert!(text.contains("next run:     - (disabled)"), "{text}");
    assert_eq!(env.orc(["--json", "task", "list"]).ok().json()[0]["next_run"], Value::Null);
}

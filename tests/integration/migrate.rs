//! `orc migrate --from-legacy` against a database written by the legacy tool's own format
//! (`/work/shared/tools/make_legacy_db.py`, copied to `tests/helpers/make_legacy_db.py`).

use std::path::PathBuf;

use crate::support::Env;

const PASSWORD: &str = "legacy-master-pass";

/// Writes the legacy sample database with Python + cryptography. Missing locally: skipped with
/// a note; with `CI=true` (Unix) that is a failure instead.
fn legacy_db(env: &Env) -> Option<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/make_legacy_db.py");
    let out = env.root().join("legacy").join("orchestrator.db");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    for python in ["python3", "python"] {
        let status = std::process::Command::new(python)
            .arg(&script)
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .output();
        if let Ok(o) = status
            && o.status.success()
        {
            return Some(out);
        }
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if ci && cfg!(unix) {
        panic!("CI=true but python3 with the `cryptography` package is missing");
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("note: skipping the migrate test: python3 with `cryptography` is not available");
    }
    None
}

fn ready() -> Option<(Env, PathBuf)> {
    let mut env = Env::new();
    env.set_env("TZ", "UTC");
    let db = legacy_db(&env)?;
    env.orc(["task", "list"]).ok(); // creates orc.db
    Some((env, db))
}

fn conn(env: &Env) -> orc::store::sql::Connection {
    crate::support::exec::db(env)
}

fn count(env: &Env, sql: &str) -> i64 {
    conn(env).query_row(sql, [], |r| r.get(0)).unwrap()
}

fn tasks(env: &Env) -> serde_json::Value {
    env.orc(["task", "list", "--json"]).ok().json()
}

fn task<'a>(list: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no task {name}"))
}

#[test]
fn dry_run_shows_the_plan_and_changes_nothing() {
    let Some((env, db)) = ready() else { return };
    let before = env.db_bytes();
    let plan = env
        .orc(["migrate", "--from-legacy", db.to_str().unwrap(), "--dry-run", "--json"])
        .ok()
        .json();
    assert_eq!(env.db_bytes(), before, "a dry run wrote to the database");
    assert_eq!(plan["dry_run"], true);
    let tasks = plan["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 12);
    assert!(tasks.iter().all(|t| t["action"] == "create"), "{tasks:?}");
    let renamed: Vec<_> = tasks.iter().filter(|t| t["renamed"] == true).collect();
    assert_eq!(renamed.len(), 1);
    assert_eq!(renamed[0]["legacy_name"], "bad name with spaces");
    assert_eq!(renamed[0]["name"], "bad_name_with_spaces");
    let close = tasks.iter().find(|t| t["name"] == "month_end_close").unwrap();
    assert_eq!(close["enabled"], false);
    assert!(close["disabled_reasons"][0].as_str().unwrap().contains("0 22 L * *"), "{close}");
    assert_eq!(plan["history"]["total"], 2000);
    assert_eq!(plan["history"]["to_import"], 2000);
    assert!(plan["secrets"].as_array().unwrap().iter().all(|s| s["action"] == "not_migrated"));
    assert_eq!(count(&env, "SELECT count(*) FROM tasks"), 0);
    // The human plan says the same.
    let text = env.orc(["migrate", "--from-legacy", db.to_str().unwrap(), "--dry-run"]).ok().stdout;
    assert!(
        text.contains("bad_name_with_spaces (renamed from \"bad name with spaces\")"),
        "{text}"
    );
    assert!(text.contains("not migrated: needs the legacy master password"), "{text}");
    assert_eq!(env.db_bytes(), before);
}

#[test]
fn import_brings_tasks_history_and_settings_once() {
    let Some((env, db)) = ready() else { return };
    let db = db.to_str().unwrap();
    let legacy_before = std::fs::read(db).unwrap();
    let out = env.orc(["migrate", "--from-legacy", db, "--json"]).ok().json();
    assert_eq!(out["result"]["tasks_created"], 12);
    assert_eq!(out["result"]["runs_imported"], 2000);

    let list = tasks(&env);
    assert_eq!(list.as_array().unwrap().len(), 12);
    assert!(list.as_array().unwrap().iter().all(|t| t["name"] != "bad name with spaces"));
    let bad = task(&list, "bad_name_with_spaces");
    assert_eq!(bad["enabled"], true);
    let close = task(&list, "month_end_close");
    assert_eq!(close["enabled"], false);
    assert!(
        close["description"].as_str().unwrap().contains("Legacy schedule (cron): 0 22 L * *"),
        "{close}"
    );
    assert_eq!(task(&list, "disabled_old_job")["enabled"], false);
    assert_eq!(task(&list, "weekly_report")["schedule"], "0 8 * * 1");
    assert_eq!(task(&list, "cleanup_logs")["schedule"], "30 2 * * *");
    assert_eq!(task(&list, "hourly_sync")["schedule"], "15 */2 * * *");
    assert_eq!(task(&list, "minutely_probe")["schedule"], "*/5 * * * *");
    assert_eq!(task(&list, "quarterly_archive")["schedule"], "30 1 1 1,4,7,10 *");
    let enabled = list.as_array().unwrap().iter().filter(|t| t["enabled"] == true).count();
    assert_eq!(enabled, 10);
    let etl = task(&list, "daily_sales_etl");
    assert_eq!(
        etl["depends_on"],
        serde_json::json!(["task:check_vpn", r"file:\\fileserver\exports\sales.csv"])
    );
    assert_eq!(
        etl["timeout"].as_u64().or_else(|| etl["timeout"].as_str().map(|_| 1800)),
        Some(1800)
    );
    assert_eq!(etl["retries"], 3);
    assert_eq!(etl["env"]["ETL_ENV"], "prod");
    assert_eq!(etl["notify"], "failure");
    assert_eq!(etl["email"], serde_json::json!(["data-team@example.com"]));
    let cmd = etl["command"].as_str().unwrap();
    if cfg!(windows) {
        assert_eq!(cmd, r#"python.exe "C:\orchestrator\scripts\etl\sales.py" --since yesterday"#);
    } else {
        assert_eq!(cmd, r"python3 'C:\orchestrator\scripts\etl\sales.py' --since yesterday");
    }
    assert_eq!(task(&list, "hourly_sync")["depends_on"], serde_json::json!(["tcp:10.20.0.1:443"]));
    assert_eq!(
        task(&list, "check_db_connection")["depends_on"],
        serde_json::json!(["cmd:ping -n 1 sql01"])
    );
    assert_eq!(
        task(&list, "weekly_report")["depends_on"],
        serde_json::json!(["url:https://intranet.example.com/health"])
    );
    assert_eq!(task(&list, "weekly_report")["notify"], "always");
    let cleanup = task(&list, "cleanup_logs")["command"].as_str().unwrap().to_string();
    assert!(
        cleanup.ends_with(r#"/c "cmd /c del @path""#) || cleanup.ends_with("/c 'cmd /c del @path'"),
        "{cleanup}"
    );

    // History: every result, with its source, original status and local time converted to UTC.
    assert_eq!(count(&env, "SELECT count(*) FROM runs"), 2000);
    assert_eq!(
        count(&env, "SELECT count(DISTINCT source) FROM runs WHERE source LIKE 'legacy:%'"),
        2000
    );
    assert_eq!(
        count(&env, "SELECT count(*) FROM runs WHERE host = 'legacy' AND trigger = 'scheduled'"),
        2000
    );
    assert!(count(&env, "SELECT count(*) FROM runs WHERE task = 'bad_name_with_spaces'") > 0);
    assert_eq!(std::fs::read(db).unwrap(), legacy_before, "the legacy file was written");
    let legacy =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let (status, start, code): (String, String, Option<i64>) = legacy
        .query_row("SELECT status, start_time, exit_code FROM task_results WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    let (ostatus, ostart, ocode): (String, String, Option<i64>) = conn(&env)
        .query_row("SELECT status, start, exit_code FROM runs WHERE source = 'legacy:1'", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(ostatus, status);
    assert_eq!(ocode, code);
    if cfg!(unix) {
        // TZ=UTC: the local naive time is the UTC time.
        assert_eq!(ostart, format!("{}.000Z", &start[..19]));
    }
    let failed_legacy: i64 = legacy
        .query_row("SELECT count(*) FROM task_results WHERE status = 'FAILED'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count(&env, "SELECT count(*) FROM runs WHERE status = 'FAILED'"), failed_legacy);

    // Settings.
    let setting = |k: &str| -> String {
        conn(&env).query_row("SELECT value FROM config WHERE key = ?1", [k], |r| r.get(0)).unwrap()
    };
    assert_eq!(setting("smtp.host"), "smtp.example.com");
    assert_eq!(setting("smtp.port"), "587");
    assert_eq!(setting("smtp.tls"), "starttls");
    assert_eq!(setting("smtp.user"), "orchestrator@example.com");
    assert_eq!(setting("mail.from"), "Task Orchestrator <orchestrator@example.com>");
    assert_eq!(setting("mail.to"), "it@example.com");
    assert_eq!(setting("report.daily_time"), "18:00");
    assert_eq!(
        count(&env, "SELECT count(*) FROM config WHERE key = 'smtp.password_credential'"),
        0
    );

    // Idempotent: a second run adds nothing and says so.
    let again = env.orc(["migrate", "--from-legacy", db, "--json"]).ok().json();
    assert_eq!(again["result"]["tasks_created"], 0);
    assert_eq!(again["result"]["runs_imported"], 0);
    assert_eq!(again["history"]["already_imported"], 2000);
    assert!(again["tasks"].as_array().unwrap().iter().all(|t| t["action"] == "already_imported"));
    assert_eq!(count(&env, "SELECT count(*) FROM runs"), 2000);
    assert_eq!(tasks(&env).as_array().unwrap().len(), 12);
    // The legacy file was never written.
    assert_eq!(std::fs::read(db).unwrap(), legacy_before, "the legacy file was written");
}

#[test]
fn existing_orc_task_names_push_legacy_ones_to_a_suffix() {
    let Some((env, db)) = ready() else { return };
    env.orc(["task", "add", "check_vpn", "--command", "echo mine", "--schedule", "0 * * * *"]).ok();
    env.orc(["migrate", "--from-legacy", db.to_str().unwrap()]).ok();
    let list = tasks(&env);
    assert_eq!(task(&list, "check_vpn")["command"], "echo mine");
    assert!(task(&list, "check_vpn-2")["command"].as_str().unwrap().contains("check_vpn.py"));
    assert_eq!(task(&list, "daily_sales_etl")["depends_on"][0], "task:check_vpn-2");
    assert!(count(&env, "SELECT count(*) FROM runs WHERE task = 'check_vpn-2'") > 0);
}

#[test]
fn secrets_need_the_right_password_and_never_leak() {
    let Some((env, db)) = ready() else { return };
    let db = db.to_str().unwrap();
    let before = env.db_bytes();
    let wrong = env
        .orc_with_stdin(
            ["migrate", "--from-legacy", db, "--legacy-password-stdin"],
            Some(b"nope\n"),
        )
        .code(6);
    assert!(wrong.stderr.contains("legacy master password is wrong"), "{}", wrong.stderr);
    assert!(wrong.stderr.contains("nothing was imported"), "{}", wrong.stderr);
    assert_eq!(env.db_bytes(), before, "a wrong password imported something");
    assert_eq!(count(&env, "SELECT count(*) FROM tasks"), 0);

    let dry = env
        .orc_with_stdin(
            ["migrate", "--from-legacy", db, "--dry-run", "--json", "--legacy-password-stdin"],
            Some(format!("{PASSWORD}\r\n").as_bytes()),
        )
        .ok()
        .json();
    let secrets = dry["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 4);
    assert!(secrets.iter().all(|s| s["action"] == "store"), "{secrets:?}");
    let names: Vec<_> = secrets.iter().map(|s| s["credential"].as_str().unwrap()).collect();
    assert_eq!(names, ["smtp-password", "intranet_api", "rclone_token", "sql01_sa"]);
    assert_eq!(env.db_bytes(), before);

    let out = env
        .orc_with_stdin(
            ["migrate", "--from-legacy", db, "--legacy-password-stdin"],
            Some(format!("{PASSWORD}\n").as_bytes()),
        )
        .ok();
    assert_eq!(count(&env, "SELECT count(*) FROM tasks"), 12);
    for plaintext in ["Sm7p-P@ss!", "Db-Pa55word", "tok-3f9a8c1e", "key=abc123&scope=read"] {
        assert!(!out.stdout.contains(plaintext) && !out.stderr.contains(plaintext));
        let bytes = env.db_bytes();
        assert!(
            !bytes.windows(plaintext.len()).any(|w| w == plaintext.as_bytes()),
            "{plaintext} in orc.db"
        );
    }
    // They are in the vault, with the right kinds, and the SMTP setting points at its entry.
    let listed = env.orc(["--json", "credential", "list"]).ok().json();
    let kinds: std::collections::BTreeMap<String, String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["kind"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(kinds.get("smtp-password").map(String::as_str), Some("smtp_password"), "{kinds:?}");
    for name in ["intranet_api", "rclone_token", "sql01_sa"] {
        assert_eq!(kinds.get(name).map(String::as_str), Some("secret"), "{kinds:?}");
    }
    let setting = env.orc(["config", "get", "smtp.password_credential"]).ok();
    assert_eq!(setting.stdout.trim(), "smtp-password");
    // And a task receives the decrypted value.
    let probe = if cfg!(windows) { "echo %SQL_PW%" } else { "echo \"$SQL_PW\"" };
    env.orc([
        "task",
        "add",
        "pw-probe",
        "--command",
        probe,
        "--schedule",
        "0 0 1 1 *",
        "--secret-env",
        "SQL_PW=sql01_sa",
    ])
    .ok();
    let out = env.orc(["execute", "--task", "pw-probe"]).ok();
    let runs = env.orc(["--json", "history", "--task", "pw-probe"]).ok().json();
    assert_eq!(runs[0]["status"], "SUCCESS", "{}", out.stdout);
    assert!(runs[0]["stdout_tail"].as_str().unwrap().contains("******"), "{}", runs[0]);
}

#[test]
fn refuses_a_missing_or_foreign_file() {
    let env = Env::new();
    env.orc(["task", "list"]).ok();
    let before = env.db_bytes();
    let missing = env.root().join("nope.db");
    let e = env.orc(["migrate", "--from-legacy", missing.to_str().unwrap()]).code(2);
    assert!(e.stderr.contains("--from-legacy"), "{}", e.stderr);
    let junk = env.root().join("junk.db");
    std::fs::write(&junk, b"this is not sqlite").unwrap();
    let e = env.orc(["migrate", "--from-legacy", junk.to_str().unwrap()]).code(2);
    assert!(e.stderr.contains("not a readable legacy orchestrator database"), "{}", e.stderr);
    env.orc(["migrate"]).code(2);
    assert_eq!(env.db_bytes(), before);
}

fn fake(env: &Env, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(crate::support::helper_exe("fake_schtasks"));
    cmd.args(args)
        .env("FAKE_SCHTASKS_ROOT", env.root().join("schtasks"))
        .env_remove("FAKE_SCHTASKS_MODE");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "fake schtasks {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn registered(env: &Env) -> Vec<String> {
    let out = fake(env, &["/Query", "/FO", "CSV", "/NH"]);
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("\",\"").next().map(|s| s.trim_matches('"').to_string()))
        .filter(|s| !s.is_empty())
        .collect();
    names.sort();
    names
}

#[test]
fn cleanup_saves_and_removes_legacy_registrations_and_rollback_restores_them() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    let legacy = [
        (
            r"\Orchestrator\Orc_daily_sales_etl",
            r"python.exe C:\orc\orc.py --task daily_sales_etl",
            "DAILY",
        ),
        (
            r"\Orchestrator\Orc_bad name with spaces",
            r#"C:\Python311\pythonw.exe "C:\orc\orc.py" --task "bad name with spaces""#,
            "HOURLY",
        ),
    ];
    for (tn, tr, sc) in legacy {
        fake(&env, &["/Create", "/TN", tn, "/SC", sc, "/ST", "06:00", "/TR", tr]);
    }
    // Not legacy: another folder, and orc's own registration.
    fake(
        &env,
        &[
            "/Create",
            "/TN",
            r"\Other\Orc_keep",
            "/SC",
            "DAILY",
            "/ST",
            "06:00",
            "/TR",
            r"python.exe C:\orc\orc.py --task keep",
        ],
    );
    fake(
        &env,
        &[
            "/Create",
            "/TN",
            r"\Orchestrator\Orc_mine",
            "/SC",
            "DAILY",
            "/ST",
            "07:00",
            "/TR",
            r#"C:\orc\orc.exe --home "C:\h" execute --task mine --scheduled"#,
        ],
    );
    let xml_before: Vec<Vec<u8>> =
        legacy.iter().map(|(tn, _, _)| fake(&env, &["/Query", "/TN", tn, "/XML"]).stdout).collect();
    let all = registered(&env);
    assert_eq!(all.len(), 4, "{all:?}");

    // No confirmation (stdin is not a terminal): refused, nothing changed.
    let e = env.orc(["migrate", "--cleanup"]).code(2);
    assert!(e.stderr.contains("--yes"), "{}", e.stderr);
    assert_eq!(registered(&env), all);

    let out = env.orc(["migrate", "--cleanup", "--yes", "--json"]).ok().json();
    assert_eq!(out["removed"].as_array().unwrap().len(), 2, "{out}");
    assert_eq!(
        registered(&env),
        vec![r"\Orchestrator\Orc_mine".to_string(), r"\Other\Orc_keep".to_string()]
    );
    let saved = env.home().join("migrate").join("legacy-tasks");
    let file = std::fs::read(saved.join("Orc_daily_sales_etl.xml")).unwrap();
    assert_eq!(&file[..2], &[0xFF, 0xFE], "saved XML is UTF-16LE with BOM");
    assert!(saved.join("Orc_bad_name_with_spaces.xml").is_file());
    // A second cleanup finds nothing more and keeps the saved copies.
    env.orc(["migrate", "--cleanup", "--yes"]).ok();
    assert!(saved.join("Orc_daily_sales_etl.xml").is_file());

    let out = env.orc(["migrate", "--rollback", "--json"]).ok().json();
    assert_eq!(out["unscheduled"], serde_json::json!([r"\Orchestrator\Orc_mine"]));
    assert_eq!(out["restored"].as_array().unwrap().len(), 2);
    let mut want =
        vec![legacy[0].0.to_string(), legacy[1].0.to_string(), r"\Other\Orc_keep".to_string()];
    want.sort();
    assert_eq!(registered(&env), want);
    for ((tn, _, _), before) in legacy.iter().zip(&xml_before) {
        let after = fake(&env, &["/Query", "/TN", tn, "/XML"]).stdout;
        assert_eq!(String::from_utf8_lossy(&after), String::from_utf8_lossy(before), "{tn}");
    }
}

#[test]
fn rollback_without_a_cleanup_is_refused() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    let e = env.orc(["migrate", "--rollback"]).code(2);
    assert!(e.stderr.contains("nothing to roll back"), "{}", e.stderr);
}

/// issue 12 finding 10: a legacy `smtp_server` holding CR/LF is refused with `config set`'s
/// rule (never imported raw), and the printed plan shows it escaped on one line.
#[test]
fn hostile_legacy_settings_are_refused_and_escaped() {
    let Some((env, db)) = ready() else { return };
    let hostile = "evil.example.com\r\n  set       smtp.tls           none";
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("UPDATE config SET value = ?1 WHERE key = 'smtp_server'", [hostile])
        .unwrap();
    let db = db.to_str().unwrap();
    let plan = env.orc(["migrate", "--from-legacy", db, "--dry-run", "--json"]).ok().json();
    let s = plan["settings"].as_array().unwrap();
    let host = s.iter().find(|s| s["legacy_key"] == "smtp_server").unwrap();
    assert_eq!(host["action"], "refused", "{host}");
    assert_eq!(host["value"], serde_json::Value::Null);
    assert!(host["note"].as_str().unwrap().contains("invalid smtp.host"), "{host}");
    let text = env.orc(["migrate", "--from-legacy", db, "--dry-run"]).ok().stdout;
    let line = text.lines().find(|l| l.contains("smtp_server")).unwrap();
    assert!(line.starts_with("  refused   smtp_server"), "{line:?}");
    assert!(line.contains(r"evil.example.com\r\n  set"), "{line:?}");
    assert!(!text.lines().any(|l| l.trim_start().starts_with("set       smtp.tls")), "{text}");

    env.orc(["migrate", "--from-legacy", db]).ok();
    let got = env.orc(["config", "get", "smtp.host"]).ok().stdout;
    assert!(!got.contains("evil"), "{got}");
}

//! `orc doctor`: each check on a seeded home (fake schtasks + fake wevtutil), `--fix` and the
//! clean second run, `--json`, and the exit code.

use crate::support::Env;
#[cfg(unix)]
use crate::support::redact::{PIDS_AND_VERSIONS, SIZES, TIMES};
#[cfg(unix)]
use crate::support::{Redactor, orc_exe, snapshot_settings};

fn env() -> Env {
    let mut env = Env::new();
    env.with_fake_schtasks().with_fake_wevtutil();
    env.set_env("TZ", "UTC");
    env.without_watch_task();
    env
}

#[cfg(unix)]
fn doctor_text(env: &Env, out: &str) -> String {
    Redactor::new(env)
        .value(orc_exe().to_string_lossy(), "[ORC_EXE]")
        .value(format!("schema {},", orc::store::MIGRATIONS.len()), "schema [SCHEMA],")
        .apply(out)
}

/// Opens the home to others (any orc command narrows it again when it opens the store).
#[cfg(unix)]
fn open_home(env: &Env) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(env.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn add(env: &Env, name: &str, schedule: &str) {
    env.orc([
        "task",
        "add",
        name,
        "--command",
        "echo hi",
        "--schedule",
        schedule,
        "--notify",
        "never",
    ])
    .ok();
}

/// Seeds three problems `--fix` repairs (history log off, a registration deleted by hand, a
/// home opened to others) and checks the report, the fix and the clean second run. Unix: the
/// seeding is a mode; Windows homes are checked by their DACL, which Wine does not keep
/// (the windows_real test below covers Windows).
#[cfg(unix)]
#[test]
fn doctor_reports_fixes_and_a_second_run_is_clean() {
    let env = env();
    add(&env, "backup", "0 2 * * *");
    add(&env, "report", "30 6 * * 1-5");
    env.orc(["schedule", "--all"]).ok();
    crate::schedule::fake(&env, &["/Delete", "/TN", "\\Orchestrator\\Orc_report", "/F"]);
    open_home(&env);

    let out = env.orc(["doctor"]).code(1);
    snapshot_settings(&[TIMES, SIZES, PIDS_AND_VERSIONS])
        .bind(|| insta::assert_snapshot!("doctor_seeded_unix", doctor_text(&env, &out.stdout)));

    open_home(&env);
    let fixed = env.orc(["doctor", "--fix"]).ok();
    let mut fixed_lines: Vec<&str> =
        fixed.stdout.lines().filter(|l| l.starts_with("fixed: ")).collect();
    fixed_lines.sort();
    let perms = format!("fixed: reset the permissions of {}", env.home().display());
    let mut want = vec![
        "fixed: enabled the Task Scheduler history log (wevtutil sl Microsoft-Windows-TaskScheduler/Operational /e:true)",
        "fixed: re-registered 1 task(s): report",
        &perms,
    ];
    want.sort();
    assert_eq!(fixed_lines, want, "{}", fixed.stdout);
    fixed.assert_stdout_has_line("13 checks: 13 ok, 0 warn, 0 fail");

    let again = env.orc(["doctor"]).ok();
    assert!(!again.stdout.contains("fixed:"), "{}", again.stdout);
    again.assert_stdout_has_line("13 checks: 13 ok, 0 warn, 0 fail");
    let state = std::fs::read_to_string(env.wevtutil_state()).unwrap();
    assert!(state.contains("\"enabled\": true"), "{state}");
}

#[test]
fn doctor_json_has_one_object_per_check_and_exit_1_when_one_fails() {
    let mut env = env();
    add(&env, "backup", "0 2 * * *");
    env.orc(["schedule", "--all"]).ok();
    env.set_env("FAKE_SCHTASKS_MODE", "service-unavailable");
    let out = env.orc(["--json", "doctor"]).code(1);
    let doc = out.json();
    let checks = doc["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 13);
    for c in checks {
        let mut keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["detail", "fix", "name", "status"], "{c}");
        assert!(["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()), "{c}");
    }
    let by = |n: &str| checks.iter().find(|c| c["name"] == n).unwrap().clone();
    assert_eq!(by("scheduler")["status"], "fail");
    assert_eq!(by("service")["status"], "fail");
    assert_eq!(
        by("service")["fix"],
        "start it: `sc start Schedule` (or Services → Task Scheduler → Start)"
    );
    assert_eq!(by("drift")["status"], "warn");
    assert_eq!(by("database")["status"], "ok");
    assert_eq!(doc["fixed"], serde_json::json!([]));
}

#[test]
fn doctor_warns_about_failing_streaks_schedules_and_mail() {
    let env = env();
    crate::support::exec::add_task(
        &env,
        "flaky",
        &crate::support::exec::child(&["exit", "3"]),
        |_| {},
    );
    crate::support::exec::add_task(&env, "feb30", "x", |s| s.schedule = "0 0 30 2 *".into());
    for _ in 0..3 {
        env.orc(["execute", "--task", "flaky"]).code(3);
    }
    // Warnings only; the exit code is not asserted here because under Wine the home's DACL
    // (which Wine does not keep) fails the permissions check.
    let out = env.orc(["doctor"]);
    out.assert_stdout_has_line("warn  failing tasks     failing repeatedly: flaky (3 in a row)");
    out.assert_stdout_has_line(
        "                        fix: `orc why TASK` explains the last run; `orc history --task TASK`",
    );
    out.assert_stdout_has_line("warn  schedules         never fire(s): feb30");
    out.assert_stdout_has_line(
        "warn  mail              2 task(s) send mail, but smtp.host is not set",
    );
}

/// The built-in tasks (`orc-watch`, the daily report) are orc's own: with mail off they do not
/// count as tasks that send mail (they alert through the channels).
#[test]
fn doctor_does_not_count_the_builtin_tasks_as_sending_mail() {
    let mut env = Env::new();
    env.with_fake_schtasks().with_fake_wevtutil();
    env.set_env("TZ", "UTC");
    env.orc(["config", "set", "report.daily_time", "07:00"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let tasks = env.orc(["task", "list", "--json"]).ok().json();
    let names: Vec<&str> =
        tasks.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["orc-daily-report", "orc-watch"]);
    let out = env.orc(["doctor"]);
    out.assert_stdout_has_line("ok    mail              mail is off and no task sends mail");
    // A user task still counts.
    add(&env, "backup", "0 2 * * *");
    env.orc(["task", "edit", "backup", "--notify", "failure"]).ok();
    env.orc(["doctor"]).assert_stdout_has_line(
        "warn  mail              1 task(s) send mail, but smtp.host is not set",
    );
}

#[test]
fn doctor_fix_reports_a_refused_history_log_change() {
    let mut env = env();
    env.set_env("FAKE_WEVTUTIL_MODE", "access-denied");
    let out = env.orc(["doctor", "--fix"]).code(4);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.contains("Access is denied"), "{}", out.stderr);
}

/// On a real Windows (the windows-latest job runs it with `--ignored windows_real`): the real
/// `wevtutil gl`/`sl`/`qe` syntax orc uses, the Task Scheduler service check and `orc why` on
/// a real registration in a scratch folder (unscheduled at the end).
#[cfg(windows)]
#[test]
#[ignore = "needs the real Windows Task Scheduler and wevtutil (elevated)"]
fn windows_real_doctor_fix_enables_the_history_log_and_why_reads_it() {
    let env = Env::new();
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    let folder = format!("\\orc-ci-{}\\", hex::encode(bytes));
    env.orc(["config", "set", "scheduler.folder", &folder]).ok();
    add(&env, "probe", "0 3 * * *");
    env.orc(["schedule", "--task", "probe"]).ok();
    let fixed = env.orc(["--json", "doctor", "--fix"]);
    let doc = fixed.json();
    let by = |n: &str| {
        doc["checks"].as_array().unwrap().iter().find(|c| c["name"] == n).unwrap().clone()
    };
    assert_eq!(by("scheduler")["status"], "ok", "{doc}");
    assert_eq!(by("service")["status"], "ok", "{doc}");
    assert_eq!(by("history log")["status"], "ok", "{doc}");
    let why = env.orc(["--json", "why", "probe"]).ok().json();
    let unscheduled = env.orc(["unschedule", "--task", "probe"]);
    assert_eq!(
        why["verdict"],
        "it never ran: Task Scheduler has not started it yet (last result 0x00041303)",
        "{why}"
    );
    let log = why["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "operational log")
        .unwrap()
        .clone();
    assert!(!log["lines"][0].as_str().unwrap().starts_with("could not be read"), "{log}");
    unscheduled.ok();
}

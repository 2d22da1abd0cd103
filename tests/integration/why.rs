//! `orc why`: the last run or the run that did not happen, on fake schtasks + fake wevtutil;
//! and the fake wevtutil itself.

use serde_json::json;

use crate::schedule::fake;
use crate::support::Env;
use crate::support::exec::{add_task, child};

const PATH: &str = "\\Orchestrator\\Orc_backup";

fn env() -> Env {
    let mut env = Env::new();
    env.with_fake_schtasks().with_fake_wevtutil();
    env.set_env("TZ", "UTC");
    env.set_env("ORC_NOW", "2026-03-01T12:00:00");
    env.set_env("FAKE_SCHTASKS_NOW", "2026-03-01T12:00:00");
    env
}

/// `backup` at 02:00 every day, registered.
fn registered(env: &Env, command: &str) {
    add_task(env, "backup", command, |s| s.schedule = "0 2 * * *".into());
    env.orc(["schedule", "--all"]).ok();
}

fn events(env: &Env, enabled: bool, events: serde_json::Value) {
    let state = json!({ "enabled": enabled, "events": events });
    std::fs::write(env.wevtutil_state(), state.to_string()).unwrap();
}

fn event(id: u32, time: &str, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut data = vec![
        json!(["TaskName", PATH]),
        json!(["InstanceId", "{5d29117e-4827-4f9b-93bb-6cc917eceb45}"]),
    ];
    data.extend(extra.iter().map(|(k, v)| json!([k, v])));
    json!({ "id": id, "time": time, "data": data })
}

fn set_last(env: &Env, result: i64) {
    fake(
        env,
        &["--fake-set", PATH, &format!("last_result={result}"), "last_run=2026-03-01T02:00:00"],
    );
}

fn verdict(out: &crate::support::Output) -> &str {
    out.stdout.lines().next().unwrap_or_default()
}

#[test]
fn why_never_ran() {
    let env = env();
    registered(&env, "x");
    events(&env, false, json!([]));
    let out = env.orc(["why", "backup"]).ok();
    assert_eq!(
        verdict(&out),
        "backup: it never ran: Task Scheduler has not started it yet (last result 0x00041303)"
    );
    out.assert_stdout_has_line("  last result: 0x00041303 (has not run yet)");
    out.assert_stdout_has_line(
        "  no events: the history log is disabled (`orc doctor --fix` enables it)",
    );
    out.assert_stdout_has_line("  no run recorded");
    out.assert_stdout_has_line("  2026-03-02T02:00:00+00:00");
}

#[test]
fn why_already_running() {
    let env = env();
    registered(&env, "x");
    set_last(&env, -2147216609);
    events(
        &env,
        true,
        json!([
            event(100, "2026-03-01T01:00:00Z", &[("UserContext", "HOST\\svc")]),
            event(322, "2026-03-01T02:00:00Z", &[]),
        ]),
    );
    let out = env.orc(["why", "backup"]).ok();
    assert_eq!(
        verdict(&out),
        "backup: Task Scheduler did not start it: an instance was already running \
         (MultipleInstancesPolicy IgnoreNew) (last result 0x8004131F)"
    );
    out.assert_stdout_has_line("  last result: 0x8004131F (an instance is already running)");
    out.assert_stdout_has_line(
        "  2026-03-01T02:00:00+00:00 322 launch request ignored: an instance is already running",
    );
    out.assert_stdout_has_line(
        "  2026-03-01T01:00:00+00:00 100 Task Scheduler started an instance of the task → not a \
         slot of the schedule: orc skipped this start (superset trigger)",
    );
}

#[test]
fn why_bad_start_in() {
    let env = env();
    registered(&env, "x");
    set_last(&env, -2147024629);
    events(
        &env,
        true,
        json!([event(101, "2026-03-01T02:00:00Z", &[("ResultCode", "2147942667")])]),
    );
    let out = env.orc(["--json", "why", "backup"]).ok();
    let doc = out.json();
    assert_eq!(
        doc["verdict"],
        "Task Scheduler could not start it: the registration's Start In directory is invalid \
         (re-register with `orc schedule --task NAME --force`) (last result 0x8007010B)"
    );
    assert_eq!(
        doc["events"],
        json!([{
            "id": 101,
            "time": "2026-03-01T02:00:00+00:00",
            "meaning": "Task Scheduler failed to start the task (result 0x8007010B: the Start In directory is invalid)",
            "orc": null
        }])
    );
    assert_eq!(doc["next_run"], "2026-03-02T02:00:00+00:00");
    let names: Vec<&str> =
        doc["sources"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["task", "scheduler", "operational log", "runs", "daylight saving", "next run"]
    );
}

#[test]
fn why_timeout() {
    let env = env();
    add_task(&env, "slow", &child(&["sleep", "30000"]), |s| s.timeout = Some(1));
    env.orc(["execute", "--task", "slow"]).code(124);
    let out = env.orc(["why", "slow"]).ok();
    assert_eq!(
        verdict(&out),
        "slow: run #1 timed out: orc stopped its process tree after the task's timeout of 1s"
    );
    assert!(out.stdout.contains("  #1 attempt 1 TIMEOUT started "), "{}", out.stdout);
}

#[test]
fn why_dependency_skip() {
    let env = env();
    add_task(&env, "extract", &child(&["exit", "9"]), |_| {});
    env.orc(["execute", "--task", "extract"]).code(9);
    add_task(&env, "load", &child(&["exit", "0"]), |s| s.depends_on = vec!["task:extract".into()]);
    env.orc(["execute", "--task", "load"]).ok();
    let out = env.orc(["why", "load"]).ok();
    assert!(verdict(&out).starts_with("load: run #2 was skipped: "), "{}", out.stdout);
    assert!(verdict(&out).contains("extract"), "{}", out.stdout);
    out.assert_stdout_has_line("  depends on: task:extract");
    assert!(out.stdout.contains("  extract: last run #1 FAILED at "), "{}", out.stdout);
    // --run names a run of this task only.
    env.orc(["why", "load", "--run", "1"])
        .code(3)
        .assert_stderr_line("error: no such run of this task: \"1\"");
}

#[test]
fn why_superset_skipped_start() {
    let env = env();
    registered(&env, "x");
    events(&env, true, json!([event(100, "2026-03-01T05:00:00Z", &[])]));
    let out = env.orc(["why", "backup", "--at", "2026-03-01T05:00"]).ok();
    assert_eq!(
        verdict(&out),
        "backup: a start at 2026-03-01T05:00:00 serves no slot, so orc skips it by design (a \
         superset trigger or a late start): 2026-03-01 05:00:00 is not a slot of \"0 2 * * *\": \
         the latest slot 2026-03-01T02:00+00:00 is 180 min ago, more than the 10 min tolerance, \
         and catch-up is off"
    );
    out.assert_stdout_has_line(
        "  2026-03-01T05:00:00+00:00 100 Task Scheduler started an instance of the task → not a \
         slot of the schedule: orc skipped this start (superset trigger)",
    );
}

#[test]
fn why_missed_slot() {
    let env = env();
    registered(&env, "x");
    events(&env, true, json!([]));
    let out = env.orc(["why", "backup", "--at", "2026-03-01T02:00"]).ok();
    assert_eq!(
        verdict(&out),
        "backup: missed slot 2026-03-01T02:00+00:00: Task Scheduler did not start orc for it (no \
         start event); catch-up is off, so it is not run later"
    );
    out.assert_stdout_has_line("  2026-03-01T02:00:00 is in slot 2026-03-01T02:00+00:00");
    env.orc(["why", "backup", "--at", "yesterday"]).code(2).assert_stderr_line(
        "error: invalid --at \"yesterday\": give a local time as YYYY-MM-DDTHH:MM[:SS]",
    );
    env.orc(["why", "nosuch"]).code(3);
}

#[test]
fn why_on_crontab_uses_no_wevtutil() {
    let mut env = Env::new();
    env.set_env("ORC_BACKEND", "crontab");
    env.set_env("TZ", "UTC");
    env.set_env("ORC_NOW", "2026-03-01T12:00:00");
    add_task(&env, "backup", &child(&["exit", "0"]), |s| s.schedule = "0 2 * * *".into());
    env.orc(["execute", "--task", "backup"]).ok();
    let out = env.orc(["--json", "why", "backup"]).ok();
    let doc = out.json();
    assert_eq!(doc["verdict"], "run #1 succeeded");
    assert_eq!(doc["events"], json!([]));
    assert!(doc["sources"].as_array().unwrap().iter().all(|s| s["name"] != "operational log"));
}

/// The fake answers like wevtutil: `gl`, `sl`, `qe` with the task query, and its errors.
#[test]
fn fake_wevtutil_behaves_like_wevtutil() {
    let env = env();
    events(
        &env,
        false,
        json!([
            event(100, "2026-03-01T01:00:00Z", &[]),
            event(102, "2026-03-01T01:00:09Z", &[]),
            { "id": 100, "time": "2026-03-01T01:30:00Z", "data": [["TaskName", "\\Other"]] }
        ]),
    );
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::support::helper_exe("fake_wevtutil"))
            .args(args)
            .env("FAKE_WEVTUTIL_STATE", env.wevtutil_state())
            .env_remove("FAKE_WEVTUTIL_MODE")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    const LOG: &str = "Microsoft-Windows-TaskScheduler/Operational";
    let (code, out, _) = run(&["gl", LOG]);
    assert_eq!(code, Some(0));
    assert_eq!(orc::scheduler::wevtutil::parse_enabled(&out), Some(false));
    assert_eq!(run(&["sl", LOG, "/e:true"]).0, Some(0));
    assert_eq!(orc::scheduler::wevtutil::parse_enabled(&run(&["gl", LOG]).1), Some(true));
    let q = format!("/q:{}", orc::scheduler::wevtutil::task_query(PATH));
    let (code, out, _) = run(&["qe", LOG, &q, "/f:xml", "/c:50", "/rd:true"]);
    assert_eq!(code, Some(0));
    let parsed = orc::scheduler::wevtutil::parse_events(&out).unwrap();
    assert_eq!(parsed.iter().map(|e| e.id).collect::<Vec<_>>(), [102, 100]);
    assert_eq!(parsed[0].get("TaskName"), Some(PATH));
    let (_, out, _) = run(&["qe", LOG, &q, "/f:xml", "/c:1"]);
    assert_eq!(orc::scheduler::wevtutil::parse_events(&out).unwrap()[0].id, 100);
    let (code, _, err) = run(&["gl", "Nope"]);
    assert_ne!(code, Some(0));
    assert_eq!(
        err.trim(),
        "Failed to read configuration for log Nope. The specified channel could not be found."
    );
    let (code, _, err) = run(&["qe", LOG, "/q:*[System[EventID=100]]", "/f:xml"]);
    assert_ne!(code, Some(0));
    assert_eq!(err.trim(), "Failed to read events. The specified query is invalid.");
    let (code, _, err) = run(&["sl", LOG, "/bogus"]);
    assert_ne!(code, Some(0));
    assert_eq!(err.trim(), "The parameter is incorrect.");
}

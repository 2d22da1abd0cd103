//! `orc history` and `orc status`: filters, JSON, snapshots of the human output.

use crate::support::exec::*;
use crate::support::redact::{PIDS_AND_VERSIONS, TABLE_PADDING, TIMES};
use crate::support::{Env, Redactor, redact, snapshot_settings};

fn setup() -> Env {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T09:00:10");
    add_task(&env, "alpha", &child(&["print", "alpha says hi"]), |s| {
        s.schedule = "0 9 * * *".into()
    });
    add_task(&env, "beta", &child(&["err", "5", "exit", "2"]), |s| {
        s.schedule = "30 9 * * 1-5".into()
    });
    add_task(&env, "gamma", &child(&[]), |s| {
        s.schedule = "0 0 1 1 *".into();
        s.enabled = false;
    });
    env.orc(["execute", "--task", "alpha", "--scheduled"]).ok();
    env.orc(["execute", "--task", "beta"]).code(2);
    env
}

#[test]
fn history_table_snapshot() {
    let env = setup();
    let out = env.orc(["history"]).ok();
    let text = Redactor::new(&env).host().apply(&out.stdout);
    snapshot_settings(&[TIMES, PIDS_AND_VERSIONS, TABLE_PADDING])
        .bind(|| insta::assert_snapshot!("history_table", text));
}

#[test]
fn history_run_snapshot() {
    let env = setup();
    let id = rows(&env).iter().find(|r| r.1 == "FAILED").unwrap().0.to_string();
    let out = env.orc(["history", "--run", &id]).ok();
    let text = Redactor::new(&env).host().apply(&out.stdout).replace('\\', "/");
    snapshot_settings(&[TIMES, PIDS_AND_VERSIONS])
        .bind(|| insta::assert_snapshot!("history_run", text));
}

#[test]
fn status_snapshot_and_json() {
    let env = setup();
    let out = env.orc(["status"]).ok();
    snapshot_settings(&[TIMES, PIDS_AND_VERSIONS, TABLE_PADDING])
        .bind(|| insta::assert_snapshot!("status_table", redact(&env, &out.stdout)));
    let v = env.orc(["--json", "status"]).json();
    let tasks = v.as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    assert_eq!(tasks[0]["name"], "alpha");
    assert_eq!(tasks[0]["last_run"]["status"], "SUCCESS");
    assert!(
        tasks[0]["next_run"].as_str().unwrap().starts_with("2026-03-03T09:00:00"),
        "{}",
        tasks[0]
    );
    assert_eq!(tasks[1]["last_run"]["exit_code"], 2);
    assert!(tasks[1]["next_run"].as_str().unwrap().starts_with("2026-03-02T09:30:00"));
    assert_eq!(tasks[2]["enabled"], false);
    assert!(tasks[2]["next_run"].is_null());
    assert!(tasks[2]["last_run"].is_null());
    assert_eq!(tasks[0]["running"].as_array().unwrap().len(), 0);
}

#[test]
fn history_filters_and_json() {
    let env = setup();
    let all = env.orc(["--json", "history"]).json();
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0]["task"], "beta", "newest first");
    assert!(all[1]["slot"].as_str().unwrap().starts_with("2026-03-02T09:00"));
    assert_eq!(all[1]["trigger"], "scheduled");
    let failed = env.orc(["--json", "history", "--status", "failed"]).json();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    assert_eq!(failed[0]["stderr_bytes"], 5);
    let one = env.orc(["--json", "history", "--limit", "1"]).json();
    assert_eq!(one.as_array().unwrap().len(), 1);
    let alpha = env.orc(["--json", "history", "--task", "ALPHA"]).json();
    assert_eq!(alpha.as_array().unwrap().len(), 1, "task names are case-insensitive");
    let recent = env.orc(["--json", "history", "--since", "1h"]).json();
    assert_eq!(recent.as_array().unwrap().len(), 2);
    let later = env.orc(["--json", "history", "--since", "2026-03-03"]).json();
    assert_eq!(later.as_array().unwrap().len(), 0);
    let full = env.orc(["--json", "history", "--run", &all[1]["id"].to_string()]).json();
    assert_eq!(full["stdout"], "alpha says hi\n");
    // Refusals.
    env.orc(["history", "--status", "done"]).code(2).assert_stderr_line(
        "error: invalid --status \"done\": must be one of RUNNING, SUCCESS, FAILED, TIMEOUT, \
         SKIPPED, ABANDONED",
    );
    env.orc(["history", "--limit", "0"]).code(2);
    env.orc(["history", "--since", "yesterday-ish"]).code(2);
    env.orc(["history", "--task", "nosuch"]).code(3);
    env.orc(["history", "--run", "999"]).code(3);
    env.orc(["history", "--task", "gamma"]).ok();
}

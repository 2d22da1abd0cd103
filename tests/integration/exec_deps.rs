//! Dependencies: every kind met and unmet, `--check-deps`, `--dep-wait`, `on_unmet`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::support::Env;
use crate::support::exec::*;

/// A tiny HTTP responder: answers every request with `status`, forever, on a thread.
fn http_server(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "ok";
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/health")
}

#[test]
fn every_kind_met_runs_the_task() {
    let env = Env::new();
    let flag = scratch(&env, "ready.flag");
    std::fs::write(&flag, "x").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = http_server(200);
    let counter = scratch(&env, "c");
    add_task(&env, "upstream", &child(&[]), |_| {});
    env.orc(["execute", "--task", "upstream"]).ok();
    add_task(&env, "down", &child(&["count", &counter]), |s| {
        s.depends_on = vec![
            format!("file:{flag}?max_age=1h"),
            format!("tcp:127.0.0.1:{port}"),
            format!("url:{url}"),
            format!("cmd:{}", child(&["exit", "0"])),
            "task:upstream?within=1h".into(),
        ];
    });
    env.orc(["execute", "--task", "down"]).ok();
    assert_eq!(count(&counter), 1);
    let out = env.orc(["--json", "execute", "--task", "down", "--check-deps"]).ok();
    let checks = out.json();
    let checks = checks.as_array().unwrap();
    assert_eq!(checks.len(), 5);
    for c in checks {
        assert_eq!(c["met"], true, "{c}");
        for field in ["spec", "kind", "reason"] {
            assert!(c[field].is_string(), "{c}");
        }
    }
    let kinds: Vec<&str> = checks.iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["file", "tcp", "url", "cmd", "task"]);
    assert_eq!(count(&counter), 1, "--check-deps does not run the task");
    drop(listener);
}

#[test]
fn unmet_dependencies_skip_with_a_reason_per_dependency() {
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = http_server(503);
    let missing = scratch(&env, "missing.flag");
    let counter = scratch(&env, "c");
    add_task(&env, "broken", &child(&["exit", "9"]), |_| {});
    env.orc(["execute", "--task", "broken"]).code(9);
    add_task(&env, "blocked", &child(&["count", &counter]), |s| {
        s.depends_on = vec![
            format!("file:{missing}"),
            format!("tcp:127.0.0.1:{port}"),
            format!("url:{url}"),
            format!("cmd:{}", child(&["exit", "1"])),
            "task:never-ran".into(),
            "task:broken".into(),
        ];
    });
    let before = rows(&env).len();
    assert_eq!(before, 1);
    let out = env.orc(["--json", "execute", "--task", "blocked", "--check-deps"]).code(7);
    let checks = out.json();
    assert!(checks.as_array().unwrap().iter().all(|c| c["met"] == false), "{checks}");
    assert_eq!(rows(&env).len(), before, "--check-deps records nothing");

    let out = env.orc(["execute", "--task", "blocked"]).ok();
    assert!(out.stdout.contains("SKIPPED"), "{}", out.stdout);
    assert_eq!(count(&counter), 0);
    let r = rows(&env);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].1, "SKIPPED");
    let err = r[1].6.clone().unwrap();
    assert!(err.starts_with("dependencies not met: "), "{err}");
    assert!(err.contains(&format!("file:{missing}: {missing} does not exist")), "{err}");
    assert!(err.contains(&format!("tcp:127.0.0.1:{port}: cannot connect")), "{err}");
    assert!(err.contains("HTTP 503 from 127.0.0.1"), "{err}");
    assert!(err.contains("exit code 1"), "{err}");
    assert!(err.contains("never-ran has never run"), "{err}");
    assert!(err.contains("task:broken: broken's latest run is FAILED"), "{err}");
}

#[test]
fn policy_fail_exits_seven() {
    let env = Env::new();
    let missing = scratch(&env, "nope");
    add_task(&env, "strict", &child(&[]), |s| {
        s.depends_on = vec![format!("file:{missing}")];
        s.on_unmet = orc::task::OnUnmet::Fail;
    });
    env.orc(["execute", "--task", "strict"]).code(7);
    assert_eq!(rows(&env)[0].1, "SKIPPED");
}

#[test]
fn dep_wait_polls_until_the_dependency_appears() {
    let env = Env::new();
    let flag = scratch(&env, "late.flag");
    let counter = scratch(&env, "c");
    add_task(&env, "patient", &child(&["count", &counter]), |s| {
        s.depends_on = vec![format!("file:{flag}")];
    });
    let f = flag.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        std::fs::write(f, "x").unwrap();
    });
    let out = env.orc(["execute", "--task", "patient", "--dep-wait", "20s"]).ok();
    writer.join().unwrap();
    assert!(out.stdout.contains("waiting up to"), "{}", out.stdout);
    assert_eq!(count(&counter), 1);
    assert_eq!(rows(&env)[0].1, "SUCCESS");
}

#[test]
fn cmd_dependency_is_killed_at_its_timeout() {
    let env = Env::new();
    add_task(&env, "hang", &child(&[]), |s| {
        s.depends_on = vec![format!("cmd:{}?timeout=1s", child(&["sleep", "30000"]))];
    });
    let t = std::time::Instant::now();
    env.orc(["execute", "--task", "hang"]).ok();
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    let err = rows(&env)[0].6.clone().unwrap();
    assert!(err.contains("did not finish within 1s"), "{err}");
}

#[test]
fn scheduled_unmet_dependencies_consume_the_slot_once() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T09:00:00");
    let missing = scratch(&env, "nope");
    add_task(&env, "sched", &child(&[]), |s| {
        s.schedule = "0 9 * * *".into();
        s.depends_on = vec![format!("file:{missing}")];
    });
    env.orc(["execute", "--task", "sched", "--scheduled"]).ok();
    let out = env.orc(["execute", "--task", "sched", "--scheduled"]).ok();
    assert!(out.stdout.contains("already claimed"), "{}", out.stdout);
    let r = rows(&env);
    assert_eq!(r.len(), 1);
    assert!(r[0].4.is_some(), "the SKIPPED row carries the slot");
}

//! `orc execute`: results, exit codes, output, environment, retries, slots, overlap, leases,
//! timeouts and tree kills, argument passing.

use std::time::{Duration, Instant};

use crate::support::Env;
use crate::support::exec::*;

fn json_runs(env: &Env, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = env.orc(&all);
    out.json().as_array().cloned().unwrap_or_else(|| panic!("not an array: {}", out.stdout))
}

#[test]
fn success_records_output_and_passes_exit_zero() {
    let env = Env::new();
    add_task(&env, "hello", &child(&["print", "hello world", "err", "10"]), |_| {});
    let out = env.orc(["execute", "--task", "hello"]).ok();
    assert!(out.stdout.contains("SUCCESS"), "{}", out.stdout);
    let runs = json_runs(&env, &["history", "--task", "hello"]);
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_eq!(r["status"], "SUCCESS");
    assert_eq!(r["exit_code"], 0);
    assert_eq!(r["trigger"], "manual");
    assert_eq!(r["attempt"], 1);
    assert!(r["slot"].is_null());
    assert_eq!(r["stdout_tail"], "hello world\n");
    assert_eq!(r["stdout_bytes"], 12);
    assert_eq!(r["stderr_bytes"], 10);
    assert_eq!(r["killed_by_timeout"], false);
    for field in ["id", "task", "start", "end", "duration_ms", "error", "host"] {
        assert!(r.get(field).is_some(), "missing {field}: {r}");
    }
    assert!(r["duration_ms"].as_i64().unwrap() >= 0);
}

#[test]
fn execute_json_prints_the_run_objects() {
    let env = Env::new();
    add_task(&env, "j", &child(&["exit", "3"]), |_| {});
    let out = env.orc(["--json", "execute", "--task", "j"]).code(3);
    let v = out.json();
    let runs = v.as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["status"], "FAILED");
    assert_eq!(runs[0]["exit_code"], 3);
    assert_eq!(runs[0]["error"], "exit code 3");
}

#[test]
fn unknown_task_and_bad_names_are_refused() {
    let env = Env::new();
    env.orc(["execute", "--task", "nope"]).code(3);
    let out = env.orc(["execute", "--task", "bad name"]).code(2);
    assert!(out.stderr.contains("task name"), "{}", out.stderr);
    add_task(&env, "t", &child(&[]), |_| {});
    let out = env.orc(["execute", "--task", "t", "--dep-wait", "soon"]).code(2);
    assert!(out.stderr.contains("--dep-wait"), "{}", out.stderr);
    assert!(rows(&env).is_empty(), "nothing recorded");
}

#[test]
fn exit_code_matrix() {
    let env = Env::new();
    let mut codes: Vec<(i64, &str)> = vec![(0, "0"), (1, "1"), (255, "255")];
    if cfg!(windows) {
        codes.push((259, "259"));
        codes.push((0xC000_0005, "0xC0000005"));
    }
    for (code, text) in codes {
        let name = format!("code{}", code & 0xFFFF);
        add_task(&env, &name, &child(&["exit", text]), |_| {});
        let out = env.orc(["execute", "--task", &name]);
        assert_eq!(out.code as u32 as i64, code, "orc passes the code through: {out:?}");
        let runs = json_runs(&env, &["history", "--task", &name]);
        assert_eq!(runs[0]["exit_code"], code);
        if code == 0 {
            assert_eq!(runs[0]["status"], "SUCCESS");
        } else {
            assert_eq!(runs[0]["status"], "FAILED");
            assert!(runs[0]["error"].as_str().unwrap().contains(text), "{}", runs[0]);
        }
    }
    if cfg!(windows) {
        let runs = json_runs(&env, &["history", "--task", "code5"]);
        assert_eq!(runs[0]["exit_code_text"], "0xC0000005 (access violation)");
        let h = env.orc(["history", "--task", "code5"]).ok();
        assert!(h.stdout.contains("0xC0000005"), "{}", h.stdout);
    }
}

#[cfg(unix)]
#[test]
fn signal_death_is_128_plus_n() {
    let env = Env::new();
    add_task(&env, "sig", &child(&["print", "before", "signal", "9"]), |_| {});
    let out = env.orc(["execute", "--task", "sig"]).code(137);
    assert!(out.stdout.contains("killed by signal 9 (SIGKILL)"), "{}", out.stdout);
    let runs = json_runs(&env, &["history", "--task", "sig"]);
    assert_eq!(runs[0]["exit_code"], 137);
    assert_eq!(runs[0]["status"], "FAILED");
    assert_eq!(runs[0]["killed_by_timeout"], false);
    assert_eq!(runs[0]["stdout_tail"], "before\n");
}

#[test]
fn non_utf8_output_is_stored_raw_and_shown_lossily() {
    let env = Env::new();
    // 0x82 0xFF (not UTF-8), CP437 é (0x82), NUL bytes, and a UTF-16LE fragment on stderr.
    let raw = "82ff00e90041000a";
    let utf16 = "480069002100";
    add_task(&env, "bytes", &child(&["hex", raw, "hexerr", utf16]), |_| {});
    env.orc(["execute", "--task", "bytes"]).ok();
    let c = db(&env);
    let (head, ehead): (Vec<u8>, Vec<u8>) = c
        .query_row("SELECT stdout_head, stderr_head FROM runs", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(head, [0x82, 0xff, 0x00, 0xe9, 0x00, 0x41, 0x00, 0x0a]);
    assert_eq!(ehead, [0x48, 0x00, 0x69, 0x00, 0x21, 0x00]);
    let runs = json_runs(&env, &["history"]);
    assert_eq!(runs[0]["stderr_tail"], "Hi!", "UTF-16LE decoded: {}", runs[0]);
    assert!(runs[0]["stdout_tail"].as_str().unwrap().contains('A'));
    let id = runs[0]["id"].to_string();
    let out = env.orc(["history", "--run", &id]).ok();
    assert!(out.stdout.contains("--- stdout (8 bytes) ---"), "{}", out.stdout);
    assert!(out.stdout.contains("Hi!"), "{}", out.stdout);
}

#[test]
fn environment_is_scrubbed_and_task_env_added() {
    let mut env = Env::new();
    env.set_env("ORC_LOG", "warn");
    env.set_env("ORC_INHERITED_SECRET", "x");
    env.set_env("OUTER_VAR", "outer");
    add_task(
        &env,
        "envt",
        &child(&["env", "ORC_HOME", "ORC_LOG", "ORC_INHERITED_SECRET", "OUTER_VAR", "GREETING"]),
        |s| {
            s.env.insert("GREETING".into(), "hello there".into());
        },
    );
    env.orc(["execute", "--task", "envt"]).ok();
    let runs = json_runs(&env, &["history"]);
    let seen: serde_json::Value =
        serde_json::from_str(runs[0]["stdout_tail"].as_str().unwrap()).unwrap();
    assert!(seen["ORC_HOME"].is_null(), "{seen}");
    assert!(seen["ORC_LOG"].is_null(), "{seen}");
    assert!(seen["ORC_INHERITED_SECRET"].is_null(), "{seen}");
    assert_eq!(seen["OUTER_VAR"], "outer");
    assert_eq!(seen["GREETING"], "hello there");
}

#[test]
fn working_directory_is_the_task_dir_else_home_and_must_exist() {
    let env = Env::new();
    add_task(&env, "cwd-home", &child(&["cwd"]), |_| {});
    env.orc(["execute", "--task", "cwd-home"]).ok();
    let dir = env.root().join("work");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_string_lossy().into_owned();
    add_task(&env, "cwd-task", &child(&["cwd"]), |s| s.workdir = Some(d.clone()));
    env.orc(["execute", "--task", "cwd-task"]).ok();
    let missing = env.root().join("missing-dir").to_string_lossy().into_owned();
    add_task(&env, "cwd-missing", &child(&["cwd"]), |s| s.workdir = Some(missing.clone()));
    let out = env.orc(["execute", "--task", "cwd-missing"]).code(1);
    assert!(out.stdout.contains("does not exist"), "{}", out.stdout);
    let runs = json_runs(&env, &["history"]);
    let by_task = |t: &str| runs.iter().find(|r| r["task"] == t).unwrap().clone();
    let canon = |p: &str| std::fs::canonicalize(p.trim()).unwrap();
    assert_eq!(
        canon(by_task("cwd-home")["stdout_tail"].as_str().unwrap()),
        canon(&env.home().to_string_lossy())
    );
    assert_eq!(canon(by_task("cwd-task")["stdout_tail"].as_str().unwrap()), canon(&d));
    let m = by_task("cwd-missing");
    assert_eq!(m["status"], "FAILED");
    assert_eq!(m["error"], format!("working directory {missing} does not exist"));
}

/// Task Scheduler starts orc in the home (Start In); a task directory that is missing when
/// the run starts is a FAILED run with its reason, and the failure alert is queued like any
/// other failure (no silent Last Result code).
#[test]
fn a_missing_workdir_is_a_failed_run_with_an_alert() {
    let env = Env::new();
    crate::support::mail_seed::set_config(
        &env,
        &[
            ("smtp.host", "127.0.0.1"),
            ("smtp.port", "9"),
            ("smtp.tls", "none"),
            ("smtp.timeout", "2s"),
            ("mail.from", "orc@example.com"),
            ("mail.to", "ops@example.com"),
        ],
    );
    let gone = env.root().join("share").join("gone").to_string_lossy().into_owned();
    add_task(&env, "nodir", &child(&["exit", "0"]), |s| s.workdir = Some(gone.clone()));
    env.orc(["execute", "--task", "nodir"]).code(1);
    let r = &json_runs(&env, &["history"])[0];
    assert_eq!(
        (r["status"].as_str(), r["error"].as_str()),
        (Some("FAILED"), Some(format!("working directory {gone} does not exist").as_str()))
    );
    let alerts = crate::support::mail_seed::outbox(&env);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].1.starts_with("[orc] FAILED nodir"), "{alerts:?}");
}

#[test]
fn a_missing_credential_stops_the_run_before_it_starts() {
    let env = Env::new();
    add_task(&env, "sec", &child(&["touch", &scratch(&env, "ran")]), |s| {
        s.secret_env.insert("DB_PASSWORD".into(), "db-password".into());
    });
    let out = env.orc(["execute", "--task", "sec"]).code(6);
    assert!(out.stdout.contains("secrets unavailable"), "{}", out.stdout);
    assert!(out.stdout.contains("db-password"), "names the credential: {}", out.stdout);
    assert!(!env.root().join("ran").exists(), "the task must not run without its secrets");
    let r = &rows(&env)[0];
    assert_eq!(r.1, "FAILED");
}

#[test]
fn secret_env_reaches_only_the_child_and_is_redacted_from_what_orc_keeps() {
    let env = Env::new();
    let canary = format!("CANARY-{}", std::process::id());
    env.orc_with_stdin(
        ["credential", "set", "db-password", "--from-stdin"],
        Some(canary.as_bytes()),
    )
    .ok();
    add_task(&env, "sec", &child(&["env", "DB_PASSWORD"]), |s| {
        s.secret_env.insert("DB_PASSWORD".into(), "db-password".into());
    });
    env.orc(["execute", "--task", "sec"]).ok();
    let runs = json_runs(&env, &["history", "--task", "sec"]);
    let tail = runs[0]["stdout_tail"].as_str().unwrap();
    // The child saw a value (the JSON it printed has a string, not null) ...
    assert!(tail.contains("\"DB_PASSWORD\":\""), "{tail}");
    // ... and orc stored only the masked form.
    assert!(!tail.contains(&canary), "{tail}");
    let mut everything = env.db_bytes();
    for entry in std::fs::read_dir(env.home().join("runs")).unwrap() {
        everything.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let needle = canary.as_bytes();
    assert!(
        !everything.windows(needle.len()).any(|w| w == needle),
        "the secret leaked into the database or the run log"
    );
}

#[test]
fn missing_program_fails_with_a_clear_error() {
    let env = Env::new();
    add_task(&env, "nop", "no-such-program-for-orc-tests --flag", |_| {});
    let out = env.orc(["execute", "--task", "nop"]).code(1);
    assert!(out.stdout.contains("not found"), "{}", out.stdout);
}

#[test]
fn retries_with_backoff_are_recorded_per_attempt() {
    let env = Env::new();
    let counter = scratch(&env, "count");
    add_task(&env, "flaky", &child(&["count", &counter, "exit", "3"]), |s| {
        s.retries = 2;
        s.retry_delay = 1;
        s.backoff = orc::task::Backoff::Exponential;
    });
    let t = Instant::now();
    let out = env.orc(["execute", "--task", "flaky"]).code(3);
    let elapsed = t.elapsed();
    assert_eq!(count(&counter), 3);
    assert!(out.stdout.contains("retrying in"), "{}", out.stdout);
    // 1 s then 2 s (±10 %).
    assert!(elapsed >= Duration::from_millis(2700), "{elapsed:?}");
    let r = rows(&env);
    assert_eq!(r.len(), 3);
    let shape: Vec<(String, i64, String)> =
        r.iter().map(|x| (x.1.clone(), x.2, x.3.clone())).collect();
    assert_eq!(
        shape,
        [
            ("FAILED".into(), 1, "manual".into()),
            ("FAILED".into(), 2, "retry".into()),
            ("FAILED".into(), 3, "retry".into()),
        ]
    );
    // The gaps between attempts follow the backoff.
    let c = db(&env);
    let starts: Vec<String> = c
        .prepare("SELECT start FROM runs ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let t: Vec<chrono::DateTime<chrono::Utc>> = starts.iter().map(|s| s.parse().unwrap()).collect();
    let gap1 = (t[1] - t[0]).num_milliseconds();
    let gap2 = (t[2] - t[1]).num_milliseconds();
    assert!(gap1 >= 900 && gap2 >= 1800 && gap2 > gap1, "gaps {gap1} {gap2}");
}

#[test]
fn retry_succeeds_on_a_later_attempt_and_retry_on_filters() {
    let env = Env::new();
    let counter = scratch(&env, "c1");
    add_task(&env, "second-time", &child(&["fail-until", &counter, "2", "75"]), |s| {
        s.retries = 3;
        s.retry_delay = 0;
        s.retry_on = vec![75];
    });
    let out = env.orc(["execute", "--task", "second-time"]).ok();
    assert!(out.stdout.contains("SUCCESS after 2 attempts"), "{}", out.stdout);
    let counter2 = scratch(&env, "c2");
    add_task(&env, "not-retried", &child(&["count", &counter2, "exit", "4"]), |s| {
        s.retries = 3;
        s.retry_delay = 0;
        s.retry_on = vec![75];
    });
    env.orc(["execute", "--task", "not-retried"]).code(4);
    assert_eq!(count(&counter2), 1, "exit 4 is not in retry_on");
}

#[test]
fn sixteen_simultaneous_scheduled_starts_run_the_slot_once() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T09:00:20");
    let counter = scratch(&env, "counter");
    add_task(&env, "once", &child(&["count", &counter, "sleep", "200"]), |s| {
        s.schedule = "0 9 * * *".into();
    });
    let children: Vec<_> = (0..16).map(|_| start_scheduled(&env, "once", None)).collect();
    let claimed = count_claimed(children, "already claimed");
    assert_eq!(count(&counter), 1, "the command ran exactly once");
    assert_eq!(claimed, 15);
    let r = rows(&env);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].3, "scheduled");
    let slot = r[0].4.clone().unwrap();
    assert!(slot.starts_with("2026-03-02T09:00"), "{slot}");
    // A later start for the same slot does nothing either.
    env.orc(["execute", "--task", "once", "--scheduled"]).ok();
    assert_eq!(count(&counter), 1);
}

#[test]
fn scheduled_starts_outside_the_tolerance_record_nothing() {
    let mut env = Env::new();
    let counter = scratch(&env, "c");
    add_task(&env, "nine", &child(&["count", &counter]), |s| s.schedule = "0 9 * * *".into());
    env.set_env("ORC_NOW", "2026-03-02T09:30:00");
    let out = env.orc(["execute", "--task", "nine", "--scheduled"]).ok();
    assert!(out.stdout.is_empty(), "quiet: {}", out.stdout);
    assert!(rows(&env).is_empty());
    // Within the tolerance: runs (late).
    let mut env2 = Env::new();
    env2.set_env("ORC_NOW", "2026-03-02T09:09:00");
    let c2 = scratch(&env2, "c");
    add_task(&env2, "nine", &child(&["count", &c2]), |s| s.schedule = "0 9 * * *".into());
    env2.orc(["execute", "--task", "nine", "--scheduled"]).ok();
    assert_eq!(count(&c2), 1);
    // Catch-up once: the latest missed slot only, however late.
    let mut env3 = Env::new();
    env3.set_env("ORC_NOW", "2026-03-05T08:00:00");
    let c3 = scratch(&env3, "c");
    add_task(&env3, "nine", &child(&["count", &c3]), |s| {
        s.schedule = "0 9 * * *".into();
        s.catch_up = orc::task::CatchUp::Once;
    });
    env3.orc(["execute", "--task", "nine", "--scheduled"]).ok();
    env3.orc(["execute", "--task", "nine", "--scheduled"]).ok();
    assert_eq!(count(&c3), 1);
    assert!(rows(&env3)[0].4.as_deref().unwrap().starts_with("2026-03-04T09:00"));
}

#[test]
fn disabled_tasks_are_not_run_by_the_scheduler_but_run_manually() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T09:00:00");
    let counter = scratch(&env, "c");
    add_task(&env, "off", &child(&["count", &counter]), |s| s.enabled = false);
    let out = env.orc(["execute", "--task", "off", "--scheduled"]).ok();
    assert!(out.stdout.contains("disabled"), "{}", out.stdout);
    assert_eq!(count(&counter), 0);
    let out = env.orc(["execute", "--task", "off"]).ok();
    assert!(out.stdout.contains("disabled"), "{}", out.stdout);
    assert_eq!(count(&counter), 1);
}

/// Starts `orc execute --task NAME` in the background and waits for its RUNNING row.
fn start_background(env: &Env, name: &str, pidfile: &str) -> std::process::Child {
    let mut c = env.command();
    c.args(["execute", "--task", name]);
    c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let child = crate::support::spawn(&mut c);
    wait_for(Duration::from_secs(20), "the first run to start", || {
        std::path::Path::new(pidfile).exists()
    });
    child
}

#[test]
fn overlap_skip_records_skipped() {
    let env = Env::new();
    let pid = scratch(&env, "p1");
    add_task(&env, "long", &child(&["pidfile", &pid, "sleep", "3000"]), |_| {});
    let mut first = start_background(&env, "long", &pid);
    let out = env.orc(["execute", "--task", "long"]).ok();
    assert!(out.stdout.contains("SKIPPED"), "{}", out.stdout);
    let r = rows(&env);
    let first_id = r[0].0;
    assert_eq!(r[1].1, "SKIPPED");
    assert_eq!(
        r[1].6.as_deref(),
        Some(format!("previous run {first_id} still running (overlap skip)").as_str())
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn overlap_queue_waits_then_runs() {
    let env = Env::new();
    let pid = scratch(&env, "p1");
    let marks = scratch(&env, "marks");
    add_task(&env, "q", &child(&["pidfile", &pid, "sleep", "1500", "count", &marks]), |s| {
        s.overlap = orc::task::Overlap::Queue;
    });
    let mut first = start_background(&env, "q", &pid);
    let t = Instant::now();
    let out = env.orc(["execute", "--task", "q"]).ok();
    assert!(out.stdout.contains("waiting for it"), "{}", out.stdout);
    assert!(first.wait().unwrap().success());
    assert!(t.elapsed() >= Duration::from_millis(1500), "the second waited for the first");
    assert_eq!(count(&marks), 2);
    let r = rows(&env);
    assert!(r.iter().all(|x| x.1 == "SUCCESS"), "{r:?}");
}

#[test]
fn overlap_parallel_runs_alongside() {
    let env = Env::new();
    let pid = scratch(&env, "p1");
    let pid2 = scratch(&env, "p2");
    add_task(&env, "par", &child(&["pidfile", &pid, "sleep", "2000"]), |s| {
        s.overlap = orc::task::Overlap::Parallel;
    });
    let mut first = start_background(&env, "par", &pid);
    add_task(&env, "par", &child(&["pidfile", &pid2]), |s| {
        s.overlap = orc::task::Overlap::Parallel;
    });
    env.orc(["execute", "--task", "par"]).ok();
    // The second finished while the first was still running.
    let c = db(&env);
    let running: i64 = c
        .query_row("SELECT count(*) FROM runs WHERE status = 'RUNNING'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(running, 1);
    assert!(first.wait().unwrap().success());
}

#[test]
fn killing_orc_mid_run_leaves_no_process_and_an_abandoned_row() {
    let env = Env::new();
    let cpid = scratch(&env, "child.pid");
    let gpid = scratch(&env, "grandchild.pid");
    add_task(
        &env,
        "victim",
        &child(&["grandchild", &gpid, "60000", "pidfile", &cpid, "sleep", "60000"]),
        |_| {},
    );
    let mut orc_proc = env.command();
    orc_proc.args(["execute", "--task", "victim"]);
    orc_proc.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut orc_proc = crate::support::spawn(&mut orc_proc);
    wait_for(Duration::from_secs(20), "child and grandchild", || {
        std::path::Path::new(&cpid).exists() && std::path::Path::new(&gpid).exists()
    });
    let (c, g) = (read_pid(&cpid), read_pid(&gpid));
    assert!(alive(c) && alive(g));
    orc_proc.kill().unwrap(); // SIGKILL / TerminateProcess: no chance to clean up
    orc_proc.wait().unwrap();
    // The job (Windows) or the watchdog (Unix) takes the whole tree.
    wait_for(Duration::from_secs(2), "child and grandchild to die", || !alive(c) && !alive(g));
    let r = rows(&env);
    assert_eq!(r[0].1, "RUNNING", "nothing could record the end");
    let out = env.orc(["status"]).ok();
    assert!(out.stdout.contains("marked ABANDONED"), "{}", out.stdout);
    let r = rows(&env);
    assert_eq!(r[0].1, "ABANDONED");
    let err = r[0].6.clone().unwrap();
    assert!(err.contains("is gone") && err.contains(&c.to_string()), "{err}");
}

#[test]
fn next_execute_reaps_a_stale_lease_and_runs() {
    let env = Env::new();
    let counter = scratch(&env, "c");
    add_task(&env, "lease", &child(&["count", &counter]), |_| {});
    // A RUNNING row whose owner cannot be alive (pid of a finished process).
    let dead = crate::support::spawn(&mut std::process::Command::new(crate::support::helper_exe(
        "orc_test_child",
    )));
    let dead_pid = dead.id();
    let mut dead = dead;
    dead.wait().unwrap();
    let host = orc::exec::runs::hostname();
    db(&env)
        .execute(
            "INSERT INTO runs (task, attempt, trigger, status, start, pid, pid_started, host, orc_version)
             VALUES ('lease', 1, 'manual', 'RUNNING', '2026-01-01T00:00:00.000Z', ?1, 'gone', ?2, '0')",
            orc::store::sql::params![dead_pid, host],
        )
        .unwrap();
    env.orc(["execute", "--task", "lease"]).ok();
    assert_eq!(count(&counter), 1, "the stale lease did not block the run (overlap skip)");
    let r = rows(&env);
    assert_eq!(r[0].1, "ABANDONED");
    assert_eq!(r[1].1, "SUCCESS");
}

#[test]
fn timeout_kills_the_tree_even_when_a_grandchild_holds_stdout() {
    let env = Env::new();
    let cpid = scratch(&env, "c.pid");
    let gpid = scratch(&env, "g.pid");
    add_task(
        &env,
        "slow",
        &child(&[
            "print",
            "started",
            "grandchild",
            &gpid,
            "600000",
            "pidfile",
            &cpid,
            "ignore-term",
            "sleep",
            "600000",
        ]),
        |s| s.timeout = Some(2),
    );
    let t = Instant::now();
    let out = env.orc(["execute", "--task", "slow", "--kill-grace", "1"]).code(124);
    let elapsed = t.elapsed();
    // timeout + grace + 2 s.
    assert!(elapsed < Duration::from_secs(2 + 1 + 2), "took {elapsed:?}");
    assert!(out.stdout.contains("TIMEOUT"), "{}", out.stdout);
    let (c, g) = (read_pid(&cpid), read_pid(&gpid));
    wait_for(Duration::from_secs(2), "no descendant survives", || !alive(c) && !alive(g));
    let runs = json_runs(&env, &["history"]);
    assert_eq!(runs[0]["status"], "TIMEOUT");
    assert_eq!(runs[0]["killed_by_timeout"], true);
    assert!(
        runs[0]["error"].as_str().unwrap().starts_with("killed after timeout 2s"),
        "{}",
        runs[0]
    );
    assert_eq!(runs[0]["stdout_tail"], "started\n");
}

#[cfg(unix)]
#[test]
fn timeout_of_a_shell_waiting_on_a_background_sleep() {
    let env = Env::new();
    add_task(&env, "shwait", "sleep 600 & echo started; wait", |s| {
        s.shell = orc::task::Shell::Sh;
        s.timeout = Some(1);
    });
    let t = Instant::now();
    env.orc(["execute", "--task", "shwait"]).code(124);
    assert!(t.elapsed() < Duration::from_secs(1 + 5 + 2), "{:?}", t.elapsed());
    let runs = json_runs(&env, &["history"]);
    assert_eq!(runs[0]["stdout_tail"], "started\n");
}

#[test]
fn leftovers_of_a_finished_task_are_killed() {
    let env = Env::new();
    let gpid = scratch(&env, "g.pid");
    add_task(&env, "leaves", &child(&["grandchild", &gpid, "60000", "print", "done"]), |_| {});
    let t = Instant::now();
    env.orc(["execute", "--task", "leaves"]).ok();
    assert!(t.elapsed() < Duration::from_secs(10), "orc did not wait for the grandchild");
    let g = read_pid(&gpid);
    wait_for(Duration::from_secs(2), "the grandchild to be killed", || !alive(g));
}

#[test]
fn spill_file_holds_the_full_output_and_history_log_prints_it() {
    let env = Env::new();
    add_task(&env, "big", &child(&["out", "300000", "print", "THE-END"]), |_| {});
    env.orc(["execute", "--task", "big"]).ok();
    let runs = json_runs(&env, &["history"]);
    let r = &runs[0];
    assert_eq!(r["stdout_bytes"], 300_008);
    assert_eq!(r["truncated"], true);
    let file = r["output_file"].as_str().unwrap().to_string();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 300_008);
    let id = r["id"].to_string();
    let log = env.orc(["history", "--run", &id, "--log"]).ok();
    assert_eq!(log.stdout.len(), 300_008);
    assert!(log.stdout.ends_with("THE-END\n"));
    let show = env.orc(["history", "--run", &id]).ok();
    assert!(
        show.stdout.contains("bytes not kept"),
        "{}",
        &show.stdout[..200.min(show.stdout.len())]
    );
}

#[test]
fn a_result_the_database_refuses_goes_to_the_fallback_log() {
    let env = Env::new();
    add_task(&env, "fb", &child(&["print", "important"]), |_| {});
    // Inject a storage fault on the final write only.
    db(&env)
        .execute_batch(
            "CREATE TRIGGER refuse_final BEFORE UPDATE OF status ON runs
             WHEN NEW.status != 'RUNNING'
             BEGIN SELECT RAISE(FAIL, 'injected storage fault'); END;",
        )
        .unwrap();
    let out = env.orc(["execute", "--task", "fb"]).code(5);
    assert!(out.stderr.contains("fallback.log"), "{}", out.stderr);
    let log = std::fs::read_to_string(env.home().join("logs").join("fallback.log")).unwrap();
    let line: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(line["task"], "fb");
    assert_eq!(line["status"], "SUCCESS");
    assert_eq!(line["exit_code"], 0);
    assert_eq!(line["stdout_tail"], "important\n");
    assert!(line["db_error"].as_str().unwrap().contains("injected"), "{line}");
    assert_eq!(integrity(&env.db()), "ok");
}

/// Arguments with quotes, backslashes and shell metacharacters reach the program exactly,
/// and nothing in them is executed.
#[test]
fn arguments_pass_exactly_and_nothing_is_injected() {
    let env = Env::new();
    let canary = scratch(&env, "canary");
    let exe = crate::support::helper_exe("orc_test_child").to_string_lossy().into_owned();
    let nasty: Vec<String> = vec![
        "a\"b".into(),
        "back\\slash".into(),
        "trailing\\".into(),
        "&|^%!<>".into(),
        "%PATH%".into(),
        format!("$(touch {canary})"),
        format!("`touch {canary}`"),
        format!("; touch {canary}"),
        format!("& echo x > {canary}"),
        "two words".into(),
        "cr\r\nlf".into(),
    ];
    let mut cases: Vec<(orc::task::Shell, String)> = Vec::new();
    if cfg!(unix) {
        // shell none: POSIX-style quoting, no expansion at all.
        let words: Vec<String> =
            nasty.iter().map(|w| format!("'{}'", w.replace('\'', "'\\''"))).collect();
        cases.push((orc::task::Shell::None, format!("'{exe}' args {}", words.join(" "))));
        // sh: the same string is shell code, and quoted words stay words.
        cases.push((orc::task::Shell::Sh, format!("'{exe}' args {}", words.join(" "))));
    } else {
        // shell none: Windows (CommandLineToArgvW) quoting.
        let words: Vec<String> = nasty.iter().map(|w| windows_quote(w)).collect();
        cases.push((orc::task::Shell::None, format!("\"{exe}\" args {}", words.join(" "))));
    }
    for (i, (shell, command)) in cases.into_iter().enumerate() {
        let name = format!("inject{i}");
        add_task(&env, &name, &command, |s| s.shell = shell);
        env.orc(["execute", "--task", &name]).ok();
        let runs = json_runs(&env, &["history", "--task", &name]);
        let got: Vec<String> =
            serde_json::from_str(runs[0]["stdout_tail"].as_str().unwrap()).unwrap();
        assert_eq!(got, nasty, "{shell:?}");
        assert!(!std::path::Path::new(&canary).exists(), "{shell:?} ran an injected command");
    }
}

fn windows_quote(w: &str) -> String {
    let mut s = String::from("\"");
    let mut backslashes = 0;
    for c in w.chars() {
        if c == '\\' {
            backslashes += 1;
            continue;
        }
        if c == '"' {
            s.push_str(&"\\".repeat(backslashes * 2 + 1));
        } else {
            s.push_str(&"\\".repeat(backslashes));
        }
        backslashes = 0;
        s.push(c);
    }
    s.push_str(&"\\".repeat(backslashes * 2));
    s.push('"');
    s
}

#[cfg(windows)]
#[test]
fn cmd_shell_sees_the_command_as_typed() {
    let env = Env::new();
    let canary = scratch(&env, "canary");
    let exe = crate::support::helper_exe("orc_test_child").to_string_lossy().into_owned();
    let command = format!("\"{exe}\" args \"a&b\" \"c|d\" \"%%NOPE%%\" \"x^y\" & exit /b 0");
    add_task(&env, "cmdq", &command, |s| s.shell = orc::task::Shell::Cmd);
    env.orc(["execute", "--task", "cmdq"]).ok();
    let runs = json_runs(&env, &["history", "--task", "cmdq"]);
    let got: Vec<String> =
        serde_json::from_str(runs[0]["stdout_tail"].as_str().unwrap().trim()).unwrap();
    assert_eq!(got[0], "a&b");
    assert_eq!(got[1], "c|d");
    assert!(!std::path::Path::new(&canary).exists());
}

#[cfg(windows)]
#[test]
fn batch_files_get_exact_arguments_or_are_refused() {
    let env = Env::new();
    let canary = scratch(&env, "canary");
    let bat = env.root().join("echo.bat");
    std::fs::write(&bat, "@echo %*\r\n").unwrap();
    let command = format!("\"{}\" \"a&echo x>{canary}\"", bat.display());
    add_task(&env, "bat", &command, |_| {});
    let out = env.orc(["execute", "--task", "bat"]);
    assert!(!std::path::Path::new(&canary).exists(), "injected through a .bat: {out:?}");
    if out.code != 0 {
        assert!(out.stdout.contains("cannot be passed safely"), "{out:?}");
    }
}

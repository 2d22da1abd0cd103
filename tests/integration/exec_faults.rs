//! Heavy executor tests (docs/design/reliability.md §6): execute storm, output flood, crash fuzz. The
//! normal suite runs scaled-down versions; the full sizes are `#[ignore]`d and run by the full
//! test script (`--include-ignored`).

#![allow(clippy::print_stderr, clippy::type_complexity)] // measurements are reported on stderr

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::Env;
use crate::support::exec::*;

/// Test 1: `runs` executions, `concurrency` at a time, on one database, while backups run.
fn storm(runs: usize, concurrency: usize) {
    let env = Env::new();
    add_task(&env, "storm", &child(&["print", "x"]), |s| s.overlap = orc::task::Overlap::Parallel);
    let started = Instant::now();
    let backups_dir = env.root().join("backups");
    std::fs::create_dir(&backups_dir).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let backup_thread = {
        let stop = stop.clone();
        let cmd_env = env.command();
        let dir = backups_dir.clone();
        let program = cmd_env.get_program().to_owned();
        let envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)> =
            cmd_env.get_envs().map(|(k, v)| (k.to_owned(), v.map(|v| v.to_owned()))).collect();
        std::thread::spawn(move || {
            let mut n = 0;
            let mut codes = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut c = std::process::Command::new(&program);
                for (k, v) in &envs {
                    match v {
                        Some(v) => c.env(k, v),
                        None => c.env_remove(k),
                    };
                }
                let file = dir.join(format!("b{n}.db"));
                c.args(["db", "backup"]).arg(&file).stdout(Stdio::null()).stderr(Stdio::null());
                codes.push(crate::support::spawn(&mut c).wait().unwrap().code());
                n += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            codes
        })
    };
    let mut failures = Vec::new();
    let mut latencies = Vec::new();
    let mut pending: Vec<(Instant, std::process::Child)> = Vec::new();
    let mut launched = 0;
    while launched < runs || !pending.is_empty() {
        while launched < runs && pending.len() < concurrency {
            let mut c = env.command();
            c.args(["execute", "--task", "storm"]).stdout(Stdio::piped()).stderr(Stdio::piped());
            pending.push((Instant::now(), crate::support::spawn(&mut c)));
            launched += 1;
        }
        let mut i = 0;
        while i < pending.len() {
            if let Some(status) = pending[i].1.try_wait().unwrap() {
                let (t, mut child) = pending.swap_remove(i);
                latencies.push(t.elapsed());
                if !status.success() {
                    let (mut out, mut err) = (String::new(), String::new());
                    use std::io::Read;
                    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
                    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
                    failures.push(format!("{status}: stdout: {out} stderr: {err}"));
                }
            } else {
                i += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let backup_codes = backup_thread.join().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed invocations: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    let r = rows(&env);
    assert_eq!(r.len(), runs);
    assert!(r.iter().all(|x| x.1 == "SUCCESS"), "every row final and successful");
    assert_eq!(integrity(&env.db()), "ok");
    assert!(backup_codes.iter().all(|c| *c == Some(0)), "backups: {backup_codes:?}");
    for entry in std::fs::read_dir(&backups_dir).unwrap() {
        assert_eq!(integrity(&entry.unwrap().path()), "ok");
    }
    latencies.sort();
    let p99 = latencies[(latencies.len() * 99 / 100).min(latencies.len() - 1)];
    eprintln!(
        "storm: {runs} runs x{concurrency}: {:?} total, p50 {:?}, p99 {:?}, {} backups",
        started.elapsed(),
        latencies[latencies.len() / 2],
        p99,
        backup_codes.len()
    );
}

#[test]
fn execute_storm_200_by_16() {
    storm(200, 16);
}

#[test]
#[ignore = "full size (1000 x 64): run by scripts/test.sh with --include-ignored"]
fn execute_storm_1000_by_64() {
    storm(1000, 64);
}

/// Peak resident memory of a process, from `/proc/<pid>/status` (Linux).
#[cfg(target_os = "linux")]
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Test 6: an output flood; peak RSS of orc, stored caps, exact byte counts.
fn flood(per_stream: u64) {
    let env = Env::new();
    add_task(&env, "flood", &child(&["flood", &per_stream.to_string(), "print", "END"]), |s| {
        s.timeout = Some(600);
    });
    let mut c = env.command();
    c.args(["execute", "--task", "flood"]).stdout(Stdio::null()).stderr(Stdio::piped());
    let mut proc = crate::support::spawn(&mut c);
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
    let mut peak_kib = 0u64;
    let status = loop {
        #[cfg(target_os = "linux")]
        if let Some(k) = vm_hwm_kib(proc.id()) {
            peak_kib = peak_kib.max(k);
        }
        if let Some(s) = proc.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "{status}");
    if cfg!(target_os = "linux") {
        assert!(peak_kib > 0, "VmHWM was read");
        assert!(peak_kib < 64 * 1024, "orc peak RSS {peak_kib} KiB");
        eprintln!("flood {per_stream} bytes per stream: orc peak RSS {peak_kib} KiB");
    }
    let conn = db(&env);
    let (out_bytes, err_bytes, oh, ot, eh, et, file): (i64, i64, Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, String) = conn
        .query_row(
            "SELECT stdout_bytes, stderr_bytes, stdout_head, stdout_tail, stderr_head, stderr_tail, output_file FROM runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    assert_eq!(out_bytes as u64, per_stream + 4, "exact stdout count");
    assert_eq!(err_bytes as u64, per_stream, "exact stderr count");
    assert_eq!(oh.len(), 64 * 1024);
    assert_eq!(ot.len(), 64 * 1024);
    assert_eq!(eh.len(), 64 * 1024);
    assert_eq!(et.len(), 64 * 1024);
    assert!(ot.ends_with(b"xxxEND\n"));
    assert!(oh.iter().all(|b| *b == b'x') && eh.iter().all(|b| *b == b'y'));
    let spill = std::fs::metadata(&file).unwrap().len();
    assert!(spill <= 50 * 1024 * 1024 + 200, "spill capped: {spill}");
    let runs = env.orc(["--json", "history"]).json();
    assert_eq!(runs[0]["truncated"], true);
}

#[test]
fn output_flood_200mb() {
    flood(100_000_000);
}

#[test]
#[ignore = "full size (2 GB): run by scripts/test.sh with --include-ignored"]
fn output_flood_2gb() {
    flood(1_000_000_000);
}

/// Test 10: kill orc at random moments during claim, run and record.
fn crash_fuzz(iterations: u32) {
    let env = Env::new();
    add_task(&env, "fuzz", &child(&["sleep", "60", "print", "x"]), |s| {
        s.schedule = "* * * * *".into()
    });
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    let mut rand = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for i in 0..iterations {
        // Every slot is attempted twice: the first start may be killed anywhere (before the
        // claim, between claim and run, mid-run, while recording); the second must never run
        // a slot that the first claimed.
        let m = i / 2;
        let mut c = env.command();
        c.env(
            "ORC_NOW",
            format!("2026-05-{:02}T{:02}:{:02}:05", 1 + m / 1440, m / 60 % 24, m % 60),
        );
        c.args(["execute", "--task", "fuzz", "--scheduled"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut p = crate::support::spawn(&mut c);
        std::thread::sleep(Duration::from_millis(rand(200)));
        let _ = p.kill();
        p.wait().unwrap();
    }
    // Let watchdogs finish, then reap.
    std::thread::sleep(Duration::from_millis(300));
    env.orc(["status"]).ok();
    assert_eq!(integrity(&env.db()), "ok");
    let conn = db(&env);
    let mut stmt =
        conn.prepare("SELECT id, status, \"end\", duration_ms, slot, attempt FROM runs").unwrap();
    let all: Vec<(i64, String, Option<String>, Option<i64>, Option<String>, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (id, status, end, duration, slot, attempt) in &all {
        assert_ne!(status, "RUNNING", "run {id} left RUNNING after status reaped");
        assert!(end.is_some() && duration.is_some(), "final run {id} without end: {status}");
        assert!(slot.is_some(), "scheduled runs carry their slot");
        assert_eq!(*attempt, 1);
    }
    let mut slots: Vec<&String> = all.iter().filter_map(|r| r.4.as_ref()).collect();
    let n = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), n, "at most one run per slot");
    // Every run is backed by its claim.
    let claims: i64 = conn.query_row("SELECT count(*) FROM slot_claims", [], |r| r.get(0)).unwrap();
    assert!(claims as usize >= n);
    eprintln!("crash fuzz: {iterations} kills, {n} runs recorded, {claims} slots claimed");
}

#[test]
fn crash_fuzz_100() {
    crash_fuzz(100);
}

#[test]
#[ignore = "full size (500 iterations): run by scripts/test.sh with --include-ignored"]
fn crash_fuzz_500() {
    crash_fuzz(500);
}

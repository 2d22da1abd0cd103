//! The main job on Linux, end to end against the machine's real cron daemon and `crontab`
//! (ignored by default; `scripts/test.sh` installs and starts cron and runs it with
//! `--include-ignored`): a task scheduled `* * * * *` is started by cron and recorded with
//! trigger `scheduled`; a second reconcile does not rewrite the crontab; a line the user
//! added by hand survives reconcile and unschedule; unschedule removes only orc's block.

#![cfg(unix)]
#![allow(clippy::print_stderr)] // the skip note and cleanup problems are reported on stderr

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::support::Env;

/// The tests here share the user's one real crontab: one at a time (the others check that a
/// reconcile does not rewrite it).
static REAL_CRONTAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    REAL_CRONTAB.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long cron may take to start the task (it starts jobs at the top of each minute and
/// reads a changed crontab at that moment).
const CRON_WAIT: Duration = Duration::from_secs(70);

/// A running cron daemon that serves this system's crontabs: a `cron` (Debian) or `crond`
/// (cronie) process whose root directory is `/` (one running inside a chroot reads another
/// spool directory and would never start our job).
fn cron_daemon() -> Option<u32> {
    for name in ["cron", "crond"] {
        let Ok(out) = Command::new("pgrep").args(["-x", name]).output() else { continue };
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let Ok(pid) = pid.parse::<u32>() else { continue };
            match std::fs::read_link(format!("/proc/{pid}/root")) {
                Ok(root) if root == Path::new("/") => return Some(pid),
                Ok(_) => continue,
                // No /proc (macOS, BSD): trust pgrep.
                Err(_) if !Path::new("/proc/self").exists() => return Some(pid),
                Err(_) => continue,
            }
        }
    }
    None
}

/// Runs the real crontab.
fn crontab(program: &Path, args: &[&str], stdin: Option<&[u8]>) -> (i32, Vec<u8>, String) {
    use std::io::Write;
    let mut child = Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(data) = stdin {
        child.stdin.take().unwrap().write_all(data).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn read_crontab(program: &Path) -> Vec<u8> {
    let (code, out, err) = crontab(program, &["-l"], None);
    if code != 0 {
        assert!(err.contains("no crontab for"), "crontab -l failed ({code}): {err}");
        return Vec::new();
    }
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Removes orc's block for the test's home and the test's hand-written lines, whatever
/// happens to the test.
struct Cleanup<'a> {
    env: &'a Env,
    crontab: PathBuf,
    marker: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let out = self.env.orc(["unschedule", "--all"]);
        if out.code != 0 {
            eprintln!("cleanup: orc unschedule --all failed: {}", out.stderr);
        }
        let current = read_crontab(&self.crontab);
        let kept: Vec<&[u8]> = current
            .split_inclusive(|b| *b == b'\n')
            .filter(|l| !text(l).contains(&self.marker))
            .collect();
        let kept = kept.concat();
        if kept != current {
            let (code, _, err) = crontab(&self.crontab, &["-"], Some(&kept));
            if code != 0 {
                eprintln!("cleanup: could not remove the test's lines from the crontab: {err}");
            }
        }
    }
}

/// The spool file of the current user's crontab, where the system keeps it.
fn spool_file() -> Option<PathBuf> {
    let user = orc::scheduler::crontab::current_user()?;
    ["/var/spool/cron/crontabs", "/var/spool/cron"]
        .iter()
        .map(|d| Path::new(d).join(&user))
        .find(|p| p.is_file())
}

fn mtime(p: &Option<PathBuf>) -> Option<SystemTime> {
    p.as_ref().and_then(|p| std::fs::metadata(p).ok()).and_then(|m| m.modified().ok())
}

#[test]
#[ignore = "needs a running cron daemon and the real crontab (scripts/test.sh starts cron)"]
fn cron_runs_the_scheduled_task_and_orc_keeps_the_users_lines() {
    let _one = one_at_a_time();
    if cron_daemon().is_none() {
        let msg = "no cron daemon serving this system is running (pgrep -x cron / crond found \
                   none, or only ones inside a chroot, which read another spool directory); \
                   start it with `cron` (Debian/Ubuntu) or `crond` (cronie) — scripts/test.sh \
                   installs and starts it";
        let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
            || std::env::var("ORC_TEST_FULL").is_ok_and(|v| v == "1");
        if required {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
        return;
    }
    // The crontab program: ORC_TEST_CRONTAB (scripts/lib/test-env.sh), else `crontab` on PATH.
    let real = std::env::var_os("ORC_TEST_CRONTAB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| which::which("crontab").expect("the crontab program is not on PATH"));
    let mut env = Env::new();
    env.with_real_crontab();
    env.without_watch_task();
    // A wrapper that logs every call, so "no rewrite" is checked directly.
    let wrapper = env.root().join("crontab-wrapper");
    let calls_log = env.root().join("crontab-calls.log");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            calls_log.display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set_env("ORC_CRONTAB", &wrapper);
    let calls = || std::fs::read_to_string(&calls_log).unwrap_or_default();

    let id = orc::paths::home_id(&env.home());
    let marker = format!("orc-e2e-{id}");
    let _cleanup = Cleanup { env: &env, crontab: real.clone(), marker: marker.clone() };

    // The user's own lines (the job can never fire: there is no 31 February).
    let foreign = format!("# {marker}: a line of the user's\n17 4 31 2 * /bin/true # {marker}\n");
    let mut before = read_crontab(&real);
    if !before.is_empty() && !before.ends_with(b"\n") {
        before.push(b'\n');
    }
    before.extend_from_slice(foreign.as_bytes());
    let (code, _, err) = crontab(&real, &["-"], Some(&before));
    assert_eq!(code, 0, "could not install the test's foreign line: {err}");

    env.orc([
        "task",
        "add",
        "tick",
        "--shell",
        "sh",
        "--command",
        "echo tick from cron",
        "--schedule",
        "* * * * *",
    ])
    .ok();
    env.orc(["schedule", "--all"]).ok();
    let installed = read_crontab(&real);
    let installed_text = text(&installed);
    assert!(installed_text.contains(&format!("# BEGIN orc {id}")), "{installed_text}");
    assert!(installed_text.contains(&foreign), "the user's lines were changed:\n{installed_text}");

    // A second reconcile reads once and does not rewrite anything.
    let spool = spool_file();
    let mtime_before = mtime(&spool);
    let calls_before = calls();
    std::thread::sleep(Duration::from_millis(1100)); // a rewrite would move the mtime
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("0 created, 0 updated, 0 deleted, 1 unchanged"), "{}", out.stdout);
    assert_eq!(
        &calls()[calls_before.len()..],
        "-l\n",
        "the second reconcile called more than `crontab -l`"
    );
    assert_eq!(
        orc::scheduler::cronblock::current_block(&text(&read_crontab(&real)), &id),
        orc::scheduler::cronblock::current_block(&installed_text, &id)
    );
    if spool.is_some() {
        assert_eq!(mtime(&spool), mtime_before, "the crontab file {spool:?} was rewritten");
    }

    // cron starts `orc execute --task tick --scheduled`, which records a scheduled run.
    let deadline = Instant::now() + CRON_WAIT;
    let run = loop {
        let runs = env.orc(["--json", "history", "--task", "tick"]).ok().json();
        let done = runs.as_array().and_then(|a| {
            a.iter().find(|r| r["trigger"] == "scheduled" && r["status"] != "RUNNING").cloned()
        });
        if let Some(run) = done {
            break run;
        }
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(env.home().join("logs").join("cron.log"))
                .unwrap_or_else(|e| format!("(no cron.log: {e})"));
            panic!(
                "cron did not run the task within {} s.\ncrontab:\n{}\ncron.log:\n{log}\nhistory: {runs}",
                CRON_WAIT.as_secs(),
                text(&read_crontab(&real))
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    };
    assert_eq!(run["status"], "SUCCESS", "{run}");
    assert!(
        std::fs::read_to_string(env.home().join("logs").join("cron.log")).unwrap().contains("tick"),
        "cron's output of orc is appended to logs/cron.log"
    );

    // The user's lines are still there after reconciling, and after unscheduling, which
    // removes orc's block and nothing else.
    let now = text(&read_crontab(&real));
    assert!(now.contains(&foreign), "{now}");
    env.orc(["unschedule", "--all"]).ok();
    let after = text(&read_crontab(&real));
    assert!(!after.contains(&format!("orc {id}")), "orc's block is still there:\n{after}");
    assert!(after.contains(&foreign), "{after}");
    let without_block = orc::scheduler::cronblock::splice(&now, &id, None);
    assert_eq!(after, without_block, "unschedule changed more than orc's block");
}

/// issue 12 finding 6: cron itself runs a task whose home and executable paths hold `%` and
/// `\%` (cron cuts a command at an unescaped `%`; orc's quoting must survive cron, then sh).
#[test]
#[ignore = "needs a running cron daemon and the real crontab (scripts/test.sh starts cron)"]
fn cron_runs_a_task_whose_paths_hold_percent_signs() {
    let _one = one_at_a_time();
    if cron_daemon().is_none() {
        let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
            || std::env::var("ORC_TEST_FULL").is_ok_and(|v| v == "1");
        assert!(!required, "no cron daemon serving this system is running");
        eprintln!("SKIPPED: no cron daemon serving this system is running");
        return;
    }
    let real = std::env::var_os("ORC_TEST_CRONTAB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| which::which("crontab").expect("the crontab program is not on PATH"));
    let mut env = Env::new();
    env.with_real_crontab();
    let home = env.root().join("100% \\%d o'k");
    let bin = env.root().join("bin 50%\\%H");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("orc");
    std::fs::copy(crate::support::orc_exe(), &exe).unwrap();
    env.set_env("ORC_HOME", &home);
    env.set_env("ORC_EXE", &exe);
    let id = orc::paths::home_id(&home);
    let _cleanup = Cleanup { env: &env, crontab: real.clone(), marker: format!("orc-e2e-{id}") };
    env.orc([
        "task",
        "add",
        "pct",
        "--shell",
        "sh",
        "--command",
        "true",
        "--schedule",
        "* * * * *",
    ])
    .ok();
    env.orc(["schedule", "--all"]).ok();
    let deadline = Instant::now() + CRON_WAIT;
    loop {
        let runs = env.orc(["--json", "history", "--task", "pct"]).ok().json();
        let done = runs.as_array().and_then(|a| {
            a.iter().find(|r| r["trigger"] == "scheduled" && r["status"] != "RUNNING").cloned()
        });
        if let Some(run) = done {
            assert_eq!(run["status"], "SUCCESS", "{run}");
            break;
        }
        if Instant::now() >= deadline {
            panic!(
                "cron did not run the task within {} s.\ncrontab:\n{}\nhistory: {runs}",
                CRON_WAIT.as_secs(),
                text(&read_crontab(&real))
            );
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let log = std::fs::read_to_string(home.join("logs").join("cron.log")).unwrap();
    assert!(log.contains("pct"), "{log}");
}

/// The real `crontab` accepts the built-in `orc-watch` task's `@reboot` line (it checks every
/// entry it installs), keeps it as written, and a second `orc schedule` does not rewrite it.
#[test]
#[ignore = "needs a running cron daemon and the real crontab (scripts/test.sh starts cron)"]
fn the_real_crontab_keeps_the_watch_tasks_reboot_line() {
    let _one = one_at_a_time();
    let real = std::env::var_os("ORC_TEST_CRONTAB")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| which::which("crontab").expect("the crontab program is not on PATH"));
    let mut env = Env::new();
    env.with_real_crontab();
    env.set_env("ORC_CRONTAB", &real);
    env.orc(["config", "set", "watch.interval", "5m"]).ok();
    let id = orc::paths::home_id(&env.home());
    let _cleanup = Cleanup { env: &env, crontab: real.clone(), marker: format!("orc-e2e-{id}") };
    env.orc(["schedule", "--all"]).ok();
    let installed = text(&read_crontab(&real));
    let block: Vec<&str> = installed
        .lines()
        .skip_while(|l| !l.starts_with(&format!("# BEGIN orc {id}")))
        .take_while(|l| !l.starts_with(&format!("# END orc {id}")))
        .filter(|l| l.contains(" execute --task orc-watch "))
        .collect();
    assert_eq!(block.len(), 2, "{installed}");
    assert!(block[0].starts_with("*/5 * * * * PATH="), "{installed}");
    assert!(block[1].starts_with("@reboot PATH="), "{installed}");
    assert_eq!(block[0]["*/5 * * * *".len()..], block[1]["@reboot".len()..]);
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("0 created, 0 updated, 0 deleted"), "{}", out.stdout);
    assert_eq!(text(&read_crontab(&real)), installed);
}

//! Windows-only behaviour: PowerShell exit codes and Job Object breakaway. The `#[ignore]`d
//! tests need a real Windows (the windows-latest workflow runs them with
//! `cargo test --test integration -- --ignored windows_real`); the others also run under Wine.
#![cfg(windows)]

use crate::support::Env;
use crate::support::exec::{add_task, alive, child, rows, scratch};
use orc::task::Shell;

/// The run's recorded exit code for a PowerShell task running `command`.
fn powershell_exit(shell: Shell, command: &str) -> (i32, Option<i64>) {
    let env = Env::new();
    add_task(&env, "ps", command, |s| s.shell = shell);
    let out = env.orc(["execute", "--task", "ps"]);
    let runs = rows(&env);
    (out.code, runs.last().and_then(|r| r.5))
}

#[test]
#[ignore = "needs Windows PowerShell and pwsh (windows-latest)"]
fn powershell_tasks_report_the_native_exit_code() {
    for shell in [Shell::Powershell, Shell::Pwsh] {
        // A native program's code is not collapsed to 1.
        assert_eq!(powershell_exit(shell, "cmd /c exit 42"), (42, Some(42)), "{shell:?}");
        // A trailing comment does not swallow orc's epilogue.
        assert_eq!(powershell_exit(shell, "cmd /c exit 7 # seven"), (7, Some(7)), "{shell:?}");
        // An explicit exit wins.
        assert_eq!(powershell_exit(shell, "exit 5"), (5, Some(5)), "{shell:?}");
        // A failing cmdlet sets no $LASTEXITCODE: 1.
        let missing = "Get-Item -LiteralPath C:\\no\\such\\file";
        assert_eq!(powershell_exit(shell, missing), (1, Some(1)), "{shell:?}");
        // Success is 0, also after a native program that succeeded.
        assert_eq!(powershell_exit(shell, "cmd /c exit 0; Write-Output ok"), (0, Some(0)));
    }
}

/// Runs a task whose command starts a `CREATE_BREAKAWAY_FROM_JOB` child that sleeps 5 s;
/// returns the task's stdout and the child's pid (when it started).
fn breakaway_run(allow: bool) -> (String, Option<u32>) {
    let env = Env::new();
    let pidfile = scratch(&env, "breakaway.pid");
    add_task(&env, "tree", &child(&["breakaway", &pidfile, "5000"]), |s| {
        s.allow_breakaway = allow;
    });
    env.orc(["execute", "--task", "tree"]).ok();
    let runs = env.orc(["--json", "history", "--task", "tree"]).ok().json();
    let stdout = runs[0]["stdout_tail"].as_str().unwrap_or_default().to_string();
    let pid = std::fs::read_to_string(&pidfile).ok().and_then(|p| p.trim().parse().ok());
    (stdout, pid)
}

/// Runs under Wine too (Wine's job objects enforce `JOB_OBJECT_LIMIT_BREAKAWAY_OK`).
#[test]
fn breakaway_is_refused_by_default_and_allowed_with_the_option() {
    // Default: orc's job does not allow breakaway, so the child cannot even be created
    // outside it (and everything in the job dies when the run ends).
    let (stdout, pid) = breakaway_run(false);
    assert!(stdout.contains("breakaway: refused"), "{stdout}");
    assert_eq!(pid, None);
    // --allow-breakaway: the child is created outside the job.
    let (stdout, pid) = breakaway_run(true);
    assert!(stdout.contains("breakaway: started"), "{stdout}");
    assert!(pid.is_some());
}

/// Wine 8 does not keep a breakaway child alive once the job is closed, so only real Windows
/// can show this.
#[test]
#[ignore = "needs real Windows Job Objects (windows-latest)"]
fn a_breakaway_child_outlives_the_run_when_allowed() {
    let (stdout, pid) = breakaway_run(true);
    assert!(stdout.contains("breakaway: started"), "{stdout}");
    let pid = pid.expect("the breakaway child wrote its pid");
    assert!(alive(pid), "the breakaway child survived the end of the run");
}

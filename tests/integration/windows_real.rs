//! Windows-only behaviour that needs a real Windows (run by the windows-latest workflow with
//! `cargo test --test integration -- --ignored windows_real`): PowerShell exit codes and Job
//! Object breakaway.
#![cfg(windows)]

use crate::exec_support::{add_task, rows};
use crate::support::Env;
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

//! The command line for `--shell powershell` (Windows PowerShell 5.1) and `--shell pwsh`
//! (PowerShell 7+), built so that the task's real exit code reaches orc.
//!
//! With `-Command`, PowerShell sets its own exit code from the success status (`$?`) of the
//! last statement: 0 or 1. A failing native program's exit code (42) collapses to 1
//! (PowerShell/PowerShell#13501, #11461; Microsoft's `about_PowerShell_exe` / `about_Pwsh`: "To
//! preserve the specific exit code, add `exit $LASTEXITCODE`"). orc appends, on a line of its
//! own (so a trailing `# comment` in the command cannot swallow it), an epilogue that runs
//! right after the user's last statement:
//!
//! ```text
//! if (-not $?) { if ($LASTEXITCODE) { exit $LASTEXITCODE } else { exit 1 } }
//! ```
//!
//! * last statement a native program that failed: `$?` is false and `$LASTEXITCODE` holds its
//!   code → that code (42);
//! * last statement a cmdlet that failed (it sets no `$LASTEXITCODE`): 1, as plain `-Command`
//!   gives — unless an earlier native program failed, whose non-zero code is then used (a
//!   failure either way; `$LASTEXITCODE` cannot be told stale from fresh);
//! * success: the epilogue's `if` succeeds, so PowerShell exits 0; an explicit `exit N` in the
//!   command exits with N before the epilogue runs; a terminating error (`throw`) exits 1.
//!
//! Why `-Command` and not a temporary `.ps1` run with `-File` (which passes `exit` codes
//! through): a script file needs a private, writable temporary directory for every account a
//! task runs as, cleanup when orc is killed, an encoding Windows PowerShell 5.1 reads correctly
//! (it reads a BOM-less `.ps1` as the ANSI code page), and it falls under the execution policy
//! (`pwsh` gets no `-ExecutionPolicy`). The epilogue keeps the command a pure argument.

use std::ffi::OsString;

/// The epilogue appended to the command (see the module docs).
pub(super) const EXIT_EPILOGUE: &str =
    "if (-not $?) { if ($LASTEXITCODE) { exit $LASTEXITCODE } else { exit 1 } }";

/// The arguments after the program: `-NoLogo -NoProfile -NonInteractive` (Windows PowerShell
/// also `-ExecutionPolicy Bypass`), then `-Command` and the command with the epilogue.
pub(super) fn args(windows_powershell: bool, command: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> =
        ["-NoLogo", "-NoProfile", "-NonInteractive"].iter().map(OsString::from).collect();
    if windows_powershell {
        args.extend(["-ExecutionPolicy", "Bypass"].iter().map(OsString::from));
    }
    args.push(OsString::from("-Command"));
    args.push(OsString::from(format!("{command}\n{EXIT_EPILOGUE}")));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_powershell_argv_is_exact() {
        assert_eq!(
            args(true, "cmd /c exit 42"),
            [
                "-NoLogo",
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
                "-Command",
                "cmd /c exit 42\nif (-not $?) { if ($LASTEXITCODE) { exit $LASTEXITCODE } else { \
                 exit 1 } }",
            ]
        );
    }

    #[test]
    fn pwsh_argv_is_exact_and_a_trailing_comment_does_not_swallow_the_epilogue() {
        assert_eq!(
            args(false, "Get-Date # now"),
            [
                "-NoLogo",
                "-NoProfile",
                "-NonInteractive",
                "-Command",
                "Get-Date # now\nif (-not $?) { if ($LASTEXITCODE) { exit $LASTEXITCODE } else { \
                 exit 1 } }",
            ]
        );
    }
}

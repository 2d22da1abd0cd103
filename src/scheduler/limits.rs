//! Task Scheduler's length and character limits, each defined once and called from the
//! settings (`scheduler.folder`, `scheduler.prefix` in `config`), the backend
//! ([`super::schtasks::TaskFolder`], [`super::taskxml::build`]) and `orc schedule --validate`.
//!
//! * A task path (`\folder\` + prefix + name) is at most [`MAX_TASK_PATH`] = 238 characters
//!   (Microsoft's schtasks `/TN` documentation; `schtasks.md` §1.4). orc's limits are chosen so
//!   that *every* combination fits: folder ≤ [`MAX_FOLDER`] (158), prefix ≤ [`MAX_PREFIX`] (16),
//!   task name ≤ [`MAX_TASK_NAME`] (64): 158 + 16 + 64 = 238.
//! * Folder components: no `/ : * ? " < > |` or control characters, not empty, not `.`/`..`, no
//!   leading or trailing space, no trailing dot (the Task Scheduler GUI's and
//!   `ITaskFolder::RegisterTask`'s rules, `schtasks.md` §1.4).
//! * The root folder `\` only with a non-empty prefix: it holds Windows' and other programs'
//!   tasks, and orc takes every task directly in its folder with its prefix for its own.
//! * `Exec/Command` (the path of orc.exe) is at most [`MAX_EXEC_COMMAND`] = MAX_PATH − 1 = 259
//!   characters: Task Scheduler starts it with `CreateProcess`, whose module name is limited to
//!   MAX_PATH without long-path opt-in. `Exec/WorkingDirectory` is at most
//!   [`crate::task::validate::MAX_WINDOWS_WORKDIR`] (MAX_PATH − 2, the `SetCurrentDirectory`
//!   documentation: "specify MAX_PATH-2 characters for the path unless you include the trailing
//!   backslash").

use crate::error::{Error, Result};

/// Longest task path (`\folder\prefixname`), in characters.
pub const MAX_TASK_PATH: usize = 238;
/// Longest orc task name (the task-name rule of `task::validate`).
pub const MAX_TASK_NAME: usize = 64;
/// Longest `scheduler.prefix`.
pub const MAX_PREFIX: usize = 16;
/// Longest `scheduler.folder`, leading and trailing `\` included.
pub const MAX_FOLDER: usize = MAX_TASK_PATH - MAX_PREFIX - MAX_TASK_NAME;
/// Longest `Exec/Command`: the path of orc.exe (MAX_PATH − 1).
pub const MAX_EXEC_COMMAND: usize = 259;

/// The `scheduler.folder` rule, as shown to users.
pub const FOLDER_RULE: &str = "a Task Scheduler folder that starts and ends with \\ (\\ alone is \
     the root folder, which needs a prefix), at most 158 characters, no /, no empty, . or .. \
     parts, no part with a leading or trailing space or a trailing dot, none of < > : \" | ? * \
     or control characters";
/// The `scheduler.prefix` rule, as shown to users.
pub const PREFIX_RULE: &str = "0 to 16 characters from A-Z a-z 0-9 . _ -";

/// Checks a folder in its canonical form (`\` or `\A\B\`); `Err` carries [`FOLDER_RULE`].
pub fn check_folder(folder: &str) -> std::result::Result<(), &'static str> {
    if folder.chars().count() > MAX_FOLDER || !folder.starts_with('\\') || !folder.ends_with('\\') {
        return Err(FOLDER_RULE);
    }
    if folder
        .chars()
        .any(|c| c.is_control() || matches!(c, '/' | '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Err(FOLDER_RULE);
    }
    if folder == "\\" {
        return Ok(());
    }
    let inner = &folder[1..folder.len() - 1];
    let bad_part =
        |p: &str| p.is_empty() || p == "." || p == ".." || p.ends_with('.') || p.trim() != p;
    if inner.split('\\').any(bad_part) { Err(FOLDER_RULE) } else { Ok(()) }
}

/// Checks a prefix; `Err` carries [`PREFIX_RULE`].
pub fn check_prefix(prefix: &str) -> std::result::Result<(), &'static str> {
    let chars_ok =
        prefix.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if prefix.len() <= MAX_PREFIX && chars_ok { Ok(()) } else { Err(PREFIX_RULE) }
}

/// The rule that ties the two settings together: the root folder needs a prefix.
pub fn check_folder_and_prefix(folder: &str, prefix: &str) -> Result<()> {
    if folder == "\\" && prefix.is_empty() {
        return Err(Error::invalid(
            "scheduler.prefix",
            prefix,
            "with scheduler.folder \\ (the root folder) the prefix cannot be empty: orc would \
             take every task in the root folder for its own",
        ));
    }
    Ok(())
}

/// A task path (`\Orchestrator\Orc_x`) is at most [`MAX_TASK_PATH`] characters.
pub fn check_task_path(path: &str) -> Result<()> {
    let n = path.chars().count();
    if n > MAX_TASK_PATH {
        return Err(Error::invalid(
            "task path",
            path,
            format!("is {n} characters long; Task Scheduler allows at most {MAX_TASK_PATH}"),
        ));
    }
    Ok(())
}

/// `Exec/Command` (unquoted) and `Exec/WorkingDirectory` lengths.
pub fn check_exec(command: &str, workdir: &str) -> Result<()> {
    let n = command.chars().count();
    if n > MAX_EXEC_COMMAND {
        return Err(Error::invalid(
            "orc executable",
            command,
            format!(
                "the path is {n} characters long; Task Scheduler starts at most \
                 {MAX_EXEC_COMMAND} (MAX_PATH - 1)"
            ),
        ));
    }
    let max = crate::task::validate::MAX_WINDOWS_WORKDIR;
    let n = workdir.encode_utf16().count();
    if n > max {
        return Err(Error::invalid(
            "working directory",
            workdir,
            format!(
                "the path is {n} characters long; a process's working directory is at most \
                 {max} (MAX_PATH - 2)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_settings_and_name_make_the_longest_path() {
        assert_eq!(MAX_FOLDER + MAX_PREFIX + MAX_TASK_NAME, MAX_TASK_PATH);
        let folder = format!("\\{}\\", "f".repeat(MAX_FOLDER - 2));
        assert_eq!(check_folder(&folder), Ok(()));
        assert_eq!(check_folder(&format!("\\{}\\", "f".repeat(MAX_FOLDER - 1))), Err(FOLDER_RULE));
        assert_eq!(check_prefix(&"p".repeat(16)), Ok(()));
        assert_eq!(check_prefix(&"p".repeat(17)), Err(PREFIX_RULE));
        let path = format!("{folder}{}{}", "p".repeat(16), "n".repeat(64));
        assert_eq!(path.len(), 238);
        assert!(check_task_path(&path).is_ok());
        let e = check_task_path(&format!("{path}x")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.to_string().ends_with("is 239 characters long; Task Scheduler allows at most 238")
        );
    }

    #[test]
    fn folder_forms() {
        for ok in ["\\", "\\Orchestrator\\", "\\Ops\\Nightly jobs\\"] {
            assert_eq!(check_folder(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "Orc",
            "\\Orc",
            "\\a/b\\",
            "\\a\\..\\",
            "\\a\\\\b\\",
            "\\a|b\\",
            "\\ x\\",
            "\\x.\\",
        ] {
            assert_eq!(check_folder(bad), Err(FOLDER_RULE), "{bad:?}");
        }
        assert!(check_folder_and_prefix("\\", "").is_err());
        assert!(check_folder_and_prefix("\\", "Orc_").is_ok());
        assert!(check_folder_and_prefix("\\Orchestrator\\", "").is_ok());
    }

    #[test]
    fn exec_lengths() {
        let exe = format!("C:\\{}", "e".repeat(256));
        assert!(check_exec(&exe, "C:\\h").is_ok());
        assert!(check_exec(&format!("{exe}x"), "C:\\h").unwrap_err().to_string().contains("259"));
        let dir = format!("C:\\{}", "d".repeat(255));
        assert!(check_exec("C:\\orc.exe", &dir).is_ok());
        let e = check_exec("C:\\orc.exe", &format!("{dir}d")).unwrap_err();
        assert!(e.to_string().contains("at most 258 (MAX_PATH - 2)"), "{e}");
    }
}

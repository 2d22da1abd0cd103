//! Starting a task's command as a **process tree** orc can always kill, and telling whether a
//! recorded process is still alive.
//!
//! * **Windows:** the child is created `CREATE_SUSPENDED | CREATE_NO_WINDOW`, put into a Job
//!   Object with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE` (the job handle is not inheritable), then
//!   resumed — so every grandchild is in the job from its first instruction, and the whole job
//!   dies when orc's handle closes, including when orc itself is killed. A timeout calls
//!   `TerminateJobObject` with [`TERMINATE_CODE`].
//! * **Unix:** the child leads a new process group (`process_group(0)`); a timeout sends
//!   `SIGTERM` to the group, waits a grace period, then `SIGKILL`. A forked **watchdog**
//!   (see `process/unix.rs`) kills the group if orc dies before the run ends. A process that
//!   calls `setsid()` or changes its own group escapes both; that limit is documented.
//!
//! In both cases, when the task's main process exits, anything it left behind in its job or
//! group is killed too: orc never leaves a process behind.
//!
//! The exit of the main process is observed **without reaping it** first (`waitid(WNOWAIT)` on
//! Unix), so the process-group id cannot be reused between "it exited" and "kill the rest".

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Instant;

use crate::task::Shell;

mod powershell;

#[cfg(unix)]
#[path = "process/unix.rs"]
mod sys;
#[cfg(windows)]
#[path = "process/windows.rs"]
mod sys;

/// The exit code `TerminateJobObject` gives every process of a job killed on timeout
/// (`0x4F524354`, "ORCT"), so a killed process is recognisable wherever its code shows up.
pub const TERMINATE_CODE: u32 = 0x4F52_4354;

/// A command resolved to a program and its arguments, ready to spawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The program to start (absolute when it was found on `PATH`).
    pub program: PathBuf,
    /// Its arguments (quoted by the standard library on Windows).
    pub args: Vec<OsString>,
    /// Windows only: text appended to the command line exactly as written (cmd.exe's `/c` line,
    /// which cmd parses with its own rules and must see as typed).
    pub raw_tail: Option<String>,
    /// Windows only: the task's Job Object allows breakaway (`JOB_OBJECT_LIMIT_BREAKAWAY_OK`),
    /// so a child started with `CREATE_BREAKAWAY_FROM_JOB` leaves the tree orc kills
    /// (`--allow-breakaway`; off by default).
    pub allow_breakaway: bool,
}

impl Invocation {
    /// A short description for messages.
    pub fn describe(&self) -> String {
        let mut s = self.program.display().to_string();
        for a in &self.args {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        if let Some(raw) = &self.raw_tail {
            s.push(' ');
            s.push_str(raw);
        }
        s
    }
}

/// Where a resolved program is looked up: the `PATH` the child will get and its directory.
#[derive(Debug, Clone, Copy)]
pub struct Lookup<'a> {
    /// The child's `PATH` (the task may set its own).
    pub path: Option<&'a OsStr>,
    /// The child's working directory (relative program paths are taken against it).
    pub workdir: &'a Path,
}

/// Turns a task's command and shell into an [`Invocation`]. Errors are sentences for the run
/// record ("shell cmd needs Windows…", "program \"x\" not found on PATH").
pub fn invocation(shell: Shell, command: &str, lookup: Lookup<'_>) -> Result<Invocation, String> {
    if command.contains('\0') {
        return Err("the command contains a NUL character".to_string());
    }
    match shell {
        Shell::Cmd => {
            if !cfg!(windows) {
                return Err("shell cmd needs Windows (cmd.exe); use --shell sh here".to_string());
            }
            let program = comspec();
            // `/s /c "…"`: cmd strips the outer quotes and runs the rest exactly as typed.
            Ok(Invocation {
                program,
                args: Vec::new(),
                raw_tail: Some(format!("/d /s /c \"{command}\"")),
                allow_breakaway: false,
            })
        }
        Shell::Powershell | Shell::Pwsh => {
            let windows_powershell = shell == Shell::Powershell;
            let name = if windows_powershell { "powershell" } else { "pwsh" };
            let program = find_program(name, lookup)?;
            Ok(Invocation {
                program,
                args: powershell::args(windows_powershell, command),
                raw_tail: None,
                allow_breakaway: false,
            })
        }
        Shell::Sh => {
            let program =
                if cfg!(unix) { PathBuf::from("/bin/sh") } else { find_program("sh", lookup)? };
            Ok(Invocation {
                program,
                args: vec![OsString::from("-c"), OsString::from(command)],
                raw_tail: None,
                allow_breakaway: false,
            })
        }
        Shell::None => {
            let words = if cfg!(windows) { split_windows(command) } else { split_posix(command)? };
            let mut words = words.into_iter();
            let Some(first) = words.next() else {
                return Err("the command is empty".to_string());
            };
            let program = find_program(&first, lookup)?;
            Ok(Invocation {
                program,
                args: words.map(OsString::from).collect(),
                raw_tail: None,
                allow_breakaway: false,
            })
        }
    }
}

#[cfg(windows)]
fn comspec() -> PathBuf {
    if let Some(c) = std::env::var_os("ComSpec").filter(|c| !c.is_empty()) {
        return PathBuf::from(c);
    }
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| OsString::from("C:\\Windows"));
    PathBuf::from(root).join("System32").join("cmd.exe")
}

#[cfg(not(windows))]
fn comspec() -> PathBuf {
    PathBuf::from("cmd.exe")
}

/// Resolves a program name the way a demanding admin expects: a path (absolute, or relative to
/// the working directory) must exist; a bare name is searched on the child's `PATH` only (never
/// in the current directory).
fn find_program(name: &str, lookup: Lookup<'_>) -> Result<PathBuf, String> {
    let has_separator = name.contains('/') || (cfg!(windows) && name.contains('\\'));
    if has_separator {
        let p = Path::new(name);
        let p = if p.is_absolute() { p.to_path_buf() } else { lookup.workdir.join(p) };
        return which::which(&p)
            .or_else(|_| if p.is_file() { Ok(p.clone()) } else { Err(()) })
            .map_err(|_| format!("program {} not found", p.display()));
    }
    let path = lookup.path.map(OsStr::to_os_string).or_else(|| std::env::var_os("PATH"));
    search_path(name, path.as_deref()).ok_or_else(|| {
        format!("program {name:?} not found on PATH (only absolute PATH entries are searched)")
    })
}

/// Looks a bare program name up in the **absolute** entries of `path` (the process's own
/// `PATH` when `None`). Empty, `.` and other relative entries are skipped: a name is never
/// found in the working or current directory. The result is a full path, so on Windows
/// `CreateProcess` does not run its own search (which starts with the application's
/// directory and the current directory; see "CreateProcessW, lpApplicationName" in the
/// Win32 docs). The one owner of this rule: the executor and `schedule --validate` call it.
pub fn search_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let path = path.map(OsStr::to_os_string).or_else(|| std::env::var_os("PATH"))?;
    let absolute: Vec<PathBuf> = std::env::split_paths(&path).filter(|p| p.is_absolute()).collect();
    if absolute.is_empty() {
        return None;
    }
    let joined = std::env::join_paths(absolute).ok()?;
    // `which_in` takes a "current directory" only to resolve relative entries and relative
    // names; neither reaches it here, so pass the filesystem root.
    let found = which::which_in(name, Some(joined), Path::new("/")).ok()?;
    found.is_absolute().then_some(found)
}

/// Splits a command line with POSIX-shell-like rules, without any expansion: whitespace
/// separates words; `'…'` is literal; inside `"…"` a backslash escapes `"`, `\`, `$` and `` ` ``;
/// outside quotes a backslash escapes the next character.
pub fn split_posix(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated ' quote in the command".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\' | '$' | '`')) => cur.push(e),
                            Some(other) => {
                                cur.push('\\');
                                cur.push(other);
                            }
                            None => return Err("unterminated \" quote in the command".to_string()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated \" quote in the command".to_string()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(n) => cur.push(n),
                    None => cur.push('\\'),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Splits a command line the way `CommandLineToArgvW` and the MSVC runtime do: the program
/// name ends at the first unquoted space and takes no backslash escapes; in arguments, `2n`
/// backslashes before `"` give `n` backslashes and toggle quoting, `2n+1` give `n` and a
/// literal `"`, other backslashes are literal, and `""` inside quotes is a literal `"`.
pub fn split_windows(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
        i += 1;
    }
    if i >= chars.len() {
        return words;
    }
    // Program name.
    let mut prog = String::new();
    if chars[i] == '"' {
        i += 1;
        while i < chars.len() && chars[i] != '"' {
            prog.push(chars[i]);
            i += 1;
        }
        i += 1;
    } else {
        while i < chars.len() && chars[i] != ' ' && chars[i] != '\t' {
            prog.push(chars[i]);
            i += 1;
        }
    }
    words.push(prog);
    // Arguments.
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut arg = String::new();
        let mut quoted = false;
        while i < chars.len() {
            let c = chars[i];
            if c == '\\' {
                let start = i;
                while i < chars.len() && chars[i] == '\\' {
                    i += 1;
                }
                let n = i - start;
                if i < chars.len() && chars[i] == '"' {
                    arg.extend(std::iter::repeat_n('\\', n / 2));
                    if n % 2 == 1 {
                        arg.push('"');
                        i += 1;
                    }
                } else {
                    arg.extend(std::iter::repeat_n('\\', n));
                }
                continue;
            }
            if c == '"' {
                if quoted && i + 1 < chars.len() && chars[i + 1] == '"' {
                    arg.push('"');
                    i += 2;
                    continue;
                }
                quoted = !quoted;
                i += 1;
                continue;
            }
            if !quoted && (c == ' ' || c == '\t') {
                break;
            }
            arg.push(c);
            i += 1;
        }
        words.push(arg);
    }
    words
}

/// How a finished process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited with this code (on Windows the full unsigned 32-bit value).
    Code(i64),
    /// Unix: it was killed by this signal.
    Signal(i32),
}

impl Ended {
    /// From the standard library's status.
    pub fn from_status(status: ExitStatus) -> Ended {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            if let Some(sig) = status.signal() {
                return Ended::Signal(sig);
            }
            Ended::Code(i64::from(status.code().unwrap_or(-1)))
        }
        #[cfg(windows)]
        {
            Ended::Code(i64::from(status.code().unwrap_or(-1) as u32))
        }
    }

    /// The value stored in `runs.exit_code`: the code, or `128 + n` for a signal (as shells do).
    pub fn stored_code(self) -> i64 {
        match self {
            Ended::Code(c) => c,
            Ended::Signal(s) => 128 + i64::from(s),
        }
    }
}

/// What orc does with the task's standard streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// stdout and stderr are pipes orc reads.
    Piped,
    /// Both go to the null device (dependency commands orc does not need the output of).
    Null,
}

/// A running task: its main process and everything it starts.
pub struct ProcessTree {
    child: Child,
    exited: Receiver<()>,
    status: Option<ExitStatus>,
    sys: sys::Tree,
}

impl std::fmt::Debug for ProcessTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessTree").field("pid", &self.child.id()).finish()
    }
}

/// A freshly spawned tree and its output pipes.
#[derive(Debug)]
pub struct Spawned {
    pub tree: ProcessTree,
    pub stdout: Option<ChildStdout>,
    pub stderr: Option<ChildStderr>,
}

impl ProcessTree {
    /// Starts `inv` in `workdir` with exactly the environment `env` (nothing else is inherited)
    /// and stdin from the null device.
    pub fn spawn(
        inv: &Invocation,
        workdir: &Path,
        env: &[(OsString, OsString)],
        streams: Streams,
    ) -> std::io::Result<Spawned> {
        let mut cmd = Command::new(&inv.program);
        cmd.args(&inv.args);
        #[cfg(windows)]
        if let Some(raw) = &inv.raw_tail {
            use std::os::windows::process::CommandExt;
            cmd.raw_arg(raw);
        }
        cmd.current_dir(workdir);
        cmd.env_clear();
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null());
        match streams {
            Streams::Piped => {
                cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
            }
            Streams::Null => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let (mut child, sys) = sys::spawn(cmd, inv.allow_breakaway)?;
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let exited = sys::watch_exit(&child)?;
        Ok(Spawned { tree: ProcessTree { child, exited, status: None, sys }, stdout, stderr })
    }

    /// The main process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the main process exits or `deadline` passes (`None`: no deadline).
    /// Returns its status, or `None` when the deadline passed first. When the main process has
    /// exited, whatever it left running in its group or job is killed before this returns.
    pub fn wait_until(&mut self, deadline: Option<Instant>) -> Option<ExitStatus> {
        if let Some(status) = self.status {
            return Some(status);
        }
        let got = match deadline {
            None => self.exited.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(d) => self.exited.recv_timeout(d.saturating_duration_since(Instant::now())),
        };
        match got {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                // The main process is a zombie (not reaped yet): its group id cannot be reused.
                self.sys.kill_all();
                let status = self.child.wait().ok()?;
                self.status = Some(status);
                Some(status)
            }
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    /// Asks the whole tree to stop (`SIGTERM` to the group on Unix; on Windows there is no
    /// polite signal for a windowless console tree, so this terminates the job).
    pub fn terminate(&mut self) {
        self.sys.terminate_all();
    }

    /// Kills the whole tree now (`SIGKILL` to the group; `TerminateJobObject`).
    pub fn kill(&mut self) {
        self.sys.kill_all();
    }

    /// Ends the watch: kills anything left, tells the watchdog the run is over and releases
    /// the job. Call after [`ProcessTree::wait_until`] returned a status.
    pub fn finish(mut self) {
        self.sys.kill_all();
        self.sys.release();
    }
}

/// An opaque token identifying a process instance (its start time), so that a recorded pid
/// that was reused by another process is not taken for the original.
pub fn start_token(pid: u32) -> Option<String> {
    sys::start_token(pid)
}

/// Whether process `pid` is alive and, when `token` is given, is the same instance
/// (zombies count as dead). Unknown platforms fall back to "alive if it exists".
pub fn is_alive(pid: u32, token: Option<&str>) -> bool {
    match sys::probe(pid) {
        Probe::Gone => false,
        Probe::Alive(current) => match (token, current) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        },
    }
}

/// What a liveness probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    Gone,
    Alive(Option<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_split() {
        assert_eq!(split_posix("a b  c").unwrap(), ["a", "b", "c"]);
        assert_eq!(split_posix(r#"p 'a b' "c d" e\ f"#).unwrap(), ["p", "a b", "c d", "e f"]);
        assert_eq!(
            split_posix(r#"p "a\"b" 'x"y' "\$HOME" "\n""#).unwrap(),
            ["p", "a\"b", "x\"y", "$HOME", "\\n"]
        );
        assert_eq!(split_posix("p ''").unwrap(), ["p", ""]);
        assert_eq!(split_posix("p a'b'c").unwrap(), ["p", "abc"]);
        assert_eq!(split_posix("p $(touch x) ;&|").unwrap(), ["p", "$(touch", "x)", ";&|"]);
        assert!(split_posix("p 'open").is_err());
        assert!(split_posix("p \"open").is_err());
        assert_eq!(split_posix("   ").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn windows_split_follows_commandlinetoargvw() {
        // Examples from Microsoft's "Parsing C++ command-line arguments".
        assert_eq!(split_windows(r#"p "a b c" d e"#), ["p", "a b c", "d", "e"]);
        assert_eq!(split_windows(r#"p "ab\"c" "\\" d"#), ["p", "ab\"c", "\\", "d"]);
        assert_eq!(split_windows(r#"p a\\\b d"e f"g h"#), ["p", r"a\\\b", "de fg", "h"]);
        assert_eq!(split_windows(r#"p a\\\"b c d"#), ["p", r#"a\"b"#, "c", "d"]);
        assert_eq!(split_windows(r#"p a\\\\"b c" d e"#), ["p", r"a\\b c", "d", "e"]);
        assert_eq!(split_windows(r#"p "a""b""#), ["p", "a\"b"]);
        // The program name takes no escapes.
        assert_eq!(
            split_windows(r#""C:\Program Files\x.exe" 1"#),
            [r"C:\Program Files\x.exe", "1"]
        );
        assert_eq!(split_windows(r"C:\dir\x.exe tail\"), [r"C:\dir\x.exe", r"tail\"]);
        assert_eq!(split_windows("  "), Vec::<String>::new());
    }

    #[test]
    fn shells_build_the_expected_invocations() {
        let dir = std::env::temp_dir();
        let lookup = Lookup { path: None, workdir: &dir };
        if cfg!(unix) {
            let inv = invocation(Shell::Sh, "echo \"$X\" && exit 3", lookup).unwrap();
            assert_eq!(inv.program, PathBuf::from("/bin/sh"));
            assert_eq!(inv.args, [OsString::from("-c"), OsString::from("echo \"$X\" && exit 3")]);
            let err = invocation(Shell::Cmd, "dir", lookup).unwrap_err();
            assert!(err.contains("Windows"), "{err}");
            let inv = invocation(Shell::None, "sh -c 'exit 4'", lookup).unwrap();
            assert!(inv.program.is_absolute(), "{inv:?}");
            assert_eq!(inv.args, [OsString::from("-c"), OsString::from("exit 4")]);
        } else {
            let inv = invocation(Shell::Cmd, "echo \"a&b\" & exit /b 3", lookup).unwrap();
            assert_eq!(inv.raw_tail.as_deref(), Some("/d /s /c \"echo \"a&b\" & exit /b 3\""));
        }
        let err = invocation(Shell::None, "no-such-program-orc-xyz arg", lookup).unwrap_err();
        assert!(err.contains("not found"), "{err}");
        assert!(invocation(Shell::None, "  ", lookup).is_err());
        assert!(invocation(Shell::Sh, "a\0b", lookup).is_err());
    }

    /// issue 12 finding 8: a bare name is never found in the working directory, whatever
    /// relative entries (empty, `.`, `bin`) PATH has; an absolute entry still finds it.
    #[test]
    fn bare_names_are_never_found_through_relative_path_entries() {
        let dir = tempfile::tempdir().unwrap();
        let exe = if cfg!(windows) { "orc-planted.exe" } else { "orc-planted" };
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        for p in [dir.path().join(exe), dir.path().join("bin").join(exe)] {
            std::fs::write(&p, b"#!/bin/sh\nexit 0\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let sep = if cfg!(windows) { ";" } else { ":" };
        let abs = std::env::temp_dir().join("orc-no-such-dir");
        let abs = abs.to_string_lossy();
        for path in [format!("{sep}{abs}"), format!("{abs}{sep}"), ".".into(), "bin".into()] {
            let path = OsString::from(&path);
            let lookup = Lookup { path: Some(&path), workdir: dir.path() };
            let err = invocation(Shell::None, "orc-planted arg", lookup).unwrap_err();
            assert!(err.contains("not found on PATH"), "{path:?}: {err}");
        }
        let path = dir.path().join("bin").into_os_string();
        let lookup = Lookup { path: Some(&path), workdir: dir.path() };
        let inv = invocation(Shell::None, "orc-planted arg", lookup).unwrap();
        assert_eq!(inv.program, dir.path().join("bin").join(exe));
    }

    #[test]
    fn own_process_is_alive_and_identified() {
        let me = std::process::id();
        let token = start_token(me);
        assert!(is_alive(me, token.as_deref()));
        if token.is_some() {
            assert!(!is_alive(me, Some("not-the-start-time")));
        }
    }

    #[test]
    fn exited_process_is_dead() {
        let dir = std::env::temp_dir();
        let inv = if cfg!(windows) {
            invocation(Shell::Cmd, "exit 0", Lookup { path: None, workdir: &dir }).unwrap()
        } else {
            invocation(Shell::Sh, "exit 0", Lookup { path: None, workdir: &dir }).unwrap()
        };
        let env: Vec<_> = std::env::vars_os().collect();
        let mut s = ProcessTree::spawn(&inv, &dir, &env, Streams::Null).unwrap();
        let pid = s.tree.pid();
        let status = s.tree.wait_until(None).unwrap();
        assert!(status.success());
        s.tree.finish();
        assert!(!is_alive(pid, None));
    }
}

//! Starting Exec actions (for `/Run` with `FAKE_SCHTASKS_RUN=spawn|spawn-wait` and the
//! fake-only `--fake-fire`), supervising them, and recording the outcome in the store.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::Action;
use crate::store::{Instance, State, Store, TaskPath};

/// SCHED_S_TASK_RUNNING (0x41301): Last Result while an instance runs.
pub(crate) const TASK_RUNNING: i32 = 0x0004_1301;
/// SCHED_S_TASK_TERMINATED (0x41306): Last Result after `/End`.
pub(crate) const TASK_TERMINATED: i32 = 0x0004_1306;
/// 0x800710E0 "The operator or administrator has refused the request": Last Result when
/// the ExecutionTimeLimit stopped the task ([U] which code Windows records there).
pub(crate) const TIME_LIMIT_KILLED: i32 = 0x8007_10E0_u32 as i32;
/// 0xC000013A (STATUS_CONTROL_C_EXIT): what the fake records for a process killed by a
/// Unix signal ([U]: there is no exit code to report).
const SIGNALLED: i32 = 0xC000_013A_u32 as i32;

/// Windows `CommandLineToArgvW` splitting (for the arguments after the program name).
/// On Windows the raw argument string is handed to CreateProcess instead.
#[cfg_attr(windows, allow(dead_code))]
pub(crate) fn split_windows_args(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\t') {
            i += 1;
        }
        if i >= chars.len() {
            break;
        }
        let mut cur = String::new();
        let mut in_quotes = false;
        while i < chars.len() {
            let c = chars[i];
            if (c == ' ' || c == '\t') && !in_quotes {
                break;
            }
            if c == '\\' {
                let mut n = 0;
                while i < chars.len() && chars[i] == '\\' {
                    n += 1;
                    i += 1;
                }
                if i < chars.len() && chars[i] == '"' {
                    cur.push_str(&"\\".repeat(n / 2));
                    if n % 2 == 1 {
                        cur.push('"');
                        i += 1;
                    }
                } else {
                    cur.push_str(&"\\".repeat(n));
                }
                continue;
            }
            if c == '"' {
                if in_quotes && i + 1 < chars.len() && chars[i + 1] == '"' {
                    // `""` inside quotes is a literal quote.
                    cur.push('"');
                    i += 2;
                    continue;
                }
                in_quotes = !in_quotes;
                i += 1;
                continue;
            }
            cur.push(c);
            i += 1;
        }
        args.push(cur);
    }
    args
}

/// Expands `%NAME%` from the environment (unknown names stay as written), as Task
/// Scheduler does for Exec fields.
pub(crate) fn expand_env(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('%') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('%') {
            Some(end) if end > 0 => {
                let name = &after[..end];
                let value = std::env::var(name).ok().or_else(|| {
                    std::env::vars().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
                });
                match value {
                    Some(v) => out.push_str(&v),
                    None => {
                        out.push('%');
                        out.push_str(name);
                        out.push('%');
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn strip_quotes(s: &str) -> String {
    let t = s.trim();
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        t[1..t.len() - 1].to_string()
    } else {
        t.to_string()
    }
}

/// Last Result for a failed launch (HRESULT_FROM_WIN32 of the error).
fn launch_error(e: &std::io::Error) -> i32 {
    match e.kind() {
        std::io::ErrorKind::NotFound => 0x8007_0002_u32 as i32,
        std::io::ErrorKind::PermissionDenied => 0x8007_0005_u32 as i32,
        _ => 0x8000_4005_u32 as i32,
    }
}

enum Launch {
    Started(std::process::Child),
    Failed(i32),
    /// Not an Exec action: nothing to start; counts as success.
    Nothing,
}

/// On Windows every inheritable handle of this process goes to a child started with
/// `Command` (bInheritHandles is TRUE), including the stdout/stderr pipes of whoever ran
/// the fake: a detached action would keep the caller's pipes open until it exits. Real
/// tasks run inside the Task Scheduler service and never see schtasks' handles, so the
/// fake marks its standard handles non-inheritable before starting anything.
#[cfg(windows)]
fn detach_std_handles() {
    use windows_sys::Win32::Foundation::{
        HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE, SetHandleInformation,
    };
    use windows_sys::Win32::System::Console::{
        GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE,
    };
    for id in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: GetStdHandle has no preconditions and returns a handle owned by this
        // process (or null/INVALID_HANDLE_VALUE, which are skipped); SetHandleInformation
        // only clears the inheritance flag of that handle and fails harmlessly otherwise.
        unsafe {
            let h = GetStdHandle(id);
            if !h.is_null() && h != INVALID_HANDLE_VALUE {
                SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
            }
        }
    }
}

/// On Unix the standard library already closes every descriptor but the child's own
/// (null) stdio.
#[cfg(not(windows))]
fn detach_std_handles() {}

fn launch(action: &Action) -> Launch {
    let Action::Exec { command, arguments, workdir } = action else {
        return Launch::Nothing;
    };
    detach_std_handles();
    let program = expand_env(&strip_quotes(command));
    let mut cmd = Command::new(&program);
    let args = arguments.as_deref().map(expand_env).unwrap_or_default();
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        if !args.is_empty() {
            cmd.raw_arg(&args);
        }
    }
    #[cfg(not(windows))]
    {
        cmd.args(split_windows_args(&args));
    }
    if let Some(w) = workdir {
        let dir = expand_env(&strip_quotes(w));
        if !Path::new(&dir).is_dir() {
            // ERROR_DIRECTORY: "The directory name is invalid."
            return Launch::Failed(0x8007_010B_u32 as i32);
        }
        cmd.current_dir(dir);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    match cmd.spawn() {
        Ok(c) => Launch::Started(c),
        Err(e) => Launch::Failed(launch_error(&e)),
    }
}

fn update_state(store: &Store, path: &TaskPath, f: impl FnOnce(&mut State)) -> bool {
    let _lock = store.lock();
    let Some(t) = store.read_task(path) else { return false };
    let mut st = t.state;
    f(&mut st);
    store.write_state(path, &st);
    true
}

fn instance_alive(store: &Store, path: &TaskPath, id: u64) -> bool {
    store.read_task(path).is_some_and(|t| t.state.instances.iter().any(|i| i.id == id))
}

/// Registers a new running instance (under the caller's lock) and returns its id.
pub(crate) fn begin_instance(state: &mut State, now: &str) -> u64 {
    let id = state.next_instance.max(1);
    state.next_instance = id + 1;
    state.instances.push(Instance { id, pid: None, started: now.to_string() });
    state.last_run = Some(now.to_string());
    state.last_result = TASK_RUNNING;
    id
}

/// Runs the actions of one instance in sequence and waits for them. Stops early when the
/// instance is ended from outside (`/End`, `/Delete`, `--fake-set status=Ready`): then the
/// child is killed and nothing is recorded. Returns the recorded Last Result, or `None`
/// when the instance was ended from outside.
pub(crate) fn supervise(
    store: &Store,
    path: &TaskPath,
    id: u64,
    actions: &[Action],
    limit_secs: Option<i64>,
) -> Option<i32> {
    let began = Instant::now();
    let mut result = 0;
    'actions: for a in actions {
        let mut child = match launch(a) {
            Launch::Nothing => continue,
            Launch::Failed(code) => {
                result = code;
                break;
            }
            Launch::Started(c) => c,
        };
        let pid = child.id();
        update_state(store, path, |st| {
            if let Some(i) = st.instances.iter_mut().find(|i| i.id == id) {
                i.pid = Some(pid);
            }
        });
        let mut polls: u32 = 0;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    result = status.code().unwrap_or(SIGNALLED);
                    break;
                }
                Ok(None) => {}
                Err(_) => {
                    result = 0x8000_4005_u32 as i32;
                    break;
                }
            }
            if limit_secs.is_some_and(|l| began.elapsed() > Duration::from_secs(l.max(0) as u64)) {
                let _ = child.kill();
                let _ = child.wait();
                result = TIME_LIMIT_KILLED;
                break 'actions;
            }
            polls += 1;
            if polls.is_multiple_of(5) && !instance_alive(store, path, id) {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let mut recorded = false;
    update_state(store, path, |st| {
        if let Some(pos) = st.instances.iter().position(|i| i.id == id) {
            st.instances.remove(pos);
            st.last_result = result;
            recorded = true;
        }
    });
    recorded.then_some(result)
}

/// Starts `fake_schtasks --fake-supervise …` in the background (stdio detached) so that
/// `/Run` can return at once while the action runs.
pub(crate) fn spawn_supervisor(
    host: Option<&str>,
    path: &TaskPath,
    id: u64,
) -> std::io::Result<()> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.arg("--fake-supervise");
    if let Some(h) = host {
        cmd.arg("--host").arg(h);
    }
    cmd.arg(path.display()).arg(id.to_string());
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
    }
    cmd.spawn().map(|_| ())
}

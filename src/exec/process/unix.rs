//! Unix: a new process group per task, `killpg`, a forked watchdog, `/proc` liveness.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::mpsc::{Receiver, channel};

use super::Probe;

/// The Unix side of a [`super::ProcessTree`]: the group and the watchdog.
pub(super) struct Tree {
    pgid: libc::pid_t,
    watchdog: Option<Watchdog>,
}

/// `_allow_breakaway` is a Windows Job Object setting; a Unix process group has no equivalent
/// (a child that calls `setsid()` escapes it either way).
pub(super) fn spawn(mut cmd: Command, _allow_breakaway: bool) -> std::io::Result<(Child, Tree)> {
    cmd.process_group(0);
    let child = cmd.spawn()?;
    let pgid = child.id() as libc::pid_t;
    let watchdog = Watchdog::start(pgid);
    if watchdog.is_none() {
        tracing::warn!(
            pgid,
            "could not start the watchdog; if orc is killed, the task may survive"
        );
    }
    Ok((child, Tree { pgid, watchdog }))
}

/// A thread that returns once the child has exited, **without reaping it**.
pub(super) fn watch_exit(child: &Child) -> std::io::Result<Receiver<()>> {
    let pid = child.id() as libc::id_t;
    let (tx, rx) = channel();
    std::thread::Builder::new().name("orc-wait".into()).spawn(move || {
        loop {
            // SAFETY: `info` is a properly sized, zeroed out-parameter; WNOWAIT leaves the child
            // waitable, so std's `Child::wait` reaps it later.
            let rc = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
            };
            if rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
        let _ = tx.send(());
    })?;
    Ok(rx)
}

impl Tree {
    pub(super) fn terminate_all(&mut self) {
        signal_group(self.pgid, libc::SIGTERM);
    }

    pub(super) fn kill_all(&mut self) {
        signal_group(self.pgid, libc::SIGKILL);
    }

    pub(super) fn release(&mut self) {
        if let Some(w) = self.watchdog.take() {
            w.dismiss();
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // A tree dropped without `finish` (an error path): leave nothing behind.
        if self.watchdog.is_some() {
            signal_group(self.pgid, libc::SIGKILL);
            self.release();
        }
    }
}

fn signal_group(pgid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: killpg has no memory-safety preconditions; ESRCH (group gone) is expected.
    unsafe {
        libc::killpg(pgid, sig);
    }
}

/// A forked copy of orc that kills the task's process group when orc goes away without saying
/// goodbye (SIGKILL, crash, Task Scheduler/cron stopping it). It waits on a pipe: one byte
/// means "the run is over, exit quietly"; end-of-file means orc is dead.
struct Watchdog {
    pid: libc::pid_t,
    write_fd: libc::c_int,
}

impl Watchdog {
    fn start(pgid: libc::pid_t) -> Option<Watchdog> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` is a valid 2-element array for pipe to fill.
        if unsafe { pipe_cloexec(&mut fds) } != 0 {
            return None;
        }
        let (read_fd, write_fd) = (fds[0], fds[1]);
        // SAFETY: fork is async-signal-safe; the child below only calls async-signal-safe
        // functions (close, open, dup2, sigaction via signal, setpgid, read, killpg, _exit) and
        // never allocates or touches locks, so it is sound even if other threads exist.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            // SAFETY: closing descriptors we own.
            unsafe {
                libc::close(read_fd);
                libc::close(write_fd);
            }
            return None;
        }
        if pid == 0 {
            // SAFETY: see the fork comment; this function never returns.
            unsafe { watchdog_main(read_fd, write_fd, pgid) }
        }
        // SAFETY: the parent does not need the read end.
        unsafe {
            libc::close(read_fd);
        }
        Some(Watchdog { pid, write_fd })
    }

    fn dismiss(self) {
        // SAFETY: writing one byte from a valid buffer to our own pipe, then closing it and
        // reaping our own child.
        unsafe {
            let byte = b'd';
            libc::write(self.write_fd, (&byte as *const u8).cast(), 1);
            libc::close(self.write_fd);
            let mut status = 0;
            while libc::waitpid(self.pid, &mut status, 0) < 0
                && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
            {}
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
unsafe fn pipe_cloexec(fds: &mut [libc::c_int; 2]) -> libc::c_int {
    // SAFETY: the caller passes a valid array.
    unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
unsafe fn pipe_cloexec(fds: &mut [libc::c_int; 2]) -> libc::c_int {
    // SAFETY: the caller passes a valid array; both ends get FD_CLOEXEC before any exec.
    unsafe {
        let rc = libc::pipe(fds.as_mut_ptr());
        if rc == 0 {
            libc::fcntl(fds[0], libc::F_SETFD, libc::FD_CLOEXEC);
            libc::fcntl(fds[1], libc::F_SETFD, libc::FD_CLOEXEC);
        }
        rc
    }
}

/// Closes every descriptor from 3 up, except `keep`. Async-signal-safe. On Linux ≥ 5.9 two
/// `close_range(2)` system calls (a raw syscall: glibc only wraps it from 2.34); elsewhere, or
/// when the kernel lacks it (ENOSYS), one `close` per descriptor up to 4,096 (the loop that
/// made every run pay ~4,000 system calls: issue 17).
unsafe fn close_from_3_except(keep: libc::c_int) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: close_range only closes descriptors of this (forked, single-threaded) process.
        let rc = unsafe {
            let below = if keep > 3 {
                libc::syscall(libc::SYS_close_range, 3u32, (keep - 1) as u32, 0u32)
            } else {
                0
            };
            if below == 0 {
                libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32)
            } else {
                below
            }
        };
        if rc == 0 {
            return;
        }
    }
    for fd in 3..4096 {
        if fd != keep {
            // SAFETY: closing descriptors of this (forked) process.
            unsafe {
                libc::close(fd);
            }
        }
    }
}

/// The watchdog process. Async-signal-safe calls only.
unsafe fn watchdog_main(read_fd: libc::c_int, write_fd: libc::c_int, pgid: libc::pid_t) -> ! {
    // SAFETY: plain system calls on descriptors and signals of this (forked) process.
    unsafe {
        libc::close(write_fd);
        // Leave orc's process group so a signal to orc's group (Ctrl+C, a supervisor's killpg)
        // does not take the watchdog with it, and ignore the usual termination signals.
        libc::setpgid(0, 0);
        for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM, libc::SIGQUIT, libc::SIGPIPE] {
            libc::signal(sig, libc::SIG_IGN);
        }
        // Do not hold orc's stdout/stderr (a caller waiting for EOF would hang) or any other
        // descriptor (the database, the task's pipes).
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
        }
        close_from_3_except(read_fd);
        let mut byte = 0u8;
        loop {
            let n = libc::read(read_fd, (&mut byte as *mut u8).cast(), 1);
            if n == 1 {
                libc::_exit(0);
            }
            if n == 0 {
                libc::killpg(pgid, libc::SIGKILL);
                libc::_exit(0);
            }
            if *errno() != libc::EINTR {
                libc::_exit(1);
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
unsafe fn errno() -> *mut libc::c_int {
    // SAFETY: returns the thread's errno location.
    unsafe { libc::__errno_location() }
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
unsafe fn errno() -> *mut libc::c_int {
    // SAFETY: returns the thread's errno location.
    unsafe { libc::__error() }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)))]
unsafe fn errno() -> *mut libc::c_int {
    // SAFETY: returns the thread's errno location.
    unsafe { libc::__errno() }
}

pub(super) fn start_token(pid: u32) -> Option<String> {
    match probe(pid) {
        Probe::Alive(token) => token,
        Probe::Gone => None,
    }
}

/// Linux: `/proc/<pid>/stat` gives the state (zombies are dead) and the start time in clock
/// ticks since boot (field 22), which together with the pid identifies the process instance.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(super) fn probe(pid: u32) -> Probe {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Probe::Gone;
    };
    // The command name (field 2) is in parentheses and may contain spaces or ')'.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return Probe::Alive(None);
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    if matches!(fields.first(), Some(&"Z") | Some(&"X") | Some(&"x")) {
        return Probe::Gone;
    }
    let boot = boot_id();
    Probe::Alive(fields.get(19).map(|t| format!("{boot}{t}")))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn boot_id() -> String {
    // Start ticks restart at every boot; prefixing the boot id keeps tokens from two boots apart.
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| format!("{}:", s.trim()))
        .unwrap_or_default()
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(super) fn probe(pid: u32) -> Probe {
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    if rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) {
        Probe::Alive(None)
    } else {
        Probe::Gone
    }
}

#[cfg(test)]
mod tests {
    /// The watchdog keeps only its pipe: every other descriptor from 3 up is closed, whether
    /// below or above the one kept (checked in a forked child, as in the watchdog).
    #[test]
    fn close_from_3_except_keeps_only_the_given_descriptor() {
        // SAFETY: the child only makes async-signal-safe system calls, then _exits.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                let mut opened = [0 as libc::c_int; 4];
                for slot in opened.iter_mut() {
                    *slot = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                }
                let far = libc::dup2(opened[0], 900);
                let keep = opened[2];
                super::close_from_3_except(keep);
                let open = |fd: libc::c_int| libc::fcntl(fd, libc::F_GETFD) != -1;
                let ok = open(keep)
                    && !open(opened[0])
                    && !open(opened[1])
                    && !open(opened[3])
                    && !open(far)
                    && open(0)
                    && open(2);
                libc::_exit(if ok { 0 } else { 1 });
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status), "child status {status}");
            assert_eq!(libc::WEXITSTATUS(status), 0, "a descriptor was left open or closed");
        }
    }
}

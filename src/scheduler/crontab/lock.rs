//! Serialising crontab read-modify-writes between orc processes of one user.
//!
//! A user has one crontab, shared by every orc home they schedule from. Two `orc schedule`
//! runs at once (two homes) would each read the crontab, add their own block and write the
//! whole text back: the second write drops the first one's block. So the read, the write and
//! the read that verifies it happen under an exclusive advisory lock (`flock`) on
//! `~/.cache/orc/crontab.lock`, where `~` is the home directory of the user's **passwd
//! entry** (not `$HOME` nor `$XDG_*`, which differ between a login shell, `sudo -u` and
//! cron, while the crontab is the same). The lock is released when the file is closed, also
//! when orc is killed. A process that is not orc (`crontab -e`) does not take it; the
//! verify-and-retry in the backend covers that case.

use crate::error::IoFailure;
use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::scheduler::SchedulerError;

/// How long to wait for another orc to finish its crontab change.
pub(super) const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The lock file of this user (see the module docs).
pub(super) fn lock_path() -> Option<PathBuf> {
    let home = passwd_home().or_else(|| std::env::var_os("HOME").map(PathBuf::from))?;
    home.is_absolute().then(|| home.join(".cache").join("orc").join("crontab.lock"))
}

#[cfg(unix)]
fn passwd_home() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to overwrite.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and `buf.len()` is the
    // buffer's true size; on success `result` points to `pwd`, whose strings live in `buf`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir is a NUL-terminated string inside `buf`, which is still alive.
    let dir = unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) };
    let dir = std::ffi::OsStr::from_bytes(dir.to_bytes());
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

#[cfg(not(unix))]
fn passwd_home() -> Option<PathBuf> {
    None
}

/// An exclusive hold on the user's crontab lock; released on drop.
#[derive(Debug)]
pub(super) struct CrontabLock {
    _file: File,
}

/// Takes the lock, waiting up to `wait` for another orc to release it.
pub(super) fn acquire(wait: Duration) -> Result<CrontabLock, SchedulerError> {
    let Some(path) = lock_path() else {
        return Err(SchedulerError::Unavailable {
            program: "crontab".into(),
            reason: "cannot tell this user's home directory, where orc keeps the lock that \
                     keeps two orc processes from writing the crontab at once"
                .into(),
        });
    };
    let io = |action: &'static str, source: std::io::Error| {
        SchedulerError::Io(IoFailure::new(action, path.clone(), source))
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    }
    let file = opts.open(&path).map_err(|e| io("open the crontab lock", e))?;
    let deadline = Instant::now() + wait;
    loop {
        match try_lock(&file) {
            Ok(true) => return Ok(CrontabLock { _file: file }),
            Ok(false) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(false) => {
                return Err(SchedulerError::Unavailable {
                    program: "crontab".into(),
                    reason: format!(
                        "another orc process held {} for over {} s while changing the \
                         crontab; try again when it has finished",
                        path.display(),
                        wait.as_secs()
                    ),
                });
            }
            Err(e) => return Err(io("lock", e)),
        }
    }
}

#[cfg(unix)]
fn try_lock(file: &File) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open for the duration of the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) | Some(libc::EINTR) => Ok(false),
        _ => Err(e),
    }
}

/// The crontab backend is for Unix; elsewhere there is no other orc's `crontab` to race.
#[cfg(not(unix))]
fn try_lock(_: &File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_lock_is_exclusive_and_released_on_drop() {
        let first = acquire(LOCK_WAIT).unwrap();
        let path = lock_path().unwrap();
        assert!(path.ends_with(".cache/orc/crontab.lock"), "{}", path.display());
        // A second descriptor (as another process would have) cannot take it meanwhile.
        let other = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        assert!(!try_lock(&other).unwrap());
        drop(first);
        assert!(try_lock(&other).unwrap());
    }
}

//! Which account a crontab line runs as: the crontab's owner. The checks of a task's
//! `run_as` against it.

use crate::error::Result;
use crate::scheduler::RenderEnv;
use crate::task::TaskSpec;
use crate::task::runas::Account;

/// The name of the account whose crontab `crontab` edits (the real user id's).
#[cfg(unix)]
pub fn current_user() -> Option<String> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value for getpwuid_r to overwrite.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and `buf.len()` is the
    // buffer's true size; on success `result` points to `pwd`, whose strings live in `buf`.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return std::env::var("USER").ok().filter(|u| !u.is_empty());
    }
    // SAFETY: pw_name is a NUL-terminated string inside `buf`, which is still alive.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// The name of the account whose crontab `crontab` edits.
#[cfg(not(unix))]
pub fn current_user() -> Option<String> {
    std::env::var("USERNAME").ok().or_else(|| std::env::var("USER").ok()).filter(|u| !u.is_empty())
}

/// Whether a task's account (parsed by the one run-as owner) is satisfied by a crontab line
/// of `user` (the crontab's owner). `SYSTEM` is the superuser, i.e. `root`; `DOMAIN\user`
/// and `user@domain` compare the user part; names compare case-sensitively as on Unix; the
/// Windows service accounts and gMSAs have no Unix counterpart.
pub fn run_as_allowed(run_as: &Account, user: &str) -> bool {
    match run_as {
        Account::CurrentUser => true,
        Account::System => user == "root",
        Account::LocalService | Account::NetworkService | Account::Gmsa(_) => false,
        Account::User(name) => {
            let name = name.rsplit('\\').next().unwrap_or(name);
            let name = name.split('@').next().unwrap_or(name);
            name == user
        }
    }
}

/// The account a task runs as under cron: its own `run_as`, else `run_as.default`.
pub(super) fn effective(spec: &TaskSpec, env: &RenderEnv<'_>) -> Result<Account> {
    Account::effective(spec.run_as.as_deref(), &env.run_as_default)
}

/// The `run_as` line of `orc schedule --validate` for the crontab backend.
pub fn run_as_check(spec: &TaskSpec, env: &RenderEnv<'_>) -> crate::scheduler::validate::Check {
    let user = current_user().unwrap_or_else(|| "the current user".into());
    let account = match effective(spec, env) {
        Ok(a) => a,
        Err(e) => {
            return crate::scheduler::validate::Check {
                check: "run_as",
                ok: false,
                detail: vec![e.to_string()],
            };
        }
    };
    let r = account.canonical();
    match account {
        Account::CurrentUser => crate::scheduler::validate::Check {
            check: "run_as",
            ok: true,
            detail: vec![format!("{user}, the crontab's owner (whether logged on or not)")],
        },
        ref a if run_as_allowed(a, &user) => crate::scheduler::validate::Check {
            check: "run_as",
            ok: true,
            detail: vec![format!("{r}: the crontab's owner")],
        },
        _ => crate::scheduler::validate::Check {
            check: "run_as",
            ok: false,
            detail: vec![format!(
                "{r}: a crontab line runs as the crontab's owner ({user}); schedule this task \
                 from {r}'s own crontab or clear --run-as"
            )],
        },
    }
}

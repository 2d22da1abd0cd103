//! How a task is registered with schtasks: its principal (through the one run-as owner,
//! [`crate::task::runas`]), the program Task Scheduler starts, the `/RU /RP` pair, and what
//! schtasks cannot do (a gMSA).

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::TaskFolder;
use crate::error::{Error, Result};
use crate::scheduler::{Logon, RenderEnv};
use crate::task::TaskSpec;
use crate::task::runas::{Account, Principal};

/// A task's registration identity, resolved.
#[derive(Debug)]
pub struct Resolved {
    pub principal: Principal,
    /// `Exec/Command`: orc, or orcw for an interactive logon.
    pub exe: PathBuf,
    /// `/RU` + `/RP` (a named account with password logon only).
    pub logon: Option<Logon>,
    /// What the administrator runs instead of schtasks (gMSA).
    pub manual: Option<String>,
}

/// Resolves who `spec` runs as (its `run_as`, else `run_as.default`, else the registering
/// user) and everything schtasks needs for that.
pub fn resolve(spec: &TaskSpec, env: &RenderEnv<'_>, folder: &TaskFolder) -> Result<Resolved> {
    let account = Account::effective(spec.run_as.as_deref(), &env.run_as_default)?;
    let principal = Principal::resolve(account, spec.logon, env.registering_user.as_deref())?;
    let exe = if principal.interactive() {
        let gui = crate::scheduler::gui_exe(&env.exe);
        if !gui.is_file() {
            return Err(Error::invalid(
                "--logon",
                "interactive",
                format!(
                    "an interactive task starts {} (the windowless build of orc, so that no \
                     console window opens at each start), which is missing: install it next to \
                     {}",
                    gui.display(),
                    env.exe.display()
                ),
            ));
        }
        gui
    } else {
        env.exe.clone()
    };
    let logon = match principal.password_account() {
        Some(user) => Some(Logon { user: user.to_string(), password: password(env, user)? }),
        None => None,
    };
    let manual = match &principal.account {
        Account::Gmsa(name) => Some(format!(
            "task {task} runs as the group managed service account {name}, which schtasks.exe \
             cannot register (it has no way to pass \"no password\"). Run this in an elevated \
             PowerShell on the machine, then `orc schedule` sees the task as registered:\n{ps}",
            task = spec.name,
            ps = crate::task::runas::gmsa_powershell(
                name,
                &env.exe.to_string_lossy(),
                &env.home.to_string_lossy(),
                &spec.name,
                &folder.folder,
                &format!("{}{}", folder.prefix, spec.name),
            )
        )),
        _ => None,
    };
    Ok(Resolved { principal, exe, logon, manual })
}

fn password(env: &RenderEnv<'_>, user: &str) -> Result<Zeroizing<String>> {
    (env.password_for)(&crate::vault::run_as_credential_name(user))
}

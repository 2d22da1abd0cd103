//! The Windows DACL of the home (issue 11 item 3).
//!
//! Subfolders of `%ProgramData%` inherit read for `BUILTIN\Users` and "create files" for them
//! (windows-deployment.md, "ProgramData permissions"): any local user could read the database
//! and plant an `orc.db-wal` next to it. orc therefore sets an explicit, **protected** DACL on
//! the home when it creates it and whenever `orc schedule` registers tasks:
//!
//! * `SYSTEM`, `Administrators` and the user running orc: full control;
//! * every run-as account of a task: Modify (read, write, create, delete; no ACL changes);
//! * nobody else (no `Users`, no ACEs inherited from `%ProgramData%`).
//!
//! Every ACE is inheritable (`OICI`), and `SetNamedSecurityInfoW` propagates inheritable ACEs
//! to existing files and sub-directories (Microsoft Learn, "Automatic Propagation of
//! Inheritable ACEs"), so files created before the DACL was set follow it too.
//!
//! The SDDL is built by pure functions here (tested on every platform); the Win32 calls are
//! in [`win`] (`ConvertStringSecurityDescriptorToSecurityDescriptorW` +
//! `SetNamedSecurityInfoW` with `PROTECTED_DACL_SECURITY_INFORMATION`, `LookupAccountNameW`
//! for account names).

#[cfg(windows)]
pub mod win;

use std::path::Path;

use crate::store::Store;
use crate::task::runas::Account;

/// The access mask of "Modify" as icacls shows it (`M`): FILE_GENERIC_READ | FILE_GENERIC_WRITE
/// | FILE_GENERIC_EXECUTE | DELETE = 0x1301BF.
pub const MODIFY_MASK: u32 = 0x0013_01BF;

/// How an account appears in the SDDL: a well-known alias, a SID string, or a name that must
/// be looked up (`LookupAccountNameW`) first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trustee {
    /// An SDDL alias (`SY`, `LS`, `NS`, `BA`) or a SID string (`S-1-5-21-…`).
    Sddl(String),
    /// An account name (`DOMAIN\user`, `DOMAIN\gmsa$`, `user`).
    Name(String),
}

/// Maps a run-as value to its trustee: the service accounts by their well-known SIDs (as
/// [`Account`] recognises them: names, `NT AUTHORITY\…` forms, localized names and SIDs), SID
/// strings as they are, everything else by name.
pub fn trustee_for(account: &str) -> Trustee {
    let t = account.trim();
    let alias = match Account::parse(t) {
        Ok(Account::System) => Some("SY"),
        Ok(Account::LocalService) => Some("LS"),
        Ok(Account::NetworkService) => Some("NS"),
        _ => None,
    };
    if let Some(a) = alias {
        return Trustee::Sddl(a.to_string());
    }
    if is_sid_string(t) {
        return Trustee::Sddl(t.to_ascii_uppercase());
    }
    Trustee::Name(t.to_string())
}

/// True for `S-1-<authority>(-<sub>)*` with decimal parts.
pub fn is_sid_string(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("S-").or_else(|| s.strip_prefix("s-")) else { return false };
    let parts: Vec<&str> = rest.split('-').collect();
    parts.len() >= 2
        && parts[0] == "1"
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// The home's security descriptor in SDDL: a protected DACL (`D:P`) with inheritable
/// full-control ACEs for SYSTEM, Administrators and `owner` (the user running orc, as a SID
/// string, when known) and Modify ACEs for each of `modify` (aliases or SID strings).
/// Duplicates and accounts that already have full control are left out; the order is stable.
pub fn home_sddl(owner: Option<&str>, modify: &[String]) -> String {
    let mut full: Vec<String> = vec!["SY".into(), "BA".into()];
    if let Some(o) = owner
        && !full.iter().any(|f| f.eq_ignore_ascii_case(o))
    {
        full.push(o.to_string());
    }
    let mut out = String::from("D:P");
    for f in &full {
        out.push_str(&format!("(A;OICI;FA;;;{f})"));
    }
    let mut seen: Vec<String> = Vec::new();
    for m in modify {
        if full.iter().any(|f| f.eq_ignore_ascii_case(m)) || seen.iter().any(|s| s == m) {
            continue;
        }
        seen.push(m.clone());
        out.push_str(&format!("(A;OICI;0x{MODIFY_MASK:x};;;{m})"));
    }
    out
}

/// The accounts registered tasks run as: each task's `run_as` (from the task repository) and
/// the `run_as.default` setting ([`crate::config::run_as_default`]), in [`Account`]'s canonical
/// spelling. The registering user (no account) is left out; a value [`Account`] refuses is
/// kept as written, so the lookup names it.
pub fn task_run_as_accounts(store: &Store) -> crate::Result<Vec<String>> {
    let default = crate::config::run_as_default(store.conn())?;
    let tasks = crate::task::repo::list(store.conn())?;
    let mut accounts: Vec<String> = tasks
        .iter()
        .filter_map(|t| t.spec.run_as.as_deref())
        .map(|r| Account::parse(r).map(|a| a.canonical()).unwrap_or_else(|_| r.trim().to_string()))
        .chain(std::iter::once(default.canonical()))
        .filter(|a| !a.trim().is_empty())
        .collect();
    accounts.sort_by_key(|a| a.to_ascii_lowercase());
    accounts.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    Ok(accounts)
}

/// What [`secure_home`] set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedAcl {
    /// The SDDL applied (empty where there is no DACL to set, i.e. off Windows).
    pub sddl: String,
}

/// Errors setting the home's DACL.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    #[error("cannot find the account {account:?} to grant it access to the orc home: {message}")]
    UnknownAccount { account: String, message: String },
    #[error("cannot set the permissions of {path}: {message}")]
    Apply { path: String, message: String },
}

/// Sets the home's DACL for the run-as accounts of the tasks in `store` (`orc schedule`).
pub fn secure_home_for_tasks(
    home: &Path,
    store: &crate::store::Store,
) -> Result<AppliedAcl, crate::Error> {
    let mut accounts = task_run_as_accounts(store)?;
    loop {
        match secure_home(home, &accounts) {
            Ok(applied) => return Ok(applied),
            // An account Windows cannot resolve (a domain not reachable now, a typo): the home is
            // still protected for the others; registering that task fails on its own, and its
            // runs could not write the database, which the warning says.
            Err(AclError::UnknownAccount { account, message }) => {
                tracing::warn!(
                    "run-as account {account:?} is not known to Windows ({message}): the orc home \
                     grants it nothing, so its runs cannot write the database until it resolves \
                     and `orc schedule` runs again"
                );
                let before = accounts.len();
                accounts.retain(|a| a != &account);
                if accounts.len() == before {
                    return Err(crate::Error::Failed(format!(
                        "cannot set the permissions of the orc home: {account:?}: {message}"
                    )));
                }
            }
            Err(e @ AclError::Apply { .. }) => return Err(crate::Error::Failed(e.to_string())),
        }
    }
}

/// Sets the protected DACL on `home` for these run-as accounts (Windows). Off Windows the Unix
/// modes of [`super::ensure_private_dir`] are the boundary and this does nothing.
pub fn secure_home(home: &Path, run_as: &[String]) -> Result<AppliedAcl, AclError> {
    #[cfg(windows)]
    {
        win::secure_home(home, run_as)
    }
    #[cfg(not(windows))]
    {
        let _ = (home, run_as);
        Ok(AppliedAcl { sddl: String::new() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_accounts_map_to_well_known_sids() {
        for (input, want) in [
            ("SYSTEM", "SY"),
            ("NT AUTHORITY\\SYSTEM", "SY"),
            ("S-1-5-18", "SY"),
            ("LOCAL SERVICE", "LS"),
            ("nt authority\\local service", "LS"),
            ("S-1-5-19", "LS"),
            ("NETWORK SERVICE", "NS"),
            ("S-1-5-20", "NS"),
        ] {
            assert_eq!(trustee_for(input), Trustee::Sddl(want.into()), "{input}");
        }
        assert_eq!(trustee_for("S-1-5-21-1-2-3-1001"), Trustee::Sddl("S-1-5-21-1-2-3-1001".into()));
        assert_eq!(trustee_for("CORP\\svc_orc"), Trustee::Name("CORP\\svc_orc".into()));
        assert_eq!(trustee_for("CORP\\gmsa$"), Trustee::Name("CORP\\gmsa$".into()));
        assert!(!is_sid_string("S-1-"));
        assert!(!is_sid_string("S-2-5"));
        assert!(!is_sid_string("S-1-5-x"));
    }

    #[test]
    fn sddl_is_protected_and_grants_exactly_the_accounts() {
        assert_eq!(home_sddl(None, &[]), "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)");
        assert_eq!(
            home_sddl(
                Some("S-1-5-21-9-9-9-500"),
                &[
                    "LS".into(),
                    "S-1-5-21-1-2-3-1001".into(),
                    "LS".into(),
                    "SY".into(),
                    "S-1-5-21-9-9-9-500".into(),
                ]
            ),
            "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;S-1-5-21-9-9-9-500)\
             (A;OICI;0x1301bf;;;LS)(A;OICI;0x1301bf;;;S-1-5-21-1-2-3-1001)"
        );
        // No ACE for Users (BU), Everyone (WD) or Authenticated Users (AU), ever.
        let s = home_sddl(Some("S-1-5-21-1"), &["NS".into()]);
        for other in [";BU)", ";WD)", ";AU)"] {
            assert!(!s.contains(other), "{s}");
        }
    }

    #[test]
    fn run_as_accounts_come_from_tasks_and_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        for (name, run_as) in
            [("a", Some("SYSTEM")), ("b", Some("CORP\\svc")), ("c", Some("system")), ("d", None)]
        {
            let mut spec = crate::task::TaskSpec::new(name, "echo", "@daily");
            spec.run_as = run_as.map(str::to_string);
            crate::task::repo::insert(store.conn(), &spec, "test").unwrap();
        }
        crate::config::set(&mut store, "run_as.default", "LOCAL SERVICE", "test").unwrap();
        assert_eq!(
            task_run_as_accounts(&store).unwrap(),
            vec!["CORP\\svc".to_string(), "LOCAL SERVICE".into(), "SYSTEM".into()]
        );
    }
}

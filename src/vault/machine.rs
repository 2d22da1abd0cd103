//! Machine-scope key method (issue 11 item 4): the data key wrapped by DPAPI with
//! `CRYPTPROTECT_LOCAL_MACHINE`, stored in `vault_keys` as kind `dpapi_machine`.
//!
//! User-scope DPAPI binds to the registering user's master key: tasks that run as SYSTEM, a
//! service account or another user cannot unwrap it (windows-deployment.md, "DPAPI scopes").
//! A machine-scope blob can be unwrapped by **any process on this machine that can read it**
//! (Microsoft Learn, CryptProtectData: "CRYPTPROTECT_LOCAL_MACHINE … any user on the computer
//! … can decrypt the data"), so the home's DACL ([`crate::fsx::acl`]) is the boundary: only
//! SYSTEM, Administrators, the registering user and the tasks' run-as accounts can read the
//! database that holds the wrapped key.
//!
//! The choice of method is a pure function ([`default_method`]) of the platform and of
//! whether any task runs as an account other than the current user ([`needs_machine_scope`]).

use zeroize::Zeroizing;

use super::{KeyMethod, KeyParams, KeyRow, NewKeyRow, VaultError, dek_from, dpapi, key_error};

/// How `orc credential keys` describes this method.
pub(super) const DETAIL: &str = "Windows DPAPI, machine scope (accounts the home admits)";

/// Wraps the data key with DPAPI in the scope of `method` (user or machine).
pub(super) fn wrap_dek(
    method: KeyMethod,
    dek: &[u8; 32],
    key_id: u32,
) -> Result<NewKeyRow, VaultError> {
    if method == KeyMethod::DpapiMachine { wrap(dek, key_id) } else { wrap_dpapi(dek, key_id) }
}

/// Unwraps a DPAPI key record of either scope.
pub(super) fn unwrap_dek(row: &KeyRow) -> Result<Zeroizing<[u8; 32]>, String> {
    let plain = if row.method == KeyMethod::DpapiMachine {
        unprotect(&row.wrapped)?
    } else {
        dpapi::unprotect(&row.wrapped)?
    };
    dek_from(&plain).ok_or_else(|| "the DPAPI record is damaged".to_string())
}

/// Wraps the data key with user-scope DPAPI (the user is recorded for `credential keys`).
fn wrap_dpapi(dek: &[u8; 32], key_id: u32) -> Result<NewKeyRow, VaultError> {
    let params = KeyParams { key_id, user: Some(crate::audit::os_user()), ..KeyParams::default() };
    let params_text = serde_json::to_string(&params).expect("params serialise");
    let wrapped = dpapi::protect(dek).map_err(key_error)?;
    Ok(NewKeyRow { method: KeyMethod::Dpapi, params_text, wrapped })
}

/// Wraps the data key with machine-scope DPAPI.
pub(super) fn wrap(dek: &[u8; 32], key_id: u32) -> Result<NewKeyRow, VaultError> {
    let params = KeyParams {
        key_id,
        host: super::hosts::bound_host(KeyMethod::DpapiMachine),
        ..KeyParams::default()
    };
    let params_text = serde_json::to_string(&params).expect("params serialise");
    let wrapped = protect(dek).map_err(key_error)?;
    Ok(NewKeyRow { method: KeyMethod::DpapiMachine, params_text, wrapped })
}

/// `CryptProtectData` with `CRYPTPROTECT_LOCAL_MACHINE` (and the same entropy as user scope).
pub(super) fn protect(plain: &[u8]) -> Result<Vec<u8>, String> {
    #[cfg(windows)]
    {
        use windows_sys::Win32::Security::Cryptography::CRYPTPROTECT_LOCAL_MACHINE;
        dpapi::imp::protect(plain, CRYPTPROTECT_LOCAL_MACHINE)
            .map_err(|e| format!("DPAPI (machine scope) CryptProtectData failed: {e}"))
    }
    #[cfg(not(windows))]
    {
        let _ = plain;
        Err("DPAPI is only available on Windows".to_string())
    }
}

/// Unwraps a machine-scope blob (the scope is recorded in the blob itself).
pub(super) fn unprotect(wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    #[cfg(windows)]
    {
        dpapi::imp::unprotect(wrapped, 0).map_err(|e| {
            format!(
                "DPAPI (machine scope) cannot unwrap the vault key ({e}); it only works on the \
                 machine that stored it"
            )
        })
    }
    #[cfg(not(windows))]
    {
        let _ = wrapped;
        Err("DPAPI is only available on Windows".to_string())
    }
}

/// True when an account (a task's run-as, or `run_as.default`) is someone other than
/// `current_user` (`DOMAIN\user` or `user`): a service account, SYSTEM, or another user.
pub fn is_other_account(account: &str, current_user: &str) -> bool {
    let a = account.trim();
    if a.is_empty() {
        return false; // the registering user
    }
    let bare = |s: &str| s.rsplit('\\').next().unwrap_or(s).to_ascii_lowercase();
    let same_domain = match (a.split_once('\\'), current_user.split_once('\\')) {
        (Some((d1, _)), Some((d2, _))) => d1 == "." || d1.eq_ignore_ascii_case(d2),
        _ => true,
    };
    !(same_domain && bare(a) == bare(current_user))
}

/// True when any of these run-as accounts is not the current user.
pub fn needs_machine_scope(run_as: &[String], current_user: &str) -> bool {
    run_as.iter().any(|a| is_other_account(a, current_user))
}

/// The method for a new vault: off Windows a key file; on Windows user-scope DPAPI, or
/// machine-scope DPAPI when tasks run as other accounts.
pub fn default_method(windows: bool, needs_machine: bool) -> KeyMethod {
    match (windows, needs_machine) {
        (false, _) => KeyMethod::KeyFile,
        (true, true) => KeyMethod::DpapiMachine,
        (true, false) => KeyMethod::Dpapi,
    }
}

/// What `orc schedule` says when tasks need a machine-scope key and the vault has none
/// (`existing`: the methods protecting the vault now; empty when there is no vault yet).
pub fn schedule_advice(
    windows: bool,
    existing: &[KeyMethod],
    run_as: &[String],
    current_user: &str,
) -> Option<String> {
    if !windows || existing.is_empty() || existing.contains(&KeyMethod::DpapiMachine) {
        return None;
    }
    let others: Vec<&str> =
        run_as.iter().filter(|a| is_other_account(a, current_user)).map(|a| a.as_str()).collect();
    if others.is_empty() {
        return None;
    }
    Some(format!(
        "tasks run as {} but the vault key is protected only for {current_user}: their \
         secrets and mail credentials cannot be opened; run `orc credential add-key \
         dpapi-machine`",
        others.join(", ")
    ))
}

/// [`crate::fsx::acl::task_run_as_accounts`] as a vault error.
fn run_as_accounts(store: &crate::store::Store) -> Result<Vec<String>, VaultError> {
    crate::fsx::acl::task_run_as_accounts(store).map_err(|e| match e {
        crate::Error::Store(s) => VaultError::Store(s),
        other => VaultError::Key { message: format!("cannot read the run-as accounts: {other}") },
    })
}

/// `orc schedule`'s advice for this store (see [`schedule_advice`]).
pub fn store_schedule_advice(
    store: &crate::store::Store,
    paths: &crate::paths::Paths,
) -> Result<Option<String>, VaultError> {
    let accounts = run_as_accounts(store)?;
    let methods: Vec<KeyMethod> =
        super::key_methods(store, paths)?.iter().map(|k| k.method).collect();
    Ok(schedule_advice(dpapi::available(), &methods, &accounts, &crate::audit::os_user()))
}

/// The run-as accounts of the tasks and `run_as.default` (see
/// [`crate::fsx::acl::task_run_as_accounts`]), and whether they need machine scope.
pub fn store_needs_machine_scope(store: &crate::store::Store) -> Result<bool, VaultError> {
    let accounts = run_as_accounts(store)?;
    Ok(needs_machine_scope(&accounts, &crate::audit::os_user()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_table() {
        let me = "HOST\\admin";
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (run-as accounts, windows, expected method for a new vault)
        let table: &[(&[&str], bool, KeyMethod)] = &[
            (&[], true, KeyMethod::Dpapi),
            (&[""], true, KeyMethod::Dpapi),
            (&["HOST\\admin"], true, KeyMethod::Dpapi),
            (&["admin"], true, KeyMethod::Dpapi),
            (&[".\\ADMIN"], true, KeyMethod::Dpapi),
            (&["SYSTEM"], true, KeyMethod::DpapiMachine),
            (&["LOCAL SERVICE"], true, KeyMethod::DpapiMachine),
            (&["S-1-5-20"], true, KeyMethod::DpapiMachine),
            (&["CORP\\gmsa$"], true, KeyMethod::DpapiMachine),
            (&["OTHER\\admin"], true, KeyMethod::DpapiMachine),
            (&["HOST\\admin", "CORP\\svc"], true, KeyMethod::DpapiMachine),
            (&["SYSTEM"], false, KeyMethod::KeyFile),
            (&[], false, KeyMethod::KeyFile),
        ];
        for (accounts, windows, want) in table {
            let got = default_method(*windows, needs_machine_scope(&v(accounts), me));
            assert_eq!(got, *want, "{accounts:?} windows={windows}");
        }
    }

    #[test]
    fn schedule_warns_only_when_a_machine_key_is_missing() {
        let me = "HOST\\admin";
        let sys = vec!["SYSTEM".to_string()];
        assert_eq!(
            schedule_advice(true, &[KeyMethod::Dpapi], &sys, me).unwrap(),
            "tasks run as SYSTEM but the vault key is protected only for HOST\\admin: their \
             secrets and mail credentials cannot be opened; run `orc credential add-key \
             dpapi-machine`"
        );
        assert!(
            schedule_advice(true, &[KeyMethod::Dpapi, KeyMethod::DpapiMachine], &sys, me).is_none()
        );
        assert!(schedule_advice(true, &[], &sys, me).is_none(), "no vault yet");
        assert!(schedule_advice(false, &[KeyMethod::KeyFile], &sys, me).is_none());
        assert!(schedule_advice(true, &[KeyMethod::Dpapi], &["admin".to_string()], me).is_none());
    }
}

/// Runs on Windows and under Wine (which implements machine-scope DPAPI).
#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;
    use crate::paths::Paths;
    use crate::store::Store;
    use crate::vault::{Actor, PassphraseSource, Purpose, Secret, Vault};

    #[test]
    fn dpapi_machine_round_trip() {
        dpapi::assert_round_trip(protect, unprotect);
    }

    #[test]
    fn rotation_with_user_and_machine_keys() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let paths = Paths::at(&home).with_key_file(dir.path().join("k.key"));
        let mut store = Store::open(&home).unwrap();
        let actor = Actor { command: "test" };
        crate::vault::set(
            &mut store,
            &paths,
            false,
            "db-pass",
            None,
            &Secret::from_string("hunter2-canary".into()),
            actor,
        )
        .unwrap();
        crate::vault::add_key(&mut store, &paths, false, KeyMethod::DpapiMachine, None, actor)
            .unwrap();
        let before: Vec<KeyMethod> =
            crate::vault::key_methods(&store, &paths).unwrap().iter().map(|k| k.method).collect();
        assert_eq!(before, vec![KeyMethod::Dpapi, KeyMethod::DpapiMachine]);
        let report = crate::vault::rotate_key(
            &mut store,
            &paths,
            PassphraseSource::Ambient { interactive: false },
            actor,
        )
        .unwrap();
        assert_eq!((report.old_key_id, report.new_key_id), (1, 2));
        let keys = crate::vault::key_methods(&store, &paths).unwrap();
        assert_eq!(
            keys.iter().map(|k| (k.method, k.key_id)).collect::<Vec<_>>(),
            vec![(KeyMethod::Dpapi, 2), (KeyMethod::DpapiMachine, 2)]
        );
        // Each method alone still opens the rotated vault.
        for remove in [KeyMethod::Dpapi, KeyMethod::DpapiMachine] {
            let kind = remove.as_str();
            let c = rusqlite::Connection::open(store.path()).unwrap();
            let saved: Vec<u8> = c
                .query_row("SELECT wrapped FROM vault_keys WHERE kind = ?1", [kind], |r| r.get(0))
                .unwrap();
            c.execute("UPDATE vault_keys SET wrapped = x'00' WHERE kind = ?1", [kind]).unwrap();
            let v = Vault::unlock(&store, &paths, false).unwrap();
            assert_ne!(v.unlocked_by(), remove);
            assert_eq!(
                v.get(&store, "db-pass", Purpose::TaskEnv).unwrap().expose(),
                b"hunter2-canary"
            );
            c.execute(
                "UPDATE vault_keys SET wrapped = ?1 WHERE kind = ?2",
                rusqlite::params![saved, kind],
            )
            .unwrap();
        }
    }
}

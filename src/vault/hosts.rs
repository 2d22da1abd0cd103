//! Secrets in a fleet (issue 18): the data key wrapped once per host.
//!
//! A machine-scope wrap only opens on the machine that made it: DPAPI machine scope is bound
//! to that computer ([`super::machine`]), and a key-file wrap needs the file, which lives on
//! that host (the key-file method is the machine-scope method where DPAPI does not exist).
//! So every such wrap records the host it was made on (`host` in its `params` JSON; rows made
//! before fleets have none and are tried everywhere, as before). Unlocking tries only the wraps
//! of this host, the host-less ones and the passphrase; wraps of other hosts are skipped
//! without being reported as failures.
//!
//! - [`enroll`] (`orc host enroll`, run on the new host): unlock with a method that is not
//!   bound to a host — the passphrase, or a key file an existing host exported — and add this
//!   host's own machine-scope wrap (replacing an earlier one of this host);
//! - [`revoke_host`] (`orc host rm|revoke`): drop a host's wraps, never the last wrap that
//!   opens the vault.

use std::path::PathBuf;

use serde_json::json;

use super::credentials::{Actor, checkpoint};
use super::keys::{
    KeyMethod, KeyRow, insert_key_row, load_keys, load_keys_tx, method_label, new_row_for,
    unwrap_with_kek,
};
use super::passphrase::{self, PassphraseSource};
use super::{VaultError, dpapi, keyfile, tx_err};
use crate::audit;
use crate::error::Error;
use crate::fleet::same_host;
use crate::paths::Paths;
use crate::store::Store;

/// The audit object of a host's wrap.
const AUDIT_OBJECT: &str = "host_key";

/// Whether wraps of `method` only open on the host that made them.
pub(super) fn is_host_bound(method: KeyMethod) -> bool {
    matches!(method, KeyMethod::DpapiMachine | KeyMethod::KeyFile)
}

/// The host a new wrap of `method` records: this host for a host-bound method.
pub(super) fn bound_host(method: KeyMethod) -> Option<String> {
    is_host_bound(method).then(crate::fleet::this_host)
}

/// The machine-scope method of this platform: what `orc host enroll` adds.
pub fn host_method() -> KeyMethod {
    if dpapi::available() { KeyMethod::DpapiMachine } else { KeyMethod::KeyFile }
}

impl KeyRow {
    /// Whether unlocking on `host` tries this wrap (its own, or one without a host).
    pub(super) fn usable_on(&self, host: &str) -> bool {
        self.params.host.as_deref().is_none_or(|h| same_host(h, host))
    }

    /// Whether this wrap was made on `host`.
    pub(super) fn made_on(&self, host: &str) -> bool {
        self.params.host.as_deref().is_some_and(|h| same_host(h, host))
    }
}

/// The sentence a locked vault adds when wraps of other hosts were skipped.
pub(super) fn skipped_note(rows: &[KeyRow], here: &str) -> Option<String> {
    let mut others: Vec<&str> = rows
        .iter()
        .filter(|r| !r.usable_on(here))
        .filter_map(|r| r.params.host.as_deref())
        .collect();
    others.sort_unstable();
    others.dedup();
    (!others.is_empty()).then(|| {
        format!(
            "the vault key is wrapped for host {} but not for this host ({here}): enroll it \
             with `orc host enroll`",
            others.join(", ")
        )
    })
}

/// The existing key that approves an enrolment (one not bound to a host).
pub enum EnrollKey {
    /// The passphrase (`ORC_VAULT_PASSPHRASE`, else the CLI's prompt when interactive).
    Passphrase(PassphraseSource),
    /// A key file of an existing host (copied from it over a secure channel).
    KeyFile(PathBuf),
}

/// What [`enroll`] did.
#[derive(Debug, Clone)]
pub struct EnrollReport {
    pub host: String,
    pub method: KeyMethod,
    /// This host had a wrap already (it was replaced).
    pub replaced: bool,
    /// The key file that now opens the vault here (key-file method).
    pub key_file: Option<PathBuf>,
}

fn locked(reason: impl Into<String>) -> VaultError {
    VaultError::Locked { reason: reason.into() }
}

/// Opens the data key with `key`, never with a host-bound wrap of this host.
fn approve(
    rows: &[KeyRow],
    key: &EnrollKey,
) -> Result<(zeroize::Zeroizing<[u8; 32]>, u32), VaultError> {
    match key {
        EnrollKey::KeyFile(path) => {
            let kek = keyfile::read(path).map_err(|p| locked(p.describe(path)))?;
            let fp = keyfile::fingerprint(&kek);
            let row = rows
                .iter()
                .find(|r| {
                    r.method == KeyMethod::KeyFile && r.params.fingerprint.as_deref() == Some(&fp)
                })
                .ok_or_else(|| {
                    locked(format!("key file {} does not open this vault", path.display()))
                })?;
            let dek = unwrap_with_kek(row, &kek).ok_or_else(|| {
                locked(format!("key file {}: the wrapped key record is damaged", path.display()))
            })?;
            Ok((dek, row.params.key_id))
        }
        EnrollKey::Passphrase(source) => {
            let row = rows.iter().find(|r| r.method == KeyMethod::Passphrase).ok_or_else(|| {
                locked(
                    "the vault has no passphrase: approve this host with an existing host's key \
                     file (--key-file PATH)",
                )
            })?;
            let (dek, _) = passphrase::unlock(row, source).map_err(locked)?;
            Ok((dek, row.params.key_id))
        }
    }
}

/// `orc host enroll`: unlocks with `key` and adds this host's machine-scope wrap (replacing
/// an earlier one of this host), with an audit row. Nothing changes when `key` does not open
/// the vault (exit 6).
pub fn enroll(
    store: &mut Store,
    paths: &Paths,
    key: EnrollKey,
    actor: Actor<'_>,
) -> Result<EnrollReport, Error> {
    let rows = load_keys(store)?;
    if rows.is_empty() {
        return Err(locked(
            "no vault has been set up yet (store a credential with `orc credential set`)",
        )
        .into());
    }
    let (dek, key_id) = approve(&rows, &key)?;
    let host = crate::fleet::this_host();
    let method = host_method();
    let row = new_row_for(method, &dek, key_id, paths, None)?;
    let replaced = store.write(|tx| -> Result<bool, VaultError> {
        let old: Vec<i64> = load_keys_tx(tx)?
            .iter()
            .filter(|r| r.method == method && r.made_on(&host))
            .map(|r| r.id)
            .collect();
        for id in &old {
            tx.execute("DELETE FROM vault_keys WHERE id = ?1", [id])
                .map_err(tx_err("replace vault key"))?;
        }
        insert_key_row(tx, &row)?;
        let before = (!old.is_empty()).then(|| json!({ "method": method.as_str() }));
        let after = json!({ "method": method.as_str(), "key_id": key_id });
        audit::record(tx, actor.command, AUDIT_OBJECT, Some(&host), before.as_ref(), Some(&after))?;
        Ok(!old.is_empty())
    })?;
    checkpoint(store);
    let key_file = (method == KeyMethod::KeyFile).then(|| paths.key_file()).flatten();
    Ok(EnrollReport { host, method, replaced, key_file })
}

/// Removes the wraps made on `host` inside the caller's write transaction, with an audit row;
/// refused (exit 2) when no wrap would be left to open the vault. Returns how many went.
pub fn revoke_host(
    tx: &crate::store::sql::Connection,
    host: &str,
    actor: Actor<'_>,
) -> Result<usize, Error> {
    let rows = load_keys_tx(tx)?;
    let doomed: Vec<&KeyRow> = rows.iter().filter(|r| r.made_on(host)).collect();
    if doomed.is_empty() {
        return Ok(0);
    }
    if doomed.len() == rows.len() {
        return Err(Error::invalid(
            "host name",
            host,
            "its vault key wrap is the last one that opens the vault; enroll another host or \
             add a passphrase (`orc credential add-key passphrase`) first",
        ));
    }
    for r in &doomed {
        tx.execute("DELETE FROM vault_keys WHERE id = ?1", [r.id])
            .map_err(|e| VaultError::from(tx_err("revoke vault key")(e)))?;
    }
    let methods: Vec<&str> = doomed.iter().map(|r| method_label(r.method)).collect();
    let before = json!({ "methods": methods });
    audit::record(tx, actor.command, AUDIT_OBJECT, Some(host), Some(&before), None)
        .map_err(Error::Store)?;
    Ok(doomed.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::keys::KeyParams;

    fn row(method: KeyMethod, host: Option<&str>) -> KeyRow {
        let params = KeyParams { key_id: 1, host: host.map(Into::into), ..KeyParams::default() };
        KeyRow {
            id: 1,
            method,
            params_text: params.to_text(),
            params,
            wrapped: Vec::new(),
            created_at: String::new(),
        }
    }

    #[test]
    fn which_wraps_a_host_tries() {
        let legacy = row(KeyMethod::KeyFile, None);
        let a = row(KeyMethod::KeyFile, Some("srv-a.corp.example.com"));
        assert!(legacy.usable_on("b") && !legacy.made_on("b"), "host-less rows work anywhere");
        assert!(a.usable_on("SRV-A") && a.made_on("srv-a"), "same host, short name, any case");
        assert!(!a.usable_on("srv-b") && !a.made_on("srv-b"));
        let rows = [a, row(KeyMethod::DpapiMachine, Some("c")), row(KeyMethod::Passphrase, None)];
        assert_eq!(
            skipped_note(&rows, "b").unwrap(),
            "the vault key is wrapped for host c, srv-a.corp.example.com but not for this host \
             (b): enroll it with `orc host enroll`"
        );
        assert_eq!(skipped_note(&rows[..1], "srv-a"), None);
    }

    #[test]
    fn host_bound_methods_record_this_host() {
        assert!(bound_host(KeyMethod::KeyFile).is_some());
        assert!(bound_host(KeyMethod::DpapiMachine).is_some());
        assert_eq!(bound_host(KeyMethod::Dpapi), None);
        assert_eq!(bound_host(KeyMethod::Passphrase), None);
    }
}

/// Runs on Windows and under Wine (which implements machine-scope DPAPI).
#[cfg(all(test, windows))]
mod windows_tests {
    use super::*;
    use crate::vault::{Purpose, Secret, Vault};

    #[test]
    fn enroll_adds_this_hosts_dpapi_machine_wrap_and_other_hosts_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let key = dir.path().join("k.key");
        let paths = Paths::at(&home).with_key_file(key.clone());
        let mut store = Store::open(&home).unwrap();
        let actor = Actor { command: "test" };
        let secret = Secret::from_string("hunter2-canary".into());
        crate::vault::set(&mut store, &paths, false, "db-pass", None, &secret, actor).unwrap();
        crate::vault::add_key(&mut store, &paths, false, KeyMethod::KeyFile, None, actor).unwrap();
        let here = crate::fleet::this_host();
        for replaced in [false, true] {
            let report =
                enroll(&mut store, &paths, EnrollKey::KeyFile(key.clone()), actor).unwrap();
            assert_eq!((report.method, report.replaced), (KeyMethod::DpapiMachine, replaced));
            assert_eq!(report.host, here);
        }
        let listed: Vec<(KeyMethod, Option<String>)> = crate::vault::key_methods(&store, &paths)
            .unwrap()
            .into_iter()
            .map(|k| (k.method, k.host))
            .collect();
        assert_eq!(
            listed,
            vec![
                (KeyMethod::Dpapi, None),
                (KeyMethod::DpapiMachine, Some(here.clone())),
                (KeyMethod::KeyFile, Some(here.clone())),
            ]
        );
        // The machine-scope wrap alone opens the vault on this host …
        let c = rusqlite::Connection::open(store.path()).unwrap();
        c.execute("DELETE FROM vault_keys WHERE kind <> 'dpapi_machine'", []).unwrap();
        let v = Vault::unlock(&store, &paths, false).unwrap();
        assert_eq!(v.unlocked_by(), KeyMethod::DpapiMachine);
        assert_eq!(v.get(&store, "db-pass", Purpose::TaskEnv).unwrap().expose(), b"hunter2-canary");
        // … and is not tried when it belongs to another host.
        let params = serde_json::json!({ "key_id": 1, "host": "elsewhere" }).to_string();
        c.execute("UPDATE vault_keys SET params = ?1", [params]).unwrap();
        let err = Vault::unlock(&store, &paths, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "secrets are locked: the vault key is wrapped for host elsewhere but not for this \
                 host ({here}): enroll it with `orc host enroll`"
            )
        );
    }
}

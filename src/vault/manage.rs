//! Key management: list how the vault key is protected, add and remove an unlock method, and
//! rotate the data key (re-encrypting every credential).

use std::path::PathBuf;

use serde::Serialize;
use serde_json::json;
use zeroize::Zeroizing;

use super::credentials::{Actor, CredRow, checkpoint};
use super::handle::Vault;
use super::keys::{self, KeyMethod, insert_key_row, load_keys, method_label, new_row_for};
use super::passphrase::{self, PassphraseSource, validate_new_passphrase};
use super::secret::{CredentialKind, Purpose};
use super::{VaultError, dpapi, key_error, keyfile, machine, tx_err};
use crate::audit;
use crate::error::Error;
use crate::paths::Paths;
use crate::store::Store;

/// One way the vault key is protected, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub method: KeyMethod,
    pub key_id: u32,
    pub created_at: String,
    /// The host a machine-scope wrap belongs to (none: any host, made before fleets).
    pub host: Option<String>,
    /// Human detail: key file path and state, KDF parameters, DPAPI user.
    pub detail: String,
}

/// How the vault key is protected (empty when no vault exists yet).
pub fn key_methods(store: &Store, paths: &Paths) -> Result<Vec<KeyInfo>, VaultError> {
    let rows = load_keys(store)?;
    let here = crate::fleet::this_host();
    Ok(rows
        .iter()
        .map(|row| {
            let detail = match row.method {
                _ if !row.usable_on(&here) => format!(
                    "{} on host {} (not tried here)",
                    row.params.path.as_deref().unwrap_or(method_label(row.method)),
                    row.params.host.as_deref().unwrap_or("?")
                ),
                KeyMethod::Dpapi => format!(
                    "Windows DPAPI, user scope (user {})",
                    row.params.user.as_deref().unwrap_or("?")
                ),
                KeyMethod::DpapiMachine => machine::DETAIL.to_string(),
                KeyMethod::KeyFile => match paths.key_file() {
                    Some(p) => {
                        let state = match keyfile::read(&p) {
                            Ok(k) if Some(keyfile::fingerprint(&k)) == row.params.fingerprint => {
                                "present".to_string()
                            }
                            Ok(_) => "present but belongs to another vault".to_string(),
                            Err(problem) => problem.describe(&p),
                        };
                        format!("{} ({state})", p.display())
                    }
                    None => "no key file location".to_string(),
                },
                KeyMethod::Passphrase => {
                    format!("PBKDF2-HMAC-SHA256, {} iterations", row.params.iterations.unwrap_or(0))
                }
            };
            KeyInfo {
                method: row.method,
                key_id: row.params.key_id,
                created_at: row.created_at.clone(),
                host: row.params.host.clone(),
                detail,
            }
        })
        .collect())
}

/// Adds an unlock method (creating the vault if none exists yet).
pub fn add_key(
    store: &mut Store,
    paths: &Paths,
    interactive: bool,
    method: KeyMethod,
    new_passphrase: Option<&str>,
    actor: Actor<'_>,
) -> Result<(), Error> {
    if method == KeyMethod::Passphrase {
        validate_new_passphrase(new_passphrase.unwrap_or(""))?;
    }
    if matches!(method, KeyMethod::Dpapi | KeyMethod::DpapiMachine) && !dpapi::available() {
        return Err(Error::invalid("method", "dpapi", "DPAPI is only available on Windows"));
    }
    let vault = Vault::open_or_create(store, paths, interactive, actor)?;
    let here = crate::fleet::this_host();
    if load_keys(store)?.iter().any(|r| r.method == method && r.usable_on(&here)) {
        return Err(Error::invalid(
            "method",
            method_label(method),
            "the vault key is already protected this way (remove-key first to replace it)",
        ));
    }
    let row = new_row_for(method, &vault.dek, vault.key_id, paths, new_passphrase)?;
    store.write(|tx| -> Result<(), VaultError> {
        insert_key_row(tx, &row)?;
        let after = json!({ "method": method.as_str(), "key_id": vault.key_id });
        audit::record(tx, actor.command, "vault_key", Some(method.as_str()), None, Some(&after))?;
        Ok(())
    })?;
    Ok(())
}

/// Removes an unlock method; the last one cannot be removed. The vault must unlock first
/// (so nobody removes the only working method by mistake).
pub fn remove_key(
    store: &mut Store,
    paths: &Paths,
    interactive: bool,
    method: KeyMethod,
    actor: Actor<'_>,
) -> Result<(), Error> {
    let rows = load_keys(store)?;
    // A host-bound method is removed on this host only (other hosts keep theirs).
    let here = crate::fleet::this_host();
    let doomed: Vec<i64> =
        rows.iter().filter(|r| r.method == method && r.usable_on(&here)).map(|r| r.id).collect();
    if doomed.is_empty() {
        return Err(Error::invalid(
            "method",
            method_label(method),
            "the vault key is not protected this way (see `orc credential keys`)",
        ));
    }
    if doomed.len() == rows.len() {
        return Err(Error::invalid(
            "method",
            method_label(method),
            "it is the only way the vault key is protected; add another method first",
        ));
    }
    let vault = Vault::unlock(store, paths, interactive)?;
    if vault.unlocked_by == method
        && !rows.iter().any(|r| r.method != method && r.method != KeyMethod::Passphrase)
        && crate::env_vars::get(crate::env_vars::ORC_VAULT_PASSPHRASE).is_none()
    {
        tracing::warn!(
            "after this, only the passphrase unlocks the vault: scheduled runs need \
             ORC_VAULT_PASSPHRASE"
        );
    }
    store.write(|tx| -> Result<(), VaultError> {
        for id in &doomed {
            tx.execute("DELETE FROM vault_keys WHERE id = ?1", [id])
                .map_err(tx_err("remove vault key"))?;
        }
        let before = json!({ "method": method.as_str() });
        audit::record(tx, actor.command, "vault_key", Some(method.as_str()), Some(&before), None)?;
        Ok(())
    })?;
    checkpoint(store);
    Ok(())
}

/// What [`rotate_key`] did.
#[derive(Debug, Clone)]
pub struct RotateReport {
    pub old_key_id: u32,
    pub new_key_id: u32,
    pub credentials: usize,
    pub methods: Vec<KeyMethod>,
    pub key_file: Option<PathBuf>,
    /// Hosts whose machine-scope wraps were dropped (they must run `orc host enroll` again).
    pub dropped_hosts: Vec<String>,
}

/// Generates a new data key, re-encrypts every credential under it and re-wraps it with every
/// method (a new random key-file key too). The passphrase, if one protects the vault, must be
/// supplied (it is checked against the current record first).
pub fn rotate_key(
    store: &mut Store,
    paths: &Paths,
    source: PassphraseSource,
    actor: Actor<'_>,
) -> Result<RotateReport, Error> {
    let all_rows = load_keys(store)?;
    // Other hosts' wraps cannot be re-made here: they are dropped (and those hosts re-enroll);
    // one wrap per method is re-made for this host.
    let here = crate::fleet::this_host();
    let mut dropped_hosts: Vec<String> = all_rows
        .iter()
        .filter(|r| !r.usable_on(&here))
        .filter_map(|r| r.params.host.clone())
        .collect();
    dropped_hosts.sort_unstable();
    dropped_hosts.dedup();
    let mut rows: Vec<&keys::KeyRow> = all_rows.iter().filter(|r| r.usable_on(&here)).collect();
    rows.dedup_by_key(|r| r.method);
    if all_rows.is_empty() {
        return Err(VaultError::Locked {
            reason: "no vault has been set up yet (store a credential with `orc credential set`)"
                .into(),
        }
        .into());
    }
    let mut old = Vault::unlock_with(store, paths, &source)?;
    // The passphrase (if any) is needed to re-wrap: get it and prove it is the right one.
    let mut passphrase: Option<Zeroizing<String>> = None;
    if let Some(row) = rows.iter().find(|r| r.method == KeyMethod::Passphrase) {
        let p = match (old.passphrase.take(), source) {
            (Some(p), _) => p, // it unlocked the vault just now
            (None, source) => {
                let p = passphrase::obtain(
                    source,
                    "Vault passphrase (needed to re-protect the new key)",
                )
                .map_err(|reason| VaultError::Locked { reason })?;
                passphrase::unwrap(row, &p).map_err(|reason| VaultError::Locked { reason })?;
                p
            }
        };
        passphrase = Some(p);
    }
    let new_dek = keys::new_dek()?;
    let new_key_id =
        old.key_id.checked_add(1).ok_or_else(|| key_error("key generation overflow"))?;
    let new =
        Vault { dek: new_dek, key_id: new_key_id, unlocked_by: old.unlocked_by, passphrase: None };

    let mut new_rows = Vec::new();
    let mut key_file = None;
    for row in &rows {
        let r = match row.method {
            KeyMethod::KeyFile => {
                let path = keyfile::location(paths).map_err(key_error)?;
                let kek = keyfile::create_pending(&path).map_err(key_error)?;
                key_file = Some(path.clone());
                keyfile::wrap(&new.dek, new_key_id, &kek, &path)?
            }
            m => new_row_for(
                m,
                &new.dek,
                new_key_id,
                paths,
                passphrase.as_deref().map(|s| s.as_str()),
            )?,
        };
        new_rows.push(r);
    }
    let result = store.write(|tx| -> Result<usize, VaultError> {
        let mut stmt = tx
            .prepare("SELECT id, name, kind, envelope FROM credentials ORDER BY id")
            .map_err(tx_err("read credentials"))?;
        let creds: Vec<CredRow> = stmt
            .query_map([], |r| {
                Ok(CredRow { id: r.get(0)?, name: r.get(1)?, kind: r.get(2)?, envelope: r.get(3)? })
            })
            .map_err(tx_err("read credentials"))?
            .collect::<Result<_, _>>()
            .map_err(tx_err("read credentials"))?;
        drop(stmt);
        for c in &creds {
            let kind = CredentialKind::parse(&c.kind)
                .ok_or_else(|| VaultError::CannotDecrypt { name: c.name.clone() })?;
            let plain = old.decrypt_row(c, Purpose::Rotate)?;
            let sealed = new.seal_row(c.id, kind, &c.name, plain.expose())?;
            tx.execute(
                "UPDATE credentials SET envelope = ?1 WHERE id = ?2",
                crate::store::sql::params![sealed, c.id],
            )
            .map_err(tx_err("re-encrypt credential"))?;
        }
        tx.execute("DELETE FROM vault_keys", []).map_err(tx_err("replace vault keys"))?;
        for r in &new_rows {
            insert_key_row(tx, r)?;
        }
        let before = json!({ "key_id": old.key_id });
        let after = json!({ "key_id": new_key_id, "credentials": creds.len() });
        audit::record(tx, actor.command, "vault", None, Some(&before), Some(&after))?;
        Ok(creds.len())
    });
    let credentials = match result {
        Ok(n) => n,
        Err(e) => {
            if let Some(p) = &key_file {
                let _ = std::fs::remove_file(keyfile::pending_path(p));
            }
            return Err(e.into());
        }
    };
    if let Some(p) = &key_file {
        // If this fails, the next unlock finds the pending file and finishes the job.
        keyfile::commit_pending(p).map_err(key_error)?;
    }
    checkpoint(store);
    Ok(RotateReport {
        old_key_id: old.key_id,
        new_key_id,
        credentials,
        methods: rows.iter().map(|r| r.method).collect(),
        key_file,
        dropped_hosts,
    })
}

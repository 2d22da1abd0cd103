//! The unlocked vault: the data key of the current generation. Unlocking tries each stored
//! method in order; creating a vault wraps a new data key with the platform's default method;
//! credentials are decrypted and sealed under the data key here.

use serde_json::json;
use zeroize::Zeroizing;

use super::credentials::{Actor, CredRow, SetOutcome, count_credentials, find_credential};
use super::envelope::{self, Binding};
use super::keys::{self, KeyMethod, insert_key_row, load_keys};
use super::passphrase::{self, PassphraseSource};
use super::secret::{CredentialKind, Purpose, Secret};
use super::{VaultError, dpapi, key_error, keyfile, machine, tx_err};
use crate::audit;
use crate::paths::Paths;
use crate::store::{Store, to_db_time};

/// An unlocked vault: the data key of the current generation.
pub struct Vault {
    pub(super) dek: Zeroizing<[u8; 32]>,
    pub(super) key_id: u32,
    pub(super) unlocked_by: KeyMethod,
    /// The passphrase that unlocked it (kept only so a key rotation need not ask again).
    pub(super) passphrase: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault(key_id {}, unlocked by {})", self.key_id, self.unlocked_by.as_str())
    }
}

impl Vault {
    /// Unlocks an existing vault: DPAPI → key file → passphrase. Never prompts unless
    /// `interactive` and a terminal is attached.
    pub fn unlock(store: &Store, paths: &Paths, interactive: bool) -> Result<Vault, VaultError> {
        Vault::unlock_with(store, paths, &PassphraseSource::Ambient { interactive })
    }

    pub(super) fn unlock_with(
        store: &Store,
        paths: &Paths,
        source: &PassphraseSource,
    ) -> Result<Vault, VaultError> {
        let rows = load_keys(store)?;
        if rows.is_empty() {
            let reason = if count_credentials(store)? > 0 {
                "the vault's key records are missing from the database (damaged, or restored \
                 without them); the stored credentials cannot be decrypted"
            } else {
                "no vault has been set up yet (store a credential with `orc credential set`)"
            };
            return Err(VaultError::Locked { reason: reason.to_string() });
        }
        let mut reasons = Vec::new();
        let mut used_passphrase: Option<Zeroizing<String>> = None;
        let here = crate::fleet::this_host();
        for row in rows.iter().filter(|r| r.usable_on(&here)) {
            let attempt = match row.method {
                KeyMethod::Dpapi | KeyMethod::DpapiMachine => machine::unwrap_dek(row),
                KeyMethod::KeyFile => keyfile::unwrap(row, paths),
                KeyMethod::Passphrase => passphrase::unlock(row, source).map(|(dek, p)| {
                    used_passphrase = Some(p);
                    dek
                }),
            };
            match attempt {
                Ok(dek) => {
                    for r in &reasons {
                        tracing::warn!("vault: {r}");
                    }
                    tracing::debug!(method = row.method.as_str(), "vault unlocked");
                    return Ok(Vault {
                        dek,
                        key_id: row.params.key_id,
                        unlocked_by: row.method,
                        passphrase: used_passphrase,
                    });
                }
                Err(reason) => reasons.push(reason),
            }
        }
        reasons.extend(super::hosts::skipped_note(&rows, &here));
        Err(VaultError::Locked { reason: reasons.join("; ") })
    }

    /// Unlocks the vault, creating it (with the platform's default method) if none exists.
    pub fn open_or_create(
        store: &mut Store,
        paths: &Paths,
        interactive: bool,
        actor: Actor<'_>,
    ) -> Result<Vault, VaultError> {
        let method =
            machine::default_method(dpapi::available(), machine::store_needs_machine_scope(store)?);
        Vault::open_or_create_with(store, paths, interactive, method, actor)
    }

    /// [`Vault::open_or_create`] with an explicit method for a new vault (DPAPI falls back to
    /// a key file when it fails; a passphrase is not a valid first method).
    pub(super) fn open_or_create_with(
        store: &mut Store,
        paths: &Paths,
        interactive: bool,
        mut method: KeyMethod,
        actor: Actor<'_>,
    ) -> Result<Vault, VaultError> {
        if !load_keys(store)?.is_empty() {
            return Vault::unlock(store, paths, interactive);
        }
        if count_credentials(store)? > 0 {
            return Vault::unlock(store, paths, interactive); // reports the missing records
        }
        let dek = keys::new_dek()?;
        let key_id = 1;
        let row = match method {
            KeyMethod::Dpapi | KeyMethod::DpapiMachine => {
                match machine::wrap_dek(method, &dek, key_id) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!("{e}; protecting the vault key with a key file instead");
                        method = KeyMethod::KeyFile;
                        keyfile::new_row(&dek, key_id, paths)?
                    }
                }
            }
            _ => keyfile::new_row(&dek, key_id, paths)?,
        };
        let created = store.write(|tx| -> Result<bool, VaultError> {
            let n: i64 = tx
                .query_row("SELECT count(*) FROM vault_keys", [], |r| r.get(0))
                .map_err(tx_err("read vault keys"))?;
            if n > 0 {
                return Ok(false); // another process created it meanwhile
            }
            insert_key_row(tx, &row)?;
            audit::record(
                tx,
                actor.command,
                "vault",
                None,
                None,
                Some(&json!({ "created": true, "key_id": key_id, "method": method.as_str() })),
            )?;
            Ok(true)
        })?;
        if !created {
            return Vault::unlock(store, paths, interactive);
        }
        Ok(Vault { dek, key_id, unlocked_by: method, passphrase: None })
    }

    /// The data-key generation.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The method that unlocked it.
    pub fn unlocked_by(&self) -> KeyMethod {
        self.unlocked_by
    }

    /// Decrypts one credential for a purpose.
    pub fn get(&self, store: &Store, name: &str, purpose: Purpose) -> Result<Secret, VaultError> {
        let row = find_credential(store, name)?
            .ok_or_else(|| VaultError::NotFound { name: name.to_string() })?;
        self.decrypt_row(&row, purpose)
    }

    pub(super) fn decrypt_row(
        &self,
        row: &CredRow,
        purpose: Purpose,
    ) -> Result<Secret, VaultError> {
        let undecryptable = || VaultError::CannotDecrypt { name: row.name.clone() };
        let kind = CredentialKind::parse(&row.kind).ok_or_else(undecryptable)?;
        if !purpose.allows(kind) {
            let (what, wanted) = purpose.describe();
            return Err(VaultError::WrongKind {
                name: row.name.clone(),
                kind: row.kind.clone(),
                purpose: what,
                wanted,
            });
        }
        let owner = row.id.to_string();
        let binding = Binding { kind: &row.kind, owner: &owner, name: &row.name };
        let plain = envelope::open(&self.dek, self.key_id, &binding, &row.envelope)
            .map_err(|_| undecryptable())?;
        Ok(Secret::new(plain.to_vec()))
    }

    pub(super) fn seal_row(
        &self,
        id: i64,
        kind: CredentialKind,
        name: &str,
        value: &[u8],
    ) -> Result<Vec<u8>, VaultError> {
        let owner = id.to_string();
        let binding = Binding { kind: kind.as_str(), owner: &owner, name };
        envelope::seal(&self.dek, self.key_id, &binding, value).map_err(|e| key_error(e.0))
    }

    /// Stores (or replaces) a credential inside the caller's write transaction, with its
    /// audit row. `kind: None` keeps an existing credential's kind (`secret` for a new one).
    /// The caller validates the name and value and checkpoints the WAL afterwards.
    pub fn store(
        &self,
        tx: &crate::store::sql::Connection,
        name: &str,
        kind: Option<CredentialKind>,
        value: &Secret,
        actor: Actor<'_>,
    ) -> Result<SetOutcome, VaultError> {
        use crate::store::sql::OptionalExtension;
        let existing: Option<(i64, String, String)> = tx
            .query_row("SELECT id, name, kind FROM credentials WHERE name = ?1", [name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(tx_err("read credential"))?;
        let now = to_db_time(crate::clock::now_utc());
        let (id, stored_name, old_kind, outcome) = match existing {
            Some((id, stored, k)) => (id, stored, CredentialKind::parse(&k), SetOutcome::Replaced),
            None => {
                let id = tx
                    .query_row(
                        "INSERT INTO credentials (name, kind, envelope, created_at, updated_at) \
                         VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
                        crate::store::sql::params![
                            name,
                            kind.unwrap_or(CredentialKind::Secret).as_str(),
                            Vec::<u8>::new(),
                            now
                        ],
                        |r| r.get(0),
                    )
                    .map_err(tx_err("store credential"))?;
                (id, name.to_string(), None, SetOutcome::Created)
            }
        };
        let kind = kind.or(old_kind).unwrap_or(CredentialKind::Secret);
        let sealed = self.seal_row(id, kind, &stored_name, value.expose())?;
        tx.execute(
            "UPDATE credentials SET kind = ?1, envelope = ?2, updated_at = ?3 WHERE id = ?4",
            crate::store::sql::params![kind.as_str(), sealed, now, id],
        )
        .map_err(tx_err("store credential"))?;
        let before = old_kind.map(|k| json!({ "kind": k.as_str() }));
        let after = json!({ "kind": kind.as_str(), "key_id": self.key_id });
        audit::record(
            tx,
            actor.command,
            "credential",
            Some(&stored_name),
            before.as_ref(),
            Some(&after),
        )?;
        Ok(outcome)
    }
}

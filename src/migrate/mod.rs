//! `orc migrate --from-legacy`: tasks, history, settings and secrets from the legacy Python
//! orchestrator's SQLite database.
//!
//! - [`legacy`]: reading the legacy file (read-only);
//! - [`plan`]: the pure mapping (renames, commands, schedules, dependencies, history, settings);
//! - [`winsched`]: legacy windows-style schedules → cron, exact or refused;
//! - [`fernet`]: the legacy secrets (Fernet tokens) — verification and decryption;
//! - this module: reading what orc holds, decrypting, and the one-transaction import.

pub mod fernet;
pub mod legacy;
pub mod legacy_tasks;
pub mod plan;
pub mod winsched;

use std::collections::{BTreeMap, HashSet};

use crate::store::sql::{Connection, params};
use base64::Engine;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::{Store, classify};
use crate::vault::VaultError;

pub use plan::{Existing, Plan, Target};

fn db_err<'c>(
    conn: &'c Connection,
    context: &'static str,
) -> impl Fn(crate::store::sql::Error) -> Error + 'c {
    move |e| Error::Store(classify(std::path::Path::new(conn.path().unwrap_or("")), context, e))
}

/// What orc already holds that planning needs.
pub fn existing(conn: &Connection) -> Result<Existing> {
    let mut out = Existing {
        tasks: crate::task::repo::list(conn)?.into_iter().map(|t| t.spec.name).collect(),
        ..Existing::default()
    };
    let err = db_err(conn, "read migration state");
    let mut stmt = conn
        .prepare("SELECT legacy_key, orc_key FROM legacy_map WHERE kind = 'task'")
        .map_err(&err)?;
    out.mapped = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(&err)?
        .collect::<crate::store::sql::Result<BTreeMap<_, _>>>()
        .map_err(&err)?;
    let mut stmt =
        conn.prepare("SELECT source FROM runs WHERE source LIKE 'legacy:%'").map_err(&err)?;
    out.sources = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(&err)?
        .collect::<crate::store::sql::Result<HashSet<_>>>()
        .map_err(&err)?;
    out.config = crate::config::table::read_raw(conn).map_err(&err)?;
    Ok(out)
}

/// A decrypted legacy secret (zeroed on drop).
pub struct Decrypted {
    pub credential: String,
    pub description: Option<String>,
    pub value: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Decrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decrypted").field("credential", &self.credential).finish_non_exhaustive()
    }
}

/// Decrypts every legacy secret with the master password. A token that does not authenticate
/// means the password is wrong (or the database was tampered with): exit 6, nothing imported.
pub fn decrypt_all(db: &legacy::LegacyDb, password: &[u8]) -> Result<Vec<Decrypted>> {
    if db.secrets.is_empty() {
        return Ok(Vec::new());
    }
    let salt_text = db.config.get("system_salt").ok_or_else(|| {
        Error::Vault(VaultError::Locked {
            reason: "the legacy database has no config.system_salt, so its secrets cannot be \
                     decrypted"
                .into(),
        })
    })?;
    let salt = base64::engine::general_purpose::STANDARD.decode(salt_text.trim()).map_err(|e| {
        Error::Vault(VaultError::Locked {
            reason: format!("the legacy config.system_salt is not base64 ({e})"),
        })
    })?;
    let key = fernet::FernetKey::derive_legacy(password, &salt);
    let mut out = Vec::new();
    for s in &db.secrets {
        let value = key.decrypt(&s.token).map_err(|e| {
            let what = match e {
                fernet::FernetError::BadMac => "the legacy master password is wrong".to_string(),
                other => other.to_string(),
            };
            Error::Vault(VaultError::Locked {
                reason: format!(
                    "{what}: legacy secret {}.{} does not decrypt; nothing was imported",
                    if s.source == "config" { "config" } else { "credentials" },
                    s.name
                ),
            })
        })?;
        out.push(Decrypted {
            credential: plan::credential_name(s.source, &s.name),
            description: s.description.clone(),
            value,
        })
    }
    Ok(out)
}

/// Stores one decrypted secret in orc's vault inside the import transaction, with its audit
/// row. The SMTP password keeps its kind (`smtp_password`: never handed to tasks); every other
/// legacy credential becomes a `secret`. Returns whether it was stored (no vault: not stored).
pub fn store_secret(
    tx: &Connection,
    vault: Option<&crate::vault::Vault>,
    secret: &Decrypted,
    command_line: &str,
) -> Result<bool> {
    use crate::vault::{Actor, CredentialKind, Secret};
    let Some(vault) = vault else { return Ok(false) };
    let kind = if secret.credential == "smtp-password" {
        CredentialKind::SmtpPassword
    } else {
        CredentialKind::Secret
    };
    let value = Secret::new(secret.value.to_vec());
    crate::vault::validate_value(&value)?;
    vault.store(tx, &secret.credential, Some(kind), &value, Actor { command: command_line })?;
    Ok(true)
}

/// What the import did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    pub tasks_created: usize,
    pub runs_imported: usize,
    pub settings_set: usize,
    pub secrets_stored: Vec<String>,
    pub secrets_not_stored: Vec<String>,
}

/// Carries the plan out in one transaction (all or nothing).
pub fn apply(
    store: &mut Store,
    plan: &Plan,
    secrets: &[Decrypted],
    vault: Option<&crate::vault::Vault>,
    command_line: &str,
) -> Result<Outcome> {
    let now = crate::store::to_db_time(crate::clock::now_utc());
    let version = env!("CARGO_PKG_VERSION");
    store.write(|tx| -> Result<Outcome> {
        let mut out = Outcome::default();
        let err = db_err(tx, "import legacy data");
        for t in &plan.tasks {
            if let (Some(spec), "create") = (&t.spec, t.action) {
                crate::task::repo::insert(tx, spec, command_line)?;
                tx.execute(
                    "INSERT INTO legacy_map (kind, legacy_key, orc_key) VALUES ('task', ?1, ?2) \
                     ON CONFLICT (kind, legacy_key) DO UPDATE SET orc_key = excluded.orc_key",
                    params![t.legacy_name, t.name],
                )
                .map_err(&err)?;
                out.tasks_created += 1;
            }
        }
        let mut ids: BTreeMap<String, Option<i64>> = BTreeMap::new();
        let mut insert = tx
            .prepare(
                "INSERT INTO runs (task_id, task, attempt, trigger, status, start, \"end\", \
                 duration_ms, exit_code, error, stdout_head, stdout_tail, stdout_bytes, host, \
                 orc_version, source) VALUES (?1, ?2, ?3, 'scheduled', ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
                 ?11, ?12, 'legacy', ?13, ?14) ON CONFLICT DO NOTHING",
            )
            .map_err(&err)?;
        for r in &plan.history.rows {
            let id = match ids.get(&r.task) {
                Some(id) => *id,
                None => {
                    let id = crate::task::repo::get(tx, &r.task)?.map(|t| t.id);
                    ids.insert(r.task.clone(), id);
                    id
                }
            };
            out.runs_imported += insert
                .execute(params![
                    id,
                    r.task,
                    r.attempt,
                    r.status,
                    r.start,
                    r.end,
                    r.duration_ms,
                    r.exit_code,
                    r.error,
                    r.stdout_head,
                    r.stdout_tail,
                    r.stdout_bytes,
                    version,
                    r.source
                ])
                .map_err(&err)?;
        }
        drop(insert);
        let mut stored = BTreeMap::new();
        for s in secrets {
            let ok = store_secret(tx, vault, s, command_line)?;
            stored.insert(s.credential.clone(), ok);
            if ok {
                out.secrets_stored.push(s.credential.clone());
            } else {
                out.secrets_not_stored.push(s.credential.clone());
            }
        }
        for s in &plan.settings {
            let (Some(key), Some(value), "set") = (&s.key, &s.value, s.action) else { continue };
            if key == "smtp.password_credential" && stored.get(value) != Some(&true) {
                continue;
            }
            crate::config::table::insert_raw(tx, key, value, &now).map_err(&err)?;
            crate::audit::record(
                tx,
                command_line,
                "config",
                Some(key),
                None,
                Some(&serde_json::Value::String(value.clone())),
            )?;
            out.settings_set += 1;
        }
        Ok(out)
    })
}

//! Credentials: store, read, list and remove them, find where they are referenced, and
//! decrypt the ones a task receives. Listing and references need no unlocking.

use serde::Serialize;
use serde_json::json;

use super::handle::Vault;
use super::secret::{CredentialKind, Purpose, Secret, validate_credential_name, validate_value};
use super::{VaultError, db_err, tx_err};
use crate::audit;
use crate::error::Error;
use crate::paths::Paths;
use crate::store::{Store, classify};
use crate::task::TaskSpec;

/// The credential the wizard stores the SMTP password in.
pub const SMTP_PASSWORD_CREDENTIAL: &str = "smtp-password";

/// Environment variables orc must remove from every child's environment.
pub const CHILD_ENV_REMOVE: &[&str] = &[crate::env_vars::ORC_VAULT_PASSPHRASE];

/// Who made a change (for the audit row).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// The command line (never contains a secret: values are read from stdin or a prompt).
    pub command: &'a str,
}

/// A credential as listed: never its value.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialInfo {
    pub name: String,
    pub kind: CredentialKind,
    pub created_at: String,
    pub updated_at: String,
}

/// What [`set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    Created,
    Replaced,
}

/// A stored credential row (its value still sealed).
pub(super) struct CredRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) kind: String,
    pub(super) envelope: Vec<u8>,
}

pub(super) fn find_credential(store: &Store, name: &str) -> Result<Option<CredRow>, VaultError> {
    use crate::store::sql::OptionalExtension;
    Ok(store
        .conn()
        .query_row(
            "SELECT id, name, kind, envelope FROM credentials WHERE name = ?1",
            [name],
            |r| {
                Ok(CredRow { id: r.get(0)?, name: r.get(1)?, kind: r.get(2)?, envelope: r.get(3)? })
            },
        )
        .optional()
        .map_err(db_err(store, "read credential"))?)
}

pub(super) fn count_credentials(store: &Store) -> Result<i64, VaultError> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM credentials", [], |r| r.get(0))
        .map_err(db_err(store, "count credentials"))?)
}

/// True when a credential of that name exists (case-insensitive).
pub fn credential_exists(store: &Store, name: &str) -> Result<Option<CredentialKind>, VaultError> {
    Ok(find_credential(store, name)?.and_then(|r| CredentialKind::parse(&r.kind)))
}

/// Checks that the setting `key` may name the credential `name` for `purpose`: it exists and
/// its kind is allowed. Reads on `conn`, which may be the caller's open transaction (the
/// settings check a reference inside their write).
pub fn check_setting_reference(
    conn: &crate::store::sql::Connection,
    path: &std::path::Path,
    key: &str,
    name: &str,
    purpose: Purpose,
) -> Result<(), Error> {
    use crate::store::sql::OptionalExtension;
    let kind: Option<String> = conn
        .query_row("SELECT kind FROM credentials WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(|e| classify(path, "read credentials", e))?;
    let (_, wanted) = purpose.describe();
    let Some(kind) = kind else {
        return Err(Error::invalid(
            key,
            name,
            format!(
                "no credential named {name:?} exists — store it first with \
                 `orc credential set {name} --kind {wanted}`"
            ),
        ));
    };
    if CredentialKind::parse(&kind).is_some_and(|k| purpose.allows(k)) {
        return Ok(());
    }
    let allowed =
        if wanted == "secret" { wanted.to_string() } else { format!("{wanted} or secret") };
    Err(Error::invalid(
        key,
        name,
        format!("credential {name:?} is of kind {kind}; it must be {allowed}"),
    ))
}

/// Every credential's name, kind and times — never a value. Needs no unlocking.
pub fn list(store: &Store) -> Result<Vec<CredentialInfo>, VaultError> {
    let mut stmt = store
        .conn()
        .prepare("SELECT name, kind, created_at, updated_at FROM credentials ORDER BY name")
        .map_err(db_err(store, "list credentials"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
        })
        .map_err(db_err(store, "list credentials"))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, kind, created_at, updated_at) =
            row.map_err(db_err(store, "list credentials"))?;
        let kind = CredentialKind::parse(&kind).unwrap_or(CredentialKind::Secret);
        out.push(CredentialInfo { name, kind, created_at, updated_at });
    }
    Ok(out)
}

/// Runs `PRAGMA wal_checkpoint(TRUNCATE)` so old pages leave the WAL (best effort).
pub fn checkpoint(store: &Store) {
    let r = store.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0));
    match r {
        Ok(0) => {}
        Ok(_) => tracing::debug!("WAL checkpoint incomplete (another process is reading)"),
        Err(e) => tracing::debug!("WAL checkpoint failed: {e}"),
    }
}

/// Stores (or replaces) a credential. `kind: None` keeps an existing credential's kind
/// (`secret` for a new one). Creates the vault on first use.
pub fn set(
    store: &mut Store,
    paths: &Paths,
    interactive: bool,
    name: &str,
    kind: Option<CredentialKind>,
    value: &Secret,
    actor: Actor<'_>,
) -> Result<SetOutcome, Error> {
    validate_credential_name(name)?;
    validate_value(value)?;
    let vault = Vault::open_or_create(store, paths, interactive, actor)?;
    let outcome = store.write(|tx| -> Result<SetOutcome, VaultError> {
        vault.store(tx, name, kind, value, actor)
    })?;
    checkpoint(store);
    Ok(outcome)
}

/// Where a credential is referenced (settings and tasks), for `rm` to refuse.
pub fn references(store: &Store, name: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let conn = store.conn();
    for key in
        crate::config::keys_naming_credential(conn, name).map_err(db_err(store, "read settings"))?
    {
        out.push(format!("setting {key}"));
    }
    for task in crate::task::repo::list(conn)? {
        if task.spec.secret_env.values().any(|c| c.eq_ignore_ascii_case(name)) {
            out.push(format!("task {}", task.spec.name));
        }
    }
    out.extend(crate::notify::channels::store::credential_users(conn, name)?);
    Ok(out)
}

/// Removes a credential (its ciphertext is overwritten: `secure_delete` and a WAL checkpoint).
/// Refuses while a setting or a task uses it, unless `force`.
pub fn remove(store: &mut Store, name: &str, force: bool, actor: Actor<'_>) -> Result<(), Error> {
    validate_credential_name(name)?;
    let row = find_credential(store, name)?
        .ok_or_else(|| Error::NotFound { what: "credential", name: name.to_string() })?;
    let used = references(store, &row.name)?;
    if !used.is_empty() && !force {
        return Err(Error::invalid(
            "credential",
            &row.name,
            format!("it is still used by {}; change those first or pass --force", used.join(", ")),
        ));
    }
    store.write(|tx| -> Result<(), VaultError> {
        tx.execute("DELETE FROM credentials WHERE id = ?1", [row.id])
            .map_err(tx_err("remove credential"))?;
        let before = json!({ "kind": row.kind });
        audit::record(tx, actor.command, "credential", Some(&row.name), Some(&before), None)?;
        Ok(())
    })?;
    checkpoint(store);
    Ok(())
}

/// Decrypts one credential (unlocking the vault first).
pub fn get(
    store: &Store,
    paths: &Paths,
    interactive: bool,
    name: &str,
    purpose: Purpose,
) -> Result<Secret, VaultError> {
    let row = find_credential(store, name)?
        .ok_or_else(|| VaultError::NotFound { name: name.to_string() })?;
    let vault = Vault::unlock(store, paths, interactive)?;
    vault.decrypt_row(&row, purpose)
}

/// The environment a task's child gets from the vault: `(VARIABLE, value)` for each
/// `secret_env` entry, decrypted now. Call it just before spawning; pass the values only in the
/// child's environment (never argv), remove [`CHILD_ENV_REMOVE`] from it, and mask the values
/// in captured output with [`crate::exec::output::Redactor`]. A task without secrets never unlocks the vault.
pub fn resolve_secret_env(
    store: &Store,
    paths: &Paths,
    spec: &TaskSpec,
    interactive: bool,
) -> Result<Vec<(String, Secret)>, VaultError> {
    if spec.secret_env.is_empty() {
        return Ok(Vec::new());
    }
    // Look every name up before unlocking, so a typo fails as "not found", not "locked".
    let mut rows = Vec::with_capacity(spec.secret_env.len());
    for (var, cred) in &spec.secret_env {
        let row = find_credential(store, cred)?
            .ok_or_else(|| VaultError::NotFound { name: cred.clone() })?;
        rows.push((var.clone(), row));
    }
    let vault = Vault::unlock(store, paths, interactive)?;
    rows.into_iter()
        .map(|(var, row)| Ok((var, vault.decrypt_row(&row, Purpose::TaskEnv)?)))
        .collect()
}

/// The name of the credential holding a run-as account's password (`run-as-CORP-svc_orc`).
pub fn run_as_credential_name(account: &str) -> String {
    let mut s = String::from("run-as-");
    for c in account.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '_' | '-' => s.push(c),
            '@' => s.push_str("-at-"),
            _ => s.push('-'),
        }
    }
    let mut s: String = s.chars().take(64).collect();
    while s.ends_with('.') {
        s.pop();
    }
    s
}

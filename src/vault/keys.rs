//! The wrapped data-key records (`vault_keys`): the unlock methods, their stored parameters,
//! reading and inserting the rows, and the per-method choice of how to wrap a data key
//! (DPAPI in [`super::machine`], the key file in `keyfile`, a passphrase in `passphrase`).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::envelope::{self, Binding};
use super::{VaultError, db_err, dpapi, key_error, keyfile, machine, passphrase, tx_err};
use crate::paths::Paths;
use crate::store::{Store, to_db_time};

/// How the data key is protected (one row of `vault_keys` each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum KeyMethod {
    /// Windows DPAPI, user scope.
    #[value(name = "dpapi")]
    #[serde(rename = "dpapi_user")]
    Dpapi,
    /// Windows DPAPI, machine scope: any account the home's DACL admits ([`super::machine`]).
    #[value(name = "dpapi-machine")]
    DpapiMachine,
    /// A random key in a file outside the data directory.
    #[value(name = "key-file")]
    #[serde(rename = "keyfile")]
    KeyFile,
    /// A passphrase (PBKDF2-HMAC-SHA256).
    #[value(name = "passphrase")]
    Passphrase,
}

impl KeyMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMethod::Dpapi => "dpapi_user",
            KeyMethod::DpapiMachine => "dpapi_machine",
            KeyMethod::KeyFile => "keyfile",
            KeyMethod::Passphrase => "passphrase",
        }
    }

    pub(super) fn parse(s: &str) -> Option<KeyMethod> {
        match s {
            "dpapi_user" => Some(KeyMethod::Dpapi),
            "dpapi_machine" => Some(KeyMethod::DpapiMachine),
            "keyfile" => Some(KeyMethod::KeyFile),
            "passphrase" => Some(KeyMethod::Passphrase),
            _ => None,
        }
    }

    /// The platform default for a new vault.
    pub fn platform_default() -> KeyMethod {
        if dpapi::available() { KeyMethod::Dpapi } else { KeyMethod::KeyFile }
    }
}

/// Stored alongside a wrapped key (JSON in `vault_keys.params`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct KeyParams {
    pub(super) key_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) kdf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) iterations: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) user: Option<String>,
    /// The host a host-bound wrap was made on ([`super::hosts`]); none on rows made before
    /// fleets (they are tried on every host, as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) host: Option<String>,
}

impl KeyParams {
    /// The stored JSON text (bound into the wrapped key's AAD).
    pub(super) fn to_text(&self) -> String {
        serde_json::to_string(self).expect("params serialise")
    }
}

/// A stored wrapped-key record.
pub(super) struct KeyRow {
    pub(super) id: i64,
    pub(super) method: KeyMethod,
    pub(super) params_text: String,
    pub(super) params: KeyParams,
    pub(super) wrapped: Vec<u8>,
    pub(super) created_at: String,
}

/// A new wrapped-key row, ready to insert.
pub(super) struct NewKeyRow {
    pub(super) method: KeyMethod,
    pub(super) params_text: String,
    pub(super) wrapped: Vec<u8>,
}

/// The key records, in unlock order (DPAPI → key file → passphrase); unknown or damaged
/// records are skipped with a warning.
pub(super) fn load_keys(store: &Store) -> Result<Vec<KeyRow>, VaultError> {
    load_keys_with(store.conn(), db_err(store, "read vault keys"))
}

/// [`load_keys`] inside a write transaction.
pub(super) fn load_keys_tx(
    conn: &crate::store::sql::Connection,
) -> Result<Vec<KeyRow>, VaultError> {
    load_keys_with(conn, tx_err("read vault keys"))
}

fn load_keys_with(
    conn: &crate::store::sql::Connection,
    err: impl Fn(crate::store::sql::Error) -> crate::store::StoreError,
) -> Result<Vec<KeyRow>, VaultError> {
    let mut stmt = conn
        .prepare("SELECT id, kind, params, wrapped, created_at FROM vault_keys ORDER BY id")
        .map_err(&err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get(4)?,
            ))
        })
        .map_err(&err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, kind, params_text, wrapped, created_at) = row.map_err(&err)?;
        let Some(method) = KeyMethod::parse(&kind) else {
            tracing::warn!(kind, "ignoring a vault key record of unknown kind");
            continue;
        };
        let Ok(params) = serde_json::from_str::<KeyParams>(&params_text) else {
            tracing::warn!(kind, "ignoring a vault key record with damaged parameters");
            continue;
        };
        out.push(KeyRow { id, method, params_text, params, wrapped, created_at });
    }
    out.sort_by_key(|r| r.method);
    Ok(out)
}

pub(super) fn insert_key_row(
    tx: &crate::store::sql::Transaction<'_>,
    row: &NewKeyRow,
) -> Result<(), VaultError> {
    tx.execute(
        "INSERT INTO vault_keys (kind, params, wrapped, created_at) VALUES (?1, ?2, ?3, ?4)",
        crate::store::sql::params![
            row.method.as_str(),
            row.params_text,
            row.wrapped,
            to_db_time(crate::clock::now_utc())
        ],
    )
    .map_err(tx_err("store vault key"))?;
    Ok(())
}

/// The AAD binding of a wrapped data key: its method and its exact parameter text.
pub(super) fn wrap_binding<'a>(method: KeyMethod, params_text: &'a str) -> Binding<'a> {
    Binding { kind: "dek_wrap", owner: method.as_str(), name: params_text }
}

pub(super) fn dek_from(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Some(Zeroizing::new(arr))
}

/// Opens a record wrapped under a key-encryption key (key file or passphrase-derived).
pub(super) fn unwrap_with_kek(row: &KeyRow, kek: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
    let plain = envelope::open(
        kek,
        row.params.key_id,
        &wrap_binding(row.method, &row.params_text),
        &row.wrapped,
    )
    .ok()?;
    dek_from(&plain)
}

/// Wraps `dek` for `method` (a new key-file key is created only if the file is missing).
pub(super) fn new_row_for(
    method: KeyMethod,
    dek: &[u8; 32],
    key_id: u32,
    paths: &Paths,
    passphrase: Option<&str>,
) -> Result<NewKeyRow, VaultError> {
    match method {
        KeyMethod::Dpapi | KeyMethod::DpapiMachine => machine::wrap_dek(method, dek, key_id),
        KeyMethod::KeyFile => keyfile::new_row(dek, key_id, paths),
        KeyMethod::Passphrase => {
            let p = passphrase.ok_or_else(|| key_error("a passphrase is needed"))?;
            passphrase::wrap(dek, key_id, p)
        }
    }
}

/// A fresh random data key.
pub(super) fn new_dek() -> Result<Zeroizing<[u8; 32]>, VaultError> {
    let mut dek = Zeroizing::new([0u8; 32]);
    envelope::random_bytes(dek.as_mut()).map_err(|e| key_error(e.0))?;
    Ok(dek)
}

/// How a method is named in messages.
pub(super) fn method_label(m: KeyMethod) -> &'static str {
    match m {
        KeyMethod::Dpapi => "DPAPI",
        KeyMethod::DpapiMachine => "DPAPI (machine)",
        KeyMethod::KeyFile => "key file",
        KeyMethod::Passphrase => "passphrase",
    }
}

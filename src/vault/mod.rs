//! The secrets vault (docs/design/reliability.md §1).
//!
//! - One random 256-bit **data key** (DEK) per vault generation (`key_id`). Every credential is
//!   AES-256-GCM encrypted under it with a fresh random nonce, in the versioned
//!   [`envelope`], bound by its AAD to its kind, its row id and its name.
//! - The DEK itself is stored only **wrapped**, once per unlock method, in `vault_keys`:
//!   DPAPI user scope (Windows default), a key file outside the data directory (Unix default),
//!   and optionally a passphrase (PBKDF2-HMAC-SHA256, ≥ 600,000 iterations).
//! - Unlocking tries DPAPI → key file → passphrase (`ORC_VAULT_PASSPHRASE`, or the
//!   [`PassphrasePrompt`] the CLI installs, only when interactive). The library never prompts
//!   itself, and a non-interactive run never asks: it unlocks or fails fast with
//!   [`VaultError::Locked`] (exit 6).
//! - Keys and plaintexts live in `Zeroizing` buffers; [`Secret`] prints as `Secret(***)` and
//!   has no `Serialize`. Values are decrypted only when needed ([`resolve_secret_env`] just
//!   before a spawn) and masked in output by the executor ([`crate::exec::output::Redactor`], every text encoding).
//!
//! Module map:
//! - `secret`: the value type, credential kinds, purposes, name and value rules;
//! - `keys`: the `vault_keys` records and the per-method dispatch of wrapping;
//!   `dpapi` + [`machine`] (DPAPI user and machine scope), `keyfile` (the key file),
//!   `passphrase` (PBKDF2 through [`kdf`], the prompt hook);
//! - `handle`: the unlocked [`Vault`] (unlock, create, decrypt, seal);
//! - `credentials`: set / get / list / rm, references, the secrets a task receives;
//! - `manage`: keys / add-key / remove-key / rotate-key;
//! - `hosts`: per-host wraps in a fleet, `orc host enroll`, revoking a host's wraps.

mod credentials;
mod dpapi;
pub mod envelope;
mod handle;
mod hosts;
pub mod kdf;
mod keyfile;
mod keys;
pub mod machine;
mod manage;
mod passphrase;
mod secret;
#[cfg(test)]
mod tests;

use crate::store::{Store, StoreError, classify};

pub use credentials::{
    Actor, CHILD_ENV_REMOVE, CredentialInfo, SMTP_PASSWORD_CREDENTIAL, SetOutcome,
    check_setting_reference, checkpoint, credential_exists, get, list, references, remove,
    resolve_secret_env, run_as_credential_name, set,
};
pub use envelope::{Binding, Undecryptable};
pub use handle::Vault;
pub use hosts::{EnrollKey, EnrollReport, enroll, host_method, revoke_host};
pub use keys::KeyMethod;
pub use manage::{KeyInfo, RotateReport, add_key, key_methods, remove_key, rotate_key};
pub use passphrase::{
    NoPrompt, PBKDF2_ITERATIONS, PassphrasePrompt, PassphraseSource, install_prompt,
    validate_new_passphrase,
};
pub use secret::{
    CredentialKind, MAX_SECRET_BYTES, Purpose, Secret, validate_credential_name, validate_value,
};

use keys::{KeyParams, KeyRow, NewKeyRow, dek_from};

/// Errors of the vault. Decryption failures are deliberately opaque.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No unlock method worked (the reason lists each one tried).
    #[error("secrets are locked: {reason}")]
    Locked { reason: String },
    /// A stored ciphertext failed authentication (tampered, moved, or from another vault).
    #[error("cannot decrypt credential {name:?}")]
    CannotDecrypt { name: String },
    /// No credential of that name.
    #[error("no such credential: {name:?} (see `orc credential list`)")]
    NotFound { name: String },
    /// The credential exists but its kind may not be used for this purpose.
    #[error(
        "credential {name:?} is of kind {kind} and cannot be used {purpose}; store a separate \
         credential of kind {wanted}"
    )]
    WrongKind { name: String, kind: String, purpose: &'static str, wanted: &'static str },
    /// Creating or replacing the key file failed, or the OS random source failed.
    #[error("vault key: {message}")]
    Key { message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl VaultError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        use crate::error::exit;
        match self {
            VaultError::Locked { .. }
            | VaultError::CannotDecrypt { .. }
            | VaultError::Key { .. } => exit::SECRETS,
            VaultError::NotFound { .. } => exit::NOT_FOUND,
            VaultError::WrongKind { .. } => exit::USAGE,
            VaultError::Store(_) => exit::STORAGE,
        }
    }
}

fn db_err<'s>(
    store: &'s Store,
    context: &'static str,
) -> impl Fn(crate::store::sql::Error) -> StoreError + 's {
    move |e| classify(store.path(), context, e)
}

fn tx_err(context: &'static str) -> impl Fn(crate::store::sql::Error) -> StoreError {
    move |e| classify(std::path::Path::new("orc.db"), context, e)
}

fn key_error(message: impl Into<String>) -> VaultError {
    VaultError::Key { message: message.into() }
}

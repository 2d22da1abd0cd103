//! The secrets vault (docs/design/reliability.md §1).
//!
//! - One random 256-bit **data key** (DEK) per vault generation (`key_id`). Every credential is
//!   AES-256-GCM encrypted under it with a fresh random nonce, in the versioned
//!   [`envelope`], bound by its AAD to its kind, its row id and its name.
//! - The DEK itself is stored only **wrapped**, once per unlock method, in `vault_keys`:
//!   DPAPI user scope (Windows default), a key file outside the data directory (Unix default),
//!   and optionally a passphrase (PBKDF2-HMAC-SHA256, ≥ 600,000 iterations).
//! - Unlocking tries DPAPI → key file → passphrase (`ORC_VAULT_PASSPHRASE`, or a prompt only
//!   when interactive). A non-interactive run never prompts: it unlocks or fails fast with
//!   [`VaultError::Locked`] (exit 6).
//! - Keys and plaintexts live in `Zeroizing` buffers; [`Secret`] prints as `Secret(***)` and
//!   has no `Serialize`. Values are decrypted only when needed ([`resolve_secret_env`] just
//!   before a spawn) and masked in output with [`Redactor`].

use crate::audit;
mod dpapi;
pub mod envelope;
mod keyfile;
pub mod machine;
mod redact;

use std::io::IsTerminal;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::json;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::paths::Paths;
use crate::store::{Store, StoreError, classify, to_db_time};
use crate::task::TaskSpec;

pub use envelope::{Binding, Undecryptable};
pub use redact::{MASK, Redactor, StreamRedactor};

/// PBKDF2-HMAC-SHA256 iterations written for a passphrase (OWASP 2023 floor).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// A stored iteration count above this is treated as a damaged record (it would hang).
const PBKDF2_MAX_ITERATIONS: u32 = 20_000_000;
/// Largest credential value accepted.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;
/// The credential the wizard stores the SMTP password in.
pub const SMTP_PASSWORD_CREDENTIAL: &str = "smtp-password";
/// Environment variables orc must remove from every child's environment.
pub const CHILD_ENV_REMOVE: &[&str] = &[crate::env_vars::ORC_VAULT_PASSPHRASE];

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

/// A secret value. Zeroized on drop; `Debug` prints `Secret(***)`; never serialised.
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps bytes (taking ownership, so no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(Zeroizing::new(bytes))
    }

    /// Wraps a string.
    pub fn from_string(s: String) -> Secret {
        Secret::new(s.into_bytes())
    }

    /// The value. Every call site is a place the secret leaves the vault: keep them few.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The value as text (credential values are checked to be UTF-8 when stored).
    pub fn expose_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What a credential is for. Part of the AAD, so a ciphertext cannot change kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A value tasks may receive through `--secret-env` (and SMTP may use).
    Secret,
    /// The SMTP login password; not given to tasks.
    SmtpPassword,
    /// A Windows account's password for run-as; not given to tasks.
    AccountPassword,
}

impl CredentialKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Secret => "secret",
            CredentialKind::SmtpPassword => "smtp_password",
            CredentialKind::AccountPassword => "account_password",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<CredentialKind> {
        match s {
            "secret" => Some(CredentialKind::Secret),
            "smtp_password" => Some(CredentialKind::SmtpPassword),
            "account_password" => Some(CredentialKind::AccountPassword),
            _ => None,
        }
    }
}

/// Where a decrypted value is going; decides which kinds are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Into a task's environment (`--secret-env`): only `secret`.
    TaskEnv,
    /// As the SMTP password: `smtp_password` or `secret`.
    Smtp,
    /// As a run-as account password: `account_password` or `secret`.
    RunAs,
    /// Re-encryption during key rotation: any kind.
    Rotate,
}

impl Purpose {
    fn allows(self, kind: CredentialKind) -> bool {
        use CredentialKind as K;
        match self {
            Purpose::TaskEnv => kind == K::Secret,
            Purpose::Smtp => matches!(kind, K::Secret | K::SmtpPassword),
            Purpose::RunAs => matches!(kind, K::Secret | K::AccountPassword),
            Purpose::Rotate => true,
        }
    }

    fn describe(self) -> (&'static str, &'static str) {
        match self {
            Purpose::TaskEnv => ("in a task's environment", "secret"),
            Purpose::Smtp => ("as the SMTP password", "smtp_password"),
            Purpose::RunAs => ("as an account password", "account_password"),
            Purpose::Rotate => ("", ""),
        }
    }
}

/// How the data key is protected (one row of `vault_keys` each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum KeyMethod {
    /// Windows DPAPI, user scope.
    #[value(name = "dpapi")]
    #[serde(rename = "dpapi_user")]
    Dpapi,
    /// Windows DPAPI, machine scope: any account the home's DACL admits ([`machine`]).
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

    fn parse(s: &str) -> Option<KeyMethod> {
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
struct KeyParams {
    key_id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iterations: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
}

struct KeyRow {
    method: KeyMethod,
    params_text: String,
    params: KeyParams,
    wrapped: Vec<u8>,
    created_at: String,
}

/// A new wrapped-key row, ready to insert.
struct NewKeyRow {
    method: KeyMethod,
    params_text: String,
    wrapped: Vec<u8>,
}

/// An unlocked vault: the data key of the current generation.
pub struct Vault {
    dek: Zeroizing<[u8; 32]>,
    key_id: u32,
    unlocked_by: KeyMethod,
    /// The passphrase that unlocked it (kept only so a key rotation need not ask again).
    passphrase: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault(key_id {}, unlocked by {})", self.key_id, self.unlocked_by.as_str())
    }
}

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

/// One way the vault key is protected, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub method: KeyMethod,
    pub key_id: u32,
    pub created_at: String,
    /// Human detail: key file path and state, KDF parameters, DPAPI user.
    pub detail: String,
}

/// Where a passphrase comes from when one is needed.
pub enum PassphraseSource {
    /// `ORC_VAULT_PASSPHRASE`, else a prompt when interactive.
    Ambient { interactive: bool },
    /// Given by the caller (e.g. read from stdin).
    Given(Zeroizing<String>),
}

fn db_err<'s>(
    store: &'s Store,
    context: &'static str,
) -> impl Fn(rusqlite::Error) -> StoreError + 's {
    move |e| classify(store.path(), context, e)
}

fn tx_err(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| classify(std::path::Path::new("orc.db"), context, e)
}

fn key_error(message: impl Into<String>) -> VaultError {
    VaultError::Key { message: message.into() }
}

/// The credential-name rule (the task-name rule, worded for credentials).
pub fn validate_credential_name(name: &str) -> Result<(), Error> {
    crate::task::validate_name(name).map_err(|_| {
        Error::invalid(
            "credential name",
            name,
            crate::task::validate::NAME_RULE.replace("a task name", "a credential name"),
        )
    })
}

/// Checks a value before it is stored: non-empty, UTF-8, no NUL, at most 64 KiB.
pub fn validate_value(value: &Secret) -> Result<(), Error> {
    let rule = |r: &str| Error::invalid("credential value", "(hidden)", r);
    if value.is_empty() {
        return Err(rule("the value is empty"));
    }
    if value.len() > MAX_SECRET_BYTES {
        return Err(rule("the value is longer than 64 KiB"));
    }
    if std::str::from_utf8(value.expose()).is_err() {
        return Err(rule("the value must be UTF-8 text"));
    }
    if value.expose().contains(&0) {
        return Err(rule(
            "the value must not contain NUL bytes (it could not be passed in an environment variable)",
        ));
    }
    Ok(())
}

/// A terminal to prompt on: stdin must be a terminal, and stderr (else stdout) too.
pub fn prompt_term() -> Option<dialoguer::console::Term> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let err = dialoguer::console::Term::stderr();
    if err.is_term() {
        return Some(err);
    }
    let out = dialoguer::console::Term::stdout();
    out.is_term().then_some(out)
}

fn load_keys(store: &Store) -> Result<Vec<KeyRow>, VaultError> {
    let mut stmt = store
        .conn()
        .prepare("SELECT kind, params, wrapped, created_at FROM vault_keys ORDER BY id")
        .map_err(db_err(store, "read vault keys"))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?, r.get(3)?))
        })
        .map_err(db_err(store, "read vault keys"))?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, params_text, wrapped, created_at) =
            row.map_err(db_err(store, "read vault keys"))?;
        let Some(method) = KeyMethod::parse(&kind) else {
            tracing::warn!(kind, "ignoring a vault key record of unknown kind");
            continue;
        };
        let Ok(params) = serde_json::from_str::<KeyParams>(&params_text) else {
            tracing::warn!(kind, "ignoring a vault key record with damaged parameters");
            continue;
        };
        out.push(KeyRow { method, params_text, params, wrapped, created_at });
    }
    out.sort_by_key(|r| r.method);
    Ok(out)
}

fn wrap_binding<'a>(method: KeyMethod, params_text: &'a str) -> Binding<'a> {
    Binding { kind: "dek_wrap", owner: method.as_str(), name: params_text }
}

fn dek_from(bytes: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Some(Zeroizing::new(arr))
}

fn derive_kek(passphrase: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    pbkdf2_sha256_32(passphrase, salt, iterations)
}

/// PBKDF2-HMAC-SHA256 with a 32-byte output (one block), RFC 8018 §5.2.
///
/// Same result as `pbkdf2::pbkdf2_hmac::<Sha256>` (a test checks it against that crate and
/// the published vectors). The iteration loop calls SHA-256's block function directly with
/// the HMAC inner and outer states precomputed once, which is how OpenSSL does it: the
/// generic crate's loop is instantiated in *this* crate and runs ~60x slower in debug builds,
/// which would make a locked-vault check in a debug build take seconds instead of < 0.2 s.
// Index loops on purpose: this is the hot loop and debug builds do not optimise iterators.
#[allow(clippy::needless_range_loop)]
fn pbkdf2_sha256_32(password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    use sha2::Digest;
    use sha2::block_api::compress256;
    const IV: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut key = Zeroizing::new([0u8; 64]);
    if password.len() > 64 {
        key[..32].copy_from_slice(&sha2::Sha256::digest(password));
    } else {
        key[..password.len()].copy_from_slice(password);
    }
    let mut pad = Zeroizing::new([0u8; 64]);
    let mut istate = Zeroizing::new(IV);
    let mut ostate = Zeroizing::new(IV);
    for (i, b) in key.iter().enumerate() {
        pad[i] = b ^ 0x36;
    }
    compress256(&mut istate, &[*pad]);
    for (i, b) in key.iter().enumerate() {
        pad[i] = b ^ 0x5c;
    }
    compress256(&mut ostate, &[*pad]);
    // U1 = HMAC(P, salt || INT(1)), with the general hash for the variable-length message.
    let mut inner = sha2::Sha256::new();
    let mut ipad_block = Zeroizing::new([0u8; 64]);
    for (i, b) in key.iter().enumerate() {
        ipad_block[i] = b ^ 0x36;
    }
    inner.update(ipad_block.as_slice());
    inner.update(salt);
    inner.update(1u32.to_be_bytes());
    let inner_hash = inner.finalize();
    let mut outer = sha2::Sha256::new();
    for (i, b) in key.iter().enumerate() {
        ipad_block[i] = b ^ 0x5c;
    }
    outer.update(ipad_block.as_slice());
    outer.update(inner_hash);
    let mut u = Zeroizing::new([0u8; 32]);
    u.copy_from_slice(&outer.finalize());
    // Later rounds hash a 32-byte message after the 64-byte key block: one padded block each,
    // total length (64 + 32) * 8 = 768 bits. Plain locals in the hot loop (wiped after).
    let mut block = [[0u8; 64]; 1];
    block[0][32] = 0x80;
    block[0][62] = 0x03;
    let (is, os) = (*istate, *ostate);
    let mut u_words = [0u32; 8];
    let mut t_words = [0u32; 8];
    for i in 0..8 {
        u_words[i] = u32::from_be_bytes([u[i * 4], u[i * 4 + 1], u[i * 4 + 2], u[i * 4 + 3]]);
    }
    t_words.copy_from_slice(&u_words);
    for _ in 1..iterations {
        for i in 0..8 {
            let b = u_words[i].to_be_bytes();
            block[0][i * 4..i * 4 + 4].copy_from_slice(&b);
        }
        let mut st = is;
        compress256(&mut st, &block);
        for i in 0..8 {
            block[0][i * 4..i * 4 + 4].copy_from_slice(&st[i].to_be_bytes());
        }
        st = os;
        compress256(&mut st, &block);
        u_words = st;
        for i in 0..8 {
            t_words[i] ^= st[i];
        }
    }
    let mut t = Zeroizing::new([0u8; 32]);
    for i in 0..8 {
        t[i * 4..i * 4 + 4].copy_from_slice(&t_words[i].to_be_bytes());
    }
    {
        use zeroize::Zeroize;
        block.zeroize();
        u_words.zeroize();
        t_words.zeroize();
    }
    t
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

// ---------------------------------------------------------------------------------------------
// Wrapping the data key.

fn wrap_keyfile(
    dek: &[u8; 32],
    key_id: u32,
    kek: &[u8; 32],
    path: &std::path::Path,
) -> Result<NewKeyRow, VaultError> {
    let params = KeyParams {
        key_id,
        fingerprint: Some(keyfile::fingerprint(kek)),
        path: Some(path.display().to_string()),
        ..KeyParams::default()
    };
    let params_text = serde_json::to_string(&params).expect("params serialise");
    let wrapped = envelope::seal(kek, key_id, &wrap_binding(KeyMethod::KeyFile, &params_text), dek)
        .map_err(|e| key_error(e.0))?;
    Ok(NewKeyRow { method: KeyMethod::KeyFile, params_text, wrapped })
}

/// Wraps with a passphrase at the production iteration count (never below the floor).
fn wrap_passphrase(dek: &[u8; 32], key_id: u32, passphrase: &str) -> Result<NewKeyRow, VaultError> {
    wrap_passphrase_with(dek, key_id, passphrase, PBKDF2_ITERATIONS)
}

fn wrap_passphrase_with(
    dek: &[u8; 32],
    key_id: u32,
    passphrase: &str,
    iterations: u32,
) -> Result<NewKeyRow, VaultError> {
    // Tests may use fewer iterations to stay fast; a real build never writes below the floor.
    if iterations < PBKDF2_ITERATIONS && !cfg!(test) {
        return Err(key_error(format!(
            "refusing to write a passphrase record with {iterations} PBKDF2 iterations \
             (minimum {PBKDF2_ITERATIONS})"
        )));
    }
    let mut salt = [0u8; 16];
    envelope::random_bytes(&mut salt).map_err(|e| key_error(e.0))?;
    let params = KeyParams {
        key_id,
        kdf: Some("pbkdf2-hmac-sha256".into()),
        iterations: Some(iterations),
        salt: Some(base64::Engine::encode(&b64(), salt)),
        ..KeyParams::default()
    };
    let params_text = serde_json::to_string(&params).expect("params serialise");
    let kek = derive_kek(passphrase.as_bytes(), &salt, iterations);
    let wrapped =
        envelope::seal(&kek, key_id, &wrap_binding(KeyMethod::Passphrase, &params_text), dek)
            .map_err(|e| key_error(e.0))?;
    Ok(NewKeyRow { method: KeyMethod::Passphrase, params_text, wrapped })
}

fn unwrap_passphrase(row: &KeyRow, passphrase: &str) -> Result<Zeroizing<[u8; 32]>, String> {
    let p = &row.params;
    let damaged = || "the passphrase record is damaged".to_string();
    if p.kdf.as_deref() != Some("pbkdf2-hmac-sha256") {
        return Err(damaged());
    }
    let iterations = p.iterations.filter(|n| (1..=PBKDF2_MAX_ITERATIONS).contains(n));
    let iterations = iterations.ok_or_else(damaged)?;
    let salt = p
        .salt
        .as_deref()
        .and_then(|s| base64::Engine::decode(&b64(), s).ok())
        .ok_or_else(damaged)?;
    let kek = derive_kek(passphrase.as_bytes(), &salt, iterations);
    let plain = envelope::open(
        &kek,
        p.key_id,
        &wrap_binding(KeyMethod::Passphrase, &row.params_text),
        &row.wrapped,
    )
    .map_err(|_| "the passphrase is wrong".to_string())?;
    dek_from(&plain).ok_or_else(damaged)
}

fn unwrap_with_kek(row: &KeyRow, kek: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
    let plain = envelope::open(
        kek,
        row.params.key_id,
        &wrap_binding(row.method, &row.params_text),
        &row.wrapped,
    )
    .ok()?;
    dek_from(&plain)
}

/// Unwraps with the key file, finishing an interrupted key rotation if one is found.
fn unwrap_keyfile(row: &KeyRow, paths: &Paths) -> Result<Zeroizing<[u8; 32]>, String> {
    let path = paths
        .key_file()
        .ok_or("no key file location is known (set ORC_KEY_FILE or HOME/LOCALAPPDATA)")?;
    let wanted = row.params.fingerprint.as_deref();
    let pending = keyfile::pending_path(&path);
    let current = keyfile::read(&path);
    if let Ok(kek) = &current
        && Some(keyfile::fingerprint(kek).as_str()) == wanted
    {
        return unwrap_with_kek(row, kek).ok_or_else(|| {
            format!("key file {}: the wrapped key record is damaged", path.display())
        });
    }
    // A rotation writes `<key>.new`, commits, then renames; finish it if it was interrupted.
    if let Ok(kek) = keyfile::read(&pending)
        && Some(keyfile::fingerprint(&kek).as_str()) == wanted
        && let Some(dek) = unwrap_with_kek(row, &kek)
    {
        match keyfile::commit_pending(&path) {
            Ok(()) => tracing::info!("finished an interrupted key rotation: {}", path.display()),
            Err(e) => tracing::warn!("{e}"),
        }
        return Ok(dek);
    }
    match current {
        Ok(_) => Err(format!(
            "key file {} does not belong to this vault (its fingerprint differs; was it \
             replaced, or is ORC_KEY_FILE pointing at another home's key?)",
            path.display()
        )),
        Err(problem) => Err(problem.describe(&path)),
    }
}

fn ambient_passphrase(interactive: bool, prompt: &str) -> Result<Zeroizing<String>, String> {
    if let Some(v) = crate::env_vars::get(crate::env_vars::ORC_VAULT_PASSPHRASE) {
        return v
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| "ORC_VAULT_PASSPHRASE is not valid Unicode".to_string());
    }
    let term = interactive.then(prompt_term).flatten().ok_or(
        "no passphrase: ORC_VAULT_PASSPHRASE is not set and there is no terminal to ask (a \
         scheduled run never prompts)",
    )?;
    dialoguer::Password::new()
        .with_prompt(prompt)
        .interact_on(&term)
        .map(Zeroizing::new)
        .map_err(|e| format!("could not read the passphrase: {e}"))
}

impl Vault {
    /// Unlocks an existing vault: DPAPI → key file → passphrase. Never prompts unless
    /// `interactive` and a terminal is attached.
    pub fn unlock(store: &Store, paths: &Paths, interactive: bool) -> Result<Vault, VaultError> {
        Vault::unlock_with(store, paths, &PassphraseSource::Ambient { interactive })
    }

    fn unlock_with(
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
        for row in &rows {
            let attempt = match row.method {
                KeyMethod::Dpapi | KeyMethod::DpapiMachine => machine::unwrap_dek(row),
                KeyMethod::KeyFile => unwrap_keyfile(row, paths),
                KeyMethod::Passphrase => match source {
                    PassphraseSource::Given(p) => {
                        let r = unwrap_passphrase(row, p);
                        if r.is_ok() {
                            used_passphrase = Some(p.clone());
                        }
                        r
                    }
                    PassphraseSource::Ambient { interactive } => {
                        let from_env =
                            crate::env_vars::get(crate::env_vars::ORC_VAULT_PASSPHRASE).is_some();
                        let tries = if from_env || !*interactive { 1 } else { 3 };
                        let mut result = Err(String::new());
                        for _ in 0..tries {
                            result = ambient_passphrase(*interactive, "Vault passphrase").and_then(
                                |p| {
                                    let dek = unwrap_passphrase(row, &p)?;
                                    used_passphrase = Some(p);
                                    Ok(dek)
                                },
                            );
                            if result.is_ok() {
                                break;
                            }
                        }
                        result.map_err(|e| {
                            if from_env && e.contains("wrong") {
                                "the passphrase in ORC_VAULT_PASSPHRASE is wrong".to_string()
                            } else {
                                e
                            }
                        })
                    }
                },
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
    fn open_or_create_with(
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
        let mut dek = Zeroizing::new([0u8; 32]);
        envelope::random_bytes(dek.as_mut()).map_err(|e| key_error(e.0))?;
        let key_id = 1;
        let row = match method {
            KeyMethod::Dpapi | KeyMethod::DpapiMachine => {
                match machine::wrap_dek(method, &dek, key_id) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!("{e}; protecting the vault key with a key file instead");
                        method = KeyMethod::KeyFile;
                        new_keyfile_row(&dek, key_id, paths)?
                    }
                }
            }
            _ => new_keyfile_row(&dek, key_id, paths)?,
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

    fn decrypt_row(&self, row: &CredRow, purpose: Purpose) -> Result<Secret, VaultError> {
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

    fn seal_row(
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
        tx: &rusqlite::Connection,
        name: &str,
        kind: Option<CredentialKind>,
        value: &Secret,
        actor: Actor<'_>,
    ) -> Result<SetOutcome, VaultError> {
        use rusqlite::OptionalExtension;
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
                tx.execute(
                    "INSERT INTO credentials (name, kind, envelope, created_at, updated_at) \
                     VALUES (?1, ?2, x'', ?3, ?3)",
                    rusqlite::params![name, kind.unwrap_or(CredentialKind::Secret).as_str(), now],
                )
                .map_err(tx_err("store credential"))?;
                (tx.last_insert_rowid(), name.to_string(), None, SetOutcome::Created)
            }
        };
        let kind = kind.or(old_kind).unwrap_or(CredentialKind::Secret);
        let sealed = self.seal_row(id, kind, &stored_name, value.expose())?;
        tx.execute(
            "UPDATE credentials SET kind = ?1, envelope = ?2, updated_at = ?3 WHERE id = ?4",
            rusqlite::params![kind.as_str(), sealed, now, id],
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

fn method_label(m: KeyMethod) -> &'static str {
    match m {
        KeyMethod::Dpapi => "DPAPI",
        KeyMethod::DpapiMachine => "DPAPI (machine)",
        KeyMethod::KeyFile => "key file",
        KeyMethod::Passphrase => "passphrase",
    }
}

fn new_keyfile_row(dek: &[u8; 32], key_id: u32, paths: &Paths) -> Result<NewKeyRow, VaultError> {
    let path = paths.key_file().ok_or_else(|| {
        key_error("no key file location is known (set ORC_KEY_FILE or HOME/LOCALAPPDATA)")
    })?;
    if path.starts_with(&paths.home) {
        return Err(key_error(format!(
            "the key file {} must not be inside the data directory {} (a copy of the data \
             would carry its key)",
            path.display(),
            paths.home.display()
        )));
    }
    let (kek, _) = keyfile::read_or_create(&path).map_err(key_error)?;
    wrap_keyfile(dek, key_id, &kek, &path)
}

fn insert_key_row(tx: &rusqlite::Transaction<'_>, row: &NewKeyRow) -> Result<(), VaultError> {
    tx.execute(
        "INSERT INTO vault_keys (kind, params, wrapped, created_at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![
            row.method.as_str(),
            row.params_text,
            row.wrapped,
            to_db_time(crate::clock::now_utc())
        ],
    )
    .map_err(tx_err("store vault key"))?;
    Ok(())
}

struct CredRow {
    id: i64,
    name: String,
    kind: String,
    envelope: Vec<u8>,
}

fn find_credential(store: &Store, name: &str) -> Result<Option<CredRow>, VaultError> {
    use rusqlite::OptionalExtension;
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

fn count_credentials(store: &Store) -> Result<i64, VaultError> {
    Ok(store
        .conn()
        .query_row("SELECT count(*) FROM credentials", [], |r| r.get(0))
        .map_err(db_err(store, "count credentials"))?)
}

/// True when a credential of that name exists (case-insensitive).
pub fn credential_exists(store: &Store, name: &str) -> Result<Option<CredentialKind>, VaultError> {
    Ok(find_credential(store, name)?.and_then(|r| CredentialKind::parse(&r.kind)))
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

/// What [`set`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOutcome {
    Created,
    Replaced,
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
pub fn references(store: &Store, name: &str) -> Result<Vec<String>, VaultError> {
    let mut out = Vec::new();
    let conn = store.conn();
    let mut stmt = conn
        .prepare("SELECT key, value FROM config WHERE key IN ('smtp.password_credential')")
        .map_err(db_err(store, "read settings"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(db_err(store, "read settings"))?;
    for row in rows {
        let (key, value) = row.map_err(db_err(store, "read settings"))?;
        if value.eq_ignore_ascii_case(name) {
            out.push(format!("setting {key}"));
        }
    }
    let mut stmt = conn
        .prepare("SELECT name, spec FROM tasks ORDER BY name")
        .map_err(db_err(store, "read tasks"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(db_err(store, "read tasks"))?;
    for row in rows {
        let (task, spec) = row.map_err(db_err(store, "read tasks"))?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&spec) else { continue };
        if let Some(map) = v.get("secret_env").and_then(|m| m.as_object())
            && map.values().any(|c| c.as_str().is_some_and(|c| c.eq_ignore_ascii_case(name)))
        {
            out.push(format!("task {task}"));
        }
    }
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
/// in captured output with [`Redactor::new`]. A task without secrets never unlocks the vault.
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

// ---------------------------------------------------------------------------------------------
// Key management: list, add, remove, rotate.

/// How the vault key is protected (empty when no vault exists yet).
pub fn key_methods(store: &Store, paths: &Paths) -> Result<Vec<KeyInfo>, VaultError> {
    let rows = load_keys(store)?;
    Ok(rows
        .iter()
        .map(|row| {
            let detail = match row.method {
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
                detail,
            }
        })
        .collect())
}

fn new_row_for(
    method: KeyMethod,
    dek: &[u8; 32],
    key_id: u32,
    paths: &Paths,
    passphrase: Option<&str>,
) -> Result<NewKeyRow, VaultError> {
    match method {
        KeyMethod::Dpapi | KeyMethod::DpapiMachine => machine::wrap_dek(method, dek, key_id),
        KeyMethod::KeyFile => new_keyfile_row(dek, key_id, paths),
        KeyMethod::Passphrase => {
            let p = passphrase.ok_or_else(|| key_error("a passphrase is needed"))?;
            wrap_passphrase(dek, key_id, p)
        }
    }
}

/// Checks a new passphrase: at least 12 characters.
pub fn validate_new_passphrase(p: &str) -> Result<(), Error> {
    if p.chars().count() < 12 {
        return Err(Error::invalid(
            "passphrase",
            "(hidden)",
            "a vault passphrase has at least 12 characters",
        ));
    }
    Ok(())
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
    if load_keys(store)?.iter().any(|r| r.method == method) {
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
    if !rows.iter().any(|r| r.method == method) {
        return Err(Error::invalid(
            "method",
            method_label(method),
            "the vault key is not protected this way (see `orc credential keys`)",
        ));
    }
    if rows.iter().all(|r| r.method == method) {
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
        tx.execute("DELETE FROM vault_keys WHERE kind = ?1", [method.as_str()])
            .map_err(tx_err("remove vault key"))?;
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
    let rows = load_keys(store)?;
    if rows.is_empty() {
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
                let p = match source {
                    PassphraseSource::Given(p) => p,
                    PassphraseSource::Ambient { interactive } => ambient_passphrase(
                        interactive,
                        "Vault passphrase (needed to re-protect the new key)",
                    )
                    .map_err(|reason| VaultError::Locked { reason })?,
                };
                unwrap_passphrase(row, &p).map_err(|reason| VaultError::Locked { reason })?;
                p
            }
        };
        passphrase = Some(p);
    }
    let mut new_dek = Zeroizing::new([0u8; 32]);
    envelope::random_bytes(new_dek.as_mut()).map_err(|e| key_error(e.0))?;
    let new_key_id =
        old.key_id.checked_add(1).ok_or_else(|| key_error("key generation overflow"))?;
    let new =
        Vault { dek: new_dek, key_id: new_key_id, unlocked_by: old.unlocked_by, passphrase: None };

    let mut new_rows = Vec::new();
    let mut key_file = None;
    for row in &rows {
        let r = match row.method {
            KeyMethod::KeyFile => {
                let path = paths.key_file().ok_or_else(|| key_error("no key file location"))?;
                let kek = keyfile::create_pending(&path).map_err(key_error)?;
                key_file = Some(path.clone());
                wrap_keyfile(&new.dek, new_key_id, &kek, &path)?
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
                rusqlite::params![sealed, c.id],
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Paths, Store) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path().join("home"));
        let store = Store::open(&paths.home).unwrap();
        (dir, paths, store)
    }

    /// Creates the vault protected by a key file (the Unix default; on Windows DPAPI would be).
    fn init_keyfile_vault(store: &mut Store, paths: &Paths) {
        let v = Vault::open_or_create_with(store, paths, false, KeyMethod::KeyFile, ACTOR).unwrap();
        assert_eq!(v.unlocked_by(), KeyMethod::KeyFile);
    }

    const ACTOR: Actor<'static> = Actor { command: "test" };

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::from_string("CANARY-debug".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", vec![s]), "[Secret(***)]");
    }

    #[test]
    fn passphrase_wrap_round_trip_and_wrong_passphrase() {
        let dek = [3u8; 32];
        let row = wrap_passphrase_with(&dek, 1, "correct horse battery", 1000).unwrap();
        let params: KeyParams = serde_json::from_str(&row.params_text).unwrap();
        assert_eq!(params.iterations, Some(1000));
        assert_eq!(
            base64::Engine::decode(&b64(), params.salt.as_ref().unwrap()).unwrap().len(),
            16
        );
        let stored = KeyRow {
            method: KeyMethod::Passphrase,
            params_text: row.params_text.clone(),
            params,
            wrapped: row.wrapped.clone(),
            created_at: String::new(),
        };
        assert_eq!(*unwrap_passphrase(&stored, "correct horse battery").unwrap(), dek);
        let err = unwrap_passphrase(&stored, "correct horse batterY").unwrap_err();
        assert!(err.contains("wrong"), "{err}");
        // A raised iteration count in the stored parameters is honoured on read (and here it
        // changes the derived key, so the record no longer opens).
        let mut raised =
            KeyRow { params_text: stored.params_text.replace("1000", "2000"), ..stored };
        raised.params.iterations = Some(2000);
        assert!(unwrap_passphrase(&raised, "correct horse battery").is_err());
    }

    #[test]
    fn pbkdf2_matches_the_published_vectors_and_the_crate() {
        let hexed = |p: &[u8], s: &[u8], n| hex::encode(*pbkdf2_sha256_32(p, s, n));
        // RFC 7914 §11 / widely published PBKDF2-HMAC-SHA256 vectors (dkLen 32).
        assert_eq!(
            hexed(b"password", b"salt", 1),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hexed(b"password", b"salt", 2),
            "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"
        );
        assert_eq!(
            hexed(b"password", b"salt", 4096),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
        let long = [b'k'; 100];
        for (p, s, n) in [
            (&b""[..], &b""[..], 1u32),
            (b"pw", b"0123456789abcdef", 3),
            (&long[..], b"salt", 7),
            (&[b'x'; 64][..], b"s", 5),
            (&[b'y'; 65][..], &[0u8; 200][..], 2),
        ] {
            let mut want = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(p, s, n, &mut want);
            assert_eq!(*pbkdf2_sha256_32(p, s, n), want, "{} {n}", p.len());
        }
    }

    #[test]
    fn production_iteration_count_is_the_floor() {
        const { assert!(PBKDF2_ITERATIONS >= 600_000) };
        let row = wrap_passphrase(&[1u8; 32], 1, "a long enough passphrase").unwrap();
        let params: KeyParams = serde_json::from_str(&row.params_text).unwrap();
        assert_eq!(params.iterations, Some(PBKDF2_ITERATIONS));
    }

    #[test]
    fn set_get_with_key_file_and_aad_binding() {
        let (dir, paths, mut store) = setup();
        // SAFETY-free test setup: point the key file at the temp dir via a Paths override.
        let key = dir.path().join("keys").join("v.key");
        let paths = with_key_file(paths, &key);
        init_keyfile_vault(&mut store, &paths);
        set(
            &mut store,
            &paths,
            false,
            "db",
            None,
            &Secret::from_string("CANARY-one".into()),
            ACTOR,
        )
        .unwrap();
        set(
            &mut store,
            &paths,
            false,
            "api",
            None,
            &Secret::from_string("CANARY-two".into()),
            ACTOR,
        )
        .unwrap();
        let v = Vault::unlock(&store, &paths, false).unwrap();
        assert_eq!(v.unlocked_by(), KeyMethod::KeyFile);
        assert_eq!(v.get(&store, "db", Purpose::TaskEnv).unwrap().expose(), b"CANARY-one");
        assert_eq!(v.get(&store, "API", Purpose::TaskEnv).unwrap().expose(), b"CANARY-two");
        // Swap the two ciphertexts: both fail, opaquely.
        let envs: Vec<(i64, Vec<u8>)> = {
            let mut st = store.conn().prepare("SELECT id, envelope FROM credentials").unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect()
        };
        assert_eq!(envs.len(), 2);
        for (i, (id, _)) in envs.iter().enumerate() {
            let other = &envs[1 - i].1;
            store
                .conn()
                .execute(
                    "UPDATE credentials SET envelope = ?1 WHERE id = ?2",
                    rusqlite::params![other, id],
                )
                .unwrap();
        }
        for name in ["db", "api"] {
            let e = v.get(&store, name, Purpose::TaskEnv).unwrap_err();
            assert!(matches!(e, VaultError::CannotDecrypt { .. }), "{e}");
            assert_eq!(e.exit_code(), 6);
            assert!(!e.to_string().contains("CANARY"));
        }
    }

    #[test]
    fn kinds_restrict_purposes() {
        let (dir, paths, mut store) = setup();
        let paths = with_key_file(paths, &dir.path().join("k").join("v.key"));
        init_keyfile_vault(&mut store, &paths);
        let v = Secret::from_string("pw-123456".into());
        set(&mut store, &paths, false, "smtp", Some(CredentialKind::SmtpPassword), &v, ACTOR)
            .unwrap();
        let vault = Vault::unlock(&store, &paths, false).unwrap();
        assert!(vault.get(&store, "smtp", Purpose::Smtp).is_ok());
        let e = vault.get(&store, "smtp", Purpose::TaskEnv).unwrap_err();
        assert!(matches!(e, VaultError::WrongKind { .. }), "{e}");
        // Changing the kind column by hand breaks the AAD binding.
        store.conn().execute_batch("UPDATE credentials SET kind = 'secret'").unwrap();
        let e = vault.get(&store, "smtp", Purpose::TaskEnv).unwrap_err();
        assert!(matches!(e, VaultError::CannotDecrypt { .. }), "{e}");
    }

    #[test]
    fn rotate_reencrypts_and_retires_the_old_key() {
        let (dir, paths, mut store) = setup();
        let key = dir.path().join("k").join("v.key");
        let paths = with_key_file(paths, &key);
        init_keyfile_vault(&mut store, &paths);
        set(&mut store, &paths, false, "a", None, &Secret::from_string("value-a".into()), ACTOR)
            .unwrap();
        let old_key = std::fs::read(&key).unwrap();
        let old_env: Vec<u8> =
            store.conn().query_row("SELECT envelope FROM credentials", [], |r| r.get(0)).unwrap();
        let report =
            rotate_key(&mut store, &paths, PassphraseSource::Ambient { interactive: false }, ACTOR)
                .unwrap();
        assert_eq!((report.old_key_id, report.new_key_id, report.credentials), (1, 2, 1));
        assert_ne!(std::fs::read(&key).unwrap(), old_key, "key file not rotated");
        let v = Vault::unlock(&store, &paths, false).unwrap();
        assert_eq!(v.key_id(), 2);
        assert_eq!(v.get(&store, "a", Purpose::TaskEnv).unwrap().expose(), b"value-a");
        // The old envelope names generation 1, which no longer exists.
        store.conn().execute("UPDATE credentials SET envelope = ?1", [old_env]).unwrap();
        assert!(matches!(
            v.get(&store, "a", Purpose::TaskEnv),
            Err(VaultError::CannotDecrypt { .. })
        ));
    }

    #[test]
    fn interrupted_rotation_is_finished_on_unlock() {
        let (dir, paths, mut store) = setup();
        let key = dir.path().join("k").join("v.key");
        let paths = with_key_file(paths, &key);
        init_keyfile_vault(&mut store, &paths);
        set(&mut store, &paths, false, "a", None, &Secret::from_string("value-a".into()), ACTOR)
            .unwrap();
        // Simulate: new KEK written to the side file and the database committed, then a crash
        // before the rename.
        let vault = Vault::unlock(&store, &paths, false).unwrap();
        let kek = keyfile::create_pending(&key).unwrap();
        let row = wrap_keyfile(&vault.dek, vault.key_id, &kek, &key).unwrap();
        store
            .write(|tx| -> Result<(), VaultError> {
                tx.execute("DELETE FROM vault_keys", []).map_err(tx_err("x"))?;
                insert_key_row(tx, &row)
            })
            .unwrap();
        let v = Vault::unlock(&store, &paths, false).unwrap();
        assert_eq!(v.get(&store, "a", Purpose::TaskEnv).unwrap().expose(), b"value-a");
        assert!(!keyfile::pending_path(&key).exists());
        assert_eq!(*keyfile::read(&key).unwrap(), *kek);
    }

    #[test]
    fn missing_vault_keys_are_reported() {
        let (dir, paths, mut store) = setup();
        let paths = with_key_file(paths, &dir.path().join("k").join("v.key"));
        assert!(matches!(Vault::unlock(&store, &paths, false), Err(VaultError::Locked { .. })));
        set(&mut store, &paths, false, "a", None, &Secret::from_string("v-a".into()), ACTOR)
            .unwrap();
        store.conn().execute_batch("DELETE FROM vault_keys").unwrap();
        let e = Vault::unlock(&store, &paths, false).unwrap_err();
        assert!(e.to_string().contains("key records are missing"), "{e}");
    }

    #[test]
    fn resolve_secret_env_for_a_task() {
        let (dir, paths, mut store) = setup();
        let paths = with_key_file(paths, &dir.path().join("k").join("v.key"));
        init_keyfile_vault(&mut store, &paths);
        let mut spec = TaskSpec::new("t", "echo", "* * * * *");
        assert!(resolve_secret_env(&store, &paths, &spec, false).unwrap().is_empty());
        spec.secret_env.insert("DB_PASSWORD".into(), "db".into());
        let e = resolve_secret_env(&store, &paths, &spec, false).unwrap_err();
        assert!(matches!(e, VaultError::NotFound { .. }), "{e}");
        assert_eq!(e.exit_code(), 3);
        set(&mut store, &paths, false, "db", None, &Secret::from_string("s3cr3t!".into()), ACTOR)
            .unwrap();
        let env = resolve_secret_env(&store, &paths, &spec, false).unwrap();
        assert_eq!(env.len(), 1);
        assert_eq!(env[0].0, "DB_PASSWORD");
        assert_eq!(env[0].1.expose(), b"s3cr3t!");
        let red = Redactor::new(env.iter().map(|(_, s)| s));
        assert_eq!(red.redact(b"pw s3cr3t! ok").as_ref(), b"pw *** ok");
    }

    #[test]
    fn run_as_names_follow_the_credential_rule() {
        for acct in ["CORP\\svc_orc", "svc@corp.example", ".\\backup", "SYSTEM", "a b"] {
            let n = run_as_credential_name(acct);
            assert!(validate_credential_name(&n).is_ok(), "{acct} -> {n}");
        }
        assert_eq!(run_as_credential_name("CORP\\svc_orc"), "run-as-CORP-svc_orc");
        assert_eq!(run_as_credential_name("svc@corp.local"), "run-as-svc-at-corp.local");
        assert_eq!(run_as_credential_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn credential_name_rule_is_worded_for_credentials() {
        let e = validate_credential_name("a b").unwrap_err();
        assert!(e.to_string().contains("credential name"), "{e}");
        assert!(!e.to_string().contains("task name"), "{e}");
    }

    /// Paths whose key file is `key` (tests must not depend on ORC_KEY_FILE or HOME).
    fn with_key_file(paths: Paths, key: &std::path::Path) -> Paths {
        paths.with_key_file(key.to_path_buf())
    }
}

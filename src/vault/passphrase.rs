//! The passphrase unlock method: the data key wrapped under a key derived with
//! PBKDF2-HMAC-SHA256 ([`super::kdf`]), and where a passphrase comes from.
//!
//! The library never prompts. A passphrase comes from the caller
//! ([`PassphraseSource::Given`]), from `ORC_VAULT_PASSPHRASE`, or — only when the run is
//! interactive — from the [`PassphrasePrompt`] the CLI installed with [`install_prompt`]
//! (`src/cli/prompt.rs` asks on the terminal). Without one, nobody is asked ([`NoPrompt`]) and
//! the unlock fails fast with `VaultError::Locked` (exit 6).

use std::sync::OnceLock;

use base64::Engine;
use zeroize::Zeroizing;

use super::keys::{KeyMethod, KeyParams, KeyRow, NewKeyRow, dek_from, wrap_binding};
use super::{VaultError, envelope, kdf, key_error};
use crate::error::Error;

/// PBKDF2-HMAC-SHA256 iterations written for a passphrase (OWASP 2023 floor).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// A stored iteration count above this is treated as a damaged record (it would hang).
const PBKDF2_MAX_ITERATIONS: u32 = 20_000_000;

/// The `kdf` recorded in a passphrase record's parameters.
const KDF_NAME: &str = "pbkdf2-hmac-sha256";

/// Where a passphrase comes from when one is needed.
pub enum PassphraseSource {
    /// `ORC_VAULT_PASSPHRASE`, else the installed prompt when interactive.
    Ambient { interactive: bool },
    /// Given by the caller (e.g. read from stdin).
    Given(Zeroizing<String>),
}

/// Asks a person for a passphrase (the CLI's terminal prompt).
pub trait PassphrasePrompt: Send + Sync {
    /// The passphrase typed after `prompt`; `Ok(None)` when nobody can be asked (no terminal);
    /// `Err` with a one-line reason when reading it failed.
    fn passphrase(&self, prompt: &str) -> Result<Option<Zeroizing<String>>, String>;
}

/// Asks nobody: what a library caller, a test or a scheduled run gets.
pub struct NoPrompt;

impl PassphrasePrompt for NoPrompt {
    fn passphrase(&self, _prompt: &str) -> Result<Option<Zeroizing<String>>, String> {
        Ok(None)
    }
}

static PROMPT: OnceLock<Box<dyn PassphrasePrompt>> = OnceLock::new();

/// Installs the prompt interactive runs use (once per process; later calls are ignored).
pub fn install_prompt(prompt: Box<dyn PassphrasePrompt>) {
    let _ = PROMPT.set(prompt);
}

fn installed_prompt() -> &'static dyn PassphrasePrompt {
    match PROMPT.get() {
        Some(p) => p.as_ref(),
        None => &NoPrompt,
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// `ORC_VAULT_PASSPHRASE`, else (only when `interactive`) the installed prompt.
fn ambient(interactive: bool, prompt: &str) -> Result<Zeroizing<String>, String> {
    if let Some(v) = crate::env_vars::get(crate::env_vars::ORC_VAULT_PASSPHRASE) {
        return v
            .into_string()
            .map(Zeroizing::new)
            .map_err(|_| "ORC_VAULT_PASSPHRASE is not valid Unicode".to_string());
    }
    let asked = if interactive { installed_prompt().passphrase(prompt)? } else { None };
    asked.ok_or_else(|| {
        "no passphrase: ORC_VAULT_PASSPHRASE is not set and there is no terminal to ask (a \
         scheduled run never prompts)"
            .to_string()
    })
}

/// The passphrase from `source` (asking with `prompt` if it is ambient and interactive).
pub(super) fn obtain(source: PassphraseSource, prompt: &str) -> Result<Zeroizing<String>, String> {
    match source {
        PassphraseSource::Given(p) => Ok(p),
        PassphraseSource::Ambient { interactive } => ambient(interactive, prompt),
    }
}

/// Opens a passphrase record with the passphrase from `source`: a given one once, the
/// environment's once, a prompt up to three times. Returns the data key and the passphrase
/// that opened it.
pub(super) fn unlock(
    row: &KeyRow,
    source: &PassphraseSource,
) -> Result<(Zeroizing<[u8; 32]>, Zeroizing<String>), String> {
    let interactive = match source {
        PassphraseSource::Given(p) => return unwrap(row, p).map(|dek| (dek, p.clone())),
        PassphraseSource::Ambient { interactive } => *interactive,
    };
    let from_env = crate::env_vars::get(crate::env_vars::ORC_VAULT_PASSPHRASE).is_some();
    let tries = if from_env || !interactive { 1 } else { 3 };
    let mut result = Err(String::new());
    for _ in 0..tries {
        result = ambient(interactive, "Vault passphrase").and_then(|p| Ok((unwrap(row, &p)?, p)));
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

/// Wraps with a passphrase at the production iteration count (never below the floor).
pub(super) fn wrap(dek: &[u8; 32], key_id: u32, passphrase: &str) -> Result<NewKeyRow, VaultError> {
    wrap_with(dek, key_id, passphrase, PBKDF2_ITERATIONS)
}

pub(super) fn wrap_with(
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
        kdf: Some(KDF_NAME.into()),
        iterations: Some(iterations),
        salt: Some(b64().encode(salt)),
        ..KeyParams::default()
    };
    let params_text = params.to_text();
    let kek = kdf::pbkdf2_sha256(passphrase.as_bytes(), &salt, iterations);
    let wrapped =
        envelope::seal(&kek, key_id, &wrap_binding(KeyMethod::Passphrase, &params_text), dek)
            .map_err(|e| key_error(e.0))?;
    Ok(NewKeyRow { method: KeyMethod::Passphrase, params_text, wrapped })
}

/// Opens a passphrase record (the iteration count and salt are the stored ones).
pub(super) fn unwrap(row: &KeyRow, passphrase: &str) -> Result<Zeroizing<[u8; 32]>, String> {
    let p = &row.params;
    let damaged = || "the passphrase record is damaged".to_string();
    if p.kdf.as_deref() != Some(KDF_NAME) {
        return Err(damaged());
    }
    let iterations = p.iterations.filter(|n| (1..=PBKDF2_MAX_ITERATIONS).contains(n));
    let iterations = iterations.ok_or_else(damaged)?;
    let salt = p.salt.as_deref().and_then(|s| b64().decode(s).ok()).ok_or_else(damaged)?;
    let kek = kdf::pbkdf2_sha256(passphrase.as_bytes(), &salt, iterations);
    let plain = envelope::open(
        &kek,
        p.key_id,
        &wrap_binding(KeyMethod::Passphrase, &row.params_text),
        &row.wrapped,
    )
    .map_err(|_| "the passphrase is wrong".to_string())?;
    dek_from(&plain).ok_or_else(damaged)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_wrap_round_trip_and_wrong_passphrase() {
        let dek = [3u8; 32];
        let row = wrap_with(&dek, 1, "correct horse battery", 1000).unwrap();
        let params: KeyParams = serde_json::from_str(&row.params_text).unwrap();
        assert_eq!(params.iterations, Some(1000));
        assert_eq!(b64().decode(params.salt.as_ref().unwrap()).unwrap().len(), 16);
        let stored = KeyRow {
            id: 1,
            method: KeyMethod::Passphrase,
            params_text: row.params_text.clone(),
            params,
            wrapped: row.wrapped.clone(),
            created_at: String::new(),
        };
        assert_eq!(*unwrap(&stored, "correct horse battery").unwrap(), dek);
        let err = unwrap(&stored, "correct horse batterY").unwrap_err();
        assert!(err.contains("wrong"), "{err}");
        // A raised iteration count in the stored parameters is honoured on read (and here it
        // changes the derived key, so the record no longer opens).
        let mut raised =
            KeyRow { params_text: stored.params_text.replace("1000", "2000"), ..stored };
        raised.params.iterations = Some(2000);
        assert!(unwrap(&raised, "correct horse battery").is_err());
    }

    #[test]
    fn production_iteration_count_is_the_floor() {
        const { assert!(PBKDF2_ITERATIONS >= 600_000) };
        let row = wrap(&[1u8; 32], 1, "a long enough passphrase").unwrap();
        let params: KeyParams = serde_json::from_str(&row.params_text).unwrap();
        assert_eq!(params.iterations, Some(PBKDF2_ITERATIONS));
    }
}

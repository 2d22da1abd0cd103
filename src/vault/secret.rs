//! A secret value and the rules about credentials: what kinds exist, which purposes may use
//! which kind, and what a valid name and value are.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;

/// Largest credential value accepted.
pub const MAX_SECRET_BYTES: usize = 64 * 1024;

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
    /// A notification channel's URL or webhook signing key (`orc channel add`): only `secret`.
    Channel,
    /// Re-encryption during key rotation: any kind.
    Rotate,
}

impl Purpose {
    pub(super) fn allows(self, kind: CredentialKind) -> bool {
        use CredentialKind as K;
        match self {
            Purpose::TaskEnv => kind == K::Secret,
            Purpose::Smtp => matches!(kind, K::Secret | K::SmtpPassword),
            Purpose::RunAs => matches!(kind, K::Secret | K::AccountPassword),
            Purpose::Channel => kind == K::Secret,
            Purpose::Rotate => true,
        }
    }

    pub(super) fn describe(self) -> (&'static str, &'static str) {
        match self {
            Purpose::TaskEnv => ("in a task's environment", "secret"),
            Purpose::Smtp => ("as the SMTP password", "smtp_password"),
            Purpose::RunAs => ("as an account password", "account_password"),
            Purpose::Channel => ("by a notification channel", "secret"),
            Purpose::Rotate => ("", ""),
        }
    }
}

/// The credential-name rule: owned by [`crate::task::validate`] (the rule `--secret-env`
/// references are checked with), called here for `orc credential` and the settings.
pub fn validate_credential_name(name: &str) -> Result<(), Error> {
    crate::task::validate::validate_credential_name(name)
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

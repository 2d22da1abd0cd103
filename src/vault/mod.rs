//! The secrets vault.

/// Errors of the vault. Decryption failures are deliberately opaque.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("secrets are locked: {reason}")]
    Locked { reason: String },
    #[error("cannot decrypt credential {name:?}")]
    CannotDecrypt { name: String },
}

impl VaultError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        crate::error::exit::SECRETS
    }
}

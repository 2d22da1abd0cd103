//! Minimal writer for the `audit` table, used by the vault and the settings.
//!
//! Kept behind this one function so it can be pointed at the shared audit module once that is
//! merged. Never pass a secret value here: audit rows hold names, kinds and setting values only.

use rusqlite::Transaction;

use crate::store::{StoreError, classify, now_utc};

/// The operating-system user running orc (`DOMAIN\user` on Windows when known).
pub(crate) fn os_user() -> String {
    let user = std::env::var("USERNAME")
        .or_else(|_| std::env::var("USER"))
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_string());
    match std::env::var("USERDOMAIN") {
        Ok(d) if cfg!(windows) && !d.is_empty() => format!("{d}\\{user}"),
        _ => user,
    }
}

/// Appends one audit row inside the caller's transaction.
pub(crate) fn record(
    tx: &Transaction<'_>,
    command: &str,
    object: &str,
    name: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit (at, os_user, command, object, name, before, after) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        rusqlite::params![now_utc(), os_user(), command, object, name, before, after],
    )
    .map_err(|e| {
        let path = std::path::PathBuf::from(tx.path().unwrap_or("orc.db"));
        classify(&path, "write audit row", e)
    })?;
    Ok(())
}

//! The `config` table: the only SQL on it outside the schema and its migrations.
//!
//! Values are stored in canonical form (see [`super::keys`]); these functions neither validate
//! nor audit — [`super::apply`] (and `orc migrate`, which audits its own writes) do that.

use std::collections::BTreeMap;

use crate::store::sql::Connection;

/// Every stored `key → value` pair.
pub fn read_raw(conn: &Connection) -> crate::store::sql::Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare("SELECT key, value FROM config")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.collect()
}

/// The stored value of one key (`None` when unset or unreadable), not validated: for readers
/// whose own parser is more lenient than the key's rule (`scheduler.folder` without its final
/// `\\`, see [`crate::scheduler::schtasks::TaskFolder::from_config`]).
pub fn stored(conn: &Connection, key: &str) -> Option<String> {
    read_raw(conn).ok()?.remove(key)
}

/// The keys that hold a credential name.
pub(super) const CREDENTIAL_KEYS: &[&str] =
    &["smtp.password_credential", "mail.oauth.client_secret_credential"];

/// The settings whose stored value names credential `name` (case-insensitive), for
/// `orc credential rm` to refuse. Reads only those keys, so an invalid other setting does not
/// stop it.
pub fn keys_naming_credential(
    conn: &Connection,
    name: &str,
) -> crate::store::sql::Result<Vec<&'static str>> {
    let raw = read_raw(conn)?;
    Ok(CREDENTIAL_KEYS
        .iter()
        .copied()
        .filter(|k| raw.get(*k).is_some_and(|v| v.eq_ignore_ascii_case(name)))
        .collect())
}

/// Stores `value` for `key` (inserted or replaced), or removes the key with `None`.
pub fn write_raw(
    conn: &Connection,
    key: &str,
    value: Option<&str>,
    now: &str,
) -> crate::store::sql::Result<()> {
    match value {
        Some(v) => conn.execute(
            "INSERT INTO config (key, value, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at",
            crate::store::sql::params![key, v, now],
        ),
        None => conn.execute("DELETE FROM config WHERE key = ?1", [key]),
    }
    .map(|_| ())
}

/// Stores a key that must not be set yet (a constraint error otherwise).
pub fn insert_raw(
    conn: &Connection,
    key: &str,
    value: &str,
    now: &str,
) -> crate::store::sql::Result<()> {
    conn.execute(
        "INSERT INTO config (key, value, updated_at) VALUES (?1, ?2, ?3)",
        crate::store::sql::params![key, value, now],
    )
    .map(|_| ())
}

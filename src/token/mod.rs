//! API tokens for the dashboard's REST API and its sign-in: the `api_tokens` table.
//!
//! A token is `orc_` followed by 43 base64url characters (32 random bytes from the OS). It is
//! shown once, when created; the table keeps only its SHA-256, so a copy of the database does
//! not hand out access. A presented token is hashed and looked up by that hash, and the
//! stored hash is then compared in constant time ([`subtle`]) before it is accepted.
//!
//! Names follow the task name rule. `read_only` tokens may only read; the others may change
//! tasks, run them and apply the schedule. Every create and revoke writes an audit row (the
//! hash never appears in it).

use crate::store::sql::{Connection, OptionalExtension, params};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};
use crate::store::{classify, from_db_time, to_db_time};

/// What every token starts with (lets secret scanners and people recognize one).
pub const PREFIX: &str = "orc_";
/// Random bytes in a token.
const RANDOM_BYTES: usize = 32;
/// Shortest and longest `--expires`.
pub const MIN_EXPIRES_SECS: u64 = 60;
pub const MAX_EXPIRES_SECS: u64 = 3650 * 86_400;
/// The rule shown when a token name is refused.
pub const NAME_RULE: &str =
    "1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit (like a task name)";

/// A token as listed: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub read_only: bool,
    pub created_at: String,
    /// Null: never expires.
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

/// A freshly created token: the only time its value exists outside the client.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub name: String,
    pub token: String,
    pub read_only: bool,
    pub expires_at: Option<String>,
}

/// Who presented a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (the actor in audit rows).
    pub name: String,
    pub read_only: bool,
}

fn db_err<'c>(
    conn: &'c Connection,
    context: &'static str,
) -> impl Fn(crate::store::sql::Error) -> Error + 'c {
    move |e| Error::Store(classify(std::path::Path::new(conn.path().unwrap_or("")), context, e))
}

/// The SHA-256 of a token, hex.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks a token name.
pub fn validate_name(name: &str) -> Result<()> {
    crate::task::validate_name(name).map_err(|_| Error::invalid("token name", name, NAME_RULE))
}

/// Parses `--expires` (a duration from 1 minute to 10 years; `never` / `none` for none).
pub fn parse_expires(text: &str) -> Result<Option<u64>> {
    if ["never", "none"].iter().any(|w| text.trim().eq_ignore_ascii_case(w)) {
        return Ok(None);
    }
    crate::duration::parse_secs_in("--expires", text, MIN_EXPIRES_SECS, MAX_EXPIRES_SECS).map(Some)
}

fn new_secret() -> Result<String> {
    let mut bytes = [0u8; RANDOM_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Failed(format!("the OS random source failed: {e}")))?;
    Ok(format!("{PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// Creates a token. Call inside [`crate::store::Store::write`]; an existing name is refused.
pub fn create(
    conn: &Connection,
    name: &str,
    read_only: bool,
    expires_in: Option<u64>,
    command_line: &str,
) -> Result<Created> {
    validate_name(name)?;
    if let Some(existing) = get(conn, name)? {
        return Err(Error::invalid(
            "token name",
            name,
            format!("a token named {} exists; revoke it first", existing.name),
        ));
    }
    let token = new_secret()?;
    let now = crate::clock::now_utc();
    let expires = expires_in.map(|s| {
        crate::clock::saturating_add(now, chrono::Duration::seconds(s.min(i64::MAX as u64) as i64))
    });
    conn.execute(
        "INSERT INTO api_tokens (name, hash, read_only, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, hash(&token), read_only, to_db_time(now), expires.map(to_db_time)],
    )
    .map_err(db_err(conn, "store token"))?;
    let info =
        get(conn, name)?.ok_or_else(|| Error::NotFound { what: "token", name: name.into() })?;
    let after = serde_json::to_value(&info).unwrap_or_default();
    crate::audit::record(conn, command_line, "token", Some(name), None, Some(&after))?;
    Ok(Created { name: info.name, token, read_only, expires_at: info.expires_at })
}

fn info_from_row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<TokenInfo> {
    let iso = |s: Option<String>| s.and_then(|s| from_db_time(&s)).map(crate::clock::to_local_iso);
    Ok(TokenInfo {
        name: r.get(0)?,
        read_only: r.get(1)?,
        created_at: iso(Some(r.get(2)?)).unwrap_or_default(),
        expires_at: iso(r.get(3)?),
        last_used_at: iso(r.get(4)?),
    })
}

const INFO_COLUMNS: &str = "name, read_only, created_at, expires_at, last_used_at";

/// One token by name (case-insensitive).
pub fn get(conn: &Connection, name: &str) -> Result<Option<TokenInfo>> {
    conn.query_row(
        &format!("SELECT {INFO_COLUMNS} FROM api_tokens WHERE name = ?1"),
        [name],
        info_from_row,
    )
    .optional()
    .map_err(db_err(conn, "read token"))
}

/// Every token, by name.
pub fn list(conn: &Connection) -> Result<Vec<TokenInfo>> {
    let mut stmt = conn
        .prepare(&format!("SELECT {INFO_COLUMNS} FROM api_tokens ORDER BY name COLLATE NOCASE"))
        .map_err(db_err(conn, "list tokens"))?;
    let rows = stmt.query_map([], info_from_row).map_err(db_err(conn, "list tokens"))?;
    rows.collect::<crate::store::sql::Result<Vec<_>>>().map_err(db_err(conn, "list tokens"))
}

/// Revokes (deletes) a token. Call inside [`crate::store::Store::write`].
pub fn revoke(conn: &Connection, name: &str, command_line: &str) -> Result<TokenInfo> {
    let info =
        get(conn, name)?.ok_or_else(|| Error::NotFound { what: "token", name: name.into() })?;
    conn.execute("DELETE FROM api_tokens WHERE name = ?1", [name])
        .map_err(db_err(conn, "revoke token"))?;
    let before = serde_json::to_value(&info).unwrap_or_default();
    crate::audit::record(conn, command_line, "token", Some(&info.name), Some(&before), None)?;
    Ok(info)
}

/// Why a presented token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such token (or revoked).
    Unknown,
    /// Past its `expires_at`.
    Expired,
}

/// The principal a presented token stands for, at `now`.
pub fn verify(
    conn: &Connection,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Principal, Refusal>> {
    if !presented.starts_with(PREFIX) || presented.len() > 128 {
        return Ok(Err(Refusal::Unknown));
    }
    verify_hash(conn, &hash(presented), now)
}

/// [`verify`] for a token known by its hash (a browser session keeps only the hash).
pub fn verify_hash(
    conn: &Connection,
    wanted: &str,
    now: DateTime<Utc>,
) -> Result<std::result::Result<Principal, Refusal>> {
    let row: Option<(String, String, bool, Option<String>)> = conn
        .query_row(
            "SELECT name, hash, read_only, expires_at FROM api_tokens WHERE hash = ?1",
            [wanted],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
        .map_err(db_err(conn, "read token"))?;
    let Some((name, stored, read_only, expires)) = row else {
        return Ok(Err(Refusal::Unknown));
    };
    if !bool::from(stored.as_bytes().ct_eq(wanted.as_bytes())) {
        return Ok(Err(Refusal::Unknown));
    }
    if expires.and_then(|e| from_db_time(&e)).is_some_and(|e| e <= now) {
        return Ok(Err(Refusal::Expired));
    }
    Ok(Ok(Principal { name, read_only }))
}

/// Notes that a token was used (best effort: a busy database skips the note).
pub fn touch(conn: &Connection, name: &str, now: DateTime<Utc>) {
    let _ = conn.execute(
        "UPDATE api_tokens SET last_used_at = ?1 WHERE name = ?2",
        params![to_db_time(now), name],
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, crate::store::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn create_verify_revoke() {
        let (_d, mut store) = store();
        let c =
            store.write(|tx| create(tx, "ci", true, Some(3600), "orc token create ci")).unwrap();
        assert!(c.token.starts_with(PREFIX));
        assert_eq!(c.token.len(), PREFIX.len() + 43);
        assert!(c.read_only);
        let stored: String =
            store.conn().query_row("SELECT hash FROM api_tokens", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, hash(&c.token), "only the hash is stored");
        assert!(!stored.contains(&c.token[PREFIX.len()..]));
        let now = crate::clock::now_utc();
        let p = verify(store.conn(), &c.token, now).unwrap().unwrap();
        assert_eq!(p, Principal { name: "ci".into(), read_only: true });
        let later = now + chrono::Duration::seconds(3601);
        assert_eq!(verify(store.conn(), &c.token, later).unwrap(), Err(Refusal::Expired));
        // Another last character (the token is random: it may already end in 'A').
        let mut wrong = c.token.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(verify(store.conn(), &wrong, now).unwrap(), Err(Refusal::Unknown));
        assert_eq!(verify(store.conn(), "Bearer x", now).unwrap(), Err(Refusal::Unknown));
        let e = store.write(|tx| create(tx, "CI", false, None, "x")).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(list(store.conn()).unwrap().len(), 1);
        store.write(|tx| revoke(tx, "Ci", "orc token revoke Ci")).unwrap();
        assert_eq!(verify(store.conn(), &c.token, now).unwrap(), Err(Refusal::Unknown));
        let e = store.write(|tx| revoke(tx, "ci", "x")).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let audit = crate::audit::entries_for(store.conn(), "token", "ci").unwrap();
        assert_eq!(audit.len(), 2);
        assert!(audit.iter().all(|a| !format!("{a:?}").contains(&stored)), "no hash in audit");
    }

    #[test]
    fn names_and_expiry_rules() {
        assert!(validate_name("deploy-bot.1").is_ok());
        for bad in ["", "-x", "a b", "ä"] {
            assert_eq!(validate_name(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
        assert_eq!(parse_expires("90d").unwrap(), Some(90 * 86_400));
        assert_eq!(parse_expires("never").unwrap(), None);
        for bad in ["10s", "0", "x", "4000d"] {
            assert_eq!(parse_expires(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }
}

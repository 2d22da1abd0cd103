//! Changing settings: [`apply`] validates each value by its key's rule, then the settings as
//! a whole (cross-key rules such as "`smtp.tls = none` only for a loopback relay", and that a
//! referenced credential or notification channel exists), and writes every change with an audit row in one
//! transaction — or changes nothing.

use std::collections::BTreeMap;

use super::keys::{KEYS, key_def, normalize};
use super::settings::Settings;
use super::table;
use crate::error::{Error, Result};
use crate::store::{Store, classify, to_db_time};

/// One requested change.
#[derive(Debug, Clone)]
pub enum Change {
    /// Set a key (the value is validated and canonicalised).
    Set(String, String),
    /// Return a key to its default.
    Unset(String),
}

/// What [`apply`] did to one key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub key: &'static str,
    /// The stored value before (`None`: default).
    pub before: Option<String>,
    /// The stored value after (`None`: default).
    pub after: Option<String>,
    pub changed: bool,
}

/// The validated form of a batch of changes: `(key, new stored value or None for default)`.
type Wanted = Vec<(&'static str, Option<String>)>;

fn validate_values(changes: &[Change]) -> Result<Wanted> {
    let mut wanted = Vec::new();
    for c in changes {
        match c {
            Change::Set(k, v) => {
                let def = key_def(k)?;
                let canon = normalize(def.key, v)?;
                // An empty value for a key whose default is empty is the same as unset.
                let stored =
                    if canon.is_empty() && def.default.is_empty() { None } else { Some(canon) };
                wanted.push((def.key, stored));
            }
            Change::Unset(k) => wanted.push((key_def(k)?.key, None)),
        }
    }
    Ok(wanted)
}

/// Checks the settings that would result from `wanted` as a whole, and that a referenced
/// credential exists (or is in `assume_credentials`, about to be stored). Returns the current
/// stored values.
fn validate_whole(
    conn: &crate::store::sql::Connection,
    path: &std::path::Path,
    wanted: &Wanted,
    assume_credentials: &[&str],
) -> Result<BTreeMap<String, String>> {
    let err = |context: &'static str| {
        move |e: crate::store::sql::Error| Error::from(classify(path, context, e))
    };
    let current = table::read_raw(conn).map_err(err("read settings"))?;
    let mut next: BTreeMap<String, String> = current
        .iter()
        .filter(|(k, _)| KEYS.iter().any(|d| d.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in wanted {
        match v {
            Some(v) => next.insert(k.to_string(), v.clone()),
            None => next.remove(*k),
        };
    }
    Settings::from_raw(&next)?;
    for (k, v) in wanted {
        let (true, Some(name)) = (super::table::CREDENTIAL_KEYS.contains(k), v) else {
            continue;
        };
        if assume_credentials.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            continue;
        }
        crate::vault::check_setting_reference(conn, path, k, name, crate::vault::Purpose::Smtp)?;
    }
    for (k, v) in wanted {
        if let Some(v) = v {
            crate::notify::channels::check_setting(conn, k, v)?;
        }
    }
    Ok(current)
}

/// Validates a batch of changes without writing anything. `assume_credentials` are credential
/// names the caller is about to store (so `smtp.password_credential` may refer to them).
pub fn check(store: &Store, changes: &[Change], assume_credentials: &[&str]) -> Result<()> {
    let wanted = validate_values(changes)?;
    validate_whole(store.conn(), store.path(), &wanted, assume_credentials)?;
    Ok(())
}

/// Validates and writes a batch of changes in one transaction, with one audit row per changed
/// key. On any error nothing is written.
pub fn apply(store: &mut Store, changes: &[Change], actor: &str) -> Result<Vec<Applied>> {
    let wanted = validate_values(changes)?;
    let path = store.path().to_path_buf();
    store.write(|tx| -> Result<Vec<Applied>> {
        let current = validate_whole(tx, &path, &wanted, &[])?;
        let mut out = Vec::new();
        let now = to_db_time(crate::clock::now_utc());
        let mut seen = std::collections::HashSet::new();
        for (k, v) in wanted.iter().rev() {
            if !seen.insert(*k) {
                continue; // a later change of the same key wins
            }
            let before = current.get(*k).cloned();
            let changed = before != *v;
            if changed {
                table::write_raw(tx, k, v.as_deref(), &now)
                    .map_err(|e| Error::from(classify(&path, "write setting", e)))?;
                crate::audit::record(
                    tx,
                    actor,
                    "setting",
                    Some(k),
                    before.as_ref().map(|b| serde_json::json!(b)).as_ref(),
                    v.as_ref().map(|a| serde_json::json!(a)).as_ref(),
                )
                .map_err(Error::from)?;
            }
            out.push(Applied { key: k, before, after: v.clone(), changed });
        }
        out.reverse();
        Ok(out)
    })
}

/// Convenience for one `set`.
pub fn set(store: &mut Store, key: &str, value: &str, actor: &str) -> Result<Applied> {
    let mut v = apply(store, &[Change::Set(key.to_string(), value.to_string())], actor)?;
    Ok(v.remove(0))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::settings::TlsMode;

    #[test]
    fn apply_is_all_or_nothing_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let r = apply(
            &mut store,
            &[
                Change::Set("smtp.host".into(), "mail.example.com".into()),
                Change::Set("smtp.port".into(), "465".into()),
                Change::Set("smtp.tls".into(), "tls".into()),
            ],
            "orc config set",
        )
        .unwrap();
        assert!(r.iter().all(|a| a.changed));
        // The second change is refused as a whole: tls none with a remote host.
        let e = apply(
            &mut store,
            &[
                Change::Set("smtp.port".into(), "25".into()),
                Change::Set("smtp.tls".into(), "none".into()),
            ],
            "x",
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let s = Settings::load(&store).unwrap();
        assert_eq!((s.smtp_port, s.smtp_tls), (465, TlsMode::Tls));
        // Setting the same value again changes nothing and writes no audit row.
        let a = set(&mut store, "smtp.port", "465", "x").unwrap();
        assert!(!a.changed);
        let audits: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM audit WHERE object = 'setting'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(audits, 3);
        // Unset returns to the default.
        apply(&mut store, &[Change::Unset("smtp.port".into())], "x").unwrap();
        assert_eq!(Settings::load(&store).unwrap().smtp_port, 587);
        // A missing credential is refused.
        let e = set(&mut store, "smtp.password_credential", "nope", "x").unwrap_err();
        assert!(e.to_string().contains("credential set"), "{e}");
    }
}

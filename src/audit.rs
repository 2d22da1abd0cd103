//! The audit trail: one row per change to a stored object (task, setting, credential …),
//! written in the **same transaction** as the change, so a change without its audit row (or
//! the reverse) cannot exist.
//!
//! A row holds when (UTC), who (the OS user), the orc command line, the object kind and
//! name, and the object before and after as JSON (`NULL` for "did not exist"). Never put a
//! secret value in `before`/`after`: credentials are audited by name only.

use crate::store::sql::{Connection, params};

use crate::store::{StoreError, classify, to_db_time};

/// One audit row, as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    /// UTC, RFC 3339 with milliseconds.
    pub at: String,
    pub os_user: String,
    pub command: String,
    pub object: String,
    pub name: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The user running orc: `USERNAME` (Windows), else `USER` / `LOGNAME` (Unix), else
/// `"unknown"`. On Windows the domain is prefixed when `USERDOMAIN` is set (`CONTOSO\ann`).
pub fn os_user() -> String {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let user = get("USERNAME").or_else(|| get("USER")).or_else(|| get("LOGNAME"));
    match (user, cfg!(windows).then(|| get("USERDOMAIN")).flatten()) {
        (Some(u), Some(d)) => format!("{d}\\{u}"),
        (Some(u), None) => u,
        (None, _) => "unknown".to_string(),
    }
}

thread_local! {
    /// Who acts instead of the OS user while [`acting_as`] runs (e.g. `token:ci`).
    static ACTOR: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with `actor` recorded as the one who acts in every audit row it writes on this
/// thread (the dashboard's REST API: `token:NAME`, the token's name). Restored afterwards,
/// also when `f` panics.
pub fn acting_as<T>(actor: &str, f: impl FnOnce() -> T) -> T {
    struct Reset(Option<String>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            ACTOR.with(|a| *a.borrow_mut() = prev);
        }
    }
    let prev = ACTOR.with(|a| a.borrow_mut().replace(actor.to_string()));
    let _reset = Reset(prev);
    f()
}

/// Who acts now: the [`acting_as`] actor, else [`os_user`].
pub fn actor() -> String {
    ACTOR.with(|a| a.borrow().clone()).unwrap_or_else(os_user)
}

/// Writes one audit row. Call it inside the transaction that makes the change.
pub fn record(
    conn: &Connection,
    command_line: &str,
    object: &str,
    name: Option<&str>,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<(), StoreError> {
    let path = std::path::PathBuf::from(conn.path().unwrap_or(""));
    conn.execute(
        "INSERT INTO audit (at, os_user, command, object, name, before, after) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            to_db_time(crate::clock::now_utc()),
            actor(),
            command_line,
            object,
            name,
            before.map(serde_json::Value::to_string),
            after.map(serde_json::Value::to_string),
        ],
    )
    .map_err(|e| classify(&path, "write audit row", e))?;
    Ok(())
}

/// The audit rows about one object (kind and name, case-insensitive), oldest first.
pub fn entries_for(
    conn: &Connection,
    object: &str,
    name: &str,
) -> Result<Vec<AuditEntry>, StoreError> {
    let path = std::path::PathBuf::from(conn.path().unwrap_or(""));
    let err = |e| classify(&path, "read audit rows", e);
    let mut stmt = conn
        .prepare(
            "SELECT id, at, os_user, command, object, name, before, after FROM audit \
             WHERE object = ?1 AND name COLLATE NOCASE = ?2 ORDER BY id",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map(params![object, name], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                os_user: r.get(2)?,
                command: r.get(3)?,
                object: r.get(4)?,
                name: r.get(5)?,
                before: r.get(6)?,
                after: r.get(7)?,
            })
        })
        .map_err(err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_written_in_the_callers_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        let after = serde_json::json!({"name": "a"});
        store
            .write(|tx| record(tx, "orc task add a", "task", Some("a"), None, Some(&after)))
            .unwrap();
        // A failing transaction leaves no row behind.
        let r: Result<(), StoreError> = store.write(|tx| {
            record(tx, "orc task rm a", "task", Some("a"), Some(&after), None)?;
            Err(StoreError::Busy { path: "x".into(), waited_s: 0 })
        });
        assert!(r.is_err());
        let rows = entries_for(store.conn(), "task", "A").unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].command, "orc task add a");
        assert_eq!(rows[0].before, None);
        assert_eq!(rows[0].after.as_deref(), Some(r#"{"name":"a"}"#));
        assert!(rows[0].at.ends_with('Z'));
        assert!(!rows[0].os_user.is_empty());
    }

    #[test]
    fn acting_as_names_the_actor_for_its_duration() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        acting_as("token:ci", || {
            store.write(|tx| record(tx, "POST /api/v1/tasks/a/run", "task", Some("a"), None, None))
        })
        .unwrap();
        store.write(|tx| record(tx, "orc task rm a", "task", Some("a"), None, None)).unwrap();
        let rows = entries_for(store.conn(), "task", "a").unwrap();
        assert_eq!(rows[0].os_user, "token:ci");
        assert_eq!(rows[1].os_user, os_user(), "restored afterwards");
    }
}

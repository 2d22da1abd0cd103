//! The `tasks` table: one row per task, the whole [`TaskSpec`] as JSON in `spec`, `enabled`
//! mirrored in its own column (the column wins when they disagree), names unique
//! case-insensitively. Every change writes an audit row in the same transaction.
//!
//! Writers take a `&Connection` that must be inside [`crate::store::Store::write`] (a
//! `&Transaction` derefs to one); readers take any connection.

use crate::store::sql::{Connection, OptionalExtension, params};
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::store::{StoreError, classify, from_db_time, to_db_time};

use super::TaskSpec;

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTask {
    pub id: i64,
    pub spec: TaskSpec,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn db_err<'c>(
    conn: &'c Connection,
    context: &'static str,
) -> impl Fn(crate::store::sql::Error) -> Error + 'c {
    move |e| Error::Store(classify(std::path::Path::new(conn.path().unwrap_or("")), context, e))
}

fn to_json(spec: &TaskSpec) -> Result<String> {
    serde_json::to_string(spec).map_err(|e| Error::Failed(format!("cannot encode task: {e}")))
}

fn audit_json(spec: &TaskSpec) -> serde_json::Value {
    serde_json::to_value(spec).unwrap_or(serde_json::Value::Null)
}

const COLUMNS: &str = "id, name, enabled, spec, created_at, updated_at";

fn from_row(
    conn: &Connection,
    r: &crate::store::sql::Row<'_>,
) -> crate::store::sql::Result<Result<StoredTask>> {
    let id: i64 = r.get(0)?;
    let name: String = r.get(1)?;
    let enabled: bool = r.get(2)?;
    let spec_text: String = r.get(3)?;
    let created: String = r.get(4)?;
    let updated: String = r.get(5)?;
    let parsed = serde_json::from_str::<TaskSpec>(&spec_text).map_err(|e| {
        Error::Store(StoreError::Corrupt {
            path: conn.path().unwrap_or("").into(),
            message: format!("task {name:?} has an unreadable definition: {e}"),
        })
    });
    Ok(parsed.map(|mut spec| {
        spec.enabled = enabled;
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        StoredTask {
            id,
            spec,
            created_at: from_db_time(&created).unwrap_or(epoch),
            updated_at: from_db_time(&updated).unwrap_or(epoch),
        }
    }))
}

/// The task with this name (case-insensitive), if any.
pub fn get(conn: &Connection, name: &str) -> Result<Option<StoredTask>> {
    let sql = format!("SELECT {COLUMNS} FROM tasks WHERE name = ?1");
    conn.query_row(&sql, [name], |r| from_row(conn, r))
        .optional()
        .map_err(db_err(conn, "read task"))?
        .transpose()
}

/// The task with this name, or [`Error::NotFound`] (exit 3).
pub fn require(conn: &Connection, name: &str) -> Result<StoredTask> {
    get(conn, name)?.ok_or_else(|| Error::NotFound { what: "task", name: name.to_string() })
}

/// Every task, ordered by name (case-insensitive).
pub fn list(conn: &Connection) -> Result<Vec<StoredTask>> {
    let sql = format!("SELECT {COLUMNS} FROM tasks ORDER BY name COLLATE NOCASE, id");
    let mut stmt = conn.prepare(&sql).map_err(db_err(conn, "list tasks"))?;
    let rows = stmt.query_map([], |r| from_row(conn, r)).map_err(db_err(conn, "list tasks"))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(db_err(conn, "list tasks"))??);
    }
    Ok(out)
}

/// Inserts a new task and its audit row. The caller has validated it; a name that exists
/// (in any letter case) is refused.
pub fn insert(conn: &Connection, spec: &TaskSpec, command_line: &str) -> Result<StoredTask> {
    if let Some(existing) = get(conn, &spec.name)? {
        return Err(Error::invalid(
            "task name",
            &spec.name,
            format!(
                "a task named {:?} already exists (names are case-insensitive); change it with \
                 `orc task edit`",
                existing.spec.name
            ),
        ));
    }
    let now = crate::clock::now_utc();
    let at = to_db_time(now);
    let id: i64 = conn
        .query_row(
            "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
            params![spec.name, spec.enabled, to_json(spec)?, at],
            |r| r.get(0),
        )
        .map_err(db_err(conn, "insert task"))?;
    crate::audit::record(
        conn,
        command_line,
        "task",
        Some(&spec.name),
        None,
        Some(&audit_json(spec)),
    )?;
    Ok(stored_after_write(id, spec, now, now))
}

/// Replaces the definition of an existing task (found by `before.spec.name`, which must be
/// its stored name) and writes the audit row. The name itself may change letter case.
pub fn update(
    conn: &Connection,
    before: &StoredTask,
    spec: &TaskSpec,
    command_line: &str,
) -> Result<StoredTask> {
    let now = crate::clock::now_utc();
    let changed = conn
        .execute(
            "UPDATE tasks SET name = ?1, enabled = ?2, spec = ?3, updated_at = ?4 WHERE id = ?5",
            params![spec.name, spec.enabled, to_json(spec)?, to_db_time(now), before.id],
        )
        .map_err(db_err(conn, "update task"))?;
    if changed != 1 {
        return Err(Error::NotFound { what: "task", name: before.spec.name.clone() });
    }
    crate::audit::record(
        conn,
        command_line,
        "task",
        Some(&spec.name),
        Some(&audit_json(&before.spec)),
        Some(&audit_json(spec)),
    )?;
    Ok(stored_after_write(before.id, spec, before.created_at, now))
}

/// Deletes a task and writes the audit row. Past runs stay (their `task` column keeps the
/// name). Returns what was deleted.
pub fn delete(conn: &Connection, name: &str, command_line: &str) -> Result<StoredTask> {
    let before = require(conn, name)?;
    conn.execute("DELETE FROM tasks WHERE id = ?1", [before.id])
        .map_err(db_err(conn, "delete task"))?;
    crate::audit::record(
        conn,
        command_line,
        "task",
        Some(&before.spec.name),
        Some(&audit_json(&before.spec)),
        None,
    )?;
    Ok(before)
}

fn stored_after_write(
    id: i64,
    spec: &TaskSpec,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) -> StoredTask {
    // Stored times have millisecond precision; return what a later read would.
    let trunc = |t: DateTime<Utc>| from_db_time(&to_db_time(t)).unwrap_or(t);
    StoredTask { id, spec: spec.clone(), created_at: trunc(created), updated_at: trunc(updated) }
}

/// Whether the task has a registration with an OS scheduler (so removing it from the
/// database leaves something for `orc schedule --all` to clean up).
pub fn is_registered(conn: &Connection, name: &str) -> Result<bool> {
    conn.query_row("SELECT count(*) FROM registrations WHERE task = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
    .map_err(db_err(conn, "read registrations"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        (dir, s)
    }

    #[test]
    fn insert_get_update_delete_with_audit() {
        let (_d, mut store) = open();
        let spec = TaskSpec::new("Nightly", "echo hi", "0 2 * * *");
        let added = store.write(|tx| insert(tx, &spec, "orc task add Nightly")).unwrap();
        assert_eq!(added.spec, spec);
        let got = get(store.conn(), "nightly").unwrap().unwrap();
        assert_eq!(got, added);
        let e = store
            .write(|tx| insert(tx, &TaskSpec::new("NIGHTLY", "x", "@daily"), "c"))
            .unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");

        let mut changed = spec.clone();
        changed.retries = 3;
        changed.enabled = false;
        let updated = store.write(|tx| update(tx, &got, &changed, "orc task edit")).unwrap();
        assert_eq!(updated.created_at, got.created_at);
        let again = require(store.conn(), "NIGHTLY").unwrap();
        assert_eq!(again.spec, changed);
        assert_eq!(again, updated);
        let enabled: bool =
            store.conn().query_row("SELECT enabled FROM tasks", [], |r| r.get(0)).unwrap();
        assert!(!enabled);

        store.write(|tx| delete(tx, "nightly", "orc task rm nightly")).unwrap();
        assert!(get(store.conn(), "Nightly").unwrap().is_none());
        assert!(matches!(require(store.conn(), "Nightly"), Err(Error::NotFound { .. })));
        let audit = crate::audit::entries_for(store.conn(), "task", "nightly").unwrap();
        assert_eq!(audit.len(), 3);
        assert!(audit[0].before.is_none() && audit[0].after.is_some());
        assert!(audit[1].before.as_deref().unwrap().contains("\"retries\":0"));
        assert!(audit[1].after.as_deref().unwrap().contains("\"retries\":3"));
        assert!(audit[2].before.is_some() && audit[2].after.is_none());
        assert_eq!(audit[2].command, "orc task rm nightly");
    }

    #[test]
    fn list_is_sorted_case_insensitively() {
        let (_d, mut store) = open();
        for n in ["b", "A", "c"] {
            store.write(|tx| insert(tx, &TaskSpec::new(n, "x", "@daily"), "c")).unwrap();
        }
        let names: Vec<String> =
            list(store.conn()).unwrap().into_iter().map(|t| t.spec.name).collect();
        assert_eq!(names, ["A", "b", "c"]);
    }
}

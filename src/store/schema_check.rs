//! Is a database file exactly orc's schema for its `user_version`? (issue 12 finding 1)
//!
//! The reference is built by applying `MIGRATIONS[..version]` to an in-memory database, so it
//! is what this orc itself would have left at that version. Both sides are described the same
//! way: every object of `sqlite_schema` (type, name, table, SQL text), and for each table its
//! columns (`pragma table_xinfo`: name, type, not-null, default, primary-key position, hidden)
//! and its indexes (`pragma index_list`: name, unique, origin, partial). Anything extra,
//! missing or different (a trigger, a view, a column, an index) is named.

use std::collections::BTreeMap;

use rusqlite::Connection;

use super::MIGRATIONS;

/// One described schema: a key per object or column, its description as the value.
pub type Shape = BTreeMap<String, String>;

/// Describes the schema of `conn` (SQLite's own internal tables aside).
pub fn describe(conn: &Connection) -> rusqlite::Result<Shape> {
    let mut shape = Shape::new();
    let objects: Vec<(String, String, String, Option<String>)> = conn
        .prepare(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema
             WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (kind, name, table, sql) in &objects {
        let sql = sql.as_deref().map(normalize_sql).unwrap_or_default();
        shape.insert(format!("{kind} {name}"), format!("on {table}: {sql}"));
        if kind != "table" {
            continue;
        }
        let mut cols = conn.prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1)",
        )?;
        let rows = cols.query_map([name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                format!(
                    "type {:?} notnull {} default {:?} pk {} hidden {}",
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?
                ),
            ))
        })?;
        for row in rows {
            let (col, desc) = row?;
            shape.insert(format!("column {name}.{col}"), desc);
        }
        let mut idx =
            conn.prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)")?;
        let rows = idx.query_map([name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                format!(
                    "unique {} origin {} partial {}",
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?
                ),
            ))
        })?;
        for row in rows {
            let (index, desc) = row?;
            shape.insert(format!("index {index} on {name}"), desc);
        }
    }
    Ok(shape)
}

/// Whitespace runs collapsed to one space (the stored SQL text keeps the original spacing).
fn normalize_sql(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// orc's own schema at `version` (1 ..= MIGRATIONS.len()).
pub fn reference(version: usize) -> rusqlite::Result<Shape> {
    let conn = Connection::open_in_memory()?;
    for sql in &MIGRATIONS[..version] {
        conn.execute_batch(sql)?;
    }
    describe(&conn)
}

/// The differences between `found` and `expected`, one line each: whole objects (tables,
/// triggers, views, indexes) first, then columns; "unexpected …", "missing …", "different …".
pub fn differences(found: &Shape, expected: &Shape) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in found {
        match expected.get(k) {
            None => out.push(format!("unexpected {k}")),
            Some(e) if e != v => out.push(format!("different {k} ({v}; orc has {e})")),
            Some(_) => {}
        }
    }
    for k in expected.keys() {
        if !found.contains_key(k) {
            out.push(format!("missing {k}"));
        }
    }
    // Stable: keeps the map order within each group.
    out.sort_by_key(|d| d.split(' ').nth(1) == Some("column"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_version(v: usize) -> Connection {
        let c = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..v] {
            c.execute_batch(sql).unwrap();
        }
        c
    }

    #[test]
    fn orc_matches_itself_at_every_version() {
        for v in 1..=MIGRATIONS.len() {
            let found = describe(&at_version(v)).unwrap();
            assert!(differences(&found, &reference(v).unwrap()).is_empty(), "version {v}");
        }
    }

    #[test]
    fn extra_trigger_view_index_and_column_are_named() {
        let v = MIGRATIONS.len();
        let c = at_version(v);
        c.execute_batch(
            "CREATE TRIGGER evil AFTER INSERT ON runs BEGIN UPDATE tasks SET spec = '{}'; END;
             CREATE VIEW v AS SELECT 1;
             CREATE INDEX extra_idx ON tasks(enabled);
             ALTER TABLE config ADD COLUMN sneaky TEXT;",
        )
        .unwrap();
        let diff = differences(&describe(&c).unwrap(), &reference(v).unwrap());
        let keys: Vec<&str> = diff.iter().map(|d| d.split(" (").next().unwrap()).collect();
        assert_eq!(
            keys,
            vec![
                "unexpected index extra_idx",
                "unexpected index extra_idx on tasks",
                "different table config",
                "unexpected trigger evil",
                "unexpected view v",
                "unexpected column config.sneaky",
            ]
        );
    }

    #[test]
    fn same_names_other_columns_differ() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE tasks (x); CREATE TABLE runs (x); CREATE TABLE config (x);
             CREATE TABLE schema_log (x);",
        )
        .unwrap();
        let diff = differences(&describe(&c).unwrap(), &reference(1).unwrap());
        assert!(diff.iter().any(|d| d == "unexpected column tasks.x"), "{diff:?}");
        assert!(diff.iter().any(|d| d == "missing column tasks.name"), "{diff:?}");
    }
}

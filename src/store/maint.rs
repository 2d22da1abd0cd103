//! Database maintenance: online backup, validated restore, integrity check, pruning.
//!
//! * **backup**: `VACUUM INTO` a temporary file next to the target (a consistent snapshot taken
//!   inside one read transaction, safe while other processes write), `integrity_check` of the
//!   copy, then rename into place. The target must not exist.
//! * **restore**: the file must be an orc database (its tables, a schema version this orc
//!   knows) that passes `integrity_check`; no run may be in progress. The current database is
//!   first saved as `orc.db.bak` (same method as backup), then the backup's pages are copied
//!   **into** the live database with SQLite's online backup API, which replaces the content in
//!   one write transaction — other processes see either the old or the new database, never a
//!   mix. Then the database is migrated if the backup is older, and checked again.
//! * **prune**: finished runs older than the cutoff (and their output files, and old slot
//!   claims) are deleted in batches of [`PRUNE_BATCH`] rows, one short transaction each.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{BUSY_TIMEOUT, MIGRATIONS, Store, StoreError, classify, to_db_time};

/// Rows deleted per transaction by [`prune`].
pub const PRUNE_BATCH: usize = 500;

/// What a backup produced.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
}

fn integrity_problems(conn: &Connection, path: &Path) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("PRAGMA integrity_check").map_err(|e| classify(path, "integrity check", e))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| classify(path, "integrity check", e))?;
    let mut problems = Vec::new();
    for row in rows {
        let line = row.map_err(|e| classify(path, "integrity check", e))?;
        if line != "ok" {
            problems.push(line);
        }
    }
    Ok(problems)
}

fn vacuum_into(conn: &Connection, src: &Path, dest: &Path) -> Result<(), StoreError> {
    let target = dest.to_string_lossy().into_owned();
    conn.execute("VACUUM INTO ?1", [target]).map_err(|e| classify(src, "write backup", e))?;
    Ok(())
}

/// A unique temporary name next to `dest`.
fn temp_next_to(dest: &Path, tag: &str) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{tag}-{}.tmp", std::process::id()));
    dest.with_file_name(name)
}

/// Copies the live database to `dest` (which must not exist) and checks the copy.
pub fn backup(store: &Store, dest: &Path) -> Result<BackupReport, crate::Error> {
    if dest.exists() {
        return Err(crate::Error::invalid(
            "backup file",
            dest.display().to_string(),
            "already exists; choose a new file name (orc never overwrites a backup)",
        ));
    }
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(crate::Error::invalid(
            "backup file",
            dest.display().to_string(),
            format!("its directory {} does not exist", parent.display()),
        ));
    }
    let tmp = temp_next_to(dest, "orc-backup");
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        vacuum_into(store.conn(), store.path(), &tmp)?;
        let copy = Connection::open_with_flags(&tmp, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| classify(&tmp, "open backup", e))?;
        let problems = integrity_problems(&copy, &tmp)?;
        drop(copy);
        if !problems.is_empty() {
            return Err(StoreError::Corrupt { path: tmp.clone(), message: problems.join("; ") });
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        crate::Error::io("move the backup into place at", dest, e)
    })?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { path: dest.to_path_buf(), bytes })
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// Where the replaced database was saved.
    pub previous: PathBuf,
    /// The schema version of the backup before migration.
    pub backup_version: i64,
    pub tasks: i64,
    pub runs: i64,
}

const REQUIRED_TABLES: &[&str] = &["tasks", "runs", "config", "schema_log"];

/// Checks that `file` is a sound orc database and returns its schema version.
pub fn validate_backup(file: &Path) -> Result<(Connection, i64), crate::Error> {
    let bad = |why: String| {
        crate::Error::invalid(
            "backup file",
            file.display().to_string(),
            format!("must be an orc database that passes integrity_check: {why}"),
        )
    };
    if !file.is_file() {
        return Err(bad("no such file".to_string()));
    }
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(e.to_string()))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| bad(format!("not an SQLite database ({e})")))?;
    for table in REQUIRED_TABLES {
        let found: Option<String> = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [table],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| bad(e.to_string()))?;
        if found.is_none() {
            return Err(bad(format!("it has no {table} table")));
        }
    }
    let known = MIGRATIONS.len() as i64;
    if version < 1 || version > known {
        return Err(bad(format!(
            "its schema version {version} is not one this orc knows (1-{known})"
        )));
    }
    let problems = integrity_problems(&conn, file).map_err(|e| bad(e.to_string()))?;
    if !problems.is_empty() {
        return Err(bad(problems.join("; ")));
    }
    Ok((conn, version))
}

/// Replaces the database of `home` with `file`. See the module documentation.
pub fn restore(home: &Path, file: &Path) -> Result<RestoreReport, crate::Error> {
    let (src, backup_version) = validate_backup(file)?;
    let mut store = Store::open(home)?;
    if store.path() == file
        || std::fs::canonicalize(store.path()).ok() == std::fs::canonicalize(file).ok()
    {
        return Err(crate::Error::invalid(
            "backup file",
            file.display().to_string(),
            "is the live database itself",
        ));
    }
    crate::exec::runs::reap_stale(&mut store, None)?;
    let running = crate::exec::runs::running(store.conn(), None)
        .map_err(|e| store.err("read running runs", e))?;
    if let Some(r) = running.first() {
        return Err(crate::Error::Usage(format!(
            "run {} of task {} is in progress (orc pid {}); restore when no task is running \
             (nothing was changed)",
            r.id,
            r.task,
            r.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
        )));
    }
    // Save the current database first.
    let mut previous = store.path().as_os_str().to_os_string();
    previous.push(".bak");
    let previous = PathBuf::from(previous);
    let tmp = temp_next_to(&previous, "orc-save");
    let _ = std::fs::remove_file(&tmp);
    vacuum_into(store.conn(), store.path(), &tmp)?;
    std::fs::rename(&tmp, &previous).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        crate::Error::io("save the current database to", &previous, e)
    })?;
    // Copy the backup into the live database in one step.
    let path = store.path().to_path_buf();
    {
        let mut live = Connection::open(&path).map_err(|e| classify(&path, "open", e))?;
        live.busy_timeout(BUSY_TIMEOUT).map_err(|e| classify(&path, "set busy timeout", e))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut live)
            .map_err(|e| classify(&path, "start restore", e))?;
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match backup.step(-1).map_err(|e| classify(&path, "restore", e))? {
                rusqlite::backup::StepResult::Done => break,
                _ if Instant::now() >= deadline => {
                    return Err(StoreError::Busy {
                        path: path.clone(),
                        waited_s: BUSY_TIMEOUT.as_secs(),
                    }
                    .into());
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    drop(store);
    // Reopen: migrates a backup from an older orc, then check the result.
    let store = Store::open(home)?;
    let problems = store.integrity_check()?;
    if !problems.is_empty() {
        return Err(StoreError::Corrupt { path: path.clone(), message: problems.join("; ") }.into());
    }
    let count = |table: &str| -> Result<i64, crate::Error> {
        store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| store.err("count rows", e).into())
    };
    Ok(RestoreReport { previous, backup_version, tasks: count("tasks")?, runs: count("runs")? })
}

/// What a check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub problems: Vec<String>,
    pub schema_version: i64,
    pub tasks: i64,
    pub runs: i64,
    pub running: i64,
    pub db_bytes: u64,
    pub wal_bytes: u64,
}

/// `integrity_check`, `foreign_key_check` and a few counts.
pub fn check(store: &Store) -> Result<CheckReport, StoreError> {
    let mut problems = store.integrity_check()?;
    {
        let mut stmt = store
            .conn()
            .prepare("PRAGMA foreign_key_check")
            .map_err(|e| store.err("foreign key check", e))?;
        let rows = stmt
            .query_map([], |r| Ok(format!("foreign key violation in {}", r.get::<_, String>(0)?)))
            .map_err(|e| store.err("foreign key check", e))?;
        for row in rows {
            problems.push(row.map_err(|e| store.err("foreign key check", e))?);
        }
    }
    let count = |sql: &str| -> Result<i64, StoreError> {
        store.conn().query_row(sql, [], |r| r.get(0)).map_err(|e| store.err("count rows", e))
    };
    let size = |suffix: &str| {
        let mut p = store.path().as_os_str().to_os_string();
        p.push(suffix);
        std::fs::metadata(PathBuf::from(p)).map(|m| m.len()).unwrap_or(0)
    };
    Ok(CheckReport {
        ok: problems.is_empty(),
        problems,
        schema_version: store.schema_version()?,
        tasks: count("SELECT count(*) FROM tasks")?,
        runs: count("SELECT count(*) FROM runs")?,
        running: count("SELECT count(*) FROM runs WHERE status = 'RUNNING'")?,
        db_bytes: size(""),
        wal_bytes: size("-wal"),
    })
}

/// What a prune deleted (or would delete).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneReport {
    pub cutoff: String,
    pub runs: u64,
    pub files: u64,
    pub slot_claims: u64,
    pub dry_run: bool,
}

/// Deletes finished runs that started before `cutoff`, their output files and slot claims
/// older than the cutoff. Never touches RUNNING rows.
pub fn prune(
    store: &mut Store,
    runs_dir: &Path,
    cutoff: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
) -> Result<PruneReport, StoreError> {
    let cut = to_db_time(cutoff);
    let mut report = PruneReport {
        cutoff: crate::clock::to_local_iso(cutoff),
        dry_run,
        ..PruneReport::default()
    };
    let path = store.path().to_path_buf();
    if dry_run {
        let c = store.conn();
        report.runs = c
            .query_row(
                "SELECT count(*) FROM runs WHERE start < ?1 AND status != 'RUNNING'",
                [&cut],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| classify(&path, "count runs", e))? as u64;
        report.files = c
            .query_row(
                "SELECT count(*) FROM runs WHERE start < ?1 AND status != 'RUNNING'
                 AND output_file IS NOT NULL",
                [&cut],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| classify(&path, "count runs", e))? as u64;
        report.slot_claims = c
            .query_row("SELECT count(*) FROM slot_claims WHERE claimed_at < ?1", [&cut], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| classify(&path, "count claims", e))? as u64;
        return Ok(report);
    }
    loop {
        let batch: Vec<(i64, Option<String>)> = store.write(|tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT id, output_file FROM runs WHERE start < ?1 AND status != 'RUNNING'
                     ORDER BY id LIMIT ?2",
                )
                .map_err(|e| classify(&path, "select runs", e))?;
            let rows: Vec<(i64, Option<String>)> = stmt
                .query_map(params![cut, PRUNE_BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| classify(&path, "select runs", e))?;
            for (id, _) in &rows {
                tx.execute("DELETE FROM runs WHERE id = ?1", [id])
                    .map_err(|e| classify(&path, "delete runs", e))?;
            }
            Ok::<_, StoreError>(rows)
        })?;
        if batch.is_empty() {
            break;
        }
        report.runs += batch.len() as u64;
        for (id, file) in batch {
            let file =
                file.map(PathBuf::from).unwrap_or_else(|| runs_dir.join(format!("{id}.log")));
            if std::fs::remove_file(&file).is_ok() {
                report.files += 1;
            }
        }
    }
    loop {
        let n = store.write(|tx| {
            tx.execute(
                "DELETE FROM slot_claims WHERE rowid IN
                   (SELECT rowid FROM slot_claims WHERE claimed_at < ?1 LIMIT ?2)",
                params![cut, PRUNE_BATCH as i64],
            )
            .map_err(|e| classify(&path, "delete slot claims", e))
        })?;
        report.slot_claims += n as u64;
        if n == 0 {
            break;
        }
    }
    // Give the space back to the file system's view of the WAL.
    let _ = store.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_restore_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let mut store = Store::open(&home).unwrap();
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO config (key, value, updated_at) VALUES ('k', 'before', 'now')",
                    [],
                )
                .map_err(|e| classify(Path::new("x"), "insert", e))
            })
            .unwrap();
        let file = dir.path().join("b.db");
        let report = backup(&store, &file).unwrap();
        assert!(report.bytes > 0);
        assert!(backup(&store, &file).is_err(), "never overwrites");
        store
            .write(|tx| {
                tx.execute("UPDATE config SET value = 'after' WHERE key = 'k'", [])
                    .map_err(|e| classify(Path::new("x"), "update", e))
            })
            .unwrap();
        drop(store);
        let r = restore(&home, &file).unwrap();
        assert!(r.previous.exists());
        let store = Store::open(&home).unwrap();
        let v: String = store
            .conn()
            .query_row("SELECT value FROM config WHERE key='k'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, "before");
        let bak = Connection::open(&r.previous).unwrap();
        let v: String =
            bak.query_row("SELECT value FROM config WHERE key='k'", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "after");
    }

    #[test]
    fn restore_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not a database at all, not even close......").unwrap();
        let e = validate_backup(&junk).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let other = dir.path().join("other.db");
        Connection::open(&other).unwrap().execute_batch("CREATE TABLE x (a)").unwrap();
        let e = validate_backup(&other).unwrap_err();
        assert!(e.to_string().contains("no tasks table"), "{e}");
    }
}

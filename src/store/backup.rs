//! Backup and validated restore (issue 12 finding 1).
//!
//! * **backup**: the target is claimed with create-new (`O_EXCL`: an existing file is never
//!   overwritten, and there is no check-then-rename race), then `VACUUM INTO` writes a
//!   consistent snapshot into that empty file (SQLite accepts an empty target), then the copy
//!   passes `integrity_check`. On failure the claimed file is removed.
//! * **restore**: the file must be exactly orc's schema for its `user_version` (see
//!   [`super::schema_check`]: tables, columns, indexes, triggers, views), pass
//!   `integrity_check` and `foreign_key_check`; anything else is refused as bad input (exit 2)
//!   with nothing changed. The caller checks that no run is in progress (`ensure_idle`; the
//!   store does not depend on the executor). The current database is then kept as
//!   `orc.db.<UTC timestamp>.bak` (never overwriting an older copy), and the backup's pages
//!   are copied **into** the live database with SQLite's online backup API in one write
//!   transaction. The database is migrated if the backup is older, and checked again.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::{BUSY_TIMEOUT, MIGRATIONS, Store, StoreError, classify, schema_check};

fn cl(path: &Path, context: &'static str, e: rusqlite::Error) -> StoreError {
    classify(path, context, e.into())
}

/// The SQLite connection of `store`; backup and restore are SQLite's (a PostgreSQL store is
/// backed up with the server's own tools).
pub(super) fn sqlite_of(store: &Store) -> Result<&Connection, crate::Error> {
    store.conn().sqlite().ok_or_else(|| {
        crate::Error::Usage(format!(
            "the store is PostgreSQL ({}): back it up and restore it with pg_dump and \
             pg_restore (docs/guide/fleet.md)",
            store.path().display()
        ))
    })
}

/// What a backup produced.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
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

/// `PRAGMA integrity_check` and `PRAGMA foreign_key_check` problems, one line each.
pub(super) fn check_problems(conn: &Connection, path: &Path) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    let mut stmt =
        conn.prepare("PRAGMA integrity_check").map_err(|e| cl(path, "integrity check", e))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(|e| cl(path, "integrity check", e))?;
    for row in rows {
        let line = row.map_err(|e| cl(path, "integrity check", e))?;
        if line != "ok" {
            problems.push(line);
        }
    }
    let mut stmt =
        conn.prepare("PRAGMA foreign_key_check").map_err(|e| cl(path, "foreign key check", e))?;
    let rows = stmt
        .query_map([], |r| Ok(format!("foreign key violation in {}", r.get::<_, String>(0)?)))
        .map_err(|e| cl(path, "foreign key check", e))?;
    for row in rows {
        problems.push(row.map_err(|e| cl(path, "foreign key check", e))?);
    }
    Ok(problems)
}

/// Writes a consistent copy of `conn`'s database into `dest`, which must not exist (it is
/// created `0600` with create-new first) and checks it. On failure `dest` is removed.
fn snapshot_to_new(conn: &Connection, src: &Path, dest: &Path) -> Result<(), crate::Error> {
    drop(crate::fsx::create_new(dest).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            crate::Error::invalid(
                "backup file",
                dest.display().to_string(),
                "already exists; choose a new file name (orc never overwrites a backup)",
            )
        } else {
            crate::Error::io("create", dest, e)
        }
    })?);
    let result = (|| {
        let target = dest.to_string_lossy().into_owned();
        conn.execute("VACUUM INTO ?1", [target]).map_err(|e| cl(src, "write backup", e))?;
        let copy = Connection::open_with_flags(dest, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| cl(dest, "open backup", e))?;
        let problems = check_problems(&copy, dest)?;
        if !problems.is_empty() {
            return Err(StoreError::Corrupt {
                path: dest.to_path_buf(),
                message: problems.join("; "),
            });
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(dest);
        return Err(e.into());
    }
    Ok(())
}

/// Copies the live database to `dest` (which must not exist) and checks the copy.
pub fn backup(store: &Store, dest: &Path) -> Result<BackupReport, crate::Error> {
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(crate::Error::invalid(
            "backup file",
            dest.display().to_string(),
            format!("its directory {} does not exist", parent.display()),
        ));
    }
    crate::fsx::output::check_file_name("backup file", dest, cfg!(windows))?;
    snapshot_to_new(sqlite_of(store)?, store.path(), dest)?;
    let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { path: dest.to_path_buf(), bytes })
}

/// Checks that `file` is exactly an orc database of a version this orc knows and that it
/// passes the integrity and foreign-key checks; returns it open (read-only) and its version.
pub fn validate_backup(file: &Path) -> Result<(Connection, i64), crate::Error> {
    let bad = |why: String| {
        crate::Error::invalid(
            "backup file",
            file.display().to_string(),
            format!("is not a sound orc database: {why}; nothing was changed"),
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
    let known = MIGRATIONS.len() as i64;
    if version < 1 || version > known {
        return Err(bad(format!(
            "its schema version {version} is not one this orc knows (1-{known})"
        )));
    }
    let found = schema_check::describe(&conn).map_err(|e| bad(e.to_string()))?;
    let expected = schema_check::reference(version as usize)
        .map_err(|e| crate::Error::Failed(format!("cannot build orc's own schema: {e}")))?;
    let diff = schema_check::differences(&found, &expected);
    if !diff.is_empty() {
        let shown: Vec<&str> = diff.iter().take(5).map(|d| d.as_str()).collect();
        let more =
            if diff.len() > 5 { format!(" and {} more", diff.len() - 5) } else { String::new() };
        return Err(bad(format!(
            "its schema differs from orc's schema version {version}: {}{more}",
            shown.join("; ")
        )));
    }
    let problems = check_problems(&conn, file).map_err(|e| bad(e.to_string()))?;
    if !problems.is_empty() {
        return Err(bad(problems.join("; ")));
    }
    Ok((conn, version))
}

/// `<db>.<UTC timestamp>.bak`, with `-2`, `-3`, … when that name is taken.
pub(super) fn timestamped_copy_name(
    db: &Path,
    now: chrono::DateTime<chrono::Utc>,
    n: u32,
) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(format!(".{}", now.format("%Y%m%dT%H%M%SZ")));
    if n > 1 {
        name.push(format!("-{n}"));
    }
    name.push(".bak");
    PathBuf::from(name)
}

/// Saves the live database as a new timestamped copy (never overwriting one).
fn save_previous(store: &Store) -> Result<PathBuf, crate::Error> {
    let now = crate::clock::now_utc();
    for n in 1..=1000 {
        let candidate = timestamped_copy_name(store.path(), now, n);
        if std::fs::symlink_metadata(&candidate).is_ok() {
            continue;
        }
        match snapshot_to_new(sqlite_of(store)?, store.path(), &candidate) {
            Ok(()) => return Ok(candidate),
            // Taken between the look and the create-new: try the next name.
            Err(crate::Error::Invalid { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(crate::Error::Failed(format!(
        "cannot find a free name for the copy of {}",
        store.path().display()
    )))
}

/// Replaces the database of `home` with `file`. `ensure_idle` is called with the open live
/// store before anything changes and refuses (e.g. while a run is in progress).
pub fn restore(
    home: &Path,
    file: &Path,
    ensure_idle: impl FnOnce(&mut Store) -> Result<(), crate::Error>,
) -> Result<RestoreReport, crate::Error> {
    let (src, backup_version) = validate_backup(file)?;
    let mut store = Store::open(home)?;
    sqlite_of(&store)?;
    if store.path() == file
        || std::fs::canonicalize(store.path()).ok() == std::fs::canonicalize(file).ok()
    {
        return Err(crate::Error::invalid(
            "backup file",
            file.display().to_string(),
            "is the live database itself",
        ));
    }
    ensure_idle(&mut store)?;
    let previous = save_previous(&store)?;
    // Copy the backup into the live database in one step.
    let path = store.path().to_path_buf();
    {
        let mut live = Connection::open(&path).map_err(|e| cl(&path, "open", e))?;
        live.busy_timeout(BUSY_TIMEOUT).map_err(|e| cl(&path, "set busy timeout", e))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut live)
            .map_err(|e| cl(&path, "start restore", e))?;
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match backup.step(-1).map_err(|e| cl(&path, "restore", e))? {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(_: &mut Store) -> Result<(), crate::Error> {
        Ok(())
    }

    fn set_config(store: &mut Store, value: &str) {
        store
            .write(|tx| {
                crate::config::table::write_raw(tx, "k", Some(value), "now")
                    .map_err(|e| classify(Path::new("x"), "insert", e))
            })
            .unwrap();
    }

    #[test]
    fn backup_restore_round_trip_keeps_every_replaced_database() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let mut store = Store::open(&home).unwrap();
        set_config(&mut store, "before");
        let file = dir.path().join("b.db");
        let report = backup(&store, &file).unwrap();
        assert!(report.bytes > 0);
        let original = std::fs::read(&file).unwrap();
        let e = backup(&store, &file).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(std::fs::read(&file).unwrap(), original, "never overwrites");
        set_config(&mut store, "after");
        drop(store);
        let first = restore(&home, &file, idle).unwrap();
        let second = restore(&home, &file, idle).unwrap();
        assert_ne!(first.previous, second.previous);
        assert!(first.previous.exists() && second.previous.exists());
        let name = first.previous.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("orc.db.") && name.ends_with("Z.bak"), "{name}");
        let store = Store::open(&home).unwrap();
        let value = |c: &crate::store::sql::Connection| {
            crate::config::table::read_raw(c).unwrap().remove("k")
        };
        assert_eq!(value(store.conn()).as_deref(), Some("before"));
        let bak =
            crate::store::sql::Connection::from_sqlite(Connection::open(&first.previous).unwrap());
        assert_eq!(value(&bak).as_deref(), Some("after"));
    }

    #[test]
    fn a_refusing_caller_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let store = Store::open(&home).unwrap();
        let file = dir.path().join("b.db");
        backup(&store, &file).unwrap();
        drop(store);
        let e = restore(&home, &file, |_| Err(crate::Error::Usage("busy".into()))).unwrap_err();
        assert_eq!(e.to_string(), "busy");
        let entries: Vec<_> = std::fs::read_dir(&home)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".bak"))
            .collect();
        assert!(entries.is_empty(), "{entries:?}");
    }

    #[test]
    fn copy_names_are_timestamped_and_numbered() {
        use chrono::TimeZone;
        let t = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 8, 35, 28).unwrap();
        let db = Path::new("/h/orc.db");
        assert_eq!(
            timestamped_copy_name(db, t, 1),
            PathBuf::from("/h/orc.db.20261203T083528Z.bak")
        );
        assert_eq!(
            timestamped_copy_name(db, t, 2),
            PathBuf::from("/h/orc.db.20261203T083528Z-2.bak")
        );
    }

    #[test]
    fn restore_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"this is not a database at all, not even close......").unwrap();
        let e = validate_backup(&junk).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        let other = dir.path().join("other.db");
        let c = Connection::open(&other).unwrap();
        c.execute_batch("CREATE TABLE x (a); PRAGMA user_version = 1;").unwrap();
        drop(c);
        let e = validate_backup(&other).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{e}");
        assert!(
            e.to_string()
                .contains("its schema differs from orc's schema version 1: unexpected table x; "),
            "{e}"
        );
        assert!(e.to_string().ends_with(" more; nothing was changed"), "{e}");
    }
}

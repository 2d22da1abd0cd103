//! Reading the legacy SQLite file, strictly read-only.
//!
//! The file is opened with `SQLITE_OPEN_READ_ONLY`. A WAL-mode database sometimes cannot be
//! read that way (no writable `-shm`, a `-wal` that needs recovery); then the file and its
//! `-wal` are copied to a private temporary directory and the copy is read. The original is
//! never written.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// One row of the legacy `tasks` table.
#[derive(Debug, Clone, Default)]
pub struct LegacyTask {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub command: String,
    pub arguments: Option<String>,
    pub schedule_type: String,
    pub schedule: String,
    pub enabled: bool,
    pub timeout: Option<i64>,
    pub retry_count: Option<i64>,
    pub retry_delay: Option<i64>,
    pub dependencies: Option<String>,
    pub notifications: Option<String>,
    pub working_directory: Option<String>,
    pub environment: Option<String>,
    pub description: Option<String>,
}

/// One row of the legacy `task_results` table.
#[derive(Debug, Clone, Default)]
pub struct LegacyResult {
    pub id: i64,
    pub task_name: String,
    pub status: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub duration: Option<f64>,
    pub exit_code: Option<i64>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub retry_count: Option<i64>,
}

/// One secret: an encrypted `config` value or a row of `credentials`.
#[derive(Debug, Clone)]
pub struct LegacySecret {
    /// `config` or `credential`.
    pub source: &'static str,
    pub name: String,
    pub token: String,
    pub description: Option<String>,
}

/// Everything read from the legacy database.
#[derive(Debug, Clone, Default)]
pub struct LegacyDb {
    pub tasks: Vec<LegacyTask>,
    pub results: Vec<LegacyResult>,
    /// Plain (unencrypted) config values, by key.
    pub config: std::collections::BTreeMap<String, String>,
    pub secrets: Vec<LegacySecret>,
}

/// Reads the whole legacy database at `path`; `scratch` is a directory orc may use for a copy.
pub fn read(path: &Path, scratch: &Path) -> Result<LegacyDb> {
    if !path.is_file() {
        return Err(Error::invalid(
            "--from-legacy",
            path.display().to_string(),
            "no such file: give the legacy database (usually <folder>\\data\\orchestrator.db)",
        ));
    }
    match open_read_only(path).and_then(|c| read_conn(&c)) {
        Ok(db) => Ok(db),
        Err(first) => {
            let dir = scratch.join(format!("legacy-copy-{}", std::process::id()));
            let result = copy_and_read(path, &dir);
            let _ = std::fs::remove_dir_all(&dir);
            result.map_err(|e| match e {
                ReadError::Sql(e) => Error::invalid(
                    "--from-legacy",
                    path.display().to_string(),
                    format!(
                        "not a readable legacy orchestrator database: {e} (first attempt: {first})"
                    ),
                ),
                ReadError::Other(e) => e,
            })
        }
    }
}

enum ReadError {
    Sql(rusqlite::Error),
    Other(Error),
}

fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

fn copy_and_read(path: &Path, dir: &Path) -> Result<LegacyDb, ReadError> {
    crate::fsx::ensure_private_dir(dir)
        .map_err(|e| ReadError::Other(Error::io("create", dir.to_path_buf(), e)))?;
    let copy = dir.join("legacy.db");
    std::fs::copy(path, &copy).map_err(|e| ReadError::Other(Error::io("copy", path, e)))?;
    let wal = sidecar(path, "-wal");
    if wal.is_file() {
        std::fs::copy(&wal, sidecar(&copy, "-wal"))
            .map_err(|e| ReadError::Other(Error::io("copy", wal.clone(), e)))?;
    }
    // The copy is ours: open it read-write so SQLite can recover the WAL into it.
    let conn = Connection::open(&copy).map_err(ReadError::Sql)?;
    read_conn(&conn).map_err(ReadError::Sql)
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn read_conn(conn: &Connection) -> rusqlite::Result<LegacyDb> {
    let mut db = LegacyDb::default();
    let mut stmt = conn.prepare(
        "SELECT id, name, type, command, arguments, schedule_type, schedule, enabled, timeout, \
         retry_count, retry_delay, dependencies, notifications, working_directory, environment, \
         description FROM tasks ORDER BY id",
    )?;
    db.tasks = stmt
        .query_map([], |r| {
            Ok(LegacyTask {
                id: r.get(0)?,
                name: r.get(1)?,
                kind: r.get::<_, Option<String>>(2)?.unwrap_or_else(|| "command".into()),
                command: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                arguments: r.get(4)?,
                schedule_type: r.get::<_, Option<String>>(5)?.unwrap_or_else(|| "cron".into()),
                schedule: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                enabled: r.get::<_, Option<i64>>(7)?.unwrap_or(1) != 0,
                timeout: r.get(8)?,
                retry_count: r.get(9)?,
                retry_delay: r.get(10)?,
                dependencies: r.get(11)?,
                notifications: r.get(12)?,
                working_directory: r.get(13)?,
                environment: r.get(14)?,
                description: r.get(15)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = conn.prepare(
        "SELECT id, task_name, status, start_time, end_time, duration, exit_code, output, error, \
         retry_count FROM task_results ORDER BY id",
    )?;
    db.results = stmt
        .query_map([], |r| {
            Ok(LegacyResult {
                id: r.get(0)?,
                task_name: r.get(1)?,
                status: r.get(2)?,
                start_time: r.get(3)?,
                end_time: r.get(4)?,
                duration: r.get(5)?,
                exit_code: r.get(6)?,
                output: r.get(7)?,
                error: r.get(8)?,
                retry_count: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // The legacy orchestrator's own `config` table (its schema, its database), not orc's.
    let mut stmt = conn.prepare("SELECT key, value, encrypted FROM config ORDER BY key")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            r.get::<_, Option<i64>>(2)?.unwrap_or(0) != 0,
        ))
    })?;
    for row in rows {
        let (key, value, encrypted) = row?;
        if encrypted {
            db.secrets.push(LegacySecret {
                source: "config",
                name: key,
                token: value,
                description: None,
            });
        } else {
            db.config.insert(key, value);
        }
    }
    let mut stmt =
        conn.prepare("SELECT name, encrypted_value, description FROM credentials ORDER BY name")?;
    let rows = stmt.query_map([], |r| {
        Ok(LegacySecret {
            source: "credential",
            name: r.get(0)?,
            token: r.get(1)?,
            description: r.get(2)?,
        })
    })?;
    for row in rows {
        db.secrets.push(row?);
    }
    Ok(db)
}

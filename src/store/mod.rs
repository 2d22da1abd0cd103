//! The SQLite store: one file per home, opened by many short-lived processes at once.
//!
//! Connection recipe (docs/design/reliability.md §2.1): WAL, an explicit busy timeout, `synchronous=FULL`,
//! `secure_delete=ON`, foreign keys on, and **every** transaction that may write opened with
//! `BEGIN IMMEDIATE` (a deferred transaction that reads and then writes gets `SQLITE_BUSY`
//! without the busy handler ever running). No transaction is ever held open while a child
//! process runs.

mod backup;
pub mod maint;
mod schema;
pub mod schema_check;
mod schema_pg;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

pub use schema::MIGRATIONS;
pub use schema_pg::PG_MIGRATIONS;

/// How long a writer waits for the lock before giving up with [`StoreError::Busy`].
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(20);

/// Errors of the storage layer, with the database path for context.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path} is locked by another process (waited {waited_s} s); try again")]
    Busy { path: PathBuf, waited_s: u64 },
    #[error("database {path} is full (disk or size limit): {message}")]
    Full { path: PathBuf, message: String },
    #[error("database {path} is corrupt or not an orc database: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error(
        "database {path} has schema version {found}, newer than this orc understands ({known}); \
         upgrade orc"
    )]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error(
        "database {path} is on a network file system ({fs}); SQLite locking and WAL are not \
         reliable there — keep the orc home on a local disk"
    )]
    NetworkPath { path: PathBuf, fs: String },
    #[error("cannot protect {path}: {message}")]
    Permissions { path: PathBuf, message: String },
    #[error("cannot create {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path}: {context}: {source}")]
    Sqlite {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

/// An open orc database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the database in `home`, applies pending migrations under
    /// the write lock, and returns it ready to use.
    pub fn open(home: &Path) -> Result<Store, StoreError> {
        let created = crate::fsx::ensure_private_dir(home)
            .map_err(|source| StoreError::CreateDir { path: home.to_path_buf(), source })?;
        if let Some(fs) = network_fs_kind(home) {
            return Err(StoreError::NetworkPath { path: home.to_path_buf(), fs });
        }
        if created {
            // Windows: the protected DACL (no task exists yet, so no run-as account).
            crate::fsx::acl::secure_home(home, &[]).map_err(|e| StoreError::Permissions {
                path: home.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        let path = home.join(crate::paths::DB_FILE);
        // SQLite creates the database with 0644 & ~umask and gives `-wal`/`-shm` the database
        // file's mode (os_unix.c, findCreateFileMode): create it 0600 first (an empty file is
        // an empty database), and narrow an existing home's files.
        match crate::fsx::create_new(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(StoreError::CreateDir { path: path.clone(), source }),
        }
        crate::fsx::harden_home(home, &path)
            .map_err(|source| StoreError::CreateDir { path: home.to_path_buf(), source })?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&path, "open", e))?;
        let mut store = Store { conn, path };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&mut self) -> Result<(), StoreError> {
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| self.err("set busy timeout", e))?;
        // journal_mode returns a row; the others do not.
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| self.err("enable WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "database did not switch to WAL mode");
        }
        self.conn
            .execute_batch(
                "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;",
            )
            .map_err(|e| self.err("set pragmas", e))?;
        self.conn.set_transaction_behavior(TransactionBehavior::Immediate);
        Ok(())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Read-only access for queries. Do not start write transactions through this.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` inside a `BEGIN IMMEDIATE` transaction and commits it.
    /// Any error rolls the whole transaction back.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| classify(&path, "begin transaction", e))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| classify(&path, "commit", e))?;
        Ok(value)
    }

    /// [`Store::write`] whose commit does not wait for the disk (`synchronous=NORMAL` for this
    /// one transaction): in WAL mode the commit is atomic and the database stays consistent,
    /// but a power loss before the next [`Store::write`] (which syncs the WAL, with this
    /// transaction's frames) may undo it. For a record that only adds detail to a row the next
    /// durable write completes anyway (`orc execute` recording the child's pid while the child
    /// runs: one fsync fewer on every run, issue 17). See <https://sqlite.org/pragma.html#pragma_synchronous>.
    pub fn write_unsynced<T, E>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let set = |store: &Store, mode: &str| {
            store
                .conn
                .execute_batch(&format!("PRAGMA synchronous={mode}"))
                .map_err(|e| store.err("set synchronous", e))
        };
        set(self, "NORMAL")?;
        let result = self.write(f);
        set(self, "FULL")?;
        result
    }

    /// Wraps a rusqlite error with this database's path and the right kind.
    pub fn err(&self, context: &'static str, e: rusqlite::Error) -> StoreError {
        classify(&self.path, context, e)
    }

    /// The schema version this database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err("read schema version", e))
    }

    /// Applies pending migrations. The version is read **inside** the immediate transaction,
    /// so when many processes start on an old schema exactly one migrates and the others see
    /// the new version once they get the lock (docs/design/reliability.md §2.7).
    fn migrate(&mut self) -> Result<(), StoreError> {
        let known = MIGRATIONS.len() as i64;
        // Fast path without taking the write lock.
        let current = self.schema_version()?;
        if current == known {
            return Ok(());
        }
        if current > known {
            return Err(StoreError::TooNew { path: self.path.clone(), found: current, known });
        }
        let path = self.path.clone();
        let who = format!("pid {} orc {}", std::process::id(), env!("CARGO_PKG_VERSION"));
        self.write(|tx| {
            let current: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(|e| classify(&path, "read schema version", e))?;
            if current > known {
                return Err(StoreError::TooNew { path: path.clone(), found: current, known });
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
                let version = i as i64 + 1;
                tx.execute_batch(sql).map_err(|e| classify(&path, "apply migration", e))?;
                tx.execute(
                    "INSERT INTO schema_log (version, applied_at, applied_by) VALUES (?1, ?2, ?3)",
                    rusqlite::params![version, to_db_time(crate::clock::now_utc()), who],
                )
                .map_err(|e| classify(&path, "record migration", e))?;
                tx.pragma_update(None, "user_version", version)
                    .map_err(|e| classify(&path, "set schema version", e))?;
            }
            Ok(())
        })
    }

    /// `PRAGMA integrity_check`: `Ok(())` or the problems SQLite reports.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| self.err("integrity check", e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err("integrity check", e))?;
        let mut problems = Vec::new();
        for row in rows {
            let line = row.map_err(|e| self.err("integrity check", e))?;
            if line != "ok" {
                problems.push(line);
            }
        }
        Ok(problems)
    }
}

/// Maps a rusqlite error to the right [`StoreError`] kind.
pub fn classify(path: &Path, context: &'static str, e: rusqlite::Error) -> StoreError {
    let path = path.to_path_buf();
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        let message = msg.clone().unwrap_or_else(|| f.to_string());
        match f.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                return StoreError::Busy { path, waited_s: BUSY_TIMEOUT.as_secs() };
            }
            ErrorCode::DiskFull => return StoreError::Full { path, message },
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                return StoreError::Corrupt { path, message };
            }
            _ => {}
        }
    }
    StoreError::Sqlite { path, context, source: e }
}

/// Formats a time for storage (UTC, RFC 3339, milliseconds, `Z`).
pub fn to_db_time<Tz: chrono::TimeZone>(t: chrono::DateTime<Tz>) -> String {
    t.with_timezone(&chrono::Utc).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses a stored time.
pub fn from_db_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// Returns the file-system type name when `dir` is on a network file system.
#[cfg(target_os = "linux")]
fn network_fs_kind(dir: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    const NFS: i64 = 0x6969;
    const SMB: i64 = 0x517B;
    const CIFS: i64 = 0xFF53_4D42;
    const SMB2: i64 = 0xFE53_4D42;
    const NCP: i64 = 0x564C;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statfs = unsafe_zeroed_statfs();
    // SAFETY: `c` is a valid NUL-terminated path and `st` is a properly sized out-parameter.
    let rc = unsafe { libc::statfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    let kind = st.f_type as i64;
    match kind {
        NFS => Some("nfs".into()),
        SMB | SMB2 => Some("smb".into()),
        CIFS => Some("cifs".into()),
        NCP => Some("ncp".into()),
        _ => None,
    }
}

#[cfg(target_os = "linux")]
fn unsafe_zeroed_statfs() -> libc::statfs {
    // SAFETY: `statfs` is a plain C struct of integers; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Returns "remote drive" when `dir` is on a mapped network drive.
#[cfg(windows)]
fn network_fs_kind(dir: &Path) -> Option<String> {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Storage::FileSystem::{GetDriveTypeW, GetVolumePathNameW};
    const DRIVE_REMOTE: u32 = 4;
    let wide: Vec<u16> = dir.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut root = [0u16; 1024];
    // SAFETY: `wide` is NUL-terminated and `root` is a writable buffer of the given length.
    let ok = unsafe { GetVolumePathNameW(wide.as_ptr(), root.as_mut_ptr(), root.len() as u32) };
    if ok == 0 {
        return None;
    }
    // SAFETY: `root` now holds a NUL-terminated volume path written by the call above.
    let kind = unsafe { GetDriveTypeW(root.as_ptr()) };
    (kind == DRIVE_REMOTE).then(|| "remote drive".to_string())
}

#[cfg(not(any(target_os = "linux", windows)))]
fn network_fs_kind(_dir: &Path) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_unsynced_commits_and_restores_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let sync = |s: &Store| -> i64 {
            s.conn().query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()
        };
        store
            .write_unsynced(|tx| -> Result<usize, StoreError> {
                let mode: i64 = tx.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
                assert_eq!(mode, 1, "synchronous=NORMAL inside");
                Ok(tx.execute("INSERT INTO legacy_map VALUES ('k', 'a', 'b')", []).unwrap())
            })
            .unwrap();
        assert_eq!(sync(&store), 2, "back to synchronous=FULL");
        let other = Store::open(dir.path()).unwrap();
        let n: i64 =
            other.conn().query_row("SELECT count(*) FROM legacy_map", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1, "committed");
    }

    #[test]
    fn open_migrates_to_latest_and_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.schema_version().unwrap(), MIGRATIONS.len() as i64);
        drop(s);
        let s = Store::open(dir.path()).unwrap();
        let applied: i64 =
            s.conn().query_row("SELECT count(*) FROM schema_log", [], |r| r.get(0)).unwrap();
        assert_eq!(applied, MIGRATIONS.len() as i64);
        assert!(s.integrity_check().unwrap().is_empty());
    }

    #[test]
    fn pragmas_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let c = s.conn();
        let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let sd: i64 = c.query_row("PRAGMA secure_delete", [], |r| r.get(0)).unwrap();
        assert_eq!(sd, 1);
        let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let c = Connection::open(dir.path().join(crate::paths::DB_FILE)).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        drop(c);
        let err = Store::open(dir.path()).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
    }

    #[test]
    fn disk_full_is_classified() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let pages: i64 = s.conn().query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap();
        s.conn().execute_batch(&format!("PRAGMA max_page_count={pages}")).unwrap();
        let big = "x".repeat(64 * 1024);
        let err = s
            .write(|tx| {
                crate::config::table::insert_raw(tx, "k", &big, "now")
                    .map_err(|e| classify(Path::new("db"), "insert", e))
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::Full { .. }), "{err}");
        assert!(s.integrity_check().unwrap().is_empty());
    }

    #[test]
    fn db_times_sort_as_text() {
        use chrono::TimeZone;
        let a = to_db_time(chrono::Utc.with_ymd_and_hms(2026, 3, 29, 0, 59, 0).unwrap());
        let b = to_db_time(
            chrono::FixedOffset::east_opt(7200)
                .unwrap()
                .with_ymd_and_hms(2026, 3, 29, 3, 1, 0)
                .unwrap(),
        );
        assert!(a < b, "{a} < {b}");
        assert_eq!(from_db_time(&a).unwrap().to_rfc3339(), "2026-03-29T00:59:00+00:00");
    }
}

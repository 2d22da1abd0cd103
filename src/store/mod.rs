//! The SQLite store: one file per home, opened by many short-lived processes at once.
//!
//! Connection recipe (docs/design/reliability.md §2.1): WAL, an explicit busy timeout, `synchronous=FULL`,
//! `secure_delete=ON`, foreign keys on, and **every** transaction that may write opened with
//! `BEGIN IMMEDIATE` (a deferred transaction that reads and then writes gets `SQLITE_BUSY`
//! without the busy handler ever running). No transaction is ever held open while a child
//! process runs.

mod backup;
pub mod location;
pub mod maint;
mod schema;
pub mod schema_check;
mod schema_pg;
pub mod sql;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::OpenFlags;

pub use location::Location;
pub use schema::MIGRATIONS;
use sql::{Connection, Failure, Transaction};

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
    #[error("{origin}: {message}")]
    Location { origin: String, message: String },
    #[error("database {path} cannot be reached: {message}")]
    Unreachable { path: PathBuf, message: String },
    #[error("database {path}: {context}: {source}")]
    Sqlite {
        path: PathBuf,
        context: &'static str,
        #[source]
        source: sql::Error,
    },
}

/// An open orc database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    /// The SQLite file, or the PostgreSQL URL without its password.
    path: PathBuf,
    location: Location,
}

impl Store {
    /// Opens (creating if needed) the database `home` uses (see [`location::select`]),
    /// applies pending migrations under the write lock, and returns it ready to use.
    pub fn open(home: &Path) -> Result<Store, StoreError> {
        Store::open_with(home, None)
    }

    /// [`Store::open`] with the `--store` value, if one was given.
    pub fn open_with(home: &Path, flag: Option<&str>) -> Result<Store, StoreError> {
        let (location, _) = location::select(home, flag)?;
        Store::open_at(home, location)
    }

    /// Opens the database at `location` for `home`.
    pub fn open_at(home: &Path, location: Location) -> Result<Store, StoreError> {
        let created = crate::fsx::ensure_private_dir(home)
            .map_err(|source| StoreError::CreateDir { path: home.to_path_buf(), source })?;
        if created {
            // Windows: the protected DACL (no task exists yet, so no run-as account).
            crate::fsx::acl::secure_home(home, &[]).map_err(|e| StoreError::Permissions {
                path: home.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        let mut store = match &location {
            Location::Sqlite => Store::open_sqlite(home)?,
            Location::Postgres(url) => Store::connect(url)?,
        };
        store.location = location;
        store.migrate()?;
        Ok(store)
    }

    fn open_sqlite(home: &Path) -> Result<Store, StoreError> {
        if let Some(fs) = network_fs_kind(home) {
            return Err(StoreError::NetworkPath { path: home.to_path_buf(), fs });
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
        let conn = sql::open_sqlite(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(&path, "open", e))?;
        let store = Store { conn, path, location: Location::Sqlite };
        store.configure_sqlite()?;
        Ok(store)
    }

    fn connect(url: &str) -> Result<Store, StoreError> {
        let path = PathBuf::from(sql::redact_url(url));
        let conn = Connection::connect_postgres(url).map_err(|e| classify(&path, "connect", e))?;
        Ok(Store { conn, path, location: Location::Postgres(url.to_string()) })
    }

    fn configure_sqlite(&self) -> Result<(), StoreError> {
        let c = self.conn.sqlite().expect("a SQLite store");
        let err = |context, e: rusqlite::Error| self.err(context, e.into());
        c.busy_timeout(BUSY_TIMEOUT).map_err(|e| err("set busy timeout", e))?;
        // journal_mode returns a row; the others do not.
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| err("enable WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(mode, "database did not switch to WAL mode");
        }
        c.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA foreign_keys=ON;",
        )
        .map_err(|e| err("set pragmas", e))?;
        Ok(())
    }

    /// What opens this database again (from another thread, or per request).
    pub fn opener(&self, home: &Path) -> Opener {
        Opener {
            home: home.to_path_buf(),
            path: self.path.clone(),
            location: self.location.clone(),
        }
    }

    /// The database file, or for PostgreSQL its URL without the password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Read-only access for queries. Do not start write transactions through this.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` inside a write transaction (SQLite `BEGIN IMMEDIATE`, PostgreSQL the writer
    /// lock; see [`sql::Connection::begin_write`]) and commits it. Any error rolls the whole
    /// transaction back.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .begin_write(BUSY_TIMEOUT)
            .map_err(|e| classify(&self.path, "begin transaction", e))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| classify(&self.path, "commit", e))?;
        Ok(value)
    }

    /// [`Store::write`] whose commit does not wait for the disk (SQLite `synchronous=NORMAL`,
    /// PostgreSQL `synchronous_commit = off`, for this one transaction): the database stays
    /// consistent, but a power loss before the next [`Store::write`] (which syncs) may undo
    /// it. For a record that only adds detail to a row the next durable write completes
    /// anyway (`orc execute` recording the child's pid while the child runs: one fsync fewer
    /// on every run, issue 17). See <https://sqlite.org/pragma.html#pragma_synchronous> and
    /// <https://www.postgresql.org/docs/current/wal-async-commit.html>.
    pub fn write_unsynced<T, E>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.conn.is_postgres() {
            return self.write(|tx| {
                tx.execute_batch("SET LOCAL synchronous_commit = off")
                    .map_err(|e| StoreError::from_sql(tx, "set synchronous_commit", e))?;
                f(tx)
            });
        }
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

    /// Wraps an SQL error with this database's path and the right kind.
    pub fn err(&self, context: &'static str, e: sql::Error) -> StoreError {
        classify(&self.path, context, e)
    }

    /// The schema version this database is at.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        version(&self.conn).map_err(|e| self.err("read schema version", e))
    }

    /// Applies pending migrations. The version is read **inside** the write transaction,
    /// so when many processes start on an old schema exactly one migrates and the others see
    /// the new version once they get the lock (docs/design/reliability.md §2.7).
    fn migrate(&mut self) -> Result<(), StoreError> {
        let migrations = if self.conn.is_postgres() { PG_MIGRATIONS } else { MIGRATIONS };
        let known = migrations.len() as i64;
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
            let current = version(tx).map_err(|e| classify(&path, "read schema version", e))?;
            if current > known {
                return Err(StoreError::TooNew { path: path.clone(), found: current, known });
            }
            for (i, sql) in migrations.iter().enumerate().skip(current as usize) {
                let version = i as i64 + 1;
                tx.execute_batch(sql).map_err(|e| classify(&path, "apply migration", e))?;
                tx.execute(
                    "INSERT INTO schema_log (version, applied_at, applied_by) VALUES (?1, ?2, ?3)",
                    sql::params![version, to_db_time(crate::clock::now_utc()), who],
                )
                .map_err(|e| classify(&path, "record migration", e))?;
                if let Some(c) = tx.sqlite() {
                    c.pragma_update(None, "user_version", version)
                        .map_err(|e| classify(&path, "set schema version", e.into()))?;
                }
            }
            Ok(())
        })
    }

    /// SQLite's `PRAGMA integrity_check`: `Ok(())` or the problems SQLite reports. On
    /// PostgreSQL the server keeps its own files consistent: nothing to report.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let Some(c) = self.conn.sqlite() else { return Ok(Vec::new()) };
        let err = |e: rusqlite::Error| self.err("integrity check", e.into());
        let mut stmt = c.prepare("PRAGMA integrity_check").map_err(err)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
        let mut problems = Vec::new();
        for row in rows {
            let line = row.map_err(err)?;
            if line != "ok" {
                problems.push(line);
            }
        }
        Ok(problems)
    }
}

/// Opens the database a [`Store`] was opened on again: the dashboard's per-request reads and
/// writes, and the `orc` processes it starts (which get the location in `ORC_STORE`).
#[derive(Debug, Clone)]
pub struct Opener {
    home: PathBuf,
    path: PathBuf,
    location: Location,
}

impl Opener {
    /// A read-only view: SQLite read-only with a short busy wait, or a new PostgreSQL session.
    pub fn reader(&self) -> Result<Connection, StoreError> {
        let err = |context, e| classify(&self.path, context, e);
        match &self.location {
            Location::Sqlite => {
                let conn = sql::open_sqlite(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| err("open read-only", e))?;
                conn.sqlite()
                    .expect("SQLite")
                    .busy_timeout(Duration::from_secs(5))
                    .map_err(|e| err("set busy timeout", e.into()))?;
                Ok(conn)
            }
            Location::Postgres(url) => {
                Connection::connect_postgres(url).map_err(|e| err("connect", e))
            }
        }
    }

    /// The store, for writes.
    pub fn store(&self) -> Result<Store, StoreError> {
        Store::open_at(&self.home, self.location.clone())
    }

    /// The SQLite file, or the PostgreSQL URL without its password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the data lives.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Points an `orc` child process at the same database.
    pub fn pass_to(&self, cmd: &mut std::process::Command) {
        cmd.env(crate::env_vars::ORC_STORE, self.location.value());
    }
}

impl StoreError {
    /// Wraps an SQL error of the connection `conn` (a table module's helper).
    pub fn from_sql(conn: &Connection, context: &'static str, e: sql::Error) -> StoreError {
        classify(Path::new(conn.path().unwrap_or("")), context, e)
    }
}

pub use schema_pg::PG_MIGRATIONS;

/// The schema version of the database behind `conn`: SQLite's `user_version`, PostgreSQL's
/// highest `schema_log` entry (0 before the first migration).
fn version(conn: &Connection) -> sql::Result<i64> {
    if let Some(c) = conn.sqlite() {
        return Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?);
    }
    let exists: bool =
        conn.query_row("SELECT to_regclass('schema_log') IS NOT NULL", [], |r| r.get(0))?;
    if !exists {
        return Ok(0);
    }
    conn.query_row("SELECT coalesce(max(version), 0) FROM schema_log", [], |r| r.get(0))
}

/// Maps an SQL error to the right [`StoreError`] kind.
pub fn classify(path: &Path, context: &'static str, e: sql::Error) -> StoreError {
    let path = path.to_path_buf();
    let message = e.to_string();
    match e.failure() {
        Failure::Busy => StoreError::Busy { path, waited_s: BUSY_TIMEOUT.as_secs() },
        Failure::Full => StoreError::Full { path, message },
        Failure::Corrupt => StoreError::Corrupt { path, message },
        Failure::Unreachable => StoreError::Unreachable { path, message },
        Failure::Other => StoreError::Sqlite { path, context, source: e },
    }
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
        let c = rusqlite::Connection::open(dir.path().join(crate::paths::DB_FILE)).unwrap();
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

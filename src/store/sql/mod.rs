//! The SQL layer every table module uses: one API over the two stores orc supports, SQLite
//! (the embedded default, through rusqlite) and PostgreSQL (fleet mode, through the
//! `postgres` crate). Its shape follows rusqlite's (`execute`, `query_row`, `prepare`,
//! `query_map`, `params!`, `optional()`), so a table module reads the same as before; the SQL
//! text is shared and written in the dialect both accept (`ON CONFLICT`, `RETURNING`,
//! `COLLATE NOCASE`, a quoted `"end"`), with SQLite's `?N` markers rewritten for PostgreSQL
//! ([`placeholders`]). What only one store has (SQLite's pragmas, backup API, tracing) is
//! reached through [`Connection::sqlite`].
//!
//! Writers are serialized the same way on both: [`Connection::begin_write`] is SQLite's
//! `BEGIN IMMEDIATE`, and on PostgreSQL a transaction that first takes one advisory lock
//! (`pg_advisory_xact_lock`), so every guarantee the table modules rely on (read then write
//! in one transaction without a race; claims by unique constraints) holds unchanged.

mod placeholders;
mod postgres;
mod value;

use std::ops::Deref;
use std::path::Path;

pub use placeholders::to_postgres as postgres_placeholders;
pub use value::{FromSql, ToSql, Value};

/// An error of the SQL layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", postgres::describe(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("query returned no rows")]
    QueryReturnedNoRows,
    #[error("column {index}: {message}")]
    FromSql { index: usize, message: String },
    #[error("parameter {index}: {message}")]
    ToSql { index: usize, message: String },
    #[error("{0}")]
    Connect(String),
}

/// The layer's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an error is, for the store's classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Another writer holds the lock longer than the wait allows.
    Busy,
    /// The disk or a size limit is full.
    Full,
    /// The database file is damaged or not a database.
    Corrupt,
    /// The server cannot be reached or dropped the connection.
    Unreachable,
    /// Anything else.
    Other,
}

impl Error {
    /// Classifies the error.
    pub fn failure(&self) -> Failure {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => match f.code {
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                    Failure::Busy
                }
                rusqlite::ErrorCode::DiskFull => Failure::Full,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase => {
                    Failure::Corrupt
                }
                _ => Failure::Other,
            },
            Error::Postgres(e) => postgres::failure(e),
            Error::Connect(_) => Failure::Unreachable,
            _ => Failure::Other,
        }
    }

    /// True for "no row" (rusqlite's or ours).
    fn is_no_rows(&self) -> bool {
        matches!(
            self,
            Error::QueryReturnedNoRows | Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)
        )
    }
}

/// `query_row(...).optional()`: no row is `Ok(None)`.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_no_rows() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Statement parameters: `[]`, `[a, b]` (one type), `params![a, b]` or
/// [`params_from_iter`].
pub trait Params {
    fn values(self) -> Result<Vec<Value>>;
}

fn collect<'a>(items: impl IntoIterator<Item = &'a dyn ToSql>) -> Result<Vec<Value>> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.to_sql().map_err(|message| Error::ToSql { index: i + 1, message }))
        .collect()
}

impl Params for [&dyn ToSql; 0] {
    fn values(self) -> Result<Vec<Value>> {
        Ok(Vec::new())
    }
}

impl Params for &[&dyn ToSql] {
    fn values(self) -> Result<Vec<Value>> {
        collect(self.iter().copied())
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: ToSql> Params for [T; $n] {
            fn values(self) -> Result<Vec<Value>> {
                collect(self.iter().map(|p| p as &dyn ToSql))
            }
        }
        impl<T: ToSql> Params for &[T; $n] {
            fn values(self) -> Result<Vec<Value>> {
                collect(self.iter().map(|p| p as &dyn ToSql))
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16);

/// Parameters from an iterator (a query built clause by clause).
pub struct ParamsFromIter<I>(I);

/// Binds the items of `iter` as `?1`, `?2`, ….
pub fn params_from_iter<I>(iter: I) -> ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    ParamsFromIter(iter)
}

impl<I> Params for ParamsFromIter<I>
where
    I: IntoIterator,
    I::Item: ToSql,
{
    fn values(self) -> Result<Vec<Value>> {
        self.0
            .into_iter()
            .enumerate()
            .map(|(i, p)| p.to_sql().map_err(|message| Error::ToSql { index: i + 1, message }))
            .collect()
    }
}

/// `params![a, b, c]`: parameters of different types.
#[macro_export]
macro_rules! sql_params {
    () => {
        &[] as &[&dyn $crate::store::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::sql::ToSql),+] as &[&dyn $crate::store::sql::ToSql]
    };
}
pub use crate::sql_params as params;

/// An open connection to either store.
pub struct Connection {
    backend: Backend,
}

enum Backend {
    Sqlite(rusqlite::Connection),
    // Boxed: the client and its statement cache are much larger than a SQLite handle.
    Postgres(Box<postgres::PgConn>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("location", &self.path()).finish()
    }
}

impl Connection {
    /// Wraps an open SQLite connection.
    pub fn from_sqlite(conn: rusqlite::Connection) -> Connection {
        Connection { backend: Backend::Sqlite(conn) }
    }

    /// Connects to the PostgreSQL server at `url` (see [`postgres::connect`] for TLS).
    pub fn connect_postgres(url: &str) -> Result<Connection> {
        Ok(Connection { backend: Backend::Postgres(Box::new(postgres::PgConn::connect(url)?)) })
    }

    /// The SQLite connection, for what only SQLite has (pragmas, backup, tracing); `None`
    /// on PostgreSQL.
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// The SQLite connection itself, for what needs it mutably (tracing in tests).
    pub fn into_sqlite(self) -> Option<rusqlite::Connection> {
        match self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    /// True on the PostgreSQL store.
    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Where the data is: the SQLite file, or the server URL without its password.
    pub fn path(&self) -> Option<&str> {
        match &self.backend {
            Backend::Sqlite(c) => c.path(),
            Backend::Postgres(p) => Some(p.label()),
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        let values = params.values()?;
        match &self.backend {
            Backend::Sqlite(c) => {
                Ok(c.execute(sql, rusqlite::params_from_iter(sqlite_values(values)))?)
            }
            Backend::Postgres(p) => p.execute(sql, &values),
        }
    }

    /// Runs several statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(p) => p.batch(sql),
        }
    }

    /// The first row of a query, mapped by `f`; [`Error::QueryReturnedNoRows`] when there is none.
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Prepares a statement.
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match &self.backend {
                Backend::Sqlite(c) => StmtInner::Sqlite(c.prepare(sql)?),
                Backend::Postgres(p) => StmtInner::Postgres(p, p.statement(sql)?),
            },
        })
    }

    /// Prepares a statement through the connection's statement cache.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match &self.backend {
                Backend::Sqlite(c) => StmtInner::SqliteCached(c.prepare_cached(sql)?),
                // Every PostgreSQL statement is cached by its text.
                Backend::Postgres(p) => StmtInner::Postgres(p, p.statement(sql)?),
            },
        })
    }

    /// The rows changed by the last `execute`.
    pub fn changes(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(c) => c.changes(),
            Backend::Postgres(p) => p.changes(),
        }
    }

    /// Begins a write transaction: SQLite's `BEGIN IMMEDIATE`; on PostgreSQL a transaction
    /// holding orc's advisory writer lock (waiting at most `wait`), so writers are serialized
    /// as on SQLite. Rolled back on drop unless committed.
    pub fn begin_write(&self, wait: std::time::Duration) -> Result<Transaction<'_>> {
        match &self.backend {
            Backend::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE")?,
            Backend::Postgres(p) => p.begin_write(wait)?,
        }
        Ok(Transaction { conn: self, open: true })
    }

    /// Begins a read transaction: one consistent view for several queries (SQLite
    /// `BEGIN DEFERRED`, PostgreSQL `REPEATABLE READ, READ ONLY`). Ended on drop.
    pub fn begin_read(&self) -> Result<Transaction<'_>> {
        match &self.backend {
            Backend::Sqlite(c) => c.execute_batch("BEGIN DEFERRED")?,
            Backend::Postgres(p) => p.batch("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?,
        }
        Ok(Transaction { conn: self, open: true })
    }
}

fn sqlite_values(values: Vec<Value>) -> impl Iterator<Item = rusqlite::types::Value> {
    values.into_iter().map(|v| match v {
        Value::Null => rusqlite::types::Value::Null,
        Value::Integer(i) => rusqlite::types::Value::Integer(i),
        Value::Real(f) => rusqlite::types::Value::Real(f),
        Value::Text(s) => rusqlite::types::Value::Text(s),
        Value::Blob(b) => rusqlite::types::Value::Blob(b),
    })
}

/// An open transaction; derefs to its connection. Rolled back on drop unless committed.
pub struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Transaction<'_> {
    /// Commits.
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.execute_batch("COMMIT")
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            // Nothing to do when it fails: the connection is closing or the server ended
            // the transaction already.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// A prepared statement.
pub struct Statement<'c> {
    inner: StmtInner<'c>,
}

enum StmtInner<'c> {
    Sqlite(rusqlite::Statement<'c>),
    SqliteCached(rusqlite::CachedStatement<'c>),
    Postgres(&'c postgres::PgConn, ::postgres::Statement),
}

impl<'c> Statement<'c> {
    fn sqlite(&mut self) -> Option<&mut rusqlite::Statement<'c>> {
        match &mut self.inner {
            StmtInner::Sqlite(s) => Some(s),
            StmtInner::SqliteCached(s) => Some(s),
            StmtInner::Postgres(..) => None,
        }
    }

    /// Runs the statement; the number of rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values()?;
        if let Some(s) = self.sqlite() {
            return Ok(s.execute(rusqlite::params_from_iter(sqlite_values(values)))?);
        }
        let StmtInner::Postgres(conn, stmt) = &self.inner else { unreachable!("sqlite above") };
        conn.execute_prepared(stmt, &values)
    }

    /// The rows of the query, each mapped by `f`.
    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        let values = params.values()?;
        let rows = match &mut self.inner {
            StmtInner::Sqlite(s) => {
                RowsInner::Sqlite(s.query(rusqlite::params_from_iter(sqlite_values(values)))?)
            }
            StmtInner::SqliteCached(s) => {
                RowsInner::Sqlite(s.query(rusqlite::params_from_iter(sqlite_values(values)))?)
            }
            StmtInner::Postgres(conn, stmt) => {
                RowsInner::Postgres(conn.query(stmt, &values)?.into_iter())
            }
        };
        Ok(MappedRows { rows, f })
    }

    /// The first row, mapped by `f`; [`Error::QueryReturnedNoRows`] when there is none.
    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        let mut f = Some(f);
        let mut rows = self.query_map(params, |r| (f.take().expect("called once"))(r))?;
        rows.next().unwrap_or(Err(Error::QueryReturnedNoRows))
    }

    /// True when the query returns at least one row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        let mut rows = self.query_map(params, |_| Ok(()))?;
        rows.next().transpose().map(|r| r.is_some())
    }
}

/// The rows of a query, mapped one by one (SQLite: stepped lazily; PostgreSQL: fetched
/// when the query ran).
pub struct MappedRows<'s, F> {
    rows: RowsInner<'s>,
    f: F,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres(std::vec::IntoIter<::postgres::Row>),
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let f = &mut self.f;
        match &mut self.rows {
            RowsInner::Sqlite(rows) => match rows.next() {
                Ok(Some(r)) => Some(f(&Row { inner: RowInner::Sqlite(r) })),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            },
            RowsInner::Postgres(rows) => {
                rows.next().map(|r| f(&Row { inner: RowInner::Postgres(&r) }))
            }
        }
    }
}

/// One row of a result.
pub struct Row<'a> {
    inner: RowInner<'a>,
}

enum RowInner<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a ::postgres::Row),
}

/// A column index (from 0).
pub trait RowIndex: Copy {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

impl Row<'_> {
    /// Column `index` (from 0) as `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, index: I) -> Result<T> {
        let index = index.index();
        let value = match &self.inner {
            RowInner::Sqlite(r) => match r.get_ref(index)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) => Value::Integer(i),
                rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => Value::Text(
                    String::from_utf8(t.to_vec())
                        .map_err(|e| Error::FromSql { index, message: e.to_string() })?,
                ),
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            },
            RowInner::Postgres(r) => postgres::column(r, index)?,
        };
        T::from_sql(value).map_err(|message| Error::FromSql { index, message })
    }
}

/// Opens a SQLite file with `flags` (for read-only views of the store and tests).
pub fn open_sqlite(path: &Path, flags: rusqlite::OpenFlags) -> Result<Connection> {
    Ok(Connection::from_sqlite(rusqlite::Connection::open_with_flags(path, flags)?))
}

pub use postgres::redact as redact_url;

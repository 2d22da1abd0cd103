//! The PostgreSQL backend of the SQL layer: a blocking `postgres::Client` behind a
//! `RefCell` (the layer's API takes `&Connection`, as rusqlite's does), statements prepared
//! once per text, values converted to and from [`Value`] by the type the server reports,
//! and TLS through rustls.
//!
//! TLS: `sslmode=require` (or `verify-ca` / `verify-full`) in the URL makes orc connect with
//! TLS and **verify** the server certificate, against the public web roots (webpki-roots)
//! or, when the URL names one, the PEM file `sslrootcert=PATH` (orc's own parameter, taken
//! out of the URL before the driver sees it). `sslmode=disable` / `prefer` / none: no TLS
//! (use a Unix socket or a trusted network then).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::Arc;

use postgres::types::{FromSql as PgFromSql, IsNull, ToSql as PgToSql, Type, to_sql_checked};

use super::{Error, Failure, Result, Value};

/// The advisory lock key every orc writer takes (ASCII "orc-wr" as a number), so that writes
/// are serialized like SQLite's `BEGIN IMMEDIATE`.
const WRITER_LOCK: i64 = 0x6F72_632D_7772;

pub(super) struct PgConn {
    client: RefCell<postgres::Client>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    changes: Cell<u64>,
    label: String,
}

/// The message of a driver error: the server's message and detail when it sent one.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_string(),
        },
        None => match e.source() {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// What kind of failure a driver error is.
pub(super) fn failure(e: &postgres::Error) -> Failure {
    use postgres::error::SqlState;
    match e.code() {
        Some(c)
            if *c == SqlState::LOCK_NOT_AVAILABLE
                || *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED =>
        {
            Failure::Busy
        }
        Some(c) if *c == SqlState::DISK_FULL || *c == SqlState::PROGRAM_LIMIT_EXCEEDED => {
            Failure::Full
        }
        Some(c) if *c == SqlState::DATA_CORRUPTED || *c == SqlState::INDEX_CORRUPTED => {
            Failure::Corrupt
        }
        Some(_) => Failure::Other,
        None if e.is_closed() => Failure::Unreachable,
        None => Failure::Unreachable,
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail: Vec<String> = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some(("password", _)) => "password=***".to_string(),
                    _ => kv.to_string(),
                })
                .collect();
            vec![path.to_string(), "?".into(), kept.join("&")]
        }
        None => vec![tail.to_string()],
    };
    format!("{scheme}://{authority}{}", tail.concat())
}

/// Splits orc's own URL parameters (`sslrootcert`) from what the driver parses, and maps
/// `verify-ca` / `verify-full` (always verified by orc) to the driver's `require`.
fn driver_url(url: &str) -> (String, Option<String>, bool) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), None, false) };
    let mut root = None;
    let mut tls = false;
    let mut kept = Vec::new();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        match kv.split_once('=') {
            Some(("sslrootcert", v)) => {
                root =
                    Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
            }
            Some(("sslmode", v)) => {
                let v = match v {
                    "verify-ca" | "verify-full" => "require",
                    other => other,
                };
                tls = v == "require";
                kept.push(format!("sslmode={v}"));
            }
            _ => kept.push(kv.to_string()),
        }
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (url, root, tls)
}

fn tls_config(root_file: Option<&str>) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| Error::Connect(format!("sslrootcert {path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| Error::Connect(format!("sslrootcert {path}: {e}")))?;
                roots.add(cert).map_err(|e| Error::Connect(format!("sslrootcert {path}: {e}")))?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Connect(format!("TLS: {e}")))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

impl PgConn {
    /// Connects to `url` (`postgres://user[:password]@host[:port]/database?…`, or a Unix
    /// socket directory as `host=/path`).
    pub(super) fn connect(url: &str) -> Result<PgConn> {
        let label = redact(url);
        let (driver, root, tls) = driver_url(url);
        let config: postgres::Config = driver
            .parse()
            .map_err(|e: postgres::Error| Error::Connect(format!("{label}: {}", describe(&e))))?;
        let client = if tls {
            let connector =
                tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(root.as_deref())?);
            config.connect(connector)
        } else {
            config.connect(postgres::NoTls)
        }
        .map_err(|e| Error::Connect(format!("cannot connect to {label}: {}", describe(&e))))?;
        Ok(PgConn {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            changes: Cell::new(0),
            label,
        })
    }

    pub(super) fn label(&self) -> &str {
        &self.label
    }

    pub(super) fn changes(&self) -> u64 {
        self.changes.get()
    }

    /// The prepared statement for `sql` (SQLite markers rewritten), prepared once.
    pub(super) fn statement(&self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.client.borrow_mut().prepare(&super::placeholders::to_postgres(sql))?;
        self.statements.borrow_mut().insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    pub(super) fn execute(&self, sql: &str, values: &[Value]) -> Result<usize> {
        let stmt = self.statement(sql)?;
        self.execute_prepared(&stmt, values)
    }

    pub(super) fn execute_prepared(
        &self,
        stmt: &postgres::Statement,
        values: &[Value],
    ) -> Result<usize> {
        let params: Vec<&(dyn PgToSql + Sync)> = values.iter().map(|v| v as _).collect();
        let n = self.client.borrow_mut().execute(stmt, &params)?;
        self.changes.set(n);
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) fn query(
        &self,
        stmt: &postgres::Statement,
        values: &[Value],
    ) -> Result<Vec<postgres::Row>> {
        let params: Vec<&(dyn PgToSql + Sync)> = values.iter().map(|v| v as _).collect();
        Ok(self.client.borrow_mut().query(stmt, &params)?)
    }

    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }

    pub(super) fn begin_write(&self, wait: std::time::Duration) -> Result<()> {
        self.batch(&format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms'; SELECT pg_advisory_xact_lock({WRITER_LOCK})",
            wait.as_millis()
        ))
    }
}

/// Column `index` of `row` as a [`Value`], by the type the server reports.
pub(super) fn column(row: &postgres::Row, index: usize) -> Result<Value> {
    row.try_get::<_, Any>(index)
        .map(|a| a.0)
        .map_err(|e| Error::FromSql { index, message: describe(&e) })
}

/// Any column, decoded by its type.
struct Any(Value);

impl<'a> PgFromSql<'a> for Any {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Any, Box<dyn StdError + Sync + Send>> {
        let v = match *ty {
            Type::BOOL => Value::Integer(i64::from(bool::from_sql(ty, raw)?)),
            Type::INT2 => Value::Integer(i64::from(i16::from_sql(ty, raw)?)),
            Type::INT4 => Value::Integer(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT8 => Value::Integer(i64::from_sql(ty, raw)?),
            Type::OID => Value::Integer(i64::from(u32::from_sql(ty, raw)?)),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::BYTEA => Value::Blob(<Vec<u8>>::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Value::Text(String::from_sql(ty, raw)?)
            }
            ref other => return Err(format!("unsupported column type {other}").into()),
        };
        Ok(Any(v))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Any, Box<dyn StdError + Sync + Send>> {
        Ok(Any(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC (what `sum()` and `avg()` of integers return): a whole
/// number as INTEGER, anything with a fraction as REAL. Format: ndigits, weight, sign,
/// dscale (16 bits each), then ndigits base-10000 digits (src/backend/utils/adt/numeric.c).
fn numeric(raw: &[u8]) -> std::result::Result<Value, Box<dyn StdError + Sync + Send>> {
    let word = |i: usize| -> std::result::Result<u16, Box<dyn StdError + Sync + Send>> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated NUMERIC".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = word(3)?;
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let negative = sign == 0x4000;
    if dscale == 0 {
        let mut n: i128 = 0;
        for i in 0..ndigits {
            n = n * 10_000 + i128::from(word(4 + i)?);
        }
        let zeros = weight + 1 - i32::try_from(ndigits).unwrap_or(i32::MAX);
        for _ in 0..zeros.max(0) {
            n = n.checked_mul(10_000).ok_or("NUMERIC out of range")?;
        }
        let n = if negative { -n } else { n };
        return i64::try_from(n).map(Value::Integer).map_err(|_| "NUMERIC out of range".into());
    }
    let mut f = 0f64;
    for i in 0..ndigits {
        f += f64::from(word(4 + i)?) * 10_000f64.powi(weight - i32::try_from(i).unwrap_or(0));
    }
    Ok(Value::Real(if negative { -f } else { f }))
}

impl PgToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn StdError + Sync + Send>> {
        let text =
            matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN);
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Integer(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                #[allow(clippy::cast_precision_loss)]
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ if text => i.to_string().to_sql(ty, out),
                ref other => Err(format!("cannot bind an integer as {other}").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                #[allow(clippy::cast_possible_truncation)]
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ if text => f.to_string().to_sql(ty, out),
                ref other => Err(format!("cannot bind a real number as {other}").into()),
            },
            Value::Text(s) => match *ty {
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ if text => s.as_str().to_sql(ty, out),
                ref other => Err(format!("cannot bind text as {other}").into()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                ref other => Err(format!("cannot bind a blob as {other}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_split() {
        assert_eq!(redact("postgres://orc:s3cret@db:5432/orc"), "postgres://orc:***@db:5432/orc");
        assert_eq!(
            redact("postgres://orc@db/orc?password=x&sslmode=require"),
            "postgres://orc@db/orc?password=***&sslmode=require"
        );
        assert_eq!(
            driver_url("postgres://a@h/d?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem"),
            ("postgres://a@h/d?sslmode=require".to_string(), Some("/etc/ca.pem".to_string()), true)
        );
        assert_eq!(driver_url("postgres://a@h/d"), ("postgres://a@h/d".to_string(), None, false));
    }

    #[test]
    fn numeric_decodes_whole_and_fractional_numbers() {
        // 12345678 = digits [1234, 5678], weight 1, dscale 0.
        let whole = [0, 2, 0, 1, 0, 0, 0, 0, 0x04, 0xD2, 0x16, 0x2E];
        assert_eq!(numeric(&whole).unwrap(), Value::Integer(12_345_678));
        // 20000 = digits [2], weight 1 (trailing zero groups are not sent).
        assert_eq!(numeric(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 2]).unwrap(), Value::Integer(20_000));
        // -1.5 = digits [1, 5000], weight 0, negative, dscale 1.
        let frac = [0, 2, 0, 0, 0x40, 0, 0, 1, 0, 1, 0x13, 0x88];
        assert_eq!(numeric(&frac).unwrap(), Value::Real(-1.5));
        // 0 = no digits.
        assert_eq!(numeric(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap(), Value::Integer(0));
    }
}

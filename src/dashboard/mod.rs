//! `orc dashboard`: a local, read-only web view of tasks and runs.
//!
//! - [`server`]: the listener on a tokio runtime, hyper's HTTP/1.1 per connection, the
//!   connection limits, the per-request deadline and graceful shutdown on Ctrl+C;
//! - [`routes`]: the axum router, the request guard (Host allow-list, target checks, GET/HEAD
//!   only) and the security headers; [`guard`] holds the pure rules the guard applies;
//! - [`api`]: the JSON endpoints and `/healthz`; [`pages`]: the HTML pages;
//! - [`data`]: the queries and the JSON objects.
//!
//! Every request opens its own read-only connection and reads inside one short deferred
//! transaction, so the dashboard never blocks `orc execute` for longer than a query.

pub mod actions;
pub mod api;
pub mod auth;
pub mod data;
pub mod gate;
pub mod guard;
pub mod pages;
pub mod routes;
pub mod server;
pub mod tls;
pub mod v1;

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::store::sql::Connection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::Environment;

use crate::error::{Error, Result};

/// Every request, from its first byte to the last byte of the answer, must finish within
/// this time; a connection still open then is closed (slow clients cannot hold a slot).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);
/// How long a handler may work before the request is answered 503 (the rest of
/// [`REQUEST_DEADLINE`] is for reading the request and writing the answer).
pub const HANDLER_DEADLINE: Duration = Duration::from_secs(8);
/// The most bytes of request line plus headers accepted (more → 431).
pub const MAX_HEAD: usize = 8 * 1024;
/// The most header lines accepted (more → 431).
pub const MAX_HEADERS: usize = 64;
/// The largest request body accepted (more → 413). The read-only pages read none.
pub const MAX_BODY: usize = 64 * 1024;
/// Open connections from one client address; beyond this a connection is refused at once.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 8;
/// Open connections in all; beyond this a connection is refused at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Threads running the (blocking) SQLite reads and page rendering.
pub const BLOCKING_THREADS: usize = 4;
/// Runs on a task page.
pub const TASK_RUNS: u32 = 50;
/// Largest `limit` accepted by `/api/history`.
pub const MAX_API_LIMIT: u32 = 10_000;

/// The rule `--bind` must follow (shown in refusals and `--help`).
pub const BIND_RULE: &str = "must be IP:PORT (e.g. 127.0.0.1:5000, [::1]:5000, localhost:5000; \
     port 0 picks a free port) on a loopback address; other addresses need --allow-remote \
     (and then everyone must sign in with a token)";

/// Parses and checks `--bind`.
pub fn parse_bind(text: &str, allow_remote: bool) -> Result<SocketAddr> {
    let bad = || Error::invalid("--bind", text, BIND_RULE);
    let addr: SocketAddr = match text.parse() {
        Ok(a) => a,
        Err(_) => {
            let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
            if !host.eq_ignore_ascii_case("localhost") {
                return Err(bad());
            }
            let port: u16 = port.parse().map_err(|_| bad())?;
            ("127.0.0.1", port).to_socket_addrs().map_err(|_| bad())?.next().ok_or_else(bad)?
        }
    };
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(bad());
    }
    Ok(addr)
}

/// The rule for serving beyond loopback without TLS.
pub const INSECURE_RULE: &str = "a dashboard on a non-loopback address sends tokens and \
     session cookies over the network: give --tls-cert and --tls-key, or --insecure-http \
     (e.g. behind a TLS-terminating reverse proxy)";

/// How the dashboard serves, beyond its address.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data directory (the database is opened from it for changes).
    pub home: PathBuf,
    /// The database (read-only connections per request, a store for changes).
    pub db: crate::store::Opener,
    /// `dashboard.require_login`: reads need a token or a session on loopback too.
    pub require_login: bool,
    /// TLS (`--tls-cert/--tls-key`); session cookies then get `Secure`.
    pub tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// The orc executable started for "run now" and "schedule".
    pub orc_exe: PathBuf,
}

/// What every request needs: where the database is, the templates, the host name, the
/// address the listener is bound to (for the Host allow-list), the sessions and the rules.
pub(crate) struct Shared {
    db: crate::store::Opener,
    home: PathBuf,
    orc_exe: PathBuf,
    templates: Environment<'static>,
    host: String,
    bound: SocketAddr,
    sessions: auth::Sessions,
    /// Reads without signing in: loopback and not `dashboard.require_login`.
    open_reads: bool,
    tls: bool,
}

/// A bound dashboard, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    shared: std::sync::Arc<Shared>,
}

impl Server {
    /// Binds the listener. The database must exist (the caller opened and migrated it).
    pub fn bind(addr: SocketAddr, opts: &Options) -> Result<Server> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            Error::Failed(format!(
                "cannot listen on {addr}: {e} (is another program using the port?)"
            ))
        })?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::Failed(format!("cannot read the listening address: {e}")))?;
        let shared = Shared {
            db: opts.db.clone(),
            home: opts.home.clone(),
            orc_exe: opts.orc_exe.clone(),
            templates: pages::templates(),
            host: crate::exec::runs::hostname(),
            bound,
            sessions: auth::Sessions::default(),
            open_reads: bound.ip().is_loopback() && !opts.require_login,
            tls: opts.tls.is_some(),
        };
        Ok(Server { listener, tls: opts.tls.clone(), shared: std::sync::Arc::new(shared) })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.shared.bound)
    }

    /// The URL to open in a browser.
    pub fn url(&self) -> Result<String> {
        let scheme = if self.shared.tls { "https" } else { "http" };
        Ok(format!("{scheme}://{}/", self.local_addr()?))
    }

    /// Serves until Ctrl+C, then stops accepting, lets the requests in progress finish
    /// (each is bounded by [`REQUEST_DEADLINE`]) and returns.
    pub fn run(self) -> Result<()> {
        let router = routes::router(self.shared);
        server::serve(self.listener, router, self.tls)
    }
}

pub(crate) fn store_err(
    shared: &Shared,
    context: &'static str,
    e: crate::store::sql::Error,
) -> Error {
    Error::Store(crate::store::classify(shared.db.path(), context, e))
}

/// A request from a program rather than a browser (`/api/…`, `/metrics`): refused with a
/// status (401) rather than a redirect to the sign-in page, errors answered as JSON.
pub(crate) fn is_api(uri: &axum::http::Uri) -> bool {
    let p = uri.path();
    p == "/api" || p.starts_with("/api/") || p == "/metrics"
}

/// Runs `f` on a fresh read-only connection inside one deferred read transaction.
pub(crate) fn with_db<T>(shared: &Shared, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let conn = shared.db.reader()?;
    let read = conn.begin_read().map_err(|e| store_err(shared, "begin read", e))?;
    f(&read)
}

/// `text/html; charset=utf-8`.
pub const HTML: &str = "text/html; charset=utf-8";
/// `application/json`.
pub const JSON: &str = "application/json";
/// `text/plain; charset=utf-8`.
pub const TEXT: &str = "text/plain; charset=utf-8";

/// What a page or endpoint answers: status, content type and body. The security headers
/// are added to every response by the router.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn new(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply { status, content_type, body }
    }

    /// A plain-text answer of one line.
    pub fn text(status: StatusCode, line: &str) -> Reply {
        Reply::new(status, TEXT, format!("{line}\n").into_bytes())
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_rule() {
        assert_eq!(parse_bind("127.0.0.1:5000", false).unwrap().port(), 5000);
        assert!(parse_bind("[::1]:0", false).is_ok());
        assert!(parse_bind("localhost:8080", false).unwrap().ip().is_loopback());
        for bad in ["0.0.0.0:5000", "192.168.1.5:80", "[::]:5000", "example.com:80"] {
            let e = parse_bind(bad, false).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.to_string().contains("--allow-remote"), "{e}");
        }
        assert!(parse_bind("0.0.0.0:5000", true).is_ok());
        for bad in ["", "5000", "127.0.0.1", "127.0.0.1:99999", "localhost:x", ":5000"] {
            assert_eq!(parse_bind(bad, true).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }
}

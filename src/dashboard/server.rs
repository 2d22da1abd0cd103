//! The server: a current-thread tokio runtime accepting connections, hyper's HTTP/1.1
//! serving the axum router on each, and the limits that keep one client from stalling the
//! dashboard.
//!
//! Why axum on hyper (and not hyper alone): the router, extractors (query strings through
//! `serde_urlencoded`, percent-decoded path parameters) and middleware are what the REST API
//! of issue 15 builds on; axum adds little over hyper with its default features off. The
//! accept loop is ours rather than `axum::serve` because the limits below need the
//! connection itself:
//!
//! - one request per connection (keep-alive off, `Connection: close`), so a connection's
//!   lifetime is one request's;
//! - a total deadline of [`REQUEST_DEADLINE`] per connection — head, body, handler and
//!   answer — however slowly the bytes trickle in; then the connection is closed;
//! - request line and headers at most [`MAX_HEAD`] bytes and [`MAX_HEADERS`] lines (→ 431);
//! - at most [`MAX_CONNECTIONS_PER_CLIENT`] open connections per client IP and
//!   [`MAX_CONNECTIONS`] in all. A connection beyond its client's limit waits up to
//!   [`ADMIT_WAIT`] for a slot (a burst of parallel requests is served; a client holding its
//!   slots idle is not), then gets a short 503 and is closed; at most [`MAX_CONNECTIONS`]
//!   wait, beyond that the 503 comes at once, without a task or a read;
//! - graceful shutdown on Ctrl+C: stop accepting, let requests in progress finish (each
//!   bounded by the deadline), return.
//!
//! A closed connection lingers briefly ([`LINGER`]): the server reads and drops what the
//! client still sends, so closing with unread bytes (e.g. after a 431) does not reset the
//! connection before the client has read the answer.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::{
    BLOCKING_THREADS, MAX_CONNECTIONS, MAX_CONNECTIONS_PER_CLIENT, MAX_HEAD, MAX_HEADERS,
    REQUEST_DEADLINE,
};
use crate::error::{Error, Result};

/// How long a closed connection keeps reading (and dropping) what the client still sends.
pub const LINGER: Duration = Duration::from_secs(1);
/// How long a connection over its client's limit waits for a slot before it is refused.
pub const ADMIT_WAIT: Duration = Duration::from_secs(2);
/// The most bytes read while lingering.
const LINGER_BYTES: usize = 1024 * 1024;
/// The answer to a connection over a limit (written without waiting, then closed).
const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 27\r\nConnection: close\r\n\r\ntoo many open connections\r\n";

/// Serves `router` on `listener` until Ctrl+C, over TLS when `tls` is given.
pub fn serve(
    listener: std::net::TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<()> {
    let failed = |what: &str, e: io::Error| Error::Failed(format!("dashboard: {what}: {e}"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(BLOCKING_THREADS)
        .thread_name("orc-dashboard")
        .build()
        .map_err(|e| failed("cannot start the runtime", e))?;
    runtime.block_on(async move {
        listener.set_nonblocking(true).map_err(|e| failed("cannot configure the listener", e))?;
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| failed("cannot register the listener", e))?;
        let tls = tls.map(tokio_rustls::TlsAcceptor::from);
        accept_loop(listener, router, tls, shutdown_signal()).await;
        Ok(())
    })
}

/// Resolves on Ctrl+C (never, if the handler cannot be installed).
async fn shutdown_signal() {
    if let Err(e) = tokio::signal::ctrl_c().await {
        tracing::warn!(error = %e, "cannot watch for Ctrl+C; stop the dashboard by ending it");
        std::future::pending::<()>().await;
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let limits =
        Arc::new(ConnLimits::new(MAX_CONNECTIONS_PER_CLIENT, MAX_CONNECTIONS, MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // e.g. out of file descriptors: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if let Some(permit) = limits.try_acquire(peer.ip()) {
            let conn =
                serve_stream(stream, permit, router.clone(), tls.clone(), graceful.watcher());
            tokio::spawn(run_connection(conn, peer));
            continue;
        }
        if !limits.start_waiting() {
            tracing::debug!(%peer, "connection refused: too many open connections");
            let _ = stream.try_write(BUSY);
            continue;
        }
        // Over its client's limit: wait briefly for a slot (off the accept loop).
        let (limits, router, watcher) = (Arc::clone(&limits), router.clone(), graceful.watcher());
        let tls = tls.clone();
        tokio::spawn(async move {
            let permit = limits.acquire_within(peer.ip(), ADMIT_WAIT).await;
            limits.stop_waiting();
            match permit {
                Some(permit) => {
                    run_connection(serve_stream(stream, permit, router, tls, watcher), peer).await;
                }
                None => {
                    tracing::debug!(%peer, "connection refused: too many open connections");
                    let _ = stream.try_write(BUSY);
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(REQUEST_DEADLINE, graceful.shutdown()).await.is_err() {
        tracing::debug!("requests still open at shutdown were cut");
    }
}

/// One connection: the TLS handshake when serving TLS, then hyper's HTTP/1.1 with the
/// limits above, serving the router. The whole of it runs within the request deadline.
async fn serve_stream(
    stream: TcpStream,
    permit: Permit,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    watcher: hyper_util::server::graceful::Watcher,
) -> std::result::Result<(), String> {
    let _ = stream.set_nodelay(true);
    match tls {
        None => {
            let conn = watcher.watch(connection(stream, permit, router));
            conn.await.map_err(|e| e.to_string())
        }
        Some(acceptor) => {
            let stream = acceptor.accept(stream).await.map_err(|e| format!("TLS: {e}"))?;
            let conn = watcher.watch(connection(stream, permit, router));
            conn.await.map_err(|e| e.to_string())
        }
    }
}

fn connection<S: Stream>(
    stream: S,
    permit: Permit,
    router: Router,
) -> http1::Connection<TokioIo<Lingering<S>>, TowerToHyperService<Router>> {
    let io = TokioIo::new(Lingering { stream: Some(stream), permit: Some(permit) });
    http1::Builder::new()
        .keep_alive(false)
        .title_case_headers(true)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .serve_connection(io, TowerToHyperService::new(router))
}

/// A connection's byte stream: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

/// Drives one connection within the request deadline.
async fn run_connection<E: std::fmt::Display>(
    conn: impl Future<Output = std::result::Result<(), E>>,
    peer: SocketAddr,
) {
    match tokio::time::timeout(REQUEST_DEADLINE, conn).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended with an error"),
        Err(_) => tracing::debug!(%peer, "request deadline passed; connection closed"),
    }
}

/// Counts open connections per client IP and in all, and the connections waiting for a
/// slot (a browser or script opening a burst of parallel requests waits; a client holding
/// its slots idle makes its further connections wait [`ADMIT_WAIT`] and then be refused).
#[derive(Debug)]
pub struct ConnLimits {
    per_client: usize,
    total: usize,
    max_waiting: usize,
    state: Mutex<LimitState>,
    freed: Notify,
}

#[derive(Debug, Default)]
struct LimitState {
    open: usize,
    waiting: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// One open connection; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    limits: Arc<ConnLimits>,
    ip: IpAddr,
}

impl ConnLimits {
    pub fn new(per_client: usize, total: usize, max_waiting: usize) -> ConnLimits {
        ConnLimits {
            per_client,
            total,
            max_waiting,
            state: Mutex::new(LimitState::default()),
            freed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LimitState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a connection from `ip`, or `None` when `ip` or the server is at its limit.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut st = self.lock();
        let mine = st.per_ip.get(&ip).copied().unwrap_or(0);
        if st.open >= self.total || mine >= self.per_client {
            return None;
        }
        st.per_ip.insert(ip, mine + 1);
        st.open += 1;
        Some(Permit { limits: Arc::clone(self), ip })
    }

    /// Whether one more connection may wait for a slot; `true` counts it as waiting until
    /// [`ConnLimits::stop_waiting`].
    pub fn start_waiting(&self) -> bool {
        let mut st = self.lock();
        if st.waiting >= self.max_waiting {
            return false;
        }
        st.waiting += 1;
        true
    }

    pub fn stop_waiting(&self) {
        let mut st = self.lock();
        st.waiting = st.waiting.saturating_sub(1);
    }

    /// Waits up to `wait` for a slot for `ip`.
    pub async fn acquire_within(self: &Arc<Self>, ip: IpAddr, wait: Duration) -> Option<Permit> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            if let Some(p) = self.try_acquire(ip) {
                return Some(p);
            }
            if tokio::time::timeout_at(deadline, freed).await.is_err() {
                return None;
            }
        }
    }

    /// Open connections from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.lock().per_ip.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        {
            let mut st = self.limits.lock();
            st.open = st.open.saturating_sub(1);
            if let Some(n) = st.per_ip.get_mut(&self.ip) {
                *n -= 1;
                if *n == 0 {
                    st.per_ip.remove(&self.ip);
                }
            }
        }
        self.limits.freed.notify_waiters();
    }
}

/// A connection's socket and its slot. When hyper is done with it, it lingers (reads and
/// drops what the client still sends, at most [`LINGER`] and [`LINGER_BYTES`]) before the
/// socket closes and the slot is freed.
struct Lingering<S: Stream> {
    stream: Option<S>,
    permit: Option<Permit>,
}

impl<S: Stream> Lingering<S> {
    fn stream(&mut self) -> io::Result<&mut S> {
        self.stream.as_mut().ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl<S: Stream> AsyncRead for Lingering<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<S: Stream> AsyncWrite for Lingering<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => Pin::new(s).poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl<S: Stream> Drop for Lingering<S> {
    fn drop(&mut self) {
        let (Some(mut stream), permit) = (self.stream.take(), self.permit.take()) else {
            return;
        };
        // Outside the runtime (it is shutting down) the socket just closes.
        let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
        handle.spawn(async move {
            let _permit = permit;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            let mut buf = vec![0u8; 8192];
            let mut total = 0;
            let drain = async {
                while total < LINGER_BYTES {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => total += n,
                    }
                }
            };
            let _ = tokio::time::timeout(LINGER, drain).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_client_and_total_caps() {
        let limits = Arc::new(ConnLimits::new(2, 3, 1));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let a1 = limits.try_acquire(a).unwrap();
        let a2 = limits.try_acquire(a).unwrap();
        assert!(limits.try_acquire(a).is_none(), "third from the same client");
        let b1 = limits.try_acquire(b).unwrap();
        assert!(limits.try_acquire(b).is_none(), "total cap reached");
        assert_eq!(limits.open_from(a), 2);
        drop(a1);
        assert_eq!(limits.open_from(a), 1);
        let a3 = limits.try_acquire(a).unwrap();
        drop((a2, a3, b1));
        assert_eq!(limits.open_from(a), 0);
        assert_eq!(limits.open_from(b), 0);
        assert!(limits.lock().per_ip.is_empty(), "no entries left behind");
        assert!(limits.start_waiting());
        assert!(!limits.start_waiting(), "one waiting connection at most");
        limits.stop_waiting();
        assert!(limits.start_waiting());
    }

    #[test]
    fn a_waiting_connection_gets_a_freed_slot_or_times_out() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let limits = Arc::new(ConnLimits::new(1, 10, 10));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let held = limits.try_acquire(a).unwrap();
        rt.block_on(async {
            let none = limits.acquire_within(a, Duration::from_millis(50)).await;
            assert!(none.is_none(), "the slot stays taken");
            let waiter = {
                let limits = Arc::clone(&limits);
                tokio::spawn(async move { limits.acquire_within(a, Duration::from_secs(30)).await })
            };
            tokio::task::yield_now().await;
            drop(held);
            let got = waiter.await.unwrap();
            assert!(got.is_some(), "the freed slot goes to the waiting connection");
            assert_eq!(limits.open_from(a), 1);
        });
    }
}

//! The axum router: the pages and endpoints, the guard every request passes first, the
//! authentication gate ([`super::gate`]) after it, the security headers every response
//! carries, and the mapping of errors to 500/503.
//!
//! The guard answers, in this order: a foreign `Host` → 421 (see [`super::guard`]); a bad
//! target → 400; a declared body over [`MAX_BODY`] → 413. A method a route does not take
//! gets 405 with `Allow`. Handlers run the blocking store reads and page rendering on
//! tokio's blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::api::{self, HistoryQuery, error_reply};
use super::gate::Caller;
use super::{MAX_BODY, Reply, Shared, actions, guard, pages};
use crate::error::{Error, Result};

/// Headers on every response.
const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (header::CONNECTION, "close"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    // `same-origin`, not `no-referrer`: with `no-referrer` Chromium sends `Origin: null` on
    // same-site form posts, which the gate must refuse as cross-origin.
    (header::REFERRER_POLICY, "same-origin"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src data:; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// The dashboard's routes behind the guard and the gate.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/login", get(actions::login_page).post(actions::login))
        .route("/logout", post(actions::logout))
        .route("/theme", post(actions::theme))
        .route("/static/orc.css", get(actions::style))
        .route("/task/{name}", get(task_page))
        .route("/task/{name}/confirm/{action}", get(actions::confirm))
        .route("/task/{name}/{action}", post(actions::act))
        .route("/run/{id}", get(run_page))
        .route("/api/status", get(status))
        .route("/api/history", get(history))
        .merge(super::v1::router())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), super::gate::gate))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), guard_layer))
        .with_state(shared)
}

async fn guard_layer(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let mut resp = match refusal(&shared, &req) {
        Some(r) => r,
        None => next.run(req).await,
    };
    let headers = resp.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// Why a request is answered before routing, if it is.
fn refusal(shared: &Shared, req: &Request) -> Option<Response> {
    let mut hosts = req.headers().get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => {
            return Some(
                Reply::text(StatusCode::BAD_REQUEST, "more than one Host header").into_response(),
            );
        }
        (Some(host), None) => {
            let ok = host.to_str().is_ok_and(|h| guard::host_allowed(h, shared.bound));
            if !ok {
                let why = guard::host_refusal(shared.bound);
                return Some(Reply::text(StatusCode::MISDIRECTED_REQUEST, &why).into_response());
            }
        }
        (None, _) => {}
    }
    let uri = req.uri();
    if uri.scheme().is_some() || uri.authority().is_some() {
        let why = "request target must be an absolute path";
        return Some(Reply::text(StatusCode::BAD_REQUEST, why).into_response());
    }
    if let Err(why) = guard::check_path(uri.path()) {
        return Some(Reply::text(StatusCode::BAD_REQUEST, why).into_response());
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > MAX_BODY as u64) {
        let why = format!("request body larger than {MAX_BODY} bytes");
        return Some(Reply::text(StatusCode::PAYLOAD_TOO_LARGE, &why).into_response());
    }
    None
}

/// What a handler of a signed-in route gets from the request besides its own arguments: the
/// shared state, who is calling (the gate put it there), the target and the headers. One
/// extractor instead of the same four arguments on every handler.
pub(super) struct Call {
    pub(super) shared: Arc<Shared>,
    pub(super) caller: Caller,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
}

impl axum::extract::FromRequestParts<Arc<Shared>> for Call {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        shared: &Arc<Shared>,
    ) -> std::result::Result<Self, Response> {
        // The gate runs before every route and always records the caller; without it the
        // request did not pass the gate, and nothing may be answered.
        let Some(caller) = parts.extensions.get::<Caller>().cloned() else {
            let why = "the request has no caller: it did not pass the gate";
            return Err(Reply::text(StatusCode::INTERNAL_SERVER_ERROR, why).into_response());
        };
        Ok(Call {
            shared: Arc::clone(shared),
            caller,
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

impl Call {
    /// The page's viewer: signed in or not, the CSRF token, the theme, this page's path.
    pub(super) fn viewer(&self) -> pages::Viewer {
        actions::viewer(&self.caller, &self.headers, &self.uri)
    }

    /// [`blocking`] with the caller handed to `f` too.
    pub(super) async fn blocking(
        self,
        f: impl FnOnce(&Shared, &Caller) -> Result<Reply> + Send + 'static,
    ) -> Response {
        let Call { shared, caller, uri, .. } = self;
        blocking(shared, uri, move |s| f(s, &caller)).await
    }
}

/// The raw target (path and query) as sent, for messages and logs.
fn target(uri: &Uri) -> String {
    uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

/// Runs `f` on the blocking pool and turns its error into a 500 (503 when the database is
/// busy): JSON under `/api`, text elsewhere.
pub(super) async fn blocking(
    shared: Arc<Shared>,
    uri: Uri,
    f: impl FnOnce(&Shared) -> Result<Reply> + Send + 'static,
) -> Response {
    blocking_within(super::HANDLER_DEADLINE, shared, uri, f).await
}

/// [`blocking`] with the deadline given.
async fn blocking_within(
    deadline: std::time::Duration,
    shared: Arc<Shared>,
    uri: Uri,
    f: impl FnOnce(&Shared) -> Result<Reply> + Send + 'static,
) -> Response {
    // The connection's REQUEST_DEADLINE also covers reading the request and writing the
    // answer: a handler that is still working after HANDLER_DEADLINE gets a 503 now rather
    // than a connection closed without an answer (it finishes in the background).
    let work = tokio::task::spawn_blocking(move || f(&shared));
    let Ok(result) = tokio::time::timeout(deadline, work).await else {
        let why = format!(
            "the request took longer than {} s; it goes on in the background: try again",
            deadline.as_secs_f64()
        );
        tracing::warn!(target = %target(&uri), "{why}");
        return if super::is_api(&uri) {
            error_reply(StatusCode::SERVICE_UNAVAILABLE, "failed", &why).into_response()
        } else {
            Reply::text(StatusCode::SERVICE_UNAVAILABLE, &why).into_response()
        };
    };
    let e = match result {
        Ok(Ok(reply)) => {
            tracing::debug!(target = %target(&uri), status = %reply.status, "dashboard request");
            return reply.into_response();
        }
        Ok(Err(e)) => e,
        Err(join) => Error::Failed(format!("the dashboard request handler stopped: {join}")),
    };
    tracing::warn!(target = %target(&uri), error = %e, "dashboard request failed");
    let status = match &e {
        Error::Store(crate::store::StoreError::Busy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if super::is_api(&uri) {
        error_reply(status, "internal", &e.to_string()).into_response()
    } else {
        Reply::text(status, &e.to_string()).into_response()
    }
}

async fn overview(
    call: Call,
    query: std::result::Result<Query<pages::OverviewFilter>, QueryRejection>,
) -> Response {
    let v = call.viewer();
    let filter = query.map(|Query(f)| f).unwrap_or_default();
    call.blocking(move |s, _| pages::overview(s, &v, &filter)).await
}

async fn healthz(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    blocking(s, uri, api::healthz).await
}

async fn metrics(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    blocking(s, uri, api::metrics).await
}

async fn status(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    blocking(s, uri, api::status).await
}

async fn history(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    query: std::result::Result<Query<HistoryQuery>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(q)) => blocking(s, uri, move |s| api::history(s, &q)).await,
        Err(e) => {
            let msg = format!("invalid query string: {}", e.body_text());
            error_reply(StatusCode::BAD_REQUEST, "invalid", &msg).into_response()
        }
    }
}

async fn task_page(call: Call, name: std::result::Result<Path<String>, PathRejection>) -> Response {
    let v = call.viewer();
    match name {
        Ok(Path(name)) => call.blocking(move |s, _| pages::task_page(s, &v, &name, None)).await,
        Err(e) => Reply::text(StatusCode::BAD_REQUEST, &e.body_text()).into_response(),
    }
}

async fn run_page(call: Call, id: std::result::Result<Path<String>, PathRejection>) -> Response {
    let v = call.viewer();
    match id {
        Ok(Path(id)) => call.blocking(move |s, _| pages::run_page(s, &v, &id)).await,
        Err(e) => Reply::text(StatusCode::BAD_REQUEST, &e.body_text()).into_response(),
    }
}

/// No route matched: a JSON 404 under `/api`, the 404 page elsewhere.
async fn fallback(
    State(s): State<Arc<Shared>>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let t = target(&uri);
    if super::is_api(&uri) {
        let msg = format!("no such endpoint: {t}");
        return error_reply(StatusCode::NOT_FOUND, "not_found", &msg).into_response();
    }
    let caller = caller.map(|Extension(c)| c).unwrap_or_default();
    let v = actions::viewer(&caller, &headers, &uri);
    blocking(s, uri, move |s| pages::not_found(s, &v, &format!("There is no page at {t}."))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    fn shared(dir: &std::path::Path) -> Arc<Shared> {
        let opts = super::super::Options {
            home: dir.to_path_buf(),
            db: crate::store::Store::open(dir).unwrap().opener(dir),
            require_login: false,
            tls: None,
            orc_exe: dir.join("orc"),
        };
        let server = super::super::Server::bind("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
        server.shared
    }

    async fn body(resp: Response) -> (StatusCode, String, String) {
        let status = resp.status();
        let ctype = resp.headers().get(header::CONTENT_TYPE).unwrap().to_str().unwrap().into();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
    }

    #[test]
    fn a_handler_past_its_deadline_is_answered_503_and_finishes_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let s = shared(dir.path());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let finished = Arc::new(AtomicBool::new(false));
        for (path, want_type, want_body) in [
            (
                "/api/v1/status",
                "application/json",
                r#"{"error":{"kind":"failed","message":"the request took longer than 0.05 s; it goes on in the background: try again"}}"#,
            ),
            (
                "/task/x",
                "text/plain; charset=utf-8",
                "the request took longer than 0.05 s; it goes on in the background: try again\n",
            ),
        ] {
            finished.store(false, Ordering::SeqCst);
            let done = Arc::clone(&finished);
            let resp = rt.block_on(blocking_within(
                Duration::from_millis(50),
                Arc::clone(&s),
                path.parse().unwrap(),
                move |_| {
                    std::thread::sleep(Duration::from_millis(400));
                    done.store(true, Ordering::SeqCst);
                    Ok(Reply::text(StatusCode::OK, "late"))
                },
            ));
            let (status, ctype, text) = rt.block_on(body(resp));
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert_eq!(ctype, want_type, "{path}");
            if want_type == "application/json" {
                let got: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(got, serde_json::from_str::<serde_json::Value>(want_body).unwrap());
            } else {
                assert_eq!(text, want_body, "{path}");
            }
            // The handler was not cancelled: it runs to its end on the blocking pool.
            let until = std::time::Instant::now() + Duration::from_secs(10);
            while !finished.load(Ordering::SeqCst) && std::time::Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(finished.load(Ordering::SeqCst), "{path}: the handler did not finish");
        }
    }

    #[test]
    fn a_handler_within_its_deadline_answers_itself() {
        let dir = tempfile::tempdir().unwrap();
        let s = shared(dir.path());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let resp = rt.block_on(blocking_within(
            Duration::from_secs(5),
            s,
            "/task/x".parse().unwrap(),
            |_| Ok(Reply::text(StatusCode::OK, "on time")),
        ));
        let (status, _, text) = rt.block_on(body(resp));
        assert_eq!((status, text.trim_end()), (StatusCode::OK, "on time"));
    }
}

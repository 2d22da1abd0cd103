//! The axum router: the pages and endpoints, the guard every request passes first, the
//! security headers every response carries, and the mapping of errors to 500/503.
//!
//! The guard answers, in this order: a foreign `Host` → 421 (see [`super::guard`]); a bad
//! target → 400; a method other than GET and HEAD → 405 with `Allow: GET, HEAD` (the
//! dashboard is read-only); a declared body over [`MAX_BODY`] → 413. Handlers run the
//! blocking store reads and page rendering on tokio's blocking pool.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::api::{self, HistoryQuery, error_reply};
use super::{MAX_BODY, Reply, Shared, guard, pages};
use crate::error::{Error, Result};

/// Headers on every response.
const SECURITY_HEADERS: [(HeaderName, &str); 6] = [
    (header::CONNECTION, "close"),
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    ),
];

/// The dashboard's routes behind the guard.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/healthz", get(healthz))
        .route("/task/{name}", get(task_page))
        .route("/run/{id}", get(run_page))
        .route("/api/status", get(status))
        .route("/api/history", get(history))
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(MAX_BODY))
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
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let why = "only GET and HEAD are allowed: the dashboard is read-only";
        let mut resp = Reply::text(StatusCode::METHOD_NOT_ALLOWED, why).into_response();
        resp.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return Some(resp);
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if declared.and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > MAX_BODY as u64) {
        let why = format!("request body larger than {MAX_BODY} bytes");
        return Some(Reply::text(StatusCode::PAYLOAD_TOO_LARGE, &why).into_response());
    }
    None
}

/// The raw target (path and query) as sent, for messages and logs.
fn target(uri: &Uri) -> String {
    uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string())
}

fn is_api(uri: &Uri) -> bool {
    uri.path() == "/api" || uri.path().starts_with("/api/")
}

/// Runs `f` on the blocking pool and turns its error into a 500 (503 when the database is
/// busy): JSON under `/api`, text elsewhere.
async fn blocking(
    shared: Arc<Shared>,
    uri: Uri,
    f: impl FnOnce(&Shared) -> Result<Reply> + Send + 'static,
) -> Response {
    let result = tokio::task::spawn_blocking(move || f(&shared)).await;
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
    if is_api(&uri) {
        error_reply(status, "internal", &e.to_string()).into_response()
    } else {
        Reply::text(status, &e.to_string()).into_response()
    }
}

async fn overview(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    blocking(s, uri, pages::overview).await
}

async fn healthz(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    blocking(s, uri, api::healthz).await
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

async fn task_page(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    name: std::result::Result<Path<String>, PathRejection>,
) -> Response {
    match name {
        Ok(Path(name)) => blocking(s, uri, move |s| pages::task_page(s, &name)).await,
        Err(e) => Reply::text(StatusCode::BAD_REQUEST, &e.body_text()).into_response(),
    }
}

async fn run_page(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    id: std::result::Result<Path<String>, PathRejection>,
) -> Response {
    match id {
        Ok(Path(id)) => blocking(s, uri, move |s| pages::run_page(s, &id)).await,
        Err(e) => Reply::text(StatusCode::BAD_REQUEST, &e.body_text()).into_response(),
    }
}

/// No route matched: a JSON 404 under `/api`, the 404 page elsewhere.
async fn fallback(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    let t = target(&uri);
    if is_api(&uri) {
        let msg = format!("no such endpoint: {t}");
        return error_reply(StatusCode::NOT_FOUND, "not_found", &msg).into_response();
    }
    blocking(s, uri, move |s| pages::not_found(s, &format!("There is no page at {t}."))).await
}

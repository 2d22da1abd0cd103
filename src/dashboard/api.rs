//! The JSON endpoints (`/api/status`, `/api/history`) and `/healthz`. Plain blocking code
//! over the store; the router parses the query string and runs these on the blocking pool.

use axum::http::StatusCode;

use super::{JSON, MAX_API_LIMIT, Reply, Shared, data, store_err, with_db};
use crate::error::Result;

/// A JSON answer, pretty-printed.
pub fn json_reply(status: StatusCode, v: &serde_json::Value) -> Reply {
    let body = serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"null".to_vec());
    Reply::new(status, JSON, body)
}

/// `{"error": {"kind": …, "message": …}}`.
pub fn error_json(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"kind": kind, "message": message}})
}

/// A JSON error answer.
pub fn error_reply(status: StatusCode, kind: &str, message: &str) -> Reply {
    json_reply(status, &error_json(kind, message))
}

/// `/healthz`: `ok` when the database can be read.
pub(super) fn healthz(shared: &Shared) -> Result<Reply> {
    with_db(shared, |c| {
        c.query_row("SELECT count(*) FROM tasks", [], |r| r.get::<_, i64>(0))
            .map_err(|e| store_err(shared, "health check", e))?;
        Ok(Reply::text(StatusCode::OK, "ok"))
    })
}

/// `/metrics`: the Prometheus text format, the same series as the `metrics.textfile`
/// ([`crate::metrics::render`]).
pub(super) fn metrics(shared: &Shared) -> Result<Reply> {
    with_db(shared, |c| {
        let snapshot = crate::metrics::collect_from(c, shared.db.path(), &shared.host)?;
        Ok(Reply {
            status: StatusCode::OK,
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: crate::metrics::render(&snapshot).into_bytes(),
        })
    })
}

/// `/api/status`: one object per task.
pub(super) fn status(shared: &Shared) -> Result<Reply> {
    with_db(shared, |c| {
        let v = data::status_json(c).map_err(|e| store_err(shared, "read status", e))?;
        Ok(json_reply(StatusCode::OK, &v))
    })
}

/// The query string of `/api/history` (decoded by the router's query extractor).
#[derive(Debug, Default, serde::Deserialize)]
pub struct HistoryQuery {
    pub task: Option<String>,
    pub limit: Option<String>,
}

/// `/api/history?task=NAME&limit=N`: runs, newest first.
pub(super) fn history(shared: &Shared, q: &HistoryQuery) -> Result<Reply> {
    let task = q.task.as_deref().filter(|t| !t.is_empty());
    if let Some(t) = task
        && let Err(e) = crate::task::validate_name(t)
    {
        return Ok(error_reply(StatusCode::BAD_REQUEST, "invalid", &e.to_string()));
    }
    let limit = match q.limit.as_deref().filter(|l| !l.is_empty()) {
        None => 50,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_API_LIMIT).contains(&n) => n,
            _ => {
                let msg = format!("invalid limit {l:?}: must be a whole number from 1 to 10000");
                return Ok(error_reply(StatusCode::BAD_REQUEST, "invalid", &msg));
            }
        },
    };
    with_db(shared, |c| {
        if let Some(t) = task
            && data::task(c, t).map_err(|e| store_err(shared, "read task", e))?.is_none()
            && data::runs(c, Some(t), 1).map_err(|e| store_err(shared, "read runs", e))?.is_empty()
        {
            let msg = format!("no such task: {t:?}");
            return Ok(error_reply(StatusCode::NOT_FOUND, "not_found", &msg));
        }
        let runs = data::runs(c, task, limit).map_err(|e| store_err(shared, "read runs", e))?;
        let v: Vec<serde_json::Value> = runs.iter().map(|r| r.to_json(false)).collect();
        Ok(json_reply(StatusCode::OK, &serde_json::Value::Array(v)))
    })
}

//! The REST API under `/api/v1`: the same JSON objects as the CLI's `--json` (task views
//! from [`crate::task::view`], run objects from [`RunRecord::to_json`], status rows from
//! [`crate::task::status`]), and changes through the same library calls as `orc task …`
//! ([`crate::task::ops`]), so a refusal is the CLI's refusal: 422 (400 for a body that is
//! not JSON) with the CLI's error object `{"error":{"kind","message"}}`, nothing changed.
//!
//! Task bodies are the flags of `orc task add|edit` as JSON, values as strings the way they
//! are typed (`{"command":"…","schedule":"0 2 * * *","retries":"3","env":["K=V"]}`; see
//! [`TaskPatch`]); `POST /tasks` also takes `name`.
//!
//! [`ROUTES`] lists every route; the router is built from it and the test below checks it
//! against the OpenAPI document (`openapi.json`, embedded), both ways.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};

use super::api::{error_reply, json_reply};
use super::gate::Caller;
use super::routes::Call;
use super::{JSON, Reply, Shared, store_err, with_db};
use crate::error::{Error, Result};
use crate::exec::runs::{self, PageQuery, RunRecord, Status, Trigger};
use crate::task::patch::TaskPatch;
use crate::task::{ops, repo, view};

/// The OpenAPI 3.1 document served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route of the API: method and path (axum syntax, as in the OpenAPI document).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/status"),
    ("get", "/api/v1/tasks"),
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{name}"),
    ("patch", "/api/v1/tasks/{name}"),
    ("delete", "/api/v1/tasks/{name}"),
    ("post", "/api/v1/tasks/{name}/enable"),
    ("post", "/api/v1/tasks/{name}/disable"),
    ("post", "/api/v1/tasks/{name}/run"),
    ("get", "/api/v1/runs"),
    ("get", "/api/v1/runs/{id}"),
    ("get", "/api/v1/runs/{id}/log"),
    ("get", "/api/v1/schedule/plan"),
    ("post", "/api/v1/schedule/apply"),
];

/// The API's routes (merged into the dashboard's router).
pub(super) fn router() -> Router<Arc<Shared>> {
    let by_path: [(&str, MethodRouter<Arc<Shared>>); 10] = [
        ("/api/v1/openapi.json", get(openapi)),
        ("/api/v1/status", get(status)),
        ("/api/v1/tasks", get(list_tasks).post(create_task)),
        ("/api/v1/tasks/{name}", get(get_task).patch(edit_task).delete(remove_task)),
        ("/api/v1/tasks/{name}/enable", post(enable)),
        ("/api/v1/tasks/{name}/disable", post(disable)),
        ("/api/v1/tasks/{name}/run", post(run_now)),
        ("/api/v1/runs", get(list_runs)),
        ("/api/v1/runs/{id}", get(get_run)),
        ("/api/v1/runs/{id}/log", get(run_log)),
    ];
    let mut r = Router::new();
    for (path, m) in by_path {
        r = r.route(path, m);
    }
    r.route("/api/v1/schedule/plan", get(schedule_plan))
        .route("/api/v1/schedule/apply", post(schedule_apply))
}

/// An error of the library as the CLI's error object, with the HTTP status for its kind.
pub fn error_response(e: &Error) -> Reply {
    let status = match e {
        Error::Invalid { .. } | Error::Usage(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Store(crate::store::StoreError::Busy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_reply(status, e.kind(), &e.to_string())
}

fn ok_json<T: serde::Serialize>(status: StatusCode, v: &T) -> Result<Reply> {
    let v = serde_json::to_value(v)
        .map_err(|e| Error::Failed(format!("cannot encode the answer: {e}")))?;
    Ok(json_reply(status, &v))
}

/// Runs a change in one write transaction on the dashboard's database, with the caller's
/// token as the actor of its audit rows. Library errors become the CLI's error object.
pub(super) fn change<T>(
    shared: &Shared,
    caller: &Caller,
    what: &str,
    f: impl FnOnce(&crate::store::sql::Transaction<'_>, &str) -> Result<T>,
) -> std::result::Result<T, Reply> {
    let actor = caller.actor().unwrap_or_else(crate::audit::os_user);
    let command_line = format!("orc dashboard: {what}");
    crate::audit::acting_as(&actor, || {
        let mut store = shared.db.store().map_err(|e| error_response(&e.into()))?;
        store.write(|tx| f(tx, &command_line)).map_err(|e| error_response(&e))
    })
}

fn bad_body(msg: String) -> Reply {
    error_reply(StatusCode::BAD_REQUEST, "invalid_input", &msg)
}

/// A task body: a JSON object of [`TaskPatch`] fields (and `name` when `named`).
fn parse_body(body: &[u8], named: bool) -> std::result::Result<(Option<String>, TaskPatch), Reply> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| bad_body(format!("the body must be a JSON object: {e}")))?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(bad_body("the body must be a JSON object".into()));
    };
    let name = if named {
        match map.remove("name") {
            Some(serde_json::Value::String(n)) => Some(n),
            _ => return Err(bad_body("the body needs \"name\": the task name".into())),
        }
    } else {
        None
    };
    let patch: TaskPatch = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| bad_body(format!("invalid task body: {e}")))?;
    Ok((name, patch))
}

/// A path segment (`{name}`, `{id}`); one the router cannot decode is answered 400 with the
/// API's error JSON before the handler runs.
struct Segment(String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Segment {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> std::result::Result<Self, Response> {
        Path::<String>::from_request_parts(parts, state).await.map(|Path(s)| Segment(s)).map_err(
            |e: PathRejection| {
                error_reply(StatusCode::BAD_REQUEST, "invalid_input", &e.body_text())
                    .into_response()
            },
        )
    }
}

fn reply(r: std::result::Result<Reply, Reply>) -> Result<Reply> {
    Ok(r.unwrap_or_else(|e| e))
}

fn task_view_reply(shared: &Shared, status: StatusCode, name: &str) -> Result<Reply> {
    with_db(shared, |c| {
        let t = repo::require(c, name)?;
        let last = runs::last_per_task(c).map_err(|e| store_err(shared, "read last runs", e))?;
        ok_json(status, &view::view(&t, view::last_run_in(&last, &t.spec.name)))
    })
}

// ------------------------------------------------------------------------------------------
// Handlers (each runs its store work on the blocking pool through `blocking`).

async fn openapi() -> Response {
    Reply::new(StatusCode::OK, JSON, OPENAPI.as_bytes().to_vec()).into_response()
}

async fn status(call: Call) -> Response {
    call.blocking(|s, _| {
        with_db(s, |c| {
            let rows = crate::task::status::rows(c)?;
            let v: Vec<serde_json::Value> = rows.iter().map(|r| r.to_json()).collect();
            ok_json(StatusCode::OK, &v)
        })
    })
    .await
}

async fn list_tasks(call: Call) -> Response {
    call.blocking(|s, _| {
        with_db(s, |c| {
            let tasks = repo::list(c)?;
            let last = runs::last_per_task(c).map_err(|e| store_err(s, "read last runs", e))?;
            let views: Vec<view::TaskView<'_>> = tasks
                .iter()
                .map(|t| view::view(t, view::last_run_in(&last, &t.spec.name)))
                .collect();
            ok_json(StatusCode::OK, &views)
        })
    })
    .await
}

async fn get_task(call: Call, Segment(name): Segment) -> Response {
    call.blocking(move |s, _| match task_view_reply(s, StatusCode::OK, &name) {
        Err(e @ Error::NotFound { .. }) => Ok(error_response(&e)),
        other => other,
    })
    .await
}

async fn create_task(call: Call, body: Bytes) -> Response {
    call.blocking(move |s, caller| {
        let (name, patch) = match parse_body(&body, true) {
            Ok(b) => b,
            Err(r) => return Ok(r),
        };
        let name = name.unwrap_or_default();
        let spec = match patch.build(&name) {
            Ok(spec) => spec,
            Err(e) => return Ok(error_response(&e)),
        };
        let what = format!("POST /api/v1/tasks ({name})");
        let stored = match change(s, caller, &what, |tx, cl| ops::add(tx, &spec, cl)) {
            Ok(t) => t,
            Err(r) => return Ok(r),
        };
        ok_json(StatusCode::CREATED, &view::view(&stored, None))
    })
    .await
}

async fn edit_task(call: Call, Segment(name): Segment, body: Bytes) -> Response {
    call.blocking(move |s, caller| {
        let patch = match parse_body(&body, false) {
            Ok((_, p)) => p,
            Err(r) => return Ok(r),
        };
        if patch.is_empty() {
            return Ok(error_response(&Error::Usage(
                "nothing to change: give at least one field".into(),
            )));
        }
        let what = format!("PATCH /api/v1/tasks/{name}");
        match change(s, caller, &what, |tx, cl| ops::edit(tx, &name, &patch, cl)) {
            Ok((t, _)) => task_view_reply(s, StatusCode::OK, &t.spec.name),
            Err(r) => Ok(r),
        }
    })
    .await
}

async fn remove_task(call: Call, Segment(name): Segment) -> Response {
    call.blocking(move |s, caller| {
        let what = format!("DELETE /api/v1/tasks/{name}");
        reply(change(s, caller, &what, |tx, cl| ops::remove(tx, &name, cl)).and_then(|(t, _)| {
            ok_json(StatusCode::OK, &serde_json::json!({ "removed": t.spec.name }))
                .map_err(|e| error_response(&e))
        }))
    })
    .await
}

async fn set_enabled(call: Call, name: String, enabled: bool) -> Response {
    call.blocking(move |s, caller| {
        let word = if enabled { "enable" } else { "disable" };
        let what = format!("POST /api/v1/tasks/{name}/{word}");
        match change(s, caller, &what, |tx, cl| ops::set_enabled(tx, &name, enabled, cl)) {
            Ok((t, _)) => task_view_reply(s, StatusCode::OK, &t.spec.name),
            Err(r) => Ok(r),
        }
    })
    .await
}

async fn enable(call: Call, Segment(name): Segment) -> Response {
    set_enabled(call, name, true).await
}

async fn disable(call: Call, Segment(name): Segment) -> Response {
    set_enabled(call, name, false).await
}

/// Starts a run of `name` and records who asked (audit object `run`). Shared with the
/// task page's "Run now" button.
pub(super) fn start_run(
    shared: &Shared,
    caller: &Caller,
    name: &str,
) -> std::result::Result<(String, i64), Reply> {
    let task = with_db(shared, |c| {
        let task = repo::require(c, name)?;
        // Refused here with its reason (422), not after the detached execute exits 2 unseen.
        crate::fleet::assign::require_here(c, &task.spec, &crate::fleet::this_host())?;
        Ok(task)
    })
    .map_err(|e| error_response(&e))?;
    let task_name = task.spec.name;
    let id = crate::exec::launch::run_now(&shared.orc_exe, &shared.home, &task_name, &shared.db)
        .map_err(|e| error_response(&e))?;
    let what = format!("POST /api/v1/tasks/{task_name}/run");
    let after = serde_json::json!({ "run_id": id, "trigger": "manual" });
    change(shared, caller, &what, |tx, cl| {
        crate::audit::record(tx, cl, "run", Some(&task_name), None, Some(&after))
            .map_err(Error::from)
    })?;
    Ok((task_name, id))
}

async fn run_now(call: Call, Segment(name): Segment) -> Response {
    call.blocking(move |s, caller| {
        reply(start_run(s, caller, &name).and_then(|(task, id)| {
            ok_json(StatusCode::ACCEPTED, &serde_json::json!({ "task": task, "run_id": id }))
                .map_err(|e| error_response(&e))
        }))
    })
    .await
}

/// The query string of `/api/v1/runs`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    pub task: Option<String>,
    pub status: Option<String>,
    pub trigger: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub after: Option<String>,
    pub limit: Option<String>,
}

/// Checks the query of `/api/v1/runs` with the CLI's rules (`orc history`).
pub fn page_query(q: &RunsQuery) -> Result<PageQuery> {
    if let Some(t) = &q.task {
        crate::task::validate_name(t)?;
    }
    let status = q.status.as_deref().map(|s| Status::parse_field("status", s)).transpose()?;
    let trigger = q
        .trigger
        .as_deref()
        .map(|t| Trigger::parse_field("trigger", t).map(|t| t.as_str().to_string()))
        .transpose()?;
    let time = |field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                crate::cli::history::parse_since(s).map_err(|_| {
                    Error::invalid(field, s, "a duration back from now (e.g. 24h) or a local time YYYY-MM-DD[THH:MM[:SS]]")
                })
            })
            .transpose()
    };
    let after = q
        .after
        .as_deref()
        .map(|a| {
            a.parse::<i64>().map_err(|_| {
                Error::invalid("after", a, "a run id (the cursor of the previous page)")
            })
        })
        .transpose()?;
    let limit = match q.limit.as_deref() {
        None => 50,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=runs::MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(Error::invalid(
                    "limit",
                    l,
                    format!("a whole number from 1 to {}", runs::MAX_PAGE),
                ));
            }
        },
    };
    Ok(PageQuery {
        task: q.task.clone(),
        status,
        trigger,
        since: time("since", &q.since)?,
        until: time("until", &q.until)?,
        after,
        limit,
    })
}

/// The link to the next page: this request's query with `after` set to `next`.
fn next_link(uri: &Uri, next: i64) -> String {
    let kept: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .filter(|(k, _)| k != "after")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &kept {
        ser.append_pair(k, v);
    }
    ser.append_pair("after", &next.to_string());
    format!("<{}?{}>; rel=\"next\"", uri.path(), ser.finish())
}

async fn list_runs(
    State(s): State<Arc<Shared>>,
    uri: Uri,
    query: std::result::Result<Query<RunsQuery>, QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => {
            let msg = format!("invalid query string: {}", e.body_text());
            return error_reply(StatusCode::BAD_REQUEST, "invalid_input", &msg).into_response();
        }
    };
    let q = match page_query(&q) {
        Ok(q) => q,
        Err(e) => return error_response(&e).into_response(),
    };
    let link_uri = uri.clone();
    let result = tokio::task::spawn_blocking(move || {
        with_db(&s, |c| runs::page(c, &q).map_err(|e| store_err(&s, "read runs", e)))
    })
    .await;
    match result {
        Ok(Ok(page)) => {
            let v: Vec<serde_json::Value> = page.runs.iter().map(|r| r.to_json(false)).collect();
            let mut resp = json_reply(StatusCode::OK, &serde_json::Value::Array(v)).into_response();
            if let Some(next) = page.next
                && let Ok(h) = HeaderValue::from_str(&next_link(&link_uri, next))
            {
                resp.headers_mut().insert(header::LINK, h);
            }
            resp
        }
        Ok(Err(e)) => error_response(&e).into_response(),
        Err(e) => error_response(&Error::Failed(format!("the request handler stopped: {e}")))
            .into_response(),
    }
}

fn run_by_id(shared: &Shared, id: &str) -> Result<RunRecord> {
    let not_found = || Error::NotFound { what: "run", name: id.to_string() };
    let n: i64 = id.parse().map_err(|_| not_found())?;
    with_db(shared, |c| runs::get(c, n).map_err(|e| store_err(shared, "read run", e)))?
        .ok_or_else(not_found)
}

async fn get_run(call: Call, Segment(id): Segment) -> Response {
    call.blocking(move |s, _| match run_by_id(s, &id) {
        Ok(run) => Ok(json_reply(StatusCode::OK, &run.to_json(true))),
        Err(e) => Ok(error_response(&e)),
    })
    .await
}

async fn run_log(call: Call, Segment(id): Segment) -> Response {
    call.blocking(move |s, _| {
        let run = match run_by_id(s, &id) {
            Ok(r) => r,
            Err(e) => return Ok(error_response(&e)),
        };
        match runs::read_log(&run) {
            Ok((file, text)) => ok_json(
                StatusCode::OK,
                &serde_json::json!({ "id": run.id, "output_file": file, "output": text }),
            ),
            Err(e) => Ok(error_reply(StatusCode::NOT_FOUND, "not_found", &e.to_string())),
        }
    })
    .await
}

/// Runs `orc --json schedule --all [--dry-run]` on the dashboard's data directory and answers
/// with its JSON (the CLI's document by construction).
fn schedule(shared: &Shared, dry_run: bool) -> Result<Reply> {
    let mut cmd = std::process::Command::new(&shared.orc_exe);
    cmd.arg("--home").arg(&shared.home).args(["--json", "schedule", "--all"]);
    shared.db.pass_to(&mut cmd);
    if dry_run {
        cmd.arg("--dry-run");
    }
    cmd.stdin(std::process::Stdio::null());
    let out = crate::exec::execute::spawn_with_retry(|| cmd.output()).map_err(|e| {
        Error::Failed(format!("cannot start {} schedule: {e}", shared.orc_exe.display()))
    })?;
    let (status, body) = if out.status.success() {
        (StatusCode::OK, out.stdout)
    } else {
        let code = out.status.code().unwrap_or(1);
        let status = match code {
            2 => StatusCode::UNPROCESSABLE_ENTITY,
            3 => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let err = if out.stderr.is_empty() { out.stdout } else { out.stderr };
        (status, err)
    };
    Ok(Reply::new(status, JSON, body))
}

async fn schedule_plan(call: Call) -> Response {
    call.blocking(|s, _| schedule(s, true)).await
}

async fn schedule_apply(call: Call) -> Response {
    call.blocking(move |s, caller| {
        let reply = schedule(s, false)?;
        let after = serde_json::from_slice::<serde_json::Value>(&reply.body).unwrap_or_default();
        let ok = reply.status == StatusCode::OK;
        let recorded = change(s, caller, "POST /api/v1/schedule/apply", |tx, cl| {
            let after = serde_json::json!({ "ok": ok, "result": after });
            crate::audit::record(tx, cl, "schedule", None, None, Some(&after)).map_err(Error::from)
        });
        Ok(recorded.map(|()| reply).unwrap_or_else(|e| e))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_openapi_document_lists_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if ["get", "post", "patch", "delete", "put"].contains(&method.as_str()) {
                    documented.insert((method.clone(), path.clone()));
                }
            }
        }
        let routed: BTreeSet<(String, String)> =
            ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        assert_eq!(documented, routed);
    }

    #[test]
    fn runs_query_rules() {
        let q = |s: &str| {
            let q: RunsQuery = serde_urlencoded_like(s);
            page_query(&q)
        };
        assert_eq!(q("").unwrap().limit, 50);
        let p = q("task=nightly&status=failed&trigger=manual&after=17&limit=10").unwrap();
        assert_eq!(p.task.as_deref(), Some("nightly"));
        assert_eq!(p.status, Some(Status::Failed));
        assert_eq!((p.after, p.limit), (Some(17), 10));
        for bad in [
            "limit=0",
            "limit=1001",
            "status=done",
            "trigger=cron",
            "after=x",
            "task=a%20b",
            "since=yesterday",
        ] {
            assert_eq!(q(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }

    fn serde_urlencoded_like(s: &str) -> RunsQuery {
        let mut q = RunsQuery::default();
        for (k, v) in url::form_urlencoded::parse(s.as_bytes()) {
            let v = Some(v.into_owned());
            match &*k {
                "task" => q.task = v,
                "status" => q.status = v,
                "trigger" => q.trigger = v,
                "since" => q.since = v,
                "until" => q.until = v,
                "after" => q.after = v,
                "limit" => q.limit = v,
                _ => panic!("{k}"),
            }
        }
        q
    }

    #[test]
    fn next_links_keep_the_filters() {
        let uri: Uri = "/api/v1/runs?task=a&after=5&limit=2".parse().unwrap();
        assert_eq!(next_link(&uri, 9), "</api/v1/runs?task=a&limit=2&after=9>; rel=\"next\"");
    }
}

//! `orc dashboard`: a local, read-only web view of tasks and runs.
//!
//! - [`http`]: the small HTTP/1.1 subset (GET/HEAD, 8 KiB heads, `Connection: close`);
//! - [`data`]: the queries and the JSON objects;
//! - this module: the bind rule, the server (an accept loop feeding a bounded pool of
//!   [`WORKERS`] threads) and the pages (minijinja templates, autoescaped).
//!
//! Every request opens its own read-only connection and reads inside one short deferred
//! transaction, so the dashboard never blocks `orc execute` for longer than a query.

pub mod data;
pub mod http;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use minijinja::{Environment, context};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

use crate::clock;
use crate::cron::CronExpr;
use crate::error::{Error, Result};
use crate::exec::runs::{self, RunRecord, Status};
use crate::render;
use http::{HTML, JSON, Method, Request, Response, TEXT};

/// Worker threads answering requests.
pub const WORKERS: usize = 4;
/// Accepted connections waiting for a worker; beyond this the server answers 503 at once.
pub const QUEUE: usize = 32;
/// How long a client may take to send its request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs on a task page.
pub const TASK_RUNS: u32 = 50;
/// Largest `limit` accepted by `/api/history`.
pub const MAX_API_LIMIT: u32 = 10_000;

/// The rule `--bind` must follow (shown in refusals and `--help`).
pub const BIND_RULE: &str = "must be IP:PORT (e.g. 127.0.0.1:5000, [::1]:5000, localhost:5000; \
     port 0 picks a free port) on a loopback address; other addresses need --allow-remote \
     because the dashboard has no authentication";

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

/// What every request needs: where the database is, the templates, the host name.
struct Shared {
    db: PathBuf,
    templates: Environment<'static>,
    host: String,
}

/// A bound dashboard, ready to [`Server::run`].
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds the listener. `db` must exist (the caller opened and migrated the store).
    pub fn bind(addr: SocketAddr, db: &Path) -> Result<Server> {
        let listener = TcpListener::bind(addr).map_err(|e| {
            Error::Failed(format!(
                "cannot listen on {addr}: {e} (is another program using the port?)"
            ))
        })?;
        let host = hostname();
        Ok(Server {
            listener,
            shared: Arc::new(Shared { db: db.to_path_buf(), templates: templates(), host }),
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|e| Error::Failed(format!("cannot read the listening address: {e}")))
    }

    /// The URL to open in a browser.
    pub fn url(&self) -> Result<String> {
        Ok(format!("http://{}/", self.local_addr()?))
    }

    /// Serves until the process is stopped (Ctrl+C). Connections are handed to a bounded
    /// pool; when every worker is busy and the queue is full the client gets 503 at once.
    pub fn run(self) -> Result<()> {
        let (tx, rx): (SyncSender<TcpStream>, Receiver<TcpStream>) = sync_channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..WORKERS {
            let rx = Arc::clone(&rx);
            let shared = Arc::clone(&self.shared);
            std::thread::Builder::new()
                .name(format!("dashboard-{i}"))
                .spawn(move || worker(&rx, &shared))
                .map_err(|e| Error::Failed(format!("cannot start a dashboard worker: {e}")))?;
        }
        for conn in self.listener.incoming() {
            let stream = match conn {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            match tx.try_send(stream) {
                Ok(()) => {}
                Err(TrySendError::Full(mut s)) => {
                    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
                    let busy = Response::new(503, "Service Unavailable", TEXT, b"busy\n".to_vec());
                    let _ = busy.write_to(&mut s, false);
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(Error::Failed("dashboard workers stopped".into()));
                }
            }
        }
        Ok(())
    }
}

fn worker(rx: &Mutex<Receiver<TcpStream>>, shared: &Shared) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(stream) = next else { return };
        handle(stream, shared);
    }
}

fn handle(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let head = match http::read_head(&mut stream) {
        Ok(h) => h,
        Err(http::ReadError::TooLarge) => {
            let _ = Response::refusal(&http::Refusal::HeadTooLarge).write_to(&mut stream, false);
            drain(&mut stream);
            return;
        }
        Err(http::ReadError::Incomplete) => {
            let r = http::Refusal::BadRequest("incomplete request head");
            let _ = Response::refusal(&r).write_to(&mut stream, false);
            return;
        }
        // Closed without a request, or a read timeout / socket error: nothing to answer.
        Err(_) => return,
    };
    let (resp, head_only, refused) = match http::parse_head(&head) {
        Ok(req) => {
            let resp = respond(&req, shared);
            tracing::debug!(target = %req.target, status = resp.status, "dashboard request");
            (resp, req.method == Method::Head, false)
        }
        Err(refusal) => (Response::refusal(&refusal), false, true),
    };
    let _ = resp.write_to(&mut stream, head_only);
    let _ = stream.flush();
    if refused {
        // e.g. a POST with a body: let the client read the 405 before the socket closes.
        drain(&mut stream);
    }
}

/// After refusing a request, reads (and drops) what the client still sends, for at most a
/// second and 1 MiB, so closing the socket with unread data does not reset the connection
/// before the client has read the response.
fn drain(stream: &mut TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 8192];
    let mut total = 0usize;
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while total < 1024 * 1024 && std::time::Instant::now() < deadline {
        match std::io::Read::read(stream, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

/// Answers one parsed request.
fn respond(req: &Request, shared: &Shared) -> Response {
    match route(req, shared) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(target = %req.target, error = %e, "dashboard request failed");
            let api = req.segments.first().is_some_and(|s| s == "api");
            let (status, reason) = match &e {
                Error::Store(crate::store::StoreError::Busy { .. }) => (503, "Service Unavailable"),
                _ => (500, "Internal Server Error"),
            };
            if api {
                json_response(status, reason, &error_json("internal", &e.to_string()))
            } else {
                Response::new(status, reason, TEXT, format!("{e}\n").into_bytes())
            }
        }
    }
}

fn route(req: &Request, shared: &Shared) -> Result<Response> {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        [] => overview(shared),
        ["healthz"] => healthz(shared),
        ["task", name] => task_page(shared, name),
        ["run", id] => run_page(shared, id),
        ["api", "status"] => with_db(shared, |c| {
            let v = data::status_json(c).map_err(|e| store_err(shared, "read status", e))?;
            Ok(json_response(200, "OK", &v))
        }),
        ["api", "history"] => api_history(req, shared),
        ["api", ..] => Ok(json_response(
            404,
            "Not Found",
            &error_json("not_found", &format!("no such endpoint: {}", req.target)),
        )),
        _ => not_found(shared, &format!("There is no page at {}.", req.target)),
    }
}

fn store_err(shared: &Shared, context: &'static str, e: rusqlite::Error) -> Error {
    Error::Store(crate::store::classify(&shared.db, context, e))
}

/// Runs `f` on a fresh read-only connection inside one deferred read transaction.
fn with_db<T>(shared: &Shared, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let conn = Connection::open_with_flags(
        &shared.db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| store_err(shared, "open read-only", e))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(|e| store_err(shared, "set busy timeout", e))?;
    conn.execute_batch("BEGIN DEFERRED").map_err(|e| store_err(shared, "begin read", e))?;
    let out = f(&conn);
    let _ = conn.execute_batch("COMMIT");
    out
}

fn json_response(status: u16, reason: &'static str, v: &serde_json::Value) -> Response {
    let body = serde_json::to_vec_pretty(v).unwrap_or_else(|_| b"null".to_vec());
    Response::new(status, reason, JSON, body)
}

fn error_json(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"error": {"kind": kind, "message": message}})
}

fn healthz(shared: &Shared) -> Result<Response> {
    with_db(shared, |c| {
        c.query_row("SELECT count(*) FROM tasks", [], |r| r.get::<_, i64>(0))
            .map_err(|e| store_err(shared, "health check", e))?;
        Ok(Response::new(200, "OK", TEXT, b"ok\n".to_vec()))
    })
}

fn api_history(req: &Request, shared: &Shared) -> Result<Response> {
    let bad = |field: &str, value: &str, rule: &str| {
        let msg = format!("invalid {field} {value:?}: {rule}");
        Ok(json_response(400, "Bad Request", &error_json("invalid", &msg)))
    };
    let task = req.param("task").filter(|t| !t.is_empty());
    if let Some(t) = task
        && let Err(e) = crate::task::validate_name(t)
    {
        return Ok(json_response(400, "Bad Request", &error_json("invalid", &e.to_string())));
    }
    let limit = match req.param("limit").filter(|l| !l.is_empty()) {
        None => 50,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=MAX_API_LIMIT).contains(&n) => n,
            _ => return bad("limit", l, "must be a whole number from 1 to 10000"),
        },
    };
    with_db(shared, |c| {
        if let Some(t) = task
            && data::task(c, t).map_err(|e| store_err(shared, "read task", e))?.is_none()
            && data::runs(c, Some(t), 1).map_err(|e| store_err(shared, "read runs", e))?.is_empty()
        {
            let msg = format!("no such task: {t:?}");
            return Ok(json_response(404, "Not Found", &error_json("not_found", &msg)));
        }
        let runs = data::runs(c, task, limit).map_err(|e| store_err(shared, "read runs", e))?;
        let v: Vec<serde_json::Value> = runs.iter().map(|r| r.to_json(false)).collect();
        Ok(json_response(200, "OK", &serde_json::Value::Array(v)))
    })
}

// ---- pages ----

fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../../templates/dashboard/base.html")),
        ("overview.html", include_str!("../../templates/dashboard/overview.html")),
        ("task.html", include_str!("../../templates/dashboard/task.html")),
        ("run.html", include_str!("../../templates/dashboard/run.html")),
        ("runs_table.html", include_str!("../../templates/dashboard/runs_table.html")),
        ("not_found.html", include_str!("../../templates/dashboard/not_found.html")),
    ] {
        // The templates are part of the binary and covered by tests; a syntax error is a bug.
        if let Err(e) = env.add_template(name, text) {
            tracing::error!(template = name, error = %e, "dashboard template does not compile");
        }
    }
    env
}

fn page(
    shared: &Shared,
    status: u16,
    reason: &'static str,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Response> {
    let base = context! {
        host => &shared.host,
        generated => clock::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        version => env!("CARGO_PKG_VERSION"),
        db => shared.db.display().to_string(),
    };
    let tmpl = shared
        .templates
        .get_template(name)
        .map_err(|e| Error::Failed(format!("dashboard template {name}: {e}")))?;
    let html = tmpl
        .render(context! { ..base, ..ctx })
        .map_err(|e| Error::Failed(format!("dashboard template {name}: {e:#}")))?;
    Ok(Response::new(status, reason, HTML, html.into_bytes()))
}

/// Serializable view data → a template value (through JSON; the structs are small).
fn to_value<T: Serialize>(data: &T) -> minijinja::Value {
    fn conv(v: serde_json::Value) -> minijinja::Value {
        use serde_json::Value as J;
        match v {
            J::Null => minijinja::Value::from(()),
            J::Bool(b) => minijinja::Value::from(b),
            J::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => minijinja::Value::from(i),
                (None, Some(f)) => minijinja::Value::from(f),
                _ => minijinja::Value::from(n.to_string()),
            },
            J::String(s) => minijinja::Value::from(s),
            J::Array(a) => minijinja::Value::from(a.into_iter().map(conv).collect::<Vec<_>>()),
            J::Object(o) => minijinja::Value::from(
                o.into_iter()
                    .map(|(k, v)| (k, conv(v)))
                    .collect::<std::collections::BTreeMap<String, minijinja::Value>>(),
            ),
        }
    }
    conv(serde_json::to_value(data).unwrap_or_default())
}

fn not_found(shared: &Shared, message: &str) -> Result<Response> {
    page(shared, 404, "Not Found", "not_found.html", context! { message })
}

fn local(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// "3 min ago", "in 2 h 5 min".
fn relative(secs: i64) -> String {
    let a = secs.unsigned_abs();
    let text = if a < 60 {
        format!("{a} s")
    } else if a < 3600 {
        format!("{} min", a / 60)
    } else if a < 86_400 {
        let m = (a % 3600) / 60;
        if m == 0 { format!("{} h", a / 3600) } else { format!("{} h {m} min", a / 3600) }
    } else {
        let h = (a % 86_400) / 3600;
        if h == 0 { format!("{} d", a / 86_400) } else { format!("{} d {h} h", a / 86_400) }
    };
    if secs >= 0 { format!("in {text}") } else { format!("{text} ago") }
}

fn duration_text(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| render::millis(ms.max(0) as u64))
}

#[derive(Serialize)]
struct OverviewRow {
    name: String,
    enabled: bool,
    description: Option<String>,
    schedule: String,
    schedule_text: String,
    next: Option<String>,
    next_in: Option<String>,
    next_note: Option<&'static str>,
    last_id: Option<i64>,
    last_status: Option<String>,
    last_exit: Option<String>,
    last_start: Option<String>,
    last_ago: Option<String>,
    last_duration: Option<String>,
    rate: Option<u32>,
    rate_class: &'static str,
    rate_color: &'static str,
    runs_7d: i64,
    success_7d: i64,
    running: Vec<i64>,
    row_class: &'static str,
}

fn overview(shared: &Shared) -> Result<Response> {
    let now = clock::now_utc();
    let (tasks, stats) = with_db(shared, |c| {
        let t = data::tasks(c).map_err(|e| store_err(shared, "read tasks", e))?;
        let s = data::stats(c, now).map_err(|e| store_err(shared, "read runs", e))?;
        Ok((t, s))
    })?;
    let mut rows = Vec::new();
    let (mut failing, mut running_total, mut enabled, mut runs_7d, mut ok_7d) = (0, 0, 0, 0, 0);
    for t in tasks {
        let s = stats.get(&t.name.to_ascii_lowercase()).cloned().unwrap_or_default();
        let spec = t.spec.as_ref().ok();
        let schedule = spec.map(|s| s.schedule.clone()).unwrap_or_default();
        let schedule_text = match CronExpr::parse(&schedule) {
            Ok(e) => e.describe(),
            Err(e) => format!("invalid schedule: {e}"),
        };
        let (next, next_note) = data::next_run(t.enabled, &schedule);
        let rate = s.success_rate().map(|r| r.round() as u32);
        let (rate_class, rate_color) = match rate {
            Some(r) if r >= 95 => ("good", "#16a34a"),
            Some(r) if r >= 75 => ("mid", "#d97706"),
            Some(_) => ("bad", "#dc2626"),
            None => ("none", "#9ca3af"),
        };
        let last_status = s.last.as_ref().map(|l| l.status.as_str().to_string());
        let row_class = if !t.enabled {
            "off"
        } else if !s.running.is_empty() {
            "run"
        } else {
            match last_status.as_deref() {
                Some("FAILED") | Some("ABANDONED") => "bad",
                Some("TIMEOUT") => "warn",
                Some("SUCCESS") => "ok",
                _ => "none",
            }
        };
        if matches!(last_status.as_deref(), Some("FAILED" | "TIMEOUT" | "ABANDONED")) {
            failing += 1;
        }
        if t.enabled {
            enabled += 1;
        }
        running_total += s.running.len();
        runs_7d += s.finished_7d;
        ok_7d += s.success_7d;
        rows.push(OverviewRow {
            name: t.name.clone(),
            enabled: t.enabled,
            description: spec.and_then(|s| s.description.clone()),
            schedule,
            schedule_text,
            next: next.map(|n| n.format("%Y-%m-%d %H:%M").to_string()),
            next_in: next.map(|n| relative((n.with_timezone(&chrono::Utc) - now).num_seconds())),
            next_note,
            last_id: s.last.as_ref().map(|l| l.id),
            last_status,
            last_exit: s.last.as_ref().and_then(|l| l.exit_code).map(runs::exit_code_text),
            last_start: s.last.as_ref().map(|l| local(l.start)),
            last_ago: s.last.as_ref().map(|l| relative((l.start - now).num_seconds())),
            last_duration: s.last.as_ref().and_then(|l| duration_text(l.duration_ms)),
            rate,
            rate_class,
            rate_color,
            runs_7d: s.finished_7d,
            success_7d: s.success_7d,
            running: s.running.iter().map(|r| r.id).collect(),
            row_class,
        });
    }
    let summary = context! {
        total => rows.len(),
        enabled,
        failing,
        running => running_total,
        rate => if runs_7d > 0 {
            format!("{}%", ((ok_7d as f64) * 100.0 / runs_7d as f64).round() as u32)
        } else {
            "—".to_string()
        },
    };
    page(shared, 200, "OK", "overview.html", context! { tasks => to_value(&rows), summary })
}

#[derive(Serialize)]
struct RunRow {
    id: i64,
    task: String,
    status: String,
    start: String,
    duration: Option<String>,
    exit: Option<String>,
    attempt: i64,
    trigger: String,
    error: Option<String>,
}

fn run_row(r: &RunRecord) -> RunRow {
    RunRow {
        id: r.id,
        task: r.task.clone(),
        status: r.status.as_str().to_string(),
        start: local(r.start),
        duration: duration_text(r.duration_ms),
        exit: r.exit_code.map(runs::exit_code_text),
        attempt: i64::from(r.attempt),
        trigger: r.trigger.as_str().to_string(),
        error: r.error.clone(),
    }
}

/// (label, value, monospace)
type Field = (&'static str, String, bool);

fn task_fields(spec: &crate::task::TaskSpec) -> Vec<Field> {
    let join = |v: &[String]| if v.is_empty() { "—".to_string() } else { v.join("\n") };
    let schedule = match CronExpr::parse(&spec.schedule) {
        Ok(e) => format!("{}  ({})", spec.schedule, e.describe()),
        Err(e) => format!("{}  (invalid: {e})", spec.schedule),
    };
    let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // Names only: the variable and the vault entry it comes from, never a value.
    let secrets: Vec<String> =
        spec.secret_env.iter().map(|(k, c)| format!("{k} ← credential {c}")).collect();
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "—".to_string());
    let enum_text = |v: serde_json::Value| v.as_str().unwrap_or("").to_string();
    let json = |v| serde_json::to_value(v).unwrap_or_default();
    vec![
        ("Command", spec.command.clone(), true),
        ("Shell", enum_text(json(spec.shell)), false),
        ("Schedule", schedule, false),
        ("Working directory", opt(&spec.workdir), true),
        ("Timeout", spec.timeout.map(render::secs).unwrap_or_else(|| "none".into()), false),
        (
            "Retries",
            format!(
                "{} (delay {}, {} backoff)",
                spec.retries,
                render::secs(spec.retry_delay),
                enum_text(json_backoff(spec.backoff))
            ),
            false,
        ),
        ("Environment", join(&env), true),
        ("Secret environment", join(&secrets), true),
        ("Depends on", join(&spec.depends_on), true),
        (
            "On unmet dependency",
            enum_text(serde_json::to_value(spec.on_unmet).unwrap_or_default()),
            false,
        ),
        ("Notify", enum_text(serde_json::to_value(spec.notify).unwrap_or_default()), false),
        ("Email", join(&spec.email), false),
        ("Overlap", enum_text(serde_json::to_value(spec.overlap).unwrap_or_default()), false),
        ("Catch-up", enum_text(serde_json::to_value(spec.catch_up).unwrap_or_default()), false),
        ("Run as", spec.run_as.clone().unwrap_or_else(|| "registering user".into()), false),
        ("Owner", opt(&spec.owner), false),
        ("Description", opt(&spec.description), false),
    ]
}

fn json_backoff(b: crate::task::Backoff) -> serde_json::Value {
    serde_json::to_value(b).unwrap_or_default()
}

fn task_page(shared: &Shared, name: &str) -> Result<Response> {
    if crate::task::validate_name(name).is_err() {
        return not_found(shared, &format!("{name:?} is not a valid task name."));
    }
    let found = with_db(shared, |c| {
        let Some(t) = data::task(c, name).map_err(|e| store_err(shared, "read task", e))? else {
            return Ok(None);
        };
        let runs = data::runs(c, Some(&t.name), TASK_RUNS)
            .map_err(|e| store_err(shared, "read runs", e))?;
        Ok(Some((t, runs)))
    })?;
    let Some((t, runs)) = found else {
        return not_found(shared, &format!("There is no task named {name:?}."));
    };
    let (fields, spec_error) = match &t.spec {
        Ok(spec) => {
            let mut fields = task_fields(spec);
            let next = match data::next_run(t.enabled, &spec.schedule) {
                (Some(n), _) => format!(
                    "{}  ({})",
                    n.format("%Y-%m-%d %H:%M"),
                    relative((n.with_timezone(&chrono::Utc) - clock::now_utc()).num_seconds())
                ),
                (None, Some(note)) => note.to_string(),
                (None, None) => "—".to_string(),
            };
            fields.insert(3, ("Next run", next, false));
            (fields, None)
        }
        Err(e) => (Vec::new(), Some(e.clone())),
    };
    let runs: Vec<RunRow> = runs.iter().map(run_row).collect();
    let task = context! { name => t.name, enabled => t.enabled, fields, spec_error };
    page(
        shared,
        200,
        "OK",
        "task.html",
        context! { task, runs => to_value(&runs), show_task => false },
    )
}

fn run_page(shared: &Shared, id: &str) -> Result<Response> {
    let id: i64 = match id.parse() {
        Ok(n) if n > 0 && id.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return not_found(shared, &format!("{id:?} is not a run number.")),
    };
    let Some(r) =
        with_db(shared, |c| runs::get(c, id).map_err(|e| store_err(shared, "read run", e)))?
    else {
        return not_found(shared, &format!("There is no run #{id}."));
    };
    let opt = |o: Option<String>| o.unwrap_or_else(|| "—".to_string());
    let mut fields: Vec<Field> = vec![
        ("Status", r.status.as_str().to_string(), false),
        ("Started", local(r.start), false),
        ("Ended", opt(r.end.map(local)), false),
        (
            "Duration",
            if r.status == Status::Running {
                let secs = (clock::now_utc() - r.start).num_seconds();
                format!("running for {}", relative(-secs).trim_end_matches(" ago"))
            } else {
                opt(duration_text(r.duration_ms))
            },
            false,
        ),
        ("Exit code", opt(r.exit_code.map(runs::exit_code_text)), true),
        ("Error", opt(r.error.clone()), false),
        ("Attempt", r.attempt.to_string(), false),
        ("Trigger", r.trigger.as_str().to_string(), false),
        ("Slot", opt(r.slot.clone()), false),
        ("Host", r.host.clone(), false),
        ("orc version", r.orc_version.clone(), false),
    ];
    if r.killed_by_timeout {
        fields.push(("Killed", "the process tree was killed at the timeout".into(), false));
    }
    if let Some(p) = r.pid {
        fields.push(("orc process id", p.to_string(), false));
    }
    let run = context! {
        id => r.id,
        task => r.task.clone(),
        status => r.status.as_str(),
        fields,
        stdout => r.stdout.full_text(),
        stderr => r.stderr.full_text(),
        stdout_bytes => r.stdout.bytes,
        stderr_bytes => r.stderr.bytes,
        stdout_truncated => r.stdout.truncated(),
        stderr_truncated => r.stderr.truncated(),
        output_file => r.output_file.clone(),
    };
    page(shared, 200, "OK", "run.html", context! { run })
}

fn hostname() -> String {
    for var in ["COMPUTERNAME", "HOSTNAME"] {
        if let Ok(h) = std::env::var(var)
            && !h.trim().is_empty()
        {
            return h.trim().to_string();
        }
    }
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this computer".to_string())
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

    #[test]
    fn templates_compile() {
        let env = templates();
        for name in ["overview.html", "task.html", "run.html", "not_found.html", "runs_table.html"]
        {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative(30), "in 30 s");
        assert_eq!(relative(-125), "2 min ago");
        assert_eq!(relative(3600 * 2 + 300), "in 2 h 5 min");
        assert_eq!(relative(-86_400 * 3), "3 d ago");
    }
}

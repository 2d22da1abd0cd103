//! The HTML pages: the minijinja templates (autoescaped, embedded in the binary) and the
//! overview, task and run pages built from [`super::data`]. Each page function is plain,
//! blocking code over the store; the router runs it on the blocking pool.

use axum::http::StatusCode;
use minijinja::{Environment, context};
use serde::Serialize;

use super::{HTML, Reply, Shared, TASK_RUNS, data, store_err, with_db};
use crate::clock;
use crate::cron::CronExpr;
use crate::error::{Error, Result};
use crate::exec::runs::{self, RunRecord, Status};
use crate::render;
use crate::task::next_run::NextRun;

pub(super) fn templates() -> Environment<'static> {
    let mut env = Environment::new();
    for (name, text) in [
        ("base.html", include_str!("../../templates/dashboard/base.html")),
        ("overview.html", include_str!("../../templates/dashboard/overview.html")),
        ("task.html", include_str!("../../templates/dashboard/task.html")),
        ("run.html", include_str!("../../templates/dashboard/run.html")),
        ("runs_table.html", include_str!("../../templates/dashboard/runs_table.html")),
        ("not_found.html", include_str!("../../templates/dashboard/not_found.html")),
        ("login.html", include_str!("../../templates/dashboard/login.html")),
        ("confirm.html", include_str!("../../templates/dashboard/confirm.html")),
    ] {
        // The templates are part of the binary and covered by tests; a syntax error is a bug.
        if let Err(e) = env.add_template(name, text) {
            tracing::error!(template = name, error = %e, "dashboard template does not compile");
        }
    }
    env
}

/// The embedded style sheet, served at `/static/orc.css`.
pub const STYLE: &str = include_str!("../../templates/dashboard/orc.css");

/// Who looks at a page: signed in or not, the CSRF token for its forms, the theme.
#[derive(Debug, Clone, Serialize)]
pub struct Viewer {
    /// The token name when signed in.
    pub user: Option<String>,
    pub read_only: bool,
    pub csrf: String,
    /// `light` or `dark`.
    pub theme: &'static str,
    pub other_theme: &'static str,
    /// This page's path and query (where the theme switch and sign-in come back to).
    pub path: String,
    /// The same, percent-encoded for a query string.
    pub path_encoded: String,
}

impl Viewer {
    pub fn new(caller: &super::gate::Caller, theme_cookie: Option<&str>, path: String) -> Viewer {
        let dark = theme_cookie == Some("dark");
        Viewer {
            user: caller
                .principal
                .as_ref()
                .filter(|_| caller.session.is_some())
                .map(|p| p.name.clone()),
            read_only: caller.principal.as_ref().is_some_and(|p| p.read_only),
            csrf: caller.csrf().to_string(),
            theme: if dark { "dark" } else { "light" },
            other_theme: if dark { "light" } else { "dark" },
            path_encoded: percent_encoding::utf8_percent_encode(
                &path,
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string(),
            path,
        }
    }
}

/// A 303 redirect to a local path.
pub fn redirect(to: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut resp = Reply::text(StatusCode::SEE_OTHER, to).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(to) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

/// A safe place to go back to: a local absolute path, never `//host` or a URL.
pub fn local_target(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

pub(super) fn page(
    shared: &Shared,
    viewer: &Viewer,
    status: StatusCode,
    name: &str,
    ctx: minijinja::Value,
) -> Result<Reply> {
    let base = context! {
        viewer => to_value(viewer),
        host => &shared.host,
        generated => clock::now().format("%Y-%m-%d %H:%M:%S").to_string(),
        version => env!("CARGO_PKG_VERSION"),
        db => shared.db.path().display().to_string(),
    };
    let tmpl = shared
        .templates
        .get_template(name)
        .map_err(|e| Error::Failed(format!("dashboard template {name}: {e}")))?;
    let html = tmpl
        .render(context! { ..base, ..ctx })
        .map_err(|e| Error::Failed(format!("dashboard template {name}: {e:#}")))?;
    Ok(Reply::new(status, HTML, html.into_bytes()))
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

pub(super) fn not_found(shared: &Shared, viewer: &Viewer, message: &str) -> Result<Reply> {
    page(shared, viewer, StatusCode::NOT_FOUND, "not_found.html", context! { message })
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
    owner: Option<String>,
    runs_7d: i64,
    success_7d: i64,
    running: Vec<i64>,
    row_class: &'static str,
}

/// The states the overview can be filtered by.
pub const STATES: &[&str] = &["all", "failing", "running", "ok", "disabled", "never-run"];

/// The overview's filters (query string `?state=&owner=`).
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
pub struct OverviewFilter {
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
}

/// Whether a row passes the state filter.
fn state_matches(state: &str, row: &OverviewRow) -> bool {
    match state {
        "failing" => matches!(row.last_status.as_deref(), Some("FAILED" | "TIMEOUT" | "ABANDONED")),
        "running" => !row.running.is_empty(),
        "ok" => row.last_status.as_deref() == Some("SUCCESS"),
        "disabled" => !row.enabled,
        "never-run" => row.last_status.is_none(),
        _ => true,
    }
}

pub(super) fn overview(shared: &Shared, viewer: &Viewer, filter: &OverviewFilter) -> Result<Reply> {
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
        let next_run = NextRun::of(t.enabled, &schedule, &clock::now());
        let (next, next_note) = (next_run.at(), next_run.note());
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
            last_exit: s.last.as_ref().and_then(|l| l.process.exit_code).map(runs::exit_code_text),
            last_start: s.last.as_ref().map(|l| local(l.start)),
            last_ago: s.last.as_ref().map(|l| relative((l.start - now).num_seconds())),
            last_duration: s.last.as_ref().and_then(|l| duration_text(l.duration_ms)),
            rate,
            rate_class,
            rate_color,
            owner: spec.and_then(|s| s.owner.clone()),
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
    let mut owners: Vec<String> = rows.iter().filter_map(|r| r.owner.clone()).collect();
    owners.sort_by_key(|o| o.to_lowercase());
    owners.dedup();
    let state = filter
        .state
        .clone()
        .filter(|s| STATES.contains(&s.as_str()))
        .unwrap_or_else(|| "all".into());
    let owner = filter.owner.clone().filter(|o| !o.is_empty());
    rows.retain(|r| {
        state_matches(&state, r)
            && owner
                .as_ref()
                .is_none_or(|o| r.owner.as_ref().is_some_and(|ro| ro.eq_ignore_ascii_case(o)))
    });
    let filter = context! { state, owner };
    page(
        shared,
        viewer,
        StatusCode::OK,
        "overview.html",
        context! { tasks => to_value(&rows), summary, filter, owners, states => STATES.to_vec() },
    )
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
        exit: r.process.exit_code.map(runs::exit_code_text),
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

#[derive(Serialize)]
struct Bar {
    id: i64,
    x: i64,
    y: i64,
    w: i64,
    h: i64,
    color: &'static str,
    status: String,
    label: String,
}

/// The duration chart of a task page: one bar per finished run, oldest left, as inline SVG
/// data (the template draws it; no script, no image request).
fn duration_chart(runs: &[RunRecord]) -> Option<minijinja::Value> {
    const W: i64 = 720;
    const H: i64 = 140;
    const LEFT: i64 = 48;
    let done: Vec<&RunRecord> = runs
        .iter()
        .rev()
        .filter(|r| r.duration_ms.is_some() && r.status != Status::Running)
        .collect();
    if done.is_empty() {
        return None;
    }
    let max = done.iter().filter_map(|r| r.duration_ms).max().unwrap_or(1).max(1);
    let slot = ((W - LEFT - 8) / done.len() as i64).clamp(2, 24);
    let bars: Vec<Bar> = done
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let ms = r.duration_ms.unwrap_or(0).max(0);
            let h = ((ms * (H - 24)) / max).max(1);
            Bar {
                id: r.id,
                x: LEFT + i as i64 * slot,
                y: H - 6 - h,
                w: (slot - 2).max(1),
                h,
                color: match r.status {
                    Status::Success => "ok",
                    Status::Timeout => "warn",
                    Status::Skipped => "skip",
                    _ => "bad",
                },
                status: r.status.as_str().to_string(),
                label: render::millis(ms as u64),
            }
        })
        .collect();
    Some(context! {
        width => W, height => H, count => bars.len(), bars => to_value(&bars),
        max_label => render::millis(max as u64),
    })
}

/// Runs whose output tail the task page shows.
const TAILS: usize = 3;
/// Bytes of each tail.
const TAIL_BYTES: usize = 2048;

pub(super) fn task_page(
    shared: &Shared,
    viewer: &Viewer,
    name: &str,
    notice: Option<String>,
) -> Result<Reply> {
    if crate::task::validate_name(name).is_err() {
        return not_found(shared, viewer, &format!("{name:?} is not a valid task name."));
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
        return not_found(shared, viewer, &format!("There is no task named {name:?}."));
    };
    let chart = duration_chart(&runs);
    let active = runs.iter().any(|r| r.status == Status::Running);
    let tails: Vec<minijinja::Value> = runs
        .iter()
        .filter(|r| r.process.stdout.bytes + r.process.stderr.bytes > 0)
        .take(TAILS)
        .map(|r| {
            let mut tail = r.process.stdout.tail_text(TAIL_BYTES);
            let err = r.process.stderr.tail_text(TAIL_BYTES);
            if !err.is_empty() {
                if !tail.is_empty() && !tail.ends_with('\n') {
                    tail.push('\n');
                }
                tail.push_str(&err);
            }
            context! { id => r.id, status => r.status.as_str(), start => local(r.start), tail }
        })
        .collect();
    let (fields, spec_error) = match &t.spec {
        Ok(spec) => {
            let mut fields = task_fields(spec);
            let next_run = NextRun::of(t.enabled, &spec.schedule, &clock::now());
            let next = match (next_run.at(), next_run.note()) {
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
        viewer,
        StatusCode::OK,
        "task.html",
        context! { task, runs => to_value(&runs), show_task => false, chart, active, tails, notice },
    )
}

pub(super) fn run_page(shared: &Shared, viewer: &Viewer, id: &str) -> Result<Reply> {
    let id: i64 = match id.parse() {
        Ok(n) if n > 0 && id.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => return not_found(shared, viewer, &format!("{id:?} is not a run number.")),
    };
    let Some(r) =
        with_db(shared, |c| runs::get(c, id).map_err(|e| store_err(shared, "read run", e)))?
    else {
        return not_found(shared, viewer, &format!("There is no run #{id}."));
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
        ("Exit code", opt(r.process.exit_code.map(runs::exit_code_text)), true),
        ("Error", opt(r.error.clone()), false),
        ("Attempt", r.attempt.to_string(), false),
        ("Trigger", r.trigger.as_str().to_string(), false),
        ("Slot", opt(r.slot.clone()), false),
        ("Host", r.host.clone(), false),
        ("orc version", r.orc_version.clone(), false),
    ];
    if r.process.killed_by_timeout {
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
        stdout => r.process.stdout.full_text(),
        stderr => r.process.stderr.full_text(),
        stdout_bytes => r.process.stdout.bytes,
        stderr_bytes => r.process.stderr.bytes,
        stdout_truncated => r.process.stdout.truncated(),
        stderr_truncated => r.process.stderr.truncated(),
        output_file => r.process.output_file.clone(),
    };
    let log = runs::read_log(&r).ok().map(|(_, text)| text);
    page(shared, viewer, StatusCode::OK, "run.html", context! { run, log })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compile() {
        let env = templates();
        for name in [
            "overview.html",
            "task.html",
            "run.html",
            "not_found.html",
            "runs_table.html",
            "login.html",
            "confirm.html",
        ] {
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

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_target(Some("/task/a?x=1")), "/task/a?x=1");
        for bad in [
            None,
            Some("https://evil.example/"),
            Some("//evil.example"),
            Some("/\\evil"),
            Some("x"),
        ] {
            assert_eq!(local_target(bad), "/", "{bad:?}");
        }
    }
}

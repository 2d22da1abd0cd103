//! How `orc task show` and `orc task list` present a task: the JSON view (part of the
//! contract, `docs/reference/task-json.md`) and the human text. Pure: no store, no printing.

use crate::task::next_run::NextRun;
use crate::task::repo::StoredTask;
use serde::Serialize;

pub(super) use crate::task::view::view;
pub use crate::task::view::{LastRun, TaskView};

pub(super) fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn or_dash(s: Option<&str>) -> String {
    s.map(str::to_string).unwrap_or_else(|| "-".to_string())
}

/// The `show` listing as (label, value) lines; multi-line values are indented by the caller.
fn show_lines(t: &StoredTask, last: Option<&LastRun>) -> Vec<(&'static str, String)> {
    let s = &t.spec;
    let dur = crate::render::secs;
    let mut lines = vec![
        ("name", s.name.clone()),
        ("enabled", yes_no(s.enabled).to_string()),
        ("schedule", s.schedule.clone()),
        (
            "runs",
            crate::cron::CronExpr::parse(&s.schedule).map(|e| e.describe()).unwrap_or_default(),
        ),
        (
            "next run",
            match s.next_run(&crate::clock::now()) {
                NextRun::At(n) => n.format("%Y-%m-%d %H:%M:%S").to_string(),
                NextRun::Disabled => "- (disabled)".into(),
                NextRun::Never | NextRun::InvalidSchedule => "never".into(),
            },
        ),
        ("command", s.command.clone()),
        ("shell", lower(&s.shell)),
        ("workdir", s.workdir.clone().unwrap_or_else(|| "- (the orc home)".into())),
        ("timeout", s.timeout.map(dur).unwrap_or_else(|| "none".into())),
        ("retries", s.retries.to_string()),
        ("retry delay", format!("{} ({} backoff)", dur(s.retry_delay), lower(&s.backoff))),
        (
            "retry on",
            if s.retry_on.is_empty() {
                "any failure".into()
            } else {
                s.retry_on.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
            },
        ),
        (
            "env",
            if s.env.is_empty() {
                "-".into()
            } else {
                s.env.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
            },
        ),
        (
            "secret env",
            if s.secret_env.is_empty() {
                "-".into()
            } else {
                s.secret_env
                    .iter()
                    .map(|(k, c)| format!("{k} ← credential {c}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            },
        ),
        ("env override", yes_no(s.allow_env_override).to_string()),
        ("depends on", if s.depends_on.is_empty() { "-".into() } else { s.depends_on.join("\n") }),
        ("on unmet", lower(&s.on_unmet)),
        (
            "notify",
            format!(
                "{} (after {} consecutive failure{})",
                lower(&s.notify),
                s.notify_after,
                if s.notify_after == 1 { "" } else { "s" }
            ),
        ),
        (
            "email",
            if s.email.is_empty() { "- (the mail.to setting)".into() } else { s.email.join(", ") },
        ),
        (
            "channels",
            if s.notify_channels.is_empty() {
                "- (the notify.channels setting)".into()
            } else {
                s.notify_channels.join(", ")
            },
        ),
        ("owner", or_dash(s.owner.as_deref())),
        ("description", or_dash(s.description.as_deref())),
        ("overlap", lower(&s.overlap)),
        ("catch-up", lower(&s.catch_up)),
        (
            "run as",
            s.run_as
                .clone()
                .unwrap_or_else(|| "- (run_as.default, else the registering user)".into()),
        ),
        (
            "logon",
            s.logon.map_or_else(|| "- (the account's default)".into(), |l| l.as_str().to_string()),
        ),
        ("wake to run", yes_no(s.wake_to_run).to_string()),
        ("at boot", yes_no(s.at_boot).to_string()),
        ("breakaway", yes_no(s.allow_breakaway).to_string()),
        ("created", crate::clock::to_local_human(t.created_at)),
        ("updated", crate::clock::to_local_human(t.updated_at)),
    ];
    if let Some(hosts) = hosts_label(s) {
        // Fleet assignment: shown only for assigned tasks (a single machine sees no change).
        let at = lines.iter().position(|(k, _)| *k == "catch-up").map_or(lines.len(), |i| i + 1);
        lines.insert(at, ("run on", lower(&s.run_on)));
        lines.insert(at, ("hosts", hosts));
    }
    lines.push((
        "last run",
        last.map(|l| format!("{} at {}", l.status, l.start)).unwrap_or_else(|| "never".into()),
    ));
    lines
}

/// A task's hosts as shown (`h1, @web`), `None` when it runs on every host.
pub(super) fn hosts_label(s: &crate::task::TaskSpec) -> Option<String> {
    (!s.hosts.is_empty()).then(|| s.hosts.join(", "))
}

/// The lower-case name of a task enum, from its serde form.
fn lower<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The `show` text: one `label: value` line per field, labels padded to one column,
/// multi-line values indented under their first line.
pub(super) fn show_text(t: &StoredTask, last: Option<&LastRun>) -> String {
    let lines = show_lines(t, last);
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
    let mut out = String::new();
    for (key, value) in lines {
        let label = format!("{key}:");
        let indent = " ".repeat(width);
        let value = value.replace("\r\n", "\n").replace('\n', &format!("\n{indent}"));
        out.push_str(&format!("{label:<width$}{value}\n"));
    }
    out
}

/// Longest command shown in `task list`.
pub(super) const LIST_COMMAND_WIDTH: usize = 48;

pub(super) fn truncate(s: &str, max: usize) -> String {
    let flat = s.replace(['\r', '\n', '\t'], " ");
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

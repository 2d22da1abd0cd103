//! `docs/reference/task-json.md`: the task object of `task show --json`, `task list --json`
//! and `task export`. Required fields and defaults come from serializing and deserializing
//! [`TaskSpec`]; the meanings are [`FIELDS`], and a test checks that they name exactly the
//! serialized fields.

use serde_json::{Map, Value};

use super::{cell, header};
use crate::task::TaskSpec;

/// `(field, JSON type, meaning)` for every field of [`TaskSpec`], in the struct's order.
pub(super) const FIELDS: &[(&str, &str, &str)] = &[
    (
        "name",
        "string",
        "task name, case-insensitive: `^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`, no trailing dot, no device name",
    ),
    ("command", "string", "the command line, run by `shell`"),
    ("shell", "string", "`cmd`, `powershell`, `pwsh`, `sh` or `none`"),
    ("schedule", "string", "the cron expression as typed"),
    ("enabled", "boolean", "disabled tasks are registered disabled and not run by `--scheduled`"),
    ("workdir", "string or null", "working directory; null = the orc home"),
    ("timeout", "integer or null", "seconds; null = no timeout"),
    ("retries", "integer", "retries after a failed attempt (0–20)"),
    ("retry_delay", "integer", "seconds before the first retry"),
    ("backoff", "string", "`fixed` or `exponential` (the delay doubles, capped at one hour)"),
    ("retry_on", "array of integers", "exit codes that are retried; empty = any failure"),
    ("env", "object", "environment variable → value"),
    (
        "allow_env_override",
        "boolean",
        "`env` may set `PATH`, `SystemRoot`, `ComSpec` and the other protected names",
    ),
    (
        "secret_env",
        "object",
        "environment variable → credential name in the vault (never the value)",
    ),
    (
        "depends_on",
        "array of strings",
        "dependency specs as typed (`file:`, `url:`, `tcp:`, `cmd:`, `task:`)",
    ),
    ("on_unmet", "string", "`skip` (exit 0) or `fail` (exit 7) when a dependency is not met"),
    (
        "notify",
        "string",
        "`default` (the `notify.default` setting), `failure`, `always`, `never` or `recovery`",
    ),
    ("notify_after", "integer", "alert after this many consecutive failed runs"),
    ("email", "array of strings", "recipients instead of `mail.to`"),
    (
        "notify_channels",
        "array of strings",
        "notification channels (`orc channel add`; `email` = the built-in mail) instead of \
         `notify.channels`",
    ),
    ("owner", "string or null", "who owns the task"),
    ("description", "string or null", "free text"),
    ("overlap", "string", "`skip`, `queue` or `parallel` while a run is in progress"),
    ("catch_up", "string", "`none` or `once` (one run for the latest missed slot)"),
    (
        "run_as",
        "string or null",
        "`SYSTEM`, `LOCAL SERVICE`, `NETWORK SERVICE`, a SID, a gMSA or an account; null = `run_as.default`",
    ),
    (
        "logon",
        "string or null",
        "`s4u`, `password` or `interactive`; null = the account's default (S4U for users)",
    ),
    (
        "allow_breakaway",
        "boolean",
        "children may leave orc's Job Object with CREATE_BREAKAWAY_FROM_JOB (survive the run's kill)",
    ),
    ("wake_to_run", "boolean", "Task Scheduler wakes the machine for the task"),
    (
        "hosts",
        "array of strings",
        "fleet: hosts (`h1`) and host groups (`@web`) the task runs on; empty = every host that \
         schedules it",
    ),
    (
        "run_on",
        "string",
        "fleet: `any` (each slot once, on the host that claims it first) or `all` (once per host)",
    ),
    (
        "at_boot",
        "boolean",
        "also started at boot (BootTrigger / `@reboot`) for the latest missed slot; needs `catch_up` `once`",
    ),
];

/// Defaults that differ by platform, shown instead of this build's value.
const PLATFORM_DEFAULTS: &[(&str, &str)] = &[("shell", "`cmd` on Windows, `sh` elsewhere")];

/// `(field, meaning)` for what `show --json` and `list --json` add to a task.
pub(super) const VIEW_FIELDS: &[(&str, &str)] = &[
    ("created_at", "when the task was added (ISO 8601 with offset)"),
    ("updated_at", "when it last changed (ISO 8601 with offset)"),
    ("last_run", "`{status, start}` of the latest run, or null"),
    ("next_run", "when the schedule fires next (ISO 8601), null when disabled"),
];

/// `(field, meaning)` of the export document.
pub(super) const EXPORT_FIELDS: &[(&str, &str)] = &[
    ("orc_export", "document version (import refuses versions it does not know)"),
    ("exported_at", "when it was written (ISO 8601 with offset)"),
    ("orc_version", "the orc that wrote it"),
    ("tasks", "task objects as above, without the `show`/`list` additions"),
];

pub(super) fn sample() -> TaskSpec {
    TaskSpec::new("example", "backup.cmd", "0 2 * * *")
}

pub(super) fn object(v: impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        other => unreachable!("a struct serializes to an object, got {other:?}"),
    }
}

/// "required", or the default import uses when the field is left out.
fn default_of(field: &str) -> String {
    if let Some((_, text)) = PLATFORM_DEFAULTS.iter().find(|(f, _)| *f == field) {
        return (*text).to_string();
    }
    let mut without = object(sample());
    without.remove(field);
    match serde_json::from_value::<TaskSpec>(Value::Object(without)) {
        Err(_) => "required".to_string(),
        Ok(spec) => format!("`{}`", object(spec)[field]),
    }
}

pub(super) fn render() -> String {
    let mut s = header("Task JSON", "`TaskSpec` (src/task) and src/docgen/task_json.rs");
    s.push_str(
        "The task object of `orc task show --json`, `orc task list --json` (an array of them), \
         `orc task export` and `orc task import`. Import refuses unknown fields; a field left \
         out takes the default shown. Durations are whole seconds.\n\n\
         | field | type | default | meaning |\n|---|---|---|---|\n",
    );
    for (key, ty, text) in FIELDS {
        s.push_str(&format!("| `{key}` | {ty} | {} | {} |\n", cell(&default_of(key)), cell(text)));
    }
    s.push_str(
        "\n## `show` and `list`\n\nThey add to each task:\n\n| field | meaning |\n|---|---|\n",
    );
    for (key, text) in VIEW_FIELDS {
        s.push_str(&format!("| `{key}` | {} |\n", cell(text)));
    }
    s.push_str(
        "\nThe human `show` also describes the schedule in plain English (`At 09:00, Monday \
         through Friday`). `add`, `edit`, `enable` and `disable` with `--json` print the \
         resulting task; `rm` prints `{\"removed\": NAME}`; `import` prints `{\"dry_run\", \
         \"plan\": [{\"name\", \"action\"}], \"created\", \"replaced\", \"unchanged\"}`.\n",
    );
    s.push_str("\n## Export document\n\n| field | meaning |\n|---|---|\n");
    for (key, text) in EXPORT_FIELDS {
        s.push_str(&format!("| `{key}` | {} |\n", cell(text)));
    }
    s.push_str(
        "\nDocuments may be UTF-8 (with or without BOM) or UTF-16 with a BOM; secrets travel by \
         credential name only.\n",
    );
    s
}

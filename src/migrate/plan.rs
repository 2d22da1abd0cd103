//! The migration plan: legacy rows → orc tasks, runs, settings and credentials. Pure: no I/O;
//! the caller supplies what orc already holds (for renames and idempotency).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::Value;

use super::legacy::{LegacyDb, LegacyResult, LegacyTask};
use crate::task::validate::{self, PathStyle};
use crate::task::{NotifyPolicy, Shell, TaskSpec, deps};

/// The schedule stored for a task whose legacy schedule has no exact cron equivalent. The task
/// is disabled, so it never fires; the description carries the original schedule.
pub const PLACEHOLDER_SCHEDULE: &str = "0 0 1 1 *";

/// Bytes of legacy output kept as the run's stdout head (and again as its tail when longer).
pub const OUTPUT_KEEP: usize = 64 * 1024;

/// What orc already holds, as far as planning needs it.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Names of orc's tasks.
    pub tasks: Vec<String>,
    /// Legacy task name → orc task name, from earlier imports (`legacy_map`).
    pub mapped: BTreeMap<String, String>,
    /// `runs.source` values already present (`legacy:<id>`).
    pub sources: HashSet<String>,
    /// orc's settings.
    pub config: BTreeMap<String, String>,
}

/// The platform the tasks are built for (commands and shells differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Windows,
    Unix,
}

impl Target {
    /// The platform this binary runs on.
    pub fn native() -> Target {
        if cfg!(windows) { Target::Windows } else { Target::Unix }
    }
}

/// The whole plan, as shown by `--dry-run` and carried out by the import.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub tasks: Vec<TaskPlan>,
    pub history: HistoryPlan,
    pub settings: Vec<SettingPlan>,
    pub secrets: Vec<SecretPlan>,
}

/// One legacy task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskPlan {
    pub legacy_name: String,
    pub name: String,
    /// `create`, `already_imported` or `skip` (orc cannot hold it; see `problems`).
    pub action: &'static str,
    pub renamed: bool,
    pub enabled: bool,
    /// Why the task comes over disabled (empty when enabled or disabled in the legacy tool).
    pub disabled_reasons: Vec<String>,
    /// Everything that did not come over exactly, in words.
    pub notes: Vec<String>,
    pub command: String,
    pub shell: Shell,
    pub schedule: String,
    #[serde(skip)]
    pub spec: Option<TaskSpec>,
}

/// The history import.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryPlan {
    pub total: usize,
    pub to_import: usize,
    pub already_imported: usize,
    pub skipped: Vec<String>,
    #[serde(skip)]
    pub rows: Vec<RunRow>,
}

/// One run to insert.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub source: String,
    pub task: String,
    pub status: &'static str,
    pub attempt: i64,
    pub start: String,
    pub end: Option<String>,
    pub duration_ms: Option<i64>,
    pub exit_code: Option<i64>,
    pub error: Option<String>,
    pub stdout_head: Option<Vec<u8>>,
    pub stdout_tail: Option<Vec<u8>>,
    pub stdout_bytes: i64,
}

/// One setting.
#[derive(Debug, Clone, Serialize)]
pub struct SettingPlan {
    pub legacy_key: String,
    pub key: Option<String>,
    pub value: Option<String>,
    /// `set`, `unchanged`, `kept` (orc already has another value), `refused` (the value
    /// breaks the setting's rule, as `config set` would say) or `skip`.
    pub action: &'static str,
    pub note: Option<String>,
}

/// One secret.
#[derive(Debug, Clone, Serialize)]
pub struct SecretPlan {
    /// `config.smtp_password` or `credentials.<name>`.
    pub legacy: String,
    /// The vault credential it becomes.
    pub credential: String,
    /// `store`, `not_migrated`.
    pub action: &'static str,
    pub note: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Names

/// The orc name for a legacy name: characters outside `[A-Za-z0-9._-]` become `_`, leading
/// non-alphanumerics and trailing dots go, at most 64 characters, device names get `_task`.
pub fn orc_name(legacy: &str) -> String {
    let mapped: String = legacy
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    let mut s = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    s.truncate(64);
    let mut s = s.trim_end_matches('.').to_string();
    if s.is_empty() {
        s = "task".into();
    }
    if validate::validate_name(&s).is_err() {
        s.truncate(59);
        s.push_str("_task");
    }
    s
}

fn unique(base: &str, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = base.to_string();
    let mut n = 2;
    while taken.contains(&candidate.to_ascii_lowercase()) {
        let suffix = format!("-{n}");
        let mut stem = base.to_string();
        stem.truncate(64 - suffix.len());
        candidate = format!("{}{suffix}", stem.trim_end_matches('.'));
        n += 1;
    }
    taken.insert(candidate.to_ascii_lowercase());
    candidate
}

/// Legacy task name → orc name: earlier imports keep their names, valid unused names stay,
/// the rest get [`orc_name`] and `-2`, `-3`… on collision (case-insensitive).
pub fn assign_names(tasks: &[LegacyTask], existing: &Existing) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mapped_targets: BTreeSet<String> =
        existing.mapped.values().map(|n| n.to_ascii_lowercase()).collect();
    let mut taken: BTreeSet<String> =
        existing.tasks.iter().map(|n| n.to_ascii_lowercase()).collect();
    taken.extend(mapped_targets);
    for t in tasks {
        if let Some(n) = existing.mapped.get(&t.name) {
            out.insert(t.name.clone(), n.clone());
        }
    }
    // Valid names first, so that a renamed name never pushes a valid one to `-2`.
    for pass in [true, false] {
        for t in tasks {
            if out.contains_key(&t.name) || validate::validate_name(&t.name).is_ok() != pass {
                continue;
            }
            let name = unique(&orc_name(&t.name), &mut taken);
            out.insert(t.name.clone(), name);
        }
    }
    out
}

/// The command line and shell for a legacy task's type, program and arguments.
pub fn command_line(
    kind: &str,
    program: &str,
    args: &[String],
    target: Target,
) -> Result<(String, Shell), String> {
    let (shell, quote): (Shell, fn(&str) -> String) = match target {
        Target::Windows => (Shell::Cmd, crate::quote::cmd_arg),
        Target::Unix => (Shell::Sh, crate::quote::sh_arg),
    };
    let lower = program.to_ascii_lowercase();
    let mut parts: Vec<String> = match kind {
        "python" => {
            let py = if target == Target::Windows { "python.exe" } else { "python3" };
            let script = match target {
                // Always quoted on Windows, as the legacy tool's users expect to see it.
                Target::Windows => format!("\"{}\"", program.replace('"', "\\\"")),
                Target::Unix => quote(program),
            };
            vec![py.to_string(), script]
        }
        "script" if lower.ends_with(".ps1") => {
            let ps = if target == Target::Windows { "powershell.exe" } else { "pwsh" };
            vec![
                ps.into(),
                "-NoProfile".into(),
                "-ExecutionPolicy".into(),
                "Bypass".into(),
                "-File".into(),
                quote(program),
            ]
        }
        "script" if lower.ends_with(".py") => {
            return command_line("python", program, args, target);
        }
        "command" | "script" => vec![quote(program)],
        other => return Err(format!("unknown legacy task type {other:?}")),
    };
    parts.extend(args.iter().map(|a| quote(a)));
    Ok((parts.join(" "), shell))
}

fn json_args(text: Option<&str>) -> Result<Vec<String>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty() && *t != "null") else {
        return Ok(Vec::new());
    };
    let value: Value = serde_json::from_str(text).map_err(|e| format!("arguments: {e}"))?;
    let Value::Array(items) = value else {
        return Err(format!("arguments {text:?} are not a JSON list"));
    };
    items
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!("argument {other} is not a string")),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tasks

/// Plans one legacy task (its name already assigned).
pub fn plan_task(
    t: &LegacyTask,
    name: &str,
    names: &BTreeMap<String, String>,
    target: Target,
) -> TaskPlan {
    let mut disabled: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let renamed = name != t.name;
    if renamed {
        notes.push(format!("renamed from {:?}, which is not a valid orc task name", t.name));
    }
    let args = json_args(t.arguments.as_deref()).unwrap_or_else(|e| {
        disabled.push(format!("the legacy arguments cannot be read ({e}); they were left out"));
        Vec::new()
    });
    let (command, shell) = match command_line(&t.kind, &t.command, &args, target) {
        Ok(c) => c,
        Err(e) => {
            disabled.push(format!("{e}; the command was taken as is"));
            (t.command.clone(), Shell::default())
        }
    };
    if target == Target::Windows && command.contains('%') {
        notes.push("cmd.exe expands %NAME% in the command; check the arguments".into());
    }
    let mut spec = TaskSpec::new(name, &command, PLACEHOLDER_SCHEDULE);
    spec.shell = shell;

    // Schedule.
    let mut legacy_schedule_note = None;
    let schedule = match t.schedule_type.as_str() {
        "cron" => validate::check_schedule(t.schedule.trim())
            .map(|()| t.schedule.trim().to_string())
            .map_err(|e| e.to_string()),
        "windows" => super::winsched::translate(&t.schedule).and_then(|cron| {
            validate::check_schedule(&cron).map(|()| cron).map_err(|e| e.to_string())
        }),
        other => Err(format!("unknown schedule type {other:?}")),
    };
    match schedule {
        Ok(cron) => {
            if t.schedule_type == "windows" {
                notes.push(format!("windows schedule {} translated to cron {cron:?}", t.schedule));
            }
            spec.schedule = cron;
        }
        Err(why) => {
            disabled.push(format!(
                "the legacy {} schedule {:?} has no exact orc equivalent ({why}); set one with \
                 `orc task edit {name} --schedule …` and enable the task",
                t.schedule_type, t.schedule
            ));
            legacy_schedule_note =
                Some(format!("Legacy schedule ({}): {}", t.schedule_type, t.schedule));
        }
    }

    // Limits.
    spec.timeout = match t.timeout {
        None => Some(crate::task::DEFAULT_TIMEOUT_SECS),
        Some(s) if s <= 0 => None,
        Some(s) => Some(s as u64),
    };
    if validate::check_timeout(spec.timeout).is_err() {
        notes.push(format!(
            "timeout {}s is above orc's limit; capped at {}s",
            t.timeout.unwrap_or(0),
            validate::MAX_TIMEOUT_SECS
        ));
        spec.timeout = Some(validate::MAX_TIMEOUT_SECS);
    }
    let retries = t.retry_count.unwrap_or(0).max(0);
    spec.retries = u32::try_from(retries).unwrap_or(u32::MAX).min(validate::MAX_RETRIES);
    if i64::from(spec.retries) != retries {
        notes.push(format!("retries {retries} capped at {}", validate::MAX_RETRIES));
    }
    let delay = t.retry_delay.unwrap_or(crate::task::DEFAULT_RETRY_DELAY_SECS as i64).max(0);
    spec.retry_delay = (delay as u64).min(validate::MAX_RETRY_DELAY_SECS);
    if spec.retry_delay != delay as u64 {
        notes.push(format!("retry delay {delay}s capped at {}s", spec.retry_delay));
    }

    // Working directory (Windows rules: the legacy tool ran on Windows).
    if let Some(dir) = t.working_directory.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        match validate::check_workdir(dir, spec.shell, style(target)) {
            Ok(()) => spec.workdir = Some(dir.to_string()),
            Err(e) => disabled.push(format!("working directory left out: {e}")),
        }
    }

    // Environment.
    if let Some(text) =
        t.environment.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "null")
    {
        match serde_json::from_str::<BTreeMap<String, Value>>(text) {
            Ok(vars) => {
                for (k, v) in vars {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    match validate::check_env_key("--env", &k, false)
                        .and_then(|()| validate::check_env_value(&k, &v))
                    {
                        Ok(()) => {
                            spec.env.insert(k, v);
                        }
                        Err(e) => {
                            disabled.push(format!("environment variable {k:?} left out: {e}"))
                        }
                    }
                }
            }
            Err(e) => {
                disabled.push(format!("the legacy environment cannot be read ({e}); left out"))
            }
        }
    }

    // Dependencies.
    if let Some(text) =
        t.dependencies.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "null")
    {
        match serde_json::from_str::<Vec<BTreeMap<String, Value>>>(text) {
            Ok(list) => {
                for dep in list {
                    let kind = dep.get("type").and_then(Value::as_str).unwrap_or("");
                    let value = dep.get("value").and_then(Value::as_str).unwrap_or("").trim();
                    let spec_text = match kind {
                        "task" => match names.get(value) {
                            Some(n) => Ok(format!("task:{n}")),
                            None => {
                                Err(format!("task {value:?} does not exist in the legacy database"))
                            }
                        },
                        "file" => Ok(format!("file:{value}")),
                        "url" => Ok(format!("url:{value}")),
                        "command" => Ok(format!("cmd:{value}")),
                        "vpn" => Ok(format!("tcp:{value}")),
                        other => Err(format!("unknown dependency type {other:?}")),
                    }
                    .and_then(|s| {
                        deps::parse_with_style(&s, style(target))
                            .map(|_| s)
                            .map_err(|e| e.to_string())
                    });
                    match spec_text {
                        Ok(s) => spec.depends_on.push(s),
                        Err(e) => disabled.push(format!("dependency {kind}:{value} left out: {e}")),
                    }
                }
            }
            Err(e) => {
                disabled.push(format!("the legacy dependencies cannot be read ({e}); left out"))
            }
        }
    }

    // Notifications.
    if let Some(text) =
        t.notifications.as_deref().map(str::trim).filter(|s| !s.is_empty() && *s != "null")
    {
        match serde_json::from_str::<BTreeMap<String, Value>>(text) {
            Ok(n) => {
                let flag = |k: &str| n.get(k).and_then(Value::as_bool).unwrap_or(false);
                spec.notify = match (flag("on_failure"), flag("on_success")) {
                    (_, true) => NotifyPolicy::Always,
                    (true, false) => NotifyPolicy::Failure,
                    (false, false) => NotifyPolicy::Never,
                };
                for addr in n.get("recipients").and_then(Value::as_array).into_iter().flatten() {
                    let addr = addr.as_str().unwrap_or("").trim().to_string();
                    match validate::check_email(&addr) {
                        Ok(()) if !spec.email.contains(&addr) => spec.email.push(addr),
                        Ok(()) => {}
                        Err(e) => notes.push(format!("recipient left out: {e}")),
                    }
                }
            }
            Err(e) => notes.push(format!(
                "the legacy notifications cannot be read ({e}); orc's default applies"
            )),
        }
    }

    // Description (one line: orc refuses control characters).
    let mut description: Vec<String> = Vec::new();
    if let Some(d) = t.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        description.push(d.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    description.extend(legacy_schedule_note);
    if !description.is_empty() {
        let mut text = description.join(" — ");
        if text.chars().count() > validate::MAX_DESCRIPTION {
            text = text.chars().take(validate::MAX_DESCRIPTION - 1).collect::<String>() + "…";
            notes.push("description shortened to orc's limit".into());
        }
        spec.description = Some(text);
    }

    let legacy_disabled = !t.enabled;
    spec.enabled = t.enabled && disabled.is_empty();
    if legacy_disabled {
        notes.push("disabled in the legacy orchestrator".into());
    }
    let (action, spec) = match validate::validate_with_style(&spec, style(target)) {
        Ok(()) => ("create", Some(spec)),
        Err(e) => {
            notes.push(format!("not imported: {e}"));
            ("skip", None)
        }
    };
    TaskPlan {
        legacy_name: t.name.clone(),
        name: name.to_string(),
        action,
        renamed,
        enabled: spec.as_ref().is_some_and(|s| s.enabled),
        disabled_reasons: disabled,
        notes,
        command,
        shell,
        schedule: spec.as_ref().map_or_else(String::new, |s| s.schedule.clone()),
        spec,
    }
}

fn style(_target: Target) -> PathStyle {
    // Paths in the legacy database are Windows paths whatever machine reads them.
    PathStyle::Windows
}

// ---------------------------------------------------------------------------------------------
// History

/// A legacy local naive time (or one with an offset) → UTC. Local times that fall in a DST
/// gap move forward by the gap; ambiguous ones take the earlier instant.
pub fn legacy_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive =
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    local_to_utc(naive)
}

fn local_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match Local.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        chrono::LocalResult::None => Local
            .from_local_datetime(&(naive + chrono::Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc)),
    }
}

fn split_output(text: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>, i64) {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return (None, None, 0);
    }
    let head = bytes[..bytes.len().min(OUTPUT_KEEP)].to_vec();
    let tail = (bytes.len() > OUTPUT_KEEP)
        .then(|| bytes[bytes.len().saturating_sub(OUTPUT_KEEP).max(OUTPUT_KEEP)..].to_vec());
    (Some(head), tail, bytes.len() as i64)
}

/// Plans one legacy result; `Err` says why it is skipped.
pub fn plan_run(r: &LegacyResult, task: &str) -> Result<RunRow, String> {
    let status = match r.status.trim().to_ascii_uppercase().as_str() {
        "SUCCESS" => "SUCCESS",
        "FAILED" => "FAILED",
        "SKIPPED" => "SKIPPED",
        "TIMEOUT" => "TIMEOUT",
        "RUNNING" => "ABANDONED",
        other => return Err(format!("result {}: unknown status {other:?}", r.id)),
    };
    let start = r
        .start_time
        .as_deref()
        .and_then(legacy_time)
        .ok_or_else(|| format!("result {}: no readable start time", r.id))?;
    let end = r.end_time.as_deref().and_then(legacy_time);
    let duration_ms = match (r.duration, end) {
        (Some(d), _) if d.is_finite() && d >= 0.0 => Some((d * 1000.0).round() as i64),
        (_, Some(e)) => Some((e - start).num_milliseconds().max(0)),
        _ => None,
    };
    let mut error = r.error.clone().filter(|e| !e.trim().is_empty());
    if status == "ABANDONED" {
        error = Some(error.map_or_else(
            || "still RUNNING in the legacy orchestrator when it was migrated".into(),
            |e| format!("{e} (still RUNNING in the legacy orchestrator when it was migrated)"),
        ));
    }
    let (stdout_head, stdout_tail, stdout_bytes) = split_output(r.output.as_deref().unwrap_or(""));
    Ok(RunRow {
        source: format!("legacy:{}", r.id),
        task: task.to_string(),
        status,
        attempt: r.retry_count.unwrap_or(0).max(0) + 1,
        start: crate::store::to_db_time(start),
        end: end.map(crate::store::to_db_time),
        duration_ms,
        exit_code: r.exit_code,
        error,
        stdout_head,
        stdout_tail,
        stdout_bytes,
    })
}

// ---------------------------------------------------------------------------------------------
// Settings

/// Legacy `config` → orc settings (secrets are planned separately).
pub fn plan_settings(
    legacy: &BTreeMap<String, String>,
    existing: &BTreeMap<String, String>,
) -> Vec<SettingPlan> {
    let mut out = Vec::new();
    for (k, v) in legacy {
        let v = v.trim();
        let mapped: Result<(&str, String), String> = match k.as_str() {
            "smtp_server" => Ok(("smtp.host", v.to_string())),
            "smtp_port" => match v.parse::<u16>() {
                Ok(p) if p > 0 => Ok(("smtp.port", p.to_string())),
                _ => Err(format!("{v:?} is not a port 1-65535")),
            },
            "smtp_use_tls" => match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(("smtp.tls", "starttls".into())),
                "false" | "0" | "no" => {
                    let host = legacy.get("smtp_server").map(String::as_str).unwrap_or("");
                    if crate::config::is_loopback_host(host) {
                        Ok(("smtp.tls", "none".into()))
                    } else {
                        Err(format!(
                            "the legacy tool sent mail unencrypted to {host:?}; orc allows smtp.tls \
                             none only for loopback relays — set smtp.tls yourself"
                        ))
                    }
                }
                _ => Err(format!("{v:?} is not true or false")),
            },
            "smtp_username" => Ok(("smtp.user", v.to_string())),
            "email_from" => Ok(("mail.from", v.to_string())),
            "email_recipients" => serde_json::from_str::<Vec<String>>(v)
                .map_err(|e| format!("not a JSON list of addresses ({e})"))
                .and_then(|list| {
                    for a in &list {
                        validate::check_email(a.trim()).map_err(|e| e.to_string())?;
                    }
                    Ok(("mail.to", list.iter().map(|a| a.trim()).collect::<Vec<_>>().join(",")))
                }),
            "daily_report_time" => match chrono::NaiveTime::parse_from_str(v, "%H:%M") {
                Ok(t) => Ok(("report.daily_time", t.format("%H:%M").to_string())),
                Err(_) => Err(format!("{v:?} is not HH:MM")),
            },
            "check_interval" => {
                Err("orc has no polling loop; Task Scheduler starts each run".into())
            }
            "system_salt" => Err("used only to read the legacy secrets".into()),
            _ => Err("no orc equivalent".into()),
        };
        // The same rule as `orc config set` (one owner): a value it would refuse is refused.
        let mapped = mapped.map(|(key, value)| (key, crate::config::normalize(key, &value)));
        out.push(match mapped {
            Ok((key, Err(e))) => SettingPlan {
                legacy_key: k.clone(),
                key: Some(key.into()),
                value: None,
                action: "refused",
                note: Some(e.to_string()),
            },
            Ok((key, Ok(value))) => {
                let action = match existing.get(key) {
                    None => "set",
                    Some(old) if *old == value => "unchanged",
                    Some(_) => "kept",
                };
                SettingPlan {
                    legacy_key: k.clone(),
                    key: Some(key.into()),
                    note: (action == "kept").then(|| {
                        format!("orc already has {key} = {:?}; not overwritten", existing[key])
                    }),
                    value: Some(value),
                    action,
                }
            }
            Err(note) => SettingPlan {
                legacy_key: k.clone(),
                key: None,
                value: None,
                action: "skip",
                note: Some(note),
            },
        });
    }
    out
}

/// The vault credential name for a legacy secret.
pub fn credential_name(source: &str, name: &str) -> String {
    match (source, name) {
        ("config", "smtp_password") => "smtp-password".into(),
        ("config", other) => orc_name(&format!("legacy-{other}")),
        (_, other) => orc_name(other),
    }
}

/// A `task:` dependency on a legacy task that cannot be imported is left out and its dependent
/// comes over disabled (it would otherwise wait for a task that does not exist).
fn drop_deps_on_skipped(mut tasks: Vec<TaskPlan>) -> Vec<TaskPlan> {
    let skipped: Vec<String> =
        tasks.iter().filter(|t| t.action == "skip").map(|t| format!("task:{}", t.name)).collect();
    for t in &mut tasks {
        let Some(spec) = t.spec.as_mut() else { continue };
        let before = spec.depends_on.len();
        spec.depends_on.retain(|d| !skipped.iter().any(|s| s.eq_ignore_ascii_case(d)));
        if spec.depends_on.len() != before {
            spec.enabled = false;
            t.enabled = false;
            t.disabled_reasons.push(
                "a task it depends on cannot be imported; that dependency was left out".into(),
            );
        }
    }
    tasks
}

/// Builds the whole plan. `secrets_unlocked` is whether the caller could decrypt every secret.
pub fn build(
    legacy: &LegacyDb,
    existing: &Existing,
    target: Target,
    secrets_unlocked: bool,
) -> Plan {
    let names = assign_names(&legacy.tasks, existing);
    let tasks: Vec<TaskPlan> = legacy
        .tasks
        .iter()
        .map(|t| {
            let name = &names[&t.name];
            if existing.mapped.contains_key(&t.name) {
                let mut p = plan_task(t, name, &names, target);
                p.action = "already_imported";
                p.spec = None;
                p
            } else {
                plan_task(t, name, &names, target)
            }
        })
        .collect();
    let tasks = drop_deps_on_skipped(tasks);
    let mut history = HistoryPlan {
        total: legacy.results.len(),
        to_import: 0,
        already_imported: 0,
        skipped: Vec::new(),
        rows: Vec::new(),
    };
    for r in &legacy.results {
        if existing.sources.contains(&format!("legacy:{}", r.id)) {
            history.already_imported += 1;
            continue;
        }
        let task = names.get(&r.task_name).cloned().unwrap_or_else(|| orc_name(&r.task_name));
        match plan_run(r, &task) {
            Ok(row) => history.rows.push(row),
            Err(e) => history.skipped.push(e),
        }
    }
    history.to_import = history.rows.len();
    let mut settings = plan_settings(&legacy.config, &existing.config);
    let mut secrets = Vec::new();
    for s in &legacy.secrets {
        let credential = credential_name(s.source, &s.name);
        let legacy_label = match s.source {
            "config" => format!("config.{}", s.name),
            _ => format!("credentials.{}", s.name),
        };
        let (action, note) = if secrets_unlocked {
            ("store", None)
        } else {
            ("not_migrated", Some("not migrated: needs the legacy master password".to_string()))
        };
        if s.source == "config" && s.name == "smtp_password" {
            let value = credential.clone();
            settings.push(SettingPlan {
                legacy_key: "smtp_password".into(),
                key: Some("smtp.password_credential".into()),
                action: if !secrets_unlocked {
                    "skip"
                } else if existing.config.get("smtp.password_credential") == Some(&value) {
                    "unchanged"
                } else if existing.config.contains_key("smtp.password_credential") {
                    "kept"
                } else {
                    "set"
                },
                value: Some(value),
                note: (!secrets_unlocked)
                    .then(|| "the SMTP password needs the legacy master password".into()),
            });
        }
        secrets.push(SecretPlan { legacy: legacy_label, credential, action, note });
    }
    Plan { tasks, history, settings, secrets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_are_deterministic_and_collision_free() {
        assert_eq!(orc_name("bad name with spaces"), "bad_name_with_spaces");
        assert_eq!(orc_name("  -x/y\\z  "), "x_y_z");
        assert_eq!(orc_name("CON"), "CON_task");
        assert_eq!(orc_name("..."), "task");
        assert_eq!(orc_name("abc."), "abc");
        assert_eq!(orc_name(&"a".repeat(80)), "a".repeat(64));
        assert_eq!(orc_name("é-é"), "task");
        assert_eq!(orc_name("x é"), "x__");
        let t = |n: &str, id| LegacyTask { id, name: n.into(), ..Default::default() };
        let tasks = vec![t("a b", 1), t("a_b", 2), t("A?b", 3)];
        let existing = Existing { tasks: vec!["other".into()], ..Default::default() };
        let names = assign_names(&tasks, &existing);
        assert_eq!(names["a_b"], "a_b");
        assert_eq!(names["a b"], "a_b-2");
        assert_eq!(names["A?b"], "A_b-3");
        let existing = Existing {
            tasks: vec!["a_b-2".into()],
            mapped: [("a b".to_string(), "a_b-2".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(assign_names(&tasks, &existing)["a b"], "a_b-2");
    }

    #[test]
    fn dependents_of_a_task_that_cannot_come_over_are_disabled() {
        let db = LegacyDb {
            tasks: vec![
                LegacyTask {
                    id: 1,
                    name: "broken".into(),
                    kind: "command".into(),
                    command: "bad\0command".into(),
                    schedule_type: "cron".into(),
                    schedule: "0 1 * * *".into(),
                    enabled: true,
                    ..Default::default()
                },
                LegacyTask {
                    id: 2,
                    name: "after".into(),
                    kind: "command".into(),
                    command: "echo".into(),
                    schedule_type: "cron".into(),
                    schedule: "0 2 * * *".into(),
                    enabled: true,
                    dependencies: Some(
                        r#"[{"type":"task","value":"broken"},{"type":"vpn","value":"h:1"}]"#.into(),
                    ),
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let plan = build(&db, &Existing::default(), Target::Windows, false);
        assert_eq!(plan.tasks[0].action, "skip");
        let after = &plan.tasks[1];
        assert_eq!(after.action, "create");
        assert!(!after.enabled);
        assert_eq!(after.spec.as_ref().unwrap().depends_on, vec!["tcp:h:1".to_string()]);
        assert!(after.disabled_reasons[0].contains("cannot be imported"), "{after:?}");
    }

    #[test]
    fn commands_per_type_and_platform() {
        let args = vec!["--since".to_string(), "yester day".to_string()];
        assert_eq!(
            command_line("python", r"C:\s\sales.py", &args, Target::Windows).unwrap(),
            (r#"python.exe "C:\s\sales.py" --since "yester day""#.into(), Shell::Cmd)
        );
        assert_eq!(
            command_line("python", "/opt/s.py", &args, Target::Unix).unwrap(),
            ("python3 /opt/s.py --since 'yester day'".into(), Shell::Sh)
        );
        assert_eq!(
            command_line("command", r"C:\Program Files\x.exe", &[], Target::Windows).unwrap().0,
            r#""C:\Program Files\x.exe""#
        );
        assert!(
            command_line("script", r"C:\a.ps1", &[], Target::Windows)
                .unwrap()
                .0
                .ends_with(r"-File C:\a.ps1")
        );
        assert!(command_line("java", "x", &[], Target::Windows).is_err());
    }

    #[test]
    fn legacy_times_and_statuses() {
        let r = LegacyResult {
            id: 9,
            task_name: "t".into(),
            status: "RUNNING".into(),
            start_time: Some("2025-03-01T10:00:00.250000".into()),
            end_time: None,
            duration: Some(1.5),
            output: Some("out".into()),
            ..Default::default()
        };
        let row = plan_run(&r, "t").unwrap();
        assert_eq!(row.status, "ABANDONED");
        assert_eq!(row.source, "legacy:9");
        assert_eq!(row.duration_ms, Some(1500));
        assert_eq!(row.stdout_head.as_deref(), Some(&b"out"[..]));
        let naive = NaiveDateTime::parse_from_str("2025-03-01T10:00:00.25", "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap();
        let want = Local.from_local_datetime(&naive).earliest().unwrap().with_timezone(&Utc);
        assert_eq!(row.start, crate::store::to_db_time(want));
        assert_eq!(
            legacy_time("2025-03-01T10:00:00+02:00").unwrap().to_rfc3339(),
            "2025-03-01T08:00:00+00:00"
        );
        let bad = LegacyResult { status: "WEIRD".into(), ..r.clone() };
        assert!(plan_run(&bad, "t").is_err());
        let no_start = LegacyResult { start_time: None, status: "SUCCESS".into(), ..r };
        assert!(plan_run(&no_start, "t").is_err());
    }

    #[test]
    fn settings_map_and_never_overwrite() {
        let legacy: BTreeMap<String, String> = [
            ("smtp_server", "smtp.example.com"),
            ("smtp_port", "587"),
            ("smtp_use_tls", "true"),
            ("email_recipients", r#"["a@example.com","b@example.com"]"#),
            ("daily_report_time", "7:05"),
            ("check_interval", "30"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let existing: BTreeMap<String, String> =
            [("smtp.port".to_string(), "25".to_string())].into();
        let plan = plan_settings(&legacy, &existing);
        let get = |k: &str| plan.iter().find(|s| s.legacy_key == k).unwrap();
        assert_eq!(get("smtp_server").key.as_deref(), Some("smtp.host"));
        assert_eq!(get("smtp_use_tls").value.as_deref(), Some("starttls"));
        // Normalised as `config set mail.to` writes it.
        assert_eq!(get("email_recipients").value.as_deref(), Some("a@example.com, b@example.com"));
        assert_eq!(get("daily_report_time").value.as_deref(), Some("07:05"));
        assert_eq!(get("smtp_port").action, "kept");
        assert_eq!(get("check_interval").action, "skip");
        // issue 12 finding 10: a value `config set` refuses is refused here too, with its rule.
        let hostile: BTreeMap<String, String> =
            [("smtp_server".to_string(), "evil.example.com\r\nset smtp.tls none".to_string())]
                .into();
        let refused = &plan_settings(&hostile, &BTreeMap::new())[0];
        assert_eq!((refused.action, refused.value.as_deref()), ("refused", None));
        assert!(refused.note.as_deref().unwrap().contains("invalid smtp.host"), "{refused:?}");
        let plain: BTreeMap<String, String> =
            [("smtp_server", "mail.example.com"), ("smtp_use_tls", "false")]
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect();
        assert_eq!(
            plan_settings(&plain, &BTreeMap::new())
                .iter()
                .find(|s| s.legacy_key == "smtp_use_tls")
                .unwrap()
                .action,
            "skip"
        );
    }
}

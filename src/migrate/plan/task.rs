//! One legacy task → one orc task, in named steps: command, schedule, limits, working
//! directory, environment, dependencies, notifications, description. Each step translates
//! its part of the legacy row into the [`TaskSpec`] and records what could not come over in
//! `Findings`: a reason the task comes over disabled, or a note.

use std::collections::BTreeMap;

use serde_json::Value;

use super::command::{command_line, json_args, json_column};
use super::{PLACEHOLDER_SCHEDULE, Target, TaskPlan, style};
use crate::migrate::legacy::LegacyTask;
use crate::task::validate;
use crate::task::{NotifyPolicy, Shell, TaskSpec, deps};

/// What the steps found that the user should know.
#[derive(Default)]
struct Findings {
    /// Why the task comes over disabled (one reason per part left out).
    disabled: Vec<String>,
    /// What changed on the way (renames, caps, translations).
    notes: Vec<String>,
}

/// Plans one legacy task (its name already assigned).
pub fn plan_task(
    t: &LegacyTask,
    name: &str,
    names: &BTreeMap<String, String>,
    target: Target,
) -> TaskPlan {
    let mut f = Findings::default();
    let renamed = name != t.name;
    if renamed {
        f.notes.push(format!("renamed from {:?}, which is not a valid orc task name", t.name));
    }
    let (command, shell) = translate_command(t, target, &mut f);
    let mut spec = TaskSpec::new(name, &command, PLACEHOLDER_SCHEDULE);
    spec.shell = shell;
    let legacy_schedule_note = translate_schedule(t, &mut spec, &mut f);
    translate_limits(t, &mut spec, &mut f);
    translate_workdir(t, target, &mut spec, &mut f);
    translate_environment(t, &mut spec, &mut f);
    translate_dependencies(t, names, target, &mut spec, &mut f);
    translate_notifications(t, &mut spec, &mut f);
    translate_description(t, legacy_schedule_note, &mut spec, &mut f);

    let Findings { disabled, mut notes } = f;
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

/// A legacy JSON column, when it holds something. Unreadable JSON is reported in `sink` (the
/// disabled reasons when the part is left out, the notes when a default applies) as "the
/// legacy {what} cannot be read (…); {outcome}".
fn read_json<T: serde::de::DeserializeOwned>(
    column: Option<&str>,
    what: &str,
    outcome: &str,
    sink: &mut Vec<String>,
) -> Option<T> {
    let text = json_column(column)?;
    serde_json::from_str(text)
        .map_err(|e| {
            sink.push(format!("the legacy {what} cannot be read ({e}); {outcome}"));
        })
        .ok()
}

/// The command line and shell for the legacy type, program and arguments.
fn translate_command(t: &LegacyTask, target: Target, f: &mut Findings) -> (String, Shell) {
    let args = json_args(t.arguments.as_deref()).unwrap_or_else(|e| {
        f.disabled.push(format!("the legacy arguments cannot be read ({e}); they were left out"));
        Vec::new()
    });
    let (command, shell) = match command_line(&t.kind, &t.command, &args, target) {
        Ok(c) => c,
        Err(e) => {
            f.disabled.push(format!("{e}; the command was taken as is"));
            (t.command.clone(), Shell::default())
        }
    };
    if target == Target::Windows && command.contains('%') {
        f.notes.push("cmd.exe expands %NAME% in the command; check the arguments".into());
    }
    (command, shell)
}

/// The schedule: cron as is, a Windows schedule translated ([`crate::migrate::winsched`]).
/// Without an exact equivalent the placeholder stays and the returned note carries the
/// original schedule into the description.
fn translate_schedule(t: &LegacyTask, spec: &mut TaskSpec, f: &mut Findings) -> Option<String> {
    let schedule = match t.schedule_type.as_str() {
        "cron" => validate::check_schedule(t.schedule.trim())
            .map(|()| t.schedule.trim().to_string())
            .map_err(|e| e.to_string()),
        "windows" => crate::migrate::winsched::translate(&t.schedule).and_then(|cron| {
            validate::check_schedule(&cron).map(|()| cron).map_err(|e| e.to_string())
        }),
        other => Err(format!("unknown schedule type {other:?}")),
    };
    match schedule {
        Ok(cron) => {
            if t.schedule_type == "windows" {
                f.notes
                    .push(format!("windows schedule {} translated to cron {cron:?}", t.schedule));
            }
            spec.schedule = cron;
            None
        }
        Err(why) => {
            f.disabled.push(format!(
                "the legacy {} schedule {:?} has no exact orc equivalent ({why}); set one with \
                 `orc task edit {} --schedule …` and enable the task",
                t.schedule_type, t.schedule, spec.name
            ));
            Some(format!("Legacy schedule ({}): {}", t.schedule_type, t.schedule))
        }
    }
}

/// Timeout, retries and retry delay, capped at orc's limits.
fn translate_limits(t: &LegacyTask, spec: &mut TaskSpec, f: &mut Findings) {
    spec.timeout = match t.timeout {
        None => Some(crate::task::DEFAULT_TIMEOUT_SECS),
        Some(s) if s <= 0 => None,
        Some(s) => Some(s as u64),
    };
    if validate::check_timeout(spec.timeout).is_err() {
        f.notes.push(format!(
            "timeout {}s is above orc's limit; capped at {}s",
            t.timeout.unwrap_or(0),
            validate::MAX_TIMEOUT_SECS
        ));
        spec.timeout = Some(validate::MAX_TIMEOUT_SECS);
    }
    let retries = t.retry_count.unwrap_or(0).max(0);
    spec.retries = u32::try_from(retries).unwrap_or(u32::MAX).min(validate::MAX_RETRIES);
    if i64::from(spec.retries) != retries {
        f.notes.push(format!("retries {retries} capped at {}", validate::MAX_RETRIES));
    }
    let delay = t.retry_delay.unwrap_or(crate::task::DEFAULT_RETRY_DELAY_SECS as i64).max(0);
    spec.retry_delay = (delay as u64).min(validate::MAX_RETRY_DELAY_SECS);
    if spec.retry_delay != delay as u64 {
        f.notes.push(format!("retry delay {delay}s capped at {}s", spec.retry_delay));
    }
}

/// The working directory (Windows rules: the legacy tool ran on Windows).
fn translate_workdir(t: &LegacyTask, target: Target, spec: &mut TaskSpec, f: &mut Findings) {
    if let Some(dir) = t.working_directory.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        match validate::check_workdir(dir, spec.shell, style(target)) {
            Ok(()) => spec.workdir = Some(dir.to_string()),
            Err(e) => f.disabled.push(format!("working directory left out: {e}")),
        }
    }
}

/// The environment: each variable orc accepts comes over, the others are left out.
fn translate_environment(t: &LegacyTask, spec: &mut TaskSpec, f: &mut Findings) {
    let column = t.environment.as_deref();
    let Some(vars) =
        read_json::<BTreeMap<String, Value>>(column, "environment", "left out", &mut f.disabled)
    else {
        return;
    };
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
            Err(e) => f.disabled.push(format!("environment variable {k:?} left out: {e}")),
        }
    }
}

/// Dependencies in orc's grammar; `task` ones through the name mapping.
fn translate_dependencies(
    t: &LegacyTask,
    names: &BTreeMap<String, String>,
    target: Target,
    spec: &mut TaskSpec,
    f: &mut Findings,
) {
    let column = t.dependencies.as_deref();
    let Some(list) = read_json::<Vec<BTreeMap<String, Value>>>(
        column,
        "dependencies",
        "left out",
        &mut f.disabled,
    ) else {
        return;
    };
    for dep in list {
        let kind = dep.get("type").and_then(Value::as_str).unwrap_or("");
        let value = dep.get("value").and_then(Value::as_str).unwrap_or("").trim();
        let spec_text = match kind {
            "task" => match names.get(value) {
                Some(n) => Ok(format!("task:{n}")),
                None => Err(format!("task {value:?} does not exist in the legacy database")),
            },
            "file" => Ok(format!("file:{value}")),
            "url" => Ok(format!("url:{value}")),
            "command" => Ok(format!("cmd:{value}")),
            "vpn" => Ok(format!("tcp:{value}")),
            other => Err(format!("unknown dependency type {other:?}")),
        }
        .and_then(|s| {
            deps::parse_with_style(&s, style(target)).map(|_| s).map_err(|e| e.to_string())
        });
        match spec_text {
            Ok(s) => spec.depends_on.push(s),
            Err(e) => f.disabled.push(format!("dependency {kind}:{value} left out: {e}")),
        }
    }
}

/// The notification policy and recipients.
fn translate_notifications(t: &LegacyTask, spec: &mut TaskSpec, f: &mut Findings) {
    let column = t.notifications.as_deref();
    let Some(n) = read_json::<BTreeMap<String, Value>>(
        column,
        "notifications",
        "orc's default applies",
        &mut f.notes,
    ) else {
        return;
    };
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
            Err(e) => f.notes.push(format!("recipient left out: {e}")),
        }
    }
}

/// The description on one line (orc refuses control characters), followed by the legacy
/// schedule when it could not come over, shortened to orc's limit.
fn translate_description(
    t: &LegacyTask,
    legacy_schedule_note: Option<String>,
    spec: &mut TaskSpec,
    f: &mut Findings,
) {
    let mut description: Vec<String> = Vec::new();
    if let Some(d) = t.description.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        description.push(d.split_whitespace().collect::<Vec<_>>().join(" "));
    }
    description.extend(legacy_schedule_note);
    if !description.is_empty() {
        let mut text = description.join(" — ");
        if text.chars().count() > validate::MAX_DESCRIPTION {
            text = text.chars().take(validate::MAX_DESCRIPTION - 1).collect::<String>() + "…";
            f.notes.push("description shortened to orc's limit".into());
        }
        spec.description = Some(text);
    }
}

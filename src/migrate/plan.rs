//! The migration plan: legacy rows → orc tasks, runs, settings and credentials. Pure: no I/O;
//! the caller supplies what orc already holds (for renames and idempotency).

//!
//! The steps, one file each: [`names`] (name mapping), [`command`] (command translation),
//! [`task`] (one task: schedule, limits, environment, dependencies, notifications),
//! [`history`] (runs), [`settings`] (settings and secrets).

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::legacy::LegacyDb;
use crate::task::validate::PathStyle;
use crate::task::{Shell, TaskSpec};

pub mod command;
pub mod history;
pub mod names;
pub mod settings;
pub mod task;

pub use command::command_line;
pub use history::{legacy_time, plan_run};
pub use names::{assign_names, orc_name};
pub use settings::{credential_name, plan_secrets, plan_settings};
pub use task::plan_task;

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

/// How legacy paths are judged.
fn style(_target: Target) -> PathStyle {
    // Paths in the legacy database are Windows paths whatever machine reads them.
    PathStyle::Windows
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
    let secrets = plan_secrets(legacy, existing, secrets_unlocked, &mut settings);
    Plan { tasks, history, settings, secrets }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::legacy::LegacyTask;

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
}

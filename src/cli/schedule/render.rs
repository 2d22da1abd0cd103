//! Rendering the tasks of a reconcile: one task whose definition cannot be built (a bad row in
//! the database, a locked vault for its run-as password) is reported as failed and left as it
//! is registered; the others are still reconciled.

use crate::error::Error;
use crate::scheduler::reconcile::{Action, EntryReport};
use crate::scheduler::{Backend, Desired, Registered, RenderEnv};
use crate::task::TaskSpec;

/// The definitions that could be built, and the tasks that could not (with why).
pub(super) struct Rendered {
    pub(super) desired: Vec<Desired>,
    pub(super) failed: Vec<(String, Error)>,
}

impl Rendered {
    /// Whether `task` failed to build (its registration and history are then left alone: a
    /// missing definition must not read as "delete it").
    pub(super) fn is_failed(&self, task: &str) -> bool {
        self.failed.iter().any(|(name, _)| name.eq_ignore_ascii_case(task))
    }

    /// One report row per task that failed to build: `create` or `update` (whether it is
    /// registered), result `failed`, the reason as its error.
    pub(super) fn failed_rows(
        &self,
        backend: &dyn Backend,
        registered: &[Registered],
    ) -> Vec<EntryReport> {
        self.failed
            .iter()
            .map(|(task, e)| {
                let held = registered.iter().find(|r| r.task.eq_ignore_ascii_case(task));
                EntryReport {
                    task: task.clone(),
                    action: if held.is_some() { Action::Update } else { Action::Create },
                    path: held.map_or_else(|| backend.path_of(task), |r| r.path.clone()),
                    drift: false,
                    exact: None,
                    triggers: None,
                    enabled: None,
                    differences: vec!["cannot be built".into()],
                    details: Vec::new(),
                    notes: Vec::new(),
                    result: "failed",
                    error: Some(prefix_error(task, clone_error(e)).to_string()),
                    xml: None,
                    definition: None,
                    read_back_warning: None,
                }
            })
            .collect()
    }

    /// The error the command ends with when tasks failed to build: the first one that is not
    /// bad input (its own exit code), else bad input (exit 2), naming every failed task.
    /// Takes the failures out.
    pub(super) fn take_error(&mut self) -> Option<Error> {
        let mut failed = std::mem::take(&mut self.failed);
        if let Some(pos) =
            failed.iter().position(|(_, e)| e.exit_code() != crate::error::exit::USAGE)
        {
            let (name, e) = failed.remove(pos);
            return Some(prefix_error(&name, e));
        }
        match failed.len() {
            0 => None,
            1 => {
                let (name, e) = failed.remove(0);
                Some(prefix_error(&name, e))
            }
            n => {
                let list: Vec<String> = failed.iter().map(|(t, e)| format!("{t}: {e}")).collect();
                Some(Error::Usage(format!(
                    "{n} tasks cannot be registered and were left as they are: {}",
                    list.join("; ")
                )))
            }
        }
    }
}

/// Renders every task in scope; a task that fails is collected, not fatal.
pub(super) fn render_all(
    backend: &dyn Backend,
    tasks: &[TaskSpec],
    env: &RenderEnv<'_>,
) -> Rendered {
    let mut rendered = Rendered { desired: Vec::new(), failed: Vec::new() };
    for spec in tasks {
        match backend.render(spec, env) {
            Ok(Some(d)) => rendered.desired.push(d),
            Ok(None) => {}
            Err(e) => rendered.failed.push((spec.name.clone(), e)),
        }
    }
    rendered
}

/// Names the task in a field error (`invalid --description of task x …`).
pub(super) fn prefix_error(task: &str, e: Error) -> Error {
    match e {
        Error::Invalid { field, value, rule } => {
            Error::Invalid { field: format!("{field} of task {task}"), value, rule }
        }
        other => other,
    }
}

/// The message and exit code of an error, for a report row (errors are not `Clone`).
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Invalid { field, value, rule } => {
            Error::Invalid { field: field.clone(), value: value.clone(), rule: rule.clone() }
        }
        other => Error::Failed(other.to_string()),
    }
}

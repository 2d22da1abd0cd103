//! The task changes `orc task add|edit|rm|enable|disable` and the dashboard's REST API both
//! make: each runs inside the caller's write transaction, checks the whole dependency graph
//! and writes the task with its audit row, so a refusal changes nothing and both front ends
//! refuse exactly the same input.

use crate::store::sql::Connection;

use super::patch::TaskPatch;
use super::repo::{self, StoredTask};
use super::{TaskSpec, deps};
use crate::error::{Error, Result};

/// Adds `spec` (already built by [`TaskPatch::build`]).
pub fn add(tx: &Connection, spec: &TaskSpec, command_line: &str) -> Result<StoredTask> {
    let mut all: Vec<TaskSpec> = repo::list(tx)?.into_iter().map(|t| t.spec).collect();
    all.push(spec.clone());
    deps::check_graph(&all, &[&spec.name])?;
    crate::notify::channels::check_exist(tx, &spec.notify_channels)?;
    crate::fleet::table::check_exist(tx, &spec.hosts)?;
    repo::insert(tx, spec, command_line)
}

/// The names of the top-level fields that differ between two tasks.
pub fn changed_fields(before: &TaskSpec, after: &TaskSpec) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    b.iter().filter(|(k, v)| a.get(*k) != Some(v)).map(|(k, _)| k.clone()).collect()
}

/// Applies `patch` to the task `name`; returns the task and the fields that changed (none:
/// nothing was written).
pub fn edit(
    tx: &Connection,
    name: &str,
    patch: &TaskPatch,
    command_line: &str,
) -> Result<(StoredTask, Vec<String>)> {
    let current = repo::require(tx, name)?;
    let spec = patch.edit(&current.spec)?;
    let changed = changed_fields(&current.spec, &spec);
    if changed.is_empty() {
        return Ok((current, changed));
    }
    let mut all: Vec<TaskSpec> = repo::list(tx)?
        .into_iter()
        .map(|t| if t.id == current.id { spec.clone() } else { t.spec })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    deps::check_graph(&all, &[&spec.name])?;
    crate::notify::channels::check_exist(tx, &spec.notify_channels)?;
    crate::fleet::table::check_exist(tx, &spec.hosts)?;
    let updated = repo::update(tx, &current, &spec, command_line)?;
    Ok((updated, changed))
}

/// Removes the task `name` (refused while other tasks depend on it); returns it and whether
/// it was registered with the OS scheduler.
pub fn remove(tx: &Connection, name: &str, command_line: &str) -> Result<(StoredTask, bool)> {
    let target = repo::require(tx, name)?;
    let dependents: Vec<String> = repo::list(tx)?
        .into_iter()
        .filter(|t| t.id != target.id)
        .filter(|t| deps::task_refs(&t.spec).iter().any(|r| r.eq_ignore_ascii_case(name)))
        .map(|t| t.spec.name)
        .collect();
    if !dependents.is_empty() {
        return Err(Error::invalid(
            "task name",
            name,
            format!(
                "other tasks depend on it ({}); remove those dependencies first (orc task \
                 edit NAME --clear-deps …)",
                dependents.join(", ")
            ),
        ));
    }
    let registered = repo::is_registered(tx, &target.spec.name)?;
    let removed = repo::delete(tx, name, command_line)?;
    Ok((removed, registered))
}

/// Enables or disables the task `name`; returns it and whether anything changed.
pub fn set_enabled(
    tx: &Connection,
    name: &str,
    enabled: bool,
    command_line: &str,
) -> Result<(StoredTask, bool)> {
    let current = repo::require(tx, name)?;
    if current.spec.enabled == enabled {
        return Ok((current, false));
    }
    let spec = TaskSpec { enabled, ..current.spec.clone() };
    Ok((repo::update(tx, &current, &spec, command_line)?, true))
}

//! The built-in tasks `orc schedule` registers next to the user's: the daily report
//! (`report.daily_time`) and the watch (`watch.interval`).

use std::path::Path;

use crate::error::Result;
use crate::store::Store;
use crate::task::TaskSpec;

/// The names of the built-in tasks.
pub(super) const NAMES: [&str; 2] =
    [crate::report::BUILTIN_TASK_NAME, crate::watch::BUILTIN_TASK_NAME];

/// The built-in tasks as their settings want them (absent: off, or a user task of that name
/// wins); with `write`, the `tasks` table is brought in line.
pub(super) fn sync(
    store: &mut Store,
    home: &Path,
    command_line: &str,
    write: bool,
) -> Result<Vec<TaskSpec>> {
    let exe = crate::scheduler::orc_exe()?;
    let wanted = [
        (crate::report::BUILTIN_TASK_NAME, crate::report::wanted_builtin(store, &exe, home)?),
        (crate::watch::BUILTIN_TASK_NAME, crate::watch::wanted_builtin(store, &exe, home)?),
    ];
    let mut synced = Vec::new();
    for (name, task) in wanted {
        synced.extend(crate::report::sync_owned(store, name, task, command_line, write)?);
    }
    Ok(synced)
}

/// The database's tasks with the built-in ones as wanted now: orc's own stored copies (owner
/// `orc`) are replaced, or dropped when their setting is off; a user task of the same name stays.
pub(super) fn with_builtins(tasks: Vec<TaskSpec>, wanted: Vec<TaskSpec>) -> Vec<TaskSpec> {
    let mut out: Vec<TaskSpec> =
        tasks.into_iter().filter(|t| !crate::report::is_builtin(t)).collect();
    for w in wanted {
        if !out.iter().any(|t| t.name.eq_ignore_ascii_case(&w.name)) {
            out.push(w);
        }
    }
    out
}

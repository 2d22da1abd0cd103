//! A task as the CLI's `task show|list --json` and the REST API print it (part of the
//! contract, `docs/reference/task-json.md`). Pure: no store, no printing.

use serde::Serialize;

use super::TaskSpec;
use super::repo::StoredTask;

/// A task as `show --json` and `list --json` print it: every [`TaskSpec`] field (times in
/// seconds, `timeout` null for none) plus the store's timestamps and the latest run.
#[derive(Debug, Serialize)]
pub struct TaskView<'a> {
    #[serde(flatten)]
    pub spec: &'a TaskSpec,
    pub created_at: String,
    pub updated_at: String,
    pub last_run: Option<LastRun>,
    /// The next time the schedule fires (null when disabled or never).
    pub next_run: Option<String>,
}

/// The latest run of a task, as shown with it.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub status: String,
    pub start: String,
}

/// The view of a stored task with its latest run.
pub fn view<'a>(t: &'a StoredTask, last: Option<LastRun>) -> TaskView<'a> {
    TaskView {
        spec: &t.spec,
        created_at: crate::clock::to_local_iso(t.created_at),
        updated_at: crate::clock::to_local_iso(t.updated_at),
        last_run: last,
        next_run: t
            .spec
            .next_run(&crate::clock::now())
            .at()
            .map(|n| crate::clock::to_local_iso(n.with_timezone(&chrono::Utc))),
    }
}

/// The latest run of the task `name` out of [`crate::exec::runs::last_per_task`]'s map.
pub fn last_run_in(
    map: &std::collections::BTreeMap<String, (String, chrono::DateTime<chrono::Utc>)>,
    name: &str,
) -> Option<LastRun> {
    map.get(&name.to_ascii_lowercase()).map(|(status, start)| LastRun {
        status: status.clone(),
        start: crate::clock::to_local_iso(*start),
    })
}

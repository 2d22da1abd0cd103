//! The output of `schedule --list`, one for every backend: the rows as JSON, or a table with
//! the REGISTERED and orc last-run columns built the same way, and a note when there is none.

use serde::Serialize;

use super::Context;
use crate::error::Result;
use crate::scheduler::{Desired, Fingerprint, Registered};

/// One row of `schedule --list`: the task and its registration, the backend's own `columns`,
/// and orc's last run of the task (as JSON, the columns stand between those, flattened).
#[derive(Debug, Serialize)]
pub(super) struct ListRow<C> {
    pub(super) task: String,
    pub(super) in_database: bool,
    pub(super) registered: bool,
    /// Whether the registration is what orc would register now (`null` when unknown).
    pub(super) in_sync: Option<bool>,
    pub(super) path: String,
    #[serde(flatten)]
    pub(super) columns: C,
    pub(super) orc_last_status: Option<String>,
    pub(super) orc_last_start: Option<String>,
}

impl<C> ListRow<C> {
    /// `orc_last`: the status and start (local ISO time) of orc's last run of the task.
    pub(super) fn new(
        task: &str,
        in_database: bool,
        registered: bool,
        in_sync: Option<bool>,
        path: String,
        (orc_last_status, orc_last_start): (Option<String>, Option<String>),
        columns: C,
    ) -> Self {
        let task = task.to_string();
        ListRow {
            task,
            in_database,
            registered,
            in_sync,
            path,
            columns,
            orc_last_status,
            orc_last_start,
        }
    }
}

/// Whether a task's registration (`reg`) is what orc would register now (`desired`); both
/// absent is in sync, one of them absent is not.
pub(super) fn in_sync(reg: Option<&Registered>, desired: Option<&Desired>) -> Option<bool> {
    match (reg, desired) {
        (Some(r), Some(d)) => Some(Fingerprint::differences(&d.expect, &r.seen).is_empty()),
        (None, None) => Some(true),
        _ => Some(false),
    }
}

/// Prints the rows as JSON, or as a table of `headers`: TASK, REGISTERED, then `cells`' own
/// columns, then the orc last-run column; `none` is said when there is no row.
pub(super) fn print<C: Serialize>(
    ctx: &mut Context<'_>,
    rows: &[ListRow<C>],
    headers: &[&str],
    none: &str,
    cells: impl Fn(&ListRow<C>) -> Vec<String>,
) -> Result<i32> {
    if ctx.json {
        ctx.print_json(rows)?;
        return Ok(0);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let registered = registered_label(r.in_database, r.registered, r.in_sync);
            let mut row = vec![r.task.clone(), registered];
            row.extend(cells(r));
            row.push(orc_last_cell(r.orc_last_status.as_deref(), r.orc_last_start.as_deref()));
            row
        })
        .collect();
    ctx.print_raw(&crate::render::table(headers, &table))?;
    if rows.is_empty() {
        ctx.print(none)?;
    }
    Ok(0)
}

/// `2026-03-01T02:30:00+01:00` → `2026-03-01 02:30`.
pub(super) fn short_time(iso: &str) -> String {
    iso.get(..16).map(|s| s.replace('T', " ")).unwrap_or_else(|| iso.to_string())
}

/// An optional time as a table cell.
pub(super) fn time_cell(iso: Option<&str>) -> String {
    iso.map(short_time).unwrap_or_else(|| "-".into())
}

/// The orc last-run column: `FAILED 2026-03-01 02:30`.
fn orc_last_cell(status: Option<&str>, start: Option<&str>) -> String {
    match (status, start) {
        (Some(s), Some(t)) => format!("{s} {}", short_time(t)),
        (Some(s), None) => s.to_string(),
        _ => "-".into(),
    }
}

/// The REGISTERED column, the same for every backend.
fn registered_label(in_database: bool, registered: bool, in_sync: Option<bool>) -> String {
    match (in_database, registered, in_sync) {
        (false, _, _) => "orphan (not in database)",
        (true, false, _) => "no",
        (true, true, Some(false)) => "yes, differs",
        (true, true, _) => "yes",
    }
    .to_string()
}

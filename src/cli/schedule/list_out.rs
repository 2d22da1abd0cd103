//! The output of `schedule --list`, one for every backend: the rows as JSON, or a table with
//! the REGISTERED and orc last-run columns built the same way, and a note when there is none.

use serde::Serialize;

use super::Context;
use crate::error::Result;

/// What every backend's `--list` row has in common (the rest of a row is its own columns).
pub(super) trait ListedTask: Serialize {
    fn task(&self) -> &str;
    /// In the database, registered, and whether the registration matches (None: not compared).
    fn registration(&self) -> (bool, bool, Option<bool>);
    /// orc's last run of the task: its status and start (local ISO time).
    fn orc_last(&self) -> (Option<&str>, Option<&str>);
}

/// Prints the rows as JSON, or as a table of `headers`: TASK, REGISTERED, then `cells`' own
/// columns, then the orc last-run column; `none` is said when there is no row.
pub(super) fn print<R: ListedTask>(
    ctx: &mut Context<'_>,
    rows: &[R],
    headers: &[&str],
    none: &str,
    cells: impl Fn(&R) -> Vec<String>,
) -> Result<i32> {
    if ctx.json {
        ctx.print_json(rows)?;
        return Ok(0);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (in_database, registered, in_sync) = r.registration();
            let mut row =
                vec![r.task().to_string(), registered_label(in_database, registered, in_sync)];
            row.extend(cells(r));
            row.push(orc_last_cell(r.orc_last()));
            row
        })
        .collect();
    ctx.print_raw(&crate::render::table(headers, &table))?;
    if rows.is_empty() {
        ctx.print(none)?;
    }
    Ok(0)
}

impl ListedTask for super::ListRow {
    fn task(&self) -> &str {
        &self.task
    }
    fn registration(&self) -> (bool, bool, Option<bool>) {
        (self.in_database, self.registered, self.in_sync)
    }
    fn orc_last(&self) -> (Option<&str>, Option<&str>) {
        (self.orc_last_status.as_deref(), self.orc_last_start.as_deref())
    }
}

impl ListedTask for super::CrontabListRow {
    fn task(&self) -> &str {
        &self.task
    }
    fn registration(&self) -> (bool, bool, Option<bool>) {
        (self.in_database, self.registered, self.in_sync)
    }
    fn orc_last(&self) -> (Option<&str>, Option<&str>) {
        (self.orc_last_status.as_deref(), self.orc_last_start.as_deref())
    }
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
fn orc_last_cell((status, start): (Option<&str>, Option<&str>)) -> String {
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

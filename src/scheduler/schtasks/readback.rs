//! How orc reads back what Task Scheduler holds for it. Pure: the calls are made by
//! [`super::SchtasksBackend`].
//!
//! Normally **one** `schtasks /Query /FO CSV /V /NH` lists every task; orc keeps the rows of
//! its folder with its prefix ([`registrations`]). That output cannot always be trusted or
//! obtained:
//!
//! * it **fails or times out** — one corrupt third-party task is enough to break the
//!   machine-wide query on Windows ([`falls_back`]);
//! * it is **suspicious** ([`suspicion`]): schtasks does not escape quotes nor line breaks in
//!   its CSV (`schtasks.md` §2.5), so the author of a foreign task can write a Description that
//!   reads as rows of orc's own tasks. The parser keeps a line break inside its field
//!   ([`super::csv::parse`]), but a Description that also supplies the rest of its own row
//!   can still split into well-formed lines: no text-level rule can tell those from real
//!   output. Every such forgery leaves a trace this module looks for: text naming orc's
//!   folder inside a foreign task's free-text columns, a record that could not be read, or a
//!   folder whose rows are interrupted by another folder's.
//!
//! In both cases orc reads the registrations it knows of (the tasks of the database and the
//! registrations it recorded) **one by one** with `/Query /TN <path> /FO CSV /V /NH`, which
//! only ever prints that task, and says so.

use std::collections::{BTreeMap, HashSet};

use super::super::{Fingerprint, Registered, SchedulerError};
use super::{TaskFolder, csv};
use crate::scheduler::taskxml;

/// True when a failed machine-wide query is worth retrying task by task: it failed, timed out
/// or printed something unreadable. Access denied, an unreachable service or a missing
/// program would refuse the per-task queries as well.
pub fn falls_back(e: &SchedulerError) -> bool {
    matches!(
        e,
        SchedulerError::Failed { .. }
            | SchedulerError::Timeout { .. }
            | SchedulerError::Parse { .. }
    )
}

/// Why the machine-wide output cannot be trusted for orc's folder, if it cannot.
pub fn suspicion(folder: &TaskFolder, parsed: &csv::Parsed) -> Option<String> {
    let head = format!("{}{}", folder.folder, folder.prefix).to_lowercase();
    if let Some(raw) = parsed.skipped.iter().find(|r| r.to_lowercase().contains(&head)) {
        return Some(format!(
            "a record naming orc's folder could not be read ({})",
            raw.chars().take(80).collect::<String>()
        ));
    }
    for row in &parsed.rows {
        if folder.task_of(row.task_name()).is_some() {
            continue;
        }
        let free = (csv::col::AUTHOR..=csv::col::COMMENT)
            .map(|c| row.get(c).to_lowercase())
            .collect::<Vec<_>>();
        if free.iter().any(|f| f.contains(&head)) {
            return Some(format!(
                "the task {} outside orc's folder carries text naming orc's folder",
                row.task_name()
            ));
        }
    }
    // schtasks lists one folder after another: a folder met again after another one means
    // rows that are not where Windows would print them.
    let mut done: HashSet<String> = HashSet::new();
    let mut current: Option<String> = None;
    for row in &parsed.rows {
        let name = row.task_name();
        let dir = name[..name.rfind('\\').unwrap_or(0)].to_lowercase();
        if current.as_deref() == Some(dir.as_str()) {
            continue;
        }
        if done.contains(&dir) {
            return Some(format!("the rows of folder {dir}\\ are not together"));
        }
        if let Some(c) = current.replace(dir) {
            done.insert(c);
        }
    }
    None
}

/// Columns of the verbose query that change by themselves (run times, state, result) or with
/// the machine's name; everything else about a registration is in its observed print.
const VOLATILE: [usize; 6] = [
    csv::col::HOST_NAME,
    csv::col::TASK_NAME,
    csv::col::NEXT_RUN_TIME,
    csv::col::STATUS,
    csv::col::LAST_RUN_TIME,
    csv::col::LAST_RESULT,
];

/// A short hash of the non-volatile columns of a task's rows (triggers, settings, principal,
/// action — all as localized text; compared only with an earlier print from the same machine).
pub fn observed_print(rows: &[&csv::Row]) -> String {
    let mut text = String::new();
    for row in rows {
        for (i, f) in row.fields().enumerate() {
            if !VOLATILE.contains(&i) {
                text.push_str(f.trim());
                text.push('\u{1f}');
            }
        }
        text.push('\u{1e}');
    }
    crate::scheduler::definition_hash(&text)
}

/// Groups query rows into orc's registrations (one per task path, rows = triggers).
pub fn registrations(folder: &TaskFolder, parsed: &csv::Parsed) -> Vec<Registered> {
    let mut by_path: BTreeMap<String, (String, Vec<&csv::Row>)> = BTreeMap::new();
    for row in &parsed.rows {
        let Some(task) = folder.task_of(row.task_name()) else { continue };
        by_path
            .entry(row.task_name().to_lowercase())
            .or_insert_with(|| (task, Vec::new()))
            .1
            .push(row);
    }
    by_path
        .into_values()
        .map(|(task, rows)| {
            let first = rows[0];
            let text = |c: usize| Some(first.get(c).to_string());
            Registered {
                task,
                path: first.task_name().to_string(),
                seen: Fingerprint {
                    hash: taskxml::extract_hash(first.get(csv::col::COMMENT)),
                    command: text(csv::col::TASK_TO_RUN),
                    workdir: text(csv::col::START_IN),
                    enabled: Some(first.enabled()),
                    triggers: Some(rows.len()),
                    observed: Some(observed_print(&rows)),
                },
                status: text(csv::col::STATUS),
                next_run: text(csv::col::NEXT_RUN_TIME),
                last_run: text(csv::col::LAST_RUN_TIME),
                last_result: first.last_result(),
                schedule: None,
            }
        })
        .collect()
}

/// The rows of one `/Query /TN <path>` that are that task (its own output; anything else is
/// ignored).
pub fn only(path: &str, parsed: csv::Parsed) -> csv::Parsed {
    csv::Parsed {
        rows: parsed
            .rows
            .into_iter()
            .filter(|r| r.task_name().eq_ignore_ascii_case(path))
            .collect(),
        skipped: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, comment: &str) -> String {
        let mut f = vec!["HOST", name, "N/A", "Ready", "Interactive only", "x", "0", "orc"];
        f.extend(["C:\\orc.exe --home \"C:\\h\" execute --task x --scheduled", "C:\\h", comment]);
        f.extend(["Enabled", "Disabled", "", "user", "Disabled", "72:00:00", "s", "Daily "]);
        f.extend(["02:00:00", "01/01/2024", "N/A", "Every 1 day(s)", "N/A", "Disabled"]);
        f.extend(["Disabled", "Disabled", "Disabled"]);
        assert_eq!(f.len(), csv::COLUMNS);
        format!("\"{}\"", f.join("\",\""))
    }

    fn parsed(lines: &[String]) -> csv::Parsed {
        csv::parse(&format!("\r\n{}\r\n", lines.join("\r\n")))
    }

    #[test]
    fn clean_output_is_trusted_and_grouped() {
        let folder = TaskFolder::default();
        let p = parsed(&[
            row("\\Backup", "nightly"),
            row("\\Microsoft\\Windows\\Defrag", "defrag"),
            row("\\Orchestrator\\Orc_a", "orc-hash: 0123456789abcdef"),
            row("\\Orchestrator\\Orc_a", "orc-hash: 0123456789abcdef"),
            row("\\Orchestrator\\Other", "not orc's"),
        ]);
        assert_eq!(suspicion(&folder, &p), None);
        let regs = registrations(&folder, &p);
        assert_eq!(regs.len(), 1);
        assert_eq!(regs[0].task, "a");
        assert_eq!(regs[0].seen.triggers, Some(2));
        assert_eq!(regs[0].seen.hash.as_deref(), Some("0123456789abcdef"));
    }

    #[test]
    fn forged_rows_make_the_output_suspicious() {
        let folder = TaskFolder::default();
        let victim = row("\\Orchestrator\\Orc_victim", "orc-hash: 0123456789abcdef");
        // The row inside a foreign Description stays in its Comment: named there.
        let p = parsed(&[row("\\Evil", &format!("x\r\n{victim}")), row("\\Zed", "z")]);
        let why = suspicion(&folder, &p).unwrap();
        assert!(why.contains("\\Evil") && why.contains("orc's folder"), "{why}");
        // A Description that also closes its own row: the forged lines parse as rows, but the
        // foreign task's folder is interrupted by orc's.
        let closed = format!(
            "x\",\"Enabled\",\"Disabled\",\"\",\"user\",\"Disabled\",\"72:00:00\",\"s\",\"Daily \",\"02:00:00\",\"01/01/2024\",\"N/A\",\"Every 1 day(s)\",\"N/A\",\"Disabled\",\"Disabled\",\"Disabled\",\"Disabled\"\r\n{victim}\r\n\"HOST\",\"\\Zed\",\"N/A\",\"Ready\",\"Interactive only\",\"x\",\"0\",\"orc\",\"c\",\"d\",\"y"
        );
        let p = parsed(&[row("\\Evil", &closed), row("\\Zzz", "last")]);
        let names: Vec<&str> = p.rows.iter().map(|r| r.task_name()).collect();
        assert_eq!(names, ["\\Evil", "\\Orchestrator\\Orc_victim", "\\Zed", "\\Zzz"]);
        let why = suspicion(&folder, &p).unwrap();
        assert!(why.contains("not together"), "{why}");
        // A record naming orc's folder that could not be read.
        let p =
            csv::Parsed { rows: vec![], skipped: vec!["\"H\",\"\\Orchestrator\\Orc_x\"".into()] };
        assert!(suspicion(&folder, &p).unwrap().contains("could not be read"));
        // Foreign text that merely mentions another folder is fine.
        let p = parsed(&[row("\\Evil", "see \\Orchestrator\\Other")]);
        assert_eq!(suspicion(&folder, &p), None);
    }

    #[test]
    fn per_task_output_keeps_only_that_task() {
        let p = parsed(&[row("\\Orchestrator\\Orc_a", "a"), row("\\Orchestrator\\Orc_b", "b")]);
        let one = only("\\orchestrator\\ORC_A", p);
        assert_eq!(one.rows.len(), 1);
        assert_eq!(one.rows[0].task_name(), "\\Orchestrator\\Orc_a");
    }

    #[test]
    fn only_failures_and_timeouts_fall_back() {
        let failed = SchedulerError::Failed {
            program: "schtasks".into(),
            args: "/Query".into(),
            code: 1,
            stderr: "ERROR: The task image is corrupt or has been tampered with.".into(),
        };
        assert!(falls_back(&failed));
        let timeout = SchedulerError::Timeout {
            program: "schtasks".into(),
            args: "/Query".into(),
            secs: 120,
        };
        assert!(falls_back(&timeout));
        let denied = SchedulerError::AccessDenied { program: "s".into(), args: "/Query".into() };
        assert!(!falls_back(&denied));
        let down = SchedulerError::Unavailable { program: "s".into(), reason: "r".into() };
        assert!(!falls_back(&down));
    }
}

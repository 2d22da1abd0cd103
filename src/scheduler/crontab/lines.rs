//! A task's lines in orc's block: its schedule line and, for a task that also starts at boot
//! ([`crate::task::TaskSpec::at_boot`]), an `@reboot` line with the same command after it.
//!
//! `@reboot` is one of cron's macros: the job runs once when the cron daemon starts, i.e. at
//! boot (crontab(5), cronie and Vixie cron; `/work/shared/reference/cron.md`). orc's cron
//! grammar still refuses `@reboot` as a task's **schedule** (a boot start has no slot); the
//! line is a second trigger of the same `orc execute --task NAME --scheduled` command, which
//! with catch-up `once` (required for `at_boot`) serves the latest slot missed while the
//! machine was off, once. A task's lines are its registration: they are hashed, compared and
//! replaced together.

use std::path::Path;

use super::cronblock::{self, Entry, Found};

/// The schedule text of the boot line.
pub(super) const REBOOT: &str = "@reboot";

/// The registered text of a task: its schedule line, then its `@reboot` line when
/// `at_boot` (joined with `\n`, no final newline).
pub(super) fn definition(orc_exe: &Path, home: &Path, entry: &Entry, at_boot: bool) -> String {
    let mut out = cronblock::line(orc_exe, home, entry);
    if at_boot {
        let boot = Entry { schedule: REBOOT.to_string(), ..entry.clone() };
        out.push('\n');
        out.push_str(&cronblock::line(orc_exe, home, &boot));
    }
    out
}

/// Whether a found line is a task's boot line.
pub(super) fn is_boot(f: &Found) -> bool {
    f.schedule == REBOOT
}

/// The lines of a block grouped by task (names compared ignoring case), each group in block
/// order, groups in the order of their first line.
pub(super) fn by_task(found: &[Found]) -> Vec<Vec<&Found>> {
    let mut groups: Vec<Vec<&Found>> = Vec::new();
    for f in found {
        match groups.iter_mut().find(|g| g[0].task.eq_ignore_ascii_case(&f.task)) {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups
}

/// A task's lines as one registered text (what [`definition`] makes for them).
pub(super) fn joined(lines: &[&Found]) -> String {
    lines.iter().map(|f| f.line.as_str()).collect::<Vec<_>>().join("\n")
}

/// The task's schedule line: the first line that is not a boot line (else the first).
pub(super) fn schedule_line<'a>(lines: &[&'a Found]) -> &'a Found {
    lines.iter().copied().find(|f| !is_boot(f)).unwrap_or(lines[0])
}

/// What differs in the number of lines of a task between the crontab (`have`) and orc
/// (`want`): duplicated lines, a missing or extra `@reboot` line.
pub(super) fn count_differences(have: &[&Found], want: &[&Found]) -> Vec<String> {
    let count = |lines: &[&Found], boot: bool| lines.iter().filter(|f| is_boot(f) == boot).count();
    let mut out = Vec::new();
    let schedule_lines = count(have, false);
    if schedule_lines > 1 {
        out.push(format!("the block holds {schedule_lines} lines for this task; orc keeps one"));
    }
    match (count(have, true), count(want, true)) {
        (0, 0) => {}
        (0, _) => out.push(format!("at boot: the crontab has no {REBOOT} line, orc registers one")),
        (_, 0) => out.push(format!("at boot: the crontab has a {REBOOT} line, orc registers none")),
        (1, _) => {}
        (n, _) => out.push(format!("at boot: the block holds {n} {REBOOT} lines; orc keeps one")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_boot_task_has_its_line_and_a_reboot_line() {
        let (exe, home) = (Path::new("/usr/bin/orc"), Path::new("/var/lib/orc"));
        let entry = Entry { task: "w".into(), schedule: "*/5 * * * *".into(), enabled: true };
        let text = definition(exe, home, &entry, true);
        let log = home.join("logs").join("cron.log"); // the platform's separator
        let command = format!(
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             '/usr/bin/orc' --home '/var/lib/orc' execute --task w --scheduled \
             >>'{}' 2>&1",
            log.display()
        );
        assert_eq!(text, format!("*/5 * * * * {command}\n@reboot {command}"));
        assert_eq!(definition(exe, home, &entry, false), format!("*/5 * * * * {command}"));
        let found = cronblock::parse_block(&text);
        let groups = by_task(&found);
        assert_eq!(groups.len(), 1);
        assert_eq!(joined(&groups[0]), text);
        assert_eq!(schedule_line(&groups[0]).schedule, "*/5 * * * *");
        assert!(count_differences(&groups[0], &groups[0]).is_empty());
        let plain = cronblock::parse_block(&definition(exe, home, &entry, false));
        let plain: Vec<&Found> = plain.iter().collect();
        assert_eq!(
            count_differences(&plain, &groups[0]),
            ["at boot: the crontab has no @reboot line, orc registers one"]
        );
        assert_eq!(
            count_differences(&groups[0], &plain),
            ["at boot: the crontab has a @reboot line, orc registers none"]
        );
        // Disabled: both lines are comments.
        let off = Entry { enabled: false, ..entry };
        let text = definition(exe, home, &off, true);
        assert!(text.lines().all(|l| l.starts_with(cronblock::DISABLED)), "{text}");
        assert_eq!(cronblock::parse_block(&text).len(), 2);
    }
}

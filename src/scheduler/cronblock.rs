//! orc's block in a crontab: rendering, finding and replacing it. Pure text functions.
//!
//! orc owns exactly one marked block per home:
//!
//! ```text
//! # BEGIN orc 1a2b3c4d5e6f7a8b — managed by `orc schedule`; edits here are overwritten
//! # home: /var/lib/orc
//! 0 2 * * * PATH=/usr/local/bin:/usr/bin:/bin '/usr/local/bin/orc' --home '/var/lib/orc' execute --task nightly --scheduled >>'/var/lib/orc/logs/cron.log' 2>&1
//! # disabled: 5 * * * * … --task hourly …
//! # END orc 1a2b3c4d5e6f7a8b
//! ```
//!
//! Everything outside the block is kept byte for byte. Environment assignments are put on
//! each command rather than as `NAME=value` lines, because a crontab assignment also changes
//! every line after it — including the user's own.

use std::path::Path;

/// One line of the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The task name (validated: `[A-Za-z0-9._-]`).
    pub task: String,
    /// The cron expression.
    pub schedule: String,
    /// Disabled tasks are kept as a comment, so `--list` can show them.
    pub enabled: bool,
}

/// A task line found in an existing block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub task: String,
    pub schedule: String,
    pub enabled: bool,
    /// The whole line as it stands in the crontab.
    pub line: String,
}

/// The PATH given to scheduled runs (cron's own default is only `/usr/bin:/bin`).
pub const CRON_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn begin_marker(id: &str) -> String {
    format!("# BEGIN orc {id}")
}

fn end_marker(id: &str) -> String {
    format!("# END orc {id}")
}

/// Quotes a string for `/bin/sh` and escapes `%`, which cron turns into a newline.
pub fn sh_quote(s: &str) -> String {
    let quoted = format!("'{}'", s.replace('\'', "'\\''"));
    quoted.replace('%', "\\%")
}

/// The command line cron runs for a task.
pub fn command_line(orc_exe: &Path, home: &Path, task: &str) -> String {
    let log = home.join("logs").join("cron.log");
    format!(
        "PATH={CRON_PATH} {} --home {} execute --task {task} --scheduled >>{} 2>&1",
        sh_quote(&orc_exe.to_string_lossy()),
        sh_quote(&home.to_string_lossy()),
        sh_quote(&log.to_string_lossy()),
    )
}

/// Renders the whole block (with a trailing newline), or `None` when there is nothing to
/// register (no block at all is better than an empty one).
pub fn render(id: &str, orc_exe: &Path, home: &Path, entries: &[Entry]) -> Option<String> {
    if entries.is_empty() {
        return None;
    }
    let mut out = format!(
        "{} — managed by `orc schedule`; edits here are overwritten\n# home: {}\n",
        begin_marker(id),
        home.display()
    );
    for e in entries {
        let line =
            format!("{} {}", normalise_spaces(&e.schedule), command_line(orc_exe, home, &e.task));
        if e.enabled {
            out.push_str(&line);
        } else {
            out.push_str("# disabled: ");
            out.push_str(&line);
        }
        out.push('\n');
    }
    out.push_str(&end_marker(id));
    out.push('\n');
    Some(out)
}

fn normalise_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Byte range of the block (from its BEGIN line to the end of its END line) in `crontab`.
fn block_range(crontab: &str, id: &str) -> Option<(usize, usize)> {
    let begin = begin_marker(id);
    let end = end_marker(id);
    let mut offset = 0;
    let mut start = None;
    for line in crontab.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if start.is_none() && (bare == begin || bare.starts_with(&format!("{begin} "))) {
            start = Some(offset);
        } else if start.is_some() && bare == end {
            return Some((start.unwrap_or(0), offset + line.len()));
        }
        offset += line.len();
    }
    // A BEGIN without END (hand-damaged): treat the rest of the file as the block.
    start.map(|s| (s, crontab.len()))
}

/// The current block's text, if any.
pub fn current_block<'a>(crontab: &'a str, id: &str) -> Option<&'a str> {
    block_range(crontab, id).map(|(a, b)| &crontab[a..b])
}

/// Returns `crontab` with orc's block replaced by `block` (or removed when `None`; appended
/// when there was none). Everything else is preserved byte for byte.
pub fn splice(crontab: &str, id: &str, block: Option<&str>) -> String {
    match block_range(crontab, id) {
        Some((a, b)) => {
            let mut out = String::with_capacity(crontab.len());
            out.push_str(&crontab[..a]);
            if let Some(block) = block {
                out.push_str(block);
            }
            out.push_str(&crontab[b..]);
            out
        }
        None => match block {
            None => crontab.to_string(),
            Some(block) => {
                let mut out = crontab.to_string();
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(block);
                out
            }
        },
    }
}

/// Parses the task lines of orc's block.
pub fn parse_block(block: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for line in block.lines() {
        let (enabled, body) = match line.strip_prefix("# disabled: ") {
            Some(rest) => (false, rest),
            None if line.starts_with('#') => continue,
            None => (true, line),
        };
        let Some(task) = task_of(body) else { continue };
        let schedule = schedule_of(body);
        found.push(Found { task, schedule, enabled, line: line.to_string() });
    }
    found
}

fn task_of(line: &str) -> Option<String> {
    let rest = line.split(" execute --task ").nth(1)?;
    let name = rest.split_whitespace().next()?;
    Some(name.to_string())
}

fn schedule_of(line: &str) -> String {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.first().is_some_and(|f| f.starts_with('@')) {
        return fields[0].to_string();
    }
    fields.iter().take(5).copied().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<Entry> {
        vec![
            Entry { task: "nightly".into(), schedule: "0  2 * * *".into(), enabled: true },
            Entry { task: "hourly".into(), schedule: "@hourly".into(), enabled: false },
        ]
    }

    #[test]
    fn quoting_survives_sh_and_cron() {
        assert_eq!(sh_quote("/opt/o'rc/bin"), "'/opt/o'\\''rc/bin'");
        assert_eq!(sh_quote("/data/100%"), "'/data/100\\%'");
    }

    #[test]
    fn render_and_parse_round_trip() {
        let block = render("abc", Path::new("/usr/bin/orc"), Path::new("/var/lib/orc"), &entries())
            .unwrap();
        assert!(block.starts_with("# BEGIN orc abc "));
        assert!(block.ends_with("# END orc abc\n"));
        assert!(block.contains(
            "0 2 * * * PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             '/usr/bin/orc' --home '/var/lib/orc' execute --task nightly --scheduled \
             >>'/var/lib/orc/logs/cron.log' 2>&1\n"
        ));
        let found = parse_block(&block);
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].task.as_str(), found[0].schedule.as_str(), found[0].enabled),
            ("nightly", "0 2 * * *", true)
        );
        assert_eq!(
            (found[1].task.as_str(), found[1].schedule.as_str(), found[1].enabled),
            ("hourly", "@hourly", false)
        );
        assert_eq!(render("abc", Path::new("/o"), Path::new("/h"), &[]), None);
    }

    #[test]
    fn splice_preserves_foreign_lines_byte_for_byte() {
        let foreign_head =
            "MAILTO=ops@example.com\r\n# mine\n15 3 * * * /usr/local/bin/backup --full\n";
        let foreign_tail = "@reboot /opt/thing\n\n# trailing comment without newline";
        let block = render("abc", Path::new("/o"), Path::new("/h"), &entries()).unwrap();
        // Append to a crontab with no block (and no trailing newline).
        let with = splice(foreign_tail, "abc", Some(&block));
        assert!(with.starts_with(foreign_tail));
        assert!(with.ends_with(&block));
        // Replace in the middle.
        let middle = format!("{foreign_head}{block}{foreign_tail}");
        let other = render("abc", Path::new("/o"), Path::new("/h"), &entries()[..1]).unwrap();
        let replaced = splice(&middle, "abc", Some(&other));
        assert_eq!(replaced, format!("{foreign_head}{other}{foreign_tail}"));
        // Remove.
        assert_eq!(splice(&middle, "abc", None), format!("{foreign_head}{foreign_tail}"));
        // Another home's block is not ours.
        let theirs = render("zzz", Path::new("/o"), Path::new("/h2"), &entries()).unwrap();
        let both = format!("{theirs}{block}");
        assert_eq!(splice(&both, "abc", None), theirs);
        assert_eq!(current_block(&both, "zzz"), Some(theirs.as_str()));
        // Idempotent.
        assert_eq!(splice(&with, "abc", Some(&block)), with);
    }

    #[test]
    fn damaged_block_without_end_is_replaced_to_the_end() {
        let text = "1 1 * * * keep\n# BEGIN orc abc — x\n0 2 * * * junk\n";
        assert_eq!(splice(text, "abc", None), "1 1 * * * keep\n");
    }
}

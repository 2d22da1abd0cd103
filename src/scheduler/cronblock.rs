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

/// Quotes a string for `/bin/sh` inside a crontab line, where cron reads it first.
///
/// Cron cuts the command at the first `%` and turns later ones into newlines on stdin, unless
/// the `%` directly follows a backslash: then it drops that backslash and keeps the `%`
/// (crontab(5); Vixie cron / cronie `do_command.c`). A backslash before anything else is kept
/// and takes the next character with it, so `\\%` (the path's own backslash, then the one
/// added for cron) is still cut. Hence each `%` is written **outside** the single quotes as
/// `\%`: the character before it is always the closing `'`, which leaves cron's escape state
/// clear; cron turns `\%` into `%`, and `sh` takes an unquoted `%` literally.
/// The `sh` part is [`crate::quote::sh`]; this adds cron's `%` escape.
pub fn sh_quote(s: &str) -> String {
    crate::quote::sh(s).replace('%', "'\\%'")
}

/// What cron hands to `sh` for a command: cut at the first `%` not preceded by a backslash,
/// and `\%` turned into `%` (crontab(5); Vixie cron / cronie `do_command.c`). The rule
/// [`sh_quote`] is written against; the unit and integration tests emulate cron with it.
pub fn cron_unescape(line: &str) -> String {
    let mut out = String::new();
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            if c == '%' {
                out.pop();
            }
            out.push(c);
            escaped = false;
            continue;
        }
        if c == '%' {
            break;
        }
        escaped = c == '\\';
        out.push(c);
    }
    out
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

/// One task's line as it stands in the block (without a newline): the schedule and the
/// command, behind `# disabled: ` when the task is disabled.
pub fn line(orc_exe: &Path, home: &Path, entry: &Entry) -> String {
    let live = format!(
        "{} {}",
        normalise_spaces(&entry.schedule),
        command_line(orc_exe, home, &entry.task)
    );
    if entry.enabled { live } else { format!("{DISABLED}{live}") }
}

/// The prefix of a disabled task's line.
pub const DISABLED: &str = "# disabled: ";

/// Renders the whole block (with a trailing newline), or `None` when there is nothing to
/// register (no block at all is better than an empty one).
pub fn render(id: &str, orc_exe: &Path, home: &Path, entries: &[Entry]) -> Option<String> {
    let lines: Vec<String> = entries.iter().map(|e| line(orc_exe, home, e)).collect();
    render_lines(id, home, &lines)
}

/// Renders a block around task lines made by [`line`] (kept as given, in the given order), or
/// `None` when there are none.
pub fn render_lines(id: &str, home: &Path, lines: &[String]) -> Option<String> {
    if lines.is_empty() {
        return None;
    }
    let mut out = format!(
        "{} — managed by `orc schedule`; edits here are overwritten\n# home: {}\n",
        begin_marker(id),
        home.display()
    );
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&end_marker(id));
    out.push('\n');
    Some(out)
}

fn normalise_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where orc's block is in a crontab, or why it cannot be edited safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockState {
    /// No block for this id.
    Absent,
    /// The block spans this byte range (from its BEGIN line to the end of its END line).
    Found(usize, usize),
    /// A BEGIN line without a matching END line (hand-damaged): where the block ends cannot
    /// be known, so nothing after the BEGIN line may be touched.
    Unterminated {
        /// 1-based line number of the BEGIN line.
        line: usize,
    },
    /// More than one BEGIN line for this id (e.g. copied by hand).
    Duplicated {
        /// 1-based line numbers of the BEGIN lines.
        first: usize,
        second: usize,
    },
}

/// Finds orc's block in the raw bytes of a crontab (any encoding outside the block; lines end
/// with `\n` or `\r\n`).
pub fn locate(crontab: &[u8], id: &str) -> BlockState {
    let begin = begin_marker(id);
    let begin_sp = format!("{begin} ");
    let end = end_marker(id);
    let mut offset = 0;
    let mut open: Option<(usize, usize)> = None; // (byte offset, line number)
    let mut found: Option<(usize, usize, usize)> = None; // (start, end, begin line)
    for (i, raw) in crontab.split_inclusive(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let bare = trim_eol(raw);
        let is_begin = bare == begin.as_bytes() || bare.starts_with(begin_sp.as_bytes());
        if is_begin {
            if let Some((_, first)) = open {
                return BlockState::Duplicated { first, second: n };
            }
            if let Some((_, _, first)) = found {
                return BlockState::Duplicated { first, second: n };
            }
            open = Some((offset, n));
        } else if bare == end.as_bytes()
            && let Some((start, first)) = open.take()
        {
            found = Some((start, offset + raw.len(), first));
        }
        offset += raw.len();
    }
    match (open, found) {
        (Some((_, line)), _) => BlockState::Unterminated { line },
        (None, Some((a, b, _))) => BlockState::Found(a, b),
        (None, None) => BlockState::Absent,
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\n' | b'\r'] = l {
        l = rest;
    }
    l
}

/// Byte range of the block in `crontab` (from its BEGIN line to the end of its END line).
/// A BEGIN without END (hand-damaged) is taken to run to the end of the text; callers that
/// edit a user's crontab check [`locate`] first and refuse that case.
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
    start.map(|s| (s, crontab.len()))
}

/// The current block's text, if any.
pub fn current_block<'a>(crontab: &'a str, id: &str) -> Option<&'a str> {
    block_range(crontab, id).map(|(a, b)| &crontab[a..b])
}

/// Returns `crontab` with orc's block replaced by `block` (or removed when `None`; appended
/// when there was none). Everything else is preserved byte for byte.
pub fn splice(crontab: &str, id: &str, block: Option<&str>) -> String {
    let range = block_range(crontab, id);
    let bytes = splice_at(crontab.as_bytes(), range, block);
    // Only whole UTF-8 pieces were joined.
    String::from_utf8(bytes).unwrap_or_default()
}

/// [`splice`] on raw bytes (the crontab may hold text in any encoding outside orc's block),
/// for a crontab whose block [`locate`] found as `state` (`Absent` or `Found`; the other
/// states are treated as `Absent` and must be refused by the caller).
pub fn splice_bytes(crontab: &[u8], state: BlockState, block: Option<&str>) -> Vec<u8> {
    let range = match state {
        BlockState::Found(a, b) => Some((a, b)),
        _ => None,
    };
    splice_at(crontab, range, block)
}

fn splice_at(crontab: &[u8], range: Option<(usize, usize)>, block: Option<&str>) -> Vec<u8> {
    let block = block.map(str::as_bytes);
    let mut out = Vec::with_capacity(crontab.len() + block.map_or(0, <[u8]>::len) + 1);
    match range {
        Some((a, b)) => {
            out.extend_from_slice(&crontab[..a]);
            if let Some(block) = block {
                out.extend_from_slice(block);
            }
            out.extend_from_slice(&crontab[b..]);
        }
        None => {
            out.extend_from_slice(crontab);
            if let Some(block) = block {
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
                out.extend_from_slice(block);
            }
        }
    }
    out
}

/// Parses the task lines of orc's block.
pub fn parse_block(block: &str) -> Vec<Found> {
    let mut found = Vec::new();
    for line in block.lines() {
        let (enabled, body) = match line.strip_prefix(DISABLED) {
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

/// The command part of a task line (after the schedule; without the `# disabled: ` prefix).
pub fn command_of(line: &str) -> String {
    let body = line.strip_prefix(DISABLED).unwrap_or(line).trim_start();
    let fields = if body.starts_with('@') { 1 } else { 5 };
    let mut rest = body;
    for _ in 0..fields {
        rest = rest.trim_start();
        rest = rest.find(char::is_whitespace).map_or("", |i| &rest[i..]);
    }
    rest.trim().to_string()
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
        assert_eq!(sh_quote("/data/100%"), "'/data/100'\\%''");
        assert_eq!(sh_quote("/d/a\\%b"), "'/d/a\\'\\%'b'");
        // issue 12 finding 6: what cron passes on, `sh` reads back as the original string.
        for s in ["/data/100%", "/d/a\\%b", "/d/a\\\\%b", "%%", "/x/\\", "o'r%c\\'%", "%\\%'\\"] {
            let quoted = format!("run {} >>log", sh_quote(s));
            let cmd = cron_unescape(&quoted);
            assert!(cmd.ends_with(">>log"), "cron cut {quoted:?} to {cmd:?}");
            let word = &cmd["run ".len()..cmd.len() - " >>log".len()];
            let out = std::process::Command::new("/bin/sh")
                .arg("-c")
                .arg(format!("printf '%s' {word}"))
                .output();
            if let Ok(out) = out {
                assert_eq!(String::from_utf8_lossy(&out.stdout), *s, "{quoted:?}");
            }
        }
    }

    #[test]
    fn render_and_parse_round_trip() {
        let block = render("abc", Path::new("/usr/bin/orc"), Path::new("/var/lib/orc"), &entries())
            .unwrap();
        assert!(block.starts_with("# BEGIN orc abc "));
        assert!(block.ends_with("# END orc abc\n"));
        // The log path is joined with the platform's separator (these tests also run on
        // Windows).
        let log = Path::new("/var/lib/orc").join("logs").join("cron.log");
        assert!(block.contains(&format!(
            "0 2 * * * PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
             '/usr/bin/orc' --home '/var/lib/orc' execute --task nightly --scheduled \
             >>'{}' 2>&1\n",
            log.display()
        )));
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

    #[test]
    fn locate_finds_the_block_and_refuses_damage() {
        let block = render("abc", Path::new("/o"), Path::new("/h"), &entries()).unwrap();
        let text = format!("x\r\n{block}y\n");
        match locate(text.as_bytes(), "abc") {
            BlockState::Found(a, b) => assert_eq!(&text[a..b], block),
            other => panic!("{other:?}"),
        }
        assert_eq!(locate(b"x\n", "abc"), BlockState::Absent);
        assert_eq!(locate(text.as_bytes(), "zzz"), BlockState::Absent);
        let unterminated = "1 1 * * * keep\n# BEGIN orc abc \u{2014} x\n0 2 * * * junk\n";
        assert_eq!(locate(unterminated.as_bytes(), "abc"), BlockState::Unterminated { line: 2 });
        let twice = format!("{block}{block}");
        assert_eq!(locate(twice.as_bytes(), "abc"), BlockState::Duplicated { first: 1, second: 6 });
        // CRLF line ends around the markers are fine (a crontab edited on Windows).
        let crlf = block.replace('\n', "\r\n");
        assert!(
            matches!(locate(crlf.as_bytes(), "abc"), BlockState::Found(0, n) if n == crlf.len())
        );
        // A marker for an id that merely starts with ours is not ours.
        let longer = render("abcd", Path::new("/o"), Path::new("/h"), &entries()).unwrap();
        assert_eq!(locate(longer.as_bytes(), "abc"), BlockState::Absent);
    }

    #[test]
    fn splice_bytes_keeps_any_encoding_outside_the_block() {
        let block = render("abc", Path::new("/o"), Path::new("/h"), &entries()).unwrap();
        let head: &[u8] = b"# caf\xe9\r\n";
        let tail: &[u8] = b"\xff\xfe 5 5 * * * x";
        let mut text = head.to_vec();
        text.extend_from_slice(block.as_bytes());
        text.extend_from_slice(tail);
        let state = locate(&text, "abc");
        let removed = splice_bytes(&text, state, None);
        assert_eq!(removed, [head, tail].concat());
        assert_eq!(splice_bytes(&text, state, Some(&block)), text);
        let appended = splice_bytes(tail, BlockState::Absent, Some(&block));
        assert_eq!(appended, [tail, b"\n", block.as_bytes()].concat());
    }

    #[test]
    fn lines_and_their_command_part() {
        let on = line(Path::new("/usr/bin/orc"), Path::new("/h"), &entries()[0]);
        let off = line(Path::new("/usr/bin/orc"), Path::new("/h"), &entries()[1]);
        assert!(on.starts_with("0 2 * * * PATH="));
        assert!(off.starts_with("# disabled: @hourly PATH="));
        assert_eq!(
            command_of(&on),
            command_line(Path::new("/usr/bin/orc"), Path::new("/h"), "nightly")
        );
        assert_eq!(
            command_of(&off),
            command_line(Path::new("/usr/bin/orc"), Path::new("/h"), "hourly")
        );
    }
}

#[cfg(test)]
mod fuzz;

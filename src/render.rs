//! Small helpers for human-readable output (tables, durations). Pure functions.
//!
//! "Render" means three things in orc; this module is only the first:
//! * here: formatting values for a terminal (tables, `1h 5m`, escaped user strings);
//! * `scheduler::Backend::render`: building the registration a task should have with the OS
//!   scheduler (Task Scheduler XML, a crontab line);
//! * `notify::message::render*` and `report::render`: filling the mail and report templates.

/// User data made safe to echo on a terminal or into a log: control characters (CR, LF,
/// ESC, …) and bidirectional overrides are shown escaped (`\r`, `\n`, `\t`, `\u{1b}`), so a
/// value cannot fake extra lines, move the cursor or reorder what follows. The one helper
/// for every human output that echoes a user's or a legacy database's strings.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Formats rows as a left-aligned table with a header and a separator line.
/// Cells are single-line (newlines and tabs are shown as spaces, other control characters
/// escaped by [`printable`]).
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let clean = |s: &str| printable(&s.replace(['\n', '\r', '\t'], " ")).into_owned();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    let rows: Vec<Vec<String>> =
        rows.iter().map(|r| r.iter().map(|c| clean(c)).collect()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let mut s = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            if i + 1 == widths.len() {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>(), &mut out);
    line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(), &mut out);
    for row in &rows {
        line(row, &mut out);
    }
    out
}

/// A duration in seconds as a short human string: `45s`, `30m`, `1h30m`, `2d`.
pub fn secs(total: u64) -> String {
    if total == 0 {
        return "0s".to_string();
    }
    let (d, h, m, s) = (total / 86_400, total / 3600 % 24, total / 60 % 60, total % 60);
    let mut out = String::new();
    for (v, unit) in [(d, "d"), (h, "h"), (m, "m"), (s, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    }
    out
}

/// Milliseconds as a short human string (`850ms`, `12.3s`, `4m05s`).
pub fn millis(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60)
    }
}

/// A size in bytes as a short human string (`512 B`, `1.5 KiB`, `3.2 GiB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_in_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }

    #[test]
    fn printable_escapes_what_could_spoof_a_line() {
        assert_eq!(printable("mail.example.com"), "mail.example.com");
        assert_eq!(printable("a\r\nset  smtp.host = x"), "a\\r\\nset  smtp.host = x");
        assert_eq!(printable("\u{1b}[2Kok\u{202e}"), "\\u{1b}[2Kok\\u{202e}");
        let t = table(&["A"], &[vec!["x\u{1b}[31my\nz".into()]]);
        assert_eq!(t, "A\n--------------\nx\\u{1b}[31my z\n");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(
            &["NAME", "X"],
            &[vec!["a".into(), "1".into()], vec!["long".into(), "22".into()]],
        );
        assert_eq!(t, "NAME  X\n----  --\na     1\nlong  22\n");
    }

    #[test]
    fn durations() {
        assert_eq!(secs(0), "0s");
        assert_eq!(secs(45), "45s");
        assert_eq!(secs(1800), "30m");
        assert_eq!(secs(5400), "1h30m");
        assert_eq!(secs(172_800), "2d");
        assert_eq!(millis(850), "850ms");
        assert_eq!(millis(12_345), "12.3s");
        assert_eq!(millis(245_000), "4m05s");
    }
}

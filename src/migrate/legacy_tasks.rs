//! The legacy orchestrator's Task Scheduler registrations (`\Orchestrator\Orc_*` running
//! `python … orc.py --task …`): find, save, remove, restore.
//!
//! The `sched` branch's scheduler backend is not on main yet, so this is a minimal runner of
//! its own that honours `ORC_SCHTASKS` exactly like the scheduler will. Output is parsed by
//! column position (the verbose CSV is localized): column 2 is TaskName, column 9 Task To Run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};
use crate::scheduler::SchedulerError;

/// A registration found by [`list`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registration {
    /// Full path, e.g. `\Orchestrator\Orc_daily_sales_etl`.
    pub path: String,
    /// "Task To Run".
    pub action: String,
}

impl Registration {
    /// The leaf name (`Orc_daily_sales_etl`).
    pub fn leaf(&self) -> &str {
        self.path.rsplit('\\').next().unwrap_or(&self.path)
    }
}

/// True for a legacy registration: in the folder, with the prefix, and its action runs python
/// on `orc.py`.
pub fn is_legacy(r: &Registration, folder: &str, prefix: &str) -> bool {
    let folder = folder.trim_end_matches('\\');
    let Some(leaf) = r.path.strip_prefix(folder).and_then(|s| s.strip_prefix('\\')) else {
        return false;
    };
    let action = r.action.to_ascii_lowercase();
    leaf.len() >= prefix.len()
        && leaf[..prefix.len()].eq_ignore_ascii_case(prefix)
        && !leaf.contains('\\')
        && action.contains("python")
        && action.contains("orc.py")
}

/// True for one of orc's own registrations (its action is `orc … execute --task …`).
pub fn is_orc(r: &Registration, folder: &str, prefix: &str) -> bool {
    let folder = folder.trim_end_matches('\\');
    let Some(leaf) = r.path.strip_prefix(folder).and_then(|s| s.strip_prefix('\\')) else {
        return false;
    };
    leaf.len() >= prefix.len()
        && leaf[..prefix.len()].eq_ignore_ascii_case(prefix)
        && !r.action.to_ascii_lowercase().contains("python")
        && r.action.contains("execute --task")
}

/// The schtasks program: `ORC_SCHTASKS`, else `schtasks.exe`.
pub fn program() -> PathBuf {
    crate::env_vars::get(crate::env_vars::ORC_SCHTASKS)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("schtasks.exe"))
}

fn run(args: &[&str]) -> Result<Vec<u8>> {
    let program = program();
    let shown = program.display().to_string();
    let out = Command::new(&program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| SchedulerError::Spawn { program: shown.clone(), source })?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let stderr = decode(&out.stderr).trim().to_string();
    let args_text = args.join(" ");
    if stderr.to_ascii_lowercase().contains("access is denied") {
        return Err(SchedulerError::AccessDenied { program: shown, args: args_text }.into());
    }
    Err(SchedulerError::Failed {
        program: shown,
        args: args_text,
        code: i64::from(out.status.code().unwrap_or(-1)),
        stderr,
    }
    .into())
}

/// Text from schtasks output: UTF-16LE when it starts with a BOM, else UTF-8 (lossy).
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text)
}

/// Parses CSV (quoted fields, `""` escapes) into rows.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut fields = Vec::new();
        let mut cur = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(c),
            }
        }
        fields.push(cur);
        rows.push(fields);
    }
    rows
}

/// Every registration (one per task, though the CSV has one row per trigger).
pub fn list() -> Result<Vec<Registration>> {
    let out = run(&["/Query", "/FO", "CSV", "/V", "/NH"])?;
    let mut regs: Vec<Registration> = Vec::new();
    for row in parse_csv(&decode(&out)) {
        if row.len() < 9 || !row[1].starts_with('\\') {
            continue;
        }
        if regs.iter().any(|r| r.path.eq_ignore_ascii_case(&row[1])) {
            continue;
        }
        regs.push(Registration { path: row[1].clone(), action: row[8].clone() });
    }
    Ok(regs)
}

/// The task's XML as schtasks exports it.
pub fn export_xml(path: &str) -> Result<String> {
    Ok(decode(&run(&["/Query", "/TN", path, "/XML"])?))
}

/// Deletes a registration.
pub fn delete(path: &str) -> Result<()> {
    run(&["/Delete", "/TN", path, "/F"]).map(|_| ())
}

/// Writes `xml` as UTF-16LE with BOM (what `schtasks /Create /XML` reads).
pub fn write_utf16(file: &Path, xml: &str) -> Result<()> {
    let mut bytes = vec![0xFF, 0xFE];
    for u in xml.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    std::fs::write(file, bytes).map_err(|e| Error::io("write", file, e))
}

/// Reads a file written by [`write_utf16`].
pub fn read_utf16(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
    Ok(decode(&bytes))
}

/// Re-creates a registration from a saved XML file.
pub fn create_from_xml(path: &str, file: &Path) -> Result<()> {
    let file = file.to_string_lossy();
    run(&["/Create", "/TN", path, "/XML", &file, "/F"]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_classification() {
        let text = "\"H\",\"\\Orchestrator\\Orc_a b\",\"N/A\",\"Ready\",\"x\",\"t\",\"0\",\"me\",\"C:\\Py\\python.exe C:\\orc\\orc.py --task \"\"a b\"\"\",\"\"\n\
                    \"H\",\"\\Orchestrator\\Orc_a b\",\"N/A\",\"Ready\",\"x\",\"t\",\"0\",\"me\",\"C:\\Py\\python.exe C:\\orc\\orc.py --task \"\"a b\"\"\",\"\"\n\
                    \"H\",\"\\Orchestrator\\Orc_new\",\"N/A\",\"Ready\",\"x\",\"t\",\"0\",\"me\",\"C:\\orc\\orc.exe --home \"\"C:\\h\"\" execute --task new --scheduled\",\"\"\n\
                    \"H\",\"\\Other\\Orc_x\",\"N/A\",\"Ready\",\"x\",\"t\",\"0\",\"me\",\"python.exe C:\\orc\\orc.py --task x\",\"\"\n";
        let rows = parse_csv(text);
        assert_eq!(rows[0][8], r#"C:\Py\python.exe C:\orc\orc.py --task "a b""#);
        let regs: Vec<Registration> = rows
            .iter()
            .map(|r| Registration { path: r[1].clone(), action: r[8].clone() })
            .collect();
        assert!(is_legacy(&regs[0], "\\Orchestrator\\", "Orc_"));
        assert!(!is_legacy(&regs[2], "\\Orchestrator\\", "Orc_"));
        assert!(is_orc(&regs[2], "\\Orchestrator\\", "Orc_"));
        assert!(!is_legacy(&regs[3], "\\Orchestrator\\", "Orc_"));
        assert_eq!(regs[0].leaf(), "Orc_a b");
    }

    #[test]
    fn utf16_round_trip() {
        let dir = std::env::temp_dir().join(format!("orc-utf16-{}", std::process::id()));
        let f = dir.join("x.xml");
        write_utf16(&f, "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task>é</Task>").unwrap();
        assert_eq!(&std::fs::read(&f).unwrap()[..2], &[0xFF, 0xFE]);
        assert_eq!(
            read_utf16(&f).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task>é</Task>"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

//! The legacy orchestrator's Task Scheduler registrations (`\\Orchestrator\\Orc_*` running
//! `python … orc.py --task …`): find, save, remove, restore — through the scheduler's schtasks
//! runner ([`crate::scheduler::schtasks::Schtasks`], so `ORC_SCHTASKS` applies) and its folder
//! rules ([`TaskFolder`]). Rows are read by column position (the verbose CSV is localized).

use std::path::Path;

use crate::error::{Error, Result};
use crate::scheduler::schtasks::{Schtasks, TaskFolder, csv::col, readback};

/// A registration found by [`list`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Registration {
    /// Full path, e.g. `\\Orchestrator\\Orc_daily_sales_etl`.
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

/// True for a legacy registration: in orc's folder with orc's prefix, and its action runs
/// python on `orc.py`.
pub fn is_legacy(r: &Registration, folder: &TaskFolder) -> bool {
    let action = r.action.to_ascii_lowercase();
    folder.task_of(&r.path).is_some() && action.contains("python") && action.contains("orc.py")
}

/// True for one of orc's own registrations (its action is `orc … execute --task …`).
pub fn is_orc(r: &Registration, folder: &TaskFolder) -> bool {
    folder.task_of(&r.path).is_some()
        && !r.action.to_ascii_lowercase().contains("python")
        && r.action.contains("execute --task")
}

/// The schtasks runner (as the scheduler locates it).
pub fn runner() -> Result<Schtasks> {
    Ok(Schtasks::new(Schtasks::locate()?, None))
}

/// Every registration (one per task, though the CSV has one row per trigger). When the
/// machine-wide output looks forged ([`readback::suspicion`]: a foreign Description carrying
/// rows for orc's folder), each registration in orc's folder is confirmed with its own
/// `/Query /TN` and its action taken from there, so a forged row can neither invent one nor
/// give it another action.
pub fn list(runner: &Schtasks, folder: &TaskFolder) -> Result<Vec<Registration>> {
    let parsed = runner.query_all()?;
    let suspicious = readback::suspicion(folder, &parsed).is_some();
    let mut regs: Vec<Registration> = Vec::new();
    for row in &parsed.rows {
        let path = row.task_name().to_string();
        if !path.starts_with('\\') || regs.iter().any(|r| r.path.eq_ignore_ascii_case(&path)) {
            continue;
        }
        let mut action = row.get(col::TASK_TO_RUN).to_string();
        if suspicious && folder.task_of(&path).is_some() {
            let own = runner.query_task(&path)?.map(|p| readback::only(&path, p));
            match own.as_ref().and_then(|p| p.rows.first()) {
                Some(r) => action = r.get(col::TASK_TO_RUN).to_string(),
                None => continue,
            }
        }
        regs.push(Registration { path, action });
    }
    Ok(regs)
}

/// The task's XML as schtasks exports it.
pub fn export_xml(runner: &Schtasks, path: &str) -> Result<String> {
    Ok(runner.query_xml(path)?)
}

/// Deletes a registration.
pub fn delete(runner: &Schtasks, path: &str) -> Result<()> {
    Ok(runner.delete(path)?)
}

/// Re-creates a registration from a saved XML file (`/Create /TN … /XML … /F`).
pub fn create_from_xml(runner: &Schtasks, path: &str, file: &Path) -> Result<()> {
    Ok(runner.create(path, file, None)?)
}

/// Text from a saved file: UTF-16LE when it starts with a BOM, else UTF-8 (lossy).
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text)
}

/// Writes `xml` as UTF-16LE with BOM (what `schtasks /Create /XML` reads).
pub fn write_utf16(file: &Path, xml: &str) -> Result<()> {
    let mut bytes = vec![0xFF, 0xFE];
    for u in xml.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    if let Some(dir) = file.parent() {
        crate::fsx::ensure_private_dir(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    crate::fsx::create_private_file(file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
        .map_err(|e| Error::io("write", file, e))
}

/// Reads a file written by [`write_utf16`].
pub fn read_utf16(file: &Path) -> Result<String> {
    let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, e))?;
    Ok(decode(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let folder = TaskFolder::new("\\Orchestrator\\", "Orc_").unwrap();
        let reg = |p: &str, a: &str| Registration { path: p.into(), action: a.into() };
        let legacy =
            reg(r"\Orchestrator\Orc_a b", r#"C:\Py\pythonw.exe "C:\orc\orc.py" --task "a b""#);
        assert!(is_legacy(&legacy, &folder) && !is_orc(&legacy, &folder));
        assert_eq!(legacy.leaf(), "Orc_a b");
        let mine = reg(
            r"\Orchestrator\Orc_new",
            r#"C:\orc\orc.exe --home "C:\h" execute --task new --scheduled"#,
        );
        assert!(is_orc(&mine, &folder) && !is_legacy(&mine, &folder));
        assert!(!is_legacy(&reg(r"\Other\Orc_x", r"python.exe C:\orc\orc.py --task x"), &folder));
        assert!(!is_legacy(&reg(r"\Orchestrator\Sub\Orc_x", r"python.exe C:\orc\orc.py"), &folder));
        assert!(!is_legacy(&reg(r"\Orchestrator\Backup", r"python.exe C:\orc\orc.py"), &folder));
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

//! Where orc's tasks live in Task Scheduler: the folder and name-prefix rules.

use crate::error::{Error, Result};

/// Default task folder (`scheduler.folder`).
pub const DEFAULT_FOLDER: &str = "\\Orchestrator\\";
/// Default task name prefix (`scheduler.prefix`).
pub const DEFAULT_PREFIX: &str = "Orc_";

/// Where orc's tasks live in Task Scheduler: a folder and a name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFolder {
    /// Normalized: starts and ends with `\`, e.g. `\Orchestrator\`.
    pub folder: String,
    pub prefix: String,
}

impl Default for TaskFolder {
    fn default() -> Self {
        TaskFolder { folder: DEFAULT_FOLDER.to_string(), prefix: DEFAULT_PREFIX.to_string() }
    }
}

impl TaskFolder {
    /// Validates and normalizes the settings (`Orchestrator` → `\Orchestrator\`).
    pub fn new(folder: &str, prefix: &str) -> Result<TaskFolder> {
        use crate::scheduler::limits;
        limits::check_prefix(prefix)
            .map_err(|rule| Error::invalid("scheduler.prefix", prefix, rule))?;
        let trimmed = folder.trim_matches('\\');
        let canonical =
            if trimmed.is_empty() { "\\".to_string() } else { format!("\\{trimmed}\\") };
        if folder.is_empty() {
            return Err(Error::invalid("scheduler.folder", folder, limits::FOLDER_RULE));
        }
        limits::check_folder(&canonical)
            .map_err(|rule| Error::invalid("scheduler.folder", folder, rule))?;
        limits::check_folder_and_prefix(&canonical, prefix)?;
        Ok(TaskFolder { folder: canonical, prefix: prefix.to_string() })
    }

    /// The stored `scheduler.folder` and `scheduler.prefix` (through [`crate::config::table`]),
    /// else defaults. Read raw, because [`TaskFolder::new`] also accepts a folder stored
    /// without its final `\` that `orc config set` refuses (left as it was; see issue 13).
    pub fn from_config(conn: &crate::store::sql::Connection) -> Result<TaskFolder> {
        let folder = crate::config::table::stored(conn, "scheduler.folder");
        let prefix = crate::config::table::stored(conn, "scheduler.prefix");
        TaskFolder::new(
            folder.as_deref().unwrap_or(DEFAULT_FOLDER),
            prefix.as_deref().unwrap_or(DEFAULT_PREFIX),
        )
    }

    /// The task path of an orc task: `\Orchestrator\Orc_<name>`.
    pub fn path_of(&self, task: &str) -> String {
        format!("{}{}{}", self.folder, self.prefix, task)
    }

    /// The orc task name of a task path, when the path is directly in orc's folder and starts
    /// with orc's prefix (compared case-insensitively, as Task Scheduler does).
    pub fn task_of(&self, path: &str) -> Option<String> {
        let path = if path.starts_with('\\') { path.to_string() } else { format!("\\{path}") };
        let head = format!("{}{}", self.folder, self.prefix);
        if path.len() <= head.len() || !path.is_char_boundary(head.len()) {
            return None;
        }
        let (start, rest) = path.split_at(head.len());
        if start.to_lowercase() != head.to_lowercase() || rest.contains('\\') {
            return None;
        }
        Some(rest.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_settings_are_validated_and_normalized() {
        let f = TaskFolder::new("Orchestrator", "Orc_").unwrap();
        assert_eq!(f.folder, "\\Orchestrator\\");
        assert_eq!(TaskFolder::new("\\Ops\\Jobs\\", "").unwrap().folder, "\\Ops\\Jobs\\");
        let root = TaskFolder::new("\\", "Orc_").unwrap();
        assert_eq!(root.path_of("x"), "\\Orc_x");
        assert_eq!(root.task_of("\\Orc_x").as_deref(), Some("x"));
        assert_eq!(root.task_of("\\Microsoft\\Orc_x"), None);
        assert!(TaskFolder::new("\\", "").unwrap_err().to_string().contains("prefix"));
        assert!(TaskFolder::new("", "").is_err());
        for bad in ["\\a\\\\b\\", "\\a:b\\", "\\..\\", "\\ x\\", "\\a\u{7}\\"] {
            let e = TaskFolder::new(bad, "Orc_").unwrap_err();
            assert!(e.to_string().contains("scheduler.folder"), "{bad:?}: {e}");
        }
        assert!(
            TaskFolder::new("\\O\\", "a b").unwrap_err().to_string().contains("scheduler.prefix")
        );
        assert!(TaskFolder::new("\\O\\", &"x".repeat(17)).is_err());
        assert!(TaskFolder::new("\\O\\", &"x".repeat(16)).is_ok());
    }

    #[test]
    fn only_direct_children_with_the_prefix_belong_to_orc() {
        let f = TaskFolder::default();
        assert_eq!(f.path_of("nightly"), "\\Orchestrator\\Orc_nightly");
        assert_eq!(f.task_of("\\Orchestrator\\Orc_nightly").as_deref(), Some("nightly"));
        assert_eq!(f.task_of("\\orchestrator\\ORC_Nightly").as_deref(), Some("Nightly"));
        assert_eq!(f.task_of("Orchestrator\\Orc_x").as_deref(), Some("x"));
        for other in [
            "\\Orchestrator\\Other",
            "\\Orchestrator\\Orc_",
            "\\Orchestrator\\Sub\\Orc_x",
            "\\Orchestrator\\Orc_a\\b",
            "\\Microsoft\\Windows\\Orc_x",
            "\\Orc_x",
            "\\OrchestratorX\\Orc_x",
            "\\Orchesträ",
        ] {
            assert_eq!(f.task_of(other), None, "{other}");
        }
    }
}

//! orc's error type and the exit codes of the CLI, defined in one place.
//!
//! Subsystems keep their own typed errors with context fields ([`crate::store::StoreError`],
//! [`crate::scheduler::SchedulerError`], [`crate::vault::VaultError`]); [`Error`] gathers them and
//! decides the process exit code. Rendering happens once, in [`crate::cli`].

use std::path::PathBuf;

/// Process exit codes. [`exit::TABLE`] is the documented table (`docs/reference/exit-codes.md`
/// is generated from it). `orc execute` additionally passes the task's own exit code through
/// so that Task Scheduler's "Last Run Result" shows it.
pub mod exit {
    /// Success (and `orc execute` of a task that succeeded or was skipped by policy).
    pub const SUCCESS: i32 = 0;
    /// A general failure that is none of the below (e.g. a mail that could not be sent).
    pub const FAILURE: i32 = 1;
    /// Usage error or invalid input; nothing was changed.
    pub const USAGE: i32 = 2;
    /// No such task or credential.
    pub const NOT_FOUND: i32 = 3;
    /// The OS scheduler (schtasks or crontab) refused or failed.
    pub const SCHEDULER: i32 = 4;
    /// Storage error: database locked past the busy timeout, corrupt, full.
    pub const STORAGE: i32 = 5;
    /// Secrets locked or undecryptable.
    pub const SECRETS: i32 = 6;
    /// `orc execute`: dependencies not met and the task's policy calls that a failure.
    pub const DEPS_UNMET: i32 = 7;
    /// `orc execute`: the task ran past its timeout and was killed.
    pub const TIMEOUT: i32 = 124;

    /// Every code above with its documented meaning, in order (add a row with a new code).
    pub const TABLE: &[(i32, &str)] = &[
        (SUCCESS, "success; for `orc execute`, the task succeeded or was skipped by policy"),
        (
            FAILURE,
            "a general failure (e.g. mail could not be sent); `orc watch`: incidents are open",
        ),
        (USAGE, "usage or invalid input — nothing was changed"),
        (NOT_FOUND, "no such task or credential"),
        (
            SCHEDULER,
            "the OS scheduler (schtasks / crontab) refused or failed; its message is shown",
        ),
        (STORAGE, "storage error: database locked past the busy timeout, corrupt, or full"),
        (SECRETS, "secrets locked or undecryptable"),
        (
            DEPS_UNMET,
            "`orc execute`: dependencies not met and the task's policy says that is a failure",
        ),
        (TIMEOUT, "`orc execute`: the task timed out and its whole process tree was killed"),
    ];

    /// What any other code means.
    pub const OTHER: &str = "`orc execute`: the task's own exit code, passed through so Task \
                             Scheduler's \"Last Run Result\" shows it";
}

/// Every error the library reports to the CLI.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input: names the field, the value and the rule it broke.
    #[error("invalid {field} {value:?}: {rule}")]
    Invalid { field: String, value: String, rule: String },

    /// A usage error that is not about one field's value (e.g. conflicting flags).
    #[error("{0}")]
    Usage(String),

    /// A named object does not exist.
    #[error("no such {what}: {name:?}")]
    NotFound { what: &'static str, name: String },

    #[error(transparent)]
    Scheduler(#[from] crate::scheduler::SchedulerError),

    #[error(transparent)]
    Store(#[from] crate::store::StoreError),

    #[error(transparent)]
    Vault(#[from] crate::vault::VaultError),

    /// A file orc needed to read or write.
    #[error(transparent)]
    Io(IoFailure),

    /// Anything else that failed, with a message meant for the user.
    #[error("{0}")]
    Failed(String),
}

/// A file operation that failed: what orc was doing, on which path, and why
/// (`create the directory of /x: permission denied`). Shared by [`Error::Io`] and
/// [`crate::scheduler::SchedulerError::Io`].
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct IoFailure {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl IoFailure {
    pub fn new(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IoFailure { action, path: path.into(), source }
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Invalid { field: field.into(), value: shorten(value.into()), rule: rule.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io(IoFailure::new(action, path, source))
    }

    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. }
            | Error::Usage(_)
            | Error::Store(crate::store::StoreError::Location { .. }) => exit::USAGE,
            Error::NotFound { .. } => exit::NOT_FOUND,
            Error::Scheduler(_) => exit::SCHEDULER,
            Error::Store(_) => exit::STORAGE,
            Error::Vault(e) => e.exit_code(),
            Error::Io(_) | Error::Failed(_) => exit::FAILURE,
        }
    }

    /// A stable snake_case kind for `--json` error output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid { .. } | Error::Store(crate::store::StoreError::Location { .. }) => {
                "invalid_input"
            }
            Error::Usage(_) => "usage",
            Error::NotFound { .. } => "not_found",
            Error::Scheduler(_) => "scheduler",
            Error::Store(_) => "storage",
            Error::Vault(_) => "secrets",
            Error::Io(_) => "io",
            Error::Failed(_) => "failed",
        }
    }
}

/// Longest value quoted in an [`Error::Invalid`] message; longer ones are cut with a note.
const MAX_QUOTED_CHARS: usize = 100;

/// Keeps error messages readable when the refused value is huge (a 32 KiB variable, a
/// 10,000-character schedule): the first characters and the total length.
fn shorten(value: String) -> String {
    let count = value.chars().count();
    if count <= MAX_QUOTED_CHARS {
        return value;
    }
    let head: String = value.chars().take(MAX_QUOTED_CHARS - 20).collect();
    format!("{head}… ({count} characters)")
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_invalid_values_are_shortened() {
        let e = Error::invalid("--env", "x".repeat(40_000), "too long");
        let text = e.to_string();
        assert!(text.len() < 200, "{text}");
        assert!(text.contains("(40000 characters)"), "{text}");
        let e = Error::invalid("--env", "short", "rule");
        assert_eq!(e.to_string(), "invalid --env \"short\": rule");
    }
}

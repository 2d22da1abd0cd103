//! `orc doctor`: health checks of an orc installation. The facts are gathered with I/O in
//! [`gather`]; every check is a pure function of them in [`checks`] (unit-tested there); the
//! safe fixes are applied by the CLI (`cli/doctor.rs`), which owns the commands they reuse.

pub mod checks;
pub mod gather;

use std::path::PathBuf;

use chrono::{DateTime, Local, Utc};
use serde::Serialize;

use crate::store::maint::CheckReport;
use crate::task::next_run::NextRun;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// A safe fix `orc doctor --fix` can apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fix {
    /// Bring the home's permissions back to orc's rules.
    Permissions,
    /// Enable the Task Scheduler operational log.
    HistoryLog,
    /// Re-register what differs (`orc schedule --all`).
    Reregister,
}

/// One check's result: `{"name","status","detail","fix"}` in `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// One line: what was found.
    pub detail: String,
    /// One line: what to do about it (empty when nothing is to be done).
    pub fix: String,
    /// What `--fix` would do about it.
    #[serde(skip)]
    pub auto_fix: Option<Fix>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: String::new(),
            auto_fix: None,
        }
    }

    pub fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, status: Status::Warn, detail: detail.into(), fix: fix.into(), auto_fix: None }
    }

    pub fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check { name, status: Status::Fail, detail: detail.into(), fix: fix.into(), auto_fix: None }
    }

    /// Marks the check as fixable by `--fix` (only when it is not ok).
    pub fn fixable(mut self, fix: Fix) -> Check {
        if self.status != Status::Ok {
            self.auto_fix = Some(fix);
        }
        self
    }
}

/// Why the OS scheduler could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchedulerProblem {
    /// Not elevated, or the caller is refused.
    AccessDenied(String),
    /// The service (or cron daemon) is not running / not reachable.
    Unavailable(String),
    /// Anything else (the program is missing, odd output…).
    Other(String),
}

/// What the vault looks like to a non-interactive run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultFacts {
    /// No credential is stored: nothing to unlock.
    Empty,
    /// Unlocked without a prompt by this method; `advice` when the tasks' accounts cannot.
    Unlocked { method: String, advice: Option<String> },
    /// Could not be unlocked without a prompt.
    Locked(String),
}

/// Mail settings and what depends on them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailFacts {
    /// `smtp.host` (port appended), `None` when mail is off.
    pub relay: Option<String>,
    /// Whether `mail.to` or a task's own `--email` gives a recipient.
    pub has_recipients: bool,
    /// Tasks whose notification policy sends mail.
    pub tasks_notifying: usize,
    /// With `--online`: the result of connecting to the relay.
    pub online: Option<Result<(), String>>,
}

/// One task's registration entry as a dry-run reconcile sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftEntry {
    pub task: String,
    /// `create|update|delete|unchanged`.
    pub action: String,
    /// The OS scheduler holds something orc did not register.
    pub drift: bool,
}

/// A registered executable as the scheduler starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExeSeen {
    pub path: String,
    pub tasks: Vec<String>,
    pub exists: bool,
    /// `orc --version` of that executable (first line), when it could be run.
    pub version: Option<String>,
}

/// Everything the checks look at.
#[derive(Debug, Clone)]
pub struct Facts {
    /// `schtasks` or `crontab`.
    pub backend: &'static str,
    pub now: DateTime<Local>,
    /// Registrations orc found, or why the scheduler could not be read.
    pub scheduler: Result<usize, SchedulerProblem>,
    /// Whether the cron daemon runs (crontab backend on Linux; `None` when unknown).
    pub cron_daemon: Option<bool>,
    pub home: PathBuf,
    /// Permission problems of the home, one line each (empty: as orc sets them).
    pub home_problems: Vec<String>,
    pub db: Result<CheckReport, String>,
    /// The schema version this orc writes.
    pub schema_expected: i64,
    pub vault: VaultFacts,
    pub mail: MailFacts,
    /// The reconcile plan (dry run), or why it could not be made.
    pub drift: Result<Vec<DriftEntry>, String>,
    /// Every task's next start.
    pub schedules: Vec<(String, NextRun)>,
    /// Tasks whose latest finished runs failed in a row, with the count.
    pub streaks: Vec<(String, usize)>,
    /// (available, total) bytes of the home's volume.
    pub disk: Option<(u64, u64)>,
    /// The newest time orc recorded (a run start or end).
    pub newest_record: Option<DateTime<Utc>>,
    /// `ORC_NOW` is set (the clock is pretended).
    pub clock_overridden: bool,
    /// The executable `orc schedule` registers now, and its version.
    pub this_exe: String,
    pub this_version: String,
    pub registered_exes: Vec<ExeSeen>,
    /// The Task Scheduler operational log (schtasks backend only).
    pub history_log: Option<Result<bool, String>>,
}

/// Exit code of `orc doctor`: 1 when a check fails.
pub fn exit_code(checks: &[Check]) -> i32 {
    if checks.iter().any(|c| c.status == Status::Fail) {
        crate::error::exit::FAILURE
    } else {
        crate::error::exit::SUCCESS
    }
}

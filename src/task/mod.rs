//! The task model: what a task is, as stored, exported and shown.
//!
//! A [`TaskSpec`] is plain data; [`validate`] checks every field and returns an
//! [`crate::Error::Invalid`] naming the field, the value and the rule.
//!
//! - [`validate`]: field rules (pure);
//! - [`deps`]: the dependency grammar, the typed [`deps::Dependency`], cycle detection;
//! - [`patch`]: flag text → [`TaskSpec`] for add and edit;
//! - [`repo`]: the `tasks` table, with audit rows;
//! - [`transfer`]: the export document and the import plan.

pub mod deps;
pub mod next_run;
pub mod ops;
pub mod patch;
pub mod repo;
pub mod runas;
pub mod status;
pub mod transfer;
pub mod validate;
pub mod view;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use validate::{validate, validate_name};

/// How the command line is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    /// `cmd.exe /d /s /c COMMAND` (default on Windows).
    #[cfg_attr(windows, default)]
    Cmd,
    /// `powershell.exe -NoLogo -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command …`,
    /// the command followed by an epilogue that keeps a native program's exit code
    /// (`exec::process`, `process/powershell.rs`).
    Powershell,
    /// `pwsh -NoLogo -NoProfile -NonInteractive -Command …`, with the same epilogue.
    Pwsh,
    /// `/bin/sh -c COMMAND` (default on Unix).
    #[cfg_attr(not(windows), default)]
    Sh,
    /// No shell: the command is split into program and arguments and run directly.
    None,
}

/// Delay growth between retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    #[default]
    Fixed,
    Exponential,
}

/// When to send mail about a task's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NotifyPolicy {
    /// Use the `notify.default` setting.
    #[default]
    Default,
    /// After the final attempt of a failed run.
    Failure,
    /// After every run.
    Always,
    /// Never.
    Never,
    /// On the first success after failures.
    Recovery,
}

/// What to do when a run is due while the previous one is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// Do not start; record SKIPPED.
    #[default]
    Skip,
    /// Wait for the running one to finish, then run.
    Queue,
    /// Run alongside.
    Parallel,
}

/// What to do about starts missed while the machine was off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Missed slots are not run.
    #[default]
    None,
    /// At most one catch-up run (Task Scheduler's StartWhenAvailable).
    Once,
}

/// Where a task assigned to several hosts runs each slot (issue 18, `src/fleet/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunOn {
    /// Once per slot, on whichever host claims it first.
    #[default]
    Any,
    /// Once per slot on every host it is assigned to.
    All,
}

/// What an unmet dependency means for the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnUnmet {
    /// Record SKIPPED and exit 0.
    #[default]
    Skip,
    /// Record SKIPPED and exit 7 so the scheduler shows a failure.
    Fail,
}

/// A task definition. Field names are the stable JSON contract (`--json`, export/import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    pub name: String,
    pub command: String,
    #[serde(default)]
    pub shell: Shell,
    /// The cron expression exactly as typed.
    pub schedule: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub workdir: Option<String>,
    /// Seconds; `None` means no timeout.
    #[serde(default = "default_timeout")]
    pub timeout: Option<u64>,
    #[serde(default)]
    pub retries: u32,
    /// Seconds before the first retry.
    #[serde(default = "default_retry_delay")]
    pub retry_delay: u64,
    #[serde(default)]
    pub backoff: Backoff,
    /// Exit codes that are retried; empty means every failure is retried.
    #[serde(default)]
    pub retry_on: Vec<i64>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Allows `env` to override PATH, SystemRoot, ComSpec and similar.
    #[serde(default)]
    pub allow_env_override: bool,
    /// Environment variable → credential name in the vault.
    #[serde(default)]
    pub secret_env: BTreeMap<String, String>,
    /// Dependency specs as typed (`file:…`, `url:…`, `tcp:…`, `cmd:…`, `task:…`).
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub on_unmet: OnUnmet,
    #[serde(default)]
    pub notify: NotifyPolicy,
    /// Alert after this many consecutive failures (1 = every failed run).
    #[serde(default = "one")]
    pub notify_after: u32,
    #[serde(default)]
    pub email: Vec<String>,
    /// Notification channels alerted (`--notify-channel`; `email` is the built-in mail);
    /// empty: the `notify.channels` setting.
    #[serde(default)]
    pub notify_channels: Vec<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub overlap: Overlap,
    #[serde(default)]
    pub catch_up: CatchUp,
    /// `None`: the registering user; `SYSTEM`; or an account name.
    #[serde(default)]
    pub run_as: Option<String>,
    /// `--logon`: `None` is the default for the account (see [`runas::Principal::resolve`]).
    #[serde(default)]
    pub logon: Option<runas::Logon>,
    #[serde(default)]
    pub wake_to_run: bool,
    /// Also start the task when the machine boots (Task Scheduler `BootTrigger`, crontab
    /// `@reboot`). The start is a scheduled one: with catch-up `once` (required) it runs the
    /// latest slot missed while the machine was off, unless that slot already ran.
    #[serde(default)]
    pub at_boot: bool,
    /// Windows: the task's Job Object lets a child started with `CREATE_BREAKAWAY_FROM_JOB`
    /// leave it (and survive the run's end or timeout). Off: the whole tree is killed.
    #[serde(default)]
    pub allow_breakaway: bool,
    /// Fleet: the hosts (`h1`) and host groups (`@group`) the task runs on; empty: every host
    /// that schedules it.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Fleet: `any` (once per slot across its hosts) or `all` (once per slot per host).
    #[serde(default)]
    pub run_on: RunOn,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn default_timeout() -> Option<u64> {
    Some(DEFAULT_TIMEOUT_SECS)
}
fn default_retry_delay() -> u64 {
    DEFAULT_RETRY_DELAY_SECS
}

/// Default timeout: one hour.
pub const DEFAULT_TIMEOUT_SECS: u64 = 3600;
/// Default delay before a retry: one minute.
pub const DEFAULT_RETRY_DELAY_SECS: u64 = 60;

impl TaskSpec {
    /// A task with every optional field at its default.
    pub fn new(name: &str, command: &str, schedule: &str) -> TaskSpec {
        TaskSpec {
            name: name.to_string(),
            command: command.to_string(),
            shell: Shell::default(),
            schedule: schedule.to_string(),
            enabled: true,
            workdir: None,
            timeout: default_timeout(),
            retries: 0,
            retry_delay: DEFAULT_RETRY_DELAY_SECS,
            backoff: Backoff::Fixed,
            retry_on: Vec::new(),
            env: BTreeMap::new(),
            allow_env_override: false,
            secret_env: BTreeMap::new(),
            depends_on: Vec::new(),
            on_unmet: OnUnmet::Skip,
            notify: NotifyPolicy::Default,
            notify_after: 1,
            email: Vec::new(),
            notify_channels: Vec::new(),
            owner: None,
            description: None,
            overlap: Overlap::Skip,
            catch_up: CatchUp::None,
            run_as: None,
            logon: None,
            wake_to_run: false,
            at_boot: false,
            allow_breakaway: false,
            hosts: Vec::new(),
            run_on: RunOn::Any,
        }
    }

    /// Total attempts (first run plus retries).
    pub fn attempts(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

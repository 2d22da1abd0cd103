//! OS scheduler backends: Windows Task Scheduler (through schtasks.exe) and crontab.
//!
//! # How reconciliation works
//!
//! `orc schedule` makes the OS scheduler hold exactly the tasks of the database:
//!
//! 1. the CLI loads the tasks and asks the backend to **render** each one into a [`Desired`]
//!    registration (the full definition the backend would install, its hash, and what a
//!    query of the OS scheduler shows when that definition is installed: a [`Fingerprint`]);
//! 2. the backend reports what the OS scheduler holds with **one** query
//!    ([`Backend::registered`]);
//! 3. the pure function [`plan`] compares both (plus orc's own record of what it last
//!    registered, the `registrations` table) and decides, per task, `create`, `update`,
//!    `delete` or `unchanged`, flagging **drift** when the OS scheduler holds something orc did
//!    not register (edited by hand, deleted by hand, registered by someone else);
//! 4. the backend **applies** only the changes ([`Backend::apply`]);
//! 5. [`registrations::record`] records the outcome in the `registrations` table and
//!    [`reconcile::report`] builds the report.
//!
//! Steps 3 and 5 are backend-independent: the pure part (plan, report) lives in [`reconcile`],
//! the I/O around it (loading, read back, recording) in [`registrations`]; a backend
//! implements only rendering, one query and applying.
//!
//! # Writing a backend
//!
//! Implement [`Backend`] (the two implementations: [`schtasks::SchtasksBackend`] and
//! [`crontab::CrontabBackend`]):
//!
//! * [`Backend::kind`] is the `backend` column of the `registrations` table (`"schtasks"`,
//!   `"crontab"`); [`Backend::host`] its `host` column (`""` for the local machine).
//! * [`Backend::render`] turns a task into a [`Desired`]: `path` is the identity of the
//!   registration in the OS scheduler (crontab: `crontab:<home id>/<name>`),
//!   `definition` the exact text installed (the crontab line), `hash` a short hash of it
//!   ([`definition_hash`]), and `expect` the fields of a [`Fingerprint`] the backend can read
//!   back from the OS (crontab: the hash of the line as it stands, its command part, whether
//!   it is commented out). Return `Ok(None)` for a task the backend does not register at all
//!   — [`plan`] then deletes any registration it still has. (Both backends register disabled
//!   tasks: schtasks disabled, crontab as a `# disabled:` comment.)
//! * [`Backend::registered`] lists, with one query, the registrations that belong to orc
//!   (for crontab: the lines inside orc's marked block), each with the same fingerprint fields
//!   filled from what the OS shows. Anything that does not belong to orc is never returned and
//!   never touched.
//! * [`Backend::apply`] performs the `create`/`update`/`delete` entries of a [`Plan`] (it must
//!   skip `unchanged` ones), calling `progress(done, total)` as it goes, and returns one
//!   [`Outcome`] per entry it was asked to change. The crontab backend applies the whole
//!   plan in one write of the crontab, and reports the same result for every entry.
//! * [`Backend::drift_details`] is optional: human-readable lines saying what differs in a
//!   drifted registration.
//!
//! Everything else — loading tasks, the registrations table, dry-run, JSON, progress bar,
//! the report — is shared.

pub mod cronblock;
pub mod crontab;
pub mod limits;
pub(crate) mod program;
pub mod reconcile;
pub mod registrations;
pub mod schtasks;
pub mod taskxml;
pub mod validate;
pub mod wevtutil;

use std::path::{Path, PathBuf};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::task::TaskSpec;

pub use reconcile::{Plan, PlanEntry, plan};

/// Errors from the OS scheduler, with the program, its arguments, its exit code and stderr.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{program} {args} was refused: Access is denied. Run orc from an elevated \
         (Administrator) shell"
    )]
    AccessDenied { program: String, args: String },
    #[error("{program} {args} failed (exit code {code}): {stderr}")]
    Failed { program: String, args: String, code: i64, stderr: String },
    #[error("{program} is not available: {reason}")]
    Unavailable { program: String, reason: String },
    #[error("unexpected output from {program}: {detail}")]
    Parse { program: String, detail: String },
    /// The program did not finish in time and was killed.
    #[error("{program} {args} did not finish within {secs} s and was stopped")]
    Timeout { program: String, args: String, secs: u64 },
    /// A change that was not attempted because an earlier one failed in a way that would make
    /// every further attempt fail too (access denied, service unavailable).
    #[error("not attempted: {reason}")]
    NotAttempted { reason: String },
    /// orc could not prepare what it hands to the scheduler (e.g. the XML file).
    #[error(transparent)]
    Io(crate::error::IoFailure),
}

impl SchedulerError {
    /// True when retrying other changes is pointless (the same cause would refuse them too).
    pub fn is_fatal_for_batch(&self) -> bool {
        matches!(
            self,
            SchedulerError::AccessDenied { .. }
                | SchedulerError::Unavailable { .. }
                | SchedulerError::Spawn { .. }
        )
    }
}

/// What a query of the OS scheduler shows about one registration, reduced to the parts orc
/// compares. A field is compared only when the backend fills it in [`Desired::expect`];
/// `None` in [`Registered::seen`] then counts as a difference.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    /// The definition hash orc wrote into the registration (Description / marker comment).
    pub hash: Option<String>,
    /// The command line the scheduler starts (schtasks: "Task To Run").
    pub command: Option<String>,
    /// The working directory (schtasks: "Start In").
    pub workdir: Option<String>,
    /// Whether the registration is enabled.
    pub enabled: Option<bool>,
    /// How many triggers the registration has (schtasks: rows of the verbose query).
    pub triggers: Option<usize>,
    /// An opaque print of everything else the query shows about the registration (schtasks:
    /// the localized trigger and settings columns). Never compared with [`Desired::expect`]:
    /// [`plan`] compares it with the print recorded when orc last saw its own registration,
    /// which catches hand edits that leave orc's hash in place (e.g. a trigger time).
    pub observed: Option<String>,
}

impl Fingerprint {
    /// The names of the fields that `expect` fills and `seen` does not match, in a fixed order.
    pub fn differences(expect: &Fingerprint, seen: &Fingerprint) -> Vec<&'static str> {
        let mut out = Vec::new();
        fn cmp<T: PartialEq>(
            out: &mut Vec<&'static str>,
            name: &'static str,
            e: &Option<T>,
            s: &Option<T>,
        ) {
            if e.is_some() && e != s {
                out.push(name);
            }
        }
        cmp(&mut out, "definition", &expect.hash, &seen.hash);
        let norm = |o: &Option<String>| o.as_ref().map(|s| s.trim().to_string());
        cmp(&mut out, "command", &norm(&expect.command), &norm(&seen.command));
        cmp(&mut out, "working directory", &norm(&expect.workdir), &norm(&seen.workdir));
        cmp(&mut out, "enabled state", &expect.enabled, &seen.enabled);
        // A registration carries the definition's own triggers plus, for its first day, up to
        // the 48-trigger limit of one-off first-window triggers (`cron::first_window`), which
        // the verbose query lists like any other; fewer rows than expected, or none, differ.
        if let Some(want) = expect.triggers
            && seen
                .triggers
                .is_none_or(|n| n < want || n > want.max(crate::cron::trigger::MAX_TRIGGERS))
        {
            out.push("triggers");
        }
        out
    }
}

/// An account password handed to the OS scheduler on the command line (never written into a
/// definition file). Its `Debug` output hides the password.
#[derive(Clone)]
pub struct Logon {
    pub user: String,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for Logon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logon").field("user", &self.user).field("password", &"***").finish()
    }
}

/// What orc wants registered for one task.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The orc task name.
    pub task: String,
    /// The identity of the registration in the OS scheduler (schtasks: the task path).
    pub path: String,
    /// Whether the task is enabled.
    pub enabled: bool,
    /// The full definition installed (schtasks: the task XML).
    pub definition: String,
    /// Short hash of the canonical definition ([`definition_hash`]).
    pub hash: String,
    /// What a query shows once this definition is installed.
    pub expect: Fingerprint,
    /// False when the scheduler fires on a superset of the cron times and
    /// `orc execute --scheduled` skips the extra slots.
    pub exact: bool,
    /// Number of triggers (schtasks) or lines (crontab).
    pub triggers: usize,
    /// Remarks about the mapping (e.g. why it is inexact).
    pub notes: Vec<String>,
    /// Account and password passed on the command line at registration, if any.
    pub logon: Option<Logon>,
    /// Set when this backend cannot register the definition itself: what the administrator
    /// runs instead (a gMSA principal with schtasks). `orc schedule` refuses to create or
    /// update such a registration (exit 2) and prints this.
    pub manual: Option<String>,
}

/// One registration the OS scheduler holds, as read back by one query.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// The orc task name this registration belongs to (derived from the path).
    pub task: String,
    /// The identity of the registration (schtasks: the task path as Windows prints it).
    pub path: String,
    /// The comparable fields.
    pub seen: Fingerprint,
    /// State as the OS prints it (localized words are passed through).
    pub status: Option<String>,
    /// Next run time as the OS prints it (localized; shown, never parsed).
    pub next_run: Option<String>,
    /// Last run time as the OS prints it (localized; shown, never parsed).
    pub last_run: Option<String>,
    /// Last result as the OS reports it (schtasks: signed 32-bit decimal).
    pub last_result: Option<i64>,
    /// The schedule as registered, when the OS shows it as a cron expression (crontab).
    pub schedule: Option<String>,
}

/// orc's own record of what it last registered for a task (the `registrations` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub task: String,
    pub path: String,
    pub hash: String,
    /// [`Fingerprint::observed`] as seen when this registration was first found unchanged.
    pub observed: Option<String>,
}

/// The result of applying one plan entry.
#[derive(Debug)]
pub struct Outcome {
    /// Index of the entry in [`Plan::entries`].
    pub index: usize,
    pub result: std::result::Result<(), SchedulerError>,
}

/// What [`Backend::apply`] did.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// One outcome per entry that was to be changed, in any order.
    pub outcomes: Vec<Outcome>,
}

/// Everything a backend needs to render a task's registration.
pub struct RenderEnv<'a> {
    /// Absolute path of the orc executable the scheduler starts.
    pub exe: PathBuf,
    /// Absolute path of the orc home (`--home` of the registered command).
    pub home: PathBuf,
    /// Resolves the password of a run-as account (from the vault).
    pub password_for: &'a dyn Fn(&str) -> Result<Zeroizing<String>>,
    /// The `run_as.default` setting: the account of tasks that name none.
    pub run_as_default: crate::task::runas::Account,
    /// The account that registers the tasks (`DOMAIN\user`), when known.
    pub registering_user: Option<String>,
    /// The registration instant (local wall clock, from [`crate::clock::now`]): Task Scheduler
    /// definitions get first-window triggers for the repetition windows already open then
    /// ([`crate::cron::first_window`]).
    pub registered: chrono::NaiveDateTime,
}

impl<'a> RenderEnv<'a> {
    /// An environment with `run_as.default` unset, the registering user of this process and
    /// the registration instant now.
    pub fn new(
        exe: PathBuf,
        home: PathBuf,
        password_for: &'a dyn Fn(&str) -> Result<Zeroizing<String>>,
    ) -> RenderEnv<'a> {
        RenderEnv {
            exe,
            home,
            password_for,
            run_as_default: crate::task::runas::Account::CurrentUser,
            registering_user: current_user(),
            registered: crate::clock::now().naive_local(),
        }
    }
}

/// The `run_as.default` setting ([`crate::config::Settings`], parsed by the run-as owner).
pub fn run_as_default(conn: &crate::store::sql::Connection) -> Result<crate::task::runas::Account> {
    crate::config::run_as_default(conn)
}

/// The account this process runs as, as Task Scheduler names it: `USERDOMAIN\USERNAME` on
/// Windows (these two variables are set in every logon session), the login name elsewhere.
pub fn current_user() -> Option<String> {
    if cfg!(windows) {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let user = var("USERNAME")?;
        Some(match var("USERDOMAIN") {
            Some(d) => format!("{d}\\{user}"),
            None => user,
        })
    } else {
        crontab::current_user()
    }
}

/// The GUI-subsystem build of orc (`orcw.exe`) next to `exe`: what an interactive task
/// starts, so that no console window opens in the user's session.
pub fn gui_exe(exe: &Path) -> PathBuf {
    exe.with_file_name(if cfg!(windows) { "orcw.exe" } else { "orcw" })
}

/// An OS scheduler orc can register tasks with. See the module documentation.
pub trait Backend {
    /// `"schtasks"` or `"crontab"`: the `backend` column of the `registrations` table.
    fn kind(&self) -> &'static str;
    /// The machine whose scheduler this is: `""` for the local one.
    fn host(&self) -> &str;
    /// The identity of a task's registration (schtasks: `\Orchestrator\Orc_<name>`).
    fn path_of(&self, task: &str) -> String;
    /// What the backend would register for this task; `Ok(None)` registers nothing (the
    /// task must then not be registered). Refuses (exit 2) anything it cannot register.
    fn render(&self, spec: &TaskSpec, env: &RenderEnv<'_>) -> Result<Option<Desired>>;
    /// Every registration belonging to orc, read with one query of the OS scheduler.
    fn registered(&mut self) -> std::result::Result<Vec<Registered>, SchedulerError>;
    /// Performs the create/update/delete entries of `plan`; `progress(done, total)` is called
    /// after each change (from the calling thread).
    fn apply(
        &mut self,
        plan: &Plan,
        progress: &mut dyn FnMut(usize, usize),
    ) -> std::result::Result<ApplyReport, SchedulerError>;
    /// Optional: the orc tasks whose registrations [`Backend::registered`] should look up one
    /// by one when it cannot use its single query (schtasks: the machine-wide query failed or
    /// looks tampered with). Called before `registered`.
    fn expect_registrations(&mut self, tasks: &[String]) {
        let _ = tasks;
    }
    /// Optional: why the last [`Backend::registered`] did not read everything with its single
    /// query, to be shown as a warning.
    fn read_back_warning(&self) -> Option<String> {
        None
    }
    /// True when [`Backend::drift_details`] compares whole definitions semantically, so that
    /// no details means no difference (schtasks: the exported XML, defaults filled in).
    fn details_are_semantic(&self) -> bool {
        false
    }
    /// Optional: what differs between the registration and what orc would register, one
    /// human-readable line per difference. Called only for drifted entries, before `apply`.
    fn drift_details(
        &mut self,
        entry: &PlanEntry,
    ) -> std::result::Result<Vec<String>, SchedulerError> {
        let _ = entry;
        Ok(Vec::new())
    }
}

/// The canonical short hash of a definition: the first 16 hex digits of its SHA-256.
pub fn definition_hash(canonical: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(canonical.as_bytes());
    hex::encode(&digest[..8])
}

/// Which backend to use: `ORC_BACKEND` (`schtasks` or `crontab`), else the platform's.
pub fn backend_kind() -> Result<&'static str> {
    match crate::env_vars::get(crate::env_vars::ORC_BACKEND) {
        Some(v) => {
            let v = v.to_string_lossy().trim().to_ascii_lowercase();
            match v.as_str() {
                "schtasks" => Ok("schtasks"),
                "crontab" => Ok("crontab"),
                _ => Err(Error::invalid(
                    crate::env_vars::ORC_BACKEND,
                    v,
                    "the backend is `schtasks` or `crontab`",
                )),
            }
        }
        None if cfg!(windows) => Ok("schtasks"),
        None => Ok("crontab"),
    }
}

/// Absolute path of the orc executable to register: `ORC_EXE`, else the running executable.
pub fn orc_exe() -> Result<PathBuf> {
    let exe = match crate::env_vars::get(crate::env_vars::ORC_EXE) {
        Some(p) => PathBuf::from(p),
        None => std::env::current_exe()
            .map_err(|e| Error::Failed(format!("cannot find the running orc executable: {e}")))?,
    };
    if !exe.is_absolute() {
        return Err(Error::invalid(
            crate::env_vars::ORC_EXE,
            exe.display().to_string(),
            "the executable registered with the scheduler must be an absolute path",
        ));
    }
    Ok(exe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_compares_only_expected_fields() {
        let expect = Fingerprint {
            hash: Some("abc".into()),
            command: Some("orc.exe --x ".into()),
            workdir: None,
            enabled: Some(true),
            triggers: Some(2),
            observed: None,
        };
        let mut seen = expect.clone();
        seen.command = Some("orc.exe --x".into()); // trailing space as schtasks prints it
        seen.workdir = Some("C:\\anything".into()); // not expected: ignored
        assert!(Fingerprint::differences(&expect, &seen).is_empty());
        seen.enabled = Some(false);
        seen.hash = None;
        assert_eq!(Fingerprint::differences(&expect, &seen), vec!["definition", "enabled state"]);
    }

    #[test]
    fn hash_is_16_hex() {
        let h = definition_hash("x");
        assert_eq!(h.len(), 16);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(h, definition_hash("y"));
    }

    #[test]
    fn logon_debug_hides_password() {
        let l = Logon { user: "svc".into(), password: Zeroizing::new("hunter2".into()) };
        assert!(!format!("{l:?}").contains("hunter2"));
    }
}

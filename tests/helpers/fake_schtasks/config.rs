//! Configuration read from `FAKE_SCHTASKS_*` environment variables (table in main.rs).
//!
//! A value the fake does not know makes it panic with a clear message: a typo in a test
//! must never silently fall back to the default behaviour.

use std::path::PathBuf;

use chrono::NaiveDateTime;

use crate::locale::Locale;
use crate::out::OutEnc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// An elevated administrator: everything allowed.
    Normal,
    /// Every mutating verb answers `ERROR: Access is denied.`.
    AccessDenied,
    /// A standard user: only the privileged operations of §7 are denied.
    NonElevated,
    /// The Task Scheduler service is stopped: every verb fails after argument parsing.
    ServiceUnavailable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunMode {
    /// `/Run` records a run (Last Run Time = now, Last Result 0) without starting anything.
    Record,
    /// `/Run` really starts the Exec action(s) in a detached supervisor and returns at once.
    Spawn,
    /// `/Run` starts the action(s), waits, and records the exit code before returning.
    SpawnWait,
}

/// Which text a missing task produces on `/Change` and `/Delete` (§3.2 lists variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NotFound {
    /// `/Change` → "does not exist in the system", everything else → "cannot find the file".
    Default,
    /// Every verb → `ERROR: The system cannot find the file specified.`
    File,
    /// Every verb → `ERROR: The system cannot find the path specified.`
    Path,
    /// `/Change`, `/Delete`, `/Run`, `/End` → `ERROR: The specified task name "<tn>" does not exist in the system.`
    Name,
}

#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) root: Option<PathBuf>,
    pub(crate) locale: Locale,
    pub(crate) enc: OutEnc,
    pub(crate) mode: Mode,
    pub(crate) hosts: Option<Vec<String>>,
    pub(crate) run: RunMode,
    pub(crate) delay_ms: u64,
    pub(crate) call_log: Option<PathBuf>,
    pub(crate) hostname: String,
    pub(crate) user: String,
    pub(crate) now: Option<NaiveDateTime>,
    pub(crate) not_found: NotFound,
    pub(crate) accounts: Option<Vec<(String, String)>>,
    /// A task whose stored image is corrupt: every `/Query` that lists all tasks fails.
    pub(crate) corrupt_task: Option<String>,
}

fn var(name: &str) -> Option<String> {
    match std::env::var_os(name) {
        Some(v) if !v.is_empty() => Some(v.to_string_lossy().into_owned()),
        _ => None,
    }
}

fn bad(name: &str, value: &str, expected: &str) -> ! {
    panic!(
        "fake_schtasks: {name}={value:?} is not understood; expected {expected}. \
         (The fake refuses unknown values so that a typo in a test cannot pass silently.)"
    )
}

impl Config {
    pub(crate) fn from_env() -> Config {
        let locale = match var("FAKE_SCHTASKS_LOCALE").as_deref() {
            None => Locale::EnUs,
            Some(v) if v.eq_ignore_ascii_case("en-US") => Locale::EnUs,
            Some(v) if v.eq_ignore_ascii_case("fr-FR") => Locale::FrFr,
            Some(v) => bad("FAKE_SCHTASKS_LOCALE", v, "en-US or fr-FR"),
        };
        let enc = match var("FAKE_SCHTASKS_OUTPUT_ENCODING").as_deref() {
            None => OutEnc::Utf8,
            Some(v) if v.eq_ignore_ascii_case("utf8") || v.eq_ignore_ascii_case("utf-8") => {
                OutEnc::Utf8
            }
            Some(v) if v.eq_ignore_ascii_case("cp850") => OutEnc::Cp850,
            Some(v) => bad("FAKE_SCHTASKS_OUTPUT_ENCODING", v, "utf8 or cp850"),
        };
        let mode = match var("FAKE_SCHTASKS_MODE").as_deref() {
            None | Some("normal") | Some("elevated") => Mode::Normal,
            Some("access-denied") => Mode::AccessDenied,
            Some("non-elevated") => Mode::NonElevated,
            Some("service-unavailable") => Mode::ServiceUnavailable,
            Some(v) => bad(
                "FAKE_SCHTASKS_MODE",
                v,
                "normal, elevated, access-denied, non-elevated or service-unavailable",
            ),
        };
        let run = match var("FAKE_SCHTASKS_RUN").as_deref() {
            None | Some("record") => RunMode::Record,
            Some("spawn") => RunMode::Spawn,
            Some("spawn-wait") => RunMode::SpawnWait,
            Some(v) => bad("FAKE_SCHTASKS_RUN", v, "record, spawn or spawn-wait"),
        };
        let not_found = match var("FAKE_SCHTASKS_NOT_FOUND").as_deref() {
            None | Some("default") => NotFound::Default,
            Some("file") => NotFound::File,
            Some("path") => NotFound::Path,
            Some("name") => NotFound::Name,
            Some(v) => bad("FAKE_SCHTASKS_NOT_FOUND", v, "default, file, path or name"),
        };
        let delay_ms = match var("FAKE_SCHTASKS_DELAY_MS") {
            None => 0,
            Some(v) => v
                .trim()
                .parse::<u64>()
                .unwrap_or_else(|_| bad("FAKE_SCHTASKS_DELAY_MS", &v, "a number of milliseconds")),
        };
        let hosts = var("FAKE_SCHTASKS_HOSTS").map(|v| {
            v.split(',').map(|h| h.trim().to_lowercase()).filter(|h| !h.is_empty()).collect()
        });
        let now = var("FAKE_SCHTASKS_NOW").map(|v| {
            NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M:%S")
                .unwrap_or_else(|_| bad("FAKE_SCHTASKS_NOW", &v, "YYYY-MM-DDTHH:MM:SS"))
        });
        let accounts = var("FAKE_SCHTASKS_ACCOUNTS").map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(|pair| match pair.split_once(':') {
                    Some((u, p)) => (u.to_string(), p.to_string()),
                    None => bad("FAKE_SCHTASKS_ACCOUNTS", &v, "user:password[,user:password...]"),
                })
                .collect()
        });
        let hostname = var("FAKE_SCHTASKS_HOSTNAME")
            .or_else(|| var("COMPUTERNAME"))
            .unwrap_or_else(|| "FAKEHOST".to_string());
        let user = var("FAKE_SCHTASKS_USER")
            .or_else(|| var("USERNAME"))
            .or_else(|| var("USER"))
            .unwrap_or_else(|| "user".to_string());
        Config {
            root: var("FAKE_SCHTASKS_ROOT").map(PathBuf::from),
            locale,
            enc,
            mode,
            hosts,
            run,
            delay_ms,
            call_log: var("FAKE_SCHTASKS_CALL_LOG").map(PathBuf::from),
            hostname,
            user,
            now,
            not_found,
            accounts,
            corrupt_task: var("FAKE_SCHTASKS_CORRUPT_TASK"),
        }
    }

    /// The task store root; the fake cannot do anything stateful without it.
    pub(crate) fn root(&self) -> PathBuf {
        match &self.root {
            Some(r) => r.clone(),
            None => panic!(
                "fake_schtasks: FAKE_SCHTASKS_ROOT is not set. Point it at a (temporary) \
                 directory that holds the fake task store; the fake never guesses a location."
            ),
        }
    }

    /// Local wall-clock "now" (frozen by `FAKE_SCHTASKS_NOW`).
    pub(crate) fn now(&self) -> NaiveDateTime {
        match self.now {
            Some(n) => n,
            None => {
                let n = chrono::Local::now().naive_local();
                // Task Scheduler keeps whole seconds.
                n.with_nanosecond_zero()
            }
        }
    }
}

trait ZeroNanos {
    fn with_nanosecond_zero(self) -> Self;
}

impl ZeroNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

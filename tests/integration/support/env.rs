//! The harness proper: runs the real `orc` binary in a temporary home, with a clean
//! environment, and gives back its exit code, stdout and stderr.

#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::programs::{helper_exe, orc_exe, spawn};

/// A temporary orc home and everything around it (key dir, fake schtasks root, scratch).
pub struct Env {
    dir: tempfile::TempDir,
    extra_env: Vec<(OsString, OsString)>,
    /// Whether orc may find the machine's real `crontab` (see [`Env::with_real_crontab`]).
    real_crontab: bool,
    /// The database every orc of this env uses (a schema of its own on the test server when
    /// the suite runs against PostgreSQL, see [`super::pg`]).
    store: orc::store::Location,
}

/// The result of one orc invocation.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub args: Vec<String>,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new().prefix("orc-test-").tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let env = Env {
            dir,
            extra_env: Vec::new(),
            real_crontab: false,
            store: orc::store::Location::Sqlite,
        };
        if super::pg::suite_on_postgres() {
            // The home joined to a schema of its own, as `orc --store URL home init` leaves
            // it: every orc of this env, and the store a test opens in-process, use it.
            let store = orc::store::Location::Postgres(super::pg::fresh_schema_url());
            orc::fsx::ensure_private_dir(&env.home()).unwrap();
            orc::store::location::write_bootstrap(&env.home(), &store).unwrap();
            return Env { store, ..env };
        }
        env
    }

    /// Opens this env's store in-process (created and migrated if new).
    pub fn store(&self) -> orc::store::Store {
        orc::store::Store::open_at(&self.home(), self.store.clone()).expect("open store")
    }

    /// The database this env's orc uses.
    pub fn location(&self) -> &orc::store::Location {
        &self.store
    }

    /// The scratch root (holds `home/`, `keys/`, …).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The orc home.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The database file.
    pub fn db(&self) -> PathBuf {
        self.home().join("orc.db")
    }

    /// Sets an environment variable for every later invocation.
    pub fn set_env(&mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> &mut Self {
        self.extra_env.push((key.into(), value.into()));
        self
    }

    /// Points orc at the fake schtasks, with its store under this env's root.
    pub fn with_fake_schtasks(&mut self) -> &mut Self {
        let root = self.root().join("schtasks");
        std::fs::create_dir_all(&root).unwrap();
        self.set_env("ORC_BACKEND", "schtasks");
        self.set_env("ORC_SCHTASKS", helper_exe("fake_schtasks"));
        self.set_env("FAKE_SCHTASKS_ROOT", root);
        self
    }

    /// Points orc at the fake wevtutil, with its state file `wevtutil.json` under this env's
    /// root (a missing file is a disabled, empty log; see [`Env::wevtutil_state`]).
    pub fn with_fake_wevtutil(&mut self) -> &mut Self {
        let state = self.wevtutil_state();
        self.set_env("ORC_WEVTUTIL", helper_exe("fake_wevtutil"));
        self.set_env("FAKE_WEVTUTIL_STATE", state);
        self
    }

    /// The fake wevtutil's state file (JSON: `{"enabled": bool, "events": [...]}`).
    pub fn wevtutil_state(&self) -> PathBuf {
        self.root().join("wevtutil.json")
    }

    /// Lets orc use the machine's real `crontab` (found on PATH). Without this, every
    /// invocation points `ORC_CRONTAB` at a program that does not exist, so that no test can
    /// touch the real crontab by accident (the default backend on Unix is crontab).
    pub fn with_real_crontab(&mut self) -> &mut Self {
        self.real_crontab = true;
        self.set_env("ORC_BACKEND", "crontab");
        self
    }

    /// Turns the built-in `orc-watch` task off (`watch.interval none`), for tests that assert
    /// exactly which tasks `orc schedule --all` registers and are not about the watch.
    pub fn without_watch_task(&self) -> &Self {
        self.orc(["config", "set", "watch.interval", "none"]).ok();
        self
    }

    /// Runs `orc ARGS` with no stdin.
    pub fn orc<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.orc_with_stdin(args, None)
    }

    /// Runs `orc ARGS` feeding `stdin`.
    pub fn orc_with_stdin<I, S>(&self, args: I, stdin: Option<&[u8]>) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_os_string()).collect();
        let mut cmd = self.command();
        cmd.args(&args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = spawn(&mut cmd);
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        let out = child.wait_with_output().expect("wait for orc");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: args.iter().map(|a| a.to_string_lossy().into_owned()).collect(),
        }
    }

    /// A `Command` for orc with this env's clean environment (for tests that need more control).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(orc_exe());
        for (name, _) in orc::env_vars::ALL {
            cmd.env_remove(name);
        }
        for var in [
            "FAKE_SCHTASKS_ROOT",
            "FAKE_SCHTASKS_MODE",
            "FAKE_SCHTASKS_LOCALE",
            "FAKE_SCHTASKS_CALL_LOG",
            "FAKE_SCHTASKS_DELAY_MS",
            "FAKE_SCHTASKS_RUN",
            "FAKE_WEVTUTIL_STATE",
            "FAKE_WEVTUTIL_MODE",
            "TZ",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("ORC_HOME", self.home());
        cmd.env("ORC_KEY_FILE", self.root().join("keys").join("vault.key"));
        cmd.env("NO_COLOR", "1");
        if !self.real_crontab {
            cmd.env("ORC_CRONTAB", self.root().join("no-real-crontab-in-tests"));
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Raw bytes of every file of the database (main file and WAL), for "nothing changed"
    /// checks; on PostgreSQL every row of every table of the env's schema, as JSON.
    pub fn db_bytes(&self) -> Vec<u8> {
        if let orc::store::Location::Postgres(url) = &self.store {
            return super::pg::dump(url);
        }
        let mut all = Vec::new();
        for suffix in ["", "-wal"] {
            let mut p = self.db().into_os_string();
            p.push(suffix);
            if let Ok(b) = std::fs::read(PathBuf::from(p)) {
                all.extend_from_slice(&b);
            }
        }
        all
    }
}

impl Output {
    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "orc {:?} failed:\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    /// Asserts the exit code and returns self.
    #[track_caller]
    pub fn code(self, want: i32) -> Self {
        assert_eq!(
            self.code, want,
            "orc {:?}: wrong exit code\nstdout:\n{}\nstderr:\n{}",
            self.args, self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stdout is exactly `expected` and returns it.
    #[track_caller]
    pub fn assert_stdout(&self, expected: &str) -> &Self {
        assert_eq!(
            self.stdout, expected,
            "stdout of orc {:?} (stderr:\n{})",
            self.args, self.stderr
        );
        self
    }

    /// Asserts that one whole line of stdout is exactly `line` (for output whose other lines
    /// depend on the machine, e.g. its time zone) and returns it.
    #[track_caller]
    pub fn assert_stdout_has_line(&self, line: &str) -> &Self {
        assert!(
            self.stdout.lines().any(|l| l == line),
            "stdout of orc {:?} has no line {line:?}:\n{}",
            self.args,
            self.stdout
        );
        self
    }

    /// Asserts that stderr is exactly `expected` and returns it.
    #[track_caller]
    pub fn assert_stderr(&self, expected: &str) -> &Self {
        assert_eq!(
            self.stderr, expected,
            "stderr of orc {:?} (stdout:\n{})",
            self.args, self.stdout
        );
        self
    }

    /// Asserts that stderr is the one line `expected` (the form of every refusal: a clear
    /// one-line message) and returns it.
    #[track_caller]
    pub fn assert_stderr_line(&self, expected: &str) -> &Self {
        assert!(!expected.contains('\n'), "assert_stderr_line takes one line: {expected:?}");
        self.assert_stderr(&format!("{expected}\n"))
    }

    /// Parses stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout of {:?} is not one JSON document ({e}):\n{}", self.args, self.stdout)
        })
    }
}

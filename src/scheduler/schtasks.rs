//! The Windows Task Scheduler backend, driving `schtasks.exe`.
//!
//! * The program is `%SystemRoot%\System32\schtasks.exe` by absolute path (never looked up
//!   on `PATH`), or `ORC_SCHTASKS`.
//! * stdout and stderr are drained at the same time (one thread each), the call is bounded by
//!   a timeout, and output is decoded as UTF-8 when valid, else with the OEM code page on
//!   Windows (`MultiByteToWideChar(CP_OEMCP)`), else lossily.
//! * Tasks are registered with `/Create /TN <path> /XML <file> /F`, the file written as
//!   UTF-16LE with a BOM under `<home>/tmp` and removed afterwards.
//! * What Windows holds is read with **one** `/Query /FO CSV /V /NH` (see [`csv`]); only
//!   tasks directly in orc's folder whose name starts with orc's prefix are considered —
//!   nothing else is ever changed.

pub mod csv;
pub mod hresult;
pub mod logon;
pub mod readback;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use zeroize::Zeroizing;

use super::reconcile::{Action, Plan, PlanEntry};
use super::{
    ApplyReport, Backend, Desired, Fingerprint, Logon, Outcome, Registered, RenderEnv,
    SchedulerError, taskxml,
};
use crate::error::{Error, Result};
use crate::task::TaskSpec;

/// Default task folder (`scheduler.folder`).
pub const DEFAULT_FOLDER: &str = "\\Orchestrator\\";
/// Default task name prefix (`scheduler.prefix`).
pub const DEFAULT_PREFIX: &str = "Orc_";
/// How long one schtasks call may take before it is stopped.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// How many schtasks processes run at once while applying a plan.
pub const PARALLELISM: usize = 4;

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
        use super::limits;
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
    pub fn from_config(conn: &rusqlite::Connection) -> Result<TaskFolder> {
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

/// A remote machine for `/S`, with optional `/U` and `/P`.
#[derive(Clone)]
pub struct Remote {
    pub host: String,
    pub user: Option<String>,
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("host", &self.host)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// One argument; secret ones are shown as `***` in messages.
#[derive(Clone)]
struct Arg {
    value: OsString,
    secret: bool,
}

fn arg(v: impl AsRef<OsStr>) -> Arg {
    Arg { value: v.as_ref().to_os_string(), secret: false }
}

fn secret(v: &str) -> Arg {
    Arg { value: OsString::from(v), secret: true }
}

/// What one schtasks call printed.
#[derive(Debug, Clone)]
pub struct CallOutput {
    /// The exit code as a signed 32-bit value (`0x80004005` shows as `-2147467259`).
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs schtasks.exe.
#[derive(Debug, Clone)]
pub struct Schtasks {
    program: PathBuf,
    remote: Option<Remote>,
    timeout: Duration,
}

impl Schtasks {
    /// The schtasks program: `ORC_SCHTASKS`, else `%SystemRoot%\System32\schtasks.exe`.
    pub fn locate() -> std::result::Result<PathBuf, SchedulerError> {
        if let Some(p) = crate::env_vars::get(crate::env_vars::ORC_SCHTASKS) {
            return Ok(PathBuf::from(p));
        }
        if cfg!(windows) {
            let root = std::env::var_os("SystemRoot")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| OsString::from("C:\\Windows"));
            return Ok(PathBuf::from(root).join("System32").join("schtasks.exe"));
        }
        Err(SchedulerError::Unavailable {
            program: "schtasks".into(),
            reason: format!(
                "schtasks.exe exists only on Windows; on this system use the crontab backend \
                 ({}=crontab) or point {} at a schtasks program",
                crate::env_vars::ORC_BACKEND,
                crate::env_vars::ORC_SCHTASKS
            ),
        })
    }

    pub fn new(program: PathBuf, remote: Option<Remote>) -> Schtasks {
        Schtasks { program, remote, timeout: CALL_TIMEOUT }
    }

    /// The program path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    fn program_name(&self) -> String {
        self.program.display().to_string()
    }

    /// Builds the full argument list: verb, remote switches, then the rest.
    fn full_args(&self, verb: &str, rest: Vec<Arg>) -> Vec<Arg> {
        let mut all = vec![arg(verb)];
        if let Some(r) = &self.remote {
            all.push(arg("/S"));
            all.push(arg(&r.host));
            if let Some(u) = &r.user {
                all.push(arg("/U"));
                all.push(arg(u));
                if let Some(p) = &r.password {
                    all.push(arg("/P"));
                    all.push(secret(p));
                }
            }
        }
        all.extend(rest);
        // Every verb accepts /HRESULT: failures then exit with their HRESULT, whatever the
        // display language (see `hresult`).
        all.push(arg("/HRESULT"));
        all
    }

    /// Runs one call; returns its output whatever the exit code (errors only when it could not
    /// run or did not finish).
    fn call_raw(
        &self,
        verb: &str,
        rest: Vec<Arg>,
    ) -> std::result::Result<CallOutput, SchedulerError> {
        let args = self.full_args(verb, rest);
        let shown = display_args(&args);
        tracing::debug!(program = %self.program.display(), args = %shown, "schtasks");
        let mut cmd = Command::new(&self.program);
        cmd.args(args.iter().map(|a| &a.value));
        let done = super::program::run(cmd, None, self.timeout)
            .map_err(|f| f.into_error(self.program_name(), shown, self.timeout))?;
        let stdout = decode(&done.stdout);
        let stderr = decode(&done.stderr);
        // Windows exit codes are 32-bit; keep them signed as schtasks' own output does.
        let code = done.code;
        Ok(CallOutput { code, stdout, stderr })
    }

    /// Runs one call and turns a non-zero exit code into the matching error.
    fn call(&self, verb: &str, rest: Vec<Arg>) -> std::result::Result<CallOutput, SchedulerError> {
        let args = self.full_args(verb, rest.clone());
        let out = self.call_raw(verb, rest)?;
        if out.code == 0 {
            return Ok(out);
        }
        Err(classify_failure(&self.program_name(), &display_args(&args), &out))
    }

    /// `/Query /FO CSV /V /NH`: every task visible to the caller, one row per trigger.
    pub fn query_all(&self) -> std::result::Result<csv::Parsed, SchedulerError> {
        let out = self.call("/Query", vec![arg("/FO"), arg("CSV"), arg("/V"), arg("/NH")])?;
        Ok(csv::parse(&out.stdout))
    }

    /// `/Query /TN <path> /FO CSV /V /NH`: one task's rows, `None` when it does not exist.
    pub fn query_task(
        &self,
        path: &str,
    ) -> std::result::Result<Option<csv::Parsed>, SchedulerError> {
        let rest = vec![arg("/TN"), arg(path), arg("/FO"), arg("CSV"), arg("/V"), arg("/NH")];
        let shown = display_args(&self.full_args("/Query", rest.clone()));
        let out = self.call_raw("/Query", rest)?;
        if out.code == 0 {
            return Ok(Some(csv::parse(&out.stdout)));
        }
        if is_not_found(&out) {
            return Ok(None);
        }
        Err(classify_failure(&self.program_name(), &shown, &out))
    }

    /// `/Create /TN <path> /XML <file> /F` (plus `/RU /RP` for a named account).
    pub fn create(
        &self,
        path: &str,
        xml_file: &Path,
        logon: Option<&Logon>,
    ) -> std::result::Result<(), SchedulerError> {
        let mut rest = vec![arg("/TN"), arg(path), arg("/XML"), arg(xml_file), arg("/F")];
        if let Some(l) = logon {
            rest.extend([arg("/RU"), arg(&l.user), arg("/RP"), secret(&l.password)]);
        }
        self.call("/Create", rest).map(|_| ())
    }

    /// `/Delete /TN <path> /F`; a task that is already gone counts as deleted.
    pub fn delete(&self, path: &str) -> std::result::Result<(), SchedulerError> {
        let rest = vec![arg("/TN"), arg(path), arg("/F")];
        let shown = display_args(&self.full_args("/Delete", rest.clone()));
        let out = self.call_raw("/Delete", rest)?;
        if out.code == 0 || is_not_found(&out) {
            return Ok(());
        }
        Err(classify_failure(&self.program_name(), &shown, &out))
    }

    /// `/Query /TN <path> /XML`: the task's XML as Task Scheduler holds it.
    pub fn query_xml(&self, path: &str) -> std::result::Result<String, SchedulerError> {
        self.call("/Query", vec![arg("/TN"), arg(path), arg("/XML")]).map(|o| o.stdout)
    }

    /// `/Change /TN <path> /ENABLE|/DISABLE`.
    pub fn set_enabled(
        &self,
        path: &str,
        enabled: bool,
    ) -> std::result::Result<(), SchedulerError> {
        let switch = if enabled { "/ENABLE" } else { "/DISABLE" };
        self.call("/Change", vec![arg("/TN"), arg(path), arg(switch)]).map(|_| ())
    }

    /// `/Run /TN <path>`: ask Task Scheduler to start the task now.
    pub fn run_now(&self, path: &str) -> std::result::Result<(), SchedulerError> {
        self.call("/Run", vec![arg("/TN"), arg(path)]).map(|_| ())
    }

    /// `/End /TN <path>`: stop a running instance.
    pub fn end(&self, path: &str) -> std::result::Result<(), SchedulerError> {
        self.call("/End", vec![arg("/TN"), arg(path)]).map(|_| ())
    }
}

/// Shows arguments as a command line would, secrets masked.
fn display_args(args: &[Arg]) -> String {
    args.iter()
        .map(|a| {
            if a.secret {
                return "***".to_string();
            }
            let s = a.value.to_string_lossy();
            if s.is_empty() || s.contains(' ') { format!("\"{s}\"") } else { s.into_owned() }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a failed call means: from its HRESULT exit code, else from its text.
fn failure_kind(out: &CallOutput) -> hresult::Kind {
    hresult::classify(hresult::from_exit(out.code), &format!("{}\n{}", out.stderr, out.stdout))
}

fn is_not_found(out: &CallOutput) -> bool {
    out.code != 0 && failure_kind(out) == hresult::Kind::NotFound
}

/// Turns a failed call into the matching error, by HRESULT first (orc passes `/HRESULT`),
/// by its text only when the code says nothing specific (see [`hresult`]).
fn classify_failure(program: &str, args: &str, out: &CallOutput) -> SchedulerError {
    let code = hresult::from_exit(out.code);
    let kind = failure_kind(out);
    let text = message_lines(if out.stderr.trim().is_empty() { &out.stdout } else { &out.stderr });
    let message = match code.and_then(hresult::lookup) {
        Some(k) => format!("{} {} ({}): {text}", hresult::hex(k.code), k.name, k.meaning),
        None => text,
    };
    match kind {
        hresult::Kind::AccessDenied => {
            SchedulerError::AccessDenied { program: program.into(), args: args.into() }
        }
        hresult::Kind::Unavailable => {
            SchedulerError::Unavailable { program: program.into(), reason: message }
        }
        _ => SchedulerError::Failed {
            program: program.into(),
            args: args.into(),
            code: out.code,
            stderr: message,
        },
    }
}

/// The meaningful lines of a message, joined (schtasks puts the detail on a second line).
fn message_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(6).collect();
    if lines.is_empty() { "(no message)".to_string() } else { lines.join(" ") }
}

/// Decodes program output: UTF-8 (BOM stripped) when valid, UTF-16LE when it has a BOM, else
/// the OEM code page on Windows, else lossy UTF-8.
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => decode_oem(bytes),
    }
}

#[cfg(windows)]
fn decode_oem(bytes: &[u8]) -> String {
    use windows_sys::Win32::Globalization::{CP_OEMCP, MultiByteToWideChar};
    if bytes.is_empty() || bytes.len() > i32::MAX as usize {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    // SAFETY: `bytes` is a valid buffer of the given length; a null output buffer with size 0
    // asks only for the required length.
    let needed = unsafe {
        MultiByteToWideChar(
            CP_OEMCP,
            0,
            bytes.as_ptr(),
            bytes.len() as i32,
            std::ptr::null_mut(),
            0,
        )
    };
    if needed <= 0 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut wide = vec![0u16; needed as usize];
    // SAFETY: `wide` has room for `needed` UTF-16 units, as computed by the call above.
    let written = unsafe {
        MultiByteToWideChar(
            CP_OEMCP,
            0,
            bytes.as_ptr(),
            bytes.len() as i32,
            wide.as_mut_ptr(),
            needed,
        )
    };
    if written <= 0 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    String::from_utf16_lossy(&wide[..written as usize])
}

#[cfg(not(windows))]
fn decode_oem(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A task XML file handed to schtasks; removed when dropped.
struct XmlFile {
    path: PathBuf,
}

impl Drop for XmlFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn write_xml_file(
    dir: &Path,
    task: &str,
    xml: &str,
) -> std::result::Result<XmlFile, SchedulerError> {
    // A private directory and an unpredictable name (issue 11 item 3).
    let path = crate::fsx::write_temp_file(
        dir,
        &format!("orc-{task}-"),
        ".xml",
        &taskxml::encode_utf16le_bom(xml),
    )
    .map_err(|source| SchedulerError::Io {
        action: "write a task file in",
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(XmlFile { path })
}

/// The schtasks backend.
#[derive(Debug)]
pub struct SchtasksBackend {
    runner: Schtasks,
    folder: TaskFolder,
    host: String,
    tmp_dir: PathBuf,
    parallelism: usize,
    /// Number of schtasks processes started (for diagnostics).
    calls: AtomicUsize,
    /// orc tasks whose registrations are read one by one when the machine-wide query cannot
    /// be used ([`Backend::expect_registrations`]).
    known: Vec<String>,
    /// Why the last [`Backend::registered`] read task by task, if it did.
    read_back: Option<String>,
}

impl SchtasksBackend {
    /// A backend for the machine of `runner` (local unless it has a remote), keeping orc's
    /// tasks in `folder` and writing XML files under `tmp_dir`.
    pub fn new(runner: Schtasks, folder: TaskFolder, tmp_dir: PathBuf) -> SchtasksBackend {
        let host = runner.remote.as_ref().map(|r| r.host.to_ascii_lowercase()).unwrap_or_default();
        SchtasksBackend {
            runner,
            folder,
            host,
            tmp_dir,
            parallelism: PARALLELISM,
            calls: AtomicUsize::new(0),
            known: Vec::new(),
            read_back: None,
        }
    }

    /// The schtasks runner (for `/Run`, `/End` and tests).
    pub fn runner(&self) -> &Schtasks {
        &self.runner
    }

    /// The folder settings in use.
    pub fn folder(&self) -> &TaskFolder {
        &self.folder
    }

    /// How many schtasks processes this backend started.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Changes how many schtasks processes run at once (at least 1).
    pub fn set_parallelism(&mut self, n: usize) {
        self.parallelism = n.max(1);
    }

    /// Reads the registrations of the known tasks one by one (see [`readback`]).
    fn registered_one_by_one(&self) -> std::result::Result<Vec<Registered>, SchedulerError> {
        let mut out = Vec::new();
        for task in &self.known {
            let path = self.folder.path_of(task);
            self.calls.fetch_add(1, Ordering::Relaxed);
            if let Some(parsed) = self.runner.query_task(&path)? {
                out.extend(readback::registrations(&self.folder, &readback::only(&path, parsed)));
            }
        }
        Ok(out)
    }

    fn apply_one(&self, entry: &PlanEntry) -> std::result::Result<(), SchedulerError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match (entry.action, &entry.desired) {
            (Action::Delete, _) => self.runner.delete(&entry.path),
            // Only the enabled state was flipped by hand, and the registered XML confirms
            // nothing else differs: flip it back and keep the task's run history.
            (Action::Update, Some(d)) if only_enabled_differs(entry) => {
                self.runner.set_enabled(&entry.path, d.enabled)
            }
            (Action::Create | Action::Update, Some(d)) => {
                let file = write_xml_file(&self.tmp_dir, &d.task, &d.definition)?;
                self.runner.create(&d.path, &file.path, d.logon.as_ref())
            }
            (Action::Create | Action::Update, None) | (Action::Unchanged, _) => Ok(()),
        }
    }
}

impl Backend for SchtasksBackend {
    fn kind(&self) -> &'static str {
        "schtasks"
    }

    fn host(&self) -> &str {
        &self.host
    }

    fn path_of(&self, task: &str) -> String {
        self.folder.path_of(task)
    }

    fn render(&self, spec: &TaskSpec, env: &RenderEnv<'_>) -> Result<Option<Desired>> {
        super::limits::check_task_path(&self.folder.path_of(&spec.name))?;
        let who = logon::resolve(spec, env, &self.folder)?;
        let built = taskxml::build(&taskxml::Input {
            spec,
            exe: &who.exe,
            home: &env.home,
            principal: &who.principal,
            registered: Some(env.registered),
        })?;
        let command_line = format!("{} {}", built.command, built.arguments);
        Ok(Some(Desired {
            task: spec.name.clone(),
            path: self.folder.path_of(&spec.name),
            enabled: spec.enabled,
            expect: Fingerprint {
                hash: Some(built.hash.clone()),
                command: Some(command_line),
                workdir: Some(built.workdir.clone()),
                enabled: Some(spec.enabled),
                // A task without triggers still prints one ("On demand only") row.
                triggers: Some(built.triggers.max(1)),
                observed: None,
            },
            definition: built.xml,
            hash: built.hash,
            exact: built.exact,
            triggers: built.triggers,
            notes: built.notes,
            logon: who.logon,
            manual: who.manual,
        }))
    }

    fn registered(&mut self) -> std::result::Result<Vec<Registered>, SchedulerError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.read_back = None;
        let reason = match self.runner.query_all() {
            Ok(parsed) => match readback::suspicion(&self.folder, &parsed) {
                None => return Ok(readback::registrations(&self.folder, &parsed)),
                Some(why) => format!("the machine-wide schtasks query looks tampered with: {why}"),
            },
            Err(e) if readback::falls_back(&e) => {
                format!("the machine-wide schtasks query failed: {e}")
            }
            Err(e) => return Err(e),
        };
        tracing::warn!(%reason, "reading orc's registrations one by one");
        let regs = self.registered_one_by_one()?;
        self.read_back = Some(format!(
            "{reason}; read orc's {} known registration(s) one by one instead",
            self.known.len()
        ));
        Ok(regs)
    }

    fn expect_registrations(&mut self, tasks: &[String]) {
        self.known.clear();
        for t in tasks {
            if !self.known.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                self.known.push(t.clone());
            }
        }
    }

    fn read_back_warning(&self) -> Option<String> {
        self.read_back.clone()
    }

    fn apply(
        &mut self,
        plan: &Plan,
        progress: &mut dyn FnMut(usize, usize),
    ) -> std::result::Result<ApplyReport, SchedulerError> {
        let work: Vec<(usize, &PlanEntry)> = plan.changes().collect();
        let total = work.len();
        let mut report = ApplyReport::default();
        if total == 0 {
            return Ok(report);
        }
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let stop_reason: Mutex<Option<String>> = Mutex::new(None);
        let (tx, rx) = std::sync::mpsc::channel::<Outcome>();
        let workers = self.parallelism.min(total);
        let this = &*self;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, stop, stop_reason, work) = (&next, &stop, &stop_reason, &work);
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(index, entry)) = work.get(i) else { break };
                        let result = if stop.load(Ordering::SeqCst) {
                            let reason = stop_reason.lock().map(|r| r.clone()).ok().flatten();
                            Err(SchedulerError::NotAttempted {
                                reason: reason.unwrap_or_else(|| "an earlier change failed".into()),
                            })
                        } else {
                            let r = this.apply_one(entry);
                            if let Err(e) = &r
                                && e.is_fatal_for_batch()
                            {
                                if let Ok(mut reason) = stop_reason.lock() {
                                    reason.get_or_insert_with(|| format!("stopped after: {e}"));
                                }
                                stop.store(true, Ordering::SeqCst);
                            }
                            r
                        };
                        if tx.send(Outcome { index, result }).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for outcome in rx.iter() {
                report.outcomes.push(outcome);
                progress(report.outcomes.len(), total);
            }
        });
        Ok(report)
    }

    fn details_are_semantic(&self) -> bool {
        true
    }

    fn drift_details(
        &mut self,
        entry: &PlanEntry,
    ) -> std::result::Result<Vec<String>, SchedulerError> {
        let Some(d) = &entry.desired else { return Ok(Vec::new()) };
        if entry.action != Action::Update {
            return Ok(Vec::new());
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let registered = self.runner.query_xml(&entry.path)?;
        Ok(taskxml::normalize::compare(&d.definition, &registered))
    }
}

/// True when the only difference is the enabled state, confirmed by the semantic XML
/// comparison of [`Backend::drift_details`] (the verbose query cannot see every hand edit,
/// e.g. a moved trigger time, so without that confirmation orc re-registers the whole
/// definition).
fn only_enabled_differs(entry: &PlanEntry) -> bool {
    entry.differences.len() == 1
        && entry.differences[0] == "enabled state"
        && taskxml::normalize::only_enabled_differs(&entry.details)
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

    #[test]
    fn failures_are_classified() {
        let out = |code: i64, stderr: &str| CallOutput {
            code,
            stdout: String::new(),
            stderr: stderr.into(),
        };
        assert!(matches!(
            classify_failure("schtasks", "/Create", &out(1, "ERROR: Access is denied.\r\n")),
            SchedulerError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify_failure("schtasks", "/Create", &out(1, "ОШИБКА: отказано в доступе.\r\n")),
            SchedulerError::AccessDenied { .. }
        ));
        let e = classify_failure(
            "schtasks",
            "/Create",
            &out(
                1,
                "ERROR: The task XML is malformed.\r\n(1,2)::ERROR: incorrect document syntax\r\n",
            ),
        );
        match e {
            SchedulerError::Failed { code, stderr, .. } => {
                assert_eq!(code, 1);
                assert_eq!(
                    stderr,
                    "ERROR: The task XML is malformed. (1,2)::ERROR: incorrect document syntax"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_failure(
                "schtasks",
                "/Query",
                &out(1, "ERROR: The RPC server is unavailable.\r\n")
            ),
            SchedulerError::Unavailable { .. }
        ));
        assert!(is_not_found(&out(1, "ERROR: The system cannot find the file specified.\r\n")));
        assert!(is_not_found(&out(
            1,
            "ERROR: The specified task name \"\\x\" does not exist in the system."
        )));
        // By code, whatever the language.
        let fr = "ERREUR : Le nom de tâche spécifié \"\\x\" n'existe pas dans le système.";
        assert!(is_not_found(&out(i64::from(0x8007_0002_u32 as i32), fr)));
        assert!(!is_not_found(&out(1, fr)));
        match classify_failure(
            "schtasks",
            "/Create",
            &out(
                i64::from(0x8007_052E_u32 as i32),
                "ERREUR : Le nom d'utilisateur ou le mot de passe est incorrect.\r\n",
            ),
        ) {
            SchedulerError::Failed { stderr, .. } => assert_eq!(
                stderr,
                "0x8007052E ERROR_LOGON_FAILURE (the user name or password of the run-as \
                 account is incorrect): ERREUR : Le nom d'utilisateur ou le mot de passe est \
                 incorrect."
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_failure("schtasks", "/Create", &out(i64::from(0x8007_0005_u32 as i32), "")),
            SchedulerError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify_failure(
                "schtasks",
                "/Query",
                &out(i64::from(0x8004_1315_u32 as i32), "ERREUR : arrêté")
            ),
            SchedulerError::Unavailable { .. }
        ));
    }

    #[test]
    fn access_denied_error_names_the_elevated_shell_and_exits_4() {
        let e = crate::Error::Scheduler(SchedulerError::AccessDenied {
            program: "schtasks".into(),
            args: "/Create".into(),
        });
        assert!(e.to_string().contains("elevated"));
        assert_eq!(e.exit_code(), crate::error::exit::SCHEDULER);
    }

    #[test]
    fn secrets_are_masked_in_messages() {
        let r = Schtasks::new(
            PathBuf::from("schtasks"),
            Some(Remote {
                host: "srv".into(),
                user: Some("adm".into()),
                password: Some(Zeroizing::new("pw!".into())),
            }),
        );
        let shown = display_args(
            &r.full_args("/Create", vec![arg("/TN"), arg("\\a b"), arg("/RP"), secret("s3")]),
        );
        assert_eq!(shown, "/Create /S srv /U adm /P *** /TN \"\\a b\" /RP *** /HRESULT");
    }

    #[test]
    fn output_decoding() {
        assert_eq!(decode("héllo".as_bytes()), "héllo");
        assert_eq!(decode(b"\xEF\xBB\xBFabc"), "abc");
        assert_eq!(decode(&[0xFF, 0xFE, b'a', 0, b'b', 0]), "ab");
        // CP866 "ОШИБКА" is not UTF-8: never panics, decodes lossily off Windows.
        let s = decode(&[0x8E, 0x98, 0x88, 0x81, 0x8A, 0x80]);
        assert!(!s.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn calls_capture_both_streams_and_the_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"out $*\"\necho 'ERROR: Access is denied.' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = Schtasks::new(script.clone(), None);
        let out = r.call_raw("/Query", vec![arg("/TN"), arg("x")]).unwrap();
        assert_eq!(out.code, 1);
        assert_eq!(out.stdout.trim(), "out /Query /TN x /HRESULT");
        assert!(out.stderr.contains("Access is denied"));
        assert!(matches!(r.run_now("x"), Err(SchedulerError::AccessDenied { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn hung_calls_time_out() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hang.sh");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut r = Schtasks::new(script, None);
        r.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        assert!(matches!(r.end("x"), Err(SchedulerError::Timeout { .. })));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

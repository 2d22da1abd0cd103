//! The crontab backend: orc's tasks as lines of one marked block in the user's crontab
//! (Linux, macOS, any Unix with a Vixie/ISC-style `crontab` program).
//!
//! * **One block per home.** The block is delimited by `# BEGIN orc <id>` / `# END orc <id>`
//!   with `<id>` = [`crate::paths::home_id`] of the home, so two homes on one machine own two
//!   separate blocks and never touch each other's lines. The text of the block is made by
//!   [`cronblock`] (one line per task, and an `@reboot` line after it for a task that also
//!   starts at boot, [`lines`]; disabled tasks as `# disabled: ` comments).
//! * **Everything outside the block is kept byte for byte**, whatever its encoding or line
//!   endings. The only byte orc may add outside its block is a newline where the text before
//!   the block does not end with one, and at the very end when the crontab has no final
//!   newline (cron refuses such a file: "missing newline before EOF").
//! * **One query.** [`Backend::registered`] runs `crontab -l` once. `crontab -l` failing with
//!   "no crontab for USER" means an empty crontab.
//! * **One write, only when something changes.** [`Backend::apply`] does nothing at all when
//!   the plan has no change. Otherwise it reads the crontab again (so that a line the user
//!   added with `crontab -e` since the query is not lost), rebuilds orc's block from the lines
//!   it holds and the plan's changes, and installs the whole new crontab with one
//!   `crontab -` (text on stdin) — or `crontab -r` when nothing at all is left.
//! * **Refusals.** A missing `crontab` program, a non-zero exit (`cron.allow`, a syntax error
//!   cron found), a hang, or a block that was damaged by hand (BEGIN without END, two BEGIN
//!   lines) are [`SchedulerError`]s (exit 4) that name the program, its arguments, its exit
//!   code and its stderr; the crontab is then left as it was.
//!
//! Lines run `<abs orc> --home <abs home> execute --task NAME --scheduled`, with `PATH` set on
//! the command itself and output appended to `<home>/logs/cron.log`. cron evaluates the
//! schedule in the system's local time zone, as orc's cron engine does; orc never writes
//! `CRON_TZ` lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::cronblock::{self, BlockState, Entry, Found};

mod account;
mod lines;
mod lock;
mod write;

use account::effective;
pub use account::{current_user, run_as_allowed, run_as_check};

use super::reconcile::{Action, Plan, PlanEntry};
use super::{
    ApplyReport, Backend, Desired, Fingerprint, Outcome, Registered, RenderEnv, SchedulerError,
    definition_hash,
};
use crate::error::{Error, IoFailure, Result};
use crate::task::TaskSpec;
use crate::task::runas::Account;
pub use write::WRITE_ATTEMPTS;

/// How long one `crontab` call may take before orc stops it.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest command part of a crontab line that Vixie cron (Debian, Ubuntu) accepts
/// (measured with Debian's cron 3.0pl1: 998 bytes install, 999 are refused with "command too
/// long").
pub const MAX_COMMAND: usize = 998;

type SResult<T> = std::result::Result<T, SchedulerError>;

/// What one `crontab` call printed.
#[derive(Debug, Clone)]
pub struct CallOutput {
    pub code: i64,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs the `crontab` program.
#[derive(Debug, Clone)]
pub struct Crontab {
    program: PathBuf,
    timeout: Duration,
}

impl Crontab {
    /// The crontab program: `ORC_CRONTAB`, else `crontab` found on `PATH`.
    pub fn locate() -> SResult<PathBuf> {
        if let Some(p) = crate::env_vars::get(crate::env_vars::ORC_CRONTAB) {
            return Ok(PathBuf::from(p));
        }
        which::which("crontab").map_err(|e| SchedulerError::Unavailable {
            program: "crontab".into(),
            reason: format!(
                "it was not found on PATH ({e}); install cron (Debian/Ubuntu: `apt-get install \
                 cron`, Fedora/RHEL: `dnf install cronie`) or set {} to the crontab program",
                crate::env_vars::ORC_CRONTAB
            ),
        })
    }

    pub fn new(program: PathBuf) -> Crontab {
        Crontab { program, timeout: CALL_TIMEOUT }
    }

    /// Changes the time limit of each call.
    pub fn with_timeout(mut self, timeout: Duration) -> Crontab {
        self.timeout = timeout;
        self
    }

    /// The program path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    fn program_name(&self) -> String {
        self.program.display().to_string()
    }

    /// Runs `crontab ARGS` (feeding `stdin`), returning its output whatever the exit code.
    pub fn call_raw(&self, args: &[&str], stdin: Option<&[u8]>) -> SResult<CallOutput> {
        let shown = args.join(" ");
        tracing::debug!(program = %self.program.display(), args = %shown, "crontab");
        let mut cmd = Command::new(&self.program);
        // Messages in English, so that "no crontab for USER" is recognised.
        cmd.args(args).env("LC_ALL", "C").env_remove("LANGUAGE");
        let done = super::program::run(cmd, stdin, self.timeout)
            .map_err(|f| f.into_error(self.program_name(), shown.clone(), self.timeout))?;
        let code = done.code;
        let stdout = done.stdout;
        let stderr = String::from_utf8_lossy(&done.stderr).trim().to_string();
        // A program that exits without reading its input breaks the pipe: its exit code and
        // stderr say why, so only report the pipe when it claims success.
        if let Some(Err(e)) = done.stdin
            && code == 0
        {
            return Err(SchedulerError::Failed {
                program: self.program_name(),
                args: shown,
                code,
                stderr: format!("it did not read the new crontab: {e}"),
            });
        }
        Ok(CallOutput { code, stdout, stderr })
    }

    fn failed(&self, args: &[&str], out: CallOutput) -> SchedulerError {
        let stderr = if out.stderr.is_empty() { "(no message)".to_string() } else { out.stderr };
        SchedulerError::Failed {
            program: self.program_name(),
            args: args.join(" "),
            code: out.code,
            stderr,
        }
    }

    /// `crontab -l`: the current crontab's raw bytes (empty when the user has none).
    pub fn read(&self) -> SResult<Vec<u8>> {
        let args = ["-l"];
        let out = self.call_raw(&args, None)?;
        if out.code == 0 {
            return Ok(strip_install_header(out.stdout));
        }
        if is_no_crontab(&out.stderr) {
            return Ok(Vec::new());
        }
        Err(self.failed(&args, out))
    }

    /// `crontab -`: installs `text` as the whole crontab.
    pub fn write(&self, text: &[u8]) -> SResult<()> {
        let args = ["-"];
        let out = self.call_raw(&args, Some(text))?;
        if out.code == 0 { Ok(()) } else { Err(self.failed(&args, out)) }
    }

    /// `crontab -r`: removes the crontab (only called when it would otherwise be empty).
    pub fn remove(&self) -> SResult<()> {
        let args = ["-r"];
        let out = self.call_raw(&args, None)?;
        if out.code == 0 || is_no_crontab(&out.stderr) {
            Ok(())
        } else {
            Err(self.failed(&args, out))
        }
    }
}

/// Removes the header that Vixie's `crontab` writes into the spool file ("# DO NOT EDIT THIS
/// FILE - edit the master and reinstall." and two `# (…)` lines) when a `crontab -l` prints
/// it (Debian's and cronie's do not): `crontab -` adds it again, so keeping it would stack up
/// one copy per write.
pub fn strip_install_header(text: Vec<u8>) -> Vec<u8> {
    if !text.starts_with(b"# DO NOT EDIT THIS FILE") {
        return text;
    }
    let mut offset = 0;
    for (i, line) in text.split_inclusive(|b| *b == b'\n').enumerate() {
        let header = if i == 0 { true } else { i < 3 && line.starts_with(b"# (") };
        if !header {
            break;
        }
        offset += line.len();
    }
    text[offset..].to_vec()
}

/// True when `crontab -l`'s stderr says the user has no crontab (Vixie/Debian, cronie,
/// BSD/macOS all print "no crontab for USER").
pub fn is_no_crontab(stderr: &str) -> bool {
    stderr.to_ascii_lowercase().contains("no crontab for")
}

/// The crontab backend for one orc home.
#[derive(Debug)]
pub struct CrontabBackend {
    runner: Crontab,
    id: String,
    home: PathBuf,
    /// The crontab as read by the last query.
    current: Option<Vec<u8>>,
    /// The task lines of orc's block in it.
    found: Vec<Found>,
    /// Number of `crontab` processes started.
    calls: usize,
}

impl CrontabBackend {
    /// A backend editing the block of `home` (absolute) through `runner`.
    pub fn new(runner: Crontab, home: &Path) -> CrontabBackend {
        CrontabBackend {
            runner,
            id: crate::paths::home_id(home),
            home: home.to_path_buf(),
            current: None,
            found: Vec::new(),
            calls: 0,
        }
    }

    /// The block id (`home_id` of the home).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many `crontab` processes this backend started.
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// The task lines found in orc's block by the last query.
    pub fn found(&self) -> &[Found] {
        &self.found
    }

    fn read(&mut self) -> SResult<(Vec<u8>, BlockState)> {
        self.calls += 1;
        let text = self.runner.read()?;
        let state = cronblock::locate(&text, &self.id);
        self.check_state(state)?;
        Ok((text, state))
    }

    fn check_state(&self, state: BlockState) -> SResult<()> {
        let (begin, end) = (format!("# BEGIN orc {}", self.id), format!("# END orc {}", self.id));
        let detail = match state {
            BlockState::Absent | BlockState::Found(..) => return Ok(()),
            BlockState::Unterminated { line } => format!(
                "orc's block for this home begins on line {line} of the crontab (`{begin}`) but \
                 has no `{end}` line, so orc cannot tell its lines from yours; put `{end}` back \
                 after orc's lines with `crontab -e` (or delete orc's lines and the BEGIN line), \
                 then run orc again. The crontab was not changed"
            ),
            BlockState::Duplicated { first, second } => format!(
                "the crontab holds orc's block for this home twice (`{begin}` on lines {first} \
                 and {second}); delete one copy with `crontab -e`, then run orc again. The \
                 crontab was not changed"
            ),
        };
        Err(SchedulerError::Parse { program: self.runner.program_name(), detail })
    }

    /// The crontab text `plan` leads to, from `current` (pure; see the module docs).
    pub fn next_crontab(&self, current: &[u8], state: BlockState, plan: &Plan) -> Vec<u8> {
        let block = match state {
            BlockState::Found(a, b) => String::from_utf8_lossy(&current[a..b]).into_owned(),
            _ => String::new(),
        };
        let mut lines: BTreeMap<String, String> = BTreeMap::new();
        let found = cronblock::parse_block(&block);
        for group in lines::by_task(&found) {
            lines.insert(group[0].task.to_ascii_lowercase(), lines::joined(&group));
        }
        for (_, e) in plan.changes() {
            let key = e.task.to_ascii_lowercase();
            match (e.action, &e.desired) {
                (Action::Delete, _) => {
                    lines.remove(&key);
                }
                (Action::Create | Action::Update, Some(d)) => {
                    lines.insert(key, d.definition.clone());
                }
                _ => {}
            }
        }
        let lines: Vec<String> = lines.into_values().collect();
        let new_block = cronblock::render_lines(&self.id, &self.home, &lines);
        let mut out = cronblock::splice_bytes(current, state, new_block.as_deref());
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.push(b'\n');
        }
        out
    }
}

/// A copy of an error, for reporting one failed write against every entry it carried.
fn copy_error(e: &SchedulerError) -> SchedulerError {
    let io = |s: &std::io::Error| std::io::Error::new(s.kind(), s.to_string());
    match e {
        SchedulerError::Spawn { program, source } => {
            SchedulerError::Spawn { program: program.clone(), source: io(source) }
        }
        SchedulerError::AccessDenied { program, args } => {
            SchedulerError::AccessDenied { program: program.clone(), args: args.clone() }
        }
        SchedulerError::Failed { program, args, code, stderr } => SchedulerError::Failed {
            program: program.clone(),
            args: args.clone(),
            code: *code,
            stderr: stderr.clone(),
        },
        SchedulerError::Unavailable { program, reason } => {
            SchedulerError::Unavailable { program: program.clone(), reason: reason.clone() }
        }
        SchedulerError::Parse { program, detail } => {
            SchedulerError::Parse { program: program.clone(), detail: detail.clone() }
        }
        SchedulerError::Timeout { program, args, secs } => {
            SchedulerError::Timeout { program: program.clone(), args: args.clone(), secs: *secs }
        }
        SchedulerError::NotAttempted { reason } => {
            SchedulerError::NotAttempted { reason: reason.clone() }
        }
        SchedulerError::Io(f) => {
            SchedulerError::Io(IoFailure::new(f.action, f.path.clone(), io(&f.source)))
        }
    }
}

/// The schedule as written into the crontab: the expression as typed (spaces normalised),
/// with a day-of-week range ending in Sunday written `N-7` instead of `N-0`/`N-sun` (cronie
/// reads `fri-sun` as Friday to Sunday, but older Vixie crons read it as an empty range).
pub fn cron_text(schedule: &str) -> String {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 5 {
        return fields.join(" ");
    }
    let dow: Vec<String> = fields[4]
        .split(',')
        .map(|item| match item.split_once('-') {
            Some((a, b)) if !item.contains('/') && (b == "0" || b.eq_ignore_ascii_case("sun")) => {
                format!("{a}-7")
            }
            _ => item.to_string(),
        })
        .collect();
    format!("{} {} {} {} {}", fields[0], fields[1], fields[2], fields[3], dow.join(","))
}

fn no_newline(field: &str, value: &Path) -> Result<()> {
    let text = value.to_string_lossy();
    if text.contains(['\n', '\r']) {
        return Err(Error::invalid(
            field,
            text.into_owned(),
            "a path registered in a crontab cannot contain a line break (cron reads one job per line)",
        ));
    }
    Ok(())
}

impl Backend for CrontabBackend {
    fn kind(&self) -> &'static str {
        "crontab"
    }

    fn host(&self) -> &str {
        ""
    }

    fn path_of(&self, task: &str) -> String {
        format!("crontab:{}/{task}", self.id)
    }

    fn render(&self, spec: &TaskSpec, env: &RenderEnv<'_>) -> Result<Option<Desired>> {
        crate::task::validate_name(&spec.name)?;
        no_newline(crate::env_vars::ORC_EXE, &env.exe)?;
        no_newline("--home", &env.home)?;
        let expr = crate::cron::CronExpr::parse(&spec.schedule)
            .map_err(|e| Error::invalid("--schedule", spec.schedule.clone(), e.to_string()))?;
        let account = effective(spec, env)?;
        if account != Account::CurrentUser {
            let user = current_user().unwrap_or_else(|| "the current user".into());
            let run_as = account.canonical();
            if !run_as_allowed(&account, &user) {
                return Err(Error::invalid(
                    "--run-as",
                    &run_as,
                    format!(
                        "the crontab backend runs every task as the owner of the crontab ({user}); \
                         schedule this task from {run_as}'s own crontab (run `orc schedule` as \
                         that user) or clear it with `orc task edit {} --clear-run-as`",
                        spec.name
                    ),
                ));
            }
        }
        let command = cronblock::command_line(&env.exe, &env.home, &spec.name);
        if command.len() > MAX_COMMAND {
            return Err(Error::invalid(
                "--home",
                env.home.display().to_string(),
                format!(
                    "the crontab command for this task would be {} bytes and cron accepts at most \
                     {MAX_COMMAND}; use a shorter home or orc install path",
                    command.len()
                ),
            ));
        }
        let entry = Entry {
            task: spec.name.clone(),
            schedule: cron_text(expr.source()),
            enabled: spec.enabled,
        };
        let line = lines::definition(&env.exe, &env.home, &entry, spec.at_boot);
        let hash = definition_hash(&line);
        let mut notes = Vec::new();
        if !spec.enabled {
            notes.push("kept in the crontab as a `# disabled:` comment".into());
        }
        Ok(Some(Desired {
            task: spec.name.clone(),
            path: self.path_of(&spec.name),
            enabled: spec.enabled,
            expect: Fingerprint {
                hash: Some(hash.clone()),
                command: Some(command),
                workdir: None,
                enabled: Some(spec.enabled),
                triggers: None,
                observed: None,
            },
            definition: line,
            hash,
            // cron fires on exactly the expression's minutes, in local time like orc's engine.
            exact: true,
            triggers: 1 + usize::from(spec.at_boot),
            notes,
            logon: None,
            manual: None,
        }))
    }

    fn registered(&mut self) -> SResult<Vec<Registered>> {
        let (text, state) = self.read()?;
        let found = match state {
            BlockState::Found(a, b) => {
                cronblock::parse_block(&String::from_utf8_lossy(&text[a..b]))
            }
            _ => Vec::new(),
        };
        let mut out: Vec<Registered> = Vec::new();
        for group in lines::by_task(&found) {
            let f = lines::schedule_line(&group);
            out.push(Registered {
                task: f.task.clone(),
                path: self.path_of(&f.task),
                seen: Fingerprint {
                    // A task's lines are hashed together: a line copied by hand, or a missing
                    // or extra `@reboot` line, changes the hash, so the lines are rewritten.
                    hash: Some(definition_hash(&lines::joined(&group))),
                    command: Some(cronblock::command_of(&f.line)),
                    workdir: None,
                    enabled: Some(f.enabled),
                    triggers: None,
                    observed: None,
                },
                schedule: Some(f.schedule.clone()),
                ..Registered::default()
            });
        }
        self.current = Some(text);
        self.found = found;
        Ok(out)
    }

    fn apply(
        &mut self,
        plan: &Plan,
        progress: &mut dyn FnMut(usize, usize),
    ) -> SResult<ApplyReport> {
        let changes: Vec<usize> = plan.changes().map(|(i, _)| i).collect();
        let mut report = ApplyReport::default();
        if changes.is_empty() {
            return Ok(report);
        }
        let result = self.write_verified(plan);
        let total = changes.len();
        match result {
            Ok(()) => {
                report.outcomes =
                    changes.into_iter().map(|index| Outcome { index, result: Ok(()) }).collect();
            }
            Err(e) => {
                report.outcomes = changes
                    .into_iter()
                    .map(|index| Outcome { index, result: Err(copy_error(&e)) })
                    .collect();
            }
        }
        progress(total, total);
        Ok(report)
    }

    fn drift_details(&mut self, entry: &PlanEntry) -> SResult<Vec<String>> {
        let Some(d) = &entry.desired else { return Ok(Vec::new()) };
        let seen: Vec<&Found> =
            self.found.iter().filter(|f| f.task.eq_ignore_ascii_case(&entry.task)).collect();
        if seen.is_empty() {
            return Ok(Vec::new());
        }
        let want = cronblock::parse_block(&d.definition);
        let want: Vec<&Found> = want.iter().collect();
        let mut out = lines::count_differences(&seen, &want);
        if want.is_empty() {
            return Ok(out);
        }
        let (f, w) = (lines::schedule_line(&seen), lines::schedule_line(&want));
        if f.schedule != w.schedule {
            out.push(format!(
                "schedule: crontab has {:?}, orc registers {:?}",
                f.schedule, w.schedule
            ));
        }
        if f.enabled != w.enabled {
            let word = |e: bool| if e { "enabled" } else { "disabled (commented out)" };
            out.push(format!(
                "state: crontab has it {}, orc registers it {}",
                word(f.enabled),
                word(w.enabled)
            ));
        }
        let (fc, wc) = (cronblock::command_of(&f.line), cronblock::command_of(&w.line));
        if fc != wc {
            out.push(format!("command: crontab has {fc:?}, orc registers {wc:?}"));
        }
        let have = lines::joined(&seen);
        if out.is_empty() && have != d.definition {
            out.push(format!("line: crontab has {have:?}, orc registers {:?}", d.definition));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::plan;
    use zeroize::Zeroizing;

    fn backend() -> CrontabBackend {
        CrontabBackend::new(
            Crontab::new(PathBuf::from("/nonexistent/crontab")),
            Path::new("/srv/orc"),
        )
    }

    fn no_secret(_: &str) -> Result<Zeroizing<String>> {
        Ok(Zeroizing::new(String::new()))
    }

    fn desired(b: &CrontabBackend, name: &str, schedule: &str, enabled: bool) -> Desired {
        let env =
            RenderEnv::new(PathBuf::from("/usr/bin/orc"), PathBuf::from("/srv/orc"), &no_secret);
        let mut spec = TaskSpec::new(name, "echo hi", schedule);
        spec.enabled = enabled;
        b.render(&spec, &env).unwrap().unwrap()
    }

    #[test]
    fn render_makes_one_line_with_its_hash() {
        let b = backend();
        let d = desired(&b, "nightly", "0  2 * * *", true);
        let log = Path::new("/srv/orc").join("logs").join("cron.log"); // platform separator
        assert_eq!(
            d.definition,
            format!(
                "0 2 * * * PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                 '/usr/bin/orc' --home '/srv/orc' execute --task nightly --scheduled \
                 >>'{}' 2>&1",
                log.display()
            )
        );
        assert_eq!(d.hash, definition_hash(&d.definition));
        assert_eq!(
            d.path,
            format!("crontab:{}/nightly", crate::paths::home_id(Path::new("/srv/orc")))
        );
        let off = desired(&b, "nightly", "0 2 * * *", false);
        assert_eq!(off.definition, format!("# disabled: {}", d.definition));
        assert_ne!(off.hash, d.hash);
    }

    #[test]
    fn render_refuses_what_cron_cannot_hold() {
        let b = backend();
        let spec = TaskSpec::new("t", "echo", "@daily");
        let bad_exe =
            RenderEnv::new(PathBuf::from("/opt/or\nc"), PathBuf::from("/srv/orc"), &no_secret);
        let e = b.render(&spec, &bad_exe).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.to_string().contains("line break"), "{e}");
        let long = RenderEnv::new(
            PathBuf::from("/usr/bin/orc"),
            PathBuf::from(format!("/{}", "h".repeat(500))),
            &no_secret,
        );
        let e = b.render(&spec, &long).unwrap_err();
        assert!(e.to_string().contains("at most 998"), "{e}");
        let mut other = TaskSpec::new("t", "echo", "@daily");
        other.run_as = Some("CORP\\someone-else-entirely".into());
        let mut ok_env =
            RenderEnv::new(PathBuf::from("/usr/bin/orc"), PathBuf::from("/srv/orc"), &no_secret);
        let e = b.render(&other, &ok_env).unwrap_err();
        assert!(e.to_string().contains("owner of the crontab"), "{e}");
        // run_as.default applies to a task that names no account.
        ok_env.run_as_default = Account::NetworkService;
        let e = b.render(&spec, &ok_env).unwrap_err();
        assert!(e.to_string().contains("NETWORK SERVICE"), "{e}");
    }

    #[test]
    fn run_as_matches_the_crontab_owner() {
        let a = |s: &str| Account::parse(s).unwrap();
        assert!(run_as_allowed(&a("SYSTEM"), "root"));
        assert!(!run_as_allowed(&a("system"), "alice"));
        assert!(run_as_allowed(&a("alice"), "alice"));
        assert!(run_as_allowed(&a("CORP\\alice"), "alice"));
        assert!(run_as_allowed(&a("alice@corp.example"), "alice"));
        assert!(!run_as_allowed(&a("Alice"), "alice"));
        assert!(!run_as_allowed(&a("LOCAL SERVICE"), "root"));
        assert!(run_as_allowed(&a(""), "alice"));
    }

    #[test]
    fn sunday_range_ends_are_written_as_seven() {
        assert_eq!(cron_text("0 9 * * fri-sun"), "0 9 * * fri-7");
        assert_eq!(cron_text("0  9 * * 5-0,2"), "0 9 * * 5-7,2");
        assert_eq!(cron_text("0 9 * * 1-5"), "0 9 * * 1-5");
        assert_eq!(cron_text("@weekly"), "@weekly");
        for (a, b) in [("0 9 * * fri-sun", "0 9 * * fri-7"), ("0 9 * * 5-0,2", "0 9 * * 5-7,2")] {
            let (x, y) = (
                crate::cron::CronExpr::parse(a).unwrap(),
                crate::cron::CronExpr::parse(b).unwrap(),
            );
            assert_eq!((x.dow, x.dom_star, x.dow_star), (y.dow, y.dom_star, y.dow_star), "{a}");
        }
    }

    #[test]
    fn next_crontab_applies_only_the_plan_and_keeps_the_rest() {
        let b = backend();
        let a = desired(&b, "a", "1 * * * *", true);
        let c = desired(&b, "c", "3 * * * *", true);
        let foreign = b"MAILTO=x\r\n# mine\n5 5 * * * /bin/true";
        // Create a and c in a crontab with no final newline.
        let p = plan(vec![a.clone(), c.clone()], vec![], vec![]);
        let first = b.next_crontab(foreign, BlockState::Absent, &p);
        assert!(first.starts_with(b"MAILTO=x\r\n# mine\n5 5 * * * /bin/true\n# BEGIN orc "));
        let text = String::from_utf8(first.clone()).unwrap();
        assert!(
            text.contains(&format!("\n{}\n{}\n# END orc ", a.definition, c.definition)),
            "{text}"
        );
        // Delete only a (scope --task a): c stays as it is.
        let state = cronblock::locate(&first, b.id());
        let reg_a = Registered { task: "a".into(), path: a.path.clone(), ..Registered::default() };
        let p = plan(vec![], vec![reg_a], vec![]);
        let second = b.next_crontab(&first, state, &p);
        let text = String::from_utf8(second.clone()).unwrap();
        assert!(!text.contains(&a.definition) && text.contains(&c.definition));
        // Delete c too: the block is gone, the foreign text stays (with its added newline).
        let state = cronblock::locate(&second, b.id());
        let reg_c = Registered { task: "c".into(), path: c.path.clone(), ..Registered::default() };
        let third = b.next_crontab(&second, state, &plan(vec![], vec![reg_c], vec![]));
        assert_eq!(third, b"MAILTO=x\r\n# mine\n5 5 * * * /bin/true\n");
        // Nothing but orc's block: nothing left at all.
        let only = b.next_crontab(b"", BlockState::Absent, &plan(vec![a.clone()], vec![], vec![]));
        let reg_a = Registered { task: "a".into(), path: a.path.clone(), ..Registered::default() };
        let state = cronblock::locate(&only, b.id());
        assert_eq!(b.next_crontab(&only, state, &plan(vec![], vec![reg_a], vec![])), b"");
    }

    #[test]
    fn non_utf8_foreign_bytes_survive() {
        let b = backend();
        let foreign: &[u8] = b"# caf\xe9 (latin-1)\n0 1 * * * /bin/true\n";
        let a = desired(&b, "a", "1 * * * *", true);
        let out = b.next_crontab(foreign, BlockState::Absent, &plan(vec![a], vec![], vec![]));
        assert!(out.starts_with(foreign));
    }

    #[test]
    fn an_install_header_printed_by_crontab_l_is_dropped() {
        let spool = b"# DO NOT EDIT THIS FILE - edit the master and reinstall.\n\
# (- installed on Sun Nov 22 04:05:48 2026)\n\
# (Cron version -- $Id: crontab.c,v 2.13 1994/01/17 03:20:37 vixie Exp $)\n\
# (mine) a comment of the user's\n0 1 * * * /bin/true\n";
        assert_eq!(
            strip_install_header(spool.to_vec()),
            b"# (mine) a comment of the user's\n0 1 * * * /bin/true\n"
        );
        let plain = b"# DO NOT EDIT is not at the start\n# (x)\n".to_vec();
        assert_eq!(strip_install_header(plain.clone()), plain);
        assert_eq!(strip_install_header(Vec::new()), b"");
    }

    #[test]
    fn no_crontab_messages_are_recognised() {
        assert!(is_no_crontab("no crontab for root"));
        assert!(is_no_crontab("crontab: no crontab for alice"));
        assert!(!is_no_crontab("You (alice) are not allowed to use this program (crontab)"));
    }

    #[test]
    fn copied_errors_keep_their_message() {
        let e = SchedulerError::Failed {
            program: "crontab".into(),
            args: "-".into(),
            code: 1,
            stderr: "boom".into(),
        };
        assert_eq!(copy_error(&e).to_string(), e.to_string());
        let s = SchedulerError::Spawn {
            program: "x".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(copy_error(&s).to_string(), s.to_string());
    }
}

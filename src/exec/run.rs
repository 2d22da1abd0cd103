//! `orc execute`: one task, from "should this start run at all" to the recorded result.
//!
//! 1. **Slot** (`--scheduled`): the latest cron slot at or before now, within the tolerance
//!    (or catch-up); not due → exit 0, nothing recorded. Already claimed → exit 0.
//! 2. **Dependencies**, polled until met or `--dep-wait` runs out; unmet → a `SKIPPED` row whose
//!    error lists each failed dependency, exit 0 or 7 (`on_unmet`).
//! 3. **Lease**: in one immediate transaction, stale `RUNNING` rows of this host become
//!    `ABANDONED`, the slot is claimed, the overlap policy is applied (skip → `SKIPPED`;
//!    queue → wait; parallel → go) and the `RUNNING` row is inserted — committed before the
//!    child starts. No transaction is open while it runs.
//! 4. **Attempts**: spawn as a killable tree, capture output, enforce the timeout (terminate,
//!    grace, kill), write the result; retry per policy, each attempt its own row.
//! 5. If a result cannot be written, it goes to `<home>/logs/fallback.log` as one JSON line
//!    and orc exits 5.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};

use crate::clock;
use crate::error::{Error, Result, exit};
use crate::exec::deps::{self, DepCheck};
use crate::exec::env::{self, SecretValue};
use crate::exec::output::{Collector, SPILL_CAP, Spill};
use crate::exec::process::{self, Ended, ProcessTree, Streams};
use crate::exec::runs::{self, Finish, NewRun, RunRecord, Status, StoredStream, Trigger};
use crate::exec::{hooks, retention, slot};
use crate::paths::Paths;
use crate::store::{Store, StoreError, classify, to_db_time};
use crate::task::{Backoff, OnUnmet, Overlap, TaskSpec};

/// Default grace between the polite stop and the kill on timeout.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);
/// How long output readers may lag behind the end of the process tree.
pub const READER_GRACE: Duration = Duration::from_secs(2);
/// Longest delay between retries.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);
/// Longest wait for a previous run with overlap `queue` when the task has no timeout.
pub const QUEUE_WAIT_WITHOUT_TIMEOUT: Duration = Duration::from_secs(3600);
const QUEUE_POLL: Duration = Duration::from_millis(500);

/// A task as stored.
#[derive(Debug, Clone)]
pub struct StoredTask {
    pub id: i64,
    pub enabled: bool,
    pub spec: TaskSpec,
}

/// Loads a task by name (case-insensitive); [`Error::NotFound`] (exit 3) when there is none.
pub fn load_task(conn: &Connection, name: &str) -> Result<StoredTask> {
    let stored = crate::task::repo::require(conn, name)?;
    Ok(StoredTask { id: stored.id, enabled: stored.spec.enabled, spec: stored.spec })
}

/// Options of one execution.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    /// Started by the OS scheduler: serve a slot.
    pub scheduled: bool,
    /// Poll unmet dependencies this long before giving up.
    pub dep_wait: Option<Duration>,
    /// Grace between the polite stop and the kill on timeout.
    pub kill_grace: Duration,
    /// A person is at a terminal (the vault may ask for a passphrase). Never for scheduled runs.
    pub interactive: bool,
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            scheduled: false,
            dep_wait: None,
            kill_grace: DEFAULT_KILL_GRACE,
            interactive: false,
        }
    }
}

/// Progress, for the command line to show as it happens.
#[derive(Debug)]
pub enum Event<'a> {
    /// A scheduled start that is not due (nothing recorded).
    NotDue(&'a str),
    /// The slot was claimed by another start.
    AlreadyClaimed(&'a str),
    /// A scheduled start of a disabled task.
    Disabled,
    /// A manual run of a disabled task goes ahead.
    RunningDisabled,
    /// Dependencies are not met yet; polling until the deadline.
    WaitingForDeps { unmet: &'a [DepCheck], left: Duration },
    /// Overlap `queue`: waiting for a previous run.
    Queued { run_id: i64 },
    /// An attempt finished (or the run was skipped).
    Recorded { run: &'a RunRecord, attempts: u32 },
    /// The next attempt starts after this delay.
    Retrying { next_attempt: u32, attempts: u32, delay: Duration },
}

/// The result of one execution.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// orc's exit code.
    pub exit_code: i32,
    /// The rows written, in order.
    pub runs: Vec<RunRecord>,
}

impl Outcome {
    fn nothing() -> Outcome {
        Outcome { exit_code: exit::SUCCESS, runs: Vec::new() }
    }
}

fn db<T>(
    store: &mut Store,
    what: &'static str,
    f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let path = store.path().to_path_buf();
    store.write(|tx| f(tx).map_err(|e| classify(&path, what, e)))
}

/// Runs a task. See the module documentation for the sequence.
pub fn execute(
    store: &mut Store,
    paths: &Paths,
    name: &str,
    opts: &ExecOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome> {
    // Many short-lived `orc execute` processes share the database: leave checkpointing to
    // SQLite's automatic checkpoints instead of checkpointing (and deleting the WAL) every time
    // the last connection closes. Saves four fsyncs per run; durability is unchanged.
    if let Err(e) = store
        .conn()
        .set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
    {
        tracing::debug!(error = %e, "cannot turn off the checkpoint on close");
    }
    let task = load_task(store.conn(), name)?;
    let spec = &task.spec;
    let now = clock::now();

    // 1. The slot.
    let (slot, trigger) = if opts.scheduled {
        if !task.enabled {
            on_event(Event::Disabled);
            return Ok(Outcome::nothing());
        }
        let expr = crate::cron::CronExpr::parse(&spec.schedule)
            .map_err(|e| Error::invalid("schedule", &spec.schedule, e.to_string()))?;
        match slot::decide(&expr, spec.catch_up, now) {
            slot::SlotDecision::NotDue(why) => {
                tracing::debug!(task = %spec.name, "{why}");
                on_event(Event::NotDue(&why));
                return Ok(Outcome::nothing());
            }
            slot::SlotDecision::Due { text, .. } => {
                let claimed = slot::is_claimed(store.conn(), &spec.name, &text)
                    .map_err(|e| store.err("read slot claims", e))?;
                if claimed {
                    on_event(Event::AlreadyClaimed(&text));
                    return Ok(Outcome::nothing());
                }
                (Some(text), Trigger::Scheduled)
            }
        }
    } else {
        if !task.enabled {
            on_event(Event::RunningDisabled);
        }
        (None, Trigger::Manual)
    };

    let workdir = env::workdir(spec, &paths.home);
    let first = NewRun {
        task_id: Some(task.id),
        task: spec.name.clone(),
        slot: slot.clone(),
        attempt: 1,
        trigger,
        start: clock::now_utc(),
    };
    let mut claim_pending = slot.is_some();

    // 2. Dependencies (the slot is claimed first, so only the winner checks and waits).
    if !spec.depends_on.is_empty() {
        if claim_pending {
            let text = slot.as_deref().unwrap_or_default();
            let won = db(store, "claim slot", |tx| {
                slot::claim(tx, &spec.name, text, &to_db_time(first.start))
            })?;
            if !won {
                on_event(Event::AlreadyClaimed(text));
                return Ok(Outcome::nothing());
            }
            claim_pending = false;
        }
        let checks = wait_for_deps(store, paths, spec, &workdir, opts.dep_wait, on_event);
        if checks.iter().any(|c| !c.met) {
            let start = first.start;
            let fin = Finish::bare(Status::Skipped, start, Some(deps::unmet_text(&checks)));
            let id = db(store, "record skipped run", |tx| {
                let id = runs::insert_final(tx, &first, &fin)?;
                if let Some(s) = &first.slot {
                    slot::link(tx, &first.task, s, id)?;
                }
                Ok(id)
            })?;
            let rec = read_back(store, id)?;
            on_event(Event::Recorded { run: &rec, attempts: spec.attempts() });
            hooks::after_final_attempt(store, &rec);
            let code =
                if spec.on_unmet == OnUnmet::Fail { exit::DEPS_UNMET } else { exit::SUCCESS };
            return Ok(Outcome { exit_code: code, runs: vec![rec] });
        }
    }

    // 3. The lease.
    // Checked: a timeout beyond what an Instant holds is no deadline at all.
    let queue_wait = spec.timeout.map(Duration::from_secs).unwrap_or(QUEUE_WAIT_WITHOUT_TIMEOUT);
    let queue_deadline = Instant::now()
        .checked_add(queue_wait)
        .unwrap_or_else(|| Instant::now() + QUEUE_WAIT_WITHOUT_TIMEOUT);
    let mut announced_queue = false;
    let run_id = loop {
        let begun = db(store, "start run", |tx| begin(tx, &first, claim_pending, spec.overlap))?;
        match begun {
            Begin::Started(id) => break id,
            Begin::Lost => {
                on_event(Event::AlreadyClaimed(first.slot.as_deref().unwrap_or_default()));
                return Ok(Outcome::nothing());
            }
            Begin::Skipped(id) => {
                let rec = read_back(store, id)?;
                on_event(Event::Recorded { run: &rec, attempts: spec.attempts() });
                hooks::after_final_attempt(store, &rec);
                return Ok(Outcome { exit_code: exit::SUCCESS, runs: vec![rec] });
            }
            Begin::Busy(other) => {
                // Overlap `queue`: the slot (if any) is ours now; wait for the other run.
                claim_pending = false;
                if !announced_queue {
                    on_event(Event::Queued { run_id: other });
                    announced_queue = true;
                }
                if Instant::now() >= queue_deadline {
                    let waited = spec.timeout.unwrap_or(QUEUE_WAIT_WITHOUT_TIMEOUT.as_secs());
                    let why = format!(
                        "previous run {other} still running after waiting {} (overlap queue)",
                        crate::render::secs(waited)
                    );
                    let fin = Finish::bare(Status::Skipped, first.start, Some(why));
                    let id = db(store, "record skipped run", |tx| {
                        let id = runs::insert_final(tx, &first, &fin)?;
                        if let Some(s) = &first.slot {
                            slot::link(tx, &first.task, s, id)?;
                        }
                        Ok(id)
                    })?;
                    let rec = read_back(store, id)?;
                    on_event(Event::Recorded { run: &rec, attempts: spec.attempts() });
                    hooks::after_final_attempt(store, &rec);
                    return Ok(Outcome { exit_code: exit::SUCCESS, runs: vec![rec] });
                }
                std::thread::sleep(QUEUE_POLL);
            }
        }
    };

    // 4. Attempts.
    let attempts = spec.attempts();
    let mut current = run_id;
    let mut attempt = 1;
    let mut records = Vec::new();
    loop {
        let result = run_attempt(store, paths, spec, current, &workdir, opts);
        let retry = attempt < attempts && should_retry(&result.finish, spec);
        let next = retry.then(|| {
            let delay = retry_delay(spec, attempt);
            (
                delay,
                NewRun {
                    task_id: Some(task.id),
                    task: spec.name.clone(),
                    slot: slot.clone(),
                    attempt: attempt + 1,
                    trigger: Trigger::Retry,
                    start: clock::saturating_add(
                        clock::now_utc(),
                        chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero()),
                    ),
                },
            )
        });
        let written = db(store, "record run result", |tx| {
            runs::finish(tx, current, &result.finish)?;
            match &next {
                Some((_, new)) => {
                    let id = runs::insert_running(tx, new)?;
                    let note = format!(
                        "retry pending: attempt {} starts at {}",
                        new.attempt,
                        clock::to_local_human(new.start)
                    );
                    tx.execute(
                        "UPDATE runs SET error = ?2 WHERE id = ?1",
                        rusqlite::params![id, note],
                    )?;
                    Ok(Some(id))
                }
                None => Ok(None),
            }
        });
        let next_id = match written {
            Ok(id) => id,
            Err(e) => {
                write_fallback(paths, current, spec, slot.as_deref(), attempt, &result.finish, &e);
                return Err(Error::Store(e));
            }
        };
        let rec = read_back(store, current)?;
        on_event(Event::Recorded { run: &rec, attempts });
        records.push(rec);
        match (next, next_id) {
            (Some((delay, _)), Some(id)) => {
                on_event(Event::Retrying { next_attempt: attempt + 1, attempts, delay });
                std::thread::sleep(delay);
                attempt += 1;
                current = id;
            }
            _ => break,
        }
    }
    let last = records.last().expect("at least one attempt").clone();
    hooks::after_final_attempt(store, &last);
    let days = retention::retention_days(store.conn());
    retention::maybe_sweep(&paths.runs_dir(), days);
    let exit_code = exit_code_for(&last, &spec.secret_env);
    Ok(Outcome { exit_code, runs: records })
}

fn read_back(store: &Store, id: i64) -> Result<RunRecord> {
    runs::get(store.conn(), id)
        .map_err(|e| store.err("read run", e))?
        .ok_or_else(|| Error::Failed(format!("run {id} vanished from the database")))
}

/// The outcome of the lease transaction.
enum Begin {
    Started(i64),
    /// Another process claimed the slot.
    Lost,
    /// Overlap `skip`: recorded as SKIPPED with this id.
    Skipped(i64),
    /// Overlap `queue`: this run is still running.
    Busy(i64),
}

fn begin(tx: &Connection, new: &NewRun, claim: bool, overlap: Overlap) -> rusqlite::Result<Begin> {
    let start = to_db_time(new.start);
    if claim && !slot::claim(tx, &new.task, new.slot.as_deref().unwrap_or_default(), &start)? {
        return Ok(Begin::Lost);
    }
    // Reap stale leases of this host, and find a live run of this task.
    let host = runs::hostname();
    let now = clock::now_utc();
    let mut live = None;
    for r in runs::running(tx, None)? {
        if runs::is_stale(&r, &host) {
            runs::mark_abandoned(tx, &r, now)?;
        } else if live.is_none() && r.task.eq_ignore_ascii_case(&new.task) {
            live = Some(r.id);
        }
    }
    let link = |id: i64| -> rusqlite::Result<()> {
        if let Some(s) = &new.slot {
            slot::link(tx, &new.task, s, id)?;
        }
        Ok(())
    };
    match (live, overlap) {
        (Some(other), Overlap::Skip) => {
            let why = format!("previous run {other} still running (overlap skip)");
            let id =
                runs::insert_final(tx, new, &Finish::bare(Status::Skipped, new.start, Some(why)))?;
            link(id)?;
            Ok(Begin::Skipped(id))
        }
        (Some(other), Overlap::Queue) => Ok(Begin::Busy(other)),
        _ => {
            let mut fresh = new.clone();
            fresh.start = now.max(new.start);
            let id = runs::insert_running(tx, &fresh)?;
            link(id)?;
            Ok(Begin::Started(id))
        }
    }
}

fn wait_for_deps(
    store: &Store,
    paths: &Paths,
    spec: &TaskSpec,
    workdir: &std::result::Result<PathBuf, String>,
    wait: Option<Duration>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Vec<DepCheck> {
    let dir = workdir.clone().unwrap_or_else(|_| paths.home.clone());
    let env = env::child_env(std::env::vars_os(), spec, &[]);
    let deadline = wait.map(|w| Instant::now() + w);
    let poll = wait
        .map(|w| (w / 20).clamp(Duration::from_secs(1), Duration::from_secs(30)))
        .unwrap_or(Duration::from_secs(1));
    loop {
        let ctx = deps::DepContext {
            conn: store.conn(),
            shell: spec.shell,
            workdir: &dir,
            env: &env,
            now: clock::now_utc(),
        };
        let checks = deps::check_all(&spec.depends_on, &ctx);
        let unmet: Vec<DepCheck> = checks.iter().filter(|c| !c.met).cloned().collect();
        if unmet.is_empty() {
            return checks;
        }
        let left =
            deadline.map(|d| d.saturating_duration_since(Instant::now())).unwrap_or_default();
        if left.is_zero() {
            return checks;
        }
        on_event(Event::WaitingForDeps { unmet: &unmet, left });
        std::thread::sleep(poll.min(left));
    }
}

/// One attempt's result, not yet written.
struct AttemptResult {
    finish: Finish,
}

fn failed_before_start(start: DateTime<Utc>, error: String) -> AttemptResult {
    AttemptResult { finish: Finish::bare(Status::Failed, start, Some(error)) }
}

/// Marker at the start of the error of a run refused for lack of secrets (exit code 6).
pub const SECRETS_UNAVAILABLE: &str = "secrets unavailable";

fn run_attempt(
    store: &mut Store,
    paths: &Paths,
    spec: &TaskSpec,
    run_id: i64,
    workdir: &std::result::Result<PathBuf, String>,
    opts: &ExecOptions,
) -> AttemptResult {
    let start = clock::now_utc();
    let interactive = opts.interactive && !opts.scheduled;
    let secrets: Vec<(String, SecretValue)> =
        match env::resolve_secret_env(store, paths, spec, interactive) {
            Ok(s) => s,
            Err(e) => return failed_before_start(start, format!("{SECRETS_UNAVAILABLE}: {}", e.0)),
        };
    let workdir = match workdir {
        Ok(w) => w.clone(),
        Err(e) => return failed_before_start(start, e.clone()),
    };
    let child_env = env::child_env(std::env::vars_os(), spec, &secrets);
    let lookup = process::Lookup { path: env::path_of(&child_env), workdir: &workdir };
    let inv = match process::invocation(spec.shell, &spec.command, lookup) {
        Ok(i) => process::Invocation { allow_breakaway: spec.allow_breakaway, ..i },
        Err(e) => return failed_before_start(start, e),
    };
    let spawned =
        match spawn_with_retry(|| ProcessTree::spawn(&inv, &workdir, &child_env, Streams::Piped)) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                return failed_before_start(
                    start,
                    format!(
                        "refused to start {}: its arguments cannot be passed safely (batch files \
                     take no arguments with quotes or special characters): {e}",
                        inv.program.display()
                    ),
                );
            }
            Err(e) => {
                return failed_before_start(
                    start,
                    format!("cannot start {}: {e}", inv.program.display()),
                );
            }
        };
    let started = Instant::now();
    let start = clock::now_utc();
    let mut tree = spawned.tree;
    let pid = tree.pid();
    if let Err(e) =
        db(store, "record child process", |tx| runs::mark_started(tx, run_id, pid, start))
    {
        tracing::warn!(error = %e, "cannot record the task's process id; the run goes on");
    }
    let secret_bytes: Vec<Vec<u8>> =
        secrets.iter().map(|(_, v)| v.as_bytes().to_vec()).filter(|v| !v.is_empty()).collect();
    let spill = Spill::to(Spill::path_for(&paths.runs_dir(), run_id), SPILL_CAP);
    let collector = Collector::start(
        spawned.stdout.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        spawned.stderr.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        &secret_bytes,
        spill,
    );
    drop(secrets);

    let deadline = spec.timeout.and_then(|t| started.checked_add(Duration::from_secs(t)));
    let (status, timed_out) = match tree.wait_until(deadline) {
        Some(s) => (Some(s), false),
        None => {
            tracing::info!(run = run_id, "timeout: stopping the whole process tree");
            tree.terminate();
            match tree.wait_until(Some(Instant::now() + opts.kill_grace)) {
                Some(s) => (Some(s), true),
                None => {
                    tree.kill();
                    (tree.wait_until(None), true)
                }
            }
        }
    };
    tree.finish();
    let collected = match collector {
        Ok(c) => c.finish(Instant::now() + READER_GRACE),
        Err(e) => {
            tracing::warn!(error = %e, "cannot start the output readers");
            Default::default()
        }
    };
    let elapsed = started.elapsed();
    let end = clock::saturating_add(
        start,
        chrono::Duration::from_std(elapsed).unwrap_or(chrono::Duration::zero()),
    );

    let (status_kind, exit_code, mut error) = if timed_out {
        let limit = crate::render::secs(spec.timeout.unwrap_or(0));
        (Status::Timeout, None, Some(format!("killed after timeout {limit} (whole process tree)")))
    } else {
        match status.map(Ended::from_status) {
            Some(Ended::Code(0)) => (Status::Success, Some(0), None),
            Some(ended) => {
                (Status::Failed, Some(ended.stored_code()), Some(runs::ended_text(ended)))
            }
            None => (Status::Failed, None, Some("lost track of the task's process".to_string())),
        }
    };
    if collected.readers_abandoned {
        let note = "output may be incomplete: a process outside the task's tree kept its \
                    output pipe open";
        error = Some(match error {
            Some(e) => format!("{e}; {note}"),
            None => note.to_string(),
        });
    }
    let stream = |c: &crate::exec::output::Captured| StoredStream {
        head: c.head.clone(),
        tail: c.tail.clone(),
        bytes: c.total as i64,
    };
    AttemptResult {
        finish: Finish {
            status: status_kind,
            end,
            duration_ms: elapsed.as_millis() as i64,
            exit_code,
            killed_by_timeout: timed_out,
            error,
            stdout: stream(&collected.stdout),
            stderr: stream(&collected.stderr),
            output_file: collected.spill_file.map(|p| p.to_string_lossy().into_owned()),
        },
    }
}

/// Whether a finished attempt is retried: failures whose exit code is in `retry_on` (any
/// failure when it is empty) and timeouts. Runs that could not start (bad directory, missing
/// program, no secrets) are not retried: the next attempt would fail the same way.
pub fn should_retry(f: &Finish, spec: &TaskSpec) -> bool {
    match f.status {
        Status::Timeout => true,
        Status::Failed => match f.exit_code {
            Some(code) => spec.retry_on.is_empty() || spec.retry_on.contains(&code),
            None => false,
        },
        _ => false,
    }
}

/// The delay before attempt `attempt + 1`: `retry_delay`, doubled per attempt with
/// exponential backoff (capped at one hour), ±10 % jitter.
pub fn retry_delay(spec: &TaskSpec, attempt: u32) -> Duration {
    let base = spec.retry_delay as f64;
    let raw = match spec.backoff {
        Backoff::Fixed => base,
        Backoff::Exponential => base * 2f64.powi(attempt.saturating_sub(1).min(30) as i32),
    };
    let capped = raw.min(MAX_RETRY_DELAY.as_secs_f64());
    let unit = getrandom::u32().map(|r| r as f64 / u32::MAX as f64).unwrap_or(0.5);
    let jitter = 0.9 + 0.2 * unit;
    Duration::from_secs_f64((capped * jitter).max(0.0))
}

/// orc's exit code for the final record.
fn exit_code_for(last: &RunRecord, secret_env: &std::collections::BTreeMap<String, String>) -> i32 {
    match last.status {
        Status::Success | Status::Skipped => exit::SUCCESS,
        Status::Timeout => exit::TIMEOUT,
        Status::Failed => {
            let secrets_missing = !secret_env.is_empty()
                && last.error.as_deref().is_some_and(|e| e.starts_with(SECRETS_UNAVAILABLE));
            if secrets_missing {
                return exit::SECRETS;
            }
            match last.exit_code {
                // The task's own code, all 32 bits on Windows (Task Scheduler shows it).
                Some(code) => code as u32 as i32,
                None => exit::FAILURE,
            }
        }
        Status::Running | Status::Abandoned => exit::FAILURE,
    }
}

/// Writes a result the database would not take as one JSON line to `<home>/logs/fallback.log`.
fn write_fallback(
    paths: &Paths,
    run_id: i64,
    spec: &TaskSpec,
    slot: Option<&str>,
    attempt: u32,
    f: &Finish,
    db_error: &StoreError,
) {
    use std::io::Write;
    let line = serde_json::json!({
        "time": clock::to_local_iso(clock::now_utc()),
        "run_id": run_id,
        "task": spec.name,
        "slot": slot,
        "attempt": attempt,
        "status": f.status.as_str(),
        "end": clock::to_local_iso(f.end),
        "duration_ms": f.duration_ms,
        "exit_code": f.exit_code,
        "killed_by_timeout": f.killed_by_timeout,
        "error": f.error,
        "stdout_bytes": f.stdout.bytes,
        "stderr_bytes": f.stderr.bytes,
        "stdout_tail": f.stdout.tail_text(2048),
        "stderr_tail": f.stderr.tail_text(2048),
        "output_file": f.output_file,
        "host": runs::hostname(),
        "db_error": db_error.to_string(),
    });
    let dir = paths.logs_dir();
    let path = dir.join("fallback.log");
    let written = crate::fsx::ensure_private_dir(&dir).and_then(|_| {
        let mut file = crate::fsx::append_private(&path)?;
        file.write_all(format!("{line}\n").as_bytes())
    });
    match written {
        Ok(()) => tracing::error!(
            "the result of run {run_id} could not be written to the database; it was saved to {}",
            path.display()
        ),
        Err(e) => tracing::error!(
            "the result of run {run_id} could not be written to the database nor to {}: {e}; \
             result: {line}",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy() {
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        let failed = |code: Option<i64>| Finish {
            exit_code: code,
            ..Finish::bare(Status::Failed, clock::now_utc(), None)
        };
        assert!(should_retry(&failed(Some(1)), &spec));
        assert!(!should_retry(&failed(None), &spec), "could not start: not retried");
        spec.retry_on = vec![75];
        assert!(!should_retry(&failed(Some(1)), &spec));
        assert!(should_retry(&failed(Some(75)), &spec));
        let timeout = Finish::bare(Status::Timeout, clock::now_utc(), None);
        assert!(should_retry(&timeout, &spec), "timeouts are always retried");
        let ok = Finish::bare(Status::Success, clock::now_utc(), None);
        assert!(!should_retry(&ok, &spec));
    }

    #[test]
    fn retry_delays_back_off_with_jitter() {
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        spec.retry_delay = 100;
        for attempt in 1..5 {
            let d = retry_delay(&spec, attempt).as_secs_f64();
            assert!((90.0..=110.0).contains(&d), "fixed {attempt}: {d}");
        }
        spec.backoff = Backoff::Exponential;
        for (attempt, want) in [(1, 100.0), (2, 200.0), (3, 400.0), (4, 800.0), (6, 3200.0)] {
            let d = retry_delay(&spec, attempt).as_secs_f64();
            assert!(d >= want * 0.9 && d <= want * 1.1, "exp {attempt}: {d}");
        }
        let d = retry_delay(&spec, 20).as_secs_f64();
        assert!((3600.0 * 0.9..=3600.0 * 1.1).contains(&d), "capped: {d}");
    }
}

/// Process creation can fail for a moment when the machine is short of resources (Windows:
/// `ERROR_NO_SYSTEM_RESOURCES`, `ERROR_NOT_ENOUGH_MEMORY`, `ERROR_OUTOFMEMORY`,
/// `ERROR_INTERNAL_ERROR` — the desktop heap of a busy service session, or a loaded Wine
/// server; Unix: `EAGAIN`, `ENOMEM`). Those are tried again twice, after 100 and 300 ms; any
/// other error (missing program, access denied, refused arguments) is returned at once.
/// The test harness starts orc through it too: a loaded Wine server fails `CreateProcess` the same way.
pub fn spawn_with_retry<T>(mut spawn: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut delays = [100u64, 300].into_iter();
    loop {
        match spawn() {
            Err(e) if is_transient_spawn_error(&e) => match delays.next() {
                Some(ms) => {
                    tracing::warn!(error = %e, "starting the task failed; trying again");
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

fn is_transient_spawn_error(e: &std::io::Error) -> bool {
    let transient: &[i32] = if cfg!(windows) {
        &[8, 14, 1359, 1450] // NOT_ENOUGH_MEMORY, OUTOFMEMORY, INTERNAL_ERROR, NO_SYSTEM_RESOURCES
    } else {
        &[11, 12] // EAGAIN, ENOMEM
    };
    e.raw_os_error().is_some_and(|code| transient.contains(&code))
}

#[cfg(test)]
mod spawn_retry_tests {
    use super::*;

    fn os(code: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(code)
    }

    #[test]
    fn transient_failures_are_retried_then_reported() {
        let code = if cfg!(windows) { 1359 } else { 11 };
        let mut calls = 0;
        let r: std::io::Result<()> = spawn_with_retry(|| {
            calls += 1;
            Err(os(code))
        });
        assert_eq!(calls, 3);
        assert_eq!(r.unwrap_err().raw_os_error(), Some(code));
        let mut calls = 0;
        let r = spawn_with_retry(|| {
            calls += 1;
            if calls < 2 { Err(os(code)) } else { Ok(7) }
        });
        assert_eq!((r.unwrap(), calls), (7, 2));
    }

    #[test]
    fn other_failures_are_not_retried() {
        let mut calls = 0;
        let r: std::io::Result<()> = spawn_with_retry(|| {
            calls += 1;
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such program"))
        });
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }
}

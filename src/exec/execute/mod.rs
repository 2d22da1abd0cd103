//! `orc execute`: one task, from "should this start run at all" to the recorded result.
//! (The `runs` rows themselves are [`crate::exec::runs`]'s.)
//!
//! 0. **Host** (fleet, `src/fleet/`): a task assigned to other hosts is refused here (exit 2,
//!    nothing recorded): its registration on this host is stale (`orc schedule --all` removes
//!    it).
//! 1. **Slot** (`--scheduled`): the latest cron slot at or before now, within the tolerance
//!    (or catch-up); not due → exit 0, nothing recorded. Already claimed (by any host for a
//!    `run-on any` task, by this host for `run-on all`) → exit 0, nothing recorded.
//! 2. **Dependencies**, polled until met or `--dep-wait` runs out; unmet → a `SKIPPED` row whose
//!    error lists each failed dependency, exit 0 or 7 (`on_unmet`).
//! 3. **Lease** ([`lease`]): in one immediate transaction, stale `RUNNING` rows of this host
//!    become `ABANDONED`, the slot is claimed, the overlap policy is applied (skip → `SKIPPED`;
//!    queue → wait; parallel → go) and the `RUNNING` row is inserted — committed before the
//!    child starts. No transaction is open while it runs.
//! 4. **Attempts** ([`attempts`], each one [`attempt`]): spawn as a killable tree, capture
//!    output, enforce the timeout (terminate, grace, kill), write the result; retry per
//!    policy, each attempt its own row.
//! 5. If a result cannot be written, it goes to `<home>/logs/fallback.log` as one JSON line
//!    ([`fallback`]) and orc exits 5.
//! 6. **Finish**: every execution that recorded a row ends in [`finish`]: the final record
//!    goes to [`hooks::after_final_attempt`] (mail) after it is committed.

mod attempt;
mod attempts;
mod fallback;
mod lease;
mod spawn;

pub use attempts::{retry_delay, should_retry};
pub use spawn::spawn_with_retry;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::store::sql::Transaction;

use crate::clock;
use crate::error::{Error, Result, exit};
use crate::exec::deps::{self, DepCheck};
use crate::exec::runs::{self, NewRun, RunRecord, Status, Trigger};
use crate::exec::{env, hooks, retention, slot};
use crate::paths::Paths;
use crate::store::{Store, StoreError, classify, to_db_time};
use crate::task::repo::StoredTask;
use crate::task::{OnUnmet, TaskSpec};

/// Default grace between the polite stop and the kill on timeout.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(5);
/// How long output readers may lag behind the end of the process tree.
pub const READER_GRACE: Duration = Duration::from_secs(2);
/// Longest delay between retries.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);
/// Longest wait for a previous run with overlap `queue` when the task has no timeout.
pub const QUEUE_WAIT_WITHOUT_TIMEOUT: Duration = Duration::from_secs(3600);
const QUEUE_POLL: Duration = Duration::from_millis(500);

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
    /// The slot was claimed by another start (`by`: its host, empty when unknown).
    AlreadyClaimed { slot: &'a str, by: &'a str },
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

/// Marker at the start of the error of a run refused for lack of secrets (exit code 6).
pub const SECRETS_UNAVAILABLE: &str = "secrets unavailable";

/// What every step of one execution reads.
struct Job<'a> {
    paths: &'a Paths,
    task: &'a StoredTask,
    opts: &'a ExecOptions,
    /// The child's working directory, or why there is none.
    workdir: std::result::Result<PathBuf, String>,
    /// This host ([`crate::fleet::this_host`]).
    host: String,
}

impl Job<'_> {
    fn spec(&self) -> &TaskSpec {
        &self.task.spec
    }
}

/// The run about to start: its first row, and whether its slot is still to be claimed.
struct Plan {
    first: NewRun,
    claim_pending: bool,
    /// The claim scope of its slot ([`crate::fleet::assign::claim_scope`]).
    scope: String,
}

impl Plan {
    /// The key of its slot claim, when it serves a slot.
    fn claim_key(&self) -> Option<slot::ClaimKey<'_>> {
        let slot = self.first.slot.as_deref()?;
        Some(slot::ClaimKey { task: &self.first.task, slot, scope: &self.scope })
    }
}

/// Why an execution ends before its attempts.
enum Stop {
    /// Nothing recorded (not due, disabled, claimed by another start).
    Nothing,
    /// A `SKIPPED` row was recorded; orc exits with `exit_code`.
    Skipped { id: i64, exit_code: i32 },
}

fn db<T>(
    store: &mut Store,
    what: &'static str,
    f: impl FnOnce(&Transaction<'_>) -> crate::store::sql::Result<T>,
) -> Result<T, StoreError> {
    let path = store.path().to_path_buf();
    store.write(|tx| f(tx).map_err(|e| classify(&path, what, e)))
}

fn read_back(store: &Store, id: i64) -> Result<RunRecord> {
    runs::get(store.conn(), id)
        .map_err(|e| store.err("read run", e))?
        .ok_or_else(|| Error::Failed(format!("run {id} vanished from the database")))
}

/// Runs a task. See the module documentation for the sequence.
pub fn execute(
    store: &mut Store,
    paths: &Paths,
    name: &str,
    opts: &ExecOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome> {
    keep_wal_on_close(store);
    let task = crate::task::repo::require(store.conn(), name)?;
    let host = crate::fleet::this_host();
    crate::fleet::assign::require_here(store.conn(), &task.spec, &host)?;
    let workdir = env::workdir(&task.spec, &paths.home);
    let job = Job { paths, task: &task, opts, workdir, host };
    let mut plan = match claim_slot(store, &job, on_event)? {
        Ok(plan) => plan,
        Err(stop) => return stopped(store, &job, stop, on_event),
    };
    if let Err(stop) = check_deps(store, &job, &mut plan, on_event)? {
        return stopped(store, &job, stop, on_event);
    }
    let run_id = match lease::take(store, &job, &mut plan, on_event)? {
        Ok(id) => id,
        Err(stop) => return stopped(store, &job, stop, on_event),
    };
    let records = attempts::run_all(store, &job, &plan, run_id, on_event)?;
    let last = records.last().expect("at least one attempt");
    let exit_code = exit_code_for(last, &task.spec.secret_env);
    let outcome = finish(store, records, exit_code);
    retention::maybe_sweep(&paths.runs_dir(), || retention::retention_days(store));
    Ok(outcome)
}

/// Many short-lived `orc execute` processes share the database: leave checkpointing to
/// SQLite's automatic checkpoints instead of checkpointing (and deleting the WAL) every time
/// the last connection closes. Saves four fsyncs per run; durability is unchanged.
fn keep_wal_on_close(store: &Store) {
    let Some(conn) = store.conn().sqlite() else { return };
    if let Err(e) =
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
    {
        tracing::debug!(error = %e, "cannot turn off the checkpoint on close");
    }
}

/// Step 1: the slot. A scheduled start serves the latest due slot not claimed yet (the claim
/// itself is taken with the dependencies or the lease); a manual start has none.
fn claim_slot(
    store: &mut Store,
    job: &Job<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<std::result::Result<Plan, Stop>> {
    let spec = job.spec();
    let now = clock::now();
    let (slot, trigger) = if job.opts.scheduled {
        if !spec.enabled {
            on_event(Event::Disabled);
            return Ok(Err(Stop::Nothing));
        }
        let expr = crate::cron::CronExpr::parse(&spec.schedule)
            .map_err(|e| Error::invalid("schedule", &spec.schedule, e.to_string()))?;
        let text = match slot::decide(&expr, spec.catch_up, now) {
            slot::SlotDecision::NotDue(why) => {
                tracing::debug!(task = %spec.name, "{why}");
                on_event(Event::NotDue(&why));
                return Ok(Err(Stop::Nothing));
            }
            slot::SlotDecision::Due { text, .. } => text,
        };
        let scope = crate::fleet::assign::claim_scope(spec.run_on, &job.host);
        let key = slot::ClaimKey { task: &spec.name, slot: &text, scope: &scope };
        let claimed =
            slot::claimed_by(store.conn(), &key).map_err(|e| store.err("read slot claims", e))?;
        if let Some(by) = claimed {
            on_event(Event::AlreadyClaimed { slot: &text, by: &by });
            return Ok(Err(Stop::Nothing));
        }
        (Some(text), Trigger::Scheduled)
    } else {
        if !spec.enabled {
            on_event(Event::RunningDisabled);
        }
        (None, Trigger::Manual)
    };
    let claim_pending = slot.is_some();
    let first = NewRun {
        task_id: Some(job.task.id),
        task: spec.name.clone(),
        slot,
        attempt: 1,
        trigger,
        start: clock::now_utc(),
    };
    let scope = crate::fleet::assign::claim_scope(spec.run_on, &job.host);
    Ok(Ok(Plan { first, claim_pending, scope }))
}

/// Step 2: the dependencies, polled until met or `--dep-wait` runs out. The slot is claimed
/// first, so only the winner checks and waits. Unmet → a `SKIPPED` row listing them.
fn check_deps(
    store: &mut Store,
    job: &Job<'_>,
    plan: &mut Plan,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<std::result::Result<(), Stop>> {
    let spec = job.spec();
    if spec.depends_on.is_empty() {
        return Ok(Ok(()));
    }
    if plan.claim_pending
        && let Some(key) = plan.claim_key()
    {
        let start = to_db_time(plan.first.start);
        let lost = db(store, "claim slot", |tx| lease::claim(tx, &key, &job.host, &start))?;
        if let Some(by) = lost {
            on_event(Event::AlreadyClaimed { slot: key.slot, by: &by });
            return Ok(Err(Stop::Nothing));
        }
        plan.claim_pending = false;
    }
    let checks = wait_for_deps(store, job, on_event);
    if checks.iter().all(|c| c.met) {
        return Ok(Ok(()));
    }
    let id = lease::record_skipped(store, plan, deps::unmet_text(&checks))?;
    let exit_code = if spec.on_unmet == OnUnmet::Fail { exit::DEPS_UNMET } else { exit::SUCCESS };
    Ok(Err(Stop::Skipped { id, exit_code }))
}

fn wait_for_deps(
    store: &Store,
    job: &Job<'_>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Vec<DepCheck> {
    let spec = job.spec();
    let wait = job.opts.dep_wait;
    let dir = job.workdir.clone().unwrap_or_else(|_| job.paths.home.clone());
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

/// An execution that ended before its attempts: a recorded skip is shown and finished.
fn stopped(
    store: &mut Store,
    job: &Job<'_>,
    stop: Stop,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome> {
    match stop {
        Stop::Nothing => Ok(Outcome::nothing()),
        Stop::Skipped { id, exit_code } => {
            let rec = read_back(store, id)?;
            on_event(Event::Recorded { run: &rec, attempts: job.spec().attempts() });
            Ok(finish(store, vec![rec], exit_code))
        }
    }
}

/// The one end of every execution that recorded rows: the final record goes to the hook
/// (mail), after it is committed.
fn finish(store: &mut Store, runs: Vec<RunRecord>, exit_code: i32) -> Outcome {
    if let Some(last) = runs.last() {
        hooks::after_final_attempt(store, last);
    }
    Outcome { exit_code, runs }
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
            match last.process.exit_code {
                // The task's own code, all 32 bits on Windows (Task Scheduler shows it).
                Some(code) => code as u32 as i32,
                None => exit::FAILURE,
            }
        }
        Status::Running | Status::Abandoned => exit::FAILURE,
    }
}

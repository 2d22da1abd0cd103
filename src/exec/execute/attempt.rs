//! One attempt: resolve secrets and the command, spawn the process tree, capture its output,
//! enforce the timeout, and turn what happened into the row's result.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::clock;
use crate::exec::env::{self, SecretValue};
use crate::exec::output::{Captured, Collected, Collector, SPILL_CAP, Spill};
use crate::exec::process::{self, Ended, Invocation, ProcessTree, Spawned, Streams};
use crate::exec::runs::{self, Finish, ProcessResult, Status, StoredStream};
use crate::store::Store;

use super::spawn::spawn_with_retry;
use super::{Job, READER_GRACE, SECRETS_UNAVAILABLE};

/// What a spawn needs, resolved just before it.
struct Prepared {
    secrets: Vec<(String, SecretValue)>,
    workdir: PathBuf,
    child_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    inv: Invocation,
}

/// How the process tree ended.
struct Waited {
    status: Option<ExitStatus>,
    timed_out: bool,
}

/// Runs one attempt of the leased row `run_id` and returns its result (not yet written).
/// A run that cannot start is a `FAILED` result with the reason, never an error.
pub(super) fn run(store: &mut Store, job: &Job<'_>, run_id: i64) -> Finish {
    let start = clock::now_utc();
    let failed = |error: String| Finish::bare(Status::Failed, start, Some(error));
    let prepared = match prepare(store, job) {
        Ok(p) => p,
        Err(error) => return failed(error),
    };
    let spawned = match spawn(&prepared) {
        Ok(s) => s,
        Err(error) => return failed(error),
    };
    let started = Instant::now();
    let start = clock::now_utc();
    let mut tree = spawned.tree;
    let pid = tree.pid();
    // Not synced: the final record's commit makes it durable (Store::write_unsynced).
    let path = store.path().to_path_buf();
    if let Err(e) = store.write_unsynced(|tx| {
        runs::mark_started(tx, run_id, pid, start)
            .map_err(|e| crate::store::classify(&path, "record child process", e))
    }) {
        tracing::warn!(error = %e, "cannot record the task's process id; the run goes on");
    }
    let collector = collect(job, run_id, spawned.stdout, spawned.stderr, &prepared.secrets);
    drop(prepared);
    let waited = wait(&mut tree, job, run_id, started);
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
    result(job, waited, collected, end, elapsed)
}

/// Secrets, working directory, environment and the command to start; or why it cannot start.
fn prepare(store: &mut Store, job: &Job<'_>) -> Result<Prepared, String> {
    let spec = job.spec();
    let interactive = job.opts.interactive && !job.opts.scheduled;
    let secrets = env::resolve_secret_env(store, job.paths, spec, interactive)
        .map_err(|e| format!("{SECRETS_UNAVAILABLE}: {}", e.0))?;
    let workdir = job.workdir.clone()?;
    let child_env = env::child_env(std::env::vars_os(), spec, &secrets);
    let lookup = process::Lookup { path: env::path_of(&child_env), workdir: &workdir };
    let inv = process::invocation(spec.shell, &spec.command, lookup)?;
    let inv = Invocation { allow_breakaway: spec.allow_breakaway, ..inv };
    Ok(Prepared { secrets, workdir, child_env, inv })
}

/// Starts the process tree; the error is the sentence the run records.
fn spawn(p: &Prepared) -> Result<Spawned, String> {
    let program = p.inv.program.display();
    spawn_with_retry(|| ProcessTree::spawn(&p.inv, &p.workdir, &p.child_env, Streams::Piped))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput => format!(
                "refused to start {program}: its arguments cannot be passed safely (batch files \
                 take no arguments with quotes or special characters): {e}"
            ),
            _ => format!("cannot start {program}: {e}"),
        })
}

/// Starts the readers of the child's output (redacting the secrets' values, spilling to a file).
fn collect(
    job: &Job<'_>,
    run_id: i64,
    stdout: Option<std::process::ChildStdout>,
    stderr: Option<std::process::ChildStderr>,
    secrets: &[(String, SecretValue)],
) -> std::io::Result<Collector> {
    let secret_bytes: Vec<Vec<u8>> =
        secrets.iter().map(|(_, v)| v.as_bytes().to_vec()).filter(|v| !v.is_empty()).collect();
    let spill = Spill::to(Spill::path_for(&job.paths.runs_dir(), run_id), SPILL_CAP);
    Collector::start(
        stdout.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        stderr.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        &secret_bytes,
        spill,
    )
}

/// Waits for the tree, up to the task's timeout; then stops it politely, and after the grace
/// kills it.
fn wait(tree: &mut ProcessTree, job: &Job<'_>, run_id: i64, started: Instant) -> Waited {
    let deadline = job.spec().timeout.and_then(|t| started.checked_add(Duration::from_secs(t)));
    if let Some(status) = tree.wait_until(deadline) {
        return Waited { status: Some(status), timed_out: false };
    }
    tracing::info!(run = run_id, "timeout: stopping the whole process tree");
    tree.terminate();
    let status = match tree.wait_until(Some(Instant::now() + job.opts.kill_grace)) {
        Some(s) => Some(s),
        None => {
            tree.kill();
            tree.wait_until(None)
        }
    };
    Waited { status, timed_out: true }
}

/// The row's result from how the tree ended and what it wrote.
fn result(
    job: &Job<'_>,
    waited: Waited,
    collected: Collected,
    end: chrono::DateTime<chrono::Utc>,
    elapsed: Duration,
) -> Finish {
    let (status, exit_code, mut error) = if waited.timed_out {
        let limit = crate::render::secs(job.spec().timeout.unwrap_or(0));
        (Status::Timeout, None, Some(format!("killed after timeout {limit} (whole process tree)")))
    } else {
        match waited.status.map(Ended::from_status) {
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
    let stream = |c: &Captured| StoredStream {
        head: c.head.clone(),
        tail: c.tail.clone(),
        bytes: c.total as i64,
    };
    Finish {
        status,
        end,
        duration_ms: elapsed.as_millis() as i64,
        error,
        process: ProcessResult {
            exit_code,
            killed_by_timeout: waited.timed_out,
            stdout: stream(&collected.stdout),
            stderr: stream(&collected.stderr),
            output_file: collected.spill_file.map(|p| p.to_string_lossy().into_owned()),
        },
    }
}

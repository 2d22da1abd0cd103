//! `orc execute`: run a task (manually, or as started by the OS scheduler).

use std::io::Write;
use std::time::Duration;

use super::Context;
use crate::clock;
use crate::error::{Error, Result, exit};
use crate::exec::deps;
use crate::exec::execute::{self, Event, ExecOptions};
use crate::exec::runs::{RunRecord, Status};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct ExecuteArgs {
    /// The task to run
    #[arg(long, value_name = "NAME")]
    pub task: String,
    /// Started by the OS scheduler: serve the current cron slot, at most once
    #[arg(long, conflicts_with = "check_deps")]
    pub scheduled: bool,
    /// Check the task's dependencies and report them, without running or recording anything
    /// (exit 0 when all are met, 7 otherwise)
    #[arg(long)]
    pub check_deps: bool,
    /// Wait up to this long for unmet dependencies, checking again periodically (e.g. 10m)
    #[arg(long, value_name = "DURATION", conflicts_with = "check_deps")]
    pub dep_wait: Option<String>,
    /// Seconds between the polite stop and the kill on timeout (default 5; for tests)
    #[arg(long, value_name = "SECS", hide = true)]
    pub kill_grace: Option<u64>,
}

pub fn run(args: ExecuteArgs, ctx: &mut Context<'_>) -> Result<i32> {
    crate::task::validate_name(&args.task)?;
    let dep_wait = match &args.dep_wait {
        Some(text) => Some(Duration::from_secs(crate::duration::parse_secs_in(
            "--dep-wait",
            text,
            1,
            7 * 86_400,
        )?)),
        None => None,
    };
    if args.check_deps {
        return check_deps(&args.task, ctx);
    }
    let opts = ExecOptions {
        scheduled: args.scheduled,
        dep_wait,
        kill_grace: args.kill_grace.map(Duration::from_secs).unwrap_or(execute::DEFAULT_KILL_GRACE),
        interactive: ctx.interactive && !args.scheduled,
    };
    let paths = ctx.paths()?.clone();
    ctx.store()?;
    let (json, quiet, verbose) = (ctx.json, ctx.verbosity < 0, ctx.verbosity > 0);
    let name = args.task.clone();
    let Context { store, out, .. } = ctx;
    let store = store.as_mut().expect("opened above");
    // Progress lines are printed as they happen (never in JSON or quiet mode).
    let mut write_error: Option<Error> = None;
    let mut emit = |text: String| {
        if json || quiet || write_error.is_some() {
            return;
        }
        if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
            write_error = Some(Error::io("write", "standard output", e));
        }
    };
    let mut waiting_shown = false;
    let mut on_event = |ev: Event<'_>| match ev {
        Event::NotDue(why) => {
            if verbose {
                emit(format!("{name}: not due: {why}"));
            }
        }
        Event::AlreadyClaimed { slot, by: "" } => {
            emit(format!("{name}: slot {slot} already claimed; not running it again"))
        }
        Event::AlreadyClaimed { slot, by } => {
            emit(format!("{name}: slot {slot} already claimed by {by}; not running it again"))
        }
        Event::Disabled => emit(format!("{name}: task is disabled; scheduled start ignored")),
        Event::RunningDisabled => {
            emit(format!("{name}: task is disabled; running it anyway because you asked"))
        }
        Event::WaitingForDeps { unmet, left } => {
            if !waiting_shown || verbose {
                let list: Vec<String> =
                    unmet.iter().map(|c| format!("{} ({})", c.spec, c.reason)).collect();
                emit(format!(
                    "{name}: waiting up to {} for dependencies: {}",
                    render::secs(left.as_secs().max(1)),
                    list.join("; ")
                ));
                waiting_shown = true;
            }
        }
        Event::Queued { run_id } => {
            emit(format!("{name}: run {run_id} is still running; waiting for it (overlap queue)"))
        }
        Event::Recorded { run, attempts } => emit(attempt_line(run, attempts)),
        Event::Retrying { next_attempt, attempts, delay } => emit(format!(
            "{name}: retrying in {} (attempt {next_attempt} of {attempts})",
            render::millis(delay.as_millis() as u64)
        )),
    };
    let outcome = execute::execute(store, &paths, &args.task, &opts, &mut on_event)?;
    if !outcome.runs.is_empty()
        && let Err(e) = crate::metrics::refresh_after_run(store)
    {
        tracing::warn!("metrics textfile not written: {e}");
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    if json {
        let runs: Vec<serde_json::Value> = outcome.runs.iter().map(|r| r.to_json(false)).collect();
        ctx.print_json(&runs)?;
    } else if !quiet && let Some(last) = outcome.runs.last() {
        ctx.print(&summary(last, outcome.runs.len(), outcome.exit_code))?;
    }
    Ok(outcome.exit_code)
}

/// `run 12 · attempt 1/3 · FAILED · 1.2s · exit code 1`
pub fn attempt_line(run: &RunRecord, attempts: u32) -> String {
    let mut s = format!(
        "run {} · {} · attempt {}/{} · {}",
        run.id,
        run.task,
        run.attempt,
        attempts.max(run.attempt),
        run.status.as_str()
    );
    if let Some(ms) = run.duration_ms
        && run.status != Status::Skipped
    {
        s.push_str(&format!(" · {}", render::millis(ms.max(0) as u64)));
    }
    if let Some(e) = &run.error {
        s.push_str(&format!(" · {e}"));
    }
    s
}

fn summary(last: &RunRecord, rows: usize, code: i32) -> String {
    let attempts = if rows == 1 { "1 attempt".to_string() } else { format!("{rows} attempts") };
    let result = match last.status {
        Status::Success => format!("SUCCESS after {attempts}"),
        Status::Skipped => "SKIPPED".to_string(),
        other => format!("{} after {attempts}", other.as_str()),
    };
    let slot = last.slot.as_deref().map(|s| format!(", slot {s}")).unwrap_or_default();
    format!("{}: {result} (run {}{slot}); exit code {code}", last.task, last.id)
}

fn check_deps(name: &str, ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let store = ctx.store()?;
    let task = crate::task::repo::require(store.conn(), name)?;
    let spec = &task.spec;
    let dir = crate::exec::env::workdir(spec, &paths.home).unwrap_or_else(|_| paths.home.clone());
    let env = crate::exec::env::child_env(std::env::vars_os(), spec, &[]);
    let dctx = deps::DepContext {
        conn: store.conn(),
        shell: spec.shell,
        workdir: &dir,
        env: &env,
        now: clock::now_utc(),
    };
    let checks = deps::check_all(&spec.depends_on, &dctx);
    let code = if checks.iter().all(|c| c.met) { exit::SUCCESS } else { exit::DEPS_UNMET };
    if ctx.json {
        ctx.print_json(&checks)?;
    } else if checks.is_empty() {
        ctx.print(&format!("{name}: no dependencies"))?;
    } else {
        let rows: Vec<Vec<String>> = checks
            .iter()
            .map(|c| {
                vec![
                    c.spec.clone(),
                    c.kind.clone(),
                    if c.met { "met".into() } else { "UNMET".into() },
                    c.reason.clone(),
                ]
            })
            .collect();
        ctx.print_raw(&render::table(&["DEPENDENCY", "KIND", "STATE", "REASON"], &rows))?;
    }
    Ok(code)
}

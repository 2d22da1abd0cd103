//! `orc unschedule`: remove registrations from the OS scheduler (only orc's own).

use super::Context;
use super::schedule::{RemoteArgs, open_backend};
use crate::error::{Error, Result};
use crate::scheduler::reconcile::{self, Action, EntryReport};
use crate::scheduler::registrations;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["task", "all"])))]
pub struct UnscheduleArgs {
    /// Remove one task's registration (the task stays in the database)
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// Remove every registration in orc's folder (tasks stay in the database)
    #[arg(long)]
    pub all: bool,
    /// Show what would be removed and change nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

pub fn run(args: UnscheduleArgs, ctx: &mut Context<'_>) -> Result<i32> {
    if let Some(name) = &args.task {
        crate::task::validate_name(name)?;
    }
    if args.dry_run {
        let rows = planned(ctx, args.task.as_deref(), &args.remote)?.0;
        if ctx.json {
            ctx.print_json(&rows)?;
        } else {
            for r in &rows {
                ctx.print(&format!("would delete {}", r.path))?;
            }
            ctx.print(&format!(
                "dry run: {} registration(s) would be removed; nothing was changed",
                rows.len()
            ))?;
        }
        return Ok(0);
    }
    let (rows, failure) = remove(ctx, args.task.as_deref(), &args.remote)?;
    if ctx.json {
        ctx.print_json(&rows)?;
    } else if ctx.verbosity >= 0 {
        print_removed(ctx, &rows)?;
        match (&args.task, rows.is_empty()) {
            (Some(n), true) => ctx.print(&format!("{n} is not registered; nothing to remove"))?,
            _ => ctx.print(&format!("{} registration(s) removed", removed_count(&rows)))?,
        }
    }
    match failure {
        Some(e) => Err(Error::Scheduler(e)),
        None => Ok(0),
    }
}

/// One line per registration deleted (or not) — shared with `orc uninstall`.
pub(crate) fn print_removed(ctx: &mut Context<'_>, rows: &[EntryReport]) -> Result<()> {
    for r in rows.iter().filter(|r| r.action == Action::Delete) {
        match &r.error {
            None => ctx.print(&format!("deleted {}", r.path))?,
            Some(e) => ctx.print(&format!("NOT deleted {}: {e}", r.path))?,
        }
    }
    Ok(())
}

/// How many registrations `rows` removed.
pub(crate) fn removed_count(rows: &[EntryReport]) -> usize {
    rows.iter().filter(|r| r.result == "ok").count()
}

struct Planned {
    kind: &'static str,
    host: String,
    history: Vec<crate::scheduler::History>,
    registered: Vec<crate::scheduler::Registered>,
    plan: crate::scheduler::Plan,
}

/// What removing `task`'s (or, with `None`, every) registration would do.
fn planned(
    ctx: &mut Context<'_>,
    task: Option<&str>,
    remote: &RemoteArgs,
) -> Result<(Vec<EntryReport>, Planned, Box<dyn crate::scheduler::Backend>)> {
    let covers = |t: &str| task.is_none_or(|n| n.eq_ignore_ascii_case(t));
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let store = ctx.store()?;
    let backend = open_backend(remote, &paths, store, interactive)?;
    let (kind, host) = (backend.kind(), backend.host().to_string());
    let history: Vec<_> = registrations::load_history(store, kind, &host)?
        .into_iter()
        .filter(|h| covers(&h.task))
        .collect();
    let known: Vec<String> = history
        .iter()
        .map(|h| h.task.clone())
        .chain(registrations::load_tasks(store)?.into_iter().map(|t| t.name))
        .filter(|t| covers(t))
        .collect();
    let mut backend = backend;
    let (registered, _) = registrations::read_back(backend.as_mut(), known)?;
    let registered: Vec<_> = registered.into_iter().filter(|r| covers(&r.task)).collect();
    let plan = crate::scheduler::plan(Vec::new(), registered.clone(), history.clone());
    let rows = reconcile::report(&plan, None);
    Ok((rows, Planned { kind, host, history, registered, plan }, backend))
}

/// Removes `task`'s registration (every registration of this home with `None`) from the OS
/// scheduler and records it; returns the rows and the first failure. Used by `orc unschedule`
/// and `orc uninstall`.
pub(crate) fn remove(
    ctx: &mut Context<'_>,
    task: Option<&str>,
    remote: &RemoteArgs,
) -> Result<(Vec<EntryReport>, Option<crate::scheduler::SchedulerError>)> {
    let (_, p, mut backend) = planned(ctx, task, remote)?;
    let Planned { kind, host, history, registered, plan } = p;
    let report = backend.apply(&plan, &mut |_, _| {})?;
    let command_line = ctx.command_line.clone();
    let store = ctx.store()?;
    registrations::record(store, kind, &host, &plan, &report.outcomes, &command_line)?;
    // Forget registrations orc remembered but Windows no longer has (deleted by hand).
    let gone: Vec<String> = history
        .iter()
        .filter(|h| !registered.iter().any(|r| r.task.eq_ignore_ascii_case(&h.task)))
        .map(|h| h.task.clone())
        .collect();
    if !gone.is_empty() {
        let path = store.path().to_path_buf();
        store.write(|tx| -> Result<()> {
            for t in &gone {
                tx.execute(
                    "DELETE FROM registrations WHERE backend = ?1 AND host = ?2 AND task = ?3",
                    [kind, host.as_str(), t.as_str()],
                )
                .map_err(|e| crate::store::classify(&path, "forget registration", e))?;
            }
            Ok(())
        })?;
    }
    let rows = reconcile::report(&plan, Some(&report.outcomes));
    let mut outcomes = report.outcomes;
    let failure = reconcile::first_failure(&mut outcomes);
    Ok((rows, failure))
}

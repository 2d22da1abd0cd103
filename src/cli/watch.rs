//! `orc watch`: one pass of the dead-man's switch (see [`crate::watch`]).

use super::Context;
use super::schedule::{RemoteArgs, open_backend};
use crate::error::{Result, exit};
use crate::watch::SchedulerRead;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Exit 0 even when incidents are open (what the built-in orc-watch task runs: incidents
    /// are alerted, not turned into failed runs)
    #[arg(long)]
    pub exit_zero: bool,
}

pub fn run(args: WatchArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let store = ctx.store()?;
    let sched = read_scheduler(&paths, store, interactive);
    let report = crate::watch::pass(store, &sched, crate::clock::now())?;
    for w in &report.warnings {
        tracing::warn!("{w}");
    }
    if !ctx.json {
        for r in &report.abandoned {
            ctx.print(&format!(
                "run {} of {} was still marked RUNNING on host {}, which is silent: marked \
                 ABANDONED",
                r.id, r.task, r.host
            ))?;
        }
    }
    if ctx.json {
        ctx.print_json(&report.open)?;
    } else if ctx.verbosity >= 0 {
        if report.open.is_empty() {
            ctx.print("no open incidents")?;
        } else {
            let rows: Vec<Vec<String>> = report
                .open
                .iter()
                .map(|i| {
                    vec![
                        i.id.to_string(),
                        i.kind.as_str().to_string(),
                        crate::clock::to_local_human(i.opened_at),
                        i.summary.clone(),
                    ]
                })
                .collect();
            let table = crate::render::table(&["ID", "KIND", "SINCE", "WHAT"], &rows);
            ctx.print_raw(&table)?;
            let n = report.open.len();
            ctx.print(&format!("{n} open incident{}", if n == 1 { "" } else { "s" }))?;
        }
    }
    Ok(if report.open.is_empty() || args.exit_zero { exit::SUCCESS } else { exit::FAILURE })
}

/// One query of the local OS scheduler, or why it could not be read.
fn read_scheduler(
    paths: &crate::paths::Paths,
    store: &crate::store::Store,
    interactive: bool,
) -> SchedulerRead {
    let kind = crate::scheduler::backend_kind().unwrap_or("schtasks");
    let target = crate::scheduler::reconcile::target_name(kind, "");
    let registered = (|| -> Result<_> {
        let mut backend = open_backend(&RemoteArgs::default(), paths, store, interactive)?;
        let known = crate::scheduler::registrations::load_tasks(store)?.into_iter().map(|t| t.name);
        let history = crate::scheduler::registrations::load_history(store, backend.kind(), "")?;
        let known: Vec<String> = known.chain(history.into_iter().map(|h| h.task)).collect();
        Ok(crate::scheduler::registrations::read_back(backend.as_mut(), known)?.0)
    })()
    .map_err(|e| e.to_string());
    SchedulerRead { kind, host: String::new(), target, registered }
}

//! `orc uninstall`: what `scripts/uninstall.ps1` runs — remove every registration of this home
//! from the OS scheduler, then the home itself (database, logs, run output, its key file)
//! unless `--keep-data`.

use serde::Serialize;

use super::Context;
use super::schedule::RemoteArgs;
use crate::error::{Error, Result};
use crate::scheduler::reconcile::EntryReport;

#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// Only unschedule: keep the home (tasks, history, secrets) for a later reinstall
    #[arg(long)]
    pub keep_data: bool,
    /// Do not ask for confirmation (required when standard input is not a terminal)
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Serialize)]
struct Report {
    unscheduled: Vec<EntryReport>,
    home: std::path::PathBuf,
    home_removed: bool,
    key_file_removed: Option<std::path::PathBuf>,
}

pub fn run(args: UninstallArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    if !args.keep_data {
        crate::home::check_removable(&paths)?;
    }
    if !args.yes {
        let question = if args.keep_data {
            format!("Remove every orc task of {} from the OS scheduler?", paths.home.display())
        } else {
            format!(
                "Remove every orc task of {} from the OS scheduler and DELETE that directory \
                 (tasks, history, secrets)?",
                paths.home.display()
            )
        };
        if !super::terminal::confirm(ctx, &question)? {
            return Err(Error::Usage(
                "uninstall removes every registration of this home (and the home itself unless \
                 --keep-data); confirm interactively or add --yes — nothing was changed"
                    .to_string(),
            ));
        }
    }
    // A home that was never created has nothing registered: do not create one to find out.
    let (unscheduled, failure) = if crate::home::is_home(&paths) {
        super::unschedule::remove(ctx, None, &RemoteArgs::default())?
    } else {
        (Vec::new(), None)
    };
    if let Some(e) = failure {
        // Keep the data when a registration could not be removed: it still runs orc here.
        if !ctx.json && ctx.verbosity >= 0 {
            super::unschedule::print_removed(ctx, &unscheduled)?;
        }
        return Err(Error::Scheduler(e));
    }
    let (home_removed, key_file_removed) = if args.keep_data {
        (false, None)
    } else {
        ctx.store = None; // close the database before removing its directory
        let r = crate::home::remove(&paths)?;
        (r.removed, r.key_file)
    };
    let report = Report { unscheduled, home: paths.home.clone(), home_removed, key_file_removed };
    if ctx.json {
        ctx.print_json(&report)?;
    } else if ctx.verbosity >= 0 {
        super::unschedule::print_removed(ctx, &report.unscheduled)?;
        ctx.print(&format!(
            "{} registration(s) removed",
            super::unschedule::removed_count(&report.unscheduled)
        ))?;
        if report.home_removed {
            ctx.print(&format!("removed {}", report.home.display()))?;
        } else if args.keep_data {
            ctx.print(&format!("kept {}", report.home.display()))?;
        } else {
            ctx.print(&format!("{} does not exist; nothing to remove", report.home.display()))?;
        }
        if let Some(k) = &report.key_file_removed {
            ctx.print(&format!("removed {}", k.display()))?;
        }
    }
    Ok(0)
}

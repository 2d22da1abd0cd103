//! `orc home init`: create the home and make it private (what `scripts/install.ps1` runs).

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum HomeCommand {
    /// Create the data directory (or bring an existing one up to the rules) and secure it
    ///
    /// Creates the home and its database, and makes it private to the accounts orc runs
    /// as: a protected DACL on Windows (SYSTEM, Administrators, you, and the tasks' run-as
    /// accounts), 0700/0600 on Unix. Safe to run again: an existing home keeps its data and
    /// gets its permissions re-applied.
    ///
    /// With `--store URL` (or ORC_STORE) the home joins that database: orc connects, migrates
    /// it, and writes the URL into the home's store.conf, which every orc process of this
    /// home reads — the runs Task Scheduler starts too. `--store sqlite` goes back to the
    /// home's own orc.db.
    Init,
}

pub fn run(command: HomeCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match command {
        HomeCommand::Init => init(ctx),
    }
}

fn init(ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let flag = ctx.store_arg.clone();
    let (info, store) = crate::home::init(&paths, flag.as_deref())?;
    ctx.store = Some(store);
    if ctx.json {
        ctx.print_json(&info)?;
    } else if ctx.verbosity >= 0 {
        let verb = if info.created { "created" } else { "already there, permissions re-applied:" };
        ctx.print(&format!("home {verb} {}", info.home.display()))?;
        ctx.print(&format!(
            "database {} (schema {})",
            info.database.display(),
            info.schema_version
        ))?;
        if info.store != "sqlite" {
            ctx.print(&format!(
                "store {} (written to {}: every orc process of this home uses it)",
                info.store,
                crate::store::location::BOOTSTRAP_FILE
            ))?;
        }
        ctx.print(&format!("permissions {}", info.permissions))?;
    }
    Ok(0)
}

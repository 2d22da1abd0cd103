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
    Init,
}

pub fn run(command: HomeCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match command {
        HomeCommand::Init => init(ctx),
    }
}

fn init(ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let (info, store) = crate::home::init(&paths)?;
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
        ctx.print(&format!("permissions {}", info.permissions))?;
    }
    Ok(0)
}

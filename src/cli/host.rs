//! `orc host add|rm|list`: the hosts of a fleet (issue 18, `docs/guide/fleet.md`).

use super::Context;
use crate::error::{Result, exit};
use crate::fleet::table;

#[derive(Debug, clap::Subcommand)]
pub enum HostCommand {
    /// Add a host (its computer name, or ORC_HOSTNAME on it) so tasks and groups can name it
    Add {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Remove a host (refused while a task's --hosts names it; leaves its groups)
    Rm {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// List the hosts, their groups and when each last ran a task (its heartbeat)
    List,
}

pub fn run(args: HostCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let command_line = ctx.command_line.clone();
    match args {
        HostCommand::Add { name } => {
            ctx.store()?.write(|tx| table::add_host(tx, &name, &command_line))?;
            if ctx.verbosity >= 0 && !ctx.json {
                ctx.print(&format!("added host {name}"))?;
            }
        }
        HostCommand::Rm { name } => {
            let stored = ctx.store()?.write(|tx| table::remove_host(tx, &name, &command_line))?;
            if ctx.verbosity >= 0 && !ctx.json {
                ctx.print(&format!("removed host {stored}"))?;
            }
        }
        HostCommand::List => return list(ctx),
    }
    Ok(exit::SUCCESS)
}

fn list(ctx: &mut Context<'_>) -> Result<i32> {
    let hosts = table::list_hosts(ctx.store()?.conn())?;
    let this = crate::fleet::this_host();
    let empty = "No hosts. Add one with `orc host add NAME`.";
    ctx.print_list(&hosts, empty, &["HOST", "GROUPS", "LAST SEEN"], |h| {
        let name = if h.name.eq_ignore_ascii_case(&this) {
            format!("{} (this host)", h.name)
        } else {
            h.name.clone()
        };
        let groups = if h.groups.is_empty() { "-".into() } else { h.groups.join(", ") };
        vec![name, groups, h.last_seen_at.clone().unwrap_or_else(|| "never".into())]
    })?;
    Ok(exit::SUCCESS)
}

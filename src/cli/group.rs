//! `orc group add|rm|list|add-host|rm-host`: host groups, named by tasks as `--hosts @NAME`
//! (issue 18, `docs/guide/fleet.md`).

use super::Context;
use crate::error::{Result, exit};
use crate::fleet::{names, table};

#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Add a group of known hosts
    Add {
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Its hosts, comma-separated (each added first with `orc host add`)
        #[arg(long, value_name = "HOSTS", default_value = "")]
        hosts: String,
    },
    /// Remove a group (refused while a task's --hosts names @NAME)
    Rm {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// List the groups and their hosts
    List,
    /// Add hosts to a group
    AddHost {
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Hosts to add, comma-separated
        #[arg(long, value_name = "HOSTS")]
        hosts: String,
    },
    /// Remove hosts from a group
    RmHost {
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Hosts to remove, comma-separated
        #[arg(long, value_name = "HOSTS")]
        hosts: String,
    },
}

pub fn run(args: GroupCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let command_line = ctx.command_line.clone();
    let said = match args {
        GroupCommand::List => return list(ctx),
        GroupCommand::Add { name, hosts } => {
            let hosts = names::split_list(&hosts);
            let stored =
                ctx.store()?.write(|tx| table::add_group(tx, &name, &hosts, &command_line))?;
            format!("added group {name}{}", members_text(&stored))
        }
        GroupCommand::Rm { name } => {
            let stored = ctx.store()?.write(|tx| table::remove_group(tx, &name, &command_line))?;
            format!("removed group {stored}")
        }
        GroupCommand::AddHost { name, hosts } => {
            let add = names::split_list(&hosts);
            let after = ctx
                .store()?
                .write(|tx| table::change_members(tx, &name, &add, &[], &command_line))?;
            format!("group {name}{}", members_text(&after))
        }
        GroupCommand::RmHost { name, hosts } => {
            let remove = names::split_list(&hosts);
            let after = ctx
                .store()?
                .write(|tx| table::change_members(tx, &name, &[], &remove, &command_line))?;
            format!("group {name}{}", members_text(&after))
        }
    };
    if ctx.verbosity >= 0 && !ctx.json {
        ctx.print(&said)?;
    }
    Ok(exit::SUCCESS)
}

fn members_text(hosts: &[String]) -> String {
    if hosts.is_empty() { ": no hosts".into() } else { format!(": {}", hosts.join(", ")) }
}

fn list(ctx: &mut Context<'_>) -> Result<i32> {
    let groups = table::list_groups(ctx.store()?.conn())?;
    let empty = "No host groups. Add one with `orc group add NAME --hosts h1,h2`.";
    ctx.print_list(&groups, empty, &["GROUP", "HOSTS"], |g| {
        vec![g.name.clone(), if g.hosts.is_empty() { "-".into() } else { g.hosts.join(", ") }]
    })?;
    Ok(exit::SUCCESS)
}

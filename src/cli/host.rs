//! `orc host add|rm|list|enroll|revoke`: the hosts of a fleet and their vault key wraps
//! (issue 18, `docs/guide/fleet.md`).

use std::path::PathBuf;

use super::Context;
use crate::error::{Result, exit};
use crate::fleet::table;
use crate::vault::{self, Actor, EnrollKey, PassphraseSource};

#[derive(Debug, clap::Subcommand)]
pub enum HostCommand {
    /// Add a host (its computer name, or ORC_HOSTNAME on it) so tasks and groups can name it
    Add {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Remove a host and its vault key wraps (refused while a task's --hosts names it, or when
    /// its wrap is the last one that opens the vault; leaves its groups)
    Rm {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// List the hosts, their groups and when each last ran a task (its heartbeat)
    List,
    /// Run on a new host: let it open the vault by itself (its own machine-scope wrap),
    /// approved by the passphrase (ORC_VAULT_PASSPHRASE or the prompt) or an existing key file
    Enroll {
        /// Approve with this key file of an existing host instead of the passphrase
        #[arg(long, value_name = "PATH")]
        key_file: Option<PathBuf>,
    },
    /// Remove a host's vault key wraps only (the last wrap that opens the vault is kept)
    Revoke {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
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
            let actor = Actor { command: &command_line };
            let (stored, wraps) = ctx.store()?.write(|tx| -> Result<(String, usize)> {
                let stored = table::remove_host(tx, &name, &command_line)?;
                Ok((stored.clone(), vault::revoke_host(tx, &stored, actor)?))
            })?;
            if ctx.verbosity >= 0 && !ctx.json {
                ctx.print(&format!("removed host {stored}{}", wraps_note(wraps)))?;
            }
        }
        HostCommand::List => return list(ctx),
        HostCommand::Enroll { key_file } => return enroll(ctx, key_file),
        HostCommand::Revoke { name } => {
            crate::fleet::names::validate_host("host name", &name)?;
            let actor = Actor { command: &command_line };
            let wraps = ctx.store()?.write(|tx| vault::revoke_host(tx, &name, actor))?;
            if wraps == 0 {
                return Err(crate::Error::invalid(
                    "host name",
                    &name,
                    "the vault key has no wrap of this host (see `orc credential keys`)",
                ));
            }
            if ctx.verbosity >= 0 && !ctx.json {
                ctx.print(&format!("revoked host {name}{}", wraps_note(wraps)))?;
            }
        }
    }
    Ok(exit::SUCCESS)
}

fn wraps_note(wraps: usize) -> String {
    match wraps {
        0 => String::new(),
        1 => " and its vault key wrap".to_string(),
        n => format!(" and its {n} vault key wraps"),
    }
}

fn enroll(ctx: &mut Context<'_>, key_file: Option<PathBuf>) -> Result<i32> {
    let key = match key_file {
        Some(p) => EnrollKey::KeyFile(p),
        None => EnrollKey::Passphrase(PassphraseSource::Ambient { interactive: ctx.interactive }),
    };
    let command_line = ctx.command_line.clone();
    let paths = ctx.paths()?.clone();
    let report = vault::enroll(ctx.store()?, &paths, key, Actor { command: &command_line })?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "host": report.host,
            "method": report.method,
            "action": if report.replaced { "replaced" } else { "enrolled" },
            "key_file": report.key_file.as_ref().map(|p| p.display().to_string()),
        }))?;
    } else if ctx.verbosity >= 0 {
        let verb = if report.replaced { "re-enrolled" } else { "enrolled" };
        let file = report
            .key_file
            .as_ref()
            .map(|p| format!(" (key file {}; back it up)", p.display()))
            .unwrap_or_default();
        ctx.print(&format!(
            "{verb} host {}: the vault key is now also protected by {} here{file}",
            report.host,
            report.method.as_str()
        ))?;
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

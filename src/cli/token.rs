//! `orc token create|list|revoke`: API tokens for the dashboard (see [`crate::token`]).

use super::Context;
use crate::error::Result;
use crate::token;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token for the REST API and the dashboard's sign-in (printed once)
    Create {
        /// Token name (like a task name); it is the actor in audit rows
        name: String,
        /// The token may only read (no changes, no runs)
        #[arg(long)]
        read_only: bool,
        /// Lifetime, 1m..3650d, or never [default: never]
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
    },
    /// List tokens (never their values)
    List,
    /// Revoke (delete) a token
    Revoke { name: String },
}

pub fn run(args: TokenCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let command_line = ctx.command_line.clone();
    match args {
        TokenCommand::Create { name, read_only, expires } => {
            token::validate_name(&name)?;
            let expires = expires.as_deref().map(token::parse_expires).transpose()?.flatten();
            let created = ctx
                .store()?
                .write(|tx| token::create(tx, &name, read_only, expires, &command_line))?;
            if ctx.json {
                ctx.print_json(&created)?;
            } else {
                // The token alone on the first line (scripts read it); the note after it.
                ctx.print(&created.token)?;
                if ctx.verbosity >= 0 {
                    let expiry = created.expires_at.as_deref().unwrap_or("never");
                    ctx.print(&format!(
                        "created {} token {} (expires: {expiry}); it is shown only now",
                        if read_only { "read-only" } else { "admin" },
                        created.name
                    ))?;
                }
            }
        }
        TokenCommand::List => {
            let tokens = token::list(ctx.store()?.conn())?;
            if ctx.json {
                ctx.print_json(&tokens)?;
            } else if tokens.is_empty() {
                if ctx.verbosity >= 0 {
                    ctx.print("no tokens (create one with `orc token create NAME`)")?;
                }
            } else {
                let dash = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
                let rows: Vec<Vec<String>> = tokens
                    .iter()
                    .map(|t| {
                        vec![
                            t.name.clone(),
                            if t.read_only { "read-only" } else { "admin" }.into(),
                            t.created_at.clone(),
                            dash(&t.expires_at),
                            dash(&t.last_used_at),
                        ]
                    })
                    .collect();
                ctx.print_raw(&crate::render::table(
                    &["NAME", "ACCESS", "CREATED", "EXPIRES", "LAST USED"],
                    &rows,
                ))?;
            }
        }
        TokenCommand::Revoke { name } => {
            let info = ctx.store()?.write(|tx| token::revoke(tx, &name, &command_line))?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "revoked": info.name }))?;
            } else if ctx.verbosity >= 0 {
                ctx.print(&format!("revoked token {}", info.name))?;
            }
        }
    }
    Ok(0)
}

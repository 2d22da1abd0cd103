//! `orc channel add|list|show|rm`: notification channels (webhook, Teams, Slack, email, event
//! log). URLs are shown masked; credentials by name only.

use super::Context;
use crate::error::{Result, exit};
use crate::notify::channels::{self, Channel, ChannelView, Kind, UrlSource};

#[derive(Debug, clap::Subcommand)]
pub enum ChannelCommand {
    /// Add a channel
    Add(AddArgs),
    /// List the channels (URLs masked)
    List,
    /// Show one channel (URL masked)
    Show {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Remove a channel (refused while a task or notify.channels uses it)
    Rm {
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Channel name (same rule as task names; `email` is the built-in mail)
    #[arg(allow_hyphen_values = true)]
    pub name: String,
    /// What the channel is
    #[arg(long, value_name = "webhook|teams|slack|email|eventlog")]
    pub kind: String,
    /// The webhook URL (kept in the database; use --url-credential when it embeds a secret)
    #[arg(long, value_name = "URL", conflicts_with = "url_credential")]
    pub url: Option<String>,
    /// Vault credential holding the webhook URL (`orc credential set NAME`)
    #[arg(long, value_name = "CRED")]
    pub url_credential: Option<String>,
    /// Recipient of an email channel (repeatable) [default: mail.to]
    #[arg(long = "to", value_name = "ADDR")]
    pub to: Vec<String>,
    /// Vault credential with the key that signs webhook payloads (HMAC-SHA256)
    #[arg(long, value_name = "CRED")]
    pub secret: Option<String>,
}

pub fn run(args: ChannelCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        ChannelCommand::Add(a) => add(a, ctx),
        ChannelCommand::List => list(ctx),
        ChannelCommand::Show { name } => show(&name, ctx),
        ChannelCommand::Rm { name } => rm(&name, ctx),
    }
}

fn add(a: AddArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let kind: Kind = a.kind.parse()?;
    // The audit log gets the command line with the URL masked.
    let command_line = match &a.url {
        Some(u) if !u.is_empty() => ctx.command_line.replace(u, &channels::mask_url(u)),
        _ => ctx.command_line.clone(),
    };
    let url = match (a.url, a.url_credential) {
        (Some(u), _) => Some(UrlSource::Plain(u)),
        (None, Some(c)) => Some(UrlSource::Credential(c)),
        (None, None) => None,
    };
    let channel = Channel { name: a.name, kind, url, to: a.to, secret: a.secret };
    let view = channels::add(ctx.store()?, &channel, &command_line)?;
    if ctx.json {
        ctx.print_json(&view)?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!(
            "added {} channel {}; try it with `orc notify test --channel {}`",
            kind.as_str(),
            view.name,
            view.name
        ))?;
    }
    Ok(exit::SUCCESS)
}

fn target(v: &ChannelView) -> String {
    match (&v.url, &v.url_credential) {
        (Some(u), _) => u.clone(),
        (None, Some(c)) => format!("(credential {c})"),
        (None, None) if v.kind == Kind::Email && v.to.is_empty() => "(mail.to)".into(),
        (None, None) if v.kind == Kind::Email => v.to.join(", "),
        (None, None) => "-".into(),
    }
}

fn list(ctx: &mut Context<'_>) -> Result<i32> {
    let all = channels::list(ctx.store()?)?;
    let empty = "No channels. Add one with `orc channel add NAME --kind KIND`.";
    ctx.print_list(&all, empty, &["NAME", "KIND", "TARGET", "SIGNING"], |v| {
        vec![
            v.name.clone(),
            v.kind.as_str().to_string(),
            target(v),
            if v.secret_credential.is_some() { "signed" } else { "-" }.to_string(),
        ]
    })?;
    Ok(exit::SUCCESS)
}

fn show(name: &str, ctx: &mut Context<'_>) -> Result<i32> {
    let v = channels::get(ctx.store()?, name)?;
    if ctx.json {
        ctx.print_json(&v)?;
        return Ok(exit::SUCCESS);
    }
    let lines = [
        ("name", v.name.clone()),
        ("kind", v.kind.as_str().to_string()),
        ("target", target(&v)),
        ("signing key", v.secret_credential.clone().unwrap_or_else(|| "-".into())),
        ("added", v.created_at.clone()),
    ];
    let text: Vec<String> = lines.iter().map(|(k, val)| format!("{k:<12} {val}")).collect();
    ctx.print(&text.join("\n"))?;
    Ok(exit::SUCCESS)
}

fn rm(name: &str, ctx: &mut Context<'_>) -> Result<i32> {
    let command_line = ctx.command_line.clone();
    channels::remove(ctx.store()?, name, &command_line)?;
    if ctx.verbosity >= 0 && !ctx.json {
        ctx.print(&format!("removed channel {name}"))?;
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "removed": name }))?;
    }
    Ok(exit::SUCCESS)
}

//! `orc notify flush|status|test`: the mail outbox and a test message.

use super::Context;
use crate::error::{Result, exit};
use crate::notify;

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// Try to send every queued message now (ignores the retry backoff)
    Flush {
        /// Also put messages orc gave up on back in the queue and try them
        #[arg(long)]
        retry_given_up: bool,
    },
    /// Show queued, failing and given-up messages
    Status,
    /// Send a test message now (not through the outbox)
    Test {
        /// Recipient(s), comma-separated (default: mail.to)
        #[arg(long, value_name = "ADDR")]
        to: Option<String>,
        /// Send a test event to this notification channel instead of mail
        #[arg(long, value_name = "NAME", conflicts_with = "to")]
        channel: Option<String>,
    },
}

pub fn run(args: NotifyCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        NotifyCommand::Flush { retry_given_up } => flush(retry_given_up, ctx),
        NotifyCommand::Status => status(ctx),
        NotifyCommand::Test { channel: Some(name), .. } => test_channel(&name, ctx),
        NotifyCommand::Test { to, channel: None } => test(to.as_deref(), ctx),
    }
}

fn flush(retry_given_up: bool, ctx: &mut Context<'_>) -> Result<i32> {
    let report = notify::flush(ctx.store()?, retry_given_up)?;
    let code = if report.failed > 0 { exit::FAILURE } else { exit::SUCCESS };
    if ctx.json {
        ctx.print_json(&report)?;
        return Ok(code);
    }
    if report.attempted == 0 {
        ctx.print("No queued mail.")?;
    } else {
        ctx.print(&format!(
            "Sent {} of {} queued message(s); {} failed{}.",
            report.sent,
            report.attempted,
            report.failed,
            if report.gave_up > 0 {
                format!(" ({} given up)", report.gave_up)
            } else {
                String::new()
            }
        ))?;
    }
    for f in &report.failures {
        let next = match &f.next_attempt_at {
            Some(t) => format!("next try {t}"),
            None => "given up".into(),
        };
        ctx.print(&format!("  #{} {:?}: {} (try {}, {next})", f.id, f.subject, f.error, f.tries))?;
    }
    if let Some(why) = &report.stopped {
        ctx.print(&format!("Stopped early: {why}."))?;
    }
    if report.pending > 0 {
        ctx.print(&format!("{} message(s) still queued.", report.pending))?;
    }
    if report.given_up_total > 0 {
        ctx.print(&format!(
            "{} message(s) were given up after repeated failures: see `orc notify status`, \
             retry them with `orc notify flush --retry-given-up`.",
            report.given_up_total
        ))?;
    }
    Ok(code)
}

fn status(ctx: &mut Context<'_>) -> Result<i32> {
    let now = crate::clock::now_utc();
    let summary = notify::outbox::summary(ctx.store()?, now)?;
    if ctx.json {
        ctx.print_json(&summary)?;
        return Ok(exit::SUCCESS);
    }
    ctx.print(&format!(
        "Outbox: {} queued ({} failing), {} given up, {} sent in the last 24 h.",
        summary.pending, summary.failing, summary.given_up, summary.sent_last_24h
    ))?;
    if summary.messages.is_empty() {
        return Ok(exit::SUCCESS);
    }
    let rows: Vec<Vec<String>> = summary
        .messages
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                crate::clock::to_local_human(m.created_at),
                m.kind.clone(),
                m.task.clone().unwrap_or_default(),
                m.tries.to_string(),
                match m.gave_up_at {
                    Some(_) => "given up".into(),
                    None => crate::clock::to_local_human(m.next_attempt_at),
                },
                m.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    ctx.print_raw(&crate::render::table(
        &["ID", "QUEUED", "KIND", "TASK", "TRIES", "NEXT TRY", "LAST ERROR"],
        &rows,
    ))?;
    Ok(exit::SUCCESS)
}

fn test_channel(name: &str, ctx: &mut Context<'_>) -> Result<i32> {
    let report = notify::channels::send_test(ctx.store()?, name)?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        ctx.print(&format!(
            "Test notification sent to channel {} ({}, {}).",
            report.channel,
            report.kind.as_str(),
            report.target
        ))?;
    }
    Ok(exit::SUCCESS)
}

fn test(to: Option<&str>, ctx: &mut Context<'_>) -> Result<i32> {
    let report = notify::send_test(ctx.store()?, to)?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        ctx.print(&format!("Test message sent to {} via {}.", report.to.join(", "), report.relay))?;
    }
    Ok(exit::SUCCESS)
}

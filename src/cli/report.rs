//! `orc report daily [--send] [--output FILE] [--date YYYY-MM-DD]`.

use std::path::PathBuf;

use super::Context;
use crate::error::{Error, Result, exit};
use crate::notify::{self, message::MessageKind, outbox::NewMessage, settings::MailSettings};
use crate::report::{self, Window};

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// The daily report: runs, failures, missed runs and what is coming, per task
    Daily {
        /// Mail the report to mail.to (queued and retried if the relay is down)
        #[arg(long)]
        send: bool,
        /// Write the HTML report to this file
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Report on this local calendar day instead of the last 24 hours
        #[arg(long, value_name = "YYYY-MM-DD")]
        date: Option<String>,
    },
}

pub fn run(args: ReportCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        ReportCommand::Daily { send, output, date } => daily(send, output, date, ctx),
    }
}

fn daily(
    send: bool,
    output: Option<PathBuf>,
    date: Option<String>,
    ctx: &mut Context<'_>,
) -> Result<i32> {
    let now = crate::clock::now();
    let window = match &date {
        Some(d) => {
            let day = crate::clock::parse_date(d)
                .ok_or_else(|| Error::invalid("--date", d, "must be a date YYYY-MM-DD"))?;
            Window::day(day)?
        }
        None => Window::last_24h(now),
    };
    let target = output.as_deref().map(crate::fsx::output::target).transpose()?;
    let store = ctx.store()?;
    let settings = if send { Some(MailSettings::load(store)?) } else { None };
    if let Some(s) = &settings {
        if !s.configured() {
            return Err(Error::Usage(
                "--send: mail is not configured: set smtp.host (see `orc configure`)".into(),
            ));
        }
        if s.to.is_empty() {
            return Err(Error::Usage("--send: no recipients: set mail.to".into()));
        }
    }
    let host = crate::exec::runs::hostname();
    let data = report::daily::build(store, window, now, &host)?;
    let rendered = report::render(&data)?;
    let to_stdout = target == Some(crate::fsx::output::OutputTarget::Stdout);
    if let Some(t) = &target {
        // `-` (standard output) is printed below, after the store is no longer borrowed.
        crate::fsx::output::write_file(t, rendered.html.as_bytes())?;
    }
    let mut code = exit::SUCCESS;
    let mut sent: Option<serde_json::Value> = None;
    if let Some(s) = settings {
        let (id, err) = notify::queue_and_send(
            store,
            NewMessage {
                run_id: None,
                task: None,
                kind: MessageKind::Report,
                recipients: s.to.clone(),
                subject: rendered.subject.clone(),
                text: rendered.text.clone(),
                html: Some(rendered.html.clone()),
            },
        )?;
        if err.is_some() {
            code = exit::FAILURE;
        }
        sent = Some(serde_json::json!({
            "outbox_id": id,
            "to": s.to.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
            "delivered": err.is_none(),
            "error": err,
        }));
    }
    if ctx.json {
        let mut doc = serde_json::to_value(&data)
            .map_err(|e| Error::Failed(format!("cannot encode the report: {e}")))?;
        doc["output_file"] = output.as_ref().map(|p| p.display().to_string()).into();
        doc["send"] = sent.unwrap_or(serde_json::Value::Null);
        ctx.print_json(&doc)?;
        return Ok(code);
    }
    if output.is_none() && !send {
        ctx.print_raw(&rendered.text)?;
        return Ok(code);
    }
    if to_stdout {
        ctx.print_raw(&rendered.html)?;
    } else if let Some(out) = &output {
        ctx.print(&format!("Report written to {}.", out.display()))?;
    }
    if let Some(s) = sent {
        if s["delivered"] == true {
            ctx.print(&format!(
                "Report mailed to {}.",
                s["to"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ))?;
        } else {
            ctx.print(&format!(
                "Report not delivered yet ({}); it is queued and will be retried (orc notify flush).",
                s["error"].as_str().unwrap_or("unknown error")
            ))?;
        }
    }
    Ok(code)
}

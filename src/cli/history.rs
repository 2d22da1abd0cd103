//! `orc history`: past runs, newest first; `orc history --run ID`: one run with its output.

use chrono::{DateTime, Local, TimeZone, Utc};

use super::Context;
use crate::clock;
use crate::error::{Error, Result};
use crate::exec::runs::{self, Filter, RunRecord, Status};
use crate::render;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Only runs of this task
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// Only runs with this status (RUNNING, SUCCESS, FAILED, TIMEOUT, SKIPPED, ABANDONED)
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// At most this many runs (1-100000)
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: u32,
    /// Only runs started since then: a duration back from now (24h, 7d) or a local time
    /// (YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS])
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Show one run in full: details and its stored output (head and tail of each stream)
    #[arg(long, value_name = "ID", conflicts_with_all = ["task", "status", "since"])]
    pub run: Option<i64>,
    /// With --run: print the run's complete output file (both streams as they arrived)
    #[arg(long, requires = "run")]
    pub log: bool,
}

pub fn run(args: HistoryArgs, ctx: &mut Context<'_>) -> Result<i32> {
    if let Some(id) = args.run {
        return show(id, args.log, ctx);
    }
    if !(1..=100_000).contains(&args.limit) {
        return Err(Error::invalid("--limit", args.limit.to_string(), "must be 1-100000"));
    }
    let status = args.status.as_deref().map(|s| Status::parse_field("--status", s)).transpose()?;
    let since = match &args.since {
        Some(s) => Some(parse_since(s)?),
        None => None,
    };
    if let Some(t) = &args.task {
        crate::task::validate_name(t)?;
    }
    let store = ctx.store()?;
    let filter = Filter { task: args.task.clone(), status, since, limit: args.limit };
    let list = runs::list(store.conn(), &filter).map_err(|e| store.err("read history", e))?;
    if let Some(t) = &args.task
        && list.is_empty()
        && !task_known(store, t)?
    {
        return Err(Error::NotFound { what: "task", name: t.clone() });
    }
    if ctx.json {
        let v: Vec<serde_json::Value> = list.iter().map(|r| r.to_json(false)).collect();
        ctx.print_json(&v)?;
        return Ok(0);
    }
    if list.is_empty() {
        ctx.print("no runs")?;
        return Ok(0);
    }
    ctx.print_raw(&table(&list))?;
    Ok(0)
}

fn task_known(store: &crate::store::Store, name: &str) -> Result<bool> {
    store
        .conn()
        .query_row("SELECT EXISTS (SELECT 1 FROM tasks WHERE name = ?1)", [name], |r| r.get(0))
        .map_err(|e| Error::from(store.err("read tasks", e)))
}

/// `24h`, `7d` back from now, or a local date/time.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>> {
    if let Ok(secs) = crate::duration::parse_secs("--since", s) {
        return clock::checked_back(clock::now_utc(), secs).ok_or_else(|| {
            Error::invalid("--since", s, "reaches back further than a date can be represented")
        });
    }
    let naive =
        clock::parse_local(s).or_else(|| clock::parse_date(s).and_then(|d| d.and_hms_opt(0, 0, 0)));
    naive
        .and_then(|n| crate::clock::earliest(Local.from_local_datetime(&n)))
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            Error::invalid(
                "--since",
                s,
                "a duration back from now (e.g. 24h, 7d) or a local time YYYY-MM-DD[THH:MM[:SS]] in the years 0001-9999",
            )
        })
}

fn short(s: &str, max: usize) -> String {
    let one = s.replace(['\n', '\r', '\t'], " ");
    if one.chars().count() <= max {
        one
    } else {
        let cut: String = one.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The history table.
pub fn table(list: &[RunRecord]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.task.clone(),
                r.status.as_str().to_string(),
                r.start_human(),
                r.duration_ms.map(|d| render::millis(d.max(0) as u64)).unwrap_or_default(),
                r.process.exit_code.map(runs::exit_code_text).unwrap_or_default(),
                format!("{} #{}", r.trigger.as_str(), r.attempt),
                r.error.as_deref().map(|e| short(e, 60)).unwrap_or_default(),
            ]
        })
        .collect();
    render::table(&["ID", "TASK", "STATUS", "START", "DURATION", "EXIT", "TRIGGER", "ERROR"], &rows)
}

fn show(id: i64, log: bool, ctx: &mut Context<'_>) -> Result<i32> {
    let store = ctx.store()?;
    let run = runs::get(store.conn(), id)
        .map_err(|e| store.err("read run", e))?
        .ok_or_else(|| Error::NotFound { what: "run", name: id.to_string() })?;
    if log {
        let (file, text) = runs::read_log(&run)?;
        if ctx.json {
            ctx.print_json(&serde_json::json!({ "id": id, "output_file": file, "output": text }))?;
        } else {
            ctx.print_raw(&text)?;
        }
        return Ok(0);
    }
    if ctx.json {
        ctx.print_json(&run.to_json(true))?;
        return Ok(0);
    }
    ctx.print_raw(&details(&run))?;
    Ok(0)
}

/// The human view of one run.
pub fn details(r: &RunRecord) -> String {
    let mut s = format!("run {} · {} · {}\n", r.id, r.task, r.status.as_str());
    let mut field = |k: &str, v: String| s.push_str(&format!("  {k:<12}{v}\n"));
    if let Some(slot) = &r.slot {
        field("slot", slot.clone());
    }
    field("trigger", format!("{} (attempt {})", r.trigger.as_str(), r.attempt));
    field("start", r.start_human());
    if let Some(end) = r.end {
        field("end", clock::to_local_human(end));
    }
    if let Some(d) = r.duration_ms {
        field("duration", render::millis(d.max(0) as u64));
    }
    if let Some(c) = r.process.exit_code {
        field("exit code", runs::exit_code_text(c));
    }
    if r.process.killed_by_timeout {
        field("timeout", "killed after the timeout (whole process tree)".to_string());
    }
    if let Some(e) = &r.error {
        field("error", e.clone());
    }
    let mut host = format!("{} (orc {}", r.host, r.orc_version);
    if let Some(p) = r.pid {
        host.push_str(&format!(", orc pid {p}"));
    }
    if let Some(p) = r.child_pid {
        host.push_str(&format!(", task pid {p}"));
    }
    host.push(')');
    field("host", host);
    if let Some(f) = &r.process.output_file {
        field("output file", f.clone());
    }
    for (name, stream) in [("stdout", &r.process.stdout), ("stderr", &r.process.stderr)] {
        let note = if stream.truncated() { ", head and tail kept" } else { "" };
        s.push_str(&format!("--- {name} ({} bytes{note}) ---\n", stream.bytes));
        let text = stream.full_text();
        s.push_str(&text);
        if !text.is_empty() && !text.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

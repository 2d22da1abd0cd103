//! `orc cron explain|next|triggers`: what a cron expression means, when it fires, and the
//! Task Scheduler triggers orc would register for it.

use chrono::{Local, NaiveDate, TimeZone};
use serde::Serialize;

use super::Context;
use crate::clock;
use crate::cron::{CronExpr, trigger, xml};
use crate::error::{Error, Result};
use crate::task::validate::parse_cron;

#[derive(Debug, clap::Subcommand)]
pub enum CronCommand {
    /// Describe an expression: plain English, next runs, trigger mapping, warnings
    Explain {
        /// A 5-field cron expression or macro (quote it)
        expr: String,
        /// How many next runs to show
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// The next fire times, one local wall-clock time per line
    Next {
        expr: String,
        /// Start after this local time (default: now)
        #[arg(long, value_name = "YYYY-MM-DDTHH:MM:SS")]
        from: Option<String>,
        /// How many (1-1000)
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// The <Triggers> XML orc would register with Task Scheduler
    Triggers {
        expr: String,
        /// The StartBoundary date and time (default: now); only the date is used
        #[arg(long, value_name = "YYYY-MM-DDTHH:MM:SS")]
        start: Option<String>,
    },
}

const TIME_RULE: &str = "expected a local time YYYY-MM-DDTHH:MM:SS (or YYYY-MM-DDTHH:MM)";

pub fn run(cmd: CronCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match cmd {
        CronCommand::Explain { expr, count } => explain(&expr, count, ctx),
        CronCommand::Next { expr, from, count } => next(&expr, from.as_deref(), count, ctx),
        CronCommand::Triggers { expr, start } => triggers(&expr, start.as_deref(), ctx),
    }
}

/// Everything `orc cron explain` says about an expression.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub expression: String,
    pub description: String,
    pub next: Vec<String>,
    pub triggers: usize,
    pub exact: bool,
    pub may_duplicate: bool,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

/// Explains `expr` as of `now`.
pub fn explanation(expr: &CronExpr, now: &chrono::DateTime<Local>, count: usize) -> Explanation {
    let plan = trigger::plan(expr);
    let mut warnings = Vec::new();
    if expr.never_fires() {
        warnings.push("this expression never fires (no such date exists)".to_string());
    }
    if !plan.exact {
        warnings.push(format!(
            "Task Scheduler cannot express this schedule exactly: orc registers {} trigger(s) \
             that fire on a superset, and `orc execute --scheduled` skips the starts that are \
             not in the expression",
            plan.triggers.len()
        ));
    }
    warnings.extend(expr.dst_warnings(now, 12));
    Explanation {
        expression: expr.source().to_string(),
        description: expr.describe(),
        next: expr.next_runs(now, count).into_iter().map(|t| iso(&t)).collect(),
        triggers: plan.triggers.len(),
        exact: plan.exact,
        may_duplicate: plan.may_duplicate,
        notes: plan.notes,
        warnings,
    }
}

fn iso(t: &chrono::DateTime<Local>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn explain(text: &str, count: usize, ctx: &mut Context<'_>) -> Result<i32> {
    check_count(count)?;
    let expr = parse_cron("cron expression", text)?;
    let e = explanation(&expr, &clock::now(), count);
    if ctx.json {
        ctx.print_json(&e)?;
        return Ok(0);
    }
    let mut out = String::new();
    out.push_str(&format!("expression      {}\n", e.expression));
    out.push_str(&format!("meaning         {}\n", e.description));
    let runs = expr.next_runs(&clock::now(), count);
    if runs.is_empty() {
        out.push_str("next runs       none\n");
    }
    for (i, t) in runs.iter().enumerate() {
        let label = if i == 0 { "next runs" } else { "" };
        out.push_str(&format!("{label:<16}{}\n", t.format("%Y-%m-%d %H:%M %a (UTC%:z)")));
    }
    out.push_str(&format!(
        "task scheduler  {} trigger{}, {}\n",
        e.triggers,
        if e.triggers == 1 { "" } else { "s" },
        if e.exact { "exact" } else { "superset (orc execute --scheduled filters)" }
    ));
    // The plan's own note about a never-firing expression repeats the warning below.
    for note in e.notes.iter().filter(|_| !expr.never_fires()) {
        out.push_str(&format!("note            {note}\n"));
    }
    for w in &e.warnings {
        out.push_str(&format!("warning         {w}\n"));
    }
    ctx.print_raw(&out)?;
    Ok(0)
}

fn next(text: &str, from: Option<&str>, count: usize, ctx: &mut Context<'_>) -> Result<i32> {
    check_count(count)?;
    let expr = parse_cron("cron expression", text)?;
    let start = match from {
        None => clock::now(),
        Some(s) => {
            let naive =
                clock::parse_local(s).ok_or_else(|| Error::invalid("--from", s, TIME_RULE))?;
            // A time inside a spring-forward gap does not exist: start from the gap's end.
            clock::earliest(Local.from_local_datetime(&naive))
                .or_else(|| {
                    (1..=180).find_map(|m| {
                        clock::earliest(
                            Local.from_local_datetime(&(naive + chrono::Duration::minutes(m))),
                        )
                    })
                })
                .ok_or_else(|| Error::invalid("--from", s, "not a valid local time here"))?
        }
    };
    let runs = expr.next_runs(&start, count);
    if ctx.json {
        let list: Vec<String> = runs.iter().map(iso).collect();
        ctx.print_json(&list)?;
    } else {
        let mut out = String::new();
        for t in &runs {
            out.push_str(&t.format("%Y-%m-%dT%H:%M:%S").to_string());
            out.push('\n');
        }
        ctx.print_raw(&out)?;
    }
    Ok(0)
}

fn triggers(text: &str, start: Option<&str>, ctx: &mut Context<'_>) -> Result<i32> {
    let expr = parse_cron("cron expression", text)?;
    let date: NaiveDate = match start {
        None => clock::now().date_naive(),
        Some(s) => {
            clock::parse_local(s).ok_or_else(|| Error::invalid("--start", s, TIME_RULE))?.date()
        }
    };
    let plan = trigger::plan(&expr);
    let fragment = xml::triggers_fragment(&plan, date);
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "expression": expr.source(),
            "triggers": plan.triggers.len(),
            "exact": plan.exact,
            "may_duplicate": plan.may_duplicate,
            "notes": plan.notes,
            "xml": fragment,
        }))?;
    } else {
        ctx.print_raw(&fragment)?;
        if !fragment.ends_with('\n') {
            ctx.print("")?;
        }
    }
    Ok(0)
}

fn check_count(count: usize) -> Result<()> {
    if count == 0 || count > 1000 {
        return Err(Error::invalid("--count", count.to_string(), "must be between 1 and 1000"));
    }
    Ok(())
}

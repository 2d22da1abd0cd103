//! `orc status`: one row per task — enabled, last run, next run, running now. Reaps stale
//! leases (RUNNING rows whose orc process is gone become ABANDONED) first.

use super::Context;
use crate::error::Result;
use crate::exec::runs;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

pub fn run(args: StatusArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let StatusArgs {} = args;
    let store = ctx.store()?;
    let reaped = runs::reap_stale(store, None)?;
    let rows = crate::task::status::rows(store.conn())?;
    if ctx.json {
        let v: Vec<serde_json::Value> = rows.iter().map(|r| r.to_json()).collect();
        ctx.print_json(&v)?;
        return Ok(0);
    }
    for r in &reaped {
        ctx.print(&format!(
            "run {} of {} was still marked RUNNING but its orc process is gone: marked ABANDONED",
            r.id, r.task
        ))?;
    }
    if rows.is_empty() {
        ctx.print("no tasks (add one with `orc task add`)")?;
        return Ok(0);
    }
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (last_status, last_time) = match &r.last {
                Some(l) => (l.status.as_str().to_string(), l.start_human()),
                None => ("-".to_string(), "never".to_string()),
            };
            let next = match (&r.next, &r.next_note) {
                (Some(t), _) => t.format("%Y-%m-%d %H:%M").to_string(),
                (None, Some(n)) => n.clone(),
                (None, None) => "-".to_string(),
            };
            let running = if r.running.is_empty() {
                "-".to_string()
            } else {
                r.running
                    .iter()
                    .map(|x| match x.child_pid {
                        Some(p) => format!("run {} (pid {p})", x.id),
                        None => format!("run {}", x.id),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            vec![
                r.name.clone(),
                if r.enabled { "yes".into() } else { "no".into() },
                r.schedule.clone(),
                last_status,
                last_time,
                next,
                running,
            ]
        })
        .collect();
    ctx.print_raw(&render::table(
        &["TASK", "ENABLED", "SCHEDULE", "LAST", "LAST RUN", "NEXT RUN", "RUNNING"],
        &table_rows,
    ))?;
    Ok(0)
}

//! `orc status`: one row per task — enabled, last run, next run, running now. Reaps stale
//! leases (RUNNING rows whose orc process is gone become ABANDONED) first.

use serde_json::json;

use super::Context;
use crate::clock;
use crate::error::Result;
use crate::exec::runs;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

struct Row {
    name: String,
    enabled: bool,
    schedule: String,
    last: Option<runs::RunRecord>,
    next: Option<chrono::DateTime<chrono::Local>>,
    next_note: Option<String>,
    running: Vec<runs::RunRecord>,
}

pub fn run(args: StatusArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let StatusArgs {} = args;
    let store = ctx.store()?;
    let reaped = runs::reap_stale(store, None)?;
    let tasks = crate::task::repo::list(store.conn())?;
    let now = clock::now();
    let mut rows = Vec::new();
    for task in tasks {
        let name = task.spec.name.clone();
        let enabled = task.spec.enabled;
        let schedule = task.spec.schedule.clone();
        let next_run = task.spec.next_run(&now);
        let (next, next_note) = (next_run.at(), next_run.note().map(str::to_string));
        let last =
            runs::last_for_task(store.conn(), &name).map_err(|e| store.err("read runs", e))?;
        let running =
            runs::running(store.conn(), Some(&name)).map_err(|e| store.err("read runs", e))?;
        rows.push(Row { name, enabled, schedule, last, next, next_note, running });
    }
    if ctx.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "enabled": r.enabled,
                    "schedule": r.schedule,
                    "last_run": r.last.as_ref().map(runs::RunRecord::last_run_json),
                    "next_run": r.next.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)),
                    "running": r.running.iter().map(runs::RunRecord::running_json).collect::<Vec<_>>(),
                })
            })
            .collect();
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

//! `orc status`: one row per task — enabled, last run, next run, running now. Reaps stale
//! leases (RUNNING rows whose orc process is gone become ABANDONED) first. When the fleet has
//! hosts (`orc host add`), a FLEET block follows: each host's heartbeat, running runs and
//! whether it is silent ([`crate::fleet::silence`]). `--json` is always the array of tasks
//! (scripts keep one shape); `--fleet` shows only the hosts (`--json`: the array of hosts).

use super::Context;
use crate::error::{Error, Result};
use crate::exec::runs;
use crate::fleet::silence::HostState;
use crate::render;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Only the fleet: each host's heartbeat, running runs and whether it is silent
    /// (with --json, the array of hosts)
    #[arg(long)]
    pub fleet: bool,
}

pub fn run(args: StatusArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let StatusArgs { fleet: only_fleet } = args;
    let store = ctx.store()?;
    let reaped = runs::reap_stale(store, None)?;
    let rows = crate::task::status::rows(store.conn())?;
    let fleet = fleet(store)?;
    if only_fleet {
        if ctx.json {
            let hosts: Vec<serde_json::Value> = fleet.iter().map(host_json).collect();
            ctx.print_json(&hosts)?;
        } else if fleet.is_empty() {
            ctx.print("no hosts (add one with `orc host add`)")?;
        } else {
            print_fleet(ctx, &fleet)?;
        }
        return Ok(0);
    }
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
        return print_fleet(ctx, &fleet);
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
    print_fleet(ctx, &fleet)
}

/// The hosts of the fleet as of now (none: not a fleet), judged with `watch.grace`.
fn fleet(store: &crate::store::Store) -> Result<Vec<HostState>> {
    let conn = store.conn();
    if crate::fleet::table::heartbeats(conn)?.is_empty() {
        return Ok(Vec::new());
    }
    let settings = crate::config::Settings::load(store)?;
    let grace = crate::watch::settings::WatchSettings::from_settings(&settings).grace;
    let tasks = crate::task::repo::list(conn)?;
    let running = runs::running(conn, None).map_err(|e| Error::Store(store.err("read runs", e)))?;
    crate::fleet::silence::survey(conn, &tasks, &running, grace, crate::clock::now())
}

/// `yes`, `no`, or `-` for a host with no tasks of its own (nothing is expected of it).
fn silent_text(h: &HostState) -> &'static str {
    match (&h.silence, h.own.is_empty()) {
        (Some(_), _) => "yes",
        (None, true) => "-",
        (None, false) => "no",
    }
}

fn host_json(h: &HostState) -> serde_json::Value {
    let running: Vec<serde_json::Value> =
        h.running.iter().map(|r| serde_json::json!({ "id": r.id, "task": r.task })).collect();
    serde_json::json!({
        "name": h.heartbeat.name,
        "last_seen_at": h.heartbeat.last_seen_at.map(crate::clock::to_local_iso),
        "running": running,
        "silent": h.silence.is_some(),
        "missed": h.silence.as_ref().map(|m| serde_json::json!({
            "task": m.task,
            "slot": crate::exec::slot::slot_text(m.slot),
        })),
    })
}

fn print_fleet(ctx: &mut Context<'_>, fleet: &[HostState]) -> Result<i32> {
    if fleet.is_empty() {
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = fleet
        .iter()
        .map(|h| {
            let running = if h.running.is_empty() {
                "-".to_string()
            } else {
                let runs: Vec<String> =
                    h.running.iter().map(|r| format!("run {} ({})", r.id, r.task)).collect();
                runs.join(", ")
            };
            vec![
                h.heartbeat.name.clone(),
                h.heartbeat
                    .last_seen_at
                    .map_or_else(|| "never".to_string(), crate::clock::to_local_human),
                running,
                silent_text(h).to_string(),
            ]
        })
        .collect();
    ctx.print("\nFLEET")?;
    ctx.print_raw(&render::table(&["HOST", "LAST SEEN", "RUNNING", "SILENT"], &rows))?;
    Ok(0)
}

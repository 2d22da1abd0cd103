//! `orc doctor`: health checks, and the safe fixes with `--fix`. The checks are pure functions
//! in `crate::doctor`; drift and re-registration reuse `orc schedule` itself.

use serde_json::json;

use super::Context;
use super::schedule::{RemoteArgs, ScheduleArgs};
use crate::doctor::{self, Check, DriftEntry, Fix, Status};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Apply the safe fixes (home permissions, Task Scheduler history log, re-registration)
    /// and say what changed
    #[arg(long)]
    pub fix: bool,
    /// Also contact the mail relay
    #[arg(long)]
    pub online: bool,
}

pub fn run(args: DoctorArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let mut checks = checks(ctx, args.online)?;
    let mut fixed = Vec::new();
    if args.fix {
        let mut wanted: Vec<Fix> = checks.iter().filter_map(|c| c.auto_fix).collect();
        wanted.dedup();
        for fix in wanted {
            fixed.push(apply(fix, ctx)?);
        }
        if !fixed.is_empty() {
            checks = self::checks(ctx, args.online)?;
        }
    }
    let code = doctor::exit_code(&checks);
    if ctx.json {
        ctx.print_json(&json!({ "checks": checks, "fixed": fixed }))?;
        return Ok(code);
    }
    for line in &fixed {
        ctx.print(&format!("fixed: {line}"))?;
    }
    ctx.print(&render(&checks))?;
    Ok(code)
}

/// The human report: one line per check, its fix under it when it is not ok.
pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!("{:<4}  {:<width$}  {}\n", c.status.as_str(), c.name, c.detail));
        if c.status != Status::Ok && !c.fix.is_empty() {
            out.push_str(&format!("      {:<width$}  fix: {}\n", "", c.fix));
        }
    }
    out.push_str(&format!("{} checks: {}", checks.len(), doctor::checks::summary(checks)));
    out
}

fn checks(ctx: &mut Context<'_>, online: bool) -> Result<Vec<Check>> {
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let home_problems = doctor::gather::home_problems(&paths.home, &paths.db());
    let store = match crate::store::Store::open_with(&paths.home, ctx.store_arg.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            return Ok(vec![Check::fail(
                "database",
                e.to_string(),
                "restore a backup: `orc db restore FILE`",
            )]);
        }
    };
    let drift = dry_run(ctx);
    let kind = crate::scheduler::backend_kind()?;
    let mut backend =
        super::schedule::open_backend(&RemoteArgs::default(), &paths, &store, interactive).ok();
    let backend_ref: Option<&mut dyn crate::scheduler::Backend> = match backend.as_mut() {
        Some(b) => Some(b.as_mut()),
        None => None,
    };
    let facts =
        doctor::gather::gather(&paths, &store, backend_ref, kind, drift, home_problems, online)?;
    Ok(doctor::checks::all(&facts))
}

/// `orc schedule --all` (or its dry run), its JSON rows captured.
fn schedule_rows(
    ctx: &mut Context<'_>,
    dry_run: bool,
) -> std::result::Result<Vec<serde_json::Value>, String> {
    let home = ctx.paths().map_err(|e| e.to_string())?.home.clone();
    let mut buf: Vec<u8> = Vec::new();
    let mut sub = Context::new(&mut buf, Some(home), true);
    sub.command_line = ctx.command_line.clone();
    let args = ScheduleArgs {
        task: None,
        all: true,
        dry_run,
        force: false,
        list: false,
        validate: None,
        remote: RemoteArgs::default(),
    };
    super::schedule::run(args, &mut sub).map_err(|e| e.to_string())?;
    drop(sub);
    serde_json::from_slice(&buf).map_err(|e| format!("unexpected `orc schedule` output: {e}"))
}

fn dry_run(ctx: &mut Context<'_>) -> std::result::Result<Vec<DriftEntry>, String> {
    let rows = schedule_rows(ctx, true)?;
    Ok(rows
        .iter()
        .map(|r| DriftEntry {
            task: r["task"].as_str().unwrap_or_default().to_string(),
            action: r["action"].as_str().unwrap_or_default().to_string(),
            drift: r["drift"].as_bool().unwrap_or(false),
        })
        .collect())
}

/// Applies one fix; returns what it changed, in words.
fn apply(fix: Fix, ctx: &mut Context<'_>) -> Result<String> {
    match fix {
        Fix::Permissions => {
            let paths = ctx.paths()?.clone();
            crate::fsx::harden_home(&paths.home, &paths.db())
                .map_err(|e| crate::Error::io("set the permissions of", &paths.home, e))?;
            crate::fsx::acl::secure_home_for_tasks(&paths.home, ctx.store()?)?;
            Ok(format!("reset the permissions of {}", paths.home.display()))
        }
        Fix::HistoryLog => {
            crate::scheduler::wevtutil::Wevtutil::locate()
                .set_log_enabled(true)
                .map_err(crate::Error::Scheduler)?;
            Ok(format!(
                "enabled the Task Scheduler history log (wevtutil sl {} /e:true)",
                crate::scheduler::wevtutil::LOG
            ))
        }
        Fix::Reregister => {
            let rows = schedule_rows(ctx, false).map_err(crate::Error::Failed)?;
            let names: Vec<&str> = rows
                .iter()
                .filter(|r| r["result"] == "ok" && r["action"] != "unchanged")
                .filter_map(|r| r["task"].as_str())
                .collect();
            Ok(format!("re-registered {} task(s): {}", names.len(), names.join(", ")))
        }
    }
}

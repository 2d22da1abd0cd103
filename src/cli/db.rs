//! `orc db backup|restore|check|prune`.

use std::path::PathBuf;

use super::Context;
use crate::clock;
use crate::error::{Error, Result, exit};
use crate::store::maint;

#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Consistent online backup to a new file, checked with integrity_check
    Backup {
        /// The backup file to create (must not exist)
        file: PathBuf,
    },
    /// Replace the database with a backup (its whole schema, integrity and foreign keys are
    /// checked first; the current one is kept as orc.db.<UTC time>.bak). Refused while a task
    /// is running.
    Restore {
        /// The backup file to restore
        file: PathBuf,
    },
    /// Integrity check (exit 5 when the database is damaged)
    Check,
    /// Delete finished runs (and their output files) that started before a cutoff
    Prune {
        /// Age of the runs to delete, e.g. 90d (at least 1d)
        #[arg(long, value_name = "DURATION")]
        older_than: String,
        /// Only report what would be deleted
        #[arg(long)]
        dry_run: bool,
    },
}

/// A restore is refused while a run is in progress (stale RUNNING rows are reaped first).
fn refuse_while_running(store: &mut crate::store::Store) -> Result<()> {
    crate::exec::runs::reap_stale(store, None)?;
    let running = crate::exec::runs::running(store.conn(), None)
        .map_err(|e| store.err("read running runs", e))?;
    if let Some(r) = running.first() {
        return Err(crate::Error::Usage(format!(
            "run {} of task {} is in progress (orc pid {}); restore when no task is running \
             (nothing was changed)",
            r.id,
            r.task,
            r.pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
        )));
    }
    Ok(())
}

pub fn run(args: DbCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        DbCommand::Backup { file } => {
            let store = ctx.store()?;
            let report = maint::backup(store, &file)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "backup": report.path.display().to_string(),
                    "bytes": report.bytes,
                    "integrity_check": "ok",
                }))?;
            } else {
                ctx.print(&format!(
                    "backup written to {} ({} bytes); integrity_check: ok",
                    report.path.display(),
                    report.bytes
                ))?;
            }
            Ok(exit::SUCCESS)
        }
        DbCommand::Restore { file } => {
            let home = ctx.paths()?.home.clone();
            let report = maint::restore(&home, &file, refuse_while_running)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "restored": file.display().to_string(),
                    "previous": report.previous.display().to_string(),
                    "backup_schema_version": report.backup_version,
                    "tasks": report.tasks,
                    "runs": report.runs,
                    "integrity_check": "ok",
                }))?;
            } else {
                ctx.print(&format!(
                    "restored {} ({} tasks, {} runs); the previous database is saved as {}",
                    file.display(),
                    report.tasks,
                    report.runs,
                    report.previous.display()
                ))?;
            }
            Ok(exit::SUCCESS)
        }
        DbCommand::Check => {
            let store = ctx.store()?;
            let report = maint::check(store)?;
            if ctx.json {
                ctx.print_json(&report)?;
            } else {
                if report.ok {
                    ctx.print("integrity_check: ok")?;
                } else {
                    ctx.print("integrity_check: PROBLEMS")?;
                    for p in &report.problems {
                        ctx.print(&format!("  {p}"))?;
                    }
                }
                ctx.print(&format!(
                    "schema version {}, {} tasks, {} runs ({} running), database {} bytes, WAL {} bytes",
                    report.schema_version,
                    report.tasks,
                    report.runs,
                    report.running,
                    report.db_bytes,
                    report.wal_bytes
                ))?;
            }
            Ok(if report.ok { exit::SUCCESS } else { exit::STORAGE })
        }
        DbCommand::Prune { older_than, dry_run } => {
            let secs = crate::duration::parse_secs_in(
                "--older-than",
                &older_than,
                86_400,
                100 * 365 * 86_400,
            )?;
            let cutoff = clock::checked_back(clock::now_utc(), secs).ok_or_else(|| {
                Error::invalid("--older-than", &older_than, "reaches back before any date")
            })?;
            let runs_dir = ctx.paths()?.runs_dir();
            let store = ctx.store()?;
            let report = maint::prune(store, &runs_dir, cutoff, dry_run)?;
            if ctx.json {
                ctx.print_json(&report)?;
            } else {
                let verb = if dry_run { "would delete" } else { "deleted" };
                ctx.print(&format!(
                    "{verb} {} runs started before {}, {} output files and {} slot claims",
                    report.runs, report.cutoff, report.files, report.slot_claims
                ))?;
            }
            Ok(exit::SUCCESS)
        }
    }
}

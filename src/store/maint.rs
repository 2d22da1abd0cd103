//! Database maintenance: integrity check and pruning; backup and validated restore live in
//! `store/backup.rs` (re-exported here).
//!
//! * **prune**: finished runs older than the cutoff (and their output files, and old slot
//!   claims) are deleted in batches of [`PRUNE_BATCH`] rows, one short transaction each.

use std::path::{Path, PathBuf};

use crate::store::sql::params;

use super::{Store, StoreError, classify, to_db_time};

/// Rows deleted per transaction by [`prune`].
pub const PRUNE_BATCH: usize = 500;

pub use super::backup::{BackupReport, RestoreReport, backup, restore, validate_backup};

/// What a check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    pub ok: bool,
    pub problems: Vec<String>,
    pub schema_version: i64,
    pub tasks: i64,
    pub runs: i64,
    pub running: i64,
    pub db_bytes: u64,
    pub wal_bytes: u64,
}

/// `integrity_check`, `foreign_key_check` and a few counts.
pub fn check(store: &Store) -> Result<CheckReport, StoreError> {
    let problems = match store.conn().sqlite() {
        Some(c) => super::backup::check_problems(c, store.path())?,
        // The server keeps its files consistent; the foreign keys are enforced by it.
        None => Vec::new(),
    };
    let count = |sql: &str| -> Result<i64, StoreError> {
        store.conn().query_row(sql, [], |r| r.get(0)).map_err(|e| store.err("count rows", e))
    };
    let size = |suffix: &str| {
        let mut p = store.path().as_os_str().to_os_string();
        p.push(suffix);
        std::fs::metadata(PathBuf::from(p)).map(|m| m.len()).unwrap_or(0)
    };
    Ok(CheckReport {
        ok: problems.is_empty(),
        problems,
        schema_version: store.schema_version()?,
        tasks: count("SELECT count(*) FROM tasks")?,
        runs: count("SELECT count(*) FROM runs")?,
        running: count("SELECT count(*) FROM runs WHERE status = 'RUNNING'")?,
        db_bytes: size(""),
        wal_bytes: size("-wal"),
    })
}

/// What a prune deleted (or would delete).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PruneReport {
    pub cutoff: String,
    pub runs: u64,
    pub files: u64,
    pub slot_claims: u64,
    pub dry_run: bool,
}

/// Deletes finished runs that started before `cutoff`, their output files and slot claims
/// older than the cutoff. Never touches RUNNING rows.
pub fn prune(
    store: &mut Store,
    runs_dir: &Path,
    cutoff: chrono::DateTime<chrono::Utc>,
    dry_run: bool,
) -> Result<PruneReport, StoreError> {
    let cut = to_db_time(cutoff);
    let mut report = PruneReport {
        cutoff: crate::clock::to_local_iso(cutoff),
        dry_run,
        ..PruneReport::default()
    };
    let path = store.path().to_path_buf();
    if dry_run {
        let c = store.conn();
        report.runs = c
            .query_row(
                "SELECT count(*) FROM runs WHERE start < ?1 AND status != 'RUNNING'",
                [&cut],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| classify(&path, "count runs", e))? as u64;
        report.files = c
            .query_row(
                "SELECT count(*) FROM runs WHERE start < ?1 AND status != 'RUNNING'
                 AND output_file IS NOT NULL",
                [&cut],
                |r| r.get::<_, i64>(0),
            )
            .map_err(|e| classify(&path, "count runs", e))? as u64;
        report.slot_claims = c
            .query_row("SELECT count(*) FROM slot_claims WHERE claimed_at < ?1", [&cut], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(|e| classify(&path, "count claims", e))? as u64;
        return Ok(report);
    }
    loop {
        let batch: Vec<(i64, Option<String>)> = store.write(|tx| {
            let mut stmt = tx
                .prepare(
                    "SELECT id, output_file FROM runs WHERE start < ?1 AND status != 'RUNNING'
                     ORDER BY id LIMIT ?2",
                )
                .map_err(|e| classify(&path, "select runs", e))?;
            let rows: Vec<(i64, Option<String>)> = stmt
                .query_map(params![cut, PRUNE_BATCH as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .and_then(|rows| rows.collect())
                .map_err(|e| classify(&path, "select runs", e))?;
            for (id, _) in &rows {
                tx.execute("DELETE FROM runs WHERE id = ?1", [id])
                    .map_err(|e| classify(&path, "delete runs", e))?;
            }
            Ok::<_, StoreError>(rows)
        })?;
        if batch.is_empty() {
            break;
        }
        report.runs += batch.len() as u64;
        for (id, file) in batch {
            let file =
                file.map(PathBuf::from).unwrap_or_else(|| runs_dir.join(format!("{id}.log")));
            if std::fs::remove_file(&file).is_ok() {
                report.files += 1;
            }
        }
    }
    loop {
        let n = store.write(|tx| {
            tx.execute(
                "DELETE FROM slot_claims WHERE (task, slot, scope) IN
                   (SELECT task, slot, scope FROM slot_claims WHERE claimed_at < ?1 LIMIT ?2)",
                params![cut, PRUNE_BATCH as i64],
            )
            .map_err(|e| classify(&path, "delete slot claims", e))
        })?;
        report.slot_claims += n as u64;
        if n == 0 {
            break;
        }
    }
    // Give the space back to the file system's view of the WAL.
    let _ = store.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    Ok(report)
}

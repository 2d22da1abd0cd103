//! Retention of run output spill files (`<home>/runs/<run id>.log`).
//!
//! At the end of `orc execute`, at most once an hour (a timestamp file records the last
//! sweep), spill files older than `retention.days` (default 90) are deleted, and only the
//! newest [`MAX_SPILL_FILES`] are kept. The run rows keep their stored head and tail.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// At most this many spill files are kept.
pub const MAX_SPILL_FILES: usize = 5000;
/// Minimum time between two sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);
const STAMP: &str = ".last-sweep";

/// The `retention.days` setting, read through [`crate::config::Settings::load_only`] (its
/// registry owns the default; a bad stored value of another subsystem does not matter); a
/// setting that cannot be read falls back to that default.
pub fn retention_days(store: &crate::store::Store) -> u64 {
    let settings = crate::config::Settings::load_only(store, &["retention."]).unwrap_or_else(|e| {
        tracing::warn!("settings unreadable, default retention used: {e}");
        crate::config::Settings::defaults()
    });
    u64::from(settings.retention_days)
}

/// Sweeps when the last sweep is more than [`SWEEP_INTERVAL`] ago. Returns files deleted.
/// `days` (the retention setting) is read only when a sweep is due: once an hour, not on
/// every `orc execute` (issue 17: no needless work at the end of a run).
pub fn maybe_sweep(runs_dir: &Path, days: impl FnOnce() -> u64) -> usize {
    let stamp = runs_dir.join(STAMP);
    if let Ok(meta) = std::fs::metadata(&stamp)
        && let Ok(modified) = meta.modified()
        && crate::clock::file_time_now().duration_since(modified).unwrap_or(Duration::ZERO)
            < SWEEP_INTERVAL
    {
        return 0;
    }
    if !runs_dir.is_dir() {
        return 0;
    }
    if let Err(e) = crate::fsx::create_private_file(&stamp) {
        tracing::debug!(error = %e, "cannot write the sweep timestamp");
    }
    sweep(runs_dir, Duration::from_secs(days().saturating_mul(86_400)), MAX_SPILL_FILES)
}

/// Deletes spill files older than `max_age`, then the oldest beyond `max_files`.
pub fn sweep(runs_dir: &Path, max_age: Duration, max_files: usize) -> usize {
    let Ok(entries) = std::fs::read_dir(runs_dir) else { return 0 };
    let now = crate::clock::file_time_now();
    let mut files: Vec<(SystemTime, std::path::PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .filter_map(|e| {
            let modified = e.metadata().ok()?.modified().ok()?;
            Some((modified, e.path()))
        })
        .collect();
    let mut deleted = 0;
    files.retain(|(modified, path)| {
        let old = now.duration_since(*modified).unwrap_or(Duration::ZERO) > max_age;
        if old && std::fs::remove_file(path).is_ok() {
            deleted += 1;
            return false;
        }
        !old
    });
    if files.len() > max_files {
        files.sort();
        let excess = files.len() - max_files;
        for (_, path) in files.into_iter().take(excess) {
            if std::fs::remove_file(path).is_ok() {
                deleted += 1;
            }
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "old run output files deleted");
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_keeps_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..5 {
            let p = dir.path().join(format!("{i}.log"));
            std::fs::write(&p, b"x").unwrap();
            let t = crate::clock::file_time_now() - Duration::from_secs(100 - i * 10);
            std::fs::File::options().write(true).open(&p).unwrap().set_modified(t).unwrap();
        }
        std::fs::write(dir.path().join("keep.txt"), b"not a spill file").unwrap();
        assert_eq!(sweep(dir.path(), Duration::from_secs(85), 3), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["2.log", "3.log", "4.log", "keep.txt"]);
        // The first sweep writes the stamp; the hourly guard then stops a second one that would
        // otherwise delete everything (max age 0), without reading the setting.
        let reads = std::cell::Cell::new(0);
        let days = |d: u64| {
            let reads = &reads;
            move || {
                reads.set(reads.get() + 1);
                d
            }
        };
        assert_eq!(maybe_sweep(dir.path(), days(30)), 0);
        assert_eq!(reads.get(), 1);
        assert_eq!(maybe_sweep(dir.path(), days(0)), 0);
        assert_eq!(reads.get(), 1, "no sweep due: the setting is not read");
        assert!(dir.path().join("4.log").exists());
    }

    #[test]
    fn retention_days_is_the_setting_or_its_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = crate::store::Store::open(dir.path()).unwrap();
        assert_eq!(retention_days(&store), 90);
        crate::config::set(&mut store, "retention.days", "14", "test").unwrap();
        assert_eq!(retention_days(&store), 14);
        // A stored value of another subsystem that no longer passes its rule.
        store
            .conn()
            .execute(
                "INSERT INTO config (key, value, updated_at) VALUES ('smtp.port', 'x', 'now')",
                [],
            )
            .unwrap();
        assert_eq!(retention_days(&store), 14);
    }
}

//! The last resort for a result the database would not take.

use crate::clock;
use crate::exec::runs::{self, Finish};
use crate::paths::Paths;
use crate::store::StoreError;
use crate::task::TaskSpec;

/// Writes a result the database would not take as one JSON line to `<home>/logs/fallback.log`.
pub(super) fn write_fallback(
    paths: &Paths,
    run_id: i64,
    spec: &TaskSpec,
    slot: Option<&str>,
    attempt: u32,
    f: &Finish,
    db_error: &StoreError,
) {
    use std::io::Write;
    let line = serde_json::json!({
        "time": clock::to_local_iso(clock::now_utc()),
        "run_id": run_id,
        "task": spec.name,
        "slot": slot,
        "attempt": attempt,
        "status": f.status.as_str(),
        "end": clock::to_local_iso(f.end),
        "duration_ms": f.duration_ms,
        "exit_code": f.process.exit_code,
        "killed_by_timeout": f.process.killed_by_timeout,
        "error": f.error,
        "stdout_bytes": f.process.stdout.bytes,
        "stderr_bytes": f.process.stderr.bytes,
        "stdout_tail": f.process.stdout.tail_text(2048),
        "stderr_tail": f.process.stderr.tail_text(2048),
        "output_file": f.process.output_file,
        "host": runs::hostname(),
        "db_error": db_error.to_string(),
    });
    let dir = paths.logs_dir();
    let path = dir.join("fallback.log");
    let written = crate::fsx::ensure_private_dir(&dir).and_then(|_| {
        let mut file = crate::fsx::append_private(&path)?;
        file.write_all(format!("{line}\n").as_bytes())
    });
    match written {
        Ok(()) => tracing::error!(
            "the result of run {run_id} could not be written to the database; it was saved to {}",
            path.display()
        ),
        Err(e) => tracing::error!(
            "the result of run {run_id} could not be written to the database nor to {}: {e}; \
             result: {line}",
            path.display()
        ),
    }
}

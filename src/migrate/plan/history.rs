//! History: legacy results → orc run rows (statuses mapped, local times to UTC, output kept
//! as head and tail).

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use super::{OUTPUT_KEEP, RunRow};
use crate::migrate::legacy::LegacyResult;

/// A legacy local naive time (or one with an offset) → UTC. Local times that fall in a DST
/// gap move forward by the gap; ambiguous ones take the earlier instant.
pub fn legacy_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive =
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())?;
    local_to_utc(naive)
}

/// The instant of a legacy local time: the earlier one in an autumn overlap, an hour later
/// in a spring gap (the legacy tool could only have written such a time across the change).
fn local_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let at = |n: NaiveDateTime| crate::clock::earliest(Local.from_local_datetime(&n));
    at(naive).or_else(|| at(naive + chrono::Duration::hours(1))).map(|t| t.with_timezone(&Utc))
}

fn split_output(text: &str) -> (Option<Vec<u8>>, Option<Vec<u8>>, i64) {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return (None, None, 0);
    }
    let head = bytes[..bytes.len().min(OUTPUT_KEEP)].to_vec();
    let tail = (bytes.len() > OUTPUT_KEEP)
        .then(|| bytes[bytes.len().saturating_sub(OUTPUT_KEEP).max(OUTPUT_KEEP)..].to_vec());
    (Some(head), tail, bytes.len() as i64)
}

/// Plans one legacy result; `Err` says why it is skipped.
pub fn plan_run(r: &LegacyResult, task: &str) -> Result<RunRow, String> {
    let status = match r.status.trim().to_ascii_uppercase().as_str() {
        "SUCCESS" => "SUCCESS",
        "FAILED" => "FAILED",
        "SKIPPED" => "SKIPPED",
        "TIMEOUT" => "TIMEOUT",
        "RUNNING" => "ABANDONED",
        other => return Err(format!("result {}: unknown status {other:?}", r.id)),
    };
    let start = r
        .start_time
        .as_deref()
        .and_then(legacy_time)
        .ok_or_else(|| format!("result {}: no readable start time", r.id))?;
    let end = r.end_time.as_deref().and_then(legacy_time);
    let duration_ms = match (r.duration, end) {
        (Some(d), _) if d.is_finite() && d >= 0.0 => Some((d * 1000.0).round() as i64),
        (_, Some(e)) => Some((e - start).num_milliseconds().max(0)),
        _ => None,
    };
    let mut error = r.error.clone().filter(|e| !e.trim().is_empty());
    if status == "ABANDONED" {
        error = Some(error.map_or_else(
            || "still RUNNING in the legacy orchestrator when it was migrated".into(),
            |e| format!("{e} (still RUNNING in the legacy orchestrator when it was migrated)"),
        ));
    }
    let (stdout_head, stdout_tail, stdout_bytes) = split_output(r.output.as_deref().unwrap_or(""));
    Ok(RunRow {
        source: format!("legacy:{}", r.id),
        task: task.to_string(),
        status,
        attempt: r.retry_count.unwrap_or(0).max(0) + 1,
        start: crate::store::to_db_time(start),
        end: end.map(crate::store::to_db_time),
        duration_ms,
        exit_code: r.exit_code,
        error,
        stdout_head,
        stdout_tail,
        stdout_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_times_and_statuses() {
        let r = LegacyResult {
            id: 9,
            task_name: "t".into(),
            status: "RUNNING".into(),
            start_time: Some("2025-03-01T10:00:00.250000".into()),
            end_time: None,
            duration: Some(1.5),
            output: Some("out".into()),
            ..Default::default()
        };
        let row = plan_run(&r, "t").unwrap();
        assert_eq!(row.status, "ABANDONED");
        assert_eq!(row.source, "legacy:9");
        assert_eq!(row.duration_ms, Some(1500));
        assert_eq!(row.stdout_head.as_deref(), Some(&b"out"[..]));
        let naive = NaiveDateTime::parse_from_str("2025-03-01T10:00:00.25", "%Y-%m-%dT%H:%M:%S%.f")
            .unwrap();
        let want = Local.from_local_datetime(&naive).earliest().unwrap().with_timezone(&Utc);
        assert_eq!(row.start, crate::store::to_db_time(want));
        assert_eq!(
            legacy_time("2025-03-01T10:00:00+02:00").unwrap().to_rfc3339(),
            "2025-03-01T08:00:00+00:00"
        );
        let bad = LegacyResult { status: "WEIRD".into(), ..r.clone() };
        assert!(plan_run(&bad, "t").is_err());
        let no_start = LegacyResult { start_time: None, status: "SUCCESS".into(), ..r };
        assert!(plan_run(&no_start, "t").is_err());
    }
}

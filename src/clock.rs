//! The one place orc asks what time it is, so tests and drills can move the clock
//! (`ORC_NOW`, local wall-clock `YYYY-MM-DDTHH:MM:SS`).

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

use crate::env_vars;

/// The current local time (or the `ORC_NOW` override).
pub fn now() -> DateTime<Local> {
    override_now().unwrap_or_else(Local::now)
}

/// The current time in UTC (or the `ORC_NOW` override).
pub fn now_utc() -> DateTime<Utc> {
    now().with_timezone(&Utc)
}

fn override_now() -> Option<DateTime<Local>> {
    let raw = env_vars::get(env_vars::ORC_NOW)?;
    let naive = parse_local(&raw.to_string_lossy())?;
    Local.from_local_datetime(&naive).earliest()
}

/// Parses `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DDTHH:MM` (also with a space instead of `T`).
pub fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
}

/// ISO 8601 with the local offset, as every `--json` time is shown.
pub fn to_local_iso(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// `YYYY-MM-DD HH:MM:SS` local time, for human tables.
pub fn to_local_human(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_forms() {
        let want = NaiveDateTime::parse_from_str("2026-03-01 02:30:00", "%Y-%m-%d %H:%M:%S");
        for s in
            ["2026-03-01T02:30:00", "2026-03-01T02:30", "2026-03-01 02:30:00", " 2026-03-01 02:30 "]
        {
            assert_eq!(parse_local(s), want.ok(), "{s}");
        }
        assert_eq!(parse_local("2026-13-01T00:00"), None);
        assert_eq!(parse_local("tomorrow"), None);
    }
}

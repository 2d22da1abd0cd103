//! The one place orc asks what time it is, so tests and drills can move the clock
//! (`ORC_NOW`, local wall-clock `YYYY-MM-DDTHH:MM:SS`).

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};

use crate::env_vars;

/// The current local time (or the `ORC_NOW` override).
pub fn now() -> DateTime<Local> {
    override_now().unwrap_or_else(Local::now)
}

/// The current time in UTC (or the `ORC_NOW` override).
pub fn now_utc() -> DateTime<Utc> {
    now().with_timezone(&Utc)
}

/// The real wall clock, for comparing with file modification times (which `ORC_NOW` does not
/// move): the age of a dependency file, of the spill files retention sweeps. Measuring an
/// elapsed time within one process uses `Instant` instead.
pub fn file_time_now() -> std::time::SystemTime {
    std::time::SystemTime::now()
}

fn override_now() -> Option<DateTime<Local>> {
    let raw = env_vars::get(env_vars::ORC_NOW)?;
    let naive = parse_local(&raw.to_string_lossy())?;
    earliest(Local.from_local_datetime(&naive))
}

/// The instants a local wall-clock time stands for, earlier first: one, none (a gap), or two
/// (an autumn overlap). Use this (or [`earliest`]) instead of chrono's own order: for
/// `chrono::Local`, an ambiguous time comes back later-first, so `LocalResult::earliest`
/// returns the **later** instant (chronotope/chrono#1625, open in chrono 0.4.45; `chrono-tz`
/// zones are not affected).
pub fn instants<Tz: TimeZone>(r: chrono::LocalResult<DateTime<Tz>>) -> Vec<DateTime<Tz>> {
    match r {
        chrono::LocalResult::Single(t) => vec![t],
        chrono::LocalResult::Ambiguous(a, b) if b < a => vec![b, a],
        chrono::LocalResult::Ambiguous(a, b) => vec![a, b],
        chrono::LocalResult::None => Vec::new(),
    }
}

/// The earlier instant of a local wall-clock time (see [`instants`]); `None` in a gap.
pub fn earliest<Tz: TimeZone>(r: chrono::LocalResult<DateTime<Tz>>) -> Option<DateTime<Tz>> {
    instants(r).into_iter().next()
}

/// The years a typed date or time may name (four digits: chrono's own `%Y` also takes signed
/// years out to ±262143, where a few hours of arithmetic overflow).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Parses `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DDTHH:MM` (also with a space instead of `T`),
/// years in [`YEARS`].
pub fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .filter(|t| YEARS.contains(&t.year()))
}

/// Parses a date `YYYY-MM-DD`, years in [`YEARS`].
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok().filter(|d| YEARS.contains(&d.year()))
}

/// `t` moved `secs` seconds back, or `None` when that leaves the representable range.
pub fn checked_back(t: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
    let delta = TimeDelta::try_seconds(i64::try_from(secs).ok()?)?;
    t.checked_sub_signed(delta)
}

/// `t` moved by `delta` (either way), clamped to the representable range: for windows
/// around "now" whose ends only bound a query.
pub fn saturating_add<Tz: TimeZone>(t: DateTime<Tz>, delta: TimeDelta) -> DateTime<Tz> {
    let tz = t.timezone();
    t.clone().checked_add_signed(delta).unwrap_or_else(|| {
        let edge = if delta < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        };
        edge.with_timezone(&tz)
    })
}

/// ISO 8601 with the local offset, as every `--json` time is shown.
pub fn to_local_iso(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Serde serializers of UTC times as [`to_local_iso`], for `#[serde(serialize_with = …)]`
/// on the structs that `--json` prints as they are.
pub mod as_local_iso {
    use chrono::{DateTime, Utc};

    /// A time.
    pub fn time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_local_iso(*t))
    }

    /// An optional time (`null` when absent).
    pub fn opt_time<S: serde::Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => time(t, s),
            None => s.serialize_none(),
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` local time, for human tables.
pub fn to_local_human(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguous_times_are_ordered_earlier_first() {
        let at = |h| Utc.with_ymd_and_hms(2026, 10, 25, h, 30, 0).unwrap();
        // As chrono's `Local` returns them (later first), and in the documented order.
        for r in [
            chrono::LocalResult::Ambiguous(at(1), at(0)),
            chrono::LocalResult::Ambiguous(at(0), at(1)),
        ] {
            assert_eq!(instants(r), [at(0), at(1)]);
            assert_eq!(earliest(r), Some(at(0)));
        }
        assert_eq!(earliest(chrono::LocalResult::Single(at(3))), Some(at(3)));
        assert_eq!(earliest::<Utc>(chrono::LocalResult::None), None);
    }

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

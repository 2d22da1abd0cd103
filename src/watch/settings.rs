//! The watch settings and their rules (`watch.grace`, `watch.runaway_factor`,
//! `watch.interval`, `watch.channels`): the key registry ([`crate::config::keys`]) calls the
//! parsers here, so a value `orc config set` accepts is exactly a value the watch accepts.

use chrono::Duration;

use crate::config::Settings;

/// Rule of `watch.grace`.
pub const GRACE_RULE: &str = "a duration from 1m to 1d (e.g. 10m)";
/// Rule of `watch.runaway_factor`.
pub const FACTOR_RULE: &str = "a number from 1.5 to 100 (e.g. 3 or 2.5)";
/// Rule of `watch.interval`.
pub const INTERVAL_RULE: &str = "none, a number of minutes that divides an hour (1m, 2m, 3m, \
     4m, 5m, 6m, 10m, 12m, 15m, 20m, 30m) or of hours that divides a day (1h, 2h, 3h, 4h, 6h, \
     8h, 12h)";
/// Rule of `watch.channels`.
pub const CHANNELS_RULE: &str = "empty (the default: notify.channels, else e-mail to mail.to), none, or \
     comma-separated notification channel names (`orc channel add`) or email";

/// `watch.grace`: canonical text, or the rule.
pub fn parse_grace(v: &str) -> Result<u64, String> {
    crate::duration::parse_secs_in("watch.grace", v, 60, 86_400).map_err(|_| GRACE_RULE.into())
}

/// `watch.runaway_factor`: the factor, or the rule.
pub fn parse_factor(v: &str) -> Result<f64, String> {
    let t = v.trim();
    let ok = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    match t.parse::<f64>() {
        Ok(f) if ok && (1.5..=100.0).contains(&f) => Ok(f),
        _ => Err(FACTOR_RULE.into()),
    }
}

/// How often the built-in `orc-watch` task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Minutes(u32),
    Hours(u32),
}

impl Interval {
    /// The cron schedule of the built-in task.
    pub fn cron(self) -> String {
        match self {
            Interval::Minutes(1) => "* * * * *".into(),
            Interval::Minutes(n) => format!("*/{n} * * * *"),
            Interval::Hours(1) => "0 * * * *".into(),
            Interval::Hours(n) => format!("0 */{n} * * *"),
        }
    }

    /// The canonical stored text (`5m`, `2h`).
    pub fn text(self) -> String {
        match self {
            Interval::Minutes(n) => format!("{n}m"),
            Interval::Hours(n) => format!("{n}h"),
        }
    }
}

/// `watch.interval`: `None` for `none`, else an interval whose cron schedule is exact (every
/// slot the same distance apart, also across the hour and the day).
pub fn parse_interval(v: &str) -> Result<Option<Interval>, String> {
    let t = v.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let secs = crate::duration::parse_secs("watch.interval", t).map_err(|_| INTERVAL_RULE)?;
    if secs % 3600 == 0 && secs > 0 {
        let h = (secs / 3600) as u32;
        if h < 24 && 24 % h == 0 {
            return Ok(Some(Interval::Hours(h)));
        }
    } else if secs % 60 == 0 && secs > 0 {
        let m = (secs / 60) as u32;
        if m < 60 && 60 % m == 0 {
            return Ok(Some(Interval::Minutes(m)));
        }
    }
    Err(INTERVAL_RULE.into())
}

/// `watch.channels`: where incidents are delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channels {
    /// What failure alerts use: `notify.channels`, else e-mail to `mail.to` (the default).
    Default,
    /// Incidents are recorded and shown, never sent.
    None,
    /// These channels (`email` is the built-in mail).
    Names(Vec<String>),
}

/// `watch.channels`: parsed, or the rule (channel names follow the `notify.channels` rule,
/// [`crate::notify::channels::norm_setting`]).
pub fn parse_channels(v: &str) -> Result<Channels, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" => Ok(Channels::Default),
        "none" => Ok(Channels::None),
        _ => crate::notify::channels::norm_setting(v)
            .map(|canon| Channels::Names(crate::notify::channels::parse_setting(&canon)))
            .map_err(|e| format!("{CHANNELS_RULE}: {e}")),
    }
}

/// Everything a watch pass needs from the settings.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// How old a slot must be before its absence counts as missed; also the slack after a
    /// timeout before a run counts as late.
    pub grace: Duration,
    pub runaway_factor: f64,
    pub interval: Option<Interval>,
    pub channels: Channels,
    /// `notify.reminder_interval`: `None`, no reminders.
    pub reminder: Option<Duration>,
}

impl WatchSettings {
    pub fn from_settings(s: &Settings) -> WatchSettings {
        WatchSettings {
            grace: Duration::seconds(s.watch_grace.as_secs() as i64),
            runaway_factor: s.watch_runaway_factor,
            interval: s.watch_interval,
            channels: s.watch_channels.clone(),
            reminder: s.notify_reminder_interval.map(|d| Duration::seconds(d.as_secs() as i64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_map_to_exact_cron_schedules() {
        let cron = |v: &str| parse_interval(v).unwrap().map(Interval::cron);
        assert_eq!(cron("5m"), Some("*/5 * * * *".into()));
        assert_eq!(cron("1m"), Some("* * * * *".into()));
        assert_eq!(cron("60m"), Some("0 * * * *".into()));
        assert_eq!(cron("1h"), Some("0 * * * *".into()));
        assert_eq!(cron("6h"), Some("0 */6 * * *".into()));
        assert_eq!(cron("none"), None);
        assert_eq!(parse_interval("15m").unwrap().unwrap().text(), "15m");
        for bad in ["7m", "90s", "5h", "1d", "0", "", "soon", "45m"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn factor_grace_and_channels() {
        assert_eq!(parse_factor("3").unwrap(), 3.0);
        assert_eq!(parse_factor("2.5").unwrap(), 2.5);
        for bad in ["1", "-3", "1e2", "101", "", "x"] {
            assert!(parse_factor(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_grace("10m").unwrap(), 600);
        assert!(parse_grace("30s").is_err());
        assert!(parse_grace("2d").is_err());
        assert_eq!(parse_channels("").unwrap(), Channels::Default);
        assert_eq!(parse_channels("EMAIL").unwrap(), Channels::Names(vec!["EMAIL".into()]));
        assert_eq!(parse_channels("none").unwrap(), Channels::None);
        assert_eq!(
            parse_channels(" ops-teams , email").unwrap(),
            Channels::Names(vec!["ops-teams".into(), "email".into()])
        );
        assert!(parse_channels("-x").is_err());
    }
}

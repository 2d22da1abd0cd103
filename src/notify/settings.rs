//! The mail-related settings, read in one place.
//!
//! This is the single seam to the configuration module: [`MailSettings::load`] is the only
//! function that knows where the settings come from. Every value is validated here, so a bad
//! value stored by an older orc (or by hand) gives a clear error naming the key.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::task::NotifyPolicy;

use super::address;

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection, then a **required** `STARTTLS` upgrade (port 587).
    Starttls,
    /// TLS from the first byte ("implicit TLS", SMTPS, port 465).
    Tls,
    /// No encryption at all: only for relays on the loopback interface.
    None,
}

impl TlsMode {
    /// Parses the `smtp.tls` value.
    pub fn parse(value: &str) -> Result<TlsMode> {
        match value.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(TlsMode::Starttls),
            "tls" | "ssl" | "smtps" => Ok(TlsMode::Tls),
            "none" => Ok(TlsMode::None),
            _ => Err(Error::invalid("smtp.tls", value, "must be one of starttls, tls, none")),
        }
    }

    /// The port used when `smtp.port` is not set.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }

    /// The name as written in the settings.
    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Starttls => "starttls",
            TlsMode::Tls => "tls",
            TlsMode::None => "none",
        }
    }
}

/// Where and how to deliver mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// The AUTH user name; `None` means no authentication.
    pub user: Option<String>,
    /// The vault credential that holds the AUTH password.
    pub password_credential: Option<String>,
    /// Bound on each network operation and on one whole delivery.
    pub timeout: Duration,
    /// Extra trusted root certificate(s), PEM (for a relay with an internal CA).
    pub ca_file: Option<PathBuf>,
}

/// Everything mail needs from the settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None` when `smtp.host` is not set: mail is off.
    pub smtp: Option<SmtpSettings>,
    /// The sender (`mail.from`).
    pub from: Option<Mailbox>,
    /// Default recipients (`mail.to`).
    pub to: Vec<lettre::Address>,
    /// The policy of tasks whose own policy is `default` (`notify.default`).
    pub notify_default: NotifyPolicy,
    /// How often to remind while a task keeps failing; `None` disables reminders.
    pub reminder_interval: Option<chrono::Duration>,
    /// Local time of the daily report task (`report.daily_time`), as (hour, minute).
    pub report_daily_time: Option<(u32, u32)>,
}

/// The timeout used when `smtp.timeout` is not set.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest accepted `smtp.timeout`: mail must never hold a run up for longer.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(20);
/// The reminder interval used when `notify.reminder_interval` is not set.
pub const DEFAULT_REMINDER_SECS: i64 = 4 * 3600;

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp: None,
            from: None,
            to: Vec::new(),
            notify_default: NotifyPolicy::Failure,
            reminder_interval: Some(chrono::Duration::seconds(DEFAULT_REMINDER_SECS)),
            report_daily_time: None,
        }
    }
}

impl MailSettings {
    /// Reads and validates the mail settings.
    pub fn load(store: &Store) -> Result<MailSettings> {
        let raw = read_config(store)?;
        Self::from_pairs(|k| raw.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()))
    }

    /// Builds the settings from a key lookup (pure; used by [`MailSettings::load`] and tests).
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Result<MailSettings> {
        let get = |k: &str| get(k).map(str::trim).filter(|v| !v.is_empty());
        let mut s = MailSettings::default();
        if let Some(host) = get("smtp.host") {
            if host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/') {
                return Err(Error::invalid("smtp.host", host, "must be a host name or IP address"));
            }
            let tls = match get("smtp.tls") {
                Some(v) => TlsMode::parse(v)?,
                None => TlsMode::Starttls,
            };
            let port = match get("smtp.port") {
                Some(v) => v.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    Error::invalid("smtp.port", v, "must be a port number 1-65535")
                })?,
                None => tls.default_port(),
            };
            let timeout = match get("smtp.timeout") {
                Some(v) => Duration::from_secs(crate::duration::parse_secs_in(
                    "smtp.timeout",
                    v,
                    1,
                    MAX_TIMEOUT.as_secs(),
                )?),
                None => DEFAULT_TIMEOUT,
            };
            let user = get("smtp.user").map(str::to_string);
            if let Some(u) = &user
                && u.chars().any(char::is_control)
            {
                return Err(Error::invalid("smtp.user", u, "must not contain control characters"));
            }
            s.smtp = Some(SmtpSettings {
                host: host.to_string(),
                port,
                tls,
                user,
                password_credential: get("smtp.password_credential").map(str::to_string),
                timeout,
                ca_file: get("smtp.ca_file").map(PathBuf::from),
            });
        }
        if let Some(from) = get("mail.from") {
            s.from = Some(address::parse_mailbox("mail.from", from)?);
        }
        if let Some(to) = get("mail.to") {
            s.to = address::parse_list("mail.to", to)?;
        }
        if let Some(p) = get("notify.default") {
            s.notify_default = match p.to_ascii_lowercase().as_str() {
                "failure" => NotifyPolicy::Failure,
                "always" => NotifyPolicy::Always,
                "never" => NotifyPolicy::Never,
                "recovery" => NotifyPolicy::Recovery,
                _ => {
                    return Err(Error::invalid(
                        "notify.default",
                        p,
                        "must be one of failure, always, never, recovery",
                    ));
                }
            };
        }
        if let Some(r) = get("notify.reminder_interval") {
            s.reminder_interval =
                if matches!(r.to_ascii_lowercase().as_str(), "0" | "off" | "never") {
                    None
                } else {
                    let secs = crate::duration::parse_secs_in(
                        "notify.reminder_interval",
                        r,
                        60,
                        30 * 86_400,
                    )?;
                    Some(chrono::Duration::seconds(secs as i64))
                };
        }
        if let Some(t) = get("report.daily_time") {
            s.report_daily_time = Some(parse_hh_mm("report.daily_time", t)?);
        }
        Ok(s)
    }
}

/// Parses `HH:MM` (24-hour clock).
pub fn parse_hh_mm(field: &str, text: &str) -> Result<(u32, u32)> {
    let bad = || Error::invalid(field, text, "must be a time of day HH:MM (24-hour clock)");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

/// The raw `config` table. Kept in this one function so it can be swapped for the
/// configuration module's typed settings.
fn read_config(store: &Store) -> Result<Vec<(String, String)>> {
    let mut stmt = store
        .conn()
        .prepare("SELECT key, value FROM config")
        .map_err(|e| store.err("read settings", e))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(|e| store.err("read settings", e))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.map_err(|e| store.err("read settings", e))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<MailSettings> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        MailSettings::from_pairs(|k| {
            pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
        })
    }

    #[test]
    fn defaults_and_ports() {
        let s = load(&[]).unwrap();
        assert!(s.smtp.is_none());
        assert_eq!(s.notify_default, NotifyPolicy::Failure);
        let s = load(&[("smtp.host", "mail.example.com")]).unwrap();
        let smtp = s.smtp.unwrap();
        assert_eq!((smtp.tls, smtp.port, smtp.timeout), (TlsMode::Starttls, 587, DEFAULT_TIMEOUT));
        let s = load(&[("smtp.host", "h"), ("smtp.tls", "tls")]).unwrap();
        assert_eq!(s.smtp.unwrap().port, 465);
    }

    #[test]
    fn refusals_name_the_key() {
        for (k, v) in [
            ("smtp.tls", "maybe"),
            ("smtp.port", "0"),
            ("smtp.port", "70000"),
            ("smtp.timeout", "5m"),
            ("smtp.timeout", "0"),
            ("mail.to", "a@example.com, x\r\nBcc: evil@x"),
            ("mail.from", "not an address"),
            ("notify.default", "sometimes"),
            ("notify.reminder_interval", "10s"),
            ("report.daily_time", "25:00"),
            ("report.daily_time", "7"),
        ] {
            let err = load(&[("smtp.host", "h"), (k, v)]).unwrap_err();
            assert!(err.to_string().contains(k), "{k}={v:?}: {err}");
            assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        }
    }

    #[test]
    fn reminders_can_be_turned_off() {
        let s = load(&[("notify.reminder_interval", "off")]).unwrap();
        assert_eq!(s.reminder_interval, None);
        let s = load(&[("notify.reminder_interval", "2h")]).unwrap();
        assert_eq!(s.reminder_interval, Some(chrono::Duration::hours(2)));
    }

    #[test]
    fn daily_time() {
        assert_eq!(parse_hh_mm("t", "07:05").unwrap(), (7, 5));
        assert_eq!(parse_hh_mm("t", "7:05").unwrap(), (7, 5));
        assert!(parse_hh_mm("t", "07:5").is_err());
        assert!(parse_hh_mm("t", "07:60").is_err());
    }
}

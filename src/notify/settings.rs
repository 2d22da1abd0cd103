//! The mail-related settings: a view of [`crate::config::Settings`], which reads and validates
//! them (each key's rule calls the parsers here: [`TlsMode::parse`], [`parse_hh_mm`]).

use std::path::PathBuf;
use std::time::Duration;

use chrono::Timelike;
use lettre::message::Mailbox;

use crate::choice;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::task::NotifyPolicy;

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
    const CHOICES: &[(&str, TlsMode)] =
        &[("starttls", TlsMode::Starttls), ("tls", TlsMode::Tls), ("none", TlsMode::None)];

    /// Parses the `smtp.tls` value.
    pub fn parse(value: &str) -> Result<TlsMode> {
        choice::parse("smtp.tls", value, TlsMode::CHOICES)
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
        choice::name(self, TlsMode::CHOICES)
    }
}

/// How mail leaves orc (`mail.transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// An SMTP relay (`smtp.*`).
    #[default]
    Smtp,
    /// Microsoft Graph `sendMail` with an app registration (`mail.oauth.*`).
    Graph,
}

impl Transport {
    const CHOICES: &[(&str, Transport)] = &[("smtp", Transport::Smtp), ("graph", Transport::Graph)];

    /// Parses the `mail.transport` value.
    pub fn parse(value: &str) -> Result<Transport> {
        choice::parse("mail.transport", value, Transport::CHOICES)
    }

    /// The name as written in the settings.
    pub fn as_str(self) -> &'static str {
        choice::name(self, Transport::CHOICES)
    }
}

/// How orc logs in to the SMTP relay when `smtp.user` is set (`smtp.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpAuth {
    /// PLAIN or LOGIN with the password of `smtp.password_credential`.
    #[default]
    Password,
    /// SASL `XOAUTH2` with an OAuth2 access token of the `mail.oauth.*` app registration.
    Xoauth2,
}

impl SmtpAuth {
    const CHOICES: &[(&str, SmtpAuth)] =
        &[("password", SmtpAuth::Password), ("xoauth2", SmtpAuth::Xoauth2)];

    /// Parses the `smtp.auth` value.
    pub fn parse(value: &str) -> Result<SmtpAuth> {
        choice::parse("smtp.auth", value, SmtpAuth::CHOICES)
    }

    /// The name as written in the settings.
    pub fn as_str(self) -> &'static str {
        choice::name(self, SmtpAuth::CHOICES)
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
    /// Password or XOAUTH2 login (when `user` is set).
    pub auth: SmtpAuth,
}

/// Everything mail needs from the settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `mail.transport`: SMTP (when `smtp.host` is set) or Microsoft Graph.
    pub transport: Transport,
    /// `None` when `smtp.host` is not set.
    pub smtp: Option<SmtpSettings>,
    /// The OAuth2 app registration (`mail.oauth.*`) of the graph transport and XOAUTH2.
    pub oauth: crate::notify::oauth::OAuthSettings,
    /// Bound on one whole delivery (`smtp.timeout`, for every transport).
    pub timeout: Duration,
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
    /// `notify.channels` (empty: the built-in mail).
    pub channels: Vec<String>,
    /// `dashboard.url`.
    pub dashboard_url: Option<String>,
}

/// The timeout used when `smtp.timeout` is not set (the registry's default; a test checks).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest accepted `smtp.timeout`: mail must never hold a run up for longer.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(20);

impl Default for MailSettings {
    /// Every setting at its default.
    fn default() -> Self {
        MailSettings::from_settings(&Settings::defaults())
    }
}

impl MailSettings {
    /// Reads the mail settings, validated by their keys' rules ([`Settings::from_raw`]). Only
    /// the mail keys are read, so a stored setting of another subsystem that no longer passes
    /// its rule does not stop mail (or `orc schedule`'s report task).
    pub fn load(store: &Store) -> Result<MailSettings> {
        let prefixes = ["smtp.", "mail.", "notify.", "report.", "dashboard.url"];
        Ok(MailSettings::from_settings(&Settings::load_only(store, &prefixes)?))
    }

    /// The mail part of the settings.
    pub fn from_settings(s: &Settings) -> MailSettings {
        MailSettings {
            smtp: s.smtp_host.as_ref().map(|host| SmtpSettings {
                host: host.clone(),
                port: s.relay_port(),
                tls: s.smtp_tls,
                user: s.smtp_user.clone(),
                password_credential: s.smtp_password_credential.clone(),
                timeout: s.smtp_timeout,
                ca_file: s.smtp_ca_file.clone(),
                auth: s.smtp_auth,
            }),
            transport: s.mail_transport,
            oauth: crate::notify::oauth::OAuthSettings {
                tenant_id: s.oauth_tenant_id.clone(),
                client_id: s.oauth_client_id.clone(),
                secret_credential: s.oauth_client_secret_credential.clone(),
            },
            timeout: s.smtp_timeout,
            from: s.mail_from.clone(),
            to: s.mail_to.iter().map(|m| m.email.clone()).collect(),
            notify_default: s.notify_default,
            reminder_interval: s
                .notify_reminder_interval
                .map(|d| chrono::Duration::seconds(d.as_secs() as i64)),
            report_daily_time: s.report_daily_time.map(|t| (t.hour(), t.minute())),
            channels: s.notify_channels.clone(),
            dashboard_url: s.dashboard_url.clone(),
        }
    }
}

impl MailSettings {
    /// True when mail can go out at all: the graph transport, or SMTP with `smtp.host` set.
    pub fn configured(&self) -> bool {
        match self.transport {
            Transport::Graph => true,
            Transport::Smtp => self.smtp.is_some(),
        }
    }
}

/// Parses `HH:MM` (24-hour clock).
pub fn parse_hh_mm(field: &str, text: &str) -> Result<(u32, u32)> {
    let bad = || Error::invalid(field, text, "must be a time of day HH:MM (24-hour clock)");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<MailSettings> {
        let raw = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Ok(MailSettings::from_settings(&Settings::from_raw(&raw)?))
    }

    #[test]
    fn defaults_and_ports() {
        let s = load(&[]).unwrap();
        assert!(s.smtp.is_none());
        assert_eq!(s.notify_default, NotifyPolicy::Failure);
        assert_eq!(s.reminder_interval, Some(chrono::Duration::hours(4)));
        let s = load(&[("smtp.host", "mail.example.com")]).unwrap();
        let smtp = s.smtp.unwrap();
        assert_eq!((smtp.tls, smtp.port, smtp.timeout), (TlsMode::Starttls, 587, DEFAULT_TIMEOUT));
        let s = load(&[("smtp.host", "h"), ("smtp.tls", "tls")]).unwrap();
        assert_eq!(s.smtp.unwrap().port, 465);
        let s = load(&[("smtp.host", "h"), ("smtp.tls", "tls"), ("smtp.port", "2525")]).unwrap();
        assert_eq!(s.smtp.unwrap().port, 2525);
    }

    #[test]
    fn refusals_name_the_key() {
        for (k, v) in [
            ("smtp.tls", "maybe"),
            // The contract's values are starttls, tls and none; `orc config set` refuses ssl too.
            ("smtp.tls", "ssl"),
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
    fn the_view_carries_every_mail_setting() {
        let s = load(&[
            ("smtp.host", "relay.example.com"),
            ("smtp.user", "orc"),
            ("smtp.password_credential", "smtp-pw"),
            ("smtp.timeout", "7s"),
            ("mail.from", "orc <orc@example.com>"),
            ("mail.to", "a@example.com, B <b@example.com>"),
            ("notify.default", "always"),
            ("report.daily_time", "07:05"),
        ])
        .unwrap();
        let smtp = s.smtp.unwrap();
        assert_eq!(smtp.user.as_deref(), Some("orc"));
        assert_eq!(smtp.password_credential.as_deref(), Some("smtp-pw"));
        assert_eq!(smtp.timeout, Duration::from_secs(7));
        assert_eq!(s.from.unwrap().to_string(), "orc <orc@example.com>");
        let to: Vec<String> = s.to.iter().map(|a| a.to_string()).collect();
        assert_eq!(to, ["a@example.com", "b@example.com"]);
        assert_eq!(s.notify_default, NotifyPolicy::Always);
        assert_eq!(s.report_daily_time, Some((7, 5)));
        assert_eq!(Settings::defaults().smtp_timeout, DEFAULT_TIMEOUT);
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
        assert!(parse_hh_mm("t", "+7:05").is_err());
    }
}

//! The settings, typed: [`Settings::load`] reads the `config` table once, validates every
//! stored value by its key's rule and the cross-key rules, and fills in the defaults.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveTime;
use lettre::message::Mailbox;

use super::keys::{KEYS, key_def, parse_mailbox, parse_notify};
use crate::error::{Error, Result};
use crate::notify::settings::{SmtpAuth, TlsMode, Transport};
use crate::notify::smtp::is_loopback;
use crate::paths::Paths;
use crate::store::{Store, classify};
use crate::task::NotifyPolicy;
use crate::vault::{self, Purpose, Secret, VaultError};

/// The settings, typed. `Settings::load` gives the stored values with defaults filled in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub smtp_host: Option<String>,
    /// `smtp.port` as set, else its registry default; mail goes to [`Settings::relay_port`].
    pub smtp_port: u16,
    pub smtp_tls: TlsMode,
    pub smtp_user: Option<String>,
    pub smtp_password_credential: Option<String>,
    pub smtp_timeout: Duration,
    pub mail_from: Option<Mailbox>,
    pub mail_to: Vec<Mailbox>,
    /// `failure`, `always` or `never`.
    pub notify_default: NotifyPolicy,
    /// `None`: no reminders.
    pub notify_reminder_interval: Option<Duration>,
    /// `None`: no daily report.
    pub report_daily_time: Option<NaiveTime>,
    pub scheduler_folder: String,
    pub scheduler_prefix: String,
    pub retention_days: u32,
    pub run_as_default: crate::task::runas::Account,
    /// `smtp.ca_file`: extra trusted root certificate(s), PEM.
    pub smtp_ca_file: Option<std::path::PathBuf>,
    /// `mail.transport`: SMTP or Microsoft Graph.
    pub mail_transport: Transport,
    /// `smtp.auth`: password or XOAUTH2.
    pub smtp_auth: SmtpAuth,
    /// `mail.oauth.tenant_id`, `mail.oauth.client_id`, `mail.oauth.client_secret_credential`.
    pub oauth_tenant_id: Option<String>,
    pub oauth_client_id: Option<String>,
    pub oauth_client_secret_credential: Option<String>,
    /// `watch.grace`.
    pub watch_grace: Duration,
    /// `watch.runaway_factor`.
    pub watch_runaway_factor: f64,
    /// `watch.interval`: `None` when `none`.
    pub watch_interval: Option<crate::watch::settings::Interval>,
    /// `watch.channels`.
    pub watch_channels: crate::watch::settings::Channels,
    /// `metrics.textfile`: `None` when unset.
    pub metrics_textfile: Option<std::path::PathBuf>,
    /// `notify.channels`: channel names (empty: the built-in mail).
    pub notify_channels: Vec<String>,
    /// `dashboard.url`: the dashboard's public base address, without a trailing slash.
    pub dashboard_url: Option<String>,
    /// Canonical stored values of the keys that are set.
    set: BTreeMap<&'static str, String>,
}

/// One row of `orc config list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub key: &'static str,
    /// The effective value (`null` when unset and without a default).
    pub value: Option<String>,
    /// `default` or `set`.
    pub source: &'static str,
    /// True when the value is the default (the key is not set).
    pub default: bool,
}

fn nonempty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl Settings {
    /// Reads the settings. Unknown keys in the database are ignored (with a warning); a stored
    /// value that is no longer valid is an error naming the key.
    pub fn load(store: &Store) -> Result<Settings> {
        Settings::read(store.conn())
    }

    /// [`Settings::load`] reading only the keys that start with one of `prefixes` (the others
    /// stay at their defaults): a stored value of another subsystem that no longer passes its
    /// rule does not stop the subsystem that asks (mail, the watch task, the metrics file).
    pub fn load_only(store: &Store, prefixes: &[&str]) -> Result<Settings> {
        let mut raw =
            super::table::read_raw(store.conn()).map_err(|e| store.err("read settings", e))?;
        raw.retain(|k, _| prefixes.iter().any(|p| k.starts_with(p)));
        Settings::from_raw(&raw)
    }

    /// [`Settings::load`] on a connection.
    pub fn read(conn: &crate::store::sql::Connection) -> Result<Settings> {
        let path = std::path::Path::new(conn.path().unwrap_or(""));
        let raw = super::table::read_raw(conn).map_err(|e| classify(path, "read settings", e))?;
        Settings::from_raw(&raw)
    }

    /// Every key at its default.
    pub fn defaults() -> Settings {
        Settings::from_raw(&BTreeMap::new()).expect("the defaults pass the rules (tested)")
    }

    /// Builds settings from stored `key → value` pairs, validating each and the whole.
    pub fn from_raw(raw: &BTreeMap<String, String>) -> Result<Settings> {
        let mut set = BTreeMap::new();
        for (k, v) in raw {
            match KEYS.iter().find(|d| d.key == k) {
                Some(d) => {
                    let canon = (d.normalize)(v).map_err(|rule| {
                        Error::invalid(
                            d.key,
                            v,
                            format!(
                                "{rule} (stored value; fix it with `orc config set` or `unset`)"
                            ),
                        )
                    })?;
                    set.insert(d.key, canon);
                }
                None => tracing::warn!(key = k, "ignoring unknown setting in the database"),
            }
        }
        let get = |k: &str| -> String {
            set.get(k).cloned().unwrap_or_else(|| {
                KEYS.iter().find(|d| d.key == k).map(|d| d.default.to_string()).unwrap_or_default()
            })
        };
        let dur = |s: String| crate::duration::parse_secs("", &s).map(Duration::from_secs).ok();
        let reminder = dur(get("notify.reminder_interval")).filter(|d| !d.is_zero());
        let run_as = crate::task::runas::Account::parse(&get("run_as.default"))
            .unwrap_or(crate::task::runas::Account::CurrentUser);
        let smtp_tls = TlsMode::parse(&get("smtp.tls")).unwrap_or(TlsMode::Starttls);
        let number = |k: &str| get(k).parse::<u32>().ok();
        let daily = crate::notify::settings::parse_hh_mm("", &get("report.daily_time")).ok();
        let settings = Settings {
            smtp_host: nonempty(&get("smtp.host")),
            smtp_port: number("smtp.port").and_then(|p| u16::try_from(p).ok()).unwrap_or(587),
            smtp_tls,
            smtp_user: nonempty(&get("smtp.user")),
            smtp_password_credential: nonempty(&get("smtp.password_credential")),
            smtp_timeout: dur(get("smtp.timeout")).unwrap_or(Duration::from_secs(20)),
            mail_from: parse_mailbox(&get("mail.from")),
            mail_to: get("mail.to").split(',').filter_map(parse_mailbox).collect(),
            notify_default: parse_notify(&get("notify.default")).unwrap_or(NotifyPolicy::Failure),
            notify_reminder_interval: reminder,
            report_daily_time: daily.and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
            scheduler_folder: get("scheduler.folder"),
            scheduler_prefix: get("scheduler.prefix"),
            retention_days: number("retention.days").unwrap_or_default(),
            run_as_default: run_as,
            smtp_ca_file: nonempty(&get("smtp.ca_file")).map(std::path::PathBuf::from),
            mail_transport: Transport::parse(&get("mail.transport")).unwrap_or_default(),
            smtp_auth: SmtpAuth::parse(&get("smtp.auth")).unwrap_or_default(),
            oauth_tenant_id: nonempty(&get("mail.oauth.tenant_id")),
            oauth_client_id: nonempty(&get("mail.oauth.client_id")),
            oauth_client_secret_credential: nonempty(&get("mail.oauth.client_secret_credential")),
            watch_grace: Duration::from_secs(
                crate::watch::settings::parse_grace(&get("watch.grace")).unwrap_or(600),
            ),
            watch_runaway_factor: crate::watch::settings::parse_factor(&get(
                "watch.runaway_factor",
            ))
            .unwrap_or(3.0),
            watch_interval: crate::watch::settings::parse_interval(&get("watch.interval"))
                .unwrap_or(None),
            watch_channels: crate::watch::settings::parse_channels(&get("watch.channels"))
                .unwrap_or(crate::watch::settings::Channels::Default),
            metrics_textfile: nonempty(&get("metrics.textfile")).map(std::path::PathBuf::from),
            notify_channels: crate::notify::channels::parse_setting(&get("notify.channels")),
            dashboard_url: nonempty(&get("dashboard.url")),
            set,
        };
        settings.check_cross_rules()?;
        Ok(settings)
    }

    fn check_cross_rules(&self) -> Result<()> {
        crate::scheduler::limits::check_folder_and_prefix(
            &self.scheduler_folder,
            &self.scheduler_prefix,
        )?;
        if self.smtp_tls == TlsMode::None
            && let Some(host) = &self.smtp_host
            && !is_loopback(host)
        {
            return Err(Error::invalid(
                "smtp.tls",
                "none",
                format!(
                    "an unencrypted SMTP connection is only allowed to a loopback relay \
                     (localhost, 127.0.0.1, ::1); smtp.host is {host} — use starttls or tls"
                ),
            ));
        }
        Ok(())
    }

    /// The port mail is sent to: `smtp.port` when it is set, else the port of `smtp.tls`
    /// ([`TlsMode::default_port`]: 587, 465 or 25).
    pub fn relay_port(&self) -> u16 {
        if self.set.contains_key("smtp.port") {
            self.smtp_port
        } else {
            self.smtp_tls.default_port()
        }
    }

    /// The effective value of `key` (canonical text) and whether it is the default.
    pub fn value(&self, key: &str) -> Result<(String, bool)> {
        let def = key_def(key)?;
        Ok(match self.set.get(def.key) {
            Some(v) => (v.clone(), false),
            None => (def.default.to_string(), true),
        })
    }

    /// Every key with its effective value and source, in [`KEYS`] order.
    pub fn entries(&self) -> Vec<Entry> {
        KEYS.iter()
            .map(|d| {
                let (value, default) = match self.set.get(d.key) {
                    Some(v) => (v.clone(), false),
                    None => (d.default.to_string(), true),
                };
                Entry {
                    key: d.key,
                    value: (!value.is_empty() || !default).then_some(value),
                    source: if default { "default" } else { "set" },
                    default,
                }
            })
            .collect()
    }

    /// Checks that mail can be sent as configured (host and sender present, and the
    /// no-TLS-only-to-loopback rule, re-checked at send time).
    pub fn check_smtp_send(&self) -> Result<()> {
        let host = self.smtp_host.as_deref().ok_or_else(|| {
            Error::invalid("smtp.host", "", "no SMTP server is configured (orc configure)")
        })?;
        if self.smtp_tls == TlsMode::None && !is_loopback(host) {
            self.check_cross_rules()?;
        }
        if self.mail_from.is_none() {
            return Err(Error::invalid("mail.from", "", "no sender address is configured"));
        }
        Ok(())
    }

    /// The SMTP password from the vault, if `smtp.password_credential` is set.
    pub fn smtp_password(
        &self,
        store: &Store,
        paths: &Paths,
        interactive: bool,
    ) -> std::result::Result<Option<Secret>, VaultError> {
        match &self.smtp_password_credential {
            None => Ok(None),
            Some(name) => vault::get(store, paths, interactive, name, Purpose::Smtp).map(Some),
        }
    }
}

/// `run_as.default` alone, parsed by [`crate::task::runas::Account`] (so `orc schedule` is not
/// stopped by an unrelated stored setting that no longer passes its rule).
pub fn run_as_default(conn: &crate::store::sql::Connection) -> Result<crate::task::runas::Account> {
    let text = super::table::stored(conn, "run_as.default").unwrap_or_default();
    crate::task::runas::Account::check("run_as.default", &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_valid_and_canonical() {
        for d in KEYS {
            assert_eq!((d.normalize)(d.default).as_deref(), Ok(d.default), "{}", d.key);
        }
        let s = Settings::from_raw(&BTreeMap::new()).unwrap();
        assert_eq!(s.smtp_port, 587);
        assert_eq!(s.smtp_tls, TlsMode::Starttls);
        assert_eq!(s.smtp_timeout, Duration::from_secs(20));
        assert_eq!(s.notify_default, NotifyPolicy::Failure);
        assert_eq!(s.notify_reminder_interval, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(s.scheduler_folder, "\\Orchestrator\\");
        assert_eq!(s.scheduler_prefix, "Orc_");
        assert_eq!(s.retention_days, 90);
        assert_eq!(s.run_as_default, crate::task::runas::Account::CurrentUser);
        assert!(s.smtp_host.is_none() && s.mail_from.is_none() && s.mail_to.is_empty());
    }

    #[test]
    fn tls_none_only_for_loopback() {
        let mut raw = BTreeMap::new();
        raw.insert("smtp.tls".to_string(), "none".to_string());
        raw.insert("smtp.host".to_string(), "mail.example.com".to_string());
        let e = Settings::from_raw(&raw).unwrap_err();
        assert!(e.to_string().contains("loopback"), "{e}");
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1"] {
            raw.insert("smtp.host".to_string(), host.to_string());
            assert!(Settings::from_raw(&raw).is_ok(), "{host}");
        }
        assert!(is_loopback("[::1]"));
        assert!(is_loopback("LOCALHOST."));
        assert!(!is_loopback("localhost.example.com"));
        assert!(!is_loopback("10.0.0.1"));
    }
}

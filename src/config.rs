//! Settings: typed, validated, with defaults (`orc config`, `orc configure`).
//!
//! Every key is declared once in [`KEYS`] with its default and its rule. Values are stored in
//! the `config` table in canonical form; a key that is not stored has its default. Changes go
//! through [`apply`], which validates each value, then the settings as a whole (cross-key rules
//! such as "`smtp.tls = none` only for a loopback relay"), and writes every change with an
//! audit row in one transaction — or changes nothing.
//!
//! Other modules read settings with [`Settings::load`] and its typed fields.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use chrono::NaiveTime;
use lettre::message::Mailbox;
use rusqlite::OptionalExtension;

use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::store::{Store, classify, to_db_time};
use crate::vault::{self, Purpose, Secret, VaultError};

/// One setting's declaration.
#[derive(Debug, Clone, Copy)]
pub struct KeyDef {
    /// The key, e.g. `smtp.port`.
    pub key: &'static str,
    /// The value when the key is not set (`""`: none).
    pub default: &'static str,
    /// The rule a value must follow, as shown when a value is refused.
    pub rule: &'static str,
    /// One line of help.
    pub help: &'static str,
    normalize: fn(&str) -> std::result::Result<String, String>,
}

/// Every setting orc knows, in display order.
pub const KEYS: &[KeyDef] = &[
    KeyDef {
        key: "smtp.host",
        default: "",
        rule: "a host name or IP address without a port (use smtp.port), or empty",
        help: "SMTP relay for notifications",
        normalize: norm_host,
    },
    KeyDef {
        key: "smtp.port",
        default: "587",
        rule: "a whole number from 1 to 65535",
        help: "SMTP port (587 submission with STARTTLS, 465 implicit TLS, 25 relay)",
        normalize: norm_port,
    },
    KeyDef {
        key: "smtp.tls",
        default: "starttls",
        rule: "one of starttls, tls, none (none only when smtp.host is a loopback address)",
        help: "STARTTLS (required), implicit TLS, or none (loopback relays only)",
        normalize: norm_tls,
    },
    KeyDef {
        key: "smtp.user",
        default: "",
        rule: "at most 256 characters, no control characters or surrounding spaces, or empty",
        help: "SMTP login (empty: no authentication)",
        normalize: norm_user,
    },
    KeyDef {
        key: "smtp.password_credential",
        default: "",
        rule: "the name of an existing credential of kind smtp_password or secret \
               (`orc credential set NAME`), or empty",
        help: "vault credential holding the SMTP password",
        normalize: norm_credential,
    },
    KeyDef {
        key: "smtp.timeout",
        default: "20s",
        rule: "a duration from 1s to 20s (e.g. 10s)",
        help: "give up on the SMTP server after this long",
        normalize: norm_smtp_timeout,
    },
    KeyDef {
        key: "mail.from",
        default: "",
        rule: "one e-mail address, optionally with a name (orc <orc@example.com>), no line \
               breaks, or empty",
        help: "sender address of notifications",
        normalize: norm_from,
    },
    KeyDef {
        key: "mail.to",
        default: "",
        rule: "comma-separated e-mail addresses, at most 50, each once, or empty",
        help: "default recipients (tasks can add their own with --email)",
        normalize: norm_to,
    },
    KeyDef {
        key: "notify.default",
        default: "failure",
        rule: "one of failure, always, never",
        help: "when tasks without their own --notify send mail",
        normalize: norm_notify,
    },
    KeyDef {
        key: "notify.reminder_interval",
        default: "4h",
        rule: "0 (no reminders) or a duration from 5m to 30d (e.g. 4h)",
        help: "repeat the alert this often while a task keeps failing",
        normalize: norm_reminder,
    },
    KeyDef {
        key: "report.daily_time",
        default: "",
        rule: "a local time HH:MM (00:00 to 23:59), or empty for no daily report",
        help: "when the daily summary report is sent",
        normalize: norm_daily_time,
    },
    KeyDef {
        key: "scheduler.folder",
        default: "\\Orchestrator\\",
        rule: crate::scheduler::limits::FOLDER_RULE,
        help: "Task Scheduler folder orc registers tasks in",
        normalize: norm_folder,
    },
    KeyDef {
        key: "scheduler.prefix",
        default: "Orc_",
        rule: crate::scheduler::limits::PREFIX_RULE,
        help: "prefix of registered task names",
        normalize: norm_prefix,
    },
    KeyDef {
        key: "retention.days",
        default: "90",
        rule: "a whole number of days from 1 to 3650",
        help: "run history older than this is pruned",
        normalize: norm_retention,
    },
    KeyDef {
        key: "run_as.default",
        default: "",
        rule: "empty (the user who runs `orc schedule`), SYSTEM, LOCAL SERVICE, NETWORK SERVICE \
               (or S-1-5-18/19/20), a gMSA DOMAIN\\name$, or an account as user, DOMAIN\\user, \
               .\\user or user@domain (no \" / [ ] : ; | = , + * ? < >)",
        help: "account tasks run as unless they say --run-as",
        normalize: norm_run_as,
    },
    // Appended last so the positional KEYS[i] references above stay valid.
    KeyDef {
        key: "smtp.ca_file",
        default: "",
        rule: CA_FILE_RULE,
        help: "extra trusted root certificate(s) for the SMTP relay (internal CA), PEM",
        normalize: norm_ca_file,
    },
];

const CA_FILE_RULE: &str = "the absolute path of a readable PEM file with at least one      -----BEGIN CERTIFICATE----- block, or empty";

/// `smtp.ca_file`: an existing PEM certificate file (checked when set, so a typo is refused
/// now rather than at 2 a.m. when a failure mail should go out).
fn norm_ca_file(v: &str) -> std::result::Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let p = std::path::Path::new(v);
    if !p.is_absolute() || v.chars().any(char::is_control) {
        return Err(CA_FILE_RULE.to_string());
    }
    match std::fs::read(p) {
        Ok(b) if b.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => Ok(v.to_string()),
        Ok(_) => Err(format!("{CA_FILE_RULE} (the file has no certificate)")),
        Err(e) => Err(format!("{CA_FILE_RULE} (cannot read it: {e})")),
    }
}

/// The declaration of `key`, or an error naming it (with a suggestion when close).
pub fn key_def(key: &str) -> Result<&'static KeyDef> {
    if let Some(d) = KEYS.iter().find(|d| d.key == key) {
        return Ok(d);
    }
    let lower = key.to_ascii_lowercase();
    if let Some(d) = KEYS.iter().find(|d| d.key == lower) {
        return Ok(d);
    }
    let close = KEYS.iter().filter(|d| edit_distance(d.key, &lower) <= 2).map(|d| d.key).next();
    let known: Vec<&str> = KEYS.iter().map(|d| d.key).collect();
    let hint = match close {
        Some(k) => {
            format!("unknown setting (did you mean {k}?); known settings: {}", known.join(", "))
        }
        None => format!("unknown setting; known settings: {}", known.join(", ")),
    };
    Err(Error::invalid("setting", key, hint))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Validates one value for `key` and returns its canonical form.
pub fn normalize(key: &str, value: &str) -> Result<String> {
    let def = key_def(key)?;
    (def.normalize)(value).map_err(|rule| Error::invalid(def.key, value, rule))
}

// ---------------------------------------------------------------------------------------------
// Per-key rules. Each returns the canonical value, or the rule it broke.

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

fn norm_host(v: &str) -> std::result::Result<String, String> {
    let rule = KEYS[0].rule.to_string();
    if v.is_empty() {
        return Ok(String::new());
    }
    if v.len() > 253 || has_control(v) || v.contains(char::is_whitespace) {
        return Err(rule);
    }
    let bare = v.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(v);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(ip.to_string());
    }
    if v.contains(':') {
        return Err(format!("{rule} — put the port in smtp.port"));
    }
    let name = v.strip_suffix('.').unwrap_or(v);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if name.split('.').all(label_ok) { Ok(name.to_ascii_lowercase()) } else { Err(rule) }
}

/// True for `localhost` and loopback IP addresses (`127.0.0.0/8`, `::1`).
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = h.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(h);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn norm_port(v: &str) -> std::result::Result<String, String> {
    match v.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) && !v.trim().starts_with('+') => Ok(p.to_string()),
        _ => Err(KEYS[1].rule.to_string()),
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required, never optional).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: loopback relays only.
    None,
}

impl SmtpTls {
    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::StartTls => "starttls",
            SmtpTls::Tls => "tls",
            SmtpTls::None => "none",
        }
    }
}

fn parse_tls(v: &str) -> Option<SmtpTls> {
    match v.trim().to_ascii_lowercase().as_str() {
        "starttls" => Some(SmtpTls::StartTls),
        "tls" => Some(SmtpTls::Tls),
        "none" => Some(SmtpTls::None),
        _ => None,
    }
}

fn norm_tls(v: &str) -> std::result::Result<String, String> {
    parse_tls(v).map(|t| t.as_str().to_string()).ok_or_else(|| KEYS[2].rule.to_string())
}

fn norm_user(v: &str) -> std::result::Result<String, String> {
    if v.chars().count() > 256 || has_control(v) || v.trim() != v {
        return Err(KEYS[3].rule.to_string());
    }
    Ok(v.to_string())
}

fn norm_credential(v: &str) -> std::result::Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    vault::validate_credential_name(v).map_err(|_| KEYS[4].rule.to_string())?;
    Ok(v.to_string())
}

fn norm_smtp_timeout(v: &str) -> std::result::Result<String, String> {
    let rule = || KEYS[5].rule.to_string();
    let secs = crate::duration::parse_secs("smtp.timeout", v).map_err(|_| rule())?;
    if !(1..=20).contains(&secs) {
        return Err(rule());
    }
    Ok(crate::render::secs(secs))
}

fn parse_mailbox(v: &str) -> Option<Mailbox> {
    if has_control(v) {
        return None;
    }
    v.trim().parse::<Mailbox>().ok()
}

fn norm_from(v: &str) -> std::result::Result<String, String> {
    if v.is_empty() {
        return Ok(String::new());
    }
    parse_mailbox(v).map(|m| m.to_string()).ok_or_else(|| KEYS[6].rule.to_string())
}

fn norm_to(v: &str) -> std::result::Result<String, String> {
    let rule = KEYS[7].rule;
    if v.trim().is_empty() {
        return Ok(String::new());
    }
    if has_control(v) {
        return Err(rule.to_string());
    }
    let mut out: Vec<Mailbox> = Vec::new();
    for part in v.split(',') {
        let part = part.trim();
        let mb = parse_mailbox(part)
            .filter(|_| !part.is_empty())
            .ok_or_else(|| format!("{rule} — {part:?} is not an e-mail address"))?;
        if out.iter().any(|o| o.email.to_string().eq_ignore_ascii_case(mb.email.as_ref())) {
            return Err(format!("{rule} — {} is listed twice", mb.email));
        }
        out.push(mb);
    }
    if out.len() > 50 {
        return Err(format!("{rule} — {} given", out.len()));
    }
    Ok(out.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", "))
}

/// The default notification policy for tasks that do not set their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotifyDefault {
    Failure,
    Always,
    Never,
}

impl NotifyDefault {
    /// The setting's value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyDefault::Failure => "failure",
            NotifyDefault::Always => "always",
            NotifyDefault::Never => "never",
        }
    }
}

fn parse_notify(v: &str) -> Option<NotifyDefault> {
    match v.trim().to_ascii_lowercase().as_str() {
        "failure" => Some(NotifyDefault::Failure),
        "always" => Some(NotifyDefault::Always),
        "never" => Some(NotifyDefault::Never),
        _ => None,
    }
}

fn norm_notify(v: &str) -> std::result::Result<String, String> {
    parse_notify(v).map(|n| n.as_str().to_string()).ok_or_else(|| KEYS[8].rule.to_string())
}

fn norm_reminder(v: &str) -> std::result::Result<String, String> {
    let rule = || KEYS[9].rule.to_string();
    let t = v.trim();
    if t == "0" || t.eq_ignore_ascii_case("off") {
        return Ok("0".to_string());
    }
    let secs = crate::duration::parse_secs("notify.reminder_interval", t).map_err(|_| rule())?;
    if !(300..=30 * 86_400).contains(&secs) {
        return Err(rule());
    }
    Ok(crate::render::secs(secs))
}

fn parse_daily_time(v: &str) -> Option<NaiveTime> {
    let (h, m) = v.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

fn norm_daily_time(v: &str) -> std::result::Result<String, String> {
    if v.trim().is_empty() {
        return Ok(String::new());
    }
    parse_daily_time(v)
        .map(|t| t.format("%H:%M").to_string())
        .ok_or_else(|| KEYS[10].rule.to_string())
}

fn norm_folder(v: &str) -> std::result::Result<String, String> {
    crate::scheduler::limits::check_folder(v).map(|()| v.to_string()).map_err(str::to_string)
}

fn norm_prefix(v: &str) -> std::result::Result<String, String> {
    crate::scheduler::limits::check_prefix(v).map(|()| v.to_string()).map_err(str::to_string)
}

fn norm_retention(v: &str) -> std::result::Result<String, String> {
    let t = v.trim();
    match t.parse::<u32>() {
        Ok(d) if (1..=3650).contains(&d) && t.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(d.to_string())
        }
        _ => Err(KEYS[13].rule.to_string()),
    }
}

/// `run_as.default`: parsed by the one run-as owner, [`crate::task::runas::Account`]; stored
/// canonical (`SYSTEM`, `LOCAL SERVICE`, `NETWORK SERVICE`, or the account as given).
fn norm_run_as(v: &str) -> std::result::Result<String, String> {
    if v.trim() != v && !v.trim().is_empty() {
        return Err(KEYS[14].rule.to_string());
    }
    crate::task::runas::Account::parse(v)
        .map(|a| a.canonical())
        .map_err(|_| KEYS[14].rule.to_string())
}

// ---------------------------------------------------------------------------------------------
// Typed settings.

/// The settings, typed. `Settings::load` gives the stored values with defaults filled in.
#[derive(Debug, Clone)]
pub struct Settings {
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    pub smtp_tls: SmtpTls,
    pub smtp_user: Option<String>,
    pub smtp_password_credential: Option<String>,
    pub smtp_timeout: Duration,
    pub mail_from: Option<Mailbox>,
    pub mail_to: Vec<Mailbox>,
    pub notify_default: NotifyDefault,
    /// `None`: no reminders.
    pub notify_reminder_interval: Option<Duration>,
    /// `None`: no daily report.
    pub report_daily_time: Option<NaiveTime>,
    pub scheduler_folder: String,
    pub scheduler_prefix: String,
    pub retention_days: u32,
    pub run_as_default: crate::task::runas::Account,
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
        let raw = read_raw(store.conn()).map_err(|e| classify(store.path(), "read settings", e))?;
        Settings::from_raw(&raw)
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
        let settings = Settings {
            smtp_host: nonempty(&get("smtp.host")),
            smtp_port: get("smtp.port").parse().unwrap_or(587),
            smtp_tls: parse_tls(&get("smtp.tls")).unwrap_or(SmtpTls::StartTls),
            smtp_user: nonempty(&get("smtp.user")),
            smtp_password_credential: nonempty(&get("smtp.password_credential")),
            smtp_timeout: dur(get("smtp.timeout")).unwrap_or(Duration::from_secs(20)),
            mail_from: parse_mailbox(&get("mail.from")),
            mail_to: get("mail.to").split(',').filter_map(parse_mailbox).collect(),
            notify_default: parse_notify(&get("notify.default")).unwrap_or(NotifyDefault::Failure),
            notify_reminder_interval: reminder,
            report_daily_time: parse_daily_time(&get("report.daily_time")),
            scheduler_folder: get("scheduler.folder"),
            scheduler_prefix: get("scheduler.prefix"),
            retention_days: get("retention.days").parse().unwrap_or(90),
            run_as_default: run_as,
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
        if self.smtp_tls == SmtpTls::None
            && let Some(host) = &self.smtp_host
            && !is_loopback_host(host)
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
        if self.smtp_tls == SmtpTls::None && !is_loopback_host(host) {
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

fn read_raw(conn: &rusqlite::Connection) -> rusqlite::Result<BTreeMap<String, String>> {
    let mut stmt = conn.prepare("SELECT key, value FROM config")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    rows.collect()
}

/// One requested change.
#[derive(Debug, Clone)]
pub enum Change {
    /// Set a key (the value is validated and canonicalised).
    Set(String, String),
    /// Return a key to its default.
    Unset(String),
}

/// What [`apply`] did to one key.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Applied {
    pub key: &'static str,
    /// The stored value before (`None`: default).
    pub before: Option<String>,
    /// The stored value after (`None`: default).
    pub after: Option<String>,
    pub changed: bool,
}

/// The validated form of a batch of changes: `(key, new stored value or None for default)`.
type Wanted = Vec<(&'static str, Option<String>)>;

fn validate_values(changes: &[Change]) -> Result<Wanted> {
    let mut wanted = Vec::new();
    for c in changes {
        match c {
            Change::Set(k, v) => {
                let def = key_def(k)?;
                let canon = normalize(def.key, v)?;
                // An empty value for a key whose default is empty is the same as unset.
                let stored =
                    if canon.is_empty() && def.default.is_empty() { None } else { Some(canon) };
                wanted.push((def.key, stored));
            }
            Change::Unset(k) => wanted.push((key_def(k)?.key, None)),
        }
    }
    Ok(wanted)
}

/// Checks the settings that would result from `wanted` as a whole, and that a referenced
/// credential exists (or is in `assume_credentials`, about to be stored). Returns the current
/// stored values.
fn validate_whole(
    conn: &rusqlite::Connection,
    path: &std::path::Path,
    wanted: &Wanted,
    assume_credentials: &[&str],
) -> Result<BTreeMap<String, String>> {
    let err =
        |context: &'static str| move |e: rusqlite::Error| Error::from(classify(path, context, e));
    let current = read_raw(conn).map_err(err("read settings"))?;
    let mut next: BTreeMap<String, String> = current
        .iter()
        .filter(|(k, _)| KEYS.iter().any(|d| d.key == *k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in wanted {
        match v {
            Some(v) => next.insert(k.to_string(), v.clone()),
            None => next.remove(*k),
        };
    }
    Settings::from_raw(&next)?;
    for (k, v) in wanted {
        let (true, Some(name)) = (*k == "smtp.password_credential", v) else { continue };
        if assume_credentials.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            continue;
        }
        let kind: Option<String> = conn
            .query_row("SELECT kind FROM credentials WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(err("read credentials"))?;
        match kind.as_deref() {
            None => {
                return Err(Error::invalid(
                    *k,
                    name,
                    format!(
                        "no credential named {name:?} exists — store it first with \
                         `orc credential set {name} --kind smtp_password`"
                    ),
                ));
            }
            Some("smtp_password" | "secret") => {}
            Some(other) => {
                return Err(Error::invalid(
                    *k,
                    name,
                    format!(
                        "credential {name:?} is of kind {other}; it must be smtp_password or \
                         secret"
                    ),
                ));
            }
        }
    }
    Ok(current)
}

/// Validates a batch of changes without writing anything. `assume_credentials` are credential
/// names the caller is about to store (so `smtp.password_credential` may refer to them).
pub fn check(store: &Store, changes: &[Change], assume_credentials: &[&str]) -> Result<()> {
    let wanted = validate_values(changes)?;
    validate_whole(store.conn(), store.path(), &wanted, assume_credentials)?;
    Ok(())
}

/// Validates and writes a batch of changes in one transaction, with one audit row per changed
/// key. On any error nothing is written.
pub fn apply(store: &mut Store, changes: &[Change], actor: &str) -> Result<Vec<Applied>> {
    let wanted = validate_values(changes)?;
    let path = store.path().to_path_buf();
    store.write(|tx| -> Result<Vec<Applied>> {
        let current = validate_whole(tx, &path, &wanted, &[])?;
        let mut out = Vec::new();
        let now = to_db_time(crate::clock::now_utc());
        let mut seen = std::collections::HashSet::new();
        for (k, v) in wanted.iter().rev() {
            if !seen.insert(*k) {
                continue; // a later change of the same key wins
            }
            let before = current.get(*k).cloned();
            let changed = before != *v;
            if changed {
                match v {
                    Some(v) => tx.execute(
                        "INSERT INTO config (key, value, updated_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT(key) DO UPDATE SET value = excluded.value, \
                         updated_at = excluded.updated_at",
                        rusqlite::params![k, v, now],
                    ),
                    None => tx.execute("DELETE FROM config WHERE key = ?1", [k]),
                }
                .map_err(|e| Error::from(classify(&path, "write setting", e)))?;
                crate::audit::record(
                    tx,
                    actor,
                    "setting",
                    Some(k),
                    before.as_ref().map(|b| serde_json::json!(b)).as_ref(),
                    v.as_ref().map(|a| serde_json::json!(a)).as_ref(),
                )
                .map_err(Error::from)?;
            }
            out.push(Applied { key: k, before, after: v.clone(), changed });
        }
        out.reverse();
        Ok(out)
    })
}

/// Convenience for one `set`.
pub fn set(store: &mut Store, key: &str, value: &str, actor: &str) -> Result<Applied> {
    let mut v = apply(store, &[Change::Set(key.to_string(), value.to_string())], actor)?;
    Ok(v.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(key: &str, v: &str) -> String {
        normalize(key, v).unwrap_or_else(|e| panic!("{key}={v:?}: {e}"))
    }

    fn bad(key: &str, v: &str) {
        let e = normalize(key, v).unwrap_err();
        assert_eq!(e.exit_code(), 2, "{key}={v:?}");
        assert!(e.to_string().contains(key), "{key}={v:?}: {e}");
    }

    #[test]
    fn every_default_is_valid_and_canonical() {
        for d in KEYS {
            assert_eq!((d.normalize)(d.default).as_deref(), Ok(d.default), "{}", d.key);
        }
        let s = Settings::from_raw(&BTreeMap::new()).unwrap();
        assert_eq!(s.smtp_port, 587);
        assert_eq!(s.smtp_tls, SmtpTls::StartTls);
        assert_eq!(s.smtp_timeout, Duration::from_secs(20));
        assert_eq!(s.notify_default, NotifyDefault::Failure);
        assert_eq!(s.notify_reminder_interval, Some(Duration::from_secs(4 * 3600)));
        assert_eq!(s.scheduler_folder, "\\Orchestrator\\");
        assert_eq!(s.scheduler_prefix, "Orc_");
        assert_eq!(s.retention_days, 90);
        assert_eq!(s.run_as_default, crate::task::runas::Account::CurrentUser);
        assert!(s.smtp_host.is_none() && s.mail_from.is_none() && s.mail_to.is_empty());
    }

    #[test]
    fn accepted_values_are_canonicalised() {
        assert_eq!(ok("smtp.host", "Mail.Example.COM"), "mail.example.com");
        assert_eq!(ok("smtp.host", "[::1]"), "::1");
        assert_eq!(ok("smtp.host", "10.0.0.5"), "10.0.0.5");
        assert_eq!(ok("smtp.port", "25"), "25");
        assert_eq!(ok("smtp.tls", "STARTTLS"), "starttls");
        assert_eq!(ok("smtp.timeout", "10"), "10s");
        assert_eq!(ok("mail.from", "orc <orc@example.com>"), "orc <orc@example.com>");
        assert_eq!(ok("mail.to", "a@x.org,  b@y.org"), "a@x.org, b@y.org");
        assert_eq!(ok("notify.default", "Always"), "always");
        assert_eq!(ok("notify.reminder_interval", "off"), "0");
        assert_eq!(ok("notify.reminder_interval", "90m"), "1h30m");
        assert_eq!(ok("report.daily_time", "7:05"), "07:05");
        assert_eq!(ok("scheduler.folder", "\\Ops\\Nightly\\"), "\\Ops\\Nightly\\");
        assert_eq!(ok("scheduler.folder", "\\"), "\\");
        assert_eq!(ok("scheduler.prefix", ""), "");
        assert_eq!(ok("retention.days", "3650"), "3650");
        assert_eq!(ok("run_as.default", "system"), "SYSTEM");
        assert_eq!(ok("run_as.default", "CORP\\svc_orc"), "CORP\\svc_orc");
        assert_eq!(ok("run_as.default", "svc@corp.example"), "svc@corp.example");
        assert_eq!(ok("run_as.default", ".\\backup"), ".\\backup");
        assert_eq!(ok("run_as.default", "S-1-5-19"), "LOCAL SERVICE");
        assert_eq!(ok("run_as.default", "NT AUTHORITY\\Network Service"), "NETWORK SERVICE");
        assert_eq!(ok("run_as.default", "CORP\\svc_orc$"), "CORP\\svc_orc$");
    }

    #[test]
    fn refused_values_name_the_key() {
        for (k, v) in [
            ("smtp.host", "mail.example.com:25"),
            ("smtp.host", "a b"),
            ("smtp.host", "-bad.example"),
            ("smtp.host", "x\r\nRCPT"),
            ("smtp.port", "0"),
            ("smtp.port", "65536"),
            ("smtp.port", "25a"),
            ("smtp.tls", "ssl"),
            ("smtp.user", " lead"),
            ("smtp.password_credential", "a b"),
            ("smtp.timeout", "21s"),
            ("smtp.timeout", "0"),
            ("smtp.timeout", "1m"),
            ("mail.from", "not-an-address"),
            ("mail.from", "a@b.c\r\nBcc: evil@x.org"),
            ("mail.to", "a@x.org,,b@x.org"),
            ("mail.to", "a@x.org, A@X.org"),
            ("mail.to", "a@x.org\nBcc: e@x.org"),
            ("notify.default", "sometimes"),
            ("notify.reminder_interval", "1m"),
            ("notify.reminder_interval", "31d"),
            ("report.daily_time", "24:00"),
            ("report.daily_time", "7pm"),
            ("report.daily_time", "07:5"),
            ("scheduler.folder", "Orchestrator"),
            ("scheduler.folder", "\\Orc"),
            ("scheduler.folder", "\\a/b\\"),
            ("scheduler.folder", "\\a\\..\\"),
            ("scheduler.folder", "\\a\\\\b\\"),
            ("scheduler.folder", "\\a|b\\"),
            ("scheduler.prefix", "Orc prefix"),
            ("scheduler.prefix", "abcdefghijklmnopq"),
            ("retention.days", "0"),
            ("retention.days", "3651"),
            ("retention.days", "-1"),
            ("run_as.default", "CORP\\a\\b"),
            ("run_as.default", "bad[user]"),
            ("run_as.default", "a@b@c"),
        ] {
            bad(k, v);
        }
        let many: Vec<String> = (0..51).map(|i| format!("u{i}@x.org")).collect();
        bad("mail.to", &many.join(","));
    }

    #[test]
    fn unknown_keys_are_refused_with_a_hint() {
        let e = key_def("smtp.hots").unwrap_err();
        assert!(e.to_string().contains("did you mean smtp.host"), "{e}");
        assert_eq!(e.exit_code(), 2);
        assert!(key_def("nothing.like.it").is_err());
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
        assert!(is_loopback_host("[::1]"));
        assert!(is_loopback_host("LOCALHOST."));
        assert!(!is_loopback_host("localhost.example.com"));
        assert!(!is_loopback_host("10.0.0.1"));
    }

    #[test]
    fn apply_is_all_or_nothing_and_audited() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let r = apply(
            &mut store,
            &[
                Change::Set("smtp.host".into(), "mail.example.com".into()),
                Change::Set("smtp.port".into(), "465".into()),
                Change::Set("smtp.tls".into(), "tls".into()),
            ],
            "orc config set",
        )
        .unwrap();
        assert!(r.iter().all(|a| a.changed));
        // The second change is refused as a whole: tls none with a remote host.
        let e = apply(
            &mut store,
            &[
                Change::Set("smtp.port".into(), "25".into()),
                Change::Set("smtp.tls".into(), "none".into()),
            ],
            "x",
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let s = Settings::load(&store).unwrap();
        assert_eq!((s.smtp_port, s.smtp_tls), (465, SmtpTls::Tls));
        // Setting the same value again changes nothing and writes no audit row.
        let a = set(&mut store, "smtp.port", "465", "x").unwrap();
        assert!(!a.changed);
        let audits: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM audit WHERE object = 'setting'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(audits, 3);
        // Unset returns to the default.
        apply(&mut store, &[Change::Unset("smtp.port".into())], "x").unwrap();
        assert_eq!(Settings::load(&store).unwrap().smtp_port, 587);
        // A missing credential is refused.
        let e = set(&mut store, "smtp.password_credential", "nope", "x").unwrap_err();
        assert!(e.to_string().contains("credential set"), "{e}");
    }
}

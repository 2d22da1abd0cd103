//! The key registry: every setting declared once with its default and its rule.
//!
//! Each key's rule calls the parser of the subsystem that uses the value (`smtp.tls` →
//! [`TlsMode`], addresses → [`crate::notify::address`], `run_as.default` →
//! [`crate::task::runas::Account`], the folder and prefix → [`crate::scheduler::limits`], …), so a
//! value `orc config set` accepts is exactly a value the subsystem accepts.

mod mail365;

use std::net::IpAddr;

use lettre::message::Mailbox;

use crate::error::{Error, Result};
use crate::notify::address;
use crate::notify::settings::{MAX_TIMEOUT, TlsMode, parse_hh_mm};
use crate::task::NotifyPolicy;
use crate::vault;

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
    pub(super) normalize: fn(&str) -> std::result::Result<String, String>,
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
        help: "SMTP port (587 submission with STARTTLS, 465 implicit TLS, 25 relay); when \
               unset, the port of smtp.tls (587 starttls, 465 tls, 25 none)",
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
        default: crate::scheduler::schtasks::DEFAULT_FOLDER,
        rule: crate::scheduler::limits::FOLDER_RULE,
        help: "Task Scheduler folder orc registers tasks in",
        normalize: norm_folder,
    },
    KeyDef {
        key: "scheduler.prefix",
        default: crate::scheduler::schtasks::DEFAULT_PREFIX,
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
    mail365::TRANSPORT,
    mail365::SMTP_AUTH,
    mail365::TENANT_ID,
    mail365::CLIENT_ID,
    mail365::CLIENT_SECRET_CREDENTIAL,
    KeyDef {
        key: "watch.grace",
        default: "10m",
        rule: crate::watch::settings::GRACE_RULE,
        help: "`orc watch`: a slot this old without a run is missed; a run this far past its \
               timeout is late",
        normalize: norm_watch_grace,
    },
    KeyDef {
        key: "watch.runaway_factor",
        default: "3",
        rule: crate::watch::settings::FACTOR_RULE,
        help: "`orc watch`: a run longer than this times the p95 of the task's last 20 \
               successful runs is a runaway",
        normalize: norm_watch_factor,
    },
    KeyDef {
        key: "watch.interval",
        default: "5m",
        rule: crate::watch::settings::INTERVAL_RULE,
        help: "how often the built-in orc-watch task runs (also at boot); none: not registered",
        normalize: norm_watch_interval,
    },
    KeyDef {
        key: "watch.channels",
        default: "",
        rule: crate::watch::settings::CHANNELS_RULE,
        help: "where `orc watch` sends incidents (empty: e-mail to mail.to)",
        normalize: norm_watch_channels,
    },
    KeyDef {
        key: "metrics.textfile",
        default: "",
        rule: crate::metrics::TEXTFILE_RULE,
        help: "Prometheus text file rewritten after every run and watch pass (for the \
               windows_exporter / node_exporter textfile collector)",
        normalize: norm_metrics_textfile,
    },
    KeyDef {
        key: "notify.channels",
        default: "",
        rule: "comma-separated notification channel names (`orc channel add`) or email (the \
               built-in mail), at most 10, each once, or empty",
        help: "channels alerted for tasks without their own --notify-channel (empty: email)",
        normalize: crate::notify::channels::norm_setting,
    },
    KeyDef {
        key: "dashboard.url",
        default: "",
        rule: "an http:// or https:// URL of at most 2048 characters without spaces, or empty",
        help: "public address of the dashboard, linked from Teams and Slack alerts",
        normalize: norm_dashboard_url,
    },
    KeyDef {
        key: "dashboard.require_login",
        default: "false",
        rule: "true or false",
        help: "the dashboard asks for a token also for reading on loopback",
        normalize: norm_bool,
    },
];

fn norm_watch_grace(v: &str) -> std::result::Result<String, String> {
    crate::watch::settings::parse_grace(v).map(crate::render::secs)
}

fn norm_watch_factor(v: &str) -> std::result::Result<String, String> {
    crate::watch::settings::parse_factor(v).map(|f| f.to_string())
}

fn norm_watch_interval(v: &str) -> std::result::Result<String, String> {
    crate::watch::settings::parse_interval(v).map(|i| i.map_or("none".into(), |i| i.text()))
}

fn norm_watch_channels(v: &str) -> std::result::Result<String, String> {
    crate::watch::settings::parse_channels(v).map(|_| v.trim().to_ascii_lowercase())
}

fn norm_metrics_textfile(v: &str) -> std::result::Result<String, String> {
    crate::metrics::check_textfile(v)
        .map(|p| p.map(|p| p.display().to_string()).unwrap_or_default())
}

/// `dashboard.url`: the base address alerts link to (`…/task/NAME`).
fn norm_dashboard_url(v: &str) -> std::result::Result<String, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let rule = || KEYS.iter().find(|d| d.key == "dashboard.url").map(|d| d.rule).unwrap_or("");
    let ok = v.len() <= 2048
        && !v.chars().any(|c| c.is_control() || c.is_whitespace())
        && v.parse::<ureq::http::Uri>().ok().is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https")) && u.host().is_some()
        });
    if ok { Ok(v.trim_end_matches('/').to_string()) } else { Err(rule().to_string()) }
}

/// `true`/`false` (also yes/no, on/off, 1/0), stored as `true` or `false`.
fn norm_bool(v: &str) -> std::result::Result<String, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok("true".into()),
        "false" | "no" | "off" | "0" => Ok("false".into()),
        _ => Err("true or false".into()),
    }
}

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

fn norm_port(v: &str) -> std::result::Result<String, String> {
    match v.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) && !v.trim().starts_with('+') => Ok(p.to_string()),
        _ => Err(KEYS[1].rule.to_string()),
    }
}

fn norm_tls(v: &str) -> std::result::Result<String, String> {
    TlsMode::parse(v).map(|t| t.as_str().to_string()).map_err(|_| KEYS[2].rule.to_string())
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
    let secs = crate::duration::parse_secs_in("smtp.timeout", v, 1, MAX_TIMEOUT.as_secs())
        .map_err(|_| rule())?;
    Ok(crate::render::secs(secs))
}

/// One address with an optional name, parsed by the mail subsystem's parser.
pub(super) fn parse_mailbox(v: &str) -> Option<Mailbox> {
    address::parse_mailbox("", v).ok()
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
    if out.len() > address::MAX_RECIPIENTS {
        return Err(format!("{rule} — {} given", out.len()));
    }
    Ok(out.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", "))
}

/// `notify.default`: the task policy parser (`NotifyPolicy`'s `FromStr`), limited
/// to the policies the contract allows as a default.
pub(super) fn parse_notify(v: &str) -> Option<NotifyPolicy> {
    v.trim()
        .parse::<NotifyPolicy>()
        .ok()
        .filter(|p| matches!(p, NotifyPolicy::Failure | NotifyPolicy::Always | NotifyPolicy::Never))
}

fn norm_notify(v: &str) -> std::result::Result<String, String> {
    parse_notify(v).map(|n| policy_name(n).to_string()).ok_or_else(|| KEYS[8].rule.to_string())
}

/// The stored name of a default notification policy.
pub(super) fn policy_name(p: NotifyPolicy) -> &'static str {
    match p {
        NotifyPolicy::Always => "always",
        NotifyPolicy::Never => "never",
        _ => "failure",
    }
}

fn norm_reminder(v: &str) -> std::result::Result<String, String> {
    let rule = || KEYS[9].rule.to_string();
    let t = v.trim();
    if t == "0" || t.eq_ignore_ascii_case("off") {
        return Ok("0".to_string());
    }
    let secs = crate::duration::parse_secs_in("notify.reminder_interval", t, 300, 30 * 86_400)
        .map_err(|_| rule())?;
    Ok(crate::render::secs(secs))
}

fn norm_daily_time(v: &str) -> std::result::Result<String, String> {
    if v.trim().is_empty() {
        return Ok(String::new());
    }
    parse_hh_mm("report.daily_time", v)
        .map(|(h, m)| format!("{h:02}:{m:02}"))
        .map_err(|_| KEYS[10].rule.to_string())
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
}

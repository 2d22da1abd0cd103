//! Notification channels (`orc channel add|list|show|rm`): where alerts go besides the
//! built-in mail. One file per kind renders and delivers: [`webhook`], [`teams`], [`slack`],
//! [`email`] (mail to the channel's own recipients, through the mail outbox path) and
//! [`eventlog`] (the Windows Application log; syslog on Unix).
//!
//! Which channels a task alerts: its `notify_channels` (`--notify-channel`), else the
//! `notify.channels` setting, else the built-in [`BUILTIN_EMAIL`] (mail to the task's `--email`
//! or `mail.to`, when mail is configured). The task's policy decides once per run (storm
//! control included); the decided message goes to every one of those channels.
//!
//! Every delivery is an outbox row committed in the run's transaction ([`queue_event`]); it is
//! delivered afterwards and retried with the outbox's backoff ([`deliver`]). A URL (which often
//! embeds a secret) is never logged or shown: only [`mask_url`]'s form is.

pub mod deliver;
pub mod email;
pub mod eventlog;
pub mod http;
pub mod slack;
pub mod store;
pub mod teams;
pub mod webhook;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::store::StoreError;

use super::event::NotifyEvent;
use super::message::MessageKind;
use super::outbox::{self, NewMessage};

pub use deliver::{ChannelTestReport, deliver_ids, flush, send_test};
pub use store::{add, get, list, remove};

/// The name that means orc's built-in mail (task `--email`, else `mail.to`) in
/// `notify.channels` and `--notify-channel`; no channel can be called that.
pub const BUILTIN_EMAIL: &str = "email";
/// Most channels a task or `notify.channels` can name.
pub const MAX_TASK_CHANNELS: usize = 10;

/// The channel-name rule (the task-name grammar).
pub const NAME_RULE: &str = "a channel name is 1-64 characters from A-Z a-z 0-9 . _ -, starts \
     with a letter or digit and does not end with a dot";

/// What a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Webhook,
    Teams,
    Slack,
    Email,
    Eventlog,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Teams => "teams",
            Kind::Slack => "slack",
            Kind::Email => "email",
            Kind::Eventlog => "eventlog",
        }
    }

    /// Whether the kind posts to a URL.
    pub fn is_http(self) -> bool {
        matches!(self, Kind::Webhook | Kind::Teams | Kind::Slack)
    }
}

impl FromStr for Kind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Kind> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "webhook" => Kind::Webhook,
            "teams" => Kind::Teams,
            "slack" => Kind::Slack,
            "email" => Kind::Email,
            "eventlog" => Kind::Eventlog,
            _ => {
                return Err(Error::invalid(
                    "--kind",
                    s,
                    "must be one of webhook, teams, slack, email, eventlog",
                ));
            }
        })
    }
}

/// Where a channel's URL is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlSource {
    /// Stored in the `channels` table (`--url`).
    Plain(String),
    /// Stored in the vault (`--url-credential CRED`).
    Credential(String),
}

/// One channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub name: String,
    pub kind: Kind,
    pub url: Option<UrlSource>,
    /// Mail recipients of an `email` channel (empty: `mail.to`).
    pub to: Vec<String>,
    /// The vault credential holding a webhook's HMAC key.
    pub secret: Option<String>,
}

/// How a channel is shown (`list`, `show`): the URL masked, credentials by name only.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChannelView {
    pub name: String,
    pub kind: Kind,
    /// `https://hooks.example.com/…` for a stored URL, `null` otherwise.
    pub url: Option<String>,
    pub url_credential: Option<String>,
    pub to: Vec<String>,
    pub secret_credential: Option<String>,
    pub created_at: String,
}

/// Checks a channel name (as a definition or as a reference).
pub fn validate_name(name: &str) -> Result<()> {
    if crate::task::validate::validate_name(name).is_err() {
        return Err(Error::invalid("channel name", name, NAME_RULE));
    }
    Ok(())
}

/// Checks a list of channel references (`--notify-channel`, `notify.channels`): each a channel
/// name or `email`, each once, at most [`MAX_TASK_CHANNELS`].
pub fn validate_refs(field: &str, names: &[String]) -> Result<()> {
    if names.len() > MAX_TASK_CHANNELS {
        return Err(Error::invalid(
            field,
            format!("{} channels", names.len()),
            format!("at most {MAX_TASK_CHANNELS} channels"),
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if crate::task::validate::validate_name(n).is_err() {
            return Err(Error::invalid(field, n, NAME_RULE));
        }
        if names[..i].iter().any(|m| m.eq_ignore_ascii_case(n)) {
            return Err(Error::invalid(field, n, "channel listed twice"));
        }
    }
    Ok(())
}

/// The `notify.channels` rule: a comma-separated list of channel references, or empty.
pub fn norm_setting(v: &str) -> std::result::Result<String, String> {
    let names = parse_setting(v);
    validate_refs("notify.channels", &names).map_err(|e| match e {
        Error::Invalid { rule, .. } => format!("comma-separated channel names or email; {rule}"),
        other => other.to_string(),
    })?;
    Ok(names.join(","))
}

/// The names in a `notify.channels` value.
pub fn parse_setting(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The shown form of a URL: scheme and host, the rest (path, query: where secrets sit)
/// replaced by `…`. Never fails: an unparsable URL is shown as `…`.
pub fn mask_url(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(u) => match (u.scheme_str(), u.host()) {
            (Some(s), Some(h)) => {
                let port = u.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{s}://{h}{port}/…")
            }
            _ => "…".to_string(),
        },
        Err(_) => "…".to_string(),
    }
}

/// Checks a channel URL: `https://`, or `http://` to a loopback host only (a URL carries
/// its secret in clear otherwise). The refusal never repeats the URL.
pub fn check_url(field: &str, url: &str) -> Result<()> {
    let refuse = |why: &str| Err(Error::invalid(field, mask_url(url), why.to_string()));
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return refuse("a URL of at most 2048 characters without spaces or control characters");
    }
    let Ok(u) = url.parse::<ureq::http::Uri>() else {
        return refuse("not a valid URL");
    };
    let Some(host) = u.host() else {
        return refuse("the URL has no host");
    };
    match u.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if super::smtp::is_loopback(host.trim_matches(['[', ']'])) => Ok(()),
        Some("http") => refuse("use https:// (plain http:// only to this machine)"),
        _ => refuse("the URL must start with https://"),
    }
}

/// Refuses references to channels that do not exist (task add/edit/import).
pub fn check_exist(conn: &crate::store::sql::Connection, names: &[String]) -> Result<()> {
    check_exist_for(conn, "--notify-channel", names)
}

/// Refuses, as a value of `field`, the first of `names` (other than `email`) that is not a
/// channel.
fn check_exist_for(
    conn: &crate::store::sql::Connection,
    field: &str,
    names: &[String],
) -> Result<()> {
    for n in names.iter().filter(|n| !n.eq_ignore_ascii_case(BUILTIN_EMAIL)) {
        if store::read(conn, n)?.is_none() {
            return Err(Error::invalid(
                field,
                n,
                "no such channel (`orc channel list` shows them); add it first with `orc channel add`",
            ));
        }
    }
    Ok(())
}

/// The settings whose value names channels.
pub const SETTING_KEYS: [&str; 2] = ["notify.channels", "watch.channels"];

/// The channel names the value of a setting refers to (none for other keys, or for
/// `watch.channels` empty or `none`). The value is a canonical one (the key's rule passed).
pub fn setting_refs(key: &str, value: &str) -> Vec<String> {
    match key {
        "notify.channels" => parse_setting(value),
        "watch.channels" => match crate::watch::settings::parse_channels(value) {
            Ok(crate::watch::settings::Channels::Names(names)) => names,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `orc config set`: refuses a channel setting that names a channel that does not exist.
/// Reads on `conn`, which may be the settings' open transaction.
pub fn check_setting(conn: &crate::store::sql::Connection, key: &str, value: &str) -> Result<()> {
    check_exist_for(conn, key, &setting_refs(key, value))
}

/// What a run's alert goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// The built-in mail (`email`).
    pub builtin_mail: bool,
    /// Named channels, as stored.
    pub channels: Vec<Channel>,
}

/// Resolves the channel names of a task (its own, else `notify.channels`, else `email`).
/// A name that no longer exists is skipped with a warning (the alert still goes elsewhere).
pub fn targets(
    conn: &crate::store::sql::Connection,
    names: &[String],
) -> Result<Targets, StoreError> {
    let mut t = Targets::default();
    for n in names {
        if n.eq_ignore_ascii_case(BUILTIN_EMAIL) {
            t.builtin_mail = true;
            continue;
        }
        match store::read(conn, n)? {
            Some(c) => t.channels.push(c),
            None => tracing::warn!("notification channel {n:?} does not exist: skipped"),
        }
    }
    Ok(t)
}

/// The channel names a task alerts: its own list, else `notify.channels`, else `email`.
pub fn names_for(task_channels: &[String], setting: &[String]) -> Vec<String> {
    if !task_channels.is_empty() {
        task_channels.to_vec()
    } else if !setting.is_empty() {
        setting.to_vec()
    } else {
        vec![BUILTIN_EMAIL.to_string()]
    }
}

/// Queues `event` for every non-mail channel in `channels`, inside the caller's transaction
/// (so it commits with whatever decided it). Returns the outbox ids. `email` channels are
/// not handled here (their mail needs the run's rendered message: see [`email::queue`]).
pub fn queue_event(
    tx: &crate::store::sql::Transaction<'_>,
    store_path: &std::path::Path,
    channels: &[Channel],
    event: &NotifyEvent,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    let body = serde_json::to_string(event).expect("an event serializes");
    let mut ids = Vec::new();
    for c in channels.iter().filter(|c| c.kind != Kind::Email) {
        let msg = NewMessage {
            run_id: event.run_id,
            task: event.task.clone(),
            kind: message_kind(event),
            recipients: Vec::new(),
            subject: event.summary.clone(),
            text: body.clone(),
            html: None,
        };
        ids.push(outbox::insert_for_channel(tx, store_path, &msg, &c.name, now)?);
    }
    Ok(ids)
}

/// The outbox `kind` of an event (missed and late are stored as failures of their own kind
/// name in the payload; the outbox column only groups).
fn message_kind(event: &NotifyEvent) -> MessageKind {
    use super::event::EventKind as E;
    match event.kind {
        E::Failure | E::Missed | E::Late => MessageKind::Failure,
        E::Reminder => MessageKind::Reminder,
        E::Recovery => MessageKind::Recovery,
        E::Success => MessageKind::Success,
        E::Test => MessageKind::Test,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_masked_to_scheme_and_host() {
        assert_eq!(
            mask_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(mask_url("http://127.0.0.1:8080/hook?sig=abc"), "http://127.0.0.1:8080/…");
        assert_eq!(mask_url("not a url"), "…");
    }

    #[test]
    fn urls_must_be_https_unless_local_and_refusals_hide_them() {
        assert!(check_url("--url", "https://example.com/x").is_ok());
        assert!(check_url("--url", "http://127.0.0.1:9/x").is_ok());
        assert!(check_url("--url", "http://localhost/x").is_ok());
        let e = check_url("--url", "http://example.com/secret-token").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid --url \"http://example.com/…\": use https:// (plain http:// only to this \
             machine)"
        );
        assert!(!e.to_string().contains("secret-token"));
        assert!(check_url("--url", "ftp://example.com/x").is_err());
        assert!(check_url("--url", "https://exa mple.com").is_err());
    }

    #[test]
    fn references_are_checked() {
        assert!(validate_refs("--notify-channel", &["email".into(), "ops".into()]).is_ok());
        let e = validate_refs("--notify-channel", &["ops".into(), "OPS".into()]).unwrap_err();
        assert!(e.to_string().contains("channel listed twice"), "{e}");
        assert!(validate_refs("--notify-channel", &["-x".into()]).is_err());
        assert_eq!(norm_setting(" ops , email ").unwrap(), "ops,email");
        assert_eq!(norm_setting("").unwrap(), "");
        assert!(norm_setting("a,a").is_err());
    }

    #[test]
    fn a_task_list_beats_the_setting_which_beats_mail() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(names_for(&s(&["t"]), &s(&["s"])), s(&["t"]));
        assert_eq!(names_for(&[], &s(&["s"])), s(&["s"]));
        assert_eq!(names_for(&[], &[]), s(&["email"]));
    }
}

//! Delivering queued channel messages: claim the outbox row, load the channel, resolve its
//! URL and key (the vault never prompts here), render for the kind, send, record the result
//! with the outbox's backoff. The same path serves the delivery right after a run, the
//! opportunistic retry at the end of `orc execute`, and `orc notify flush`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

use crate::error::Result;
use crate::notify::FlushReport;
use crate::notify::event::NotifyEvent;
use crate::notify::outbox::{self, AfterFailure};
use crate::notify::smtp::SendError;
use crate::store::Store;
use crate::vault::Purpose;

use super::{Channel, Kind, UrlSource};

/// What one attempt did.
#[derive(Debug)]
pub enum Sent {
    Sent,
    Failed(SendError, AfterFailure),
    NotClaimed,
}

fn paths_of(store: &Store) -> crate::paths::Paths {
    let home = store.path().parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    crate::paths::Paths::at(home)
}

/// A vault value for a channel (never prompts), as an error that names only the credential.
fn credential(store: &Store, name: &str) -> std::result::Result<Zeroizing<Vec<u8>>, SendError> {
    crate::vault::get(store, &paths_of(store), false, name, Purpose::Channel)
        .map(|s| Zeroizing::new(s.expose_str().as_bytes().to_vec()))
        .map_err(|e| SendError {
            message: format!("cannot read credential {name:?}: {e}"),
            permanent: false,
            unreachable: false,
            retry_after: None,
        })
}

fn permanent(message: String) -> SendError {
    SendError { message, permanent: true, unreachable: false, retry_after: None }
}

/// Renders and sends one event to one channel. `delivery` is the outbox id.
pub fn send_event(
    store: &Store,
    channel: &Channel,
    event: &NotifyEvent,
    delivery: i64,
    now: DateTime<Utc>,
) -> std::result::Result<(), SendError> {
    if channel.kind == Kind::Eventlog {
        return super::eventlog::send(event);
    }
    let url: Zeroizing<String> = match &channel.url {
        Some(UrlSource::Plain(u)) => Zeroizing::new(u.clone()),
        Some(UrlSource::Credential(n)) => {
            let bytes = credential(store, n)?;
            let u = String::from_utf8_lossy(&bytes).trim().to_string();
            super::check_url("url", &u).map_err(|e| {
                permanent(format!("credential {n:?} does not hold a usable URL: {e}"))
            })?;
            Zeroizing::new(u)
        }
        None => return Err(permanent(format!("channel {} has no URL", channel.name))),
    };
    match channel.kind {
        Kind::Webhook => {
            let secret = match &channel.secret {
                Some(n) => Some(credential(store, n)?),
                None => None,
            };
            super::webhook::send(
                &url,
                secret.as_deref().map(|s| &s[..]),
                event,
                delivery,
                now.timestamp(),
            )
        }
        Kind::Teams => super::teams::send(&url, event),
        Kind::Slack => super::slack::send(&url, event),
        Kind::Email | Kind::Eventlog => unreachable!("handled above or by the mail path"),
    }
}

/// Claims and delivers one queued channel message, and records the result.
pub fn send_one(store: &mut Store, id: i64, now: DateTime<Utc>, force: bool) -> Result<Sent> {
    let lease = crate::clock::saturating_add(
        now,
        chrono::Duration::seconds(super::http::TIMEOUT.as_secs() as i64 + 60),
    );
    let Some(row) = outbox::claim(store, id, now, lease, force)? else {
        return Ok(Sent::NotClaimed);
    };
    let t0 = Instant::now();
    let result = (|| {
        let name = row.channel.clone().unwrap_or_default();
        let channel = super::store::read(store.conn(), &name)
            .map_err(SendError::from)?
            .ok_or_else(|| permanent(format!("channel {name:?} no longer exists")))?;
        let event: NotifyEvent = serde_json::from_str(&row.body_text)
            .map_err(|e| permanent(format!("the queued event cannot be read: {e}")))?;
        let event = match crate::config::Settings::load(store) {
            Ok(s) if event.url.is_none() => event.with_dashboard(s.dashboard_url.as_deref()),
            _ => event,
        };
        send_event(store, &channel, &event, id, now)
    })();
    Ok(match (outbox::settle(store, id, now, t0, &result)?, result) {
        (Some(after), Err(e)) => Sent::Failed(e, after),
        _ => Sent::Sent,
    })
}

/// Delivers the given (just queued) messages now. Failures stay queued; they are logged and
/// returned as text, never raised.
pub fn deliver_ids(store: &mut Store, ids: &[i64], now: DateTime<Utc>) -> (usize, Vec<String>) {
    let mut sent = 0;
    let mut errors = Vec::new();
    for id in ids {
        match send_one(store, *id, now, false) {
            Ok(Sent::Sent) => sent += 1,
            Ok(Sent::NotClaimed) => {}
            Ok(Sent::Failed(e, _)) => {
                tracing::warn!(
                    "notification #{id} not delivered (queued for retry): {}",
                    e.message
                );
                errors.push(e.message);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    (sent, errors)
}

/// Retries queued channel messages: the due ones (or all, when `force`), at most `max`,
/// starting none after `budget`. A channel that cannot be reached is not tried again in the
/// same flush.
pub fn flush(
    store: &mut Store,
    now: DateTime<Utc>,
    force: bool,
    max: usize,
    budget: Option<Duration>,
) -> Result<FlushReport> {
    let started = Instant::now();
    let ids = outbox::pending_channel_ids(store, now, force, max)?;
    let mut report = FlushReport::default();
    let mut unreachable: Vec<String> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if budget.is_some_and(|b| started.elapsed() >= b) {
            report.budget_spent(ids.len() - i);
            break;
        }
        let row = outbox::get(store, *id)?;
        let channel = row.as_ref().and_then(|r| r.channel.clone()).unwrap_or_default();
        if unreachable.iter().any(|c| c.eq_ignore_ascii_case(&channel)) {
            continue;
        }
        let now_i = crate::clock::saturating_add(
            now,
            chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
        );
        match send_one(store, *id, now_i, force)? {
            Sent::NotClaimed => {}
            Sent::Sent => report.delivered(),
            Sent::Failed(e, after) => {
                report.failed_try(store, *id, &e.message, after)?;
                if e.unreachable {
                    unreachable.push(channel);
                }
            }
        }
    }
    report.with_totals(store, now)
}

/// What `orc notify test --channel NAME` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelTestReport {
    pub channel: String,
    pub kind: super::Kind,
    /// Where it went: the masked URL, the log, or the recipients.
    pub target: String,
    pub summary: String,
}

/// Sends a test event to one channel right away (not through the outbox).
pub fn send_test(store: &Store, name: &str) -> Result<ChannelTestReport> {
    super::validate_name(name)?;
    let channel = super::store::read(store.conn(), name)?
        .ok_or_else(|| crate::error::Error::NotFound { what: "channel", name: name.to_string() })?;
    let now = crate::clock::now_utc();
    let host = crate::exec::runs::hostname();
    let summary = format!("Test notification from orc on {host}");
    let target = match (&channel.kind, &channel.url) {
        (Kind::Eventlog, _) if cfg!(windows) => "the Application log (source orc)".to_string(),
        (Kind::Eventlog, _) => "syslog".to_string(),
        (Kind::Email, _) => {
            let to = (!channel.to.is_empty()).then(|| channel.to.join(","));
            let r = crate::notify::send_test(store, to.as_deref())?;
            return Ok(ChannelTestReport {
                channel: channel.name,
                kind: channel.kind,
                target: r.to.join(", "),
                summary: r.subject,
            });
        }
        (_, Some(UrlSource::Plain(u))) => super::mask_url(u),
        (_, Some(UrlSource::Credential(n))) => format!("the URL in credential {n}"),
        (_, None) => String::new(),
    };
    let mut event = NotifyEvent::new(crate::notify::event::EventKind::Test, &summary, now);
    event.host = host;
    let event = match crate::config::Settings::load(store) {
        Ok(s) => event.with_dashboard(s.dashboard_url.as_deref()),
        Err(_) => event,
    };
    send_event(store, &channel, &event, 0, now).map_err(|e| {
        crate::error::Error::Failed(format!("test notification not sent: {}", e.message))
    })?;
    Ok(ChannelTestReport { channel: channel.name, kind: channel.kind, target, summary })
}

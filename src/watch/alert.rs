//! Delivering incidents: the ONE place an incident event becomes a message.
//!
//! Today [`deliver`] renders a mail (`templates/incident.*.j2`) and queues it in the outbox
//! inside the caller's transaction, so the incident's state change and its message commit
//! together (retried with backoff, never lost, given up only after bounded tries). When the
//! notification channels (webhook, Teams, Slack, event log) exist, this function routes the
//! same event to `watch.channels` instead; nothing else in `watch` knows how messages look.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::detect::Kind;
use super::incidents::Incident;
use super::settings::Channels;
use crate::error::Result;
use crate::notify::message::{self, MessageKind, Rendered};
use crate::notify::outbox::{self, NewMessage};
use crate::notify::settings::MailSettings;

/// What happened to an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    /// Found for the first time: the alert.
    Opened,
    /// Still open after `notify.reminder_interval`.
    Reminder,
    /// No longer found: the one recovery message.
    Recovered,
}

/// Where incident messages go.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub mail: MailSettings,
    pub channels: Channels,
    /// This computer's name, shown in the message.
    pub host: String,
}

impl Delivery {
    /// The channel names incidents go to (`email` is the built-in mail); empty for `none`.
    fn names(&self) -> Vec<String> {
        match &self.channels {
            Channels::None => Vec::new(),
            Channels::Default => crate::notify::channels::names_for(&[], &self.mail.channels),
            Channels::Names(n) => n.clone(),
        }
    }
}

/// The notification event of an incident step, as channels render it (webhook JSON, Teams
/// and Slack cards, event log IDs): missed → `missed`, late and runaway → `late`, the other
/// kinds opened → `failure`; reminders → `reminder`; recoveries → `recovery`.
fn notify_event(
    event: Event,
    incident: &Incident,
    summary: &str,
    host: &str,
    now: DateTime<Utc>,
) -> crate::notify::event::NotifyEvent {
    use crate::notify::event::EventKind as K;
    let kind = match (event, incident.kind) {
        (Event::Reminder, _) => K::Reminder,
        (Event::Recovered, _) => K::Recovery,
        (Event::Opened, Kind::Missed) => K::Missed,
        (Event::Opened, Kind::Late | Kind::Runaway) => K::Late,
        (Event::Opened, _) => K::Failure,
    };
    let mut ev = crate::notify::event::NotifyEvent::new(kind, summary, now);
    ev.host = host.to_string();
    ev.task = (!incident.subject.is_empty()).then(|| incident.subject.clone());
    ev.detail = Some(incident.summary.clone());
    ev
}

#[derive(Serialize)]
struct Ctx<'a> {
    subject: &'a str,
    headline: &'a str,
    event: Event,
    i: &'a Incident,
    host: &'a str,
    closed: Option<String>,
    reminder: Option<String>,
}

/// The subject and body of a message about `incident`. Pure.
pub fn render(
    event: Event,
    incident: &Incident,
    host: &str,
    reminder: Option<Duration>,
) -> Result<Rendered> {
    let what = match incident.kind {
        Kind::Missed => "MISSED RUN",
        Kind::Late => "LATE",
        Kind::Runaway => "RUNAWAY",
        Kind::Registration => "REGISTRATION",
        Kind::Scheduler => "SCHEDULER DOWN",
        Kind::Outbox => "NOTIFICATIONS GIVEN UP",
        Kind::HostSilent => "HOST SILENT",
    };
    let about =
        if incident.subject.is_empty() { String::new() } else { format!(" {}", incident.subject) };
    let (word, headline) = match event {
        Event::Opened => (what.to_string(), format!("orc watch found a problem on {host}")),
        Event::Reminder => (format!("STILL {what}"), format!("Still open on {host}")),
        Event::Recovered => (format!("RESOLVED {what}"), format!("Resolved on {host}")),
    };
    let subject = crate::notify::address::clean_subject(&format!("[orc] {word}{about} on {host}"));
    let ctx = Ctx {
        subject: &subject,
        headline: &headline,
        event,
        i: incident,
        host,
        closed: incident.closed_at.map(crate::clock::to_local_iso),
        reminder: reminder
            .filter(|_| event != Event::Recovered)
            .map(|d| crate::render::secs(d.num_seconds().max(0) as u64)),
    };
    Ok(Rendered {
        text: message::render("incident.txt.j2", &ctx)?,
        html: message::render("incident.html.j2", &ctx)?,
        subject,
    })
}

/// Delivers one incident event to `watch.channels`, inside the caller's transaction `tx`.
/// Returns the outbox id when a message was queued; `None` when delivery is off
/// (`watch.channels none`) or mail is not configured (no `smtp.host` or no `mail.to`).
pub fn deliver(
    tx: &crate::store::sql::Transaction<'_>,
    store_path: &std::path::Path,
    to: &Delivery,
    event: Event,
    incident: &Incident,
    reminder: Option<Duration>,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let names = to.names();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let targets = crate::notify::channels::targets(tx, &names)?;
    let r = render(event, incident, &to.host, reminder)?;
    let ev = notify_event(event, incident, &r.subject, &to.host, now);
    let mut ids =
        crate::notify::channels::queue_event(tx, store_path, &targets.channels, &ev, now)?;
    if !to.mail.configured() {
        return Ok(ids);
    }
    let mail = NewMessage {
        run_id: None,
        task: (!incident.subject.is_empty()).then(|| incident.subject.clone()),
        kind: MessageKind::Watch,
        recipients: Vec::new(),
        subject: r.subject,
        text: r.text,
        html: Some(r.html),
    };
    ids.extend(crate::notify::channels::email::queue(
        tx,
        store_path,
        &targets.channels,
        &mail,
        &to.mail.to,
        now,
    )?);
    if targets.builtin_mail && !to.mail.to.is_empty() {
        let mail = NewMessage { recipients: to.mail.to.clone(), ..mail };
        ids.push(outbox::insert(tx, store_path, &mail, now)?);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn subjects_and_text_per_event() {
        let t = Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap();
        let mut i = Incident {
            id: 1,
            kind: Kind::Missed,
            subject: "nightly".into(),
            summary: "nightly: the run of 2026-03-02T02:00+00:00 did not start".into(),
            detail: serde_json::Value::Null,
            mark: None,
            count: 1,
            opened_at: t,
            last_seen_at: t,
            last_alert_at: Some(t),
            alerts: 1,
            closed_at: None,
        };
        let r = render(Event::Opened, &i, "SRV01", Some(Duration::hours(4))).unwrap();
        assert_eq!(r.subject, "[orc] MISSED RUN nightly on SRV01");
        assert!(
            r.text.contains("\nnightly: the run of 2026-03-02T02:00+00:00 did not start\n"),
            "{}",
            r.text
        );
        assert!(r.text.contains("Reminders:   every 4h while it stays open"), "{}", r.text);
        assert!(r.html.contains("did not start"));
        let r = render(Event::Reminder, &i, "SRV01", None).unwrap();
        assert_eq!(r.subject, "[orc] STILL MISSED RUN nightly on SRV01");
        i.closed_at = Some(t);
        i.kind = Kind::Scheduler;
        i.subject = String::new();
        let r = render(Event::Recovered, &i, "SRV01", Some(Duration::hours(4))).unwrap();
        assert_eq!(r.subject, "[orc] RESOLVED SCHEDULER DOWN on SRV01");
        assert!(!r.text.contains("Reminders"), "{}", r.text);
        assert!(r.text.contains("Closed at:"), "{}", r.text);
    }
}

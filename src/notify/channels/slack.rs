//! `slack`: a message for a Slack incoming webhook, with Block Kit blocks (header, facts as
//! section fields, the end of the output as a code block, a dashboard button) and `text` as
//! the notification fallback.
//!
//! Limits (Slack Block Kit reference): header text ≤ 150 characters, section text ≤ 3000,
//! at most 10 fields per section (each ≤ 2000).

use serde_json::{Value, json};

use crate::notify::event::NotifyEvent;
use crate::notify::smtp::SendError;

/// Escapes the three characters Slack's mrkdwn treats as markup.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The webhook payload.
pub fn payload(event: &NotifyEvent) -> Value {
    let fields: Vec<Value> = event
        .facts()
        .into_iter()
        .take(10)
        .map(|(k, v)| json!({ "type": "mrkdwn", "text": cut(&format!("*{k}*\n{}", escape(&v)), 2000) }))
        .collect();
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": cut(&event.summary, 150) } }),
        json!({ "type": "section", "fields": fields }),
    ];
    if let Some(tail) = &event.output_tail {
        // The end is what matters: cut from the front to fit the 3000-character limit.
        let tail = escape(tail);
        let n = tail.chars().count();
        let tail: String = tail.chars().skip(n.saturating_sub(2900)).collect();
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn",
            "text": format!("*Output (end)*\n```{tail}```") } }));
    }
    if let Some(url) = &event.url {
        blocks.push(json!({ "type": "actions", "elements": [{ "type": "button",
            "text": { "type": "plain_text", "text": "Open in dashboard" }, "url": url }] }));
    }
    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn",
        "text": format!("orc {} · event {} ({})", event.orc_version, event.event_id,
            event.kind.as_str()) }] }));
    json!({ "text": escape(&event.summary), "blocks": blocks })
}

/// Delivers one event.
pub fn send(url: &str, event: &NotifyEvent) -> Result<(), SendError> {
    let body = serde_json::to_vec(&payload(event)).expect("a payload serializes");
    super::http::post_json(url, &[], &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::EventKind;
    use chrono::TimeZone;

    #[test]
    fn blocks_escape_markup_and_bound_the_header() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut e = NotifyEvent::new(EventKind::Recovery, "x".repeat(160), now);
        e.host = "h".into();
        e.task = Some("a<b>".into());
        let p = payload(&e);
        assert_eq!(p["blocks"][0]["text"]["text"].as_str().unwrap().chars().count(), 150);
        assert_eq!(p["blocks"][1]["fields"][0]["text"], "*Task*\na&lt;b&gt;");
        assert_eq!(p["blocks"][2]["type"], "context");
    }
}

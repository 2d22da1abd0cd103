//! `teams`: a message for a Teams Workflows webhook ("Post to a channel when a webhook request
//! is received") carrying one Adaptive Card: the summary, the facts, the end of the output and,
//! when `dashboard.url` is set, a button to the task's page.
//!
//! Shape (Microsoft: "Create incoming webhooks with Workflows for Microsoft Teams"):
//! `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
//! "content":{"type":"AdaptiveCard","version":"1.4",…}}]}`.

use serde_json::{Value, json};

use crate::notify::event::{NotifyEvent, Severity};
use crate::notify::smtp::SendError;

/// The Adaptive Card content type Teams expects in `attachments[0]`.
pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
/// The Adaptive Card schema version used (Teams renders 1.4 everywhere, desktop and mobile).
pub const CARD_VERSION: &str = "1.4";

/// The Adaptive Card for an event.
pub fn card(event: &NotifyEvent) -> Value {
    let color = match event.kind.severity() {
        Severity::Error => "Attention",
        Severity::Warning => "Warning",
        Severity::Information => "Good",
    };
    let facts: Vec<Value> =
        event.facts().into_iter().map(|(k, v)| json!({ "title": k, "value": v })).collect();
    let mut body = vec![
        json!({
            "type": "TextBlock", "text": event.summary, "size": "Large", "weight": "Bolder",
            "color": color, "wrap": true,
        }),
        json!({ "type": "FactSet", "facts": facts }),
    ];
    if let Some(tail) = &event.output_tail {
        body.push(json!({
            "type": "TextBlock", "text": "Output (end)", "weight": "Bolder", "spacing": "Medium",
        }));
        body.push(json!({
            "type": "TextBlock", "text": tail, "fontType": "Monospace", "wrap": true,
            "size": "Small",
        }));
    }
    body.push(json!({
        "type": "TextBlock", "isSubtle": true, "size": "Small", "wrap": true,
        "text": format!("orc {} · event {} ({})", event.orc_version, event.event_id,
            event.kind.as_str()),
    }));
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    });
    if let Some(url) = &event.url {
        card["actions"] = json!([{ "type": "Action.OpenUrl", "title": "Open in dashboard",
            "url": url }]);
    }
    card
}

/// The webhook message: one attachment holding [`card`].
pub fn message(event: &NotifyEvent) -> Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": CARD_CONTENT_TYPE,
            "contentUrl": null,
            "content": card(event),
        }],
    })
}

/// Delivers one event.
pub fn send(url: &str, event: &NotifyEvent) -> Result<(), SendError> {
    let body = serde_json::to_vec(&message(event)).expect("a card serializes");
    super::http::post_json(url, &[], &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::EventKind;
    use chrono::TimeZone;

    #[test]
    fn the_card_has_facts_tail_and_dashboard_button() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut e = NotifyEvent::new(EventKind::Failure, "FAILED t on h (exit 1)", now);
        e.host = "h".into();
        e.task = Some("t".into());
        e.exit_code = Some(1);
        e.output_tail = Some("boom".into());
        let e = e.with_dashboard(Some("https://orc.example.com"));
        let m = message(&e);
        assert_eq!(m["type"], "message");
        assert_eq!(m["attachments"][0]["contentType"], CARD_CONTENT_TYPE);
        let c = &m["attachments"][0]["content"];
        assert_eq!(
            (c["type"].as_str(), c["version"].as_str()),
            (Some("AdaptiveCard"), Some("1.4"))
        );
        assert_eq!(c["body"][0]["text"], "FAILED t on h (exit 1)");
        assert_eq!(c["body"][0]["color"], "Attention");
        assert_eq!(
            c["body"][1]["facts"],
            json!([{"title": "Task", "value": "t"}, {"title": "Host", "value": "h"},
                {"title": "Exit code", "value": "1"}])
        );
        assert_eq!(c["body"][3]["text"], "boom");
        assert_eq!(c["actions"][0]["url"], "https://orc.example.com/task/t");
    }
}

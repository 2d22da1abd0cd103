//! Delivery through Microsoft Graph: `POST /users/{mail.from}/sendMail` with an app-only token
//! ([`super::oauth`]).
//!
//! The request is the documented JSON form of user: sendMail
//! (<https://learn.microsoft.com/en-us/graph/api/user-sendmail>): `{"message": {"subject",
//! "body": {"contentType": "HTML"|"Text", "content"}, "toRecipients": [{"emailAddress":
//! {"address"}}]}, "saveToSentItems": false}` with `Authorization: Bearer {token}`; success is
//! `202 Accepted` with no body. The JSON form carries one body, so the HTML version of orc's
//! mail is sent (the text version when there is no HTML). Errors are Graph's error resource
//! `{"error": {"code", "message"}}` (<https://learn.microsoft.com/en-us/graph/errors>);
//! throttling is `429` (or `503`) with `Retry-After` in seconds
//! (<https://learn.microsoft.com/en-us/graph/throttling>), which the outbox honours.
//!
//! A `401` (the cached token expired or was revoked) gets one new token and one more try.

use std::time::{Duration, Instant};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use super::oauth::{self, TokenSource};
use super::smtp::{Deliver, SendError};
use super::transport::Outgoing;
use crate::error::Result;

/// The longest `Retry-After` honoured (a longer one is capped).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The largest error body read.
const MAX_ERROR_BODY: u64 = 64 * 1024;

/// Characters of the mailbox kept as they are in the URL path (the rest is percent-encoded).
const PATH_SAFE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'@').remove(b'.').remove(b'-').remove(b'_');

/// Microsoft Graph, ready to send.
#[derive(Debug)]
pub struct GraphMailer {
    tokens: TokenSource,
    graph_url: String,
    timeout: Duration,
}

impl GraphMailer {
    /// A mailer using `tokens` (whose scope must be the Graph `/.default`, see
    /// [`oauth::graph_scope`]) and the Graph base URL.
    pub fn new(tokens: TokenSource, graph_url: String, timeout: Duration) -> GraphMailer {
        GraphMailer { tokens, graph_url, timeout }
    }

    /// Obtains a token (tenant, app and secret accepted by the identity platform); sends no
    /// mail (`orc doctor --online`). The error is one line.
    pub fn test_connection(&self) -> std::result::Result<(), String> {
        self.tokens.token(std::time::Instant::now() + self.timeout).map(drop).map_err(|e| e.message)
    }

    fn host(&self) -> String {
        url::Url::parse(&self.graph_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// The sendMail URL for the mailbox `from`.
pub fn send_mail_url(graph_url: &str, from: &str) -> String {
    format!("{graph_url}/users/{}/sendMail", utf8_percent_encode(from, PATH_SAFE))
}

/// The sendMail request body for `msg`.
pub fn send_mail_body(msg: &Outgoing) -> serde_json::Value {
    let (content_type, content) = match &msg.html {
        Some(html) => ("HTML", html.as_str()),
        None => ("Text", msg.text.as_str()),
    };
    let to: Vec<serde_json::Value> =
        msg.to.iter().map(|a| json!({ "emailAddress": { "address": a.to_string() } })).collect();
    json!({
        "message": {
            "subject": super::address::clean_subject(&msg.subject),
            "body": { "contentType": content_type, "content": content },
            "toRecipients": to,
        },
        "saveToSentItems": false,
    })
}

/// `Retry-After` as seconds or an HTTP date, capped at a day.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = value.trim();
    let d = match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
            (at.with_timezone(&chrono::Utc) - now).to_std().unwrap_or_default()
        }
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// Turns a Graph answer other than success into a one-line error and a classification.
pub fn classify(host: &str, status: u16, retry_after: Option<Duration>, body: &str) -> SendError {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let code = v["error"]["code"].as_str().unwrap_or("");
    let text = v["error"]["message"].as_str().unwrap_or("");
    let mut message = format!("{host}: HTTP {status}");
    if !code.is_empty() {
        message.push(' ');
        message.push_str(code);
    }
    if !text.is_empty() {
        message.push_str(": ");
        message.push_str(&oauth::one_line(text, 300));
    }
    let hint = match status {
        401 => " (the token was refused twice: check the app registration and its secret)",
        403 => {
            " (grant the app the Mail.Send application permission with admin consent, and \
             check that no application access policy excludes the mail.from mailbox)"
        }
        404 => " (no mailbox found for mail.from in this tenant)",
        _ => "",
    };
    message.push_str(hint);
    let throttled = matches!(status, 429 | 503);
    if throttled && let Some(d) = retry_after {
        message.push_str(&format!(" (retry after {} s)", d.as_secs()));
    }
    let (permanent, unreachable) = match status {
        // The message itself is refused (bad recipient, too large): trying again will not help.
        400 | 413 | 415 | 422 => (true, false),
        // Credentials, permissions, mailbox, throttling, outage: every message fails alike.
        _ => (false, true),
    };
    SendError { message, permanent, unreachable, retry_after: retry_after.filter(|_| throttled) }
}

impl Deliver for GraphMailer {
    fn deliver(&self, msg: &Outgoing, deadline: Instant) -> std::result::Result<(), SendError> {
        let url = send_mail_url(&self.graph_url, msg.from.email.as_ref());
        let body = send_mail_body(msg).to_string();
        let host = self.host();
        let mut refreshed = false;
        loop {
            let token = self.tokens.token(deadline)?;
            let agent = oauth::agent(deadline).ok_or_else(|| SendError {
                message: format!("no time left to contact {host}"),
                permanent: false,
                unreachable: true,
                retry_after: None,
            })?;
            let bearer = zeroize::Zeroizing::new(format!("Bearer {}", token.as_str()));
            let sent = agent
                .post(&url)
                .header("Authorization", bearer.as_str())
                .header("Content-Type", "application/json")
                .send(body.as_bytes());
            let mut resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    return Err(SendError {
                        message: format!("{host}: cannot connect: {e}"),
                        permanent: false,
                        unreachable: true,
                        retry_after: None,
                    });
                }
            };
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            if status == 401 && !refreshed {
                tracing::debug!("{host} refused the cached token; requesting a new one");
                self.tokens.invalidate();
                refreshed = true;
                continue;
            }
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, crate::clock::now_utc()));
            let text = oauth::read_body(&mut resp, MAX_ERROR_BODY);
            return Err(classify(&host, status, retry_after, &text));
        }
    }

    fn describe(&self) -> String {
        format!("Microsoft Graph ({})", self.host())
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// The graph transport for the settings' app registration (`mail.oauth.*`).
pub fn mailer(
    tenant: &str,
    client_id: &str,
    secret: zeroize::Zeroizing<String>,
    timeout: Duration,
) -> Result<GraphMailer> {
    let graph_url = oauth::base_url(crate::env_vars::ORC_GRAPH_URL, oauth::DEFAULT_GRAPH_URL)?;
    let tokens = TokenSource::new(tenant, client_id, secret, &oauth::graph_scope(&graph_url))?;
    Ok(GraphMailer::new(tokens, graph_url, timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn outgoing(html: Option<&str>) -> Outgoing {
        Outgoing {
            from: "orc <orc@contoso.com>".parse().unwrap(),
            to: vec!["ops@contoso.com".parse().unwrap(), "b+x@contoso.com".parse().unwrap()],
            subject: "[orc] FAILED backup\r\nBcc: x".into(),
            text: "text version".into(),
            html: html.map(String::from),
        }
    }

    #[test]
    fn the_request_is_the_documented_json() {
        let body = send_mail_body(&outgoing(Some("<p>html</p>")));
        assert_eq!(
            body,
            json!({
                "message": {
                    "subject": "[orc] FAILED backup Bcc: x",
                    "body": { "contentType": "HTML", "content": "<p>html</p>" },
                    "toRecipients": [
                        { "emailAddress": { "address": "ops@contoso.com" } },
                        { "emailAddress": { "address": "b+x@contoso.com" } },
                    ],
                },
                "saveToSentItems": false,
            })
        );
        let body = send_mail_body(&outgoing(None));
        assert_eq!(
            body["message"]["body"],
            json!({ "contentType": "Text", "content": "text version" })
        );
        assert_eq!(
            send_mail_url("https://graph.microsoft.com/v1.0", "a/b+c@contoso.com"),
            "https://graph.microsoft.com/v1.0/users/a%2Fb%2Bc@contoso.com/sendMail"
        );
    }

    #[test]
    fn retry_after_seconds_or_date() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Thu, 03 Dec 2026 10:02:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn errors_carry_graphs_code_and_are_classified() {
        let body = r#"{"error":{"code":"ErrorInvalidRecipients","message":"At least one recipient isn't valid."}}"#;
        let e = classify("graph.microsoft.com", 400, None, body);
        assert_eq!(
            e.message,
            "graph.microsoft.com: HTTP 400 ErrorInvalidRecipients: At least one recipient isn't valid."
        );
        assert!(e.permanent && !e.unreachable);
        let body = r#"{"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit."}}"#;
        let e = classify("graph.microsoft.com", 429, Some(Duration::from_secs(30)), body);
        assert_eq!(
            e.message,
            "graph.microsoft.com: HTTP 429 ApplicationThrottled: Application is over its \
             MailboxConcurrency limit. (retry after 30 s)"
        );
        assert_eq!(
            (e.permanent, e.unreachable, e.retry_after),
            (false, true, Some(Duration::from_secs(30)))
        );
        let e = classify("graph.microsoft.com", 403, Some(Duration::from_secs(5)), "");
        assert!(e.message.contains("Mail.Send"), "{}", e.message);
        assert_eq!(e.retry_after, None, "Retry-After only counts with 429/503");
    }
}

//! `webhook`: the event JSON ([`crate::notify::event::SCHEMA`]) POSTed as is. With `--secret`,
//! signed: `X-Orc-Timestamp` is the Unix time of the delivery and `X-Orc-Signature` is
//! `sha256=` + hex HMAC-SHA256 over `timestamp + "." + body` keyed with the secret. Receivers
//! recompute it and reject timestamps more than [`REPLAY_WINDOW_SECS`] away from their clock
//! ([`verify`] is the reference implementation). A retry is signed anew with its own time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::notify::event::NotifyEvent;
use crate::notify::smtp::SendError;

/// How far a receiver should accept a signed timestamp from its own clock (either way).
pub const REPLAY_WINDOW_SECS: i64 = 300;

/// The body: the event's JSON.
pub fn body(event: &NotifyEvent) -> Vec<u8> {
    serde_json::to_vec(event).expect("an event serializes")
}

/// The signature header value for `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What a receiver does: the signature matches and the timestamp is within the window.
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str, now: i64) -> bool {
    let Some(hex_sig) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    (now - timestamp).abs() <= REPLAY_WINDOW_SECS && mac.verify_slice(&sig).is_ok()
}

/// Delivers one event (outbox id `delivery`) to `url`, signed when `secret` is given.
pub fn send(
    url: &str,
    secret: Option<&[u8]>,
    event: &NotifyEvent,
    delivery: i64,
    now: i64,
) -> Result<(), SendError> {
    let body = body(event);
    let mut headers = vec![
        ("X-Orc-Event", event.kind.as_str().to_string()),
        ("X-Orc-Delivery", delivery.to_string()),
        ("X-Orc-Timestamp", now.to_string()),
    ];
    if let Some(secret) = secret {
        headers.push(("X-Orc-Signature", signature(secret, now, &body)));
    }
    super::http::post_json(url, &headers, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            signature(b"key", 1_700_000_000, br#"{"a":1}"#),
            "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03"
        );
    }

    #[test]
    fn verify_checks_the_signature_and_the_window() {
        let sig = signature(b"k", 1000, b"body");
        assert!(verify(b"k", 1000, b"body", &sig, 1000 + REPLAY_WINDOW_SECS));
        assert!(!verify(b"k", 1000, b"body", &sig, 1001 + REPLAY_WINDOW_SECS));
        assert!(!verify(b"k", 1000, b"bodY", &sig, 1000));
        assert!(!verify(b"x", 1000, b"body", &sig, 1000));
        assert!(!verify(b"k", 1001, b"body", &sig, 1001));
    }
}

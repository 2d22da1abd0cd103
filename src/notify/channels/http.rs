//! The one HTTP POST every URL channel uses (webhook, Teams, Slack), through `ureq`.
//!
//! The URL is a secret: it appears in no error, log line or stored `last_error` — only the
//! masked form ([`super::mask_url`]) does, and any text from the HTTP library is scrubbed of it.

use std::io::Read;
use std::time::Duration;

use crate::notify::smtp::SendError;

/// Bound on one delivery (connect, send, answer).
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Most bytes of a receiver's answer read (and shown, cut to one line of 200 characters).
const MAX_ANSWER: u64 = 4096;

/// POSTs `body` (JSON) with `headers` to `url`. A 2xx answer is success; 408, 429 and 5xx are
/// worth retrying; any other 4xx is permanent (the receiver will never take it).
pub fn post_json(url: &str, headers: &[(&str, String)], body: &[u8]) -> Result<(), SendError> {
    let masked = super::mask_url(url);
    let agent = crate::http_client::agent(TIMEOUT);
    let mut req = agent.post(url).header("Content-Type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    match req.send(body) {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let mut answer = String::new();
            let _ = resp.body_mut().as_reader().take(MAX_ANSWER).read_to_string(&mut answer);
            if (200..300).contains(&status) {
                return Ok(());
            }
            let answer: String =
                answer.chars().map(|c| if c.is_control() { ' ' } else { c }).take(200).collect();
            let answer = scrub(answer.trim(), url);
            let message = if answer.is_empty() {
                format!("{masked} answered HTTP {status}")
            } else {
                format!("{masked} answered HTTP {status}: {answer}")
            };
            let retry = status == 408 || status == 429 || status >= 500;
            Err(SendError { message, permanent: !retry, unreachable: false, retry_after: None })
        }
        Err(e) => Err(SendError {
            message: format!("cannot deliver to {masked}: {}", describe(&e, url)),
            permanent: false,
            unreachable: true,
            retry_after: None,
        }),
    }
}

/// A library error in words, without the URL.
fn describe(e: &ureq::Error, url: &str) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no answer within {}s", TIMEOUT.as_secs()),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Io(io) => scrub(&io.to_string(), url),
        other => scrub(&other.to_string(), url),
    }
}

/// Removes the URL and its path (where secrets sit) from a text.
pub fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &super::mask_url(url));
    if let Ok(u) = url.parse::<ureq::http::Uri>()
        && let Some(pq) = u.path_and_query().map(|p| p.as_str())
        && pq.len() > 1
    {
        out = out.replace(pq, "/…");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_the_url_and_its_path() {
        let url = "https://hooks.example.com/services/T0/B0/SECRET";
        assert_eq!(
            scrub(&format!("error sending to {url}: bad"), url),
            "error sending to https://hooks.example.com/…: bad"
        );
        assert_eq!(scrub("path /services/T0/B0/SECRET refused", url), "path /… refused");
    }

    #[test]
    fn an_unreachable_receiver_is_retried_and_never_named_in_full() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let url = format!("http://127.0.0.1:{port}/hook/SECRET-TOKEN");
        let e = post_json(&url, &[], b"{}").unwrap_err();
        assert!(e.unreachable && !e.permanent, "{e:?}");
        assert!(
            e.message.starts_with(&format!("cannot deliver to http://127.0.0.1:{port}/…: ")),
            "{}",
            e.message
        );
        assert!(!e.message.contains("SECRET-TOKEN"), "{}", e.message);
    }
}

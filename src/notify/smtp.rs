//! Delivery through an SMTP relay (lettre, rustls).
//!
//! * `starttls`: a plain connection that **must** be upgraded with STARTTLS; a relay that does
//!   not offer it is an error (no silent downgrade, no credentials sent in clear).
//! * `tls`: implicit TLS from the first byte.
//! * `none`: no encryption, refused unless the relay is on the loopback interface.
//!
//! Certificates are always verified (Mozilla's roots, plus `smtp.ca_file` when set). Every
//! delivery is bounded by the configured timeout as a whole, not only per network operation:
//! it runs on a worker thread that is abandoned when the deadline passes, so a relay that
//! accepts the connection and then never answers cannot hold a run up for longer.
//! orc never logs the SMTP conversation (lettre's `tracing` feature is off) and the password
//! only ever lives in lettre's `Credentials`.

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{SmtpTransport, Transport};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

use super::settings::{SmtpAuth, SmtpSettings, TlsMode};
use super::transport::Outgoing;

/// Why a delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    /// One line for the user and for `outbox.last_error`.
    pub message: String,
    /// The relay said the message will never be accepted (5xx).
    pub permanent: bool,
    /// The relay could not be reached or spoken to at all (refused, timeout, TLS): other
    /// messages would fail the same way right now.
    pub unreachable: bool,
    /// The service asked to wait this long before the next try (HTTP `Retry-After`).
    pub retry_after: Option<Duration>,
}

/// Something that can deliver a message before a deadline. The SMTP relay in production; a
/// fake in unit tests.
pub trait Deliver {
    /// Delivers `msg`, giving up at `deadline`.
    fn deliver(&self, msg: &Outgoing, deadline: Instant) -> std::result::Result<(), SendError>;
    /// `host:port (mode)`, for messages.
    fn describe(&self) -> String;
    /// The longest one delivery may take.
    fn timeout(&self) -> Duration;
}

/// An SMTP relay, ready to send.
#[derive(Clone)]
pub struct SmtpRelay {
    transport: SmtpTransport,
    describe: String,
    timeout: Duration,
}

impl std::fmt::Debug for SmtpRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpRelay").field("relay", &self.describe).finish_non_exhaustive()
    }
}

/// True when `host` names the loopback interface (`localhost`, `127.0.0.0/8`, `::1`, with or
/// without a trailing dot or IPv6 brackets). The one loopback rule: `smtp.tls = none` is
/// accepted by `orc config` and used at send time only for such a host.
pub fn is_loopback(host: &str) -> bool {
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = h.strip_prefix('[').and_then(|s| s.strip_suffix(']')).unwrap_or(h);
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpRelay {
    /// Prepares a relay from the settings. `password` is required when `smtp.user` is set:
    /// the password, or with `smtp.auth xoauth2` the OAuth2 access token (SASL `XOAUTH2`,
    /// <https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth#smtp-protocol-exchange>).
    pub fn new(s: &SmtpSettings, password: Option<Zeroizing<String>>) -> Result<SmtpRelay> {
        if s.tls == TlsMode::None && !is_loopback(&s.host) {
            return Err(Error::invalid(
                "smtp.tls",
                "none",
                format!(
                    "unencrypted SMTP is only allowed to a relay on this machine (localhost, \
                     127.0.0.1, ::1), not to {:?}; use starttls or tls",
                    s.host
                ),
            ));
        }
        let host = s.host.trim_start_matches('[').trim_end_matches(']').to_string();
        let tls = match s.tls {
            TlsMode::None => Tls::None,
            mode => {
                let mut b = TlsParameters::builder(host.clone());
                if let Some(ca) = &s.ca_file {
                    let pem =
                        std::fs::read(ca).map_err(|e| Error::io("read smtp.ca_file", ca, e))?;
                    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
                        return Err(Error::invalid(
                            "smtp.ca_file",
                            ca.display().to_string(),
                            "must be a PEM file with at least one -----BEGIN CERTIFICATE----- block",
                        ));
                    }
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        Error::invalid(
                            "smtp.ca_file",
                            ca.display().to_string(),
                            format!("must be a PEM certificate file: {e}"),
                        )
                    })?;
                    b = b.add_root_certificate(cert);
                }
                let params = b
                    .build_rustls()
                    .map_err(|e| Error::Failed(format!("cannot set up TLS for {host}: {e}")))?;
                if mode == TlsMode::Tls { Tls::Wrapper(params) } else { Tls::Required(params) }
            }
        };
        let mut builder = SmtpTransport::builder_dangerous(host.clone())
            .port(s.port)
            .tls(tls)
            .timeout(Some(s.timeout));
        if let Some(user) = &s.user {
            let password = password.ok_or_else(|| {
                Error::Usage(
                    "smtp.user is set but no password is available: store it with `orc \
                     credential set NAME` and set smtp.password_credential to NAME"
                        .into(),
                )
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
            if s.auth == SmtpAuth::Xoauth2 {
                builder = builder.authentication(vec![Mechanism::Xoauth2]);
            }
        }
        Ok(SmtpRelay {
            transport: builder.build(),
            describe: format!("{}:{} ({})", s.host, s.port, s.tls.as_str()),
            timeout: s.timeout,
        })
    }
}

impl SmtpRelay {
    /// Connects, negotiates TLS and logs in, then quits; sends no mail (`orc configure
    /// --test-smtp`). The error is one line.
    pub fn test_connection(&self) -> std::result::Result<(), String> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err("the server closed the connection".into()),
            Err(e) => Err(e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")),
        }
    }
}

impl Deliver for SmtpRelay {
    fn deliver(&self, msg: &Outgoing, deadline: Instant) -> std::result::Result<(), SendError> {
        let msg = msg.mime().map_err(|e| SendError {
            message: e.to_string(),
            permanent: true,
            unreachable: false,
            retry_after: None,
        })?;
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(SendError {
                message: format!("no time left to contact {}", self.describe),
                permanent: false,
                unreachable: true,
                retry_after: None,
            });
        }
        let (tx, rx) = mpsc::channel();
        let transport = self.transport.clone();
        let spawned = std::thread::Builder::new().name("orc-smtp".into()).spawn(move || {
            let _ = tx.send(transport.send(&msg));
        });
        if let Err(e) = spawned {
            return Err(SendError {
                message: format!("cannot start the mail thread: {e}"),
                permanent: false,
                unreachable: false,
                retry_after: None,
            });
        }
        match rx.recv_timeout(remaining) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify(&self.describe, &e)),
            Err(_) => Err(SendError {
                message: format!(
                    "{}: no complete answer within {} s; gave up",
                    self.describe,
                    remaining.as_secs_f64().ceil() as u64
                ),
                permanent: false,
                unreachable: true,
                retry_after: None,
            }),
        }
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// Turns lettre's error into a one-line message and a classification.
fn classify(relay: &str, e: &lettre::transport::smtp::Error) -> SendError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    let text = text.replace(['\r', '\n'], " ");
    let (what, unreachable) = if e.is_timeout() {
        ("timed out", true)
    } else if e.is_tls() {
        ("TLS failed", true)
    } else if e.is_permanent() {
        ("rejected", false)
    } else if e.is_transient() {
        ("temporarily refused", false)
    } else if e.is_response() || e.is_client() {
        ("protocol error", true)
    } else {
        ("cannot connect", true)
    };
    let mut message = format!("{relay}: {what}: {text}");
    if text.contains("STARTTLS") || (e.is_client() && text.to_ascii_lowercase().contains("tls")) {
        message.push_str(
            " (the relay does not offer STARTTLS; orc requires it with smtp.tls=starttls)",
        );
    }
    SendError { message, permanent: e.is_permanent(), unreachable, retry_after: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, tls: TlsMode) -> SmtpSettings {
        SmtpSettings {
            host: host.into(),
            port: 2525,
            tls,
            user: None,
            password_credential: None,
            timeout: Duration::from_secs(5),
            ca_file: None,
            auth: SmtpAuth::Password,
        }
    }

    #[test]
    fn loopback_detection() {
        for h in ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["mail.example.com", "10.0.0.1", "192.168.1.10", "localhost.example.com", "::2"] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plain_smtp_only_to_loopback() {
        let e = SmtpRelay::new(&settings("mail.example.com", TlsMode::None), None).unwrap_err();
        assert!(e.to_string().contains("smtp.tls"), "{e}");
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(SmtpRelay::new(&settings("127.0.0.1", TlsMode::None), None).is_ok());
        assert!(SmtpRelay::new(&settings("mail.example.com", TlsMode::Starttls), None).is_ok());
    }

    #[test]
    fn auth_needs_a_password() {
        let mut s = settings("mail.example.com", TlsMode::Tls);
        s.user = Some("orc".into());
        let e = SmtpRelay::new(&s, None).unwrap_err();
        assert!(e.to_string().contains("smtp.password_credential"), "{e}");
        assert!(SmtpRelay::new(&s, Some(Zeroizing::new("pw".into()))).is_ok());
    }

    #[test]
    fn bad_ca_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate").unwrap();
        let mut s = settings("mail.example.com", TlsMode::Starttls);
        s.ca_file = Some(p);
        let e = SmtpRelay::new(&s, None).unwrap_err();
        assert!(e.to_string().contains("smtp.ca_file"), "{e}");
    }
}

//! The one place the mail transport is chosen (`mail.transport`): an SMTP relay (password or
//! `XOAUTH2` login) or Microsoft Graph. Everything that sends mail gets its relay from
//! [`relay_for`] and hands it an [`Outgoing`] message.

use std::time::{Duration, Instant};

use lettre::message::Mailbox;
use lettre::{Address, Message};
use zeroize::Zeroizing;

use super::graph::GraphMailer;
use super::oauth::TokenSource;
use super::settings::{MailSettings, SmtpAuth, Transport};
use super::smtp::{Deliver, SendError, SmtpRelay};
use crate::error::{Error, Result};
use crate::store::Store;

/// One message, ready for any transport.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub from: Mailbox,
    pub to: Vec<Address>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl Outgoing {
    /// The MIME message (multipart/alternative text + HTML) for SMTP.
    pub fn mime(&self) -> Result<Message> {
        super::message::build(&self.from, &self.to, &self.subject, &self.text, self.html.as_deref())
    }
}

/// A transport, ready to send.
#[derive(Debug)]
pub enum Relay {
    Smtp(SmtpRelay),
    Graph(GraphMailer),
}

impl Relay {
    /// Checks the transport without sending mail: SMTP connects, negotiates TLS and logs in;
    /// Graph obtains a token. The error is one line.
    pub fn test_connection(&self) -> std::result::Result<(), String> {
        match self {
            Relay::Smtp(r) => r.test_connection(),
            Relay::Graph(g) => g.test_connection(),
        }
    }
}

impl Deliver for Relay {
    fn deliver(&self, msg: &Outgoing, deadline: Instant) -> std::result::Result<(), SendError> {
        match self {
            Relay::Smtp(r) => r.deliver(msg, deadline),
            Relay::Graph(g) => g.deliver(msg, deadline),
        }
    }

    fn describe(&self) -> String {
        match self {
            Relay::Smtp(r) => r.describe(),
            Relay::Graph(g) => g.describe(),
        }
    }

    fn timeout(&self) -> Duration {
        match self {
            Relay::Smtp(r) => r.timeout(),
            Relay::Graph(g) => g.timeout(),
        }
    }
}

/// A mail credential from the vault (never prompts: mail is sent from scheduled runs).
fn mail_secret(store: &Store, credential: &str) -> Result<Zeroizing<String>> {
    let home = store.path().parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let secret = crate::vault::get(
        store,
        &crate::paths::Paths::at(home),
        false,
        credential,
        crate::vault::Purpose::Smtp,
    )?;
    Ok(Zeroizing::new(secret.expose_str().to_string()))
}

/// The app registration's client secret and ids, or a usage error naming what is missing.
fn oauth_app(
    store: &Store,
    settings: &MailSettings,
    why: &str,
) -> Result<(String, String, Zeroizing<String>)> {
    let (tenant, client, cred) = settings.oauth.require(why)?;
    Ok((tenant.to_string(), client.to_string(), mail_secret(store, cred)?))
}

/// The relay for the current settings (errors when mail is not configured).
pub fn relay_for(store: &Store, settings: &MailSettings) -> Result<Relay> {
    if settings.transport == Transport::Graph {
        let (tenant, client, secret) = oauth_app(store, settings, "mail.transport graph")?;
        let mailer = super::graph::mailer(&tenant, &client, secret, settings.timeout)?;
        return Ok(Relay::Graph(mailer));
    }
    let smtp = settings.smtp.as_ref().ok_or_else(|| {
        Error::Usage(
            "mail is not configured: set smtp.host, or mail.transport graph (see `orc \
             configure`)"
                .into(),
        )
    })?;
    let password = match (&smtp.user, smtp.auth, &smtp.password_credential) {
        (Some(_), SmtpAuth::Xoauth2, _) => {
            let (tenant, client, secret) = oauth_app(store, settings, "smtp.auth xoauth2")?;
            let tokens = TokenSource::new(&tenant, &client, secret, super::oauth::SMTP_SCOPE)?;
            let token = tokens
                .token(Instant::now() + settings.timeout)
                .map_err(|e| Error::Failed(format!("no XOAUTH2 token: {}", e.message)))?;
            Some(token)
        }
        (None, SmtpAuth::Xoauth2, _) => {
            return Err(Error::invalid(
                "smtp.user",
                "",
                "is not set; smtp.auth xoauth2 logs in as smtp.user (the sending mailbox)",
            ));
        }
        (Some(_), SmtpAuth::Password, Some(cred)) => Some(mail_secret(store, cred)?),
        _ => None,
    };
    Ok(Relay::Smtp(SmtpRelay::new(smtp, password)?))
}

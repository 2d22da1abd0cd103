//! OAuth2 client-credentials tokens for mail through Microsoft 365 (the graph transport and
//! SMTP `XOAUTH2`).
//!
//! The request is the one the Microsoft identity platform documents for the client-credentials
//! grant with a shared secret
//! (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow>):
//! `POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`, form-encoded
//! `client_id`, `scope` (the resource followed by `/.default`), `client_secret`,
//! `grant_type=client_credentials`; the answer is JSON `{"token_type":"Bearer","expires_in":
//! 3599,"access_token":"…"}`, an error is JSON with `error` and `error_description`
//! (`AADSTS…`). No refresh token is issued in this flow: a new token is simply requested.
//!
//! The token lives in memory only (in the [`TokenSource`] of one orc process), never in the
//! database, a log or an error message. Certificate credentials (a signed client assertion)
//! are not supported yet.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::smtp::SendError;
use crate::error::{Error, Result};

/// Where tokens come from unless `ORC_GRAPH_LOGIN_URL` says otherwise.
pub const DEFAULT_LOGIN_URL: &str = "https://login.microsoftonline.com";
/// Where Microsoft Graph is unless `ORC_GRAPH_URL` says otherwise.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.microsoft.com/v1.0";
/// The token audience of Exchange Online SMTP with app-only OAuth (client credentials):
/// <https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth>
/// ("use the `https://outlook.office365.com/.default` scope" for the client-credentials flow).
pub const SMTP_SCOPE: &str = "https://outlook.office365.com/.default";
/// A cached token is renewed this long before it expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(120);
/// The largest token response read.
const MAX_RESPONSE: u64 = 64 * 1024;

pub const TENANT_RULE: &str = "the directory (tenant) ID, a GUID, or a verified domain such as \
                               contoso.onmicrosoft.com (not common/organizations/consumers), or \
                               empty";
pub const CLIENT_ID_RULE: &str = "the application (client) ID, a GUID, or empty";

fn is_guid(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `mail.oauth.tenant_id`: a GUID or a domain name; canonical lower case. The multi-tenant
/// aliases are refused: the client-credentials grant needs the tenant itself.
pub fn check_tenant(v: &str) -> Result<String> {
    let bad = || Error::invalid("mail.oauth.tenant_id", v, TENANT_RULE);
    let t = v.trim().to_ascii_lowercase();
    if is_guid(&t) {
        return Ok(t);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if t.len() <= 253 && t.contains('.') && t.split('.').all(label_ok) { Ok(t) } else { Err(bad()) }
}

/// `mail.oauth.client_id`: a GUID; canonical lower case.
pub fn check_client_id(v: &str) -> Result<String> {
    let t = v.trim().to_ascii_lowercase();
    if is_guid(&t) { Ok(t) } else { Err(Error::invalid("mail.oauth.client_id", v, CLIENT_ID_RULE)) }
}

/// The app registration as configured (`mail.oauth.*`); any part may be missing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    /// The vault credential with the client secret.
    pub secret_credential: Option<String>,
}

impl OAuthSettings {
    /// Tenant, client and secret credential, or a usage error naming the first missing key.
    pub fn require(&self, why: &str) -> Result<(&str, &str, &str)> {
        let need = |key: &str, v: &Option<String>| -> Result<()> {
            match v {
                Some(_) => Ok(()),
                None => Err(Error::invalid(
                    key,
                    "",
                    format!(
                        "is not set; {why} needs mail.oauth.tenant_id, mail.oauth.client_id \
                             and mail.oauth.client_secret_credential (see \
                             docs/guide/mail-microsoft365.md)"
                    ),
                )),
            }
        };
        need("mail.oauth.tenant_id", &self.tenant_id)?;
        need("mail.oauth.client_id", &self.client_id)?;
        need("mail.oauth.client_secret_credential", &self.secret_credential)?;
        Ok((
            self.tenant_id.as_deref().unwrap_or_default(),
            self.client_id.as_deref().unwrap_or_default(),
            self.secret_credential.as_deref().unwrap_or_default(),
        ))
    }
}

/// A base URL from `var`, else `default`, without a trailing slash. An override must be
/// `https://`, or `http://` to a loopback host (a local test server): the client secret and
/// the tokens never travel in clear over a network.
pub fn base_url(var: &str, default: &str) -> Result<String> {
    let Some(v) = crate::env_vars::get(var) else {
        return Ok(default.to_string());
    };
    let text = v.to_string_lossy().trim().trim_end_matches('/').to_string();
    let rule = "must be an https:// URL (http:// only to localhost, 127.0.0.1 or ::1)";
    let url = url::Url::parse(&text).map_err(|_| Error::invalid(var, &text, rule))?;
    let host = url.host_str().unwrap_or_default();
    let ok = match url.scheme() {
        "https" => !host.is_empty(),
        "http" => super::smtp::is_loopback(host),
        _ => false,
    };
    if !ok || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(Error::invalid(var, &text, rule));
    }
    Ok(text)
}

/// The `/.default` scope of the Graph service at `graph_url` (its origin): the documented
/// `https://graph.microsoft.com/.default` by default, the national cloud's Graph otherwise.
pub fn graph_scope(graph_url: &str) -> String {
    match url::Url::parse(graph_url) {
        Ok(u) => format!("{}/.default", u.origin().ascii_serialization()),
        Err(_) => format!("{graph_url}/.default"),
    }
}

/// An HTTP agent whose whole exchange ends by `deadline`; statuses are answers, not errors,
/// and redirects are not followed (a token or secret is never re-sent elsewhere).
pub(super) fn agent(deadline: Instant) -> Option<ureq::Agent> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    Some(crate::http_client::agent(left))
}

/// Reads at most `max` bytes of a response body as text.
pub(super) fn read_body(resp: &mut ureq::http::Response<ureq::Body>, max: u64) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    let _ = resp.body_mut().as_reader().take(max).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// One line of at most `max` characters (for error messages).
pub(super) fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line
    }
}

struct Cached {
    token: Zeroizing<String>,
    renew_at: Instant,
}

/// Client-credentials tokens for one scope, cached in memory.
pub struct TokenSource {
    token_url: String,
    client_id: String,
    secret: Zeroizing<String>,
    scope: String,
    cache: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint answered, parsed (pure, unit-tested).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TokenAnswer {
    Token { access_token: String, expires_in: u64 },
    Refused(String),
}

/// Parses the token endpoint's answer. The error text is `error: error_description` (first
/// line only, bounded): it never contains the secret, which is only ever in the request.
pub(super) fn parse_token_answer(status: u16, body: &str) -> TokenAnswer {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if (200..300).contains(&status)
        && let Some(token) = v["access_token"].as_str().filter(|t| !t.is_empty())
    {
        let expires_in = v["expires_in"]
            .as_u64()
            .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(300);
        return TokenAnswer::Token { access_token: token.to_string(), expires_in };
    }
    let error = v["error"].as_str().unwrap_or("");
    let desc = v["error_description"].as_str().unwrap_or("");
    let desc = desc.lines().next().unwrap_or("");
    let text = match (error.is_empty(), desc.is_empty()) {
        (true, _) if (200..300).contains(&status) => {
            format!("HTTP {status} without an access_token")
        }
        (true, _) => format!("HTTP {status}"),
        (false, true) => format!("HTTP {status} {error}"),
        (false, false) => format!("HTTP {status} {error}: {desc}"),
    };
    TokenAnswer::Refused(one_line(&text, 300))
}

impl TokenSource {
    /// A source for `scope` from the app registration of `tenant`.
    pub fn new(
        tenant: &str,
        client_id: &str,
        secret: Zeroizing<String>,
        scope: &str,
    ) -> Result<TokenSource> {
        let login = base_url(crate::env_vars::ORC_GRAPH_LOGIN_URL, DEFAULT_LOGIN_URL)?;
        Ok(TokenSource {
            token_url: format!("{login}/{tenant}/oauth2/v2.0/token"),
            client_id: client_id.to_string(),
            secret,
            scope: scope.to_string(),
            cache: Mutex::new(None),
        })
    }

    /// The host tokens come from (for messages).
    pub fn login_host(&self) -> String {
        url::Url::parse(&self.token_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// A valid token: the cached one, or a new one requested before `deadline`.
    pub fn token(&self, deadline: Instant) -> std::result::Result<Zeroizing<String>, SendError> {
        if let Ok(cache) = self.cache.lock()
            && let Some(c) = cache.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let failed = |message: String| SendError {
            message,
            permanent: false,
            unreachable: true,
            retry_after: None,
        };
        let host = self.login_host();
        let agent = agent(deadline)
            .ok_or_else(|| failed(format!("no time left to get a token from {host}")))?;
        let sent = Instant::now();
        let mut resp = agent
            .post(&self.token_url)
            .send_form([
                ("client_id", self.client_id.as_str()),
                ("scope", self.scope.as_str()),
                ("client_secret", self.secret.as_str()),
                ("grant_type", "client_credentials"),
            ])
            .map_err(|e| failed(format!("cannot get a token from {host}: {e}")))?;
        let status = resp.status().as_u16();
        let body = Zeroizing::new(read_body(&mut resp, MAX_RESPONSE));
        match parse_token_answer(status, &body) {
            TokenAnswer::Token { access_token, expires_in } => {
                let token = Zeroizing::new(access_token);
                let life = Duration::from_secs(expires_in);
                let renew_at = sent + life.saturating_sub(EXPIRY_MARGIN).max(life / 2);
                if let Ok(mut cache) = self.cache.lock() {
                    *cache = Some(Cached { token: token.clone(), renew_at });
                }
                Ok(token)
            }
            TokenAnswer::Refused(why) => Err(failed(format!("{host} refused a token: {why}"))),
        }
    }

    /// Forgets the cached token (the service said it is no longer valid).
    pub fn invalidate(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            *cache = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_and_client_ids() {
        assert!(check_tenant("72F988BF-86F1-41AF-91AB-2D7CD011DB47").is_ok());
        assert_eq!(check_tenant("Contoso.OnMicrosoft.com").unwrap(), "contoso.onmicrosoft.com");
        for bad in ["common", "organizations", "consumers", "a/b.c", "x y.z", "-a.b", ""] {
            assert!(check_tenant(bad).is_err(), "{bad:?}");
        }
        assert!(check_client_id("11111111-2222-3333-4444-555555555555").is_ok());
        assert!(check_client_id("11111111-2222-3333-4444-5555555555").is_err());
    }

    #[test]
    fn token_answers_as_documented() {
        let ok = r#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAi"}"#;
        assert_eq!(
            parse_token_answer(200, ok),
            TokenAnswer::Token { access_token: "eyJ0eXAi".into(), expires_in: 3599 }
        );
        let err = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[7000215]}"#;
        assert_eq!(
            parse_token_answer(401, err),
            TokenAnswer::Refused(
                "HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided.".into()
            )
        );
        assert_eq!(parse_token_answer(502, "<html>"), TokenAnswer::Refused("HTTP 502".into()));
        assert_eq!(
            parse_token_answer(200, "{}"),
            TokenAnswer::Refused("HTTP 200 without an access_token".into())
        );
    }

    #[test]
    fn scopes_follow_the_graph_endpoint() {
        assert_eq!(graph_scope(DEFAULT_GRAPH_URL), "https://graph.microsoft.com/.default");
        assert_eq!(
            graph_scope("https://graph.microsoft.us/v1.0"),
            "https://graph.microsoft.us/.default"
        );
        assert_eq!(graph_scope("http://127.0.0.1:8080/v1.0"), "http://127.0.0.1:8080/.default");
    }
}

//! Who is asking, and may they: API tokens (`Authorization: Bearer`), browser sessions made
//! by signing in with a token (cookie `orc_session`: HttpOnly, SameSite=Strict, Secure under
//! TLS) with a CSRF token for every change, and the rules that decide.
//!
//! The rules ([`decide`]):
//! - reads (GET/HEAD) are open without signing in only when the dashboard listens on
//!   loopback and `dashboard.require_login` is off; otherwise they need a token or a session;
//! - every change (any other method) needs an admin token, or a session of an admin token
//!   plus the session's CSRF token (form field `csrf` or header `X-CSRF-Token`);
//!   read-only tokens never change anything (403);
//! - a change whose `Origin` header names another site is refused (403) whatever it
//!   carries, so a cross-origin form post with the cookie and no CSRF token cannot act.
//!
//! Sessions live in the dashboard process only (12 hours, at most [`MAX_SESSIONS`]); they
//! keep the token's hash, so revoking the token ends its sessions at the next request.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, header};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::token::Principal;

/// The session cookie.
pub const SESSION_COOKIE: &str = "orc_session";
/// The theme cookie (`light` or `dark`; a preference, not a credential).
pub const THEME_COOKIE: &str = "orc_theme";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The header carrying the CSRF token (scripts using a session).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at once (the oldest goes first).
pub const MAX_SESSIONS: usize = 1024;

/// One browser session.
#[derive(Debug, Clone)]
pub struct Session {
    /// SHA-256 of the token signed in with (checked again on every request).
    pub token_hash: String,
    pub csrf: String,
    pub expires: Instant,
}

/// The sessions of this dashboard process.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes, base64url.
pub fn random_id() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source does not fail on supported systems; a zero id would still be
    // refused nowhere, so fail loudly instead.
    if let Err(e) = getrandom::fill(&mut bytes) {
        panic!("the OS random source failed: {e}");
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session for a token (by hash); returns its id.
    pub fn create(&self, token_hash: String, now: Instant) -> String {
        let id = random_id();
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
            else {
                break;
            };
            map.remove(&oldest);
        }
        let session = Session { token_hash, csrf: random_id(), expires: now + SESSION_TTL };
        map.insert(id.clone(), session);
        id
    }

    /// The live session with this id.
    pub fn get(&self, id: &str, now: Instant) -> Option<Session> {
        let map = self.lock();
        map.get(id).filter(|s| s.expires > now).cloned()
    }

    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value that ends the session in the browser.
pub fn clear_session_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
}

/// What the request presents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    Nothing,
    Bearer(String),
    /// An `Authorization` header that is not `Bearer TOKEN`.
    Malformed,
}

/// Reads `Authorization`.
pub fn bearer(headers: &HeaderMap) -> Presented {
    let mut all = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(v), None) = (all.next(), all.next()) else {
        return if headers.contains_key(header::AUTHORIZATION) {
            Presented::Malformed
        } else {
            Presented::Nothing
        };
    };
    let Ok(v) = v.to_str() else { return Presented::Malformed };
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Presented::Bearer(token.trim().to_string())
        }
        _ => Presented::Malformed,
    }
}

/// Whether a CSRF token presented matches the session's (constant time).
pub fn csrf_matches(presented: Option<&str>, expected: &str) -> bool {
    presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(expected.as_bytes())))
}

/// Whether `Origin` (when sent) names this dashboard: `http(s)://` + the request's `Host`.
/// Browsers send `Origin` on every cross-origin POST; `null` (sandboxed, file:) is foreign.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let (Ok(origin), Some(Ok(host))) =
        (origin.to_str(), headers.get(header::HOST).map(|h| h.to_str()))
    else {
        return false;
    };
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    rest.is_some_and(|r| r.eq_ignore_ascii_case(host))
}

/// GET and HEAD change nothing.
pub fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// How the caller is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    Anonymous,
    Token,
    /// A browser session; `csrf_ok` when the request carried the session's CSRF token.
    Session {
        csrf_ok: bool,
    },
}

/// The verdict on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 401: sign in or send a token.
    Unauthorized(&'static str),
    /// 403: known, but not allowed.
    Forbidden(&'static str),
}

/// The rules of this module (see the module docs). `open_reads`: loopback without
/// `dashboard.require_login`.
pub fn decide(
    read: bool,
    open_reads: bool,
    who: Option<&Principal>,
    via: &Via,
    same_origin: bool,
) -> Decision {
    if !read && !same_origin {
        return Decision::Forbidden("cross-origin request refused (Origin names another site)");
    }
    let Some(p) = who else {
        return if read && open_reads {
            Decision::Allow
        } else if read {
            Decision::Unauthorized("sign in (or send Authorization: Bearer TOKEN) to read")
        } else {
            Decision::Unauthorized(
                "a change needs Authorization: Bearer TOKEN (an admin token) or a signed-in session",
            )
        };
    };
    if read {
        return Decision::Allow;
    }
    if *via == (Via::Session { csrf_ok: false }) {
        return Decision::Forbidden("missing or wrong CSRF token (reload the page and try again)");
    }
    if p.read_only {
        return Decision::Forbidden("this token is read-only: it cannot change anything");
    }
    Decision::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn p(read_only: bool) -> Principal {
        Principal { name: "t".into(), read_only }
    }

    #[test]
    fn the_auth_matrix() {
        use Decision::*;
        let (admin, ro) = (p(false), p(true));
        let s_ok = Via::Session { csrf_ok: true };
        let s_bad = Via::Session { csrf_ok: false };
        // Reads.
        assert_eq!(decide(true, true, None, &Via::Anonymous, true), Allow);
        assert!(matches!(decide(true, false, None, &Via::Anonymous, true), Unauthorized(_)));
        assert_eq!(decide(true, false, Some(&ro), &Via::Token, true), Allow);
        assert_eq!(decide(true, false, Some(&ro), &s_bad, false), Allow, "GET needs no CSRF");
        // Changes.
        assert!(matches!(decide(false, true, None, &Via::Anonymous, true), Unauthorized(_)));
        assert_eq!(decide(false, true, Some(&admin), &Via::Token, true), Allow);
        assert!(matches!(decide(false, true, Some(&ro), &Via::Token, true), Forbidden(_)));
        assert_eq!(decide(false, true, Some(&admin), &s_ok, true), Allow);
        assert!(matches!(decide(false, true, Some(&admin), &s_bad, true), Forbidden(_)));
        assert!(matches!(decide(false, true, Some(&ro), &s_ok, true), Forbidden(_)));
        assert!(matches!(decide(false, true, Some(&admin), &Via::Token, false), Forbidden(_)));
    }

    #[test]
    fn headers() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), Presented::Nothing);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer orc_abc"));
        assert_eq!(bearer(&h), Presented::Bearer("orc_abc".into()));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic dXNlcg=="));
        assert_eq!(bearer(&h), Presented::Malformed);
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; orc_session=xyz; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:5000"));
        assert!(same_origin(&h), "no Origin: not a cross-origin browser request");
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:5000"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
        assert!(csrf_matches(Some("abc"), "abc"));
        assert!(!csrf_matches(Some("abd"), "abc"));
        assert!(!csrf_matches(None, "abc"));
        assert_eq!(
            session_cookie("id", true),
            "orc_session=id; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
        );
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let s = Sessions::default();
        let now = Instant::now();
        let id = s.create("h".into(), now);
        assert_eq!(s.get(&id, now).unwrap().token_hash, "h");
        assert!(s.get(&id, now + SESSION_TTL).is_none());
        for _ in 0..MAX_SESSIONS + 5 {
            s.create("x".into(), now);
        }
        assert!(s.lock().len() <= MAX_SESSIONS);
        s.remove(&id);
        assert!(s.get(&id, now).is_none());
    }
}

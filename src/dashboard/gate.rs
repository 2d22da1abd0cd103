//! The authentication layer: finds out who is asking (Bearer token, session cookie), reads
//! the CSRF token of a form post, applies [`auth::decide`] and hands the handlers a
//! [`Caller`]. Runs after the guard (Host, target, limits), before routing.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::api::error_reply;
use super::auth::{self, Decision, Presented, Via};
use super::{MAX_BODY, Reply, Shared, with_db};
use crate::token::{self, Principal};

/// Who made the request, for the handlers.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub principal: Option<Principal>,
    /// The session id and its CSRF token (a signed-in browser).
    pub session: Option<(String, String)>,
}

impl Caller {
    /// The actor recorded in audit rows: `token:NAME`.
    pub fn actor(&self) -> Option<String> {
        self.principal.as_ref().map(|p| format!("token:{}", p.name))
    }

    /// The CSRF token to put in forms (empty when not signed in).
    pub fn csrf(&self) -> &str {
        self.session.as_ref().map_or("", |(_, c)| c.as_str())
    }
}

/// Paths anyone may use: health, sign-in, the theme switch, embedded assets.
fn public(path: &str) -> bool {
    matches!(path, "/healthz" | "/login" | "/theme") || path.starts_with("/static/")
}

fn refuse(uri: &Uri, decision: &Decision, read: bool) -> Response {
    let (status, why) = match decision {
        Decision::Unauthorized(w) => (StatusCode::UNAUTHORIZED, *w),
        Decision::Forbidden(w) => (StatusCode::FORBIDDEN, *w),
        Decision::Allow => (StatusCode::INTERNAL_SERVER_ERROR, "allowed"),
    };
    if super::is_api(uri) {
        let kind = if status == StatusCode::UNAUTHORIZED { "unauthorized" } else { "forbidden" };
        let mut resp = error_reply(status, kind, why).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"orc\""));
        }
        return resp;
    }
    if status == StatusCode::UNAUTHORIZED && read {
        // A page: off to the sign-in form, back here afterwards.
        let back = uri.path_and_query().map_or("/", |p| p.as_str());
        let to = format!(
            "/login?next={}",
            percent_encoding::utf8_percent_encode(back, percent_encoding::NON_ALPHANUMERIC)
        );
        return super::pages::redirect(&to);
    }
    Reply::text(status, why).into_response()
}

/// The `csrf` field of a form body.
fn form_csrf(body: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == auth::CSRF_FIELD)
        .map(|(_, v)| v.into_owned())
}

pub(super) async fn gate(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let read = auth::is_read(req.method());
    let presented = auth::bearer(req.headers());
    if presented == Presented::Malformed {
        let d = Decision::Unauthorized("Authorization must be `Bearer TOKEN`");
        return refuse(req.uri(), &d, read);
    }
    let now = Instant::now();
    let session = auth::cookie(req.headers(), auth::SESSION_COOKIE)
        .and_then(|id| shared.sessions.get(id, now).map(|s| (id.to_string(), s)));
    let same_origin = auth::same_origin(req.headers());
    // The CSRF token: a header, or the field of a form post (the body is read here, at most
    // MAX_BODY bytes, and handed on).
    let mut req = req;
    let mut csrf =
        req.headers().get(auth::CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !read && is_form && session.is_some() && csrf.is_none() {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
            Ok(b) => b,
            Err(_) => {
                let why = format!("request body larger than {MAX_BODY} bytes");
                return Reply::text(StatusCode::PAYLOAD_TOO_LARGE, &why).into_response();
            }
        };
        csrf = form_csrf(&bytes);
        req = Request::from_parts(parts, Body::from(bytes));
    }
    let (principal, via) = match (&presented, &session) {
        (Presented::Bearer(t), _) => {
            let t = t.clone();
            let checked = tokio::task::spawn_blocking({
                let shared = Arc::clone(&shared);
                move || with_db(&shared, |c| token::verify(c, &t, crate::clock::now_utc()))
            })
            .await;
            match checked {
                Ok(Ok(Ok(p))) => (Some(p), Via::Token),
                Ok(Ok(Err(refusal))) => {
                    let why = match refusal {
                        token::Refusal::Unknown => "unknown or revoked token",
                        token::Refusal::Expired => "the token has expired",
                    };
                    return refuse(req.uri(), &Decision::Unauthorized(why), read);
                }
                _ => {
                    let why = "cannot check the token (database unavailable)";
                    return error_reply(StatusCode::SERVICE_UNAVAILABLE, "storage", why)
                        .into_response();
                }
            }
        }
        (Presented::Nothing, Some((_, s))) => {
            let hash = s.token_hash.clone();
            let checked = tokio::task::spawn_blocking({
                let shared = Arc::clone(&shared);
                move || with_db(&shared, |c| token::verify_hash(c, &hash, crate::clock::now_utc()))
            })
            .await;
            match checked {
                Ok(Ok(Ok(p))) => {
                    let ok = auth::csrf_matches(csrf.as_deref(), &s.csrf);
                    (Some(p), Via::Session { csrf_ok: ok })
                }
                // The token was revoked or expired: the session ends.
                _ => (None, Via::Anonymous),
            }
        }
        _ => (None, Via::Anonymous),
    };
    let path = req.uri().path().to_string();
    if !public(&path) {
        let d = auth::decide(read, shared.open_reads, principal.as_ref(), &via, same_origin);
        if d != Decision::Allow {
            return refuse(req.uri(), &d, read);
        }
    } else if !read && !same_origin {
        let d = Decision::Forbidden("cross-origin request refused (Origin names another site)");
        return refuse(req.uri(), &d, read);
    }
    let session = match (&via, session) {
        (Via::Session { .. }, Some((id, s))) => Some((id, s.csrf)),
        _ => None,
    };
    req.extensions_mut().insert(Caller { principal, session });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_and_public_paths() {
        assert_eq!(form_csrf(b"a=1&csrf=x%2By&b=2").as_deref(), Some("x+y"));
        assert_eq!(form_csrf(b"a=1"), None);
        assert!(public("/healthz") && public("/login") && public("/static/app.css"));
        assert!(!public("/") && !public("/api/v1/tasks") && !public("/logout"));
    }
}

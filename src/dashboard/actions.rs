//! The browser's forms: sign-in and sign-out, the theme switch, and the task actions (run
//! now, enable, disable) behind a confirmation page. The changes go through the same
//! library calls as the REST API ([`super::v1`]); the gate has already checked the session
//! and its CSRF token.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use minijinja::context;

use super::auth;
use super::gate::Caller;
use super::pages::{self, Viewer, local_target, redirect};
use super::routes::Call;
use super::{Reply, Shared, with_db};
use crate::task::ops;

/// The task actions a page can ask for.
pub const ACTIONS: &[&str] = &["run", "enable", "disable"];

fn form(body: &[u8], key: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

pub(super) fn viewer(caller: &Caller, headers: &HeaderMap, uri: &Uri) -> Viewer {
    let path = uri.path_and_query().map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    Viewer::new(caller, auth::cookie(headers, auth::THEME_COOKIE), path)
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct NextQuery {
    next: Option<String>,
}

pub(super) async fn login_page(call: Call, Query(q): Query<NextQuery>) -> Response {
    let v = call.viewer();
    let next = local_target(q.next.as_deref());
    call.blocking(move |s, _| {
        pages::page(s, &v, StatusCode::OK, "login.html", context! { next, error => () })
    })
    .await
}

pub(super) async fn login(call: Call, body: Bytes) -> Response {
    let token = form(&body, "token").unwrap_or_default();
    let next = local_target(form(&body, "next").as_deref());
    let v = call.viewer();
    let s = Arc::clone(&call.shared);
    let checked = tokio::task::spawn_blocking({
        let s = Arc::clone(&s);
        let token = token.trim().to_string();
        move || with_db(&s, |c| crate::token::verify(c, &token, crate::clock::now_utc()))
    })
    .await;
    match checked {
        Ok(Ok(Ok(_))) => {
            let id = s.sessions.create(crate::token::hash(token.trim()), Instant::now());
            let mut resp = redirect(&next);
            if let Ok(c) = HeaderValue::from_str(&auth::session_cookie(&id, s.tls)) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            resp
        }
        Ok(Ok(Err(why))) => {
            let error = match why {
                crate::token::Refusal::Unknown => "Unknown or revoked token.",
                crate::token::Refusal::Expired => "This token has expired.",
            };
            call.blocking(move |s, _| {
                pages::page(s, &v, StatusCode::UNAUTHORIZED, "login.html", context! { next, error })
            })
            .await
        }
        _ => Reply::text(StatusCode::SERVICE_UNAVAILABLE, "cannot check the token now")
            .into_response(),
    }
}

pub(super) async fn logout(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Some(id) = auth::cookie(&headers, auth::SESSION_COOKIE) {
        s.sessions.remove(id);
    }
    let mut resp = redirect("/");
    if let Ok(c) = HeaderValue::from_str(&auth::clear_session_cookie(s.tls)) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

pub(super) async fn theme(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let theme = if form(&body, "theme").as_deref() == Some("dark") { "dark" } else { "light" };
    let next = local_target(form(&body, "next").as_deref());
    let mut resp = redirect(&next);
    let secure = if s.tls { "; Secure" } else { "" };
    let cookie = format!(
        "{}={theme}; Path=/; SameSite=Strict; Max-Age=31536000{secure}",
        auth::THEME_COOKIE
    );
    if let Ok(c) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

pub(super) async fn style() -> Response {
    let mut resp =
        Reply::new(StatusCode::OK, "text/css; charset=utf-8", pages::STYLE.as_bytes().to_vec())
            .into_response();
    // The sheet is part of the binary: cache it for the life of this version.
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    resp
}

fn explain(action: &str, task: &str) -> (&'static str, String) {
    match action {
        "run" => ("Run", format!("Start {task} now (trigger manual), outside its schedule.")),
        "enable" => ("Enable", format!("Scheduled runs of {task} start again.")),
        _ => {
            ("Disable", format!("Scheduled runs of {task} are skipped until it is enabled again."))
        }
    }
}

pub(super) async fn confirm(call: Call, Path((task, action)): Path<(String, String)>) -> Response {
    let v = call.viewer();
    if call.caller.session.is_none() {
        let to = format!(
            "/login?next={}",
            percent_encoding::utf8_percent_encode(&v.path, percent_encoding::NON_ALPHANUMERIC)
        );
        return redirect(&to);
    }
    call.blocking(move |s, _| {
        if !ACTIONS.contains(&action.as_str()) || crate::task::validate_name(&task).is_err() {
            return pages::not_found(s, &v, &format!("There is no action {action:?}."));
        }
        let (verb, explain) = explain(&action, &task);
        pages::page(s, &v, StatusCode::OK, "confirm.html", context! { task, action, verb, explain })
    })
    .await
}

pub(super) async fn act(call: Call, Path((task, action)): Path<(String, String)>) -> Response {
    let v = call.viewer();
    let result = tokio::task::spawn_blocking({
        let s = Arc::clone(&call.shared);
        let caller = call.caller.clone();
        move || -> std::result::Result<String, Reply> {
            match action.as_str() {
                "run" => {
                    super::v1::start_run(&s, &caller, &task).map(|(_, id)| format!("/run/{id}"))
                }
                "enable" | "disable" => {
                    let enabled = action == "enable";
                    let what = format!("POST /task/{task}/{action}");
                    super::v1::change(&s, &caller, &what, |tx, cl| {
                        ops::set_enabled(tx, &task, enabled, cl)
                    })
                    .map(|(t, _)| format!("/task/{}", t.spec.name))
                }
                _ => Err(Reply::text(StatusCode::NOT_FOUND, "no such action")),
            }
        }
    })
    .await;
    match result {
        Ok(Ok(to)) => redirect(&to),
        Ok(Err(reply)) => {
            let message = serde_json::from_slice::<serde_json::Value>(&reply.body)
                .ok()
                .and_then(|j| j["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&reply.body).trim().to_string());
            let status = reply.status;
            call.blocking(move |s, _| {
                let mut r = pages::not_found(s, &v, &message)?;
                r.status = status;
                Ok(r)
            })
            .await
        }
        Err(e) => Reply::text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()).into_response(),
    }
}

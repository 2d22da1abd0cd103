//! A local stand-in for Microsoft 365: the identity platform's token endpoint and Graph's
//! `sendMail`, on 127.0.0.1, validating the documented request shapes and answering as
//! Microsoft documents:
//! - token (<https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow>):
//!   `POST /{tenant}/oauth2/v2.0/token`, form fields `client_id`, `scope`, `client_secret`,
//!   `grant_type=client_credentials` → `{"token_type":"Bearer","expires_in":3599,
//!   "access_token":…}`; a wrong secret → `401 {"error":"invalid_client",
//!   "error_description":"AADSTS7000215: …"}`;
//! - sendMail (<https://learn.microsoft.com/en-us/graph/api/user-sendmail>):
//!   `POST /v1.0/users/{from}/sendMail` with `Authorization: Bearer` and the JSON message →
//!   `202 Accepted`, or the scripted [`Reply`] (401, 429 with `Retry-After`, 400 …).
//!
//! A request that does not have the documented shape is recorded in [`FakeM365::problems`]
//! and answered 400, so a test fails on `problems()` being non-empty.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub const TENANT: &str = "0d1c7e3a-6b8f-4c2d-9e1a-5f4b3c2d1e0f";
pub const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub const SECRET: &str = "Zq8~s3cr3t.Client-Secret_Value";

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.body.as_bytes()).into_owned().collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// A scripted answer to the next sendMail.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `401` as Graph answers an expired token.
    Expired,
    /// `429` with `Retry-After: secs`.
    Throttled(u64),
    /// A status with a Graph error body `{"error":{"code","message"}}`.
    Error(u16, &'static str, &'static str),
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    script: VecDeque<Reply>,
    issued: u32,
    problems: Vec<String>,
}

pub struct FakeM365 {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeM365 {
    pub fn start() -> FakeM365 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let st = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, port, &st));
            }
        });
        FakeM365 { port, state }
    }

    /// `http://127.0.0.1:PORT` (ORC_GRAPH_LOGIN_URL).
    pub fn login_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT/v1.0` (ORC_GRAPH_URL).
    pub fn graph_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1.0", self.port)
    }

    /// The scope orc must request for this Graph (the documented `{resource}/.default`).
    pub fn scope(&self) -> String {
        format!("http://127.0.0.1:{}/.default", self.port)
    }

    /// Answers the next sendMail calls with `replies`, then 202 again.
    pub fn script(&self, replies: &[Reply]) {
        self.state.lock().unwrap().script.extend(replies.iter().cloned());
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn token_requests(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path.ends_with("/oauth2/v2.0/token")).collect()
    }

    pub fn send_requests(&self) -> Vec<Request> {
        self.requests().into_iter().filter(|r| r.path.ends_with("/sendMail")).collect()
    }

    /// Requests that did not have the documented shape.
    pub fn problems(&self) -> Vec<String> {
        self.state.lock().unwrap().problems.clone()
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn respond(stream: &mut TcpStream, status: u16, extra: &[(&str, String)], body: &str) {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        429 => "Too Many Requests",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

fn graph_error(code: &str, message: &str) -> String {
    serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
}

fn serve(mut stream: TcpStream, port: u16, state: &Mutex<State>) {
    let Some(req) = read_request(&mut stream) else { return };
    state.lock().unwrap().requests.push(req.clone());
    let token_path = format!("/{TENANT}/oauth2/v2.0/token");
    if req.path == token_path {
        return token(&mut stream, &req, port, state);
    }
    if req.method == "POST"
        && req.path.starts_with("/v1.0/users/")
        && req.path.ends_with("/sendMail")
    {
        return send_mail(&mut stream, &req, state);
    }
    state.lock().unwrap().problems.push(format!("unexpected request {} {}", req.method, req.path));
    respond(&mut stream, 404, &[], &graph_error("ResourceNotFound", "unknown path"));
}

fn token(stream: &mut TcpStream, req: &Request, port: u16, state: &Mutex<State>) {
    let mut problems = Vec::new();
    if req.method != "POST" {
        problems.push(format!("token: method {}", req.method));
    }
    if req.header("content-type") != Some("application/x-www-form-urlencoded") {
        problems.push(format!("token: content-type {:?}", req.header("content-type")));
    }
    let form = req.form();
    let keys: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    if sorted != ["client_id", "client_secret", "grant_type", "scope"] {
        problems.push(format!("token: form fields {keys:?}"));
    }
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some("client_credentials") {
        problems.push(format!("token: grant_type {:?}", get("grant_type")));
    }
    if get("client_id") != Some(CLIENT_ID) {
        problems.push(format!("token: client_id {:?}", get("client_id")));
    }
    let scope = get("scope").unwrap_or_default();
    let graph_scope = format!("http://127.0.0.1:{port}/.default");
    if scope != graph_scope && scope != "https://outlook.office365.com/.default" {
        problems.push(format!("token: scope {scope:?}"));
    }
    if !problems.is_empty() {
        state.lock().unwrap().problems.extend(problems);
        let body = serde_json::json!({ "error": "invalid_request" }).to_string();
        return respond(stream, 400, &[], &body);
    }
    if get("client_secret") != Some(SECRET) {
        let body = serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the \
                secret being sent in the request is the client secret value, not the client \
                secret ID.\r\nTrace ID: 0000\r\nCorrelation ID: 1111\r\nTimestamp: 2026-12-03",
            "error_codes": [7000215],
        });
        return respond(stream, 401, &[], &body.to_string());
    }
    let n = {
        let mut s = state.lock().unwrap();
        s.issued += 1;
        s.issued
    };
    let body = serde_json::json!({
        "token_type": "Bearer",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": format!("tok-{n}"),
    });
    respond(stream, 200, &[], &body.to_string());
}

/// Checks the sendMail JSON against the documented shape; returns what is wrong.
fn check_message(v: &serde_json::Value) -> Vec<String> {
    let mut p = Vec::new();
    let Some(top) = v.as_object() else {
        return vec!["sendMail: body is not a JSON object".into()];
    };
    for k in top.keys() {
        if k != "message" && k != "saveToSentItems" {
            p.push(format!("sendMail: unknown top-level field {k}"));
        }
    }
    if !v["saveToSentItems"].is_boolean() && !v["saveToSentItems"].is_null() {
        p.push("sendMail: saveToSentItems is not a boolean".into());
    }
    let m = &v["message"];
    if !m["subject"].is_string() {
        p.push("sendMail: message.subject is not a string".into());
    }
    if !matches!(m["body"]["contentType"].as_str(), Some("Text" | "HTML")) {
        p.push(format!("sendMail: message.body.contentType {}", m["body"]["contentType"]));
    }
    if !m["body"]["content"].is_string() {
        p.push("sendMail: message.body.content is not a string".into());
    }
    match m["toRecipients"].as_array() {
        Some(list) if !list.is_empty() => {
            for r in list {
                if !r["emailAddress"]["address"].as_str().is_some_and(|a| a.contains('@')) {
                    p.push(format!("sendMail: recipient {r}"));
                }
            }
        }
        _ => p.push("sendMail: message.toRecipients is not a non-empty array".into()),
    }
    p
}

fn send_mail(stream: &mut TcpStream, req: &Request, state: &Mutex<State>) {
    let mut problems = Vec::new();
    let issued = state.lock().unwrap().issued;
    let auth = req.header("authorization").unwrap_or_default();
    let valid = (1..=issued).any(|n| auth == format!("Bearer tok-{n}"));
    if !valid {
        problems.push(format!("sendMail: Authorization {auth:?}"));
    }
    if req.header("content-type") != Some("application/json") {
        problems.push(format!("sendMail: content-type {:?}", req.header("content-type")));
    }
    problems.extend(check_message(&req.json()));
    if !problems.is_empty() {
        state.lock().unwrap().problems.extend(problems);
        return respond(stream, 400, &[], &graph_error("BadRequest", "malformed request"));
    }
    let next = state.lock().unwrap().script.pop_front();
    match next {
        None => respond(stream, 202, &[], ""),
        Some(Reply::Expired) => respond(
            stream,
            401,
            &[],
            &graph_error(
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ),
        ),
        Some(Reply::Throttled(secs)) => respond(
            stream,
            429,
            &[("Retry-After", secs.to_string())],
            &graph_error(
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            ),
        ),
        Some(Reply::Error(status, code, message)) => {
            respond(stream, status, &[], &graph_error(code, message))
        }
    }
}

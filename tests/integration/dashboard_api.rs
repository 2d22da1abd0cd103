//! The REST API and the browser sign-in over real HTTP on loopback: the auth matrix, CSRF,
//! cross-origin refusal, Host and limits, JSON parity with the CLI's `--json`, validation
//! parity (same refusal, nothing changed), keyset paging, run now, and the OpenAPI document
//! against the routes. The `orc` binary runs as a child (`orc dashboard --bind 127.0.0.1:0`).

use crate::dashboard::Dashboard;
use crate::support::Env;

/// One answer: status, head (lower-cased header names kept as sent), body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A request with optional extra headers and body.
fn call(d: &Dashboard, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let (status, head, body) = d.raw(req.as_bytes());
    Answer { status, head, body }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn api(d: &Dashboard, method: &str, path: &str, token: Option<&str>, body: &str) -> Answer {
    let auth = token.map(bearer);
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    call(d, method, path, &headers, body)
}

fn token(env: &Env, name: &str, read_only: bool) -> String {
    let mut args = vec!["--json", "token", "create", name];
    if read_only {
        args.push("--read-only");
    }
    let out = env.orc(args).ok().json();
    assert_eq!(out["name"], name);
    out["token"].as_str().unwrap().to_string()
}

fn setup() -> Env {
    let env = Env::new();
    env.orc(["task", "add", "backup", "--command", "echo backup", "--schedule", "0 2 * * *"]).ok();
    env
}

fn audit_actor(env: &Env, name: &str) -> Vec<(String, String)> {
    let conn = crate::support::exec::db(env);
    let mut stmt = conn
        .prepare("SELECT os_user, command FROM audit WHERE name COLLATE NOCASE = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([name], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect()
}

#[test]
fn tokens_are_shown_once_and_stored_as_hashes() {
    let env = Env::new();
    let out = env.orc(["token", "create", "ci", "--read-only", "--expires", "90d"]).ok();
    let secret = out.stdout.lines().next().unwrap().to_string();
    assert!(secret.starts_with("orc_") && secret.len() == 47, "{secret}");
    assert!(out.stdout.contains("created read-only token ci"), "{}", out.stdout);
    let list = env.orc(["--json", "token", "list"]).ok();
    assert!(!list.stdout.contains(&secret[4..]), "list never shows the token");
    let list = list.json();
    assert_eq!(list[0]["name"], "ci");
    assert_eq!(list[0]["read_only"], true);
    assert!(list[0]["expires_at"].is_string());
    assert!(!String::from_utf8_lossy(&env.db_bytes()).contains(&secret[4..]), "only a hash");
    env.orc(["token", "create", "CI"]).code(2).assert_stderr_line(
        "error: invalid token name \"CI\": a token named ci exists; revoke it first",
    );
    env.orc(["token", "create", "x", "--expires", "5s"]).code(2);
    env.orc(["token", "create", "bad name"]).code(2);
    env.orc(["token", "revoke", "ci"]).ok().assert_stdout("revoked token ci\n");
    env.orc(["token", "revoke", "ci"]).code(3);
    assert_eq!(env.orc(["--json", "token", "list"]).ok().json(), serde_json::json!([]));
}

#[test]
fn api_auth_matrix_parity_and_audit() {
    let env = setup();
    let admin = token(&env, "admin", false);
    let ro = token(&env, "viewer", true);
    let d = Dashboard::start(&env);

    // Reads: open on loopback, and the JSON is the CLI's.
    let r = api(&d, "GET", "/api/v1/tasks", None, "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), env.orc(["--json", "task", "list"]).ok().json());
    let r = api(&d, "GET", "/api/v1/tasks/BACKUP", Some(&ro), "");
    assert_eq!(r.json(), env.orc(["--json", "task", "show", "backup"]).ok().json());
    assert_eq!(
        api(&d, "GET", "/api/v1/status", None, "").json(),
        env.orc(["--json", "status"]).ok().json()
    );
    let r = api(&d, "GET", "/api/v1/tasks/nosuch", None, "");
    assert_eq!((r.status, r.json()["error"]["kind"].as_str()), (404, Some("not_found")));

    // Changes: the auth matrix.
    let body = r#"{"name":"nightly","command":"echo hi","schedule":"0 3 * * *","retries":"2"}"#;
    let r = api(&d, "POST", "/api/v1/tasks", None, body);
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.header("WWW-Authenticate").as_deref(), Some("Bearer realm=\"orc\""));
    assert_eq!(r.json()["error"]["kind"], "unauthorized");
    let r = api(&d, "POST", "/api/v1/tasks", Some("orc_not-a-real-token"), body);
    assert_eq!(
        (r.status, r.json()["error"]["message"].as_str()),
        (401, Some("unknown or revoked token"))
    );
    let r = call(&d, "POST", "/api/v1/tasks", &[("Authorization", "Basic YTpi")], body);
    assert_eq!(r.status, 401);
    let r = api(&d, "POST", "/api/v1/tasks", Some(&ro), body);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"]["message"], "this token is read-only: it cannot change anything");
    let created = api(&d, "POST", "/api/v1/tasks", Some(&admin), body);
    assert_eq!(created.status, 201, "{}", created.body);
    let mut shown = env.orc(["--json", "task", "show", "nightly"]).ok().json();
    shown["last_run"] = serde_json::Value::Null;
    assert_eq!(created.json(), shown, "the object of `orc task add --json`");
    assert_eq!(created.json()["retries"], 2);

    // Validation parity: the CLI's refusal, as JSON, and nothing changed.
    let before = env.db_bytes();
    let cli = env
        .orc(["--json", "task", "add", "broken", "--command", "x", "--schedule", "61 * * * *"])
        .code(2);
    let cli_error: serde_json::Value = serde_json::from_str(cli.stderr.trim()).unwrap();
    let bad = r#"{"name":"broken","command":"x","schedule":"61 * * * *"}"#;
    let r = api(&d, "POST", "/api/v1/tasks", Some(&admin), bad);
    assert_eq!(r.status, 422);
    assert_eq!(r.json(), cli_error);
    let cli = env.orc(["--json", "task", "edit", "nightly", "--timeout", "9d"]).code(2);
    let cli_error: serde_json::Value = serde_json::from_str(cli.stderr.trim()).unwrap();
    let r = api(&d, "PATCH", "/api/v1/tasks/nightly", Some(&admin), r#"{"timeout":"9d"}"#);
    assert_eq!((r.status, r.json()), (422, cli_error));
    let r = api(&d, "PATCH", "/api/v1/tasks/nightly", Some(&admin), r#"{"colour":"red"}"#);
    assert_eq!(r.status, 400, "unknown field: {}", r.body);
    assert!(r.body.contains("unknown field `colour`"), "{}", r.body);
    let r = api(&d, "PATCH", "/api/v1/tasks/nightly", Some(&admin), "not json");
    assert_eq!(r.status, 400);
    let r = api(&d, "POST", "/api/v1/tasks", Some(&admin), body);
    assert_eq!(r.status, 422, "duplicate name: {}", r.body);
    assert_eq!(env.db_bytes().len(), before.len());
    assert_eq!(env.orc(["--json", "task", "list"]).ok().json().as_array().unwrap().len(), 2);

    // Edit, disable, enable, delete; the audit rows name the token.
    let r = api(&d, "PATCH", "/api/v1/tasks/nightly", Some(&admin), r#"{"owner":"ops"}"#);
    assert_eq!((r.status, r.json()["owner"].as_str()), (200, Some("ops")));
    let r = api(&d, "POST", "/api/v1/tasks/nightly/disable", Some(&admin), "");
    assert_eq!((r.status, r.json()["enabled"].as_bool()), (200, Some(false)));
    let r = api(&d, "POST", "/api/v1/tasks/nightly/enable", Some(&admin), "");
    assert_eq!(r.json()["enabled"], true);
    let r = api(&d, "DELETE", "/api/v1/tasks/nightly", Some(&admin), "");
    assert_eq!((r.status, r.json()), (200, serde_json::json!({"removed": "nightly"})));
    let rows = audit_actor(&env, "nightly");
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert!(rows.iter().all(|(who, _)| who == "token:admin"), "{rows:?}");
    assert_eq!(rows[0].1, "orc dashboard: POST /api/v1/tasks (nightly)");
    assert_eq!(rows[4].1, "orc dashboard: DELETE /api/v1/tasks/nightly");

    // Revoking a token ends its access at once.
    env.orc(["token", "revoke", "admin"]).ok();
    let r = api(&d, "POST", "/api/v1/tasks/backup/disable", Some(&admin), "");
    assert_eq!(r.status, 401);
}

#[test]
fn runs_are_keyset_paged_and_match_history() {
    let env = setup();
    let conn = crate::support::exec::db(&env);
    let t0 = chrono::Utc::now() - chrono::Duration::hours(10);
    for i in 0..7i64 {
        let start = (t0 + chrono::Duration::minutes(i / 2))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let status = if i == 3 { "FAILED" } else { "SUCCESS" };
        conn.execute(
            "INSERT INTO runs (task, attempt, trigger, status, start, \"end\", duration_ms, exit_code, \
             host, orc_version) VALUES ('backup', 1, 'scheduled', ?1, ?2, ?2, 10, 0, 'h', 'v')",
            orc::store::sql::params![status, start],
        )
        .unwrap();
    }
    drop(conn);
    let d = Dashboard::start(&env);
    let mut path = "/api/v1/runs?task=backup&limit=3".to_string();
    let mut pages = Vec::new();
    loop {
        let r = api(&d, "GET", &path, None, "");
        assert_eq!(r.status, 200, "{}", r.body);
        pages.push(r.json().as_array().unwrap().clone());
        match r.header("Link") {
            Some(link) => {
                let target = link.strip_prefix('<').and_then(|l| l.split_once('>')).unwrap().0;
                assert!(link.ends_with("; rel=\"next\""), "{link}");
                path = target.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 1]);
    let all: Vec<serde_json::Value> = pages.into_iter().flatten().collect();
    let history = env.orc(["--json", "history", "--task", "backup"]).ok().json();
    assert_eq!(serde_json::Value::Array(all), history, "same objects, same order");
    let failed = api(&d, "GET", "/api/v1/runs?status=failed", None, "").json();
    assert_eq!(failed.as_array().unwrap().len(), 1);
    let id = failed[0]["id"].as_i64().unwrap();
    assert_eq!(
        api(&d, "GET", &format!("/api/v1/runs/{id}"), None, "").json(),
        env.orc(["--json", "history", "--run", &id.to_string()]).ok().json()
    );
    for bad in ["limit=0", "limit=5000", "status=DONE", "after=x", "task=a%20b", "colour=red"] {
        let r = api(&d, "GET", &format!("/api/v1/runs?{bad}"), None, "");
        assert!(r.status == 422 || r.status == 400, "{bad}: {} {}", r.status, r.body);
        assert!(r.json()["error"]["message"].is_string());
    }
    for (bad, message) in [
        (
            "status=DONE",
            "invalid status \"DONE\": must be one of RUNNING, SUCCESS, FAILED, TIMEOUT, SKIPPED, \
             ABANDONED",
        ),
        ("trigger=cron", "invalid trigger \"cron\": must be one of scheduled, manual, retry"),
    ] {
        let r = api(&d, "GET", &format!("/api/v1/runs?{bad}"), None, "");
        assert_eq!(
            (r.status, r.json()["error"]["message"].as_str()),
            (422, Some(message)),
            "{bad}"
        );
    }
    let manual = api(&d, "GET", "/api/v1/runs?trigger=Manual", None, "");
    assert_eq!(manual.status, 200, "names ignore case like the CLI's: {}", manual.body);
    assert_eq!(api(&d, "GET", "/api/v1/runs/999999", None, "").status, 404);
}

#[test]
fn run_now_answers_with_the_run_id_and_the_run_finishes() {
    let env = Env::new();
    env.orc(["task", "add", "hello", "--command", "echo hello-from-run", "--schedule", "@daily"])
        .ok();
    let admin = token(&env, "admin", false);
    let d = Dashboard::start(&env);
    let r = api(&d, "POST", "/api/v1/tasks/hello/run", Some(&admin), "");
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["task"], "hello");
    let id = r.json()["run_id"].as_i64().unwrap();
    let mut run = serde_json::Value::Null;
    for _ in 0..200 {
        run = api(&d, "GET", &format!("/api/v1/runs/{id}"), None, "").json();
        if run["status"] != "RUNNING" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(run["status"], "SUCCESS", "{run}");
    assert_eq!(run["trigger"], "manual");
    assert!(run["stdout"].as_str().unwrap().contains("hello-from-run"), "{run}");
    let rows = audit_actor(&env, "hello");
    assert_eq!(rows.last().unwrap().0, "token:admin", "{rows:?}");
    assert_eq!(api(&d, "POST", "/api/v1/tasks/nosuch/run", Some(&admin), "").status, 404);
    // A task assigned to another host is refused with its reason, nothing started.
    env.orc(["host", "add", "elsewhere"]).ok();
    env.orc(["task", "add", "there", "--command", "echo x", "--schedule", "@daily"]).ok();
    env.orc(["task", "edit", "there", "--hosts", "elsewhere"]).ok();
    let r = api(&d, "POST", "/api/v1/tasks/there/run", Some(&admin), "");
    assert_eq!(r.status, 422, "{}", r.body);
    let message = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("assigned to --hosts elsewhere, not to host"), "{message}");
    assert!(env.orc(["--json", "history", "--task", "there"]).ok().json()[0].is_null());
}

/// The session cookie of a `Set-Cookie` header.
fn session_of(a: &Answer) -> String {
    let c = a.header("Set-Cookie").unwrap_or_else(|| panic!("no cookie: {}", a.head));
    c.split(';').next().unwrap().to_string()
}

/// The CSRF token in a page's forms.
fn csrf_of(html: &str) -> String {
    let at = html.find(r#"name="csrf" value=""#).unwrap_or_else(|| panic!("no csrf: {html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

#[test]
fn browser_sessions_need_csrf_and_same_origin() {
    let env = setup();
    let admin = token(&env, "admin", false);
    let ro = token(&env, "viewer", true);
    let d = Dashboard::start(&env);
    let form = [("Content-Type", "application/x-www-form-urlencoded")];

    let r = call(&d, "POST", "/login", &form, "token=orc_wrong&next=%2F");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("Unknown or revoked token."), "{}", r.body);
    let r = call(&d, "POST", "/login", &form, &format!("token={admin}&next=%2Ftask%2Fbackup"));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("Location").as_deref(), Some("/task/backup"));
    let set = r.header("Set-Cookie").unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Secure"), "no TLS here: {set}");
    let cookie = session_of(&r);
    let cookie_h = [("Cookie", cookie.as_str()), form[0]];

    let page = call(&d, "GET", "/task/backup/confirm/disable", &cookie_h, "");
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);
    assert!(csrf.len() >= 40);

    // A cookie without the CSRF token (what a cross-site form would send) changes nothing.
    let r = call(&d, "POST", "/task/backup/disable", &cookie_h, "");
    assert_eq!(r.status, 403, "{}", r.body);
    let r = call(&d, "POST", "/task/backup/disable", &cookie_h, "csrf=wrong");
    assert_eq!(r.status, 403);
    let evil = [("Cookie", cookie.as_str()), form[0], ("Origin", "https://evil.example")];
    let r = call(&d, "POST", "/task/backup/disable", &evil, &format!("csrf={csrf}"));
    assert_eq!(r.status, 403, "cross-origin even with the token");
    assert_eq!(env.orc(["--json", "task", "show", "backup"]).ok().json()["enabled"], true);

    // With it, the change is made and audited as the token.
    let same = [("Cookie", cookie.as_str()), form[0], ("Origin", "http://localhost")];
    let r = call(&d, "POST", "/task/backup/disable", &same, &format!("csrf={csrf}"));
    assert_eq!((r.status, r.header("Location").as_deref()), (303, Some("/task/backup")));
    assert_eq!(env.orc(["--json", "task", "show", "backup"]).ok().json()["enabled"], false);
    assert_eq!(audit_actor(&env, "backup").last().unwrap().0, "token:admin");
    // The session's CSRF token also works as a header for scripts.
    let r = call(
        &d,
        "POST",
        "/api/v1/tasks/backup/enable",
        &[("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // A read-only session can look but not act.
    let r = call(&d, "POST", "/login", &form, &format!("token={ro}&next=%2F"));
    let ro_cookie = session_of(&r);
    let page = call(&d, "GET", "/", &[("Cookie", ro_cookie.as_str())], "");
    assert!(page.body.contains("signed in with token viewer (read-only)"), "{}", page.body);
    let ro_csrf = csrf_of(&page.body);
    let ro_h = [("Cookie", ro_cookie.as_str()), form[0]];
    assert_eq!(
        call(&d, "POST", "/task/backup/disable", &ro_h, &format!("csrf={ro_csrf}")).status,
        403
    );

    // Signing out ends the session.
    let r = call(&d, "POST", "/logout", &cookie_h, &format!("csrf={csrf}"));
    assert_eq!(r.status, 303);
    assert!(r.header("Set-Cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        call(&d, "POST", "/task/backup/disable", &cookie_h, &format!("csrf={csrf}")).status,
        401
    );

    // The theme is a cookie preference, no sign-in needed.
    let r = call(&d, "POST", "/theme", &form, "theme=dark&next=%2Ftask%2Fbackup");
    assert_eq!(r.status, 303);
    let theme = session_of(&r);
    assert_eq!(theme, "orc_theme=dark");
    let page = call(&d, "GET", "/", &[("Cookie", theme.as_str())], "");
    assert!(page.body.contains(r#"data-theme="dark""#));
}

#[test]
fn require_login_host_and_limits() {
    let env = setup();
    env.orc(["config", "set", "dashboard.require_login", "yes"]).ok();
    let ro = token(&env, "viewer", true);
    let d = Dashboard::start(&env);
    let r = api(&d, "GET", "/", None, "");
    assert_eq!((r.status, r.header("Location").as_deref()), (303, Some("/login?next=%2F")));
    assert_eq!(api(&d, "GET", "/api/v1/tasks", None, "").status, 401);
    assert_eq!(api(&d, "GET", "/api/status", None, "").status, 401);
    assert_eq!(api(&d, "GET", "/healthz", None, "").status, 200, "health stays open");
    assert_eq!(api(&d, "GET", "/login", None, "").status, 200);
    assert_eq!(api(&d, "GET", "/static/orc.css", None, "").status, 200);
    assert_eq!(api(&d, "GET", "/api/v1/tasks", Some(&ro), "").status, 200);
    // Host is checked before anything else, token or not.
    let auth = bearer(&ro);
    let (s, _, _) = d.raw(
        format!(
            "GET /api/v1/tasks HTTP/1.1\r\nHost: evil.example\r\nAuthorization: {auth}\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(s, 421);
    // Body limit for API calls.
    let big = format!(r#"{{"name":"x","command":"{}","schedule":"@daily"}}"#, "a".repeat(70_000));
    assert_eq!(api(&d, "POST", "/api/v1/tasks", Some(&ro), &big).status, 413);
    // Methods a route does not take.
    let r = api(&d, "PUT", "/api/v1/runs", Some(&ro), "");
    assert!(r.status == 403 || r.status == 405, "{}", r.status);
}

#[test]
fn openapi_document_matches_the_served_routes() {
    let env = setup();
    let d = Dashboard::start(&env);
    let doc = api(&d, "GET", "/api/v1/openapi.json", None, "").json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 12);
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{name}", "backup").replace("{id}", "1");
            // A change without a token is refused by the gate (401) before routing; a read
            // is routed. Either way the router knows the path: never "no such endpoint".
            let r = api(&d, &method.to_uppercase(), &concrete, None, "");
            assert!(!r.body.contains("no such endpoint"), "{method} {path}: {}", r.body);
            assert_ne!(r.status, 405, "{method} {path}");
            if method == "get" {
                assert_ne!(r.status, 401, "{path}");
            }
        }
    }
    let r = api(&d, "GET", "/api/v1/nothing", None, "");
    assert_eq!((r.status, r.json()["error"]["kind"].as_str()), (404, Some("not_found")));
}

#[test]
fn schedule_plan_and_apply_are_the_clis_and_apply_needs_an_admin_token() {
    let env = crate::schedule::env();
    env.orc(["task", "add", "backup", "--command", "echo backup", "--schedule", "0 2 * * *"]).ok();
    let admin = token(&env, "admin", false);
    let ro = token(&env, "viewer", true);
    let d = Dashboard::start(&env);
    let plan = api(&d, "GET", "/api/v1/schedule/plan", Some(&ro), "");
    assert_eq!(plan.status, 200, "{}", plan.body);
    assert_eq!(plan.json(), env.orc(["--json", "schedule", "--all", "--dry-run"]).ok().json());
    assert_eq!(api(&d, "POST", "/api/v1/schedule/apply", Some(&ro), "").status, 403);
    let applied = api(&d, "POST", "/api/v1/schedule/apply", Some(&admin), "");
    assert_eq!(applied.status, 200, "{}", applied.body);
    let again = env.orc(["--json", "schedule", "--all", "--dry-run"]).ok().json();
    assert_ne!(plan.json(), again, "applied: the plan changed from create to unchanged");
    let conn = crate::support::exec::db(&env);
    let who: String = conn
        .query_row(
            "SELECT os_user FROM audit WHERE object = 'schedule' ORDER BY id DESC",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(who, "token:admin");
}

/// `--tls-cert/--tls-key`: HTTPS with the test certificate (for localhost and 127.0.0.1);
/// the session cookie is `Secure`; plain HTTP on the TLS port gets no answer. Uses curl.
#[test]
#[cfg(unix)]
fn tls_serves_https_with_secure_cookies() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp");
    let (cert, key, ca) =
        (fixtures.join("server.pem"), fixtures.join("server.key"), fixtures.join("ca.pem"));
    let env = setup();
    let admin = token(&env, "admin", false);
    let d = Dashboard::start_with(
        &env,
        &[
            "--bind",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let port = d.addr.rsplit(':').next().unwrap().to_string();
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-i", "--max-time", "10", "--cacert", ca.to_str().unwrap()])
            .args(args)
            .output()
            .expect("run curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let health = curl(&[&format!("https://localhost:{port}/healthz")]);
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok\n"), "{health}");
    let login = curl(&[
        "-X",
        "POST",
        "--data",
        &format!("token={admin}&next=%2F"),
        &format!("https://127.0.0.1:{port}/login"),
    ]);
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    assert!(login.contains("HttpOnly; SameSite=Strict; Max-Age=43200; Secure"), "{login}");
    // Plain HTTP on the TLS port: the handshake fails, nothing is served.
    let (s, _, _) =
        std::panic::catch_unwind(|| d.raw(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"))
            .unwrap_or((0, String::new(), String::new()));
    assert_ne!(s, 200);
    // Remote binding with TLS needs no --insecure-http (refused here only for want of
    // --allow-remote, before anything is bound).
    let out = env
        .orc([
            "dashboard",
            "--bind",
            "0.0.0.0:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ])
        .code(2);
    assert!(out.stderr.contains("--allow-remote"), "{}", out.stderr);
    let out = env
        .orc([
            "dashboard",
            "--tls-cert",
            key.to_str().unwrap(),
            "--tls-key",
            cert.to_str().unwrap(),
        ])
        .code(2);
    assert!(out.stderr.contains("--tls-cert"), "{}", out.stderr);
}

/// `/metrics` serves exactly the series of the `metrics.textfile` (one renderer), in the
/// Prometheus text format, and needs a token like any read once login is required.
#[test]
fn metrics_endpoint_serves_the_textfile_series() {
    let env = setup();
    let prom = env.root().join("orc.prom");
    env.orc(["config", "set", "metrics.textfile", prom.to_str().unwrap()]).ok();
    env.orc(["execute", "--task", "backup"]).ok();
    let file = std::fs::read_to_string(&prom).expect("textfile written after the run");
    assert!(file.contains("task=\"backup\""), "{file}");
    let d = Dashboard::start(&env);
    let r = api(&d, "GET", "/metrics", None, "");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(r.body, file);
    drop(d);
    env.orc(["config", "set", "dashboard.require_login", "yes"]).ok();
    let ro = token(&env, "prometheus", true);
    let d = Dashboard::start(&env);
    assert_eq!(api(&d, "GET", "/metrics", None, "").status, 401);
    assert_eq!(api(&d, "GET", "/metrics", Some(&ro), "").body, file);
}

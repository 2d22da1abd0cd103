//! Notification channels end to end: `orc channel …`, task `--notify-channel`, real runs
//! delivering to a real local HTTP receiver (webhook with HMAC, Teams, Slack), the outbox
//! across a receiver outage, syslog on a socket the test listens on, and no URL or secret in
//! any output, log or stored error.

use crate::support::Env;
use crate::support::exec::{child, db};
use crate::support::http_receiver::{Receiver, Request};

/// The path part of every webhook URL: a stand-in for the secret such URLs embed.
const TOKEN: &str = "T0KEN-8f3a9c";
const SIGNING_KEY: &str = "whsec-5b1e0d";

/// "disk full\n" on stderr, then exit 3.
fn failing() -> String {
    child(&["hexerr", "6469736b2066756c6c0a", "exit", "3"])
}

fn add_task(env: &Env, name: &str, command: &str, channels: &[&str]) {
    let mut args = vec!["task", "add", name, "--command", command, "--schedule", "0 3 * * *"];
    args.extend(["--shell", "none"]);
    for c in channels {
        args.extend(["--notify-channel", c]);
    }
    env.orc(args).ok();
}

fn credential(env: &Env, name: &str, value: &str) {
    env.orc_with_stdin(["credential", "set", name, "--from-stdin"], Some(value.as_bytes())).ok();
}

/// Everything orc stored that a secret must never reach: the outbox errors, the audit log.
fn stored_text(env: &Env) -> String {
    let c = db(env);
    let mut s = String::new();
    let mut q = c.prepare("SELECT coalesce(last_error, '') || subject FROM outbox").unwrap();
    for r in q.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        s.push_str(&r.unwrap());
    }
    let mut q = c
        .prepare("SELECT command || coalesce(before, '') || coalesce(after, '') FROM audit")
        .unwrap();
    for r in q.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        s.push_str(&r.unwrap());
    }
    s
}

fn outbox_state(env: &Env) -> Vec<(Option<String>, i64, bool, Option<String>)> {
    let c = db(env);
    let mut q = c
        .prepare("SELECT channel, tries, sent_at IS NOT NULL, last_error FROM outbox ORDER BY id")
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<orc::store::sql::Result<Vec<_>>>()
        .unwrap()
}

#[test]
fn add_list_show_rm_never_show_the_url() {
    let env = Env::new();
    let url = format!("https://hooks.example.com/services/{TOKEN}");
    env.orc(["channel", "add", "ops-hook", "--kind", "webhook", "--url", &url]).ok().assert_stdout(
        "added webhook channel ops-hook; try it with `orc notify test --channel ops-hook`\n",
    );
    credential(&env, "teams-url", &format!("https://x.webhook.office.com/{TOKEN}"));
    env.orc(["channel", "add", "teams", "--kind", "teams", "--url-credential", "teams-url"]).ok();
    env.orc(["channel", "add", "log", "--kind", "eventlog"]).ok();
    env.orc(["channel", "add", "dba", "--kind", "email", "--to", "dba@example.com"]).ok();
    env.orc(["channel", "list"]).ok().assert_stdout(
        "NAME      KIND      TARGET                       SIGNING\n\
         --------  --------  ---------------------------  -------\n\
         dba       email     dba@example.com              -\n\
         log       eventlog  -                            -\n\
         ops-hook  webhook   https://hooks.example.com/…  -\n\
         teams     teams     (credential teams-url)       -\n",
    );
    let v = env.orc(["--json", "channel", "show", "ops-hook"]).ok().json();
    assert_eq!(v["url"], "https://hooks.example.com/…");
    assert_eq!(v["kind"], "webhook");
    let all = env.orc(["--json", "channel", "list"]).ok();
    assert!(!all.stdout.contains(TOKEN), "{}", all.stdout);
    assert!(!stored_text(&env).contains(TOKEN), "the audit log has the URL");
    env.orc(["channel", "rm", "ops-hook"]).ok().assert_stdout("removed channel ops-hook\n");
    env.orc(["channel", "show", "ops-hook"])
        .code(3)
        .assert_stderr_line("error: no such channel: \"ops-hook\"");
}

#[test]
fn bad_channels_are_refused_and_change_nothing() {
    let env = Env::new();
    let refuse = |args: &[&str], msg: &str| {
        let mut a = vec!["channel", "add"];
        a.extend(args);
        env.orc(a).code(2).assert_stderr_line(msg);
    };
    refuse(
        &["h", "--kind", "webhook", "--url", &format!("http://hooks.example.com/{TOKEN}")],
        "error: invalid --url \"http://hooks.example.com/…\": use https:// (plain http:// only to \
         this machine)",
    );
    refuse(
        &["h", "--kind", "slack"],
        "error: a slack channel needs --url URL or --url-credential CRED",
    );
    refuse(
        &["email", "--kind", "email"],
        "error: invalid channel name \"email\": \"email\" is the built-in mail (task --email or \
         mail.to); choose another name",
    );
    refuse(
        &["h", "--kind", "webhook", "--url-credential", "nope"],
        "error: invalid --url-credential \"nope\": no such credential; store it first with `orc \
         credential set NAME`",
    );
    refuse(
        &["h", "--kind", "teams", "--url", "https://x.example.com/a", "--secret", "k"],
        "error: --secret signs webhook payloads, not teams",
    );
    refuse(
        &["h", "--kind", "pager"],
        "error: invalid --kind \"pager\": must be one of webhook, teams, slack, email, eventlog",
    );
    env.orc(["channel", "list"])
        .ok()
        .assert_stdout("No channels. Add one with `orc channel add NAME --kind KIND`.\n");
}

#[test]
fn tasks_name_channels_that_exist_and_rm_refuses_while_used() {
    let env = Env::new();
    env.orc(["channel", "add", "log", "--kind", "eventlog"]).ok();
    env.orc([
        "task", "add", "t", "--command", "true", "--schedule", "0 3 * * *", "--notify-channel",
        "nope",
    ])
    .code(2)
    .assert_stderr_line(
        "error: invalid --notify-channel \"nope\": no such channel (`orc channel list` shows them); add it first with `orc channel add`",
    );
    add_task(&env, "t", "true", &["log", "email"]);
    let v = env.orc(["--json", "task", "show", "t"]).ok().json();
    assert_eq!(v["notify_channels"], serde_json::json!(["log", "email"]));
    env.orc(["channel", "rm", "log"]).code(2).assert_stderr_line(
        "error: invalid channel \"log\": it is still used by task t; change those first",
    );
    env.orc(["task", "edit", "t", "--clear-notify-channel", "--notify-channel", "email"]).ok();
    let v = env.orc(["--json", "task", "show", "t"]).ok().json();
    assert_eq!(v["notify_channels"], serde_json::json!(["email"]));
    env.orc(["config", "set", "notify.channels", "log"]).ok();
    env.orc(["channel", "rm", "log"]).code(2).assert_stderr_line(
        "error: invalid channel \"log\": it is still used by setting notify.channels; change those first",
    );
    env.orc(["config", "unset", "notify.channels"]).ok();
    // `config set` refuses a channel that does not exist, for both channel settings.
    for key in ["notify.channels", "watch.channels"] {
        env.orc(["config", "set", key, "email,gone"]).code(2).assert_stderr_line(&format!(
            "error: invalid {key} \"gone\": no such channel (`orc channel list` shows them); add \
             it first with `orc channel add`"
        ));
        assert_eq!(env.orc(["config", "get", key]).ok().stdout.trim_end(), "", "{key} unchanged");
    }
    env.orc(["config", "set", "watch.channels", "LOG,email"]).ok();
    env.orc(["channel", "rm", "log"]).code(2).assert_stderr_line(
        "error: invalid channel \"log\": it is still used by setting watch.channels; change those first",
    );
    env.orc(["config", "set", "watch.channels", "none"]).ok();
    env.orc(["channel", "rm", "log"]).ok();
    // Export carries the field; import checks the references.
    let out = env.orc(["task", "export"]).ok();
    assert!(out.stdout.contains("\"notify_channels\""), "{}", out.stdout);
}

fn check_signed(req: &Request) {
    let ts: i64 = req.header("x-orc-timestamp").unwrap().parse().unwrap();
    let sig = req.header("x-orc-signature").unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(
        orc::notify::channels::webhook::verify(SIGNING_KEY.as_bytes(), ts, &req.body, sig, now),
        "signature {sig} over {ts}.body does not verify"
    );
    assert!(!orc::notify::channels::webhook::verify(b"other", ts, &req.body, sig, now));
}

#[test]
fn a_failed_run_posts_a_signed_webhook_event() {
    let env = Env::new();
    let rx = Receiver::start();
    credential(&env, "hook-key", SIGNING_KEY);
    let url = rx.url(&format!("/hook/{TOKEN}"));
    env.orc(["channel", "add", "hook", "--kind", "webhook", "--url", &url, "--secret", "hook-key"])
        .ok();
    add_task(&env, "backup", &failing(), &["hook"]);
    env.orc(["execute", "--task", "backup"]).code(3);
    let reqs = rx.wait_for(1);
    assert_eq!(reqs.len(), 1, "one delivery");
    let r = &reqs[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", format!("/hook/{TOKEN}").as_str()));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-orc-event"), Some("failure"));
    check_signed(r);
    let e = r.json();
    let run_id: i64 = db(&env).query_row("SELECT max(id) FROM runs", [], |r| r.get(0)).unwrap();
    assert_eq!(r.header("x-orc-delivery"), Some("1"));
    assert_eq!(e["schema"], "orc.event/1");
    assert_eq!(e["kind"], "failure");
    assert_eq!(e["event_id"], 1001);
    assert_eq!(e["task"], "backup");
    assert_eq!(e["run_id"], run_id);
    assert_eq!(e["status"], "FAILED");
    assert_eq!(e["exit_code"], 3);
    assert_eq!(e["exit_code_hex"], serde_json::Value::Null);
    assert_eq!(e["output_tail"], "disk full");
    assert_eq!(e["consecutive_failures"], 1);
    assert!(e["summary"].as_str().unwrap().starts_with("FAILED backup on "), "{e}");
    assert_eq!(e["orc_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(outbox_state(&env), vec![(Some("hook".into()), 1, true, None)]);
    // The next failure is inside the storm window: no second delivery.
    env.orc(["execute", "--task", "backup"]).code(3);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(rx.requests().len(), 1, "storm control applies to channels");
}

#[test]
fn teams_and_slack_get_their_payloads_with_a_dashboard_link() {
    let env = Env::new();
    let rx = Receiver::start();
    env.orc(["config", "set", "dashboard.url", "https://orc.example.com/"]).ok();
    env.orc(["channel", "add", "teams", "--kind", "teams", "--url", &rx.url("/teams")]).ok();
    env.orc(["channel", "add", "slack", "--kind", "slack", "--url", &rx.url("/slack")]).ok();
    add_task(&env, "nightly", &failing(), &["teams", "slack"]);
    env.orc(["execute", "--task", "nightly"]).code(3);
    let reqs = rx.wait_for(2);
    assert_eq!(reqs.len(), 2);
    let teams = reqs.iter().find(|r| r.path == "/teams").unwrap().json();
    assert_eq!(teams["type"], "message");
    let att = &teams["attachments"][0];
    assert_eq!(att["contentType"], "application/vnd.microsoft.card.adaptive");
    let card = &att["content"];
    assert_eq!(
        (card["type"].as_str(), card["version"].as_str()),
        (Some("AdaptiveCard"), Some("1.4"))
    );
    assert_eq!(card["body"][1]["type"], "FactSet");
    assert_eq!(
        card["body"][1]["facts"][0],
        serde_json::json!({"title": "Task", "value": "nightly"})
    );
    assert_eq!(card["body"][3]["text"], "disk full");
    assert_eq!(card["actions"][0]["url"], "https://orc.example.com/task/nightly");
    let slack = reqs.iter().find(|r| r.path == "/slack").unwrap().json();
    assert!(slack["text"].as_str().unwrap().starts_with("FAILED nightly on "), "{slack}");
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert_eq!(slack["blocks"][1]["fields"][0]["text"], "*Task*\nnightly");
    assert_eq!(slack["blocks"][2]["text"]["text"], "*Output (end)*\n```disk full```");
    assert_eq!(slack["blocks"][3]["elements"][0]["url"], "https://orc.example.com/task/nightly");
}

#[test]
fn a_receiver_outage_keeps_the_message_until_it_is_delivered_once() {
    let mut env = Env::new();
    env.set_env("ORC_LOG", "debug");
    let port = Receiver::free_port();
    credential(&env, "hook-url", &format!("http://127.0.0.1:{port}/in/{TOKEN}"));
    env.orc(["channel", "add", "hook", "--kind", "webhook", "--url-credential", "hook-url"]).ok();
    env.orc(["config", "set", "notify.channels", "hook"]).ok();
    add_task(&env, "etl", &failing(), &[]);
    let run = env.orc(["execute", "--task", "etl"]).code(3);
    assert!(!run.stderr.contains(TOKEN) && !run.stdout.contains(TOKEN), "{}", run.stderr);
    let state = outbox_state(&env);
    assert_eq!(state.len(), 1);
    let (channel, tries, sent, error) = &state[0];
    assert_eq!((channel.as_deref(), *tries, *sent), (Some("hook"), 1, false));
    let error = error.clone().unwrap();
    assert!(
        error.starts_with(&format!("cannot deliver to http://127.0.0.1:{port}/…: ")),
        "{error}"
    );
    let status = env.orc(["--json", "notify", "status"]).ok();
    assert_eq!(status.json()["pending"], 1);
    assert!(!status.stdout.contains(TOKEN));
    // The receiver comes back: one flush delivers it, exactly once.
    let rx = Receiver::start_on(port);
    let flush = env.orc(["notify", "flush"]).ok();
    assert_eq!(flush.stdout, "Sent 1 of 1 queued message(s); 0 failed.\n");
    assert_eq!(rx.wait_for(1).len(), 1);
    assert_eq!(rx.requests()[0].path, format!("/in/{TOKEN}"));
    env.orc(["notify", "flush"]).ok().assert_stdout("No queued mail.\n");
    assert_eq!(rx.requests().len(), 1, "delivered once");
    assert!(!stored_text(&env).contains(TOKEN));
}

#[test]
fn a_rejected_event_is_given_up_after_bounded_tries() {
    let env = Env::new();
    let rx = Receiver::start();
    rx.set_status(400);
    env.orc(["channel", "add", "hook", "--kind", "webhook", "--url", &rx.url("/x")]).ok();
    add_task(&env, "t", &failing(), &["hook"]);
    env.orc(["execute", "--task", "t"]).code(3);
    let out = env.orc(["notify", "flush"]).code(1);
    assert!(out.stdout.contains("answered HTTP 400: ok"), "{}", out.stdout);
    env.orc(["notify", "flush"]).code(1);
    let state = outbox_state(&env);
    assert_eq!(state[0].1, 3, "three tries for a permanent refusal");
    let status = env.orc(["--json", "notify", "status"]).ok().json();
    assert_eq!((status["pending"].as_i64(), status["given_up"].as_i64()), (Some(0), Some(1)));
}

#[test]
fn notify_test_posts_a_test_event() {
    let env = Env::new();
    let rx = Receiver::start();
    env.orc(["channel", "add", "hook", "--kind", "webhook", "--url", &rx.url("/t")]).ok();
    let out = env.orc(["notify", "test", "--channel", "hook"]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "Test notification sent to channel hook (webhook, http://127.0.0.1:{}/…).\n",
            rx.port
        )
    );
    let e = rx.wait_for(1)[0].json();
    assert_eq!((e["kind"].as_str(), e["event_id"].as_i64()), (Some("test"), Some(1000)));
    assert!(e.get("task").unwrap().is_null());
    drop(rx);
    let out = env.orc(["notify", "test", "--channel", "nope"]).code(3);
    out.assert_stderr_line("error: no such channel: \"nope\"");
}

#[cfg(unix)]
#[test]
fn eventlog_events_go_to_syslog_on_unix() {
    use std::os::unix::net::UnixDatagram;
    let mut env = Env::new();
    let sock_path = env.root().join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    env.set_env("ORC_SYSLOG_SOCKET", &sock_path);
    env.orc(["channel", "add", "log", "--kind", "eventlog"]).ok();
    add_task(&env, "job", &failing(), &["log"]);
    env.orc(["execute", "--task", "job"]).code(3);
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    // <11> = facility user, severity err; then the RFC 3164 time stamp and orc[PID].
    assert!(rfc3164_error_head(&msg), "{msg}");
    assert!(msg.contains(": [event 1001 failure] FAILED job on "), "{msg}");
    assert!(msg.contains("; Task: job; "), "{msg}");
    assert!(msg.ends_with("; Output: disk full"), "{msg}");
    env.orc(["notify", "test", "--channel", "log"]).ok();
    let n = sock.recv(&mut buf).unwrap();
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(msg.starts_with("<14>"), "{msg}");
    assert!(msg.contains("orc["), "{msg}");
    assert!(msg.contains("]: [event 1000 test] Test notification from orc on "), "{msg}");
}

/// `<11>Mmm dd hh:mm:ss orc[PID]: ` at the start.
#[cfg(unix)]
fn rfc3164_error_head(msg: &str) -> bool {
    let Some(rest) = msg.strip_prefix("<11>") else { return false };
    let (stamp, rest) = rest.split_at(15);
    let months =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    months.contains(&&stamp[..3])
        && stamp.as_bytes()[9] == b':'
        && rest.starts_with(" orc[")
        && rest.split_once("]: ").is_some_and(|(pid, _)| pid[5..].parse::<u32>().is_ok())
}

/// Windows: the event goes to the Application log with source `orc` and the kind's event ID;
/// `orc schedule` (elevated on the CI runner) registers the source with its message file.
#[cfg(windows)]
#[test]
#[ignore = "needs a real Windows event log and an elevated process (windows CI job)"]
fn windows_real_eventlog_entries_with_stable_ids() {
    use std::process::Command;
    let mut env = Env::new();
    env.with_fake_schtasks();
    env.orc(["channel", "add", "log", "--kind", "eventlog"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let reg = Command::new("reg")
        .args([
            "query",
            r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\orc",
            "/v",
            "EventMessageFile",
        ])
        .output()
        .unwrap();
    let reg = String::from_utf8_lossy(&reg.stdout).to_string();
    assert!(reg.contains("REG_EXPAND_SZ") && reg.contains("EventLogMessages.dll"), "{reg}");
    env.orc(["notify", "test", "--channel", "log"]).ok();
    let q = Command::new("wevtutil")
        .args([
            "qe",
            "Application",
            "/q:*[System[Provider[@Name='orc'] and (EventID=1000)]]",
            "/c:1",
            "/rd:true",
            "/f:text",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&q.stdout).to_string();
    assert!(text.contains("Event ID: 1000"), "{text}");
    assert!(text.contains("Level: Information"), "{text}");
    assert!(text.contains("Test notification from orc on"), "{text}");
}

/// The Teams card of a real failure, rendered as HTML by the test's tiny card renderer and
/// loaded in headless Chromium; the screenshot is kept as `target/test-output/teams-card.png`.
#[test]
#[ignore = "needs headless Chromium"]
fn teams_card_renders_in_chromium() {
    use crate::support::chromium::{Chromium, element_text};
    let chromium = Chromium::find();
    let env = Env::new();
    let rx = Receiver::start();
    env.orc(["config", "set", "dashboard.url", "https://orc.example.com"]).ok();
    env.orc(["channel", "add", "teams", "--kind", "teams", "--url", &rx.url("/teams")]).ok();
    add_task(&env, "nightly-backup", &failing(), &["teams"]);
    env.orc(["execute", "--task", "nightly-backup"]).code(3);
    let msg = rx.wait_for(1)[0].json();
    let html = crate::support::adaptive_card::to_html(&msg["attachments"][0]["content"]);
    let file = env.root().join("teams-card.html");
    std::fs::write(&file, html).unwrap();
    let dom = chromium.render(&file, "teams-card");
    assert!(element_text(&dom, "block-0").starts_with("FAILED nightly-backup on "), "{dom}");
    let facts = element_text(&dom, "facts");
    assert!(facts.starts_with("Task nightly-backup Host "), "{facts}");
    assert!(facts.contains("Status FAILED Exit code 3 Run 1"), "{facts}");
    assert_eq!(element_text(&dom, "block-2"), "Output (end)");
    assert_eq!(element_text(&dom, "block-3"), "disk full");
    assert_eq!(element_text(&dom, "action-0"), "Open in dashboard");
    assert!(dom.contains("href=\"https://orc.example.com/task/nightly-backup\""), "{dom}");
}

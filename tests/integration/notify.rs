//! Notifications: the CLI (`orc notify flush|status|test`), and — against a real SMTP server
//! (aiosmtpd, `#[ignore]`, run by the full script) — delivery, policies, the outbox and the
//! SMTP faults of docs/design/reliability.md test 20.

use std::time::{Duration, Instant};

use orc::notify::{self, message::MessageKind};
use orc::task::{NotifyPolicy, TaskSpec};

use crate::require_smtp;
use crate::support::Env;
use crate::support::mail_seed::{
    self, Run, add_run, add_task, mail_config, minutes, outbox, set_config,
};
use crate::support::mailserver::{SmtpServer, closed_port};

fn task(name: &str) -> TaskSpec {
    let mut t = TaskSpec::new(name, "backup.cmd", "0 2 * * *");
    t.description = Some("Copies the data share to the NAS".into());
    t
}

fn fail(env: &Env, name: &str, at: i64) -> i64 {
    let mut r = Run::new(name, "FAILED", Some(1), minutes(at));
    r.stderr = b"ERROR 53 <b>bold</b> & \"quoted\"\nThe network path was not found.\n";
    add_run(env, &r)
}

fn succeed(env: &Env, name: &str, at: i64) -> i64 {
    add_run(env, &Run::new(name, "SUCCESS", Some(0), minutes(at)))
}

fn hook(env: &Env, run_id: i64, at: i64) -> notify::HookOutcome {
    let mut store = mail_seed::store(env);
    let run = orc::exec::runs::get(store.conn(), run_id).unwrap().expect("run");
    notify::after_final_attempt_at(&mut store, &run, minutes(at))
}

// ---------------------------------------------------------------- without a server

#[test]
fn flush_with_an_empty_outbox_is_quiet() {
    let env = Env::new();
    let out = env.orc(["notify", "flush"]).ok();
    assert_eq!(out.stdout.trim(), "No queued mail.");
    let j = env.orc(["--json", "notify", "flush"]).ok().json();
    assert_eq!(j["attempted"], 0);
    assert_eq!(j["pending"], 0);
    let j = env.orc(["--json", "notify", "status"]).ok().json();
    assert_eq!(j["pending"], 0);
    assert_eq!(j["given_up"], 0);
}

#[test]
fn notify_test_refuses_bad_input_and_missing_configuration() {
    let env = Env::new();
    let out = env.orc(["notify", "test", "--to", "ops@example.com"]).code(2);
    assert!(out.stderr.contains("smtp.host"), "{}", out.stderr);
    set_config(
        &env,
        &[("smtp.host", "127.0.0.1"), ("smtp.tls", "none"), ("mail.from", "orc@example.com")],
    );
    let before = env.db_bytes();
    for bad in ["x\r\nBcc: evil@x", "ops@example.com\nBcc: evil@x", "not-an-address"] {
        let out = env.orc(["notify", "test", "--to", bad]).code(2);
        assert!(out.stderr.contains("--to"), "{bad:?}: {}", out.stderr);
    }
    assert!(env.db_bytes() == before, "nothing changed");
    // Plain SMTP to a remote relay is refused.
    set_config(&env, &[("smtp.host", "mail.example.com")]);
    let out = env.orc(["notify", "test", "--to", "ops@example.com"]).code(2);
    assert!(
        out.stderr.contains("smtp.tls") && out.stderr.contains("loopback")
            || out.stderr.contains("this machine"),
        "{}",
        out.stderr
    );
}

#[test]
fn invalid_mail_settings_are_reported_with_the_key() {
    let env = Env::new();
    set_config(&env, &[("smtp.host", "127.0.0.1"), ("mail.to", "a@example.com,\r\nBcc: evil@x")]);
    let out = env.orc(["notify", "test"]).code(2);
    assert!(out.stderr.contains("mail.to"), "{}", out.stderr);
}

#[test]
fn hook_refuses_a_run_that_is_still_running() {
    let env = Env::new();
    mail_config(&env, closed_port(), "none");
    add_task(&env, &task("busy"));
    let id = add_run(&env, &Run::new("busy", "RUNNING", None, minutes(0)));
    let o = hook(&env, id, 1);
    assert!(o.error.as_deref().unwrap_or("").contains("RUNNING"), "{o:?}");
    assert!(o.queued.is_none());
    assert!(outbox(&env).is_empty());
}

#[test]
fn mail_is_queued_before_it_is_sent_and_kept_when_the_relay_is_down() {
    let env = Env::new();
    mail_config(&env, closed_port(), "none");
    add_task(&env, &task("nightly"));
    let id = fail(&env, "nightly", 0);
    let o = hook(&env, id, 0);
    assert_eq!(o.mail, Some(MessageKind::Failure));
    assert!(o.queued.is_some() && !o.sent, "{o:?}");
    let rows = outbox(&env);
    assert_eq!(rows.len(), 1);
    let (kind, subject, tries, sent, gave_up, err) = &rows[0];
    assert_eq!(kind, "failure");
    assert_eq!(subject, "[orc] FAILED nightly on TESTHOST (exit 1)");
    assert_eq!((*tries, *sent, *gave_up), (1, false, false));
    assert!(err.as_deref().unwrap().contains("cannot connect"), "{err:?}");
    // The same run is never mailed twice.
    let again = hook(&env, id, 1);
    assert!(again.queued.is_none() && again.mail.is_none(), "{again:?}");
    assert_eq!(outbox(&env).len(), 1);
    let out = env.orc(["notify", "status"]).ok();
    assert!(out.stdout.contains("1 queued (1 failing)"), "{}", out.stdout);
    assert!(out.stdout.contains("cannot connect"), "{}", out.stdout);
}

#[test]
fn no_mail_when_mail_is_not_configured() {
    let env = Env::new();
    add_task(&env, &task("quiet"));
    let id = fail(&env, "quiet", 0);
    let o = hook(&env, id, 0);
    assert_eq!(o.mail, Some(MessageKind::Failure), "the policy still decides");
    assert!(o.queued.is_none() && o.error.is_none(), "{o:?}");
    assert!(outbox(&env).is_empty());
}

// ---------------------------------------------------------------- with a real SMTP server

fn server(env: &Env, args: &[&str]) -> SmtpServer {
    SmtpServer::start(&env.root().join("mailbox"), args)
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn failure_mail_over_starttls_is_well_formed() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--tls", "starttls"]);
    mail_config(&env, srv.port, "starttls");
    let mut spec = task("nightly-backup");
    spec.retries = 2;
    spec.email = vec!["dba@example.com".into(), "ops@example.com".into()];
    add_task(&env, &spec);
    let mut r = Run::new("nightly-backup", "FAILED", Some(0xC000_0005), minutes(0));
    r.attempt = 3;
    r.trigger = "retry";
    r.slot = Some("2026-03-02T01:00+00:00".into());
    r.stderr =
        b"ERROR 53 <script>alert(1)</script> & \"quoted\"\nThe network path was not found.\n";
    let id = add_run(&env, &r);
    let o = hook(&env, id, 1);
    assert!(o.sent, "{o:?}");
    let msgs = srv.wait_for(1, Duration::from_secs(5));
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.meta["tls"], true, "delivered over TLS");
    assert_eq!(m.meta["mail_from"], "orc@example.com");
    assert_eq!(m.rcpt_tos(), vec!["dba@example.com", "ops@example.com"], "task recipients win");
    assert_eq!(
        m.header("Subject").unwrap(),
        "[orc] FAILED nightly-backup on TESTHOST (exit 0xC0000005)"
    );
    assert_eq!(m.header("To").unwrap(), "dba@example.com, ops@example.com");
    assert_eq!(m.header("From").unwrap(), "orc on TESTHOST <orc@example.com>");
    assert_eq!(m.header("Auto-Submitted").unwrap(), "auto-generated");
    assert!(m.header("Message-ID").is_some() && m.header("Date").is_some());
    assert!(!m.header_names().iter().any(|h| h.eq_ignore_ascii_case("bcc")));
    assert_eq!(m.meta["content_type"], "multipart/alternative");
    let parts: Vec<&str> = m.meta["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["content_type"].as_str().unwrap())
        .collect();
    assert_eq!(parts, vec!["text/plain", "text/html"]);
    let text = m.part("text/plain").unwrap();
    for want in [
        "nightly-backup failed on TESTHOST with exit code 0xC0000005 STATUS_ACCESS_VIOLATION after 3 attempts",
        "Attempt:     3 of 3",
        "ERROR 53 <script>alert(1)</script>",
        "orc history --task nightly-backup",
    ] {
        assert!(text.contains(want), "text part lacks {want:?}:\n{text}");
    }
    let html = m.part("text/html").unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;quoted&quot;"),
        "{html}"
    );
    assert!(!html.contains("<script"), "no script in the HTML part");
    assert!(html.contains("Copies the data share to the NAS"));
    let rows = outbox(&env);
    assert!(rows[0].3, "recorded as sent: {rows:?}");
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn implicit_tls_delivery_and_certificate_checks() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--tls", "tls"]);
    mail_config(&env, srv.port, "tls");
    let out = env.orc(["notify", "test", "--to", "me@example.com"]).ok();
    assert!(out.stdout.contains("Test message sent to me@example.com"), "{}", out.stdout);
    let m = &srv.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(m.meta["tls"], true);
    assert_eq!(
        m.header("Subject").unwrap(),
        format!("[orc] Test message from {}", orc::exec::runs::hostname())
    );
    // Without the test CA the self-made certificate is refused: checks are on.
    set_config(&env, &[("smtp.ca_file", "")]);
    let out = env.orc(["notify", "test", "--to", "me@example.com"]).code(1);
    assert!(
        out.stderr.contains("TLS") || out.stderr.to_lowercase().contains("certificate"),
        "{}",
        out.stderr
    );
    assert_eq!(srv.messages().len(), 1);
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn notify_after_n_consecutive_failures() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &[]);
    mail_config(&env, srv.port, "none");
    let mut spec = task("flaky");
    spec.notify_after = 3;
    add_task(&env, &spec);
    let mut mailed = Vec::new();
    for (i, ok) in [false, false, true, false, false, false, false].iter().enumerate() {
        let id = if *ok { succeed(&env, "flaky", i as i64) } else { fail(&env, "flaky", i as i64) };
        mailed.push(hook(&env, id, i as i64).sent);
    }
    assert_eq!(mailed, vec![false, false, false, false, false, true, false]);
    let msgs = srv.wait_for(1, Duration::from_secs(5));
    assert_eq!(msgs.len(), 1);
    assert!(
        msgs[0].part("text/plain").unwrap().contains("flaky failed on TESTHOST with exit code 1")
    );
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn no_alert_storm_then_reminders_by_interval_then_one_recovery() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &[]);
    mail_config(&env, srv.port, "none");
    set_config(&env, &[("notify.reminder_interval", "1h")]);
    let mut spec = task("every-minute");
    spec.schedule = "* * * * *".into();
    add_task(&env, &spec);
    // Ten failures, one a minute: one alert.
    for m in 0..10 {
        let id = fail(&env, "every-minute", m);
        hook(&env, id, m);
    }
    assert_eq!(srv.wait_for(1, Duration::from_secs(5)).len(), 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.messages().len(), 1, "10 failures → 1 alert");
    // Still failing an hour later: one reminder, then quiet again.
    for m in [60, 61, 62, 100] {
        let id = fail(&env, "every-minute", m);
        hook(&env, id, m);
    }
    let msgs = srv.wait_for(2, Duration::from_secs(5));
    assert_eq!(msgs.len(), 2);
    let reminder = &msgs[1];
    assert_eq!(
        reminder.header("Subject").unwrap(),
        "[orc] STILL FAILING every-minute on TESTHOST (11 failures in a row)"
    );
    assert!(
        reminder.part("text/plain").unwrap().contains("9 failed runs since the previous mail"),
        "{}",
        reminder.part("text/plain").unwrap()
    );
    // Success: one recovery mail; further successes are silent.
    for m in [101, 102] {
        let id = succeed(&env, "every-minute", m);
        hook(&env, id, m);
    }
    let msgs = srv.wait_for(3, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.messages().len(), 3);
    assert_eq!(
        msgs[2].header("Subject").unwrap(),
        "[orc] RESOLVED every-minute on TESTHOST (OK after 14 failures)"
    );
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn policies_always_never_recovery() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &[]);
    mail_config(&env, srv.port, "none");
    for (name, policy) in [
        ("t-always", NotifyPolicy::Always),
        ("t-never", NotifyPolicy::Never),
        ("t-recovery", NotifyPolicy::Recovery),
    ] {
        let mut spec = task(name);
        spec.notify = policy;
        add_task(&env, &spec);
    }
    let mut at = 0;
    for name in ["t-always", "t-never", "t-recovery"] {
        for ok in [true, false, false, true] {
            let id = if ok { succeed(&env, name, at) } else { fail(&env, name, at) };
            hook(&env, id, at);
            at += 1;
        }
    }
    let msgs = srv.wait_for(5, Duration::from_secs(5));
    let subjects: Vec<String> = msgs.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(
        subjects,
        vec![
            "[orc] OK t-always on TESTHOST (1.5s)",
            "[orc] FAILED t-always on TESTHOST (exit 1)",
            "[orc] FAILED t-always on TESTHOST (exit 1)",
            "[orc] RESOLVED t-always on TESTHOST (OK after 2 failures)",
            "[orc] RESOLVED t-recovery on TESTHOST (OK after 2 failures)",
        ]
    );
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn relay_down_then_back_flush_delivers_everything() {
    require_smtp!();
    let env = Env::new();
    let port = closed_port();
    mail_config(&env, port, "none");
    for name in ["a-task", "b-task", "c-task"] {
        add_task(&env, &task(name));
        let id = fail(&env, name, 0);
        let o = hook(&env, id, 0);
        assert!(o.queued.is_some() && !o.sent, "{o:?}");
    }
    // Relay still down: flush reports and keeps everything, stopping after the first
    // connection failure instead of waiting on each message.
    let out = env.orc(["--json", "notify", "flush"]).code(1);
    let j = out.json();
    assert_eq!(
        (j["attempted"].as_u64(), j["sent"].as_u64(), j["pending"].as_u64()),
        (Some(1), Some(0), Some(3))
    );
    assert!(j["stopped"].as_str().unwrap().contains("cannot be reached"), "{j}");
    // The relay comes back on the same port.
    let srv = SmtpServer::start_on(&env.root().join("mailbox"), port, &[]);
    let j = env.orc(["--json", "notify", "flush"]).ok().json();
    assert_eq!(
        (j["sent"].as_u64(), j["failed"].as_u64(), j["pending"].as_u64()),
        (Some(3), Some(0), Some(0))
    );
    let msgs = srv.wait_for(3, Duration::from_secs(5));
    assert_eq!(msgs.len(), 3);
    let rows = outbox(&env);
    assert!(rows.iter().all(|r| r.3 && r.5.is_none()), "{rows:?}");
    assert_eq!(rows.iter().map(|r| r.2).collect::<Vec<_>>(), vec![3, 2, 2], "tries counted");
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn opportunistic_retry_after_a_run_sends_older_queued_mail() {
    require_smtp!();
    let env = Env::new();
    let port = closed_port();
    mail_config(&env, port, "none");
    add_task(&env, &task("first"));
    add_task(&env, &task("second"));
    let id = fail(&env, "first", 0);
    assert!(!hook(&env, id, 0).sent);
    let srv = SmtpServer::start_on(&env.root().join("mailbox"), port, &[]);
    // Five minutes later (past the backoff) another run's mail goes out, and the queued one too.
    let id = fail(&env, "second", 5);
    let o = hook(&env, id, 5);
    assert!(o.sent, "{o:?}");
    assert_eq!(o.flushed.as_ref().map(|f| f.sent), Some(1), "{o:?}");
    assert_eq!(srv.wait_for(2, Duration::from_secs(5)).len(), 2);
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn fault_blackhole_gives_up_within_the_timeout() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--blackhole"]);
    mail_config(&env, srv.port, "starttls");
    set_config(&env, &[("smtp.timeout", "2s")]);
    add_task(&env, &task("hung-relay"));
    let id = fail(&env, "hung-relay", 0);
    let t = Instant::now();
    let o = hook(&env, id, 0);
    let took = t.elapsed();
    assert!(took < Duration::from_secs(4), "gave up after {took:?}");
    assert!(!o.sent);
    let err = o.error.unwrap();
    assert!(err.contains("timed out") || err.contains("no complete answer"), "{err}");
    // The run row was final before, and is unchanged by the mail failure.
    let s = mail_seed::store(&env);
    let status: String =
        s.conn().query_row("SELECT status FROM runs WHERE id = ?1", [id], |r| r.get(0)).unwrap();
    assert_eq!(status, "FAILED");
    assert_eq!(outbox(&env)[0].2, 1, "the failed try is recorded on the message");
    // The CLI gives up in time too.
    let t = Instant::now();
    let out = env.orc(["notify", "test", "--to", "a@example.com"]).code(1);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(out.stderr.contains("test message not sent"), "{}", out.stderr);
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn fault_starttls_required_but_not_offered() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--tls", "none"]);
    mail_config(&env, srv.port, "starttls");
    let out = env.orc(["notify", "test", "--to", "a@example.com"]).code(1);
    assert!(out.stderr.contains("STARTTLS"), "{}", out.stderr);
    // Implicit TLS against a plain server fails the handshake.
    set_config(&env, &[("smtp.tls", "tls")]);
    let out = env.orc(["notify", "test", "--to", "a@example.com"]).code(1);
    assert!(out.stderr.contains("TLS") || out.stderr.contains("tls"), "{}", out.stderr);
    assert!(srv.messages().is_empty(), "nothing was sent in clear");
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn fault_550_reject_is_recorded_and_given_up() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--reject", "550"]);
    mail_config(&env, srv.port, "none");
    add_task(&env, &task("rejected"));
    let id = fail(&env, "rejected", 0);
    let o = hook(&env, id, 0);
    assert!(!o.sent);
    assert!(o.error.as_deref().unwrap().contains("550"), "{o:?}");
    // Permanent rejections are retried a few times, then given up and reported.
    let _ = env.orc(["notify", "flush"]).code(1);
    let out = env.orc(["notify", "flush"]).code(1);
    assert!(out.stdout.contains("given up"), "{}", out.stdout);
    let rows = outbox(&env);
    assert!(rows[0].4, "gave up: {rows:?}");
    let j = env.orc(["--json", "notify", "status"]).ok().json();
    assert_eq!(j["given_up"], 1);
    assert!(j["messages"][0]["last_error"].as_str().unwrap().contains("550"));
    assert!(srv.messages().is_empty());
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn fault_header_injection_in_subject_and_recipients() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &[]);
    mail_config(&env, srv.port, "none");
    // A task whose recipient list holds an injection attempt: refused, defaults used.
    let mut spec = task("inject");
    spec.email = vec!["x\r\nBcc: evil@x".into()];
    add_task(&env, &spec);
    // A host name (stored data) with an injection attempt reaches the subject.
    let mut r = Run::new("inject", "FAILED", Some(1), minutes(0));
    r.host = "SRV\r\nBcc: evil@x";
    let id = add_run(&env, &r);
    assert!(hook(&env, id, 0).sent);
    let m = &srv.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(m.rcpt_tos(), vec!["ops@example.com", "oncall@example.com"]);
    assert!(
        !m.header_names().iter().any(|h| h.eq_ignore_ascii_case("bcc")),
        "{:?}",
        m.header_names()
    );
    for line in m.raw_headers().split("\r\n") {
        assert!(!line.to_ascii_lowercase().starts_with("bcc:"), "{line}");
    }
    assert_eq!(m.header("Subject").unwrap(), "[orc] FAILED inject on SRV Bcc: evil@x (exit 1)");
    // Configured and typed recipients with CR/LF are refused outright.
    assert!(
        env.orc(["notify", "test", "--to", "x\r\nBcc: evil@x"]).code(2).stderr.contains("--to")
    );
    set_config(&env, &[("mail.to", "ops@example.com\r\nBcc: evil@x")]);
    assert!(env.orc(["notify", "test"]).code(2).stderr.contains("mail.to"));
    assert_eq!(srv.messages().len(), 1);
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn hook_is_bounded_even_when_the_relay_hangs_with_several_queued_messages() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--blackhole"]);
    mail_config(&env, srv.port, "none");
    set_config(&env, &[("smtp.timeout", "2s")]);
    for (i, name) in ["q1", "q2", "q3", "q4"].iter().enumerate() {
        add_task(&env, &task(name));
        let id = fail(&env, name, i as i64 * 10);
        let t = Instant::now();
        hook(&env, id, i as i64 * 10);
        assert!(t.elapsed() < Duration::from_secs(4), "hook took {:?}", t.elapsed());
    }
    assert_eq!(outbox(&env).len(), 4);
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn auth_over_starttls_and_the_password_never_shows() {
    use orc::notify::settings::{SmtpAuth, SmtpSettings, TlsMode};
    use orc::notify::smtp::{Deliver, SmtpRelay};
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--tls", "starttls", "--auth", "orc-mailer:S3cret-Pw!"]);
    let settings = |user: &str| SmtpSettings {
        host: "127.0.0.1".into(),
        port: srv.port,
        tls: TlsMode::Starttls,
        user: Some(user.into()),
        password_credential: Some("smtp".into()),
        timeout: Duration::from_secs(5),
        ca_file: Some(mailserver_ca()),
        auth: SmtpAuth::Password,
    };
    let from: lettre::message::Mailbox = "orc <orc@example.com>".parse().unwrap();
    let to = vec!["ops@example.com".parse().unwrap()];
    let msg = orc::notify::transport::Outgoing {
        from,
        to,
        subject: "auth test".into(),
        text: "body".into(),
        html: None,
    };
    let relay =
        SmtpRelay::new(&settings("orc-mailer"), Some("S3cret-Pw!".to_string().into())).unwrap();
    relay.deliver(&msg, Instant::now() + Duration::from_secs(5)).unwrap();
    let m = &srv.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(m.meta["authenticated"], true);
    assert_eq!(m.meta["tls"], true);
    assert_eq!(m.meta["login"], "orc-mailer");
    // A wrong password: a clear rejection that does not echo the password.
    let relay =
        SmtpRelay::new(&settings("orc-mailer"), Some("wrong-Pw-123".to_string().into())).unwrap();
    let err = relay.deliver(&msg, Instant::now() + Duration::from_secs(5)).unwrap_err();
    assert!(err.message.contains("535") || err.message.contains("rejected"), "{err:?}");
    assert!(!err.message.contains("wrong-Pw-123"), "{err:?}");
    assert!(!format!("{relay:?}").contains("S3cret"), "Debug never shows credentials");
    assert_eq!(srv.messages().len(), 1);
}

fn mailserver_ca() -> std::path::PathBuf {
    crate::support::mailserver::test_ca()
}

#[test]
fn smtp_ca_file_setting_is_checked_when_set() {
    let env = Env::new();
    let ca = crate::support::mailserver::test_ca();
    env.orc(["config", "set", "smtp.ca_file", ca.to_str().unwrap()]).ok();
    let got = env.orc(["config", "get", "smtp.ca_file"]).ok();
    assert!(got.stdout.contains("ca.pem"), "{}", got.stdout);
    let before = env.db_bytes();
    let missing = env.root().join("missing.pem");
    let out = env.orc(["config", "set", "smtp.ca_file", missing.to_str().unwrap()]).code(2);
    assert!(out.stderr.contains("smtp.ca_file"), "{}", out.stderr);
    let not_pem = env.root().join("x.txt");
    std::fs::write(&not_pem, "hello").unwrap();
    let out = env.orc(["config", "set", "smtp.ca_file", not_pem.to_str().unwrap()]).code(2);
    assert!(out.stderr.contains("no certificate"), "{}", out.stderr);
    env.orc(["config", "set", "smtp.ca_file", "relative.pem"]).code(2);
    assert!(env.db_bytes() == before, "nothing changed");
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn end_to_end_configuration_with_a_vault_password() {
    require_smtp!();
    let env = Env::new();
    let srv = server(&env, &["--tls", "starttls", "--auth", "orc-mailer:Vault-Pw-9"]);
    env.orc_with_stdin(
        ["credential", "set", "smtp-pw", "--from-stdin", "--kind", "smtp_password"],
        Some(b"Vault-Pw-9"),
    )
    .ok();
    let ca = crate::support::mailserver::test_ca();
    let port = srv.port.to_string();
    for (k, v) in [
        ("smtp.host", "127.0.0.1"),
        ("smtp.port", port.as_str()),
        ("smtp.tls", "starttls"),
        ("smtp.user", "orc-mailer"),
        ("smtp.password_credential", "smtp-pw"),
        ("smtp.timeout", "5s"),
        ("smtp.ca_file", ca.to_str().unwrap()),
        ("mail.from", "orc <orc@example.com>"),
        ("mail.to", "ops@example.com"),
    ] {
        env.orc(["config", "set", k, v]).ok();
    }
    let out = env.orc(["notify", "test"]).ok();
    assert!(out.stdout.contains("Test message sent to ops@example.com"), "{}", out.stdout);
    assert!(!out.stdout.contains("Vault-Pw-9") && !out.stderr.contains("Vault-Pw-9"));
    let m = &srv.wait_for(1, Duration::from_secs(5))[0];
    assert_eq!(
        (m.meta["tls"].as_bool(), m.meta["authenticated"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(m.meta["login"], "orc-mailer");
}

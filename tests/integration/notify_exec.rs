//! Mail from real runs: `orc execute` → the executor's hook → outbox → a real SMTP server.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::require_smtp;
use crate::support::Env;
use crate::support::exec::{add_task, child, db};
use crate::support::mail_seed::{mail_config, outbox, set_config};
use crate::support::mailserver::SmtpServer;

/// "disk full\n" on stderr, then exit 3.
fn failing() -> String {
    child(&["hexerr", "6469736b2066756c6c0a", "exit", "3"])
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn failure_mail_only_after_the_final_retry() {
    require_smtp!();
    let env = Env::new();
    let srv = SmtpServer::start(&env.root().join("mailbox"), &[]);
    mail_config(&env, srv.port, "none");
    add_task(&env, "retried", &failing(), |s| {
        s.retries = 2;
        s.retry_delay = 1;
    });
    let out = env.orc(["execute", "--task", "retried"]).code(3);
    let msgs = srv.wait_for(1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.messages().len(), 1, "one mail for three attempts: {}", out.stdout);
    let m = &msgs[0];
    assert_eq!(m.header("Subject").unwrap().split(" on ").next().unwrap(), "[orc] FAILED retried");
    let text = m.part("text/plain").unwrap();
    assert!(text.contains("after 3 attempts") && text.contains("Attempt:     3 of 3"), "{text}");
    assert!(text.contains("disk full"), "{text}");
    // The mail is about the final attempt's row.
    let c = db(&env);
    let last: i64 = c.query_row("SELECT max(id) FROM runs", [], |r| r.get(0)).unwrap();
    let about: i64 = c.query_row("SELECT run_id FROM outbox", [], |r| r.get(0)).unwrap();
    assert_eq!(about, last);
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn run_result_is_final_before_mail_and_a_hung_relay_only_costs_the_timeout() {
    require_smtp!();
    let env = Env::new();
    let srv = SmtpServer::start(&env.root().join("mailbox"), &["--blackhole"]);
    mail_config(&env, srv.port, "starttls");
    set_config(&env, &[("smtp.timeout", "4s")]);
    add_task(&env, "hung-mail", &failing(), |_| {});
    let t = Instant::now();
    let mut proc = env
        .command()
        .args(["execute", "--task", "hung-mail"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // While orc waits on the relay, the run row is already final.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(proc.try_wait().unwrap().is_none(), "orc is still waiting on the relay");
    let (status, end, code): (String, Option<String>, Option<i64>) = db(&env)
        .query_row("SELECT status, \"end\", exit_code FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!((status.as_str(), end.is_some(), code), ("FAILED", true, Some(3)));
    let exit = proc.wait().unwrap();
    let took = t.elapsed();
    assert_eq!(exit.code(), Some(3), "the task's exit code, whatever mail did");
    assert!(took < Duration::from_secs(9), "mail cost at most the timeout: {took:?}");
    let rows = outbox(&env);
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].3 && rows[0].2 == 1, "{rows:?}");
}

#[test]
#[ignore = "needs python3 + aiosmtpd (real SMTP server)"]
fn a_task_failing_every_minute_sends_one_alert_then_reminders_by_interval() {
    require_smtp!();
    let mut env = Env::new();
    let srv = SmtpServer::start(&env.root().join("mailbox"), &[]);
    mail_config(&env, srv.port, "none");
    set_config(&env, &[("notify.reminder_interval", "1h")]);
    add_task(&env, "minutely", &failing(), |_| {});
    for minute in 0..10 {
        env.set_env("ORC_NOW", format!("2026-03-02T10:{minute:02}:05"));
        env.orc(["execute", "--task", "minutely"]).code(3);
    }
    assert_eq!(srv.wait_for(1, Duration::from_secs(5)).len(), 1);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(srv.messages().len(), 1, "10 failures → 1 alert");
    env.set_env("ORC_NOW", "2026-03-02T11:01:05");
    env.orc(["execute", "--task", "minutely"]).code(3);
    let msgs = srv.wait_for(2, Duration::from_secs(5));
    assert_eq!(msgs.len(), 2);
    assert!(msgs[1].header("Subject").unwrap().starts_with("[orc] STILL FAILING minutely"));
    // Fixed: one recovery mail.
    add_task(&env, "minutely", &child(&["exit", "0"]), |_| {});
    env.set_env("ORC_NOW", "2026-03-02T11:02:05");
    env.orc(["execute", "--task", "minutely"]).ok();
    let msgs = srv.wait_for(3, Duration::from_secs(5));
    assert!(msgs[2].header("Subject").unwrap().starts_with("[orc] RESOLVED minutely"));
}

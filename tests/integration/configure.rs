//! `orc configure`: the wizard through a pseudo-terminal, the flag-driven path for scripts,
//! and the refusal to prompt without a terminal.

use std::time::Duration;

use crate::support::Env;
use crate::support::smtp_probe::SmtpProbe;

fn settings(env: &Env) -> std::collections::BTreeMap<String, (Option<String>, String)> {
    let list = env.orc(["--json", "config", "list"]).ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap().to_string(),
                (e["value"].as_str().map(String::from), e["source"].as_str().unwrap().to_string()),
            )
        })
        .collect()
}

fn value(env: &Env, key: &str) -> Option<String> {
    settings(env)[key].0.clone()
}

fn credentials(env: &Env) -> Vec<(String, String)> {
    let list = env.orc(["--json", "credential", "list"]).ok().json();
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["kind"].as_str().unwrap().to_string()))
        .collect()
}

fn db_contains(env: &Env, needle: &str) -> bool {
    env.db_bytes().windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn refuses_to_prompt_without_a_terminal() {
    let env = Env::new();
    let out = env.orc(["configure"]).code(2);
    for flag in ["--smtp-host", "--smtp-password-stdin", "--mail-to", "--non-interactive"] {
        assert!(out.stderr.contains(flag), "{flag}: {}", out.stderr);
    }
    assert!(!env.db().exists() || credentials(&env).is_empty());
}

#[test]
fn flags_configure_without_prompting() {
    let env = Env::new();
    let probe = SmtpProbe::start(Duration::ZERO);
    let password = "CANARY-configure-flags-7f3a";
    let port = probe.port.to_string();
    let out = env
        .orc_with_stdin(
            [
                "configure",
                "--smtp-host",
                "127.0.0.1",
                "--smtp-port",
                &port,
                "--smtp-tls",
                "none",
                "--smtp-user",
                "mailer",
                "--smtp-password-stdin",
                "--mail-from",
                "orc <orc@example.com>",
                "--mail-to",
                "ops@example.com, dba@example.com",
                "--notify-default",
                "always",
                "--daily-report-time",
                "06:30",
                "--run-as",
                "SYSTEM",
                "--test-smtp",
            ],
            Some(format!("{password}\n").as_bytes()),
        )
        .ok();
    assert!(out.stdout.contains("no mail was sent"), "{}", out.stdout);
    assert_eq!(probe.logins(), [("mailer".to_string(), password.to_string())]);
    assert!(!probe.sent_mail());
    let s = settings(&env);
    assert_eq!(s["smtp.host"].0.as_deref(), Some("127.0.0.1"));
    assert_eq!(s["smtp.port"].0.as_deref(), Some(port.as_str()));
    assert_eq!(s["smtp.tls"].0.as_deref(), Some("none"));
    assert_eq!(s["smtp.user"].0.as_deref(), Some("mailer"));
    assert_eq!(s["smtp.password_credential"].0.as_deref(), Some("smtp-password"));
    assert_eq!(s["mail.from"].0.as_deref(), Some("orc <orc@example.com>"));
    assert_eq!(s["mail.to"].0.as_deref(), Some("ops@example.com, dba@example.com"));
    assert_eq!(s["notify.default"].0.as_deref(), Some("always"));
    assert_eq!(s["report.daily_time"].0.as_deref(), Some("06:30"));
    assert_eq!(s["run_as.default"].0.as_deref(), Some("SYSTEM"));
    assert_eq!(credentials(&env), [("smtp-password".to_string(), "smtp_password".to_string())]);
    assert!(!db_contains(&env, password));

    // A bad value anywhere: exit 2, and neither the settings nor the vault changed.
    let before = env.db_bytes();
    let out = env
        .orc_with_stdin(
            ["configure", "--smtp-host", "relay.example.com", "--smtp-password-stdin"],
            Some(b"other-password"),
        )
        .code(2);
    assert!(out.stderr.contains("loopback"), "{}", out.stderr);
    let out = env
        .orc_with_stdin(
            ["configure", "--smtp-port", "0", "--run-as", "CORP\\svc", "--run-as-password-stdin"],
            Some(b"acct-pw"),
        )
        .code(2);
    assert!(out.stderr.contains("smtp.port"), "{}", out.stderr);
    env.orc(["configure", "--notify-default", "sometimes"]).code(2);
    assert!(env.db_bytes() == before, "a refused configure changed the database");

    // A run-as account's password goes into the vault under its own name.
    env.orc_with_stdin(
        ["configure", "--run-as", "CORP\\svc_orc", "--run-as-password-stdin"],
        Some(b"acct-password-1"),
    )
    .ok();
    assert_eq!(value(&env, "run_as.default").as_deref(), Some("CORP\\svc_orc"));
    assert!(credentials(&env).contains(&("run-as-CORP-svc_orc".into(), "account_password".into())));
    assert!(!db_contains(&env, "acct-password-1"));

    // The SMTP test reports a failure with exit 1 (settings kept).
    env.orc(["config", "set", "smtp.port", "1"]).ok();
    let out = env.orc(["configure", "--test-smtp"]).code(1);
    assert!(out.stderr.contains("SMTP test failed"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn wizard_end_to_end_through_a_pty() {
    use rexpect::session::{Options, spawn_with_options};

    let env = Env::new();
    let probe = SmtpProbe::start(Duration::ZERO);
    let smtp_pw = "CANARY-wizard-smtp-91c2";
    let acct_pw = "CANARY-wizard-acct-44d1";
    let mut cmd = env.command();
    cmd.env("TERM", "xterm").arg("configure");
    let mut p = spawn_with_options(
        cmd,
        Options::new().timeout_ms(Some(30_000)).strip_ansi_escape_codes(true),
    )
    .expect("spawn orc in a pty");
    let step = |p: &mut rexpect::session::PtySession, expect: &str, answer: &str| {
        p.exp_string(expect).unwrap_or_else(|e| panic!("waiting for {expect:?}: {e}"));
        p.send_line(answer).unwrap();
    };
    // Hidden prompts switch echo off with TCSAFLUSH, dropping input typed before that:
    // wait a moment after the prompt appears.
    let hidden = |p: &mut rexpect::session::PtySession, expect: &str, answer: &str| {
        p.exp_string(expect).unwrap_or_else(|e| panic!("waiting for {expect:?}: {e}"));
        std::thread::sleep(Duration::from_millis(300));
        p.send_line(answer).unwrap();
    };
    p.exp_string(&format!("Data directory: {}", env.home().display())).unwrap();
    p.exp_string("ORC_HOME").unwrap();
    step(&mut p, "SMTP server (empty: no e-mail)", "127.0.0.1");
    // A bad answer is explained and asked again.
    step(&mut p, "SMTP port", "99999");
    p.exp_string("1 to 65535").unwrap();
    step(&mut p, "SMTP port", &probe.port.to_string());
    step(&mut p, "Encryption", "none");
    step(&mut p, "SMTP login", "mailer");
    hidden(&mut p, "SMTP password (hidden)", smtp_pw);
    hidden(&mut p, "Repeat to confirm", smtp_pw);
    step(&mut p, "Sender address", "orc <orc@example.com>");
    step(&mut p, "Default recipients", "ops@example.com, dba@example.com");
    p.exp_string("Test the SMTP connection now").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("connected and logged in").unwrap();
    p.exp_string("no mail was sent").unwrap();
    step(&mut p, "Mail by default on", "always");
    step(&mut p, "Daily report time", "07:30");
    step(&mut p, "Tasks run as", "CORP\\svc_orc");
    p.exp_string("Store the password of CORP\\svc_orc").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    hidden(&mut p, "Password of CORP\\svc_orc (hidden)", acct_pw);
    hidden(&mut p, "Repeat to confirm", acct_pw);
    p.exp_string("Save these settings?").unwrap();
    p.send("y").unwrap();
    p.flush().unwrap();
    p.exp_string("Saved:").unwrap();
    p.exp_string("Register your tasks with the OS scheduler now?").unwrap();
    p.send("n").unwrap();
    p.flush().unwrap();
    p.exp_string("Register them later with: orc schedule --all").unwrap();
    let rest = p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(matches!(status, rexpect::process::WaitStatus::Exited(_, 0)), "{status:?} {rest}");

    assert_eq!(probe.logins(), [("mailer".to_string(), smtp_pw.to_string())]);
    assert!(!probe.sent_mail());
    let s = settings(&env);
    assert_eq!(s["smtp.host"].0.as_deref(), Some("127.0.0.1"));
    assert_eq!(s["smtp.port"].0.as_deref(), Some(probe.port.to_string().as_str()));
    assert_eq!(s["smtp.tls"].0.as_deref(), Some("none"));
    assert_eq!(s["smtp.user"].0.as_deref(), Some("mailer"));
    assert_eq!(s["smtp.password_credential"].0.as_deref(), Some("smtp-password"));
    assert_eq!(s["mail.from"].0.as_deref(), Some("orc <orc@example.com>"));
    assert_eq!(s["mail.to"].0.as_deref(), Some("ops@example.com, dba@example.com"));
    assert_eq!(s["notify.default"].0.as_deref(), Some("always"));
    assert_eq!(s["report.daily_time"].0.as_deref(), Some("07:30"));
    assert_eq!(s["run_as.default"].0.as_deref(), Some("CORP\\svc_orc"));
    let creds = credentials(&env);
    assert!(creds.contains(&("smtp-password".into(), "smtp_password".into())), "{creds:?}");
    assert!(
        creds.contains(&("run-as-CORP-svc_orc".into(), "account_password".into())),
        "{creds:?}"
    );
    assert!(!db_contains(&env, smtp_pw) && !db_contains(&env, acct_pw));
    // The stored password is the one typed: a second SMTP test logs in with it.
    env.orc(["configure", "--test-smtp"]).ok();
    assert_eq!(probe.logins().len(), 2);
    assert_eq!(probe.logins()[1].1, smtp_pw);
}

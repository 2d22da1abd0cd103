//! `orc config get|set|list|unset`: every key, defaults, validation, nothing changed on refusal.

use crate::support::{Env, redact};

const DEFAULTS: &[(&str, Option<&str>)] = &[
    ("smtp.host", None),
    ("smtp.port", Some("587")),
    ("smtp.tls", Some("starttls")),
    ("smtp.user", None),
    ("smtp.password_credential", None),
    ("smtp.timeout", Some("20s")),
    ("mail.from", None),
    ("mail.to", None),
    ("notify.default", Some("failure")),
    ("notify.reminder_interval", Some("4h")),
    ("report.daily_time", None),
    ("scheduler.folder", Some("\\Orchestrator\\")),
    ("scheduler.prefix", Some("Orc_")),
    ("retention.days", Some("90")),
    ("run_as.default", None),
    ("smtp.ca_file", None),
    ("mail.transport", Some("smtp")),
    ("smtp.auth", Some("password")),
    ("mail.oauth.tenant_id", None),
    ("mail.oauth.client_id", None),
    ("mail.oauth.client_secret_credential", None),
    ("watch.grace", Some("10m")),
    ("watch.runaway_factor", Some("3")),
    ("watch.interval", Some("5m")),
    ("watch.channels", None),
    ("metrics.textfile", None),
    ("notify.channels", None),
    ("dashboard.url", None),
    ("dashboard.require_login", Some("false")),
];

#[test]
fn defaults_are_listed_and_gettable() {
    let env = Env::new();
    let list = env.orc(["--json", "config", "list"]).ok().json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), DEFAULTS.len());
    for ((key, default), item) in DEFAULTS.iter().zip(list) {
        assert_eq!(item["key"], *key);
        assert_eq!(item["value"].as_str(), *default, "{key}");
        assert_eq!(item["source"], "default");
        assert_eq!(item["default"], true);
        let got = env.orc(["--json", "config", "get", key]).ok().json();
        assert_eq!(got["key"], *key);
        assert_eq!(got["value"].as_str(), *default);
        assert_eq!(got["default"], true);
        let plain = env.orc(["config", "get", key]).ok();
        assert_eq!(plain.stdout.trim_end_matches('\n'), default.unwrap_or(""));
    }
    let out = env.orc(["config", "list"]).ok();
    insta::assert_snapshot!("config_list_defaults", redact(&env, &out.stdout));
}

#[test]
fn every_key_can_be_set_read_back_and_unset() {
    let env = Env::new();
    env.orc_with_stdin(["credential", "set", "mailpw", "--from-stdin"], Some(b"pw")).ok();
    env.orc(["channel", "add", "ops-teams", "--kind", "eventlog"]).ok();
    let ca = crate::support::mailserver::test_ca().to_string_lossy().into_owned();
    let prom = env.root().join("orc.prom").to_string_lossy().into_owned();
    let values = [
        ("smtp.host", "Mail.Example.com", "mail.example.com"),
        ("smtp.port", "465", "465"),
        ("smtp.tls", "TLS", "tls"),
        ("smtp.user", "orc@example.com", "orc@example.com"),
        ("smtp.password_credential", "mailpw", "mailpw"),
        ("smtp.timeout", "15", "15s"),
        ("mail.from", "Orc Alerts <orc@example.com>", "Orc Alerts <orc@example.com>"),
        ("mail.to", "ops@example.com,dba@example.com", "ops@example.com, dba@example.com"),
        ("notify.default", "always", "always"),
        ("notify.reminder_interval", "90m", "1h30m"),
        ("report.daily_time", "6:45", "06:45"),
        ("scheduler.folder", "\\Ops\\Jobs\\", "\\Ops\\Jobs\\"),
        ("scheduler.prefix", "", ""),
        ("retention.days", "30", "30"),
        ("run_as.default", "CORP\\svc_orc", "CORP\\svc_orc"),
        ("smtp.ca_file", ca.as_str(), ca.as_str()),
        ("mail.transport", "Graph", "graph"),
        ("smtp.auth", "XOAUTH2", "xoauth2"),
        ("mail.oauth.tenant_id", "Contoso.onmicrosoft.com", "contoso.onmicrosoft.com"),
        (
            "mail.oauth.client_id",
            "11111111-2222-3333-4444-55555555555A",
            "11111111-2222-3333-4444-55555555555a",
        ),
        ("mail.oauth.client_secret_credential", "mailpw", "mailpw"),
        ("watch.grace", "900", "15m"),
        ("watch.runaway_factor", "2.5", "2.5"),
        ("watch.interval", "60m", "1h"),
        ("watch.channels", "NONE", "none"),
        ("metrics.textfile", prom.as_str(), prom.as_str()),
        ("notify.channels", " ops-teams , email", "ops-teams,email"),
        ("dashboard.url", "https://orc.example.com/", "https://orc.example.com"),
        ("dashboard.require_login", "Yes", "true"),
    ];
    assert_eq!(values.len(), DEFAULTS.len());
    for (key, input, canon) in values {
        let out = env.orc(["--json", "config", "set", key, input]).ok().json();
        assert_eq!(out["value"], canon, "{key}");
        assert_eq!(out["changed"], true, "{key}");
        let got = env.orc(["--json", "config", "get", key]).ok().json();
        assert_eq!(got["value"], canon);
        assert_eq!(got["default"], false, "{key}");
    }
    let list = env.orc(["--json", "config", "list"]).ok().json();
    assert!(list.as_array().unwrap().iter().all(|e| e["source"] == "set"));
    // Setting the same value again changes nothing.
    let out = env.orc(["config", "set", "smtp.port", "465"]).ok();
    out.assert_stdout("smtp.port = 465  (unchanged)\n");
    // Unset returns each to its default.
    for (key, default) in DEFAULTS {
        env.orc(["config", "unset", key]).ok();
        let got = env.orc(["--json", "config", "get", key]).ok().json();
        assert_eq!(got["value"].as_str(), *default, "{key}");
        assert_eq!(got["default"], true);
    }
    // Audit: one row per change, with before/after values (settings are not secret).
    let conn = crate::support::exec::db(&env);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM audit WHERE object='setting'", [], |r| r.get(0))
        .unwrap();
    // One set and one unset per key (scheduler.prefix "" differs from its default "Orc_", so
    // it counts).
    assert_eq!(n, 2 * DEFAULTS.len() as i64);
}

#[test]
fn bad_values_exit_2_and_change_nothing() {
    let env = Env::new();
    env.orc(["config", "set", "smtp.host", "mail.example.com"]).ok();
    let before = env.db_bytes();
    let cases = [
        ("smtp.host", "mail.example.com:587", "smtp.port"),
        ("smtp.host", "bad host", "host name"),
        ("smtp.port", "0", "1 to 65535"),
        ("smtp.port", "70000", "1 to 65535"),
        ("smtp.port", "-1", "1 to 65535"),
        ("smtp.tls", "ssl", "starttls, tls, none"),
        ("smtp.tls", "none", "loopback"),
        ("smtp.timeout", "60s", "1s to 20s"),
        ("smtp.password_credential", "missing", "orc credential set"),
        ("mail.from", "nobody", "e-mail address"),
        ("mail.from", "a@example.com\r\nBcc: evil@example.com", "no line breaks"),
        ("mail.to", "a@example.com, not an address", "not an e-mail address"),
        ("notify.default", "sometimes", "failure, always, never"),
        ("notify.reminder_interval", "10s", "5m to 30d"),
        ("report.daily_time", "25:00", "HH:MM"),
        ("scheduler.folder", "Orchestrator", "starts and ends with \\"),
        ("scheduler.folder", "\\a\\..\\", ".."),
        ("scheduler.folder", "\\a/b\\", "no /"),
        ("scheduler.prefix", "has space", "A-Z a-z 0-9"),
        ("retention.days", "0", "1 to 3650"),
        ("retention.days", "ninety", "1 to 3650"),
        ("run_as.default", "a<b>", "DOMAIN\\user"),
        ("notify.channels", "ops,OPS", "channel listed twice"),
        ("notify.channels", "-x", "channel name"),
        ("notify.channels", "email,nope", "no such channel (`orc channel list`"),
        ("watch.channels", "nope", "no such channel (`orc channel list`"),
        ("dashboard.url", "ftp://orc.example.com", "http:// or https://"),
    ];
    for (key, value, rule_part) in cases {
        let out = env.orc(["config", "set", key, value]).code(2);
        assert!(out.stderr.contains(key), "{key}={value:?}: {}", out.stderr);
        assert!(out.stderr.contains(rule_part), "{key}={value:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    }
    for args in [
        &["config", "set", "smtp.hots", "x"][..],
        &["config", "get", "nope"][..],
        &["config", "unset", "nope"][..],
        &["config", "set", "smtp.port"][..],
    ] {
        let out = env.orc(args).code(2);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    }
    let out = env.orc(["--json", "config", "set", "smtp.hots", "x"]).code(2);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["kind"], "invalid_input");
    assert!(err["error"]["message"].as_str().unwrap().contains("did you mean smtp.host"));
    assert!(env.db_bytes() == before, "a refused change modified the database");
}

#[test]
fn tls_none_follows_the_host() {
    let env = Env::new();
    env.orc(["config", "set", "smtp.host", "localhost"]).ok();
    env.orc(["config", "set", "smtp.tls", "none"]).ok();
    // Moving the host off loopback while tls is none is refused too.
    let out = env.orc(["config", "set", "smtp.host", "relay.example.com"]).code(2);
    out.assert_stderr_line("error: invalid smtp.tls \"none\": an unencrypted SMTP connection is only allowed to a loopback relay (localhost, 127.0.0.1, ::1); smtp.host is relay.example.com — use starttls or tls");
    env.orc(["config", "set", "smtp.host", "127.0.0.1"]).ok();
    env.orc(["config", "set", "smtp.host", "::1"]).ok();
}

#[test]
fn scheduler_folder_and_prefix_follow_the_backends_limits() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    // The longest prefix the backend accepts is the longest the setting accepts.
    env.orc(["config", "set", "scheduler.prefix", &"p".repeat(16)]).ok();
    let out = env.orc(["config", "set", "scheduler.prefix", &"p".repeat(17)]).code(2);
    out.assert_stderr_line("error: invalid scheduler.prefix \"ppppppppppppppppp\": 0 to 16 characters from A-Z a-z 0-9 . _ -");
    // The root folder needs a prefix, whichever of the two is set last.
    env.orc(["config", "set", "scheduler.folder", "\\"]).ok();
    let out = env.orc(["config", "set", "scheduler.prefix", ""]).code(2);
    out.assert_stderr_line("error: invalid scheduler.prefix \"\": with scheduler.folder \\ (the root folder) the prefix cannot be empty: orc would take every task in the root folder for its own");
    env.orc(["config", "set", "scheduler.prefix", "Orc_"]).ok();
    env.orc(["config", "set", "scheduler.folder", "\\Jobs\\"]).ok();
    env.orc(["config", "set", "scheduler.prefix", ""]).ok();
    let out = env.orc(["config", "set", "scheduler.folder", "\\"]).code(2);
    out.assert_stderr_line("error: invalid scheduler.prefix \"\": with scheduler.folder \\ (the root folder) the prefix cannot be empty: orc would take every task in the root folder for its own");
    // The longest folder, prefix and name still make a registrable task path (238).
    let folder = format!("\\{}\\", "f".repeat(156));
    env.orc(["config", "set", "scheduler.folder", &folder]).ok();
    env.orc(["config", "set", "scheduler.prefix", &"p".repeat(16)]).ok();
    let name = "n".repeat(64);
    env.orc(["task", "add", &name, "--command", "echo hi", "--schedule", "0 6 * * *"]).ok();
    let out = env.orc(["schedule", "--validate", &name, "--json"]).ok();
    assert_eq!(out.json()["path"].as_str().map(|p| p.chars().count()), Some(238));
    env.orc(["schedule", "--all"]).ok();
    let too_long = format!("\\{}\\", "f".repeat(157));
    let out = env.orc(["config", "set", "scheduler.folder", &too_long]).code(2);
    out.assert_stderr_line(&format!(
        "error: invalid scheduler.folder \"\\\\{}… (159 characters)\": a Task Scheduler folder \
         that starts and ends with \\ (\\ alone is the root folder, which needs a prefix), at most \
         158 characters, no /, no empty, . or .. parts, no part with a leading or trailing space or \
         a trailing dot, none of < > : \" | ? * or control characters",
        "f".repeat(79)
    ));
}

#[test]
fn a_password_credential_reference_must_exist_and_be_of_an_smtp_kind() {
    let env = Env::new();
    env.orc(["config", "set", "smtp.password_credential", "nope"]).code(2).assert_stderr_line(
        "error: invalid smtp.password_credential \"nope\": no credential named \"nope\" exists — \
         store it first with `orc credential set nope --kind smtp_password`",
    );
    env.orc_with_stdin(
        ["credential", "set", "svc", "--kind", "account_password", "--from-stdin"],
        Some(b"pw"),
    )
    .ok();
    env.orc(["config", "set", "smtp.password_credential", "svc"]).code(2).assert_stderr_line(
        "error: invalid smtp.password_credential \"svc\": credential \"svc\" is of kind \
         account_password; it must be smtp_password or secret",
    );
    let got = env.orc(["--json", "config", "get", "smtp.password_credential"]).ok().json();
    assert_eq!(got["default"], true, "nothing changed: {got}");
}

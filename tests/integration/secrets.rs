//! The vault end to end: `orc credential …`, unlocking (and failing to), tampering, and the
//! canary leak scan (docs/design/reliability.md tests 13–15).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::Env;
use crate::support::smtp_probe::SmtpProbe;

fn canary(tag: &str) -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    format!("CANARY-{}-{tag}", hex::encode(b))
}

fn set(env: &Env, name: &str, value: &str) {
    env.orc_with_stdin(["credential", "set", name, "--from-stdin"], Some(value.as_bytes())).ok();
}

fn key_file(env: &Env) -> PathBuf {
    env.root().join("keys").join("vault.key")
}

/// Points SMTP at a probe server with `user` and the credential `cred`.
fn smtp_via_probe(env: &Env, probe: &SmtpProbe, cred: &str) {
    for (k, v) in [
        ("smtp.host", "127.0.0.1".to_string()),
        ("smtp.port", probe.port.to_string()),
        ("smtp.tls", "none".to_string()),
        ("smtp.user", "mailer".to_string()),
        ("mail.from", "orc@example.com".to_string()),
        ("smtp.password_credential", cred.to_string()),
    ] {
        env.orc(["config", "set", k, &v]).ok();
    }
}

#[test]
fn set_list_rm_round_trip() {
    let env = Env::new();
    let v1 = canary("list");
    let out = env
        .orc_with_stdin(["credential", "set", "db-password", "--from-stdin"], Some(v1.as_bytes()))
        .ok();
    out.assert_stdout("credential db-password created (kind secret)\n");
    let out = env
        .orc_with_stdin(
            ["--json", "credential", "set", "smtp", "--from-stdin", "--kind", "smtp_password"],
            Some(b"pw-one\n"),
        )
        .ok();
    assert_eq!(out.json()["action"], "created");
    assert_eq!(out.json()["kind"], "smtp_password");
    // Replacing keeps the kind.
    let out = env
        .orc_with_stdin(["--json", "credential", "set", "SMTP", "--from-stdin"], Some(b"pw-two"))
        .ok();
    assert_eq!(out.json()["action"], "replaced");
    assert_eq!(out.json()["kind"], "smtp_password");

    let out = env.orc(["credential", "list"]).ok();
    assert!(out.stdout.contains("db-password") && out.stdout.contains("smtp_password"));
    assert!(!out.stdout.contains(&v1) && !out.stdout.contains("pw-"));
    let list = env.orc(["--json", "credential", "list"]).ok().json();
    let names: Vec<&str> =
        list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["db-password", "smtp"]);
    for c in list.as_array().unwrap() {
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["created_at", "kind", "name", "updated_at"], "no value field");
        assert!(c["created_at"].as_str().unwrap().contains('T'));
    }

    env.orc(["credential", "rm", "db-password"]).ok();
    let out = env.orc(["credential", "rm", "db-password"]).code(3);
    out.assert_stderr_line("error: no such credential: \"db-password\"");
    let list = env.orc(["--json", "credential", "list"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Every change left an audit row without the value.
    let conn = crate::support::exec::db(&env);
    let rows: Vec<String> = conn
        .prepare("SELECT object || ' ' || coalesce(name,'') || ' ' || coalesce(before,'') || ' ' || coalesce(after,'') FROM audit WHERE object = 'credential'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|r| !r.contains("CANARY") && !r.contains("pw-")), "{rows:?}");
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let env = Env::new();
    set(&env, "first", "value-1");
    let before = env.db_bytes();
    for name in ["a b", "-x", "CON", "a/b", "trail.", &"n".repeat(65)] {
        // (No stdin: the name is refused before anything is read.)
        let out = env.orc(["credential", "set", name, "--from-stdin"]).code(2);
        assert!(out.stderr.contains("credential name"), "{name}: {}", out.stderr);
    }
    for value in [&b""[..], b"\n", b"\xff\xfe", b"a\0b"] {
        let out =
            env.orc_with_stdin(["credential", "set", "x", "--from-stdin"], Some(value)).code(2);
        assert!(out.stderr.contains("credential value"), "{value:?}: {}", out.stderr);
    }
    let big = vec![b'a'; 64 * 1024 + 1];
    env.orc_with_stdin(["credential", "set", "x", "--from-stdin"], Some(&big)).code(2);
    // No terminal and no --from-stdin: refuse to prompt, say how.
    let out = env.orc(["credential", "set", "x"]).code(2);
    out.assert_stderr_line("error: there is no terminal to ask for the value of credential \"x\"; pipe it in instead: `... | orc credential set x --from-stdin` (never put a secret on the command line)");
    env.orc(["credential", "rm", "a b"]).code(2);
    env.orc(["credential", "set", "x", "--from-stdin", "--kind", "bogus"]).code(2);
    assert!(env.db_bytes() == before, "a refused command changed the database");
}

#[test]
fn rm_refuses_while_a_setting_uses_it() {
    let env = Env::new();
    set(&env, "mailpw", "p1");
    env.orc(["config", "set", "smtp.password_credential", "mailpw"]).ok();
    let out = env.orc(["credential", "rm", "mailpw"]).code(2);
    out.assert_stderr_line("error: invalid credential \"mailpw\": it is still used by setting smtp.password_credential; change those first or pass --force");
    env.orc(["credential", "rm", "mailpw", "--force"]).ok();
    // A task whose --secret-env names it (written directly: tasks are another module's).
    set(&env, "sqlpw", "p2");
    let conn = crate::support::exec::db(&env);
    conn.execute(
        "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) VALUES ('nightly', 1, ?1, 'x', 'x')",
        [r#"{"name":"nightly","command":"backup","schedule":"0 2 * * *","secret_env":{"SQLPASS":"SQLPW"}}"#],
    )
    .unwrap();
    let out = env.orc(["credential", "rm", "sqlpw"]).code(2);
    out.assert_stderr_line("error: invalid credential \"sqlpw\": it is still used by task nightly; change those first or pass --force");
}

#[test]
fn key_file_is_private_and_outside_the_home() {
    let env = Env::new();
    set(&env, "x", "value");
    let key = key_file(&env);
    if cfg!(windows) {
        // DPAPI is the default there; a key file is added on request.
        assert!(!key.exists());
        env.orc(["credential", "add-key", "key-file"]).ok();
    }
    assert!(key.exists());
    assert!(!key.starts_with(env.home()));
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("orc-vault-key v1 "), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let keys = env.orc(["--json", "credential", "keys"]).ok().json();
    assert_eq!(keys[0]["method"], if cfg!(windows) { "dpapi_user" } else { "keyfile" });
    if cfg!(windows) {
        // With DPAPI removed, the key file alone unlocks (and it was written with an ACL that
        // keeps it readable by its owner).
        env.orc(["credential", "remove-key", "dpapi"]).ok();
        env.orc_with_stdin(["credential", "set", "x", "--from-stdin"], Some(b"v2")).ok();
    }
    // A key file inside the data directory is refused.
    let mut env2 = Env::new();
    let inside = env2.home().join("vault.key");
    env2.set_env("ORC_KEY_FILE", &inside);
    if !cfg!(windows) {
        let out =
            env2.orc_with_stdin(["credential", "set", "x", "--from-stdin"], Some(b"v")).code(6);
        assert!(out.stderr.contains("must not be inside the data directory"), "{}", out.stderr);
    }
}

/// A vault protected only by a passphrase (the key file method removed and its file deleted).
fn passphrase_only_vault(env: &Env, passphrase: &str) {
    set(env, "db", "secret-db");
    env.orc_with_stdin(
        ["credential", "add-key", "passphrase", "--passphrase-stdin"],
        Some(format!("{passphrase}\n").as_bytes()),
    )
    .ok();
    let default = if cfg!(windows) { "dpapi" } else { "key-file" };
    env.orc(["credential", "remove-key", default]).ok();
    let _ = std::fs::remove_file(key_file(env));
    let keys = env.orc(["--json", "credential", "keys"]).ok().json();
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["method"], "passphrase");
}

/// Runs orc with stdin closed and a deadline (2 s unless a passphrase must be derived):
/// a locked vault must fail fast, never prompt.
fn run_with_deadline(env: &Env, args: &[&str], extra_env: &[(&str, &str)]) -> (i32, String) {
    // Deriving a key from a passphrase (600,000 PBKDF2 rounds) in a debug build under Wine
    // takes longer than the bare "nothing can unlock" path; a prompt would block for ever.
    let limit = if extra_env.iter().any(|(k, _)| *k == "ORC_VAULT_PASSPHRASE") { 10 } else { 2 };
    let mut cmd = env.command();
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = crate::support::spawn(&mut cmd);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        if started.elapsed() > Duration::from_secs(limit) {
            let _ = child.kill();
            panic!("orc {args:?} did not finish within {limit} s (prompting or hanging?)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn locked_vault_fails_fast_without_prompting() {
    let env = Env::new();
    passphrase_only_vault(&env, "correct horse battery staple");
    for args in [
        &["credential", "rotate-key"][..],
        &["credential", "set", "y"][..],
        &["configure", "--test-smtp"][..],
    ] {
        // `credential set y` without --from-stdin is refused before unlocking (exit 2): the
        // point is that nothing prompts or waits.
        let (code, stderr) = run_with_deadline(&env, args, &[]);
        if args[1] == "set" {
            assert_eq!(code, 2, "{stderr}");
            continue;
        }
        if args[0] == "configure" {
            // No SMTP configured: the test reports that, it does not need the vault.
            assert_ne!(code, 0);
            continue;
        }
        assert_eq!(code, 6, "{args:?}: {stderr}");
        assert!(stderr.contains("secrets are locked"), "{stderr}");
        assert!(stderr.contains("ORC_VAULT_PASSPHRASE"), "{stderr}");
    }
    // With SMTP pointing at a password credential, the SMTP test must unlock: locked → 6.
    env.orc(["config", "set", "smtp.host", "127.0.0.1"]).ok();
    env.orc(["config", "set", "smtp.user", "u"]).ok();
    env.orc(["config", "set", "smtp.password_credential", "db"]).ok();
    let (code, stderr) = run_with_deadline(&env, &["configure", "--test-smtp"], &[]);
    assert_eq!(code, 6, "{stderr}");
}

#[test]
fn wrong_passphrase_exits_6_and_right_one_unlocks() {
    let env = Env::new();
    passphrase_only_vault(&env, "correct horse battery staple");
    let (code, stderr) = run_with_deadline(
        &env,
        &["credential", "rotate-key"],
        &[("ORC_VAULT_PASSPHRASE", "incorrect horse battery staple")],
    );
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("wrong"), "{stderr}");
    assert!(!stderr.contains("incorrect horse"), "the passphrase was echoed: {stderr}");
    let mut env = env;
    env.set_env("ORC_VAULT_PASSPHRASE", "correct horse battery staple");
    env.orc(["credential", "rotate-key"]).ok();
    env.orc_with_stdin(["credential", "set", "db", "--from-stdin"], Some(b"v2")).ok();
    // A passphrase shorter than 12 characters is refused when adding one.
    env.orc_with_stdin(
        ["credential", "add-key", "passphrase", "--passphrase-stdin"],
        Some(b"short\n"),
    )
    .code(2);
}

#[test]
fn missing_key_file_exits_6_naming_the_path() {
    let env = Env::new();
    if cfg!(windows) {
        return; // DPAPI is the default there; the key file is optional.
    }
    set(&env, "db", "v1");
    std::fs::remove_file(key_file(&env)).unwrap();
    let before = env.db_bytes();
    let out = env.orc_with_stdin(["credential", "set", "db", "--from-stdin"], Some(b"v2")).code(6);
    assert!(out.stderr.contains(&key_file(&env).display().to_string()), "{}", out.stderr);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
    assert!(env.db_bytes() == before);
}

#[cfg(unix)]
#[test]
fn loose_key_file_permissions_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    set(&env, "db", "v1");
    let key = key_file(&env);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.orc_with_stdin(["credential", "set", "db", "--from-stdin"], Some(b"v2")).code(6);
    assert!(out.stderr.contains("readable by group or others"), "{}", out.stderr);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    env.orc_with_stdin(["credential", "set", "db", "--from-stdin"], Some(b"v2")).ok();
}

/// docs/design/reliability.md test 13 through the CLI: swapped rows fail closed with one opaque error.
#[test]
fn swapped_ciphertexts_fail_closed() {
    let env = Env::new();
    let probe = SmtpProbe::start(Duration::ZERO);
    let (a, b) = (canary("a"), canary("b"));
    set(&env, "alpha", &a);
    set(&env, "beta", &b);
    smtp_via_probe(&env, &probe, "alpha");
    // Untampered: the probe receives alpha's value (and the trailing newline was not kept).
    env.orc_with_stdin(
        ["credential", "set", "alpha", "--from-stdin"],
        Some(format!("{a}\n").as_bytes()),
    )
    .ok();
    env.orc(["configure", "--test-smtp"]).ok();
    assert_eq!(probe.logins(), [("mailer".to_string(), a.clone())]);

    let conn = crate::support::exec::db(&env);
    let ea: Vec<u8> = conn
        .query_row("SELECT envelope FROM credentials WHERE name='alpha'", [], |r| r.get(0))
        .unwrap();
    let eb: Vec<u8> = conn
        .query_row("SELECT envelope FROM credentials WHERE name='beta'", [], |r| r.get(0))
        .unwrap();
    conn.execute("UPDATE credentials SET envelope=?1 WHERE name='alpha'", [&eb]).unwrap();
    conn.execute("UPDATE credentials SET envelope=?1 WHERE name='beta'", [&ea]).unwrap();
    let out = env.orc(["configure", "--test-smtp"]).code(6);
    assert!(out.stderr.contains("cannot decrypt credential \"alpha\""), "{}", out.stderr);
    assert!(!out.stderr.contains(&a) && !out.stderr.contains(&b));
    // A flipped bit in the tag, a truncated envelope, version 2: the same error.
    for tamper in [
        |mut e: Vec<u8>| {
            let n = e.len();
            e[n - 1] ^= 1;
            e
        },
        |e: Vec<u8>| e[..30].to_vec(),
        |mut e: Vec<u8>| {
            e[4] = 2;
            e
        },
    ] {
        conn.execute("UPDATE credentials SET envelope=?1 WHERE name='alpha'", [tamper(ea.clone())])
            .unwrap();
        let out = env.orc(["configure", "--test-smtp"]).code(6);
        assert!(out.stderr.contains("cannot decrypt credential \"alpha\""), "{}", out.stderr);
    }
    assert_eq!(probe.logins().len(), 1, "a tampered secret reached the server");
}

#[test]
fn rotate_key_keeps_values_and_replaces_the_key_file() {
    let env = Env::new();
    let probe = SmtpProbe::start(Duration::ZERO);
    let v = canary("rot");
    set(&env, "mail", &v);
    smtp_via_probe(&env, &probe, "mail");
    let old_key = std::fs::read(key_file(&env)).ok();
    let out = env.orc(["--json", "credential", "rotate-key"]).ok().json();
    assert_eq!(out["new_key_id"], 2);
    assert_eq!(out["credentials"], 1);
    if old_key.is_some() {
        assert_ne!(std::fs::read(key_file(&env)).ok(), old_key);
    }
    env.orc(["configure", "--test-smtp"]).ok();
    assert_eq!(probe.logins(), [("mailer".to_string(), v)]);
}

fn contains(hay: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    let utf16: Vec<u8> = needle.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    hay.windows(n.len()).any(|w| w == n) || hay.windows(utf16.len()).any(|w| w == utf16)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// docs/design/reliability.md test 15: canaries set, replaced, deleted, key rotated, checkpointed — then
/// they appear nowhere: not in orc.db, its WAL, any file under the home, orc's output (at
/// trace level), nor any process command line while an orc process holds a decrypted secret.
#[test]
fn canary_leak_scan() {
    let mut env = Env::new();
    env.set_env("ORC_LOG", "trace");
    let probe = SmtpProbe::start(Duration::from_millis(1500));
    let c_first = canary("first");
    let c_second = canary("second");
    let c_deleted = canary("deleted");
    let c_smtp = canary("smtp");
    let all = [&c_first, &c_second, &c_deleted, &c_smtp];
    let mut outputs = String::new();
    let mut run = |args: &[&str], stdin: Option<&str>| {
        let out = env.orc_with_stdin(args, stdin.map(str::as_bytes)).ok();
        outputs.push_str(&out.stdout);
        outputs.push_str(&out.stderr);
    };
    run(&["-vv", "credential", "set", "api", "--from-stdin"], Some(&c_first));
    run(&["-vv", "credential", "set", "api", "--from-stdin"], Some(&c_second)); // replaced
    run(&["-vv", "credential", "set", "gone", "--from-stdin"], Some(&c_deleted));
    run(&["-vv", "credential", "rm", "gone"], None);
    run(&["-vv", "credential", "rotate-key"], None);
    run(
        &["-vv", "credential", "set", "smtp", "--from-stdin", "--kind", "smtp_password"],
        Some(&c_smtp),
    );
    run(&["credential", "list"], None);
    run(&["config", "list"], None);
    smtp_via_probe(&env, &probe, "smtp");

    // An orc process that has decrypted the SMTP password and waits for the server's greeting:
    // snapshot every process's command line (and orc's own environment) meanwhile.
    let mut cmd = env.command();
    cmd.args(["-vvv", "configure", "--test-smtp"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = crate::support::spawn(&mut cmd);
    let pid = child.id();
    let mut snapshots: Vec<(String, Vec<u8>)> = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(1200);
    #[cfg(target_os = "linux")]
    while Instant::now() < deadline {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(b) = std::fs::read(e.path().join("cmdline")) {
                snapshots.push((format!("{}/cmdline", e.path().display()), b));
            }
        }
        if let Ok(b) = std::fs::read(format!("/proc/{pid}/environ")) {
            snapshots.push((format!("/proc/{pid}/environ"), b));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = (deadline, &mut snapshots, pid);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(probe.logins(), [("mailer".to_string(), c_smtp.clone())], "the secret was used");
    #[cfg(target_os = "linux")]
    assert!(snapshots.iter().any(|(p, _)| p.ends_with(&format!("{pid}/cmdline"))), "orc was seen");
    outputs.push_str(&String::from_utf8_lossy(&out.stdout));
    outputs.push_str(&String::from_utf8_lossy(&out.stderr));

    let mut files = Vec::new();
    files_under(&env.home(), &mut files);
    files_under(&env.root().join("keys"), &mut files);
    assert!(files.iter().any(|f| f.ends_with("orc.db")));
    for c in all {
        assert!(!outputs.contains(c.as_str()), "{c} in orc's output");
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            assert!(!contains(&bytes, c), "{c} found in {}", f.display());
        }
        for (what, bytes) in &snapshots {
            assert!(!contains(bytes, c), "{c} found in {what}");
        }
    }
    // The WAL was checkpointed (truncated) after the last change of a secret.
    let wal = env.home().join("orc.db-wal");
    if let Ok(meta) = std::fs::metadata(&wal) {
        assert!(!contains(&std::fs::read(&wal).unwrap(), &c_first), "{}", meta.len());
    }
}

/// The hidden prompts: `credential set` asks twice without echo; a passphrase-only vault asks
/// for its passphrase on a terminal (and only there).
#[cfg(unix)]
#[test]
fn prompts_on_a_terminal() {
    use rexpect::session::{Options, spawn_with_options};
    let env = Env::new();
    let probe = SmtpProbe::start(Duration::ZERO);
    let value = canary("typed");
    let spawn = |args: &[&str]| {
        let mut cmd = env.command();
        cmd.env("TERM", "xterm").args(args);
        spawn_with_options(
            cmd,
            Options::new().timeout_ms(Some(30_000)).strip_ansi_escape_codes(true),
        )
        .unwrap()
    };
    // A hidden prompt turns echo off with TCSAFLUSH, which drops input typed before it: wait
    // for the prompt, give it a moment, then type.
    let answer = |p: &mut rexpect::session::PtySession, prompt: &str, text: &str| {
        p.exp_string(prompt).unwrap_or_else(|e| panic!("waiting for {prompt:?}: {e}"));
        std::thread::sleep(Duration::from_millis(300));
        p.send_line(text).unwrap();
    };
    let mut p = spawn(&["credential", "set", "typed"]);
    answer(&mut p, "Value for typed", "first-try");
    answer(&mut p, "Repeat to confirm", "different");
    p.exp_string("differ").unwrap();
    answer(&mut p, "Value for typed", &value);
    answer(&mut p, "Repeat to confirm", &value);
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("credential typed created"), "{rest}");
    assert!(!rest.contains(&value), "the value was echoed: {rest}");

    passphrase_only_vault(&env, "correct horse battery staple");
    smtp_via_probe(&env, &probe, "typed");
    // `configure` with flags is for scripts: even on a terminal it never prompts (exit 6).
    let mut p = spawn(&["configure", "--test-smtp"]);
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("secrets are locked"), "{rest}");
    // An interactive command asks for the passphrase (up to three times).
    let mut p = spawn(&["credential", "rotate-key"]);
    answer(&mut p, "Vault passphrase", "wrong passphrase here");
    p.exp_string("[hidden]").unwrap(); // the first prompt's summary line
    answer(&mut p, "Vault passphrase", "correct horse battery staple");
    let rest = p.exp_eof().unwrap();
    assert!(rest.contains("new data key 2"), "{rest}");
    assert!(!rest.contains("correct horse"), "{rest}");
    assert!(probe.logins().is_empty());
}

/// Eight processes storing their first credentials at once on a fresh home end up with one
/// vault: one data key, one key file, every value encrypted under it.
#[test]
fn concurrent_first_use_creates_one_vault() {
    let env = Env::new();
    std::thread::scope(|s| {
        for i in 0..8 {
            let env = &env;
            s.spawn(move || {
                let name = format!("c{i}");
                env.orc_with_stdin(["credential", "set", &name, "--from-stdin"], Some(b"value"))
                    .ok();
            });
        }
    });
    let keys = env.orc(["--json", "credential", "keys"]).ok().json();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    // Rotation decrypts every credential with the one data key.
    let out = env.orc(["--json", "credential", "rotate-key"]).ok().json();
    assert_eq!(out["credentials"], 8);
}

/// `(pid, "cmdline" | "environ", bytes)` of processes seen under `/proc`.
#[cfg(target_os = "linux")]
type ProcSnapshots = Vec<(u32, &'static str, Vec<u8>)>;

/// Every process's command line and environment that can be read now.
#[cfg(target_os = "linux")]
fn proc_snapshot(out: &mut ProcSnapshots) {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        for what in ["cmdline", "environ"] {
            if let Ok(b) = std::fs::read(e.path().join(what)) {
                out.push((pid, what, b));
            }
        }
    }
}

/// Scans `/proc` until `child` exits; returns the snapshots.
#[cfg(target_os = "linux")]
fn scan_while_running(mut child: std::process::Child) -> (std::process::Output, ProcSnapshots) {
    let mut seen = Vec::new();
    while child.try_wait().unwrap().is_none() {
        proc_snapshot(&mut seen);
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), seen)
}

/// issue 12 finding 13: while `orc schedule` registers a task that has a `--secret-env` and a
/// run-as account whose password is in the vault, and while `orc execute` runs a task that
/// holds its secret, no process's command line carries either canary (the run-as password
/// only as schtasks' own `/RP` argument, the documented exception), and no environment but
/// the task child's own carries the task's secret.
#[cfg(target_os = "linux")]
#[test]
fn no_secret_on_any_command_line_during_schedule_and_execute() {
    use crate::support::exec::{child, scratch};
    let mut env = Env::new();
    env.with_fake_schtasks();
    env.set_env("FAKE_SCHTASKS_DELAY_MS", "150"); // each schtasks call lives long enough to be seen
    let c_task = canary("taskenv");
    let c_runas = canary("runas");
    set(&env, "api", &c_task);
    set(&env, "run-as-svc_orc", &c_runas);
    let pidfile = scratch(&env, "child.pid");
    let sleeper = child(&["pidfile", &pidfile, "sleep", "1500"]);
    for (name, extra) in [("registered", &["--run-as", "svc_orc"][..]), ("sleeper", &[][..])] {
        let mut args = vec![
            "task",
            "add",
            name,
            "--shell",
            "none",
            "--command",
            &sleeper,
            "--schedule",
            "0 2 * * *",
            "--secret-env",
            "API_TOKEN=api",
        ];
        args.extend_from_slice(extra);
        env.orc(&args).ok();
    }

    let spawn = |args: &[&str]| {
        env.command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (out, mut seen) = scan_while_running(spawn(&["schedule", "--all"]));
    let sched_stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{sched_stderr}");
    let schtasks =
        seen.iter().filter(|(_, w, b)| *w == "cmdline" && contains(b, "/Create")).count();
    assert!(schtasks > 0, "a schtasks /Create was seen while it ran");
    let (out, during_exec) = scan_while_running(spawn(&["execute", "--task", "sleeper"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    seen.extend(during_exec);
    let task_pid: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();

    let mut child_env_seen = false;
    for (pid, what, bytes) in &seen {
        let args: Vec<&[u8]> = bytes.split(|b| *b == 0).collect();
        if *what == "cmdline" {
            assert!(!contains(bytes, &c_task), "the task secret is on the command line of {pid}");
            // The run-as password: only as the argument right after schtasks' `/RP`.
            for (i, a) in args.iter().enumerate() {
                if contains(a, &c_runas) {
                    assert!(
                        i > 0 && args[i - 1] == b"/RP",
                        "run-as password in {pid}'s command line"
                    );
                }
            }
        } else if *pid == task_pid {
            child_env_seen |= contains(bytes, &c_task);
        } else {
            assert!(!contains(bytes, &c_task), "the task secret is in the environment of {pid}");
            assert!(
                !contains(bytes, &c_runas),
                "the run-as password is in the environment of {pid}"
            );
        }
    }
    assert!(child_env_seen, "the scan saw the task child's own environment holding its secret");
}

//! Secrets in a fleet (issue 18): the vault key wrapped per host, `orc host enroll`, and
//! revoking a host's wraps. Hosts are simulated with `ORC_HOSTNAME` and a key file of their
//! own (`ORC_KEY_FILE`) sharing one home.

use std::path::PathBuf;
use std::process::Stdio;

use crate::support::exec::*;
use crate::support::{Env, Output};

const PASSPHRASE: &str = "correct horse battery staple";

/// The key file of simulated host `host`.
fn key_of(env: &Env, host: &str) -> PathBuf {
    env.root().join(format!("keys-{host}")).join("vault.key")
}

/// `orc ARGS` as host `host` (its own key file), with `stdin` and extra variables.
fn on(env: &Env, host: &str, args: &[&str], stdin: Option<&str>, vars: &[(&str, &str)]) -> Output {
    use std::io::Write;
    let mut cmd = env.command();
    cmd.env("ORC_HOSTNAME", host).env("ORC_KEY_FILE", key_of(env, host)).args(args);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run orc");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().expect("wait for orc");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// (method, host) of each wrap, as `credential keys --json` lists them.
fn wraps(env: &Env, host: &str) -> Vec<(String, Option<String>)> {
    let keys = on(env, host, &["--json", "credential", "keys"], None, &[]).ok().json();
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| (k["method"].as_str().unwrap().to_string(), k["host"].as_str().map(Into::into)))
        .collect()
}

fn wrap(method: &str, host: Option<&str>) -> (String, Option<String>) {
    (method.to_string(), host.map(Into::into))
}

/// Host `a` creates the vault (its key file) with the credential `api` and the task `t` that
/// receives it as API_TOKEN; hosts `a` and `b` are known.
fn vault_on_a(env: &Env) {
    for h in ["a", "b"] {
        env.orc(["host", "add", h]).ok();
    }
    on(env, "a", &["credential", "set", "api", "--from-stdin"], Some("tok-fleet-1"), &[]).ok();
    let command = child(&["env", "API_TOKEN"]);
    let args = ["task", "add", "t", "--shell", "none", "--command", &command];
    let mut args = args.to_vec();
    args.extend(["--schedule", "0 2 * * *", "--secret-env", "API_TOKEN=api"]);
    env.orc(&args).ok();
}

/// Runs `t` on `host`: Ok(its recorded stdout) or Err(orc's exit code and report) when it
/// exits non-zero.
fn run_t(env: &Env, host: &str) -> Result<String, String> {
    let out = on(env, host, &["execute", "--task", "t"], None, &[]);
    if out.code != 0 {
        return Err(format!("exit {}: {}{}", out.code, out.stdout, out.stderr));
    }
    let runs = on(env, host, &["--json", "history", "--task", "t"], None, &[]).ok().json();
    let last = runs.as_array().unwrap().first().unwrap().clone();
    assert_eq!(last["host"], host, "{last}");
    Ok(last["stdout_tail"].as_str().unwrap().to_string())
}

#[test]
fn an_enrolled_host_opens_the_vault_until_it_is_removed() {
    let env = Env::new();
    vault_on_a(&env);
    on(
        &env,
        "a",
        &["credential", "add-key", "passphrase", "--passphrase-stdin"],
        Some(&format!("{PASSPHRASE}\n")),
        &[],
    )
    .ok();
    let masked = run_t(&env, "a").unwrap();
    assert!(masked.contains("\"API_TOKEN\":\""), "the task got its secret: {masked}");
    assert!(!masked.contains("tok-fleet-1"), "masked in output: {masked}");

    // Host b: a's key-file wrap is not tried there (no "wrong key file" failure), the
    // passphrase is not given: locked, saying what to do.
    let err = run_t(&env, "b").unwrap_err();
    assert!(err.starts_with("exit 6"), "{err}");
    assert!(
        err.contains(
            "the vault key is wrapped for host a but not for this host (b): enroll it with `orc \
             host enroll`"
        ),
        "{err}"
    );
    assert!(!err.contains("does not belong to this vault"), "a's wrap was tried on b: {err}");
    assert_eq!(wraps(&env, "b"), vec![wrap("keyfile", Some("a")), wrap("passphrase", None)]);
    let listing = on(&env, "b", &["credential", "keys"], None, &[]).ok().stdout;
    let a_line = listing.lines().find(|l| l.starts_with("keyfile")).unwrap();
    let a_key = key_of(&env, "a").display().to_string();
    assert!(a_line.ends_with(&format!("{a_key} on host a (not tried here)")), "{listing}");
    assert!(listing.starts_with("METHOD      KEY  HOST"), "{listing}");

    // Enrolling without an approving key is refused and changes nothing.
    let before = env.db_bytes();
    let out = on(&env, "b", &["host", "enroll"], None, &[]).code(6);
    assert!(out.stderr.contains("ORC_VAULT_PASSPHRASE"), "{}", out.stderr);
    assert!(env.db_bytes() == before, "a refused enrolment changes nothing");
    assert!(!key_of(&env, "b").exists());

    let pass = [("ORC_VAULT_PASSPHRASE", PASSPHRASE)];
    on(&env, "b", &["host", "enroll"], None, &pass).ok().assert_stdout(&format!(
        "enrolled host b: the vault key is now also protected by keyfile here (key file {}; \
         back it up)\n",
        key_of(&env, "b").display()
    ));
    // b now runs the task by itself (no passphrase), and a still does.
    assert_eq!(run_t(&env, "b").unwrap(), masked);
    assert_eq!(run_t(&env, "a").unwrap(), masked);
    let three =
        vec![wrap("keyfile", Some("a")), wrap("keyfile", Some("b")), wrap("passphrase", None)];
    assert_eq!(wraps(&env, "b"), three);
    // Re-enrolling replaces b's wrap.
    on(&env, "b", &["host", "enroll"], None, &pass).ok().assert_stdout_has_line(&format!(
        "re-enrolled host b: the vault key is now also protected by keyfile here (key file \
             {}; back it up)",
        key_of(&env, "b").display()
    ));
    assert_eq!(wraps(&env, "a"), three);
    let audit = orc::audit::entries_for(&crate::support::exec::db(&env), "host_key", "b").unwrap();
    assert_eq!(audit.len(), 2, "one audit row per enrolment");

    // Removing host b removes its wrap: b is locked again, a is not.
    on(&env, "a", &["host", "rm", "b"], None, &[])
        .ok()
        .assert_stdout("removed host b and its vault key wrap\n");
    assert_eq!(wraps(&env, "a"), vec![wrap("keyfile", Some("a")), wrap("passphrase", None)]);
    assert!(run_t(&env, "b").unwrap_err().starts_with("exit 6"));
    assert_eq!(run_t(&env, "a").unwrap(), masked);
}

#[test]
fn enrolment_by_key_file_and_the_last_wrap_is_kept() {
    let env = Env::new();
    // No vault yet: nothing to enroll into.
    let out = on(&env, "b", &["host", "enroll"], None, &[]).code(6);
    assert!(out.stderr.contains("no vault has been set up yet"), "{}", out.stderr);
    vault_on_a(&env);

    // A key file that does not open this vault is refused; nothing changes.
    let stray = env.root().join("stray").join("vault.key");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    let other = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 32]);
    std::fs::write(&stray, format!("orc-vault-key v1 {other}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stray, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let before = env.db_bytes();
    let stray_arg = stray.display().to_string();
    on(&env, "b", &["host", "enroll", "--key-file", &stray_arg], None, &[])
        .code(6)
        .assert_stderr_line(&format!(
            "error: secrets are locked: key file {stray_arg} does not open this vault"
        ));
    assert!(env.db_bytes() == before);

    // Approved by a's key file (copied to b): b gets its own wrap.
    let a_key = key_of(&env, "a").display().to_string();
    on(&env, "b", &["host", "enroll", "--key-file", &a_key], None, &[]).ok();
    run_t(&env, "b").unwrap();

    // Revoking b keeps a; a's wrap is then the last one and can be neither revoked nor removed.
    on(&env, "a", &["host", "revoke", "b"], None, &[])
        .ok()
        .assert_stdout("revoked host b and its vault key wrap\n");
    assert!(run_t(&env, "b").unwrap_err().starts_with("exit 6"));
    assert_eq!(wraps(&env, "a"), vec![wrap("keyfile", Some("a"))]);
    let before = env.db_bytes();
    let last = "error: invalid host name \"a\": its vault key wrap is the last one that opens \
                the vault; enroll another host or add a passphrase (`orc credential add-key \
                passphrase`) first";
    on(&env, "a", &["host", "rm", "a"], None, &[]).code(2).assert_stderr_line(last);
    on(&env, "b", &["host", "revoke", "a"], None, &[]).code(2).assert_stderr_line(last);
    on(&env, "a", &["host", "revoke", "b"], None, &[]).code(2).assert_stderr_line(
        "error: invalid host name \"b\": the vault key has no wrap of this host (see `orc \
         credential keys`)",
    );
    assert!(env.db_bytes() == before, "refusals change nothing");

    // Rotating the key on a drops b's wrap (it cannot be re-made on a) and says so.
    on(&env, "b", &["host", "enroll", "--key-file", &a_key], None, &[]).ok();
    on(&env, "a", &["credential", "rotate-key"], None, &[])
        .ok()
        .assert_stdout_has_line("the wraps of host b were dropped: run `orc host enroll` on each");
    assert_eq!(wraps(&env, "a"), vec![wrap("keyfile", Some("a"))]);
    run_t(&env, "a").unwrap();
}

//! Regression tests for issue 12 (hardening): each test names the finding it keeps fixed.
//! Crontab findings live in `crontab.rs` / `crontab_real.rs`, the migration one in
//! `migrate.rs`, the command-line scan in `secrets.rs`.

use std::process::Stdio;

use crate::support::Env;
use crate::support::exec::{child, runs_dir};

fn utf16(text: &str, be: bool) -> Vec<u8> {
    text.encode_utf16().flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Finding 2: a secret printed as UTF-16LE (stdout) and UTF-16BE (stderr) is masked in the
/// stored head/tail, the spill file and everything read from them (`history --run`, JSON).
#[test]
fn secrets_printed_as_utf16_are_masked_everywhere() {
    let env = Env::new();
    let secret = "Hunter2-CANARY-u16";
    env.orc_with_stdin(["credential", "set", "api", "--from-stdin"], Some(secret.as_bytes())).ok();
    let mut le = vec![0xFF, 0xFE];
    le.extend(utf16(&format!("token={secret}\r\n"), false));
    let mut be = vec![0xFE, 0xFF];
    be.extend(utf16(&format!("err {secret}!"), true));
    let command = child(&["hex", &hex::encode(&le), "hexerr", &hex::encode(&be)]);
    env.orc([
        "task",
        "add",
        "u16",
        "--shell",
        "none",
        "--command",
        &command,
        "--schedule",
        "0 2 * * *",
        "--secret-env",
        "API=api",
    ])
    .ok();
    env.orc(["execute", "--task", "u16"]).ok();

    let forms = [secret.as_bytes().to_vec(), utf16(secret, false), utf16(secret, true)];
    let mut files = vec![env.db()];
    files.extend(std::fs::read_dir(runs_dir(&env)).unwrap().flatten().map(|e| e.path()));
    assert!(files.len() >= 2, "a spill file was written: {files:?}");
    let mut wal = env.db().into_os_string();
    wal.push("-wal");
    files.push(wal.into());
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else { continue };
        for form in &forms {
            assert!(!contains(&bytes, form), "the secret is in {}", f.display());
        }
    }
    // The spill interleaves the two streams as they arrive; the redactor holds back only
    // bytes that may begin a secret, so the masked stdout line (with its final NUL and
    // "\r\n") is not pushed behind the stderr part (it was, under Wine, before the fix).
    let spilled = std::fs::read(runs_dir(&env).join("1.log")).unwrap();
    assert!(
        contains(&spilled, &utf16("token=******", false)),
        "masked in its own encoding: {spilled:?}"
    );
    assert!(contains(&spilled, &utf16("err ******!", true)));

    let shown = env.orc(["history", "--run", "1"]).ok().stdout;
    assert!(shown.contains("token=******"), "{shown}");
    assert!(shown.contains("err ******!"), "{shown}");
    assert!(!shown.contains(secret), "{shown}");
    let json = env.orc(["--json", "history", "--run", "1"]).ok().stdout;
    assert!(json.contains("token=******") && !json.contains(secret), "{json}");
}

/// Finding 7: a key given twice in an import document is refused, naming it and where.
#[test]
fn import_refuses_duplicate_keys_at_any_depth() {
    let env = Env::new();
    let cases = [
        (
            r#"{"orc_export":1,"tasks":[{"name":"a","command":"echo SAFE","command":"echo EVIL","schedule":"@daily"}]}"#,
            r#"key "command" appears twice in the object at tasks[0]"#,
        ),
        (
            r#"{"orc_export":1,"tasks":[{"name":"a","command":"x","schedule":"@daily","env":{"K":"1","K":"2"}}]}"#,
            r#"key "K" appears twice in the object at tasks[0].env"#,
        ),
        (
            r#"{"orc_export":1,"tasks":[],"tasks":[]}"#,
            r#"key "tasks" appears twice in the object at $"#,
        ),
    ];
    for (i, (doc, want)) in cases.iter().enumerate() {
        let path = env.root().join(format!("dup{i}.json"));
        std::fs::write(&path, doc).unwrap();
        let before = env.db_bytes();
        for dry in [true, false] {
            let mut args = vec!["task", "import", path.to_str().unwrap()];
            if dry {
                args.push("--dry-run");
            }
            let out = env.orc(&args).code(2);
            assert!(
                out.stderr.starts_with("error: ") && out.stderr.contains(want),
                "{}",
                out.stderr
            );
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        }
        assert_eq!(env.db_bytes(), before);
    }
}

/// Finding 8: with `--shell none`, a bare program name is never found in the working
/// directory through an empty, `.` or relative PATH entry.
#[cfg(unix)]
#[test]
fn shell_none_never_runs_a_program_from_the_working_directory() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let work = env.root().join("work");
    std::fs::create_dir_all(work.join("bin")).unwrap();
    let marker = env.root().join("planted-ran");
    for p in [work.join("planted"), work.join("bin").join("planted")] {
        std::fs::write(&p, format!("#!/bin/sh\ntouch '{}'\n", marker.display())).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let work = work.to_str().unwrap();
    for path in [":/usr/bin:/bin", "/usr/bin:/bin:", ".:/usr/bin", "bin:/usr/bin"] {
        env.orc([
            "task",
            "add",
            "p",
            "--shell",
            "none",
            "--command",
            "planted",
            "--schedule",
            "@daily",
            "--workdir",
            work,
            "--env",
            &format!("PATH={path}"),
            "--allow-env-override",
        ])
        .ok();
        let out = env.orc(["execute", "--task", "p"]);
        assert_ne!(out.code, 0, "PATH {path:?}: {}", out.stdout);
        assert!(!marker.exists(), "PATH {path:?} ran the planted program");
        let runs = env.orc(["--json", "history", "--task", "p", "--limit", "1"]).ok().json();
        let error = runs[0]["error"].as_str().unwrap_or("");
        assert!(error.contains("not found on PATH"), "PATH {path:?}: {error}");
        env.orc(["task", "rm", "p"]).ok();
    }
}

/// Finding 9: extreme durations and times are refused with exit 2 and a message (no panic).
#[test]
fn extreme_durations_and_times_exit_2_without_a_panic() {
    let env = Env::new();
    env.orc(["task", "add", "t", "--command", "true", "--schedule", "@daily", "--shell", "sh"])
        .ok();
    let refused: &[&[&str]] = &[
        &["history", "--since", "9999999999d"],
        &["history", "--since", "2562047788015215h"],
        &["history", "--since", "106751991167d"],
        &["history", "--since", "+262142-12-31T00:00:00"],
        &["db", "prune", "--older-than", "9999999999d"],
        &["db", "prune", "--older-than", "18446744073709551615s"],
        &["task", "edit", "t", "--timeout", "9999999999d"],
        &["task", "edit", "t", "--retry-delay", "18446744073709551615"],
        &["report", "daily", "--date", "+262143-12-31"],
        &["report", "daily", "--date", "-262144-01-01"],
        &["cron", "next", "* * * * *", "--from", "+262142-12-31T23:59:59"],
    ];
    for args in refused {
        let out = env.orc(*args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
    // The clock at the edges of what ORC_NOW accepts: commands work (no overflow).
    for now in ["9999-12-31T23:59:59", "0001-01-01T00:00:00"] {
        for args in [
            &["history", "--since", "3650000d"][..],
            &["db", "prune", "--older-than", "36500d", "--dry-run"],
            &["report", "daily"],
            &["status"],
        ] {
            let mut cmd = env.command();
            cmd.args(args).env("ORC_NOW", now).stdin(Stdio::null());
            let out = cmd.output().unwrap();
            let code = out.status.code().unwrap_or(-1);
            assert!(
                code == 0 || code == 2,
                "ORC_NOW={now} {args:?}: exit {code}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Finding 11: usage errors are one line naming the missing arguments, exit 2.
#[test]
fn usage_errors_are_one_line_naming_what_is_missing() {
    let env = Env::new();
    for (args, want) in [
        (&["execute"][..], "error: missing required argument --task <NAME>"),
        (&["task", "add", "x"], "error: missing required arguments --command <"),
        (&["schedule"], "error: missing required argument (one of --task <NAME>, --all"),
        (&["history", "--bogus"], "error: unexpected argument '--bogus' found"),
    ] {
        let out = env.orc(args).code(2);
        assert!(out.stderr.starts_with(want), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
}

/// Finding 11: the schedule summary counts a failed create as failed, not created.
#[test]
fn schedule_summary_counts_failed_creates_apart() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    env.without_watch_task();
    env.orc(["task", "add", "t", "--command", "true", "--schedule", "@daily", "--shell", "sh"])
        .ok();
    env.set_env("FAKE_SCHTASKS_MODE", "access-denied");
    let out = env.orc(["schedule", "--all"]).code(4);
    let summary = out.stdout.lines().last().unwrap();
    assert!(
        summary.ends_with(": 0 created, 0 updated, 0 deleted, 0 unchanged, 1 failed"),
        "{summary}"
    );
}

/// Finding 11: no ANSI escape reaches a pipe (cron.log), even with diagnostics on and no
/// `NO_COLOR`; clap's help on a pipe has none either.
#[test]
fn piped_output_has_no_colour_codes() {
    let env = Env::new();
    env.orc(["task", "add", "t", "--command", "true", "--schedule", "@daily", "--shell", "sh"])
        .ok();
    for args in [
        &["-vv", "execute", "--task", "t"][..],
        &["-vvv", "status"],
        &["task", "add", "--help"],
        &["execute"],
    ] {
        let out = env
            .command()
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(!bytes.contains(&0x1b), "{args:?} {what}: {}", String::from_utf8_lossy(bytes));
        }
        if args[0] == "-vv" {
            assert!(String::from_utf8_lossy(&out.stderr).contains("DEBUG"), "diagnostics were on");
        }
    }
}

/// Finding 11: on a terminal, colour is used unless NO_COLOR is set (non-empty).
#[cfg(unix)]
#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let env = Env::new();
    env.orc(["task", "add", "t", "--command", "true", "--schedule", "@daily", "--shell", "sh"])
        .ok();
    for (no_color, want_colour) in [(None, true), (Some(""), true), (Some("1"), false)] {
        let mut cmd = env.command();
        cmd.env_remove("NO_COLOR")
            .env("TERM", "xterm-256color")
            .args(["-vv", "execute", "--task", "t"]);
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let options = rexpect::session::Options::new()
            .timeout_ms(Some(30_000))
            .strip_ansi_escape_codes(false);
        let mut session = rexpect::session::spawn_with_options(cmd, options).unwrap();
        let seen = session.exp_eof().unwrap();
        assert!(seen.contains("DEBUG"), "{seen}");
        assert_eq!(seen.contains('\u{1b}'), want_colour, "NO_COLOR={no_color:?}: {seen:?}");
    }
}

/// Finding 9: a timeout no `Instant` can hold (a database written by something else than
/// orc's validated commands) means "no deadline", not a panic.
#[test]
fn an_unrepresentable_timeout_in_the_database_does_not_panic() {
    let env = Env::new();
    env.orc(["task", "list"]).ok();
    crate::support::exec::add_task(&env, "huge", &child(&["exit", "0"]), |s| {
        s.timeout = Some(u64::MAX);
    });
    env.orc(["execute", "--task", "huge"]).ok();
}

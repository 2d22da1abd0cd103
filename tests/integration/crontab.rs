//! `orc schedule` / `orc unschedule` with the crontab backend, against a fake `crontab`
//! program (a small shell script that keeps the crontab in a file and logs its calls):
//! one read and no write when nothing changed, foreign lines kept byte for byte, disabled
//! tasks, removals, two homes, refusals, drift, the dry-run JSON, `--list`, and the
//! registered line itself run through `sh` the way cron runs it.

#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::redact::TIMES;
use crate::support::{Env, Redactor, redact, snapshot_settings};

/// The fake `crontab`: `-l` prints the stored crontab (or "no crontab for tester", exit 1),
/// `-` stores stdin (refusing text without a final newline like Vixie cron), `-r` deletes it.
/// A file `refuse` makes every call fail with its content on stderr; `refuse-write` only `-`;
/// `lose-write` makes `-` report success and store nothing (a concurrent writer won).
const FAKE: &str = r#"#!/bin/sh
dir=$(dirname "$0")
echo "$*" >> "$dir/calls.log"
if [ -f "$dir/refuse" ]; then cat "$dir/refuse" >&2; exit 1; fi
case "$1" in
  -l)
    if [ -f "$dir/crontab.txt" ]; then cat "$dir/crontab.txt"; exit 0; fi
    echo "no crontab for tester" >&2; exit 1 ;;
  -)
    if [ -f "$dir/refuse-write" ]; then cat "$dir/refuse-write" >&2; exit 1; fi
    if [ -f "$dir/lose-write" ]; then cat > /dev/null; exit 0; fi
    new="$dir/crontab.new.$$"
    cat > "$new" || exit 1
    if [ -s "$new" ] && [ -n "$(tail -c1 "$new")" ]; then
      rm -f "$new"
      echo "new crontab file is missing newline before EOF, can't install." >&2; exit 1
    fi
    mv "$new" "$dir/crontab.txt" ;;
  -r)
    if [ -f "$dir/crontab.txt" ]; then rm -f "$dir/crontab.txt"; exit 0; fi
    echo "no crontab for tester" >&2; exit 1 ;;
  *) echo "usage: crontab [-l | -r | -]" >&2; exit 1 ;;
esac
"#;

/// The fake crontab's directory: the script, the stored crontab and the call log.
struct Fake {
    dir: PathBuf,
}

impl Fake {
    fn new(root: &Path) -> Fake {
        let dir = root.join("fakecron");
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("crontab");
        std::fs::write(&script, FAKE).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Fake { dir }
    }

    fn program(&self) -> PathBuf {
        self.dir.join("crontab")
    }

    /// The stored crontab (`None`: the user has none).
    fn bytes(&self) -> Option<Vec<u8>> {
        std::fs::read(self.dir.join("crontab.txt")).ok()
    }

    fn text(&self) -> String {
        String::from_utf8(self.bytes().unwrap_or_default()).unwrap()
    }

    fn set(&self, bytes: &[u8]) {
        std::fs::write(self.dir.join("crontab.txt"), bytes).unwrap();
    }

    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Runs `f` and returns the calls it made.
    fn calls_during(&self, f: impl FnOnce()) -> Vec<String> {
        let before = self.calls().len();
        f();
        self.calls()[before..].to_vec()
    }
}

/// An env whose orc uses `fake` as its crontab.
fn env_on(fake: &Fake) -> Env {
    let mut env = Env::new();
    env.set_env("ORC_BACKEND", "crontab");
    env.set_env("ORC_CRONTAB", fake.program());
    env.without_watch_task();
    env
}

/// An env with its own fake crontab (under the env's scratch root).
fn env() -> (Env, Fake) {
    let mut env = Env::new();
    let fake = Fake::new(env.root());
    env.set_env("ORC_BACKEND", "crontab");
    env.set_env("ORC_CRONTAB", fake.program());
    env.without_watch_task();
    (env, fake)
}

fn id(env: &Env) -> String {
    orc::paths::home_id(&env.home())
}

fn add(env: &Env, name: &str, schedule: &str, extra: &[&str]) {
    let mut args =
        vec!["task", "add", name, "--shell", "sh", "--command", "true", "--schedule", schedule];
    args.extend_from_slice(extra);
    env.orc(&args).ok();
}

/// The line orc's block holds for a task, if any.
fn line_of(text: &str, task: &str) -> Option<String> {
    let needle = format!(" execute --task {task} --scheduled");
    text.lines().find(|l| l.contains(&needle)).map(String::from)
}

#[test]
fn a_second_schedule_only_reads_and_writes_nothing() {
    let (env, fake) = env();
    add(&env, "nightly", "0 2 * * *", &[]);
    add(&env, "quarter", "*/15 * * * *", &[]);
    assert_eq!(fake.bytes(), None);
    let calls = fake.calls_during(|| {
        env.orc(["schedule", "--all"]).ok();
    });
    // The query, the re-read right before writing, one write, the read that verifies it.
    assert_eq!(calls, ["-l", "-l", "-", "-l"]);
    let first = fake.bytes().unwrap();
    let text = fake.text();
    assert!(text.starts_with(&format!("# BEGIN orc {} ", id(&env))), "{text}");
    assert!(text.ends_with(&format!("# END orc {}\n", id(&env))), "{text}");
    assert!(line_of(&text, "nightly").unwrap().starts_with("0 2 * * * PATH="));
    assert!(line_of(&text, "quarter").unwrap().starts_with("*/15 * * * * PATH="));

    for args in [&["schedule", "--all"][..], &["schedule", "--task", "nightly"][..]] {
        let calls = fake.calls_during(|| {
            let out = env.orc(args).ok();
            assert!(out.stdout.contains("0 created, 0 updated, 0 deleted"), "{}", out.stdout);
        });
        assert_eq!(calls, ["-l"], "{args:?}");
        assert_eq!(fake.bytes().unwrap(), first);
    }
}

#[test]
fn foreign_lines_are_kept_byte_for_byte() {
    let (env, fake) = env();
    // A crontab edited on Windows (CRLF), with a Latin-1 comment, an assignment, a blank line,
    // and no final newline.
    let head: &[u8] = b"MAILTO=ops@example.com\r\n# caf\xe9 backups\r\n\r\n15 3 * * * /usr/local/bin/backup --full # nightly\r\n@reboot /opt/thing";
    fake.set(head);
    add(&env, "a", "5 * * * *", &[]);
    env.orc(["schedule", "--all"]).ok();
    let after = fake.bytes().unwrap();
    assert!(after.starts_with(head));
    // The only byte added outside the block: the newline ending the last foreign line.
    let block_start = head.len() + 1;
    assert_eq!(after[head.len()], b'\n');
    assert!(after[block_start..].starts_with(format!("# BEGIN orc {}", id(&env)).as_bytes()));

    // The user adds lines after orc's block by hand (again without a final newline).
    let tail: &[u8] = b"# after orc\r\n*/10 * * * * /bin/echo 'tail'";
    let mut edited = after.clone();
    edited.extend_from_slice(tail);
    fake.set(&edited);
    // A change of the task rewrites only orc's block; cron needs a final newline, so one is
    // added after the user's last line.
    env.orc(["task", "edit", "a", "--schedule", "7 * * * *"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let changed = fake.bytes().unwrap();
    assert!(changed.starts_with(&after[..block_start]));
    assert!(changed.ends_with(&[tail, b"\n"].concat()));
    assert!(line_of(&String::from_utf8_lossy(&changed), "a").unwrap().starts_with("7 * * * * "));

    // Unscheduling leaves exactly the user's bytes.
    env.orc(["unschedule", "--all"]).ok();
    assert_eq!(fake.bytes().unwrap(), [head, b"\n", tail, b"\n"].concat());
}

#[test]
fn disabled_tasks_are_kept_as_comments() {
    let (env, fake) = env();
    add(&env, "off", "30 1 * * fri-sun", &["--disabled"]);
    add(&env, "on", "@hourly", &[]);
    env.orc(["schedule", "--all"]).ok();
    let text = fake.text();
    let off = line_of(&text, "off").unwrap();
    // Sunday as the end of a range is written 7, which every cron reads the same way.
    assert!(off.starts_with("# disabled: 30 1 * * fri-7 PATH="), "{off}");
    assert!(line_of(&text, "on").unwrap().starts_with("@hourly PATH="));

    env.orc(["task", "enable", "off"]).ok();
    let out = env.orc(["--json", "schedule", "--all"]).ok().json();
    let row = out.as_array().unwrap().iter().find(|r| r["task"] == "off").unwrap().clone();
    assert_eq!((row["action"].as_str(), row["drift"].as_bool()), (Some("update"), Some(false)));
    assert_eq!(row["differences"], serde_json::json!(["definition", "enabled state"]));
    let live = line_of(&fake.text(), "off").unwrap();
    assert!(live.starts_with("30 1 * * fri-7 PATH="), "{live}");
}

#[test]
fn removing_tasks_removes_their_lines_and_finally_the_block() {
    let (env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    add(&env, "b", "2 * * * *", &[]);
    env.orc(["schedule", "--all"]).ok();
    env.orc(["task", "rm", "a"]).ok();
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("1 deleted"), "{}", out.stdout);
    let text = fake.text();
    assert!(line_of(&text, "a").is_none() && line_of(&text, "b").is_some(), "{text}");

    // The last task gone: no block at all, and as orc's block was all the crontab held,
    // the crontab itself is removed (the user had none before).
    env.orc(["task", "rm", "b"]).ok();
    let calls = fake.calls_during(|| {
        env.orc(["schedule", "--all"]).ok();
    });
    assert_eq!(calls, ["-l", "-l", "-r", "-l"]);
    assert_eq!(fake.bytes(), None);
}

#[test]
fn two_homes_have_separate_blocks_and_unschedule_removes_only_its_own() {
    let (a, fake) = env();
    let b = env_on(&fake);
    assert_ne!(id(&a), id(&b));
    fake.set(b"0 0 * * * /usr/bin/foreign\n");
    add(&a, "job", "1 * * * *", &[]);
    add(&b, "job", "2 * * * *", &[]);
    add(&b, "other", "3 * * * *", &[]);
    a.orc(["schedule", "--all"]).ok();
    b.orc(["schedule", "--all"]).ok();
    let text = fake.text();
    assert!(text.contains(&format!("# BEGIN orc {}", id(&a))));
    assert!(text.contains(&format!("# BEGIN orc {}", id(&b))));
    // Scheduling again in either home changes nothing.
    let calls = fake.calls_during(|| {
        a.orc(["schedule", "--all"]).ok();
        b.orc(["schedule", "--all"]).ok();
    });
    assert_eq!(calls, ["-l", "-l"]);

    // unschedule --task in b: only b's line for that task.
    b.orc(["unschedule", "--task", "job"]).ok();
    let text = fake.text();
    assert_eq!(text.matches(" execute --task job ").count(), 1);
    assert!(text.contains(&format!("--home '{}' execute --task job", a.home().display())));

    // unschedule --all in a: a's block only.
    let out = a.orc(["unschedule", "--all"]).ok();
    assert!(out.stdout.contains("1 registration(s) removed"), "{}", out.stdout);
    let text = fake.text();
    assert!(!text.contains(&format!("# BEGIN orc {}", id(&a))));
    assert!(text.starts_with("0 0 * * * /usr/bin/foreign\n"));
    assert!(line_of(&text, "other").is_some());
    // Nothing left for a: a second unschedule only reads.
    let calls = fake.calls_during(|| {
        a.orc(["unschedule", "--all"]).ok();
    });
    assert_eq!(calls, ["-l"]);
}

#[test]
fn a_refusal_is_exit_4_with_crontabs_own_message() {
    let (env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    let message = "You (tester) are not allowed to use this program (crontab)\nSee crontab(1) for more information";
    std::fs::write(fake.dir.join("refuse"), message).unwrap();
    for args in [&["schedule", "--all"][..], &["schedule", "--list"], &["unschedule", "--all"]] {
        let out = env.orc(args).code(4);
        assert!(out.stderr.contains("You (tester) are not allowed"), "{}", out.stderr);
        assert!(out.stderr.contains(&fake.program().display().to_string()), "{}", out.stderr);
        assert!(out.stderr.contains("-l") && out.stderr.contains("exit code 1"), "{}", out.stderr);
    }
    std::fs::remove_file(fake.dir.join("refuse")).unwrap();
    assert_eq!(fake.bytes(), None);

    // Refused at write time (e.g. cron found an error): exit 4, the JSON error names it,
    // nothing was installed and orc records no registration.
    std::fs::write(
        fake.dir.join("refuse-write"),
        "\"-\":3: bad minute\nerrors in crontab file, can't install.",
    )
    .unwrap();
    let out = env.orc(["--json", "schedule", "--all"]).code(4);
    assert!(out.stderr.contains("bad minute"), "{}", out.stderr);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["kind"], "scheduler");
    assert_eq!(fake.bytes(), None);
    std::fs::remove_file(fake.dir.join("refuse-write")).unwrap();
    let out = env.orc(["--json", "schedule", "--all"]).ok().json();
    assert_eq!(out[0]["action"], "create", "nothing was recorded as registered: {out}");
}

#[test]
fn a_missing_crontab_program_is_exit_4() {
    let (mut env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    let missing = fake.dir.join("no-such-crontab");
    env.set_env("ORC_CRONTAB", &missing);
    let out = env.orc(["schedule", "--all"]).code(4);
    assert!(out.stderr.contains(&missing.display().to_string()), "{}", out.stderr);

    // Not set and not on PATH: the message says how to install cron.
    let out = env
        .command()
        .env("ORC_CRONTAB", "")
        .env("PATH", fake.dir.join("empty-path"))
        .args(["schedule", "--all"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("not found on PATH") && stderr.contains("apt-get install cron"),
        "{stderr}"
    );
}

#[test]
fn dry_run_json_shows_the_plan_and_changes_nothing() {
    let (env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    add(&env, "b", "@daily", &["--disabled"]);
    let calls = fake.calls_during(|| {
        let rows = env.orc(["--json", "schedule", "--all", "--dry-run"]).ok().json();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        for r in rows {
            for key in
                ["task", "action", "path", "drift", "exact", "enabled", "definition", "result"]
            {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
            assert_eq!(r["action"], "create");
            assert_eq!(r["result"], "planned");
            assert_eq!(r["exact"], true);
            assert!(r["xml"].is_null());
            let task = r["task"].as_str().unwrap();
            assert_eq!(r["path"], format!("crontab:{}/{task}", id(&env)));
            assert!(
                r["definition"]
                    .as_str()
                    .unwrap()
                    .contains(&format!(" execute --task {task} --scheduled"))
            );
        }
        assert!(rows[1]["definition"].as_str().unwrap().starts_with("# disabled: @daily "));
        assert_eq!(rows[1]["enabled"], false);
    });
    assert_eq!(calls, ["-l"]);
    assert_eq!(fake.bytes(), None);

    // Human dry run: the table and "nothing was changed".
    let out = env.orc(["schedule", "--task", "a", "--dry-run"]).ok();
    assert!(out.stdout.contains("dry run: crontab on this computer: 1 created"), "{}", out.stdout);
    assert_eq!(fake.bytes(), None);
}

#[test]
fn a_hand_edit_inside_the_block_is_drift_and_is_restored() {
    let (env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    env.orc(["schedule", "--all"]).ok();
    let original = fake.bytes().unwrap();
    let edited = fake.text().replace("\n1 * * * * PATH=", "\n9 * * * * PATH=");
    fake.set(edited.as_bytes());
    let rows = env.orc(["--json", "schedule", "--all", "--dry-run"]).ok().json();
    assert_eq!(rows[0]["action"], "update");
    assert_eq!(rows[0]["drift"], true);
    let details = rows[0]["details"].to_string();
    assert!(
        details.contains("crontab has \\\"9 * * * *\\\", orc registers \\\"1 * * * *\\\""),
        "{details}"
    );
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("changed outside orc"), "{}", out.stdout);
    assert_eq!(fake.bytes().unwrap(), original);
}

#[test]
fn a_damaged_block_is_refused_and_left_alone() {
    let (env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    env.orc(["schedule", "--all"]).ok();
    let end = format!("# END orc {}\n", id(&env));
    let damaged = format!("{}5 5 * * * /usr/bin/mine\n", fake.text().replace(&end, ""));
    fake.set(damaged.as_bytes());
    env.orc(["task", "edit", "a", "--schedule", "2 * * * *"]).ok();
    let out = env.orc(["schedule", "--all"]).code(4);
    assert!(out.stderr.contains("has no `# END orc"), "{}", out.stderr);
    assert_eq!(fake.text(), damaged);
    let out = env.orc(["unschedule", "--all"]).code(4);
    assert!(out.stderr.contains("was not changed"), "{}", out.stderr);
    assert_eq!(fake.text(), damaged);
}

#[test]
fn bad_executable_paths_and_foreign_accounts_are_refused_before_anything_runs() {
    let (mut env, fake) = env();
    add(&env, "a", "1 * * * *", &[]);
    env.set_env("ORC_EXE", "/opt/orc\n* * * * * rm -rf /");
    let calls = fake.calls_during(|| {
        let out = env.orc(["schedule", "--all"]).code(2);
        assert!(out.stderr.contains("line break"), "{}", out.stderr);
    });
    assert!(calls.is_empty(), "{calls:?}");
    env.set_env("ORC_EXE", "relative/orc");
    env.orc(["schedule", "--all"]).code(2);

    let (env, fake) = self::env();
    add(&env, "b", "1 * * * *", &["--run-as", "CORP\\svc_backup_someone"]);
    let calls = fake.calls_during(|| {
        let out = env.orc(["schedule", "--all"]).code(2);
        assert!(out.stderr.contains("owner of the crontab"), "{}", out.stderr);
    });
    assert!(calls.is_empty(), "{calls:?}");
    assert_eq!(fake.bytes(), None);
}

#[test]
fn list_shows_the_registered_schedule_next_run_and_last_status() {
    let (mut env, fake) = env();
    env.set_env("TZ", "UTC");
    env.set_env("ORC_NOW", "2026-03-01T10:00:00");
    add(&env, "q", "*/15 * * * *", &[]);
    add(&env, "off", "0 3 * * *", &["--disabled"]);
    add(&env, "new", "0 4 * * *", &[]);
    env.orc(["schedule", "--task", "q"]).ok();
    env.orc(["schedule", "--task", "off"]).ok();
    env.orc(["execute", "--task", "q"]).ok();
    // An orphan: a line of this home's block for a task no longer in the database.
    fake.set(fake.text().replace("execute --task off ", "execute --task gone ").as_bytes());

    let rows = env.orc(["--json", "schedule", "--list"]).ok().json();
    let row = |t: &str| rows.as_array().unwrap().iter().find(|r| r["task"] == t).unwrap().clone();
    let q = row("q");
    assert_eq!(q["registered"], true);
    assert_eq!(q["in_sync"], true);
    assert_eq!(q["enabled"], true);
    assert_eq!(q["schedule"], "*/15 * * * *");
    assert_eq!(q["next_run"], "2026-03-01T10:15:00+00:00");
    assert_eq!(q["orc_last_status"], "SUCCESS");
    let new = row("new");
    assert_eq!((new["registered"].as_bool(), new["next_run"].is_null()), (Some(false), true));
    let gone = row("gone");
    assert_eq!(
        (gone["in_database"].as_bool(), gone["enabled"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(gone["schedule"], "0 3 * * *");
    let off = row("off");
    assert_eq!(off["registered"], false);

    let out = env.orc(["schedule", "--list"]).ok();
    snapshot_settings(&[TIMES])
        .bind(|| insta::assert_snapshot!("crontab_list", redact(&env, &out.stdout)));
}

#[test]
fn the_registered_line_runs_orc_the_way_cron_does() {
    let (mut env, fake) = env();
    // A home whose path needs quoting for sh and escaping for cron's `%`.
    let home = env.root().join("it's 100% home");
    env.set_env("ORC_HOME", &home);
    env.without_watch_task();
    add(&env, "tick", "* * * * *", &[]);
    env.orc(["schedule", "--all"]).ok();
    let text = fake.text();
    let shown = Redactor::new(&env)
        .value(orc_exe_dir(), "[ORC_EXE_DIR]")
        .value(orc::paths::home_id(&home), "[ID]")
        .apply(&text);
    insta::assert_snapshot!("crontab_block", shown);
    let line = line_of(&text, "tick").unwrap();
    // What cron does with the line: the five fields go, an unescaped `%` would end the
    // command (there is none), `\%` becomes `%`, and the rest runs under /bin/sh with cron's
    // small environment.
    let command = line.splitn(6, ' ').nth(5).unwrap();
    assert!(!command.replace("\\%", "").contains('%'), "{command}");
    let command = command.replace("\\%", "%");
    let status = Command::new("/bin/sh")
        .args(["-c", &command])
        .env_clear()
        .env("HOME", env.root())
        .env("LOGNAME", "tester")
        .env("SHELL", "/bin/sh")
        .env("PATH", "/usr/bin:/bin")
        .status()
        .unwrap();
    assert!(status.success());
    let runs = env.orc(["--json", "history", "--task", "tick"]).ok().json();
    assert_eq!(runs[0]["trigger"], "scheduled", "{runs}");
    assert_eq!(runs[0]["status"], "SUCCESS", "{runs}");
    let log = std::fs::read_to_string(home.join("logs").join("cron.log")).unwrap();
    assert!(log.contains("tick"), "{log}");
}

/// The built-in `orc-watch` task also starts at boot: an `@reboot` line with the same command
/// follows its schedule line; a second schedule changes nothing; a `@reboot` line deleted by
/// hand is drift and comes back.
#[test]
fn the_watch_task_has_a_reboot_line() {
    let (env, fake) = env();
    env.orc(["config", "set", "watch.interval", "5m"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let original = fake.text();
    let shown = Redactor::new(&env)
        .value(orc_exe_dir(), "[ORC_EXE_DIR]")
        .value(id(&env), "[ID]")
        .apply(&original);
    let command = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
                   '[ORC_EXE_DIR]/orc' --home '[ROOT]/home' execute --task orc-watch --scheduled \
                   >>'[ROOT]/home/logs/cron.log' 2>&1";
    assert_eq!(
        shown,
        format!(
            "# BEGIN orc [ID] — managed by `orc schedule`; edits here are overwritten\n\
             # home: [ROOT]/home\n*/5 * * * * {command}\n@reboot {command}\n# END orc [ID]\n"
        )
    );
    let calls = fake.calls_during(|| {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("0 created, 0 updated, 0 deleted"), "{}", out.stdout);
    });
    assert_eq!(calls, ["-l"]);
    let without: String =
        original.lines().filter(|l| !l.starts_with("@reboot ")).map(|l| format!("{l}\n")).collect();
    fake.set(without.as_bytes());
    let rows = env.orc(["--json", "schedule", "--all", "--dry-run"]).ok().json();
    let row = rows.as_array().unwrap().iter().find(|r| r["task"] == "orc-watch").unwrap();
    assert_eq!((row["action"].as_str(), row["drift"].as_bool()), (Some("update"), Some(true)));
    assert_eq!(
        row["details"],
        serde_json::json!(["at boot: the crontab has no @reboot line, orc registers one"])
    );
    env.orc(["schedule", "--all"]).ok();
    assert_eq!(fake.text(), original);
}

fn orc_exe_dir() -> String {
    crate::support::orc_exe().parent().unwrap().display().to_string()
}

#[test]
fn validate_speaks_about_cron_and_the_crontab_owner() {
    let (env, fake) = env();
    add(&env, "v", "0 9 * * mon-fri", &[]);
    let out = env.orc(["schedule", "--validate", "v"]).ok();
    assert!(out.stdout.contains("one crontab line"), "{}", out.stdout);
    assert!(out.stdout.contains("the crontab's owner"), "{}", out.stdout);
    assert!(!out.stdout.contains("Task Scheduler"), "{}", out.stdout);
    env.orc(["task", "edit", "v", "--run-as", "CORP\\nobody_here_at_all"]).ok();
    let out = env.orc(["schedule", "--validate", "v"]).code(2);
    assert!(out.stdout.contains("FAIL run_as"), "{}", out.stdout);
    // Validation only reads: nothing was installed.
    assert_eq!(fake.bytes(), None);
}

/// issue 12 finding 5: two homes reconciling at the same time both keep their block (the
/// read-modify-write is serialised by the user's crontab lock), every round.
#[test]
fn concurrent_schedules_of_two_homes_keep_both_blocks() {
    let (a, fake) = env();
    let b = env_on(&fake);
    add(&a, "job", "1 * * * *", &[]);
    add(&b, "job", "2 * * * *", &[]);
    for round in 0..20 {
        let _ = std::fs::remove_file(fake.dir.join("crontab.txt"));
        let spawn = |e: &Env| {
            e.command()
                .args(["schedule", "--all"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (pa, pb) = (spawn(&a), spawn(&b));
        for p in [pa, pb] {
            let out = p.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let text = fake.text();
        for e in [&a, &b] {
            assert!(
                text.contains(&format!("# BEGIN orc {}", id(e))),
                "round {round}: a block is missing:\n{text}"
            );
        }
    }
}

/// issue 12 finding 5: a write that `crontab -l` does not show afterwards is retried a
/// bounded number of times, then reported with exit code 4.
#[test]
fn a_write_that_does_not_stick_is_retried_then_reported() {
    let (env, fake) = env();
    add(&env, "job", "1 * * * *", &[]);
    std::fs::write(fake.dir.join("lose-write"), "").unwrap();
    let calls = fake.calls_during(|| {
        let out = env.orc(["schedule", "--all"]).code(4);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        assert!(out.stderr.contains("still did not show orc's block"), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(
            out.stdout.contains("0 created") && out.stdout.contains("1 failed"),
            "{}",
            out.stdout
        );
    });
    let writes = calls.iter().filter(|c| *c == "-").count();
    assert_eq!(writes as u32, orc::scheduler::crontab::WRITE_ATTEMPTS, "{calls:?}");
    assert_eq!(fake.bytes(), None);
}

/// issue 12 finding 6: `%` and `\%` in the home and the executable's path survive cron's
/// `%` rule and sh: the line, processed as cron does, runs the task.
#[test]
fn percent_signs_in_paths_survive_cron_and_sh() {
    let (mut env, fake) = env();
    let home = env.root().join("100% \\%d o'k");
    let bin = env.root().join("bin 50%\\%H");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("orc");
    std::fs::copy(crate::support::orc_exe(), &exe).unwrap();
    env.set_env("ORC_HOME", &home);
    env.set_env("ORC_EXE", &exe);
    add(&env, "pct", "* * * * *", &[]);
    env.orc(["schedule", "--all"]).ok();
    let line = line_of(&fake.text(), "pct").unwrap();
    let command = orc::scheduler::cronblock::cron_unescape(line.splitn(6, ' ').nth(5).unwrap());
    assert!(command.ends_with(" 2>&1"), "cron would cut the command: {command}");
    let status = Command::new("/bin/sh")
        .args(["-c", &command])
        .env_clear()
        .env("HOME", env.root())
        .env("PATH", "/usr/bin:/bin")
        .status()
        .unwrap();
    assert!(status.success());
    let runs = env.orc(["--json", "history", "--task", "pct"]).ok().json();
    assert_eq!((&runs[0]["trigger"], &runs[0]["status"]), (&"scheduled".into(), &"SUCCESS".into()));
    assert!(home.join("logs").join("cron.log").is_file());
}

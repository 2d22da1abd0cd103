//! `orc schedule` / `orc unschedule` against the fake schtasks: reconcile with one query,
//! drift, foreign tasks, disabled tasks, dry run, access denied, localized output, the XML
//! (encoding, structure, trigger simulation) and firing a registered task.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Duration, NaiveDate, NaiveDateTime};
use orc::task::TaskSpec;

use crate::support::{Env, Output, helper_exe};

#[path = "../support/trigger_sim.rs"]
#[allow(clippy::wrong_self_convention)]
pub(crate) mod trigger_sim;

/// An env with the fake schtasks and a call log.
pub(crate) fn env() -> Env {
    let mut env = Env::new();
    env.with_fake_schtasks();
    let log = env.root().join("calls.log");
    env.set_env("FAKE_SCHTASKS_CALL_LOG", log);
    env.without_watch_task();
    env
}

pub(crate) fn store(env: &Env) -> orc::store::Store {
    env.store()
}

/// Adds (or replaces) a task directly in the database.
pub(crate) fn put_task(env: &Env, spec: &TaskSpec) {
    let mut s = store(env);
    let json = serde_json::to_string(spec).unwrap();
    s.write(|tx| {
        tx.execute(
            "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) \
             VALUES (?1, ?2, ?3, 'now', 'now') \
             ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, spec = excluded.spec",
            orc::store::sql::params![spec.name, spec.enabled, json],
        )
        .map_err(|e| orc::store::classify(Path::new("db"), "test insert", e))
    })
    .unwrap();
}

fn remove_task(env: &Env, name: &str) {
    let mut s = store(env);
    s.write(|tx| {
        tx.execute("DELETE FROM tasks WHERE name = ?1", [name])
            .map_err(|e| orc::store::classify(Path::new("db"), "test delete", e))
    })
    .unwrap();
}

pub(crate) fn task(name: &str, schedule: &str) -> TaskSpec {
    let mut t = TaskSpec::new(name, "echo hello", schedule);
    t.description = Some(format!("test task {name}"));
    t
}

pub(crate) fn calls(env: &Env) -> Vec<String> {
    std::fs::read_to_string(env.root().join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Runs `f` and returns the fake calls it made.
pub(crate) fn calls_during(env: &Env, f: impl FnOnce()) -> Vec<String> {
    let before = calls(env).len();
    f();
    calls(env)[before..].to_vec()
}

/// Runs the fake schtasks directly, with this env's store.
pub(crate) fn fake(env: &Env, args: &[&str]) -> Output {
    let mut cmd = Command::new(helper_exe("fake_schtasks"));
    cmd.args(args).env("FAKE_SCHTASKS_ROOT", env.root().join("schtasks"));
    for var in [
        "FAKE_SCHTASKS_MODE",
        "FAKE_SCHTASKS_LOCALE",
        "FAKE_SCHTASKS_CALL_LOG",
        "FAKE_SCHTASKS_DELAY_MS",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().expect("run fake_schtasks");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// The task paths the fake holds (parsed from its verbose CSV query with orc's own parser).
pub(crate) fn fake_tasks(env: &Env) -> Vec<String> {
    let out = fake(env, &["/Query", "/FO", "CSV", "/V", "/NH"]).ok();
    let parsed = orc::scheduler::schtasks::csv::parse(&out.stdout);
    assert!(parsed.skipped.is_empty(), "{parsed:?}");
    let mut v: Vec<String> = parsed.rows.iter().map(|r| r.task_name().to_string()).collect();
    v.sort();
    v.dedup();
    v
}

pub(crate) fn stored_xml_path(env: &Env, task: &str) -> PathBuf {
    env.root()
        .join("schtasks/local/tasks/orchestrator")
        .join(format!("orc_{}.xml", task.to_ascii_lowercase()))
}

pub(crate) fn stored_xml(env: &Env, task: &str) -> String {
    let bytes = std::fs::read(stored_xml_path(env, task)).expect("stored task XML");
    orc::scheduler::taskxml::decode_utf16le_bom(&bytes).expect("UTF-16LE with BOM")
}

pub(crate) fn edit_stored_xml(env: &Env, task: &str, edit: impl FnOnce(String) -> String) {
    let xml = edit(stored_xml(env, task));
    std::fs::write(stored_xml_path(env, task), orc::scheduler::taskxml::encode_utf16le_bom(&xml))
        .unwrap();
}

pub(crate) fn entry<'a>(rows: &'a serde_json::Value, task: &str) -> &'a serde_json::Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["task"] == task)
        .unwrap_or_else(|| panic!("no {task} in {rows}"))
}

#[test]
fn fifty_tasks_register_and_an_unchanged_rerun_makes_one_call() {
    let env = env();
    for i in 0..50 {
        put_task(&env, &task(&format!("job{i:02}"), &format!("{} {} * * *", i % 60, i % 24)));
    }
    let first = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("50 created"), "{}", out.stdout);
    });
    assert_eq!(first.iter().filter(|c| c.starts_with("/Query")).count(), 1, "{first:#?}");
    assert_eq!(first.iter().filter(|c| c.starts_with("/Create")).count(), 50);
    let held = fake_tasks(&env);
    assert_eq!(held.len(), 50, "{held:?}");
    assert!(held.iter().all(|p| p.starts_with("\\Orchestrator\\Orc_job")));

    let second = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("50 unchanged"), "{}", out.stdout);
    });
    assert_eq!(second, vec!["/Query\t/FO\tCSV\t/V\t/NH\t/HRESULT".to_string()]);

    // The XML files handed to schtasks were removed.
    let tmp = env.home().join("tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn editing_one_task_makes_one_query_and_one_create() {
    let env = env();
    for name in ["a", "b", "c"] {
        put_task(&env, &task(name, "0 6 * * *"));
    }
    env.orc(["schedule", "--all"]).ok();
    put_task(&env, &task("b", "0 7 * * 1-5"));
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all", "--json"]).ok();
        let rows = out.json();
        assert_eq!(entry(&rows, "b")["action"], "update");
        assert_eq!(entry(&rows, "b")["drift"], false, "a database change is not drift");
        assert_eq!(entry(&rows, "a")["action"], "unchanged");
    });
    assert_eq!(made.len(), 2, "{made:#?}");
    assert!(made[0].starts_with("/Query"));
    assert!(made[1].starts_with("/Create\t/TN\t\\Orchestrator\\Orc_b\t/XML\t"), "{}", made[1]);
    assert!(made[1].ends_with("\t/F\t/HRESULT"));
    assert!(stored_xml(&env, "b").contains("<StartBoundary>2024-01-01T07:00:00</StartBoundary>"));

    // --task touches only that task, still with one query.
    put_task(&env, &task("c", "0 8 * * *"));
    put_task(&env, &task("a", "0 9 * * *"));
    let made = calls_during(&env, || {
        env.orc(["schedule", "--task", "c"]).ok();
    });
    assert_eq!(made.len(), 2, "{made:#?}");
    assert!(made[1].contains("Orc_c"));
}

#[test]
fn hand_edits_are_reported_as_drift_and_repaired() {
    let env = env();
    put_task(&env, &task("nightly", "30 2 * * 1-5"));
    put_task(&env, &task("other", "0 6 * * *"));
    env.orc(["schedule", "--all"]).ok();
    env.orc(["schedule", "--all"]).ok(); // orc now knows what Windows shows for its tasks
    let original = stored_xml(&env, "nightly");

    // Someone disables the task and moves its trigger in the Task Scheduler console.
    edit_stored_xml(&env, "nightly", |x| {
        x.replace("T02:30:00", "T03:45:00").replacen(
            "<Enabled>true</Enabled>",
            "<Enabled>false</Enabled>",
            1,
        )
    });
    let out = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok();
    let rows = out.json();
    let e = entry(&rows, "nightly");
    assert_eq!(e["action"], "update");
    assert_eq!(e["drift"], true);
    let details = e["details"].to_string();
    assert!(details.contains("StartBoundary") && details.contains("03:45"), "{details}");
    assert_eq!(entry(&rows, "other")["drift"], false);

    let out = env.orc(["schedule", "--all"]).ok();
    let audited: i64 = store(&env)
        .conn()
        .query_row(
            "SELECT count(*) FROM audit WHERE object = 'registration' AND name = 'nightly' \
             AND after LIKE '%\"drift\":true%' AND command LIKE '%schedule --all%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1, "the repair is in the audit trail");
    assert!(out.stdout.contains("DRIFT"), "{}", out.stdout);
    assert!(out.stdout.contains("changed outside orc"), "{}", out.stdout);
    assert_eq!(stored_xml(&env, "nightly"), original, "the registration was repaired");
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("0 updated"), "{}", out.stdout);

    // Only the trigger time moved: invisible to orc's hash and to the trigger count, caught
    // by comparing what Windows shows with what it showed for orc's own registration.
    edit_stored_xml(&env, "nightly", |x| x.replace("T02:30:00", "T04:00:00"));
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    let e = entry(&rows, "nightly");
    assert_eq!((e["action"].as_str(), e["drift"].as_bool()), (Some("update"), Some(true)), "{e}");
    assert_eq!(e["differences"], serde_json::json!(["triggers or settings"]));
    assert_eq!(stored_xml(&env, "nightly"), original);

    // Deleted by hand: recreated, and reported.
    fake(&env, &["/Delete", "/TN", "\\Orchestrator\\Orc_nightly", "/F"]).ok();
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    let e = entry(&rows, "nightly");
    assert_eq!((e["action"].as_str(), e["drift"].as_bool()), (Some("create"), Some(true)));
    assert_eq!(e["differences"], serde_json::json!(["missing"]));
}

#[test]
fn a_console_disable_is_undone_with_change_and_keeps_history() {
    let env = env();
    put_task(&env, &task("t", "0 6 * * *"));
    env.orc(["schedule", "--all"]).ok();
    fake(&env, &["/Change", "/TN", "\\Orchestrator\\Orc_t", "/DISABLE"]).ok();
    let made = calls_during(&env, || {
        let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
        assert_eq!(entry(&rows, "t")["drift"], true);
        assert_eq!(entry(&rows, "t")["differences"], serde_json::json!(["enabled state"]));
    });
    // One query, the XML for the details, then /Change rather than a new registration.
    assert_eq!(made.len(), 3, "{made:#?}");
    assert!(made[1].starts_with("/Query\t/TN\t\\Orchestrator\\Orc_t\t/XML"), "{made:#?}");
    assert_eq!(made[2], "/Change\t/TN\t\\Orchestrator\\Orc_t\t/ENABLE\t/HRESULT");
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("1 unchanged"), "{}", out.stdout);
}

#[test]
fn removed_tasks_are_deleted_and_foreign_tasks_are_never_touched() {
    let env = env();
    let foreign = [
        "\\Orchestrator\\Other",
        "\\Orchestrator\\Sub\\Orc_nested",
        "\\Elsewhere\\Orc_a",
        "\\Orc_root",
    ];
    for tn in foreign {
        fake(
            &env,
            &["/Create", "/TN", tn, "/SC", "DAILY", "/ST", "05:00", "/TR", "C:\\x.exe", "/F"],
        )
        .ok();
    }
    for name in ["a", "b"] {
        put_task(&env, &task(name, "0 6 * * *"));
    }
    env.orc(["schedule", "--all"]).ok();
    remove_task(&env, "b");
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    assert_eq!(entry(&rows, "b")["action"], "delete");
    assert_eq!(rows.as_array().unwrap().len(), 2, "only orc's tasks are in the plan: {rows}");
    let held = fake_tasks(&env);
    assert!(held.contains(&"\\Orchestrator\\Orc_a".to_string()));
    assert!(!held.contains(&"\\Orchestrator\\Orc_b".to_string()));

    let out = env.orc(["unschedule", "--all"]).ok();
    assert!(out.stdout.contains("1 registration(s) removed"), "{}", out.stdout);
    let mut held = fake_tasks(&env);
    held.sort();
    let mut want: Vec<String> = foreign.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(held, want, "every foreign task is still there, orc's folder holds none of orc's");
    let rows = store(&env)
        .conn()
        .query_row("SELECT count(*) FROM registrations", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert_eq!(rows, 0);

    // unschedule --task of something not registered is a no-op; a bad name is refused.
    let out = env.orc(["unschedule", "--task", "a"]).ok();
    assert!(out.stdout.contains("not registered"), "{}", out.stdout);
    let out = env.orc(["unschedule", "--task", "..\\Microsoft"]).code(2);
    assert!(out.stderr.contains("task name"), "{}", out.stderr);
}

#[test]
fn unschedule_one_task() {
    let env = env();
    for name in ["a", "b"] {
        put_task(&env, &task(name, "0 6 * * *"));
    }
    env.orc(["schedule", "--all"]).ok();
    let made = calls_during(&env, || {
        env.orc(["unschedule", "--task", "A"]).ok();
    });
    assert_eq!(made.len(), 2);
    assert_eq!(made[1], "/Delete\t/TN\t\\Orchestrator\\Orc_a\t/F\t/HRESULT");
    assert_eq!(fake_tasks(&env), vec!["\\Orchestrator\\Orc_b".to_string()]);
}

#[test]
fn disabled_tasks_are_registered_disabled() {
    let env = env();
    let mut t = task("off", "*/10 * * * *");
    t.enabled = false;
    put_task(&env, &t);
    env.orc(["schedule", "--all"]).ok();
    let xml = stored_xml(&env, "off");
    let settings = xml.split("<Settings>").nth(1).unwrap().split("</Settings>").next().unwrap();
    assert!(settings.contains("<Enabled>false</Enabled>"), "{settings}");
    let fired = fake(&env, &["--fake-fire", "\\Orchestrator\\Orc_off"]);
    assert_ne!(fired.code, 0, "a disabled task does not fire");
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    let row = entry(&list, "off");
    assert_eq!(row["registered"], true);
    assert_eq!(row["in_sync"], true);
    assert_eq!(row["state"], "Disabled");
    assert_eq!(row["next_run"], serde_json::Value::Null);
    // Re-running is a no-op: the disabled state is recognised in the query.
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all"]).ok();
    });
    assert_eq!(made.len(), 1);
    // Enabling it in the database re-registers it enabled.
    t.enabled = true;
    put_task(&env, &t);
    env.orc(["schedule", "--task", "off"]).ok();
    assert!(stored_xml(&env, "off").contains("<Enabled>true</Enabled>"));
}

#[test]
fn dry_run_json_shows_the_plan_with_full_xml_and_changes_nothing() {
    let env = env();
    put_task(&env, &task("a", "0 6 * * *"));
    put_task(&env, &task("weird", "0 12 */2 * 0,6"));
    env.orc(["schedule", "--list"]).ok(); // creates the database
    let before = env.db_bytes();
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok();
        let rows = out.json();
        let rows = rows.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        for r in rows {
            for key in ["task", "action", "path", "drift", "exact", "xml"] {
                assert!(r.get(key).is_some(), "{key} missing in {r}");
            }
            assert_eq!(r["action"], "create");
            assert_eq!(r["drift"], false);
            let xml = r["xml"].as_str().unwrap();
            assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"), "{xml}");
            assert!(xml.contains("</Task>"));
            assert!(orc::scheduler::taskxml::validate_document(xml).is_empty());
        }
        assert_eq!(rows[0]["path"], "\\Orchestrator\\Orc_a");
        assert_eq!(rows[0]["exact"], true);
        assert_eq!(rows[1]["exact"], false, "DOM step with DOW is inexact: {}", rows[1]);
    });
    assert_eq!(made.len(), 1, "a dry run only queries: {made:?}");
    assert!(fake_tasks(&env).is_empty());
    assert_eq!(env.db_bytes(), before);

    let out = env.orc(["schedule", "--task", "a", "--dry-run"]).ok();
    assert!(out.stdout.contains("nothing was changed"), "{}", out.stdout);
    assert!(fake_tasks(&env).is_empty());
}

#[test]
fn access_denied_exits_4_with_the_elevated_shell_hint() {
    let mut env = env();
    for i in 0..10 {
        put_task(&env, &task(&format!("t{i}"), "0 6 * * *"));
    }
    env.set_env("FAKE_SCHTASKS_MODE", "access-denied");
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).code(4);
        assert!(out.stderr.contains("Access is denied"), "{}", out.stderr);
        assert!(out.stderr.contains("elevated"), "{}", out.stderr);
        assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    });
    // After the first refusal orc stops trying (at most the parallel batch in flight).
    let creates = made.iter().filter(|c| c.starts_with("/Create")).count();
    assert!((1..=4).contains(&creates), "{made:#?}");
    let out = env.orc(["--json", "schedule", "--all"]).code(4);
    let err: serde_json::Value = serde_json::from_str(out.stderr.trim()).unwrap();
    assert_eq!(err["error"]["kind"], "scheduler");
    assert!(out.json().as_array().unwrap().iter().any(|r| r["result"] == "failed"));
    let n: i64 = store(&env)
        .conn()
        .query_row("SELECT count(*) FROM registrations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0, "nothing recorded as registered");
}

#[test]
fn service_unavailable_exits_4() {
    let mut env = env();
    put_task(&env, &task("t", "0 6 * * *"));
    env.set_env("FAKE_SCHTASKS_MODE", "service-unavailable");
    let out = env.orc(["schedule", "--all"]).code(4);
    assert!(
        out.stderr.contains("not available") || out.stderr.contains("not running"),
        "{}",
        out.stderr
    );
    env.orc(["schedule", "--list"]).code(4);
}

#[test]
fn french_output_is_parsed_by_position() {
    let mut env = env();
    env.set_env("FAKE_SCHTASKS_LOCALE", "fr-FR");
    put_task(&env, &task("on", "15 3 * * *"));
    let mut off = task("off", "0 4 * * 1");
    off.enabled = false;
    put_task(&env, &off);
    env.orc(["schedule", "--all"]).ok();
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("2 unchanged"), "{}", out.stdout);
    });
    assert_eq!(made.len(), 1);
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    assert_eq!(entry(&list, "on")["in_sync"], true);
    assert_eq!(entry(&list, "off")["in_sync"], true);
    assert_eq!(entry(&list, "off")["state"], "Désactivé", "{list}");
    // A hand disable is still noticed without knowing the French words.
    fake(&env, &["/Change", "/TN", "\\Orchestrator\\Orc_on", "/DISABLE"]).ok();
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    assert_eq!(entry(&rows, "on")["differences"], serde_json::json!(["enabled state"]));
    assert_eq!(entry(&rows, "on")["drift"], true);
}

#[test]
fn descriptions_with_quotes_and_line_breaks_survive_the_csv() {
    let env = env();
    let mut t = task("quoted", "0 6 * * *");
    t.description = Some(
        "Copies \"reports\",\"archives\" to \\\\srv\\share\nsecond line \"with quotes\"".into(),
    );
    put_task(&env, &t);
    put_task(&env, &task("after", "0 7 * * *"));
    env.orc(["schedule", "--all"]).ok();
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("2 unchanged"), "{}", out.stdout);
    });
    assert_eq!(made.len(), 1);
    // Windows re-serializes what it stores: compare the text, not its escaping.
    let leaves = orc::scheduler::taskxml::flatten(&stored_xml(&env, "quoted")).unwrap();
    let desc = &leaves.iter().find(|(p, _)| p == "RegistrationInfo/Description").unwrap().1;
    assert!(
        desc.starts_with("Copies \"reports\",\"archives\" to \\\\srv\\share\nsecond line"),
        "{desc}"
    );
}

#[test]
fn registered_xml_is_utf16_with_bom_and_well_formed() {
    let env = env();
    let mut t = task("shape", "*/15 8-18 * * MON-FRI");
    t.description = Some("Ünïcödé <&> 🙂".into());
    t.workdir = Some(env.root().display().to_string());
    put_task(&env, &t);
    env.orc(["schedule", "--all"]).ok();
    let bytes = std::fs::read(stored_xml_path(&env, "shape")).unwrap();
    assert_eq!(&bytes[..2], &[0xFF, 0xFE], "BOM");
    let xml = orc::scheduler::taskxml::decode_utf16le_bom(&bytes).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"));
    assert_eq!(orc::scheduler::taskxml::validate_document(&xml), Vec::<String>::new());
    assert!(xml.contains("Ünïcödé &lt;&amp;&gt; 🙂"), "{xml}");
    let home = env.home().display().to_string();
    // The running orc's own absolute path (under Wine it is seen as Z:\…, not as built).
    let leaves = orc::scheduler::taskxml::flatten(&xml).unwrap();
    let command = &leaves.iter().find(|(p, _)| p == "Actions/Exec/Command").unwrap().1;
    assert!(Path::new(command).is_absolute(), "{command}");
    assert_eq!(Path::new(command).file_name(), crate::support::orc_exe().file_name(), "{xml}");
    let arguments = &leaves.iter().find(|(p, _)| p == "Actions/Exec/Arguments").unwrap().1;
    assert_eq!(arguments, &format!("--home \"{home}\" execute --task shape --scheduled"));
    // Start In is the home (it always exists); orc execute applies the task's workdir.
    assert!(xml.contains(&format!("<WorkingDirectory>{home}</WorkingDirectory>")), "{xml}");
    assert!(!xml.contains("echo hello"), "the command is not registered, only orc itself");
}

#[test]
fn invalid_input_is_refused_before_anything_changes() {
    let env = env();
    put_task(&env, &task("good", "0 6 * * *"));
    let mut bad = task("bad", "0 6 * * *");
    bad.description = Some("bell \u{7} here".into());
    put_task(&env, &bad);
    // Alone, the bad task changes nothing.
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--task", "bad"]).code(2);
        assert!(out.stderr.contains("description of task bad"), "{}", out.stderr);
        assert!(out.stderr.contains("XML 1.0"), "{}", out.stderr);
    });
    assert!(made.is_empty(), "nothing was asked of schtasks: {made:?}");
    assert!(fake_tasks(&env).is_empty());
    // With the others, it is reported as failed (exit 2) and the others are registered
    // (issue 11 item 8: one bad row must not stop `schedule --all`).
    let out = env.orc(["schedule", "--all"]).code(2);
    assert!(out.stderr.contains("description of task bad"), "{}", out.stderr);
    assert_eq!(fake_tasks(&env), ["\\Orchestrator\\Orc_good"]);
    env.orc(["schedule", "--task", "no-such-task"]).code(3);
    env.orc(["schedule", "--task", "bad name"]).code(2);
    env.orc(["schedule"]).code(2);
    env.orc(["schedule", "--all", "--task", "good"]).code(2);

    // Settings are validated too.
    let mut s = store(&env);
    s.write(|tx| {
        tx.execute(
            "INSERT INTO config (key, value, updated_at) VALUES ('scheduler.folder', '\\a:b\\', 'now')",
            [],
        )
        .map_err(|e| orc::store::classify(Path::new("db"), "test", e))
    })
    .unwrap();
    let out = env.orc(["schedule", "--list"]).code(2);
    assert!(out.stderr.contains("scheduler.folder"), "{}", out.stderr);
}

#[test]
fn folder_and_prefix_come_from_the_settings() {
    let env = env();
    put_task(&env, &task("x", "0 6 * * *"));
    let mut s = store(&env);
    s.write(|tx| {
        tx.execute_batch(
            "INSERT INTO config (key, value, updated_at) VALUES ('scheduler.folder', '\\Ops\\Jobs', 'now');
             INSERT INTO config (key, value, updated_at) VALUES ('scheduler.prefix', 'J_', 'now');",
        )
        .map_err(|e| orc::store::classify(Path::new("db"), "test", e))
    })
    .unwrap();
    drop(s);
    env.orc(["schedule", "--all"]).ok();
    assert_eq!(fake_tasks(&env), vec!["\\Ops\\Jobs\\J_x".to_string()]);
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    assert_eq!(entry(&list, "x")["path"], "\\Ops\\Jobs\\J_x");
}

#[test]
fn list_shows_database_and_windows_side_by_side() {
    let env = env();
    put_task(&env, &task("ran", "0 6 * * *"));
    put_task(&env, &task("never", "0 7 * * *"));
    env.orc(["schedule", "--all"]).ok();
    put_task(&env, &task("new", "0 8 * * *"));
    fake(
        &env,
        &[
            "--fake-set",
            "\\Orchestrator\\Orc_ran",
            "last_result=-2147024894",
            "last_run=2026-01-05T06:00:00",
        ],
    )
    .ok();
    fake(
        &env,
        &[
            "/Create",
            "/TN",
            "\\Orchestrator\\Orc_orphan",
            "/SC",
            "DAILY",
            "/ST",
            "05:00",
            "/TR",
            "C:\\x.exe",
            "/F",
        ],
    )
    .ok();
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    let ran = entry(&list, "ran");
    assert_eq!(ran["last_result"], -2_147_024_894_i64);
    assert_eq!(ran["last_result_hex"], "0x80070002");
    assert_eq!(ran["last_result_meaning"], "file not found");
    assert!(ran["last_run"].as_str().unwrap().contains("2026"), "{ran}");
    assert!(ran["next_run"].as_str().unwrap().contains("T06:00:00"), "{ran}");
    assert_eq!(entry(&list, "never")["last_result_hex"], "0x00041303");
    assert_eq!(entry(&list, "new")["registered"], false);
    assert_eq!(entry(&list, "orphan")["in_database"], false);
    let out = env.orc(["schedule", "--list"]).ok();
    assert!(out.stdout.contains("0x80070002: file not found"), "{}", out.stdout);
    assert!(out.stdout.contains("orphan (not in database)"), "{}", out.stdout);
}

#[test]
fn validate_reports_problems_and_exits_2() {
    let env = env();
    let mut good = task("good", "*/15 8-18 * * MON-FRI");
    good.shell = orc::task::Shell::Sh;
    good.command = "sh -c true".into();
    put_task(&env, &good);
    let out = env.orc(["schedule", "--validate", "good"]);
    if cfg!(unix) {
        out.ok();
    }
    let mut bad = task("bad", "0 12 */2 * 0,6");
    bad.shell = orc::task::Shell::None;
    bad.command = "definitely-not-a-program-orc --x".into();
    bad.workdir = Some(env.root().join("missing").display().to_string());
    let file_dep = if cfg!(windows) { "file:C:\\ok.flag" } else { "file:/tmp/ok.flag" };
    bad.depends_on = vec!["task:ghost".into(), "tcp:host".into(), file_dep.into()];
    put_task(&env, &bad);
    let out = env.orc(["schedule", "--validate", "bad"]).code(2);
    for needle in
        ["definitely-not-a-program-orc", "does not exist", "ghost", "HOST:PORT", "inexact"]
    {
        assert!(
            out.stdout.contains(needle) || out.stderr.contains(needle),
            "{needle}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    let report = env.orc(["schedule", "--validate", "bad", "--json"]).code(2).json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["problems"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(report["cron"]["exact"], false);
    assert!(report["definition"].as_str().unwrap().contains("<Task"));
    env.orc(["schedule", "--validate", "nope"]).code(3);
    assert!(calls(&env).is_empty(), "validate never calls schtasks");
}

#[test]
fn remote_hosts_are_validated_and_passwords_come_from_the_vault() {
    let env = env();
    put_task(&env, &task("x", "0 6 * * *"));
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all", "--host", "srv01"]).ok();
    });
    assert!(made.iter().all(|c| c.contains("/S\tsrv01")), "{made:#?}");
    let remote = env.orc(["schedule", "--list", "--json", "--host", "srv01"]).ok().json();
    assert_eq!(entry(&remote, "x")["registered"], true);
    let local = env.orc(["schedule", "--list", "--json"]).ok().json();
    assert_eq!(entry(&local, "x")["registered"], false, "the local scheduler was not touched");
    let n: i64 = store(&env)
        .conn()
        .query_row("SELECT count(*) FROM registrations WHERE host = 'srv01'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
    env.orc(["schedule", "--all", "--host", "bad host;x"]).code(2);
    let out = env.orc(["schedule", "--all", "--host", "srv01", "--user", "adm"]).code(2);
    assert!(out.stderr.contains("--credential"), "{}", out.stderr);
    let with_user =
        ["schedule", "--all", "--host", "srv01", "--user", "adm", "--credential", "adm-pw"];
    let out = env.orc(with_user).code(3);
    assert!(out.stderr.contains("adm-pw"), "{}", out.stderr);
    // With the password in the vault it reaches schtasks as /P, and nowhere else.
    let password = "Rem0te-P@ss-canary";
    env.orc_with_stdin(
        ["credential", "set", "adm-pw", "--from-stdin", "--kind", "account_password"],
        Some(password.as_bytes()),
    )
    .ok();
    put_task(&env, &task("y", "0 7 * * *"));
    let made = calls_during(&env, || {
        env.orc(with_user).ok();
    });
    assert!(made.iter().all(|c| c.contains("/U\tadm\t/P\t") || c.contains("/U\tadm")), "{made:#?}");
    assert!(made.iter().any(|c| c.contains(password)), "schtasks got the password: {made:#?}");
    let xml_dir = env.root().join("schtasks");
    let mut stack = vec![xml_dir];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                let bytes = std::fs::read(&p).unwrap();
                let text = String::from_utf8_lossy(&bytes).replace('\0', "");
                assert!(!text.contains(password), "password in registered XML {}", p.display());
            }
        }
    }
}

/// A dozen business-shaped expressions: the registered triggers, simulated over two years,
/// fire exactly at the cron times (or on a superset that `orc execute` filters, when the plan
/// says it is inexact).
#[test]
fn registered_triggers_fire_exactly_at_the_cron_times() {
    let env = env();
    let exprs = [
        "0 2 * * *",
        "30 6 * * 1-5",
        "*/15 * * * *",
        "*/15 8-18 * * MON-FRI",
        "0 9-17 * * 1-5",
        "0 0 1,15 * *",
        "0 23 L * *",
        "5 4 * * 0",
        "0 */4 * * *",
        "10 8,13,17 * * *",
        "0 6 1 1,4,7,10 *",
        "0 0 1,15 * 1",
        "*/7 * * * *",
        "0 12 */2 * 0,6",
    ];
    let mut accepted = Vec::new();
    for (i, e) in exprs.iter().enumerate() {
        if orc::cron::CronExpr::parse(e).is_ok() {
            put_task(&env, &task(&format!("e{i:02}"), e));
            accepted.push((format!("e{i:02}"), *e));
        }
    }
    assert!(accepted.len() >= 12, "{accepted:?}");
    env.orc(["schedule", "--all"]).ok();
    let from = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let rows = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok().json();
    for (name, expr) in &accepted {
        let xml = stored_xml(&env, name);
        let sim = trigger_sim::simulate(&xml, from, to).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let cron = orc::cron::CronExpr::parse(expr).unwrap();
        let mut want = trigger_sim::MinuteSet::new(from, to);
        let mut t: NaiveDateTime = from.and_hms_opt(0, 0, 0).unwrap() - Duration::minutes(1);
        let end = to.and_hms_opt(23, 59, 0).unwrap();
        while let Some(n) = cron.next_after(t) {
            if n > end {
                break;
            }
            want.insert(n);
            t = n;
        }
        let exact = entry(&rows, name)["exact"].as_bool().unwrap();
        let missing = want.missing_from(&sim, 5);
        assert!(missing.is_empty(), "{expr}: cron times Task Scheduler would miss: {missing:?}");
        if exact {
            let extra = sim.missing_from(&want, 5);
            assert!(extra.is_empty(), "{expr}: extra Task Scheduler starts: {extra:?}");
        } else {
            assert!(sim.len() > want.len(), "{expr}: inexact plans are strict supersets");
        }
    }
}

/// The XML for three shapes, paths redacted.
#[test]
fn xml_snapshots() {
    let mut env = env();
    // A Saturday: no repetition window is open, so no first-window trigger is added (those
    // are tested in `first_window`).
    env.set_env("ORC_NOW", "2027-03-06T12:00:00");
    let mut simple = task("nightly", "30 2 * * *");
    simple.description = Some("Nightly backup of the accounting share".into());
    put_task(&env, &simple);
    let mut busy = task("business-hours", "*/15 8-18 * * MON-FRI");
    busy.retries = 2;
    busy.retry_delay = 300;
    busy.catch_up = orc::task::CatchUp::Once;
    busy.wake_to_run = true;
    busy.workdir = Some(env.root().join("work").display().to_string());
    put_task(&env, &busy);
    let mut system = task("quarterly", "5 0 1 1,4,7,10 *");
    system.run_as = Some("SYSTEM".into());
    system.enabled = false;
    system.timeout = None;
    system.description = None;
    put_task(&env, &system);
    let rows = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok().json();
    for name in ["nightly", "business-hours", "quarterly"] {
        let xml = entry(&rows, name)["xml"].as_str().unwrap().to_string();
        let xml = crate::support::redact(&env, &xml);
        crate::support::snapshot_settings(&[crate::support::redact::TASK_XML])
            .bind(|| insta::assert_snapshot!(format!("schedule_xml_{name}"), xml));
    }
}

/// Task Scheduler firing the registered task runs `orc … execute --task x --scheduled` in
/// the home (Start In), whatever the task's own working directory (orc execute applies it).
#[cfg(unix)]
#[test]
fn firing_a_registered_task_runs_orc_execute() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = env();
    // A stand-in for orc.exe that records how it was started.
    let recorder = env.root().join("orc-recorder.sh");
    let record = env.root().join("fired.txt");
    std::fs::write(
        &recorder,
        format!(
            "#!/bin/sh\n{{ pwd; for a in \"$@\"; do echo \"[$a]\"; done; }} > '{}'\nexit 3\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut t = task("x", "0 6 * * *");
    let work = env.root().join("work dir");
    std::fs::create_dir_all(&work).unwrap();
    t.workdir = Some(work.display().to_string());
    put_task(&env, &t);
    env.set_env("ORC_EXE", &recorder);
    env.orc(["schedule", "--all"]).ok();
    let fired = fake(&env, &["--fake-fire", "\\Orchestrator\\Orc_x"]);
    assert!(fired.stdout.contains("FAKE"), "{fired:?}");
    let got = std::fs::read_to_string(&record).unwrap();
    let want = format!(
        "{}\n[--home]\n[{}]\n[execute]\n[--task]\n[x]\n[--scheduled]\n",
        env.home().display(),
        env.home().display()
    );
    assert_eq!(got, want);
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    assert_eq!(entry(&list, "x")["last_result"], 3, "Task Scheduler shows orc's exit code");

    // The real orc binary, registered and fired.
    let mut env2 = self::env();
    put_task(&env2, &task("real", "0 6 * * *"));
    env2.orc(["schedule", "--all"]).ok();
    let fired = fake(&env2, &["--fake-fire", "\\Orchestrator\\Orc_real"]);
    assert!(fired.stdout.contains("FAKE"), "{fired:?}");
    let list = env2.orc(["schedule", "--list", "--json"]).ok().json();
    let row = entry(&list, "real");
    assert_ne!(row["last_result"], 267_011, "the task ran: {row}");
    let _ = &mut env2;
}

#[test]
fn the_daily_report_is_registered_as_a_built_in_task_and_removed_with_its_setting() {
    let env = env();
    put_task(&env, &task("nightly", "0 2 * * *"));
    env.orc(["config", "set", "report.daily_time", "07:30"]).ok();
    // A dry run shows it but writes nothing.
    let plan = env.orc(["--json", "schedule", "--all", "--dry-run"]).ok().json();
    assert_eq!(entry(&plan, "orc-daily-report")["action"], "create");
    assert!(env.orc(["--json", "task", "list"]).ok().json().as_array().unwrap().len() == 1);

    env.orc(["schedule", "--all"]).ok();
    let t = env.orc(["--json", "task", "show", "orc-daily-report"]).ok().json();
    assert_eq!(t["schedule"], "30 7 * * *");
    assert!(t["command"].as_str().unwrap().ends_with("report daily --send"), "{t}");
    let xml = stored_xml(&env, "orc-daily-report");
    assert!(xml.contains("execute --task orc-daily-report --scheduled"), "{xml}");
    assert!(fake_tasks(&env).iter().any(|p| p.ends_with("Orc_orc-daily-report")));

    // A new time updates it; unsetting the setting removes task and registration.
    env.orc(["config", "set", "report.daily_time", "18:05"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let t = env.orc(["--json", "task", "show", "orc-daily-report"]).ok().json();
    assert_eq!(t["schedule"], "5 18 * * *");
    env.orc(["config", "unset", "report.daily_time"]).ok();
    env.orc(["schedule", "--all"]).ok();
    env.orc(["task", "show", "orc-daily-report"]).code(3);
    assert!(!fake_tasks(&env).iter().any(|p| p.ends_with("Orc_orc-daily-report")));
    assert!(fake_tasks(&env).iter().any(|p| p.ends_with("Orc_nightly")));
}

#[test]
fn a_user_task_named_like_the_built_in_one_is_left_alone() {
    let env = env();
    let mut mine = task("orc-daily-report", "0 9 * * *");
    mine.owner = Some("alice".into());
    put_task(&env, &mine);
    env.orc(["config", "set", "report.daily_time", "07:30"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let t = env.orc(["--json", "task", "show", "orc-daily-report"]).ok().json();
    assert_eq!(t["schedule"], "0 9 * * *");
}

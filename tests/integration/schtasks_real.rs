//! Against the real Task Scheduler (`%SystemRoot%\System32\schtasks.exe`): register, query,
//! run, disable and delete tasks in a scratch folder `\orc-ci-<random>\`. Windows only and
//! `#[ignore]`d: run by the windows-latest workflow with `--include-ignored`.
#![cfg(windows)]

use std::path::Path;

use orc::scheduler::schtasks::{Schtasks, SchtasksBackend, TaskFolder, csv};
use orc::scheduler::{Backend, RenderEnv, taskxml};
use orc::task::TaskSpec;

use crate::support::Env;

fn scratch_folder() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).unwrap();
    format!("\\orc-ci-{}\\", hex::encode(bytes))
}

fn real() -> Schtasks {
    // Never the fake: the real program by absolute path.
    let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
    let exe = Path::new(&root).join("System32").join("schtasks.exe");
    assert!(exe.is_file(), "{} not found", exe.display());
    Schtasks::new(exe, None)
}

/// Deletes every task of the scratch folder, whatever happens in the test.
struct Cleanup {
    runner: Schtasks,
    folder: TaskFolder,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(parsed) = self.runner.query_all() {
            for row in &parsed.rows {
                if self.folder.task_of(row.task_name()).is_some() {
                    let _ = self.runner.delete(row.task_name());
                }
            }
        }
    }
}

#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn register_query_run_disable_and_delete_with_real_schtasks() {
    let runner = real();
    let folder = TaskFolder::new(&scratch_folder(), "Orc_").unwrap();
    let _cleanup = Cleanup { runner: runner.clone(), folder: folder.clone() };
    let tmp = tempfile::tempdir().unwrap();
    let mut backend = SchtasksBackend::new(runner.clone(), folder.clone(), tmp.path().join("tmp"));

    let mut spec = TaskSpec::new("ci-probe", "cmd /c exit 0", "*/15 8-18 * * 1-5");
    spec.description = Some("orc CI probe \"quoted\", with a second\nline".into());
    let no_secret = |_: &str| -> orc::Result<zeroize::Zeroizing<String>> { unreachable!() };
    let env = RenderEnv {
        exe: std::env::current_exe().unwrap(),
        home: tmp.path().to_path_buf(),
        password_for: &no_secret,
    };
    let desired = backend.render(&spec, &env).unwrap().unwrap();
    assert!(taskxml::validate_document(&desired.definition).is_empty());

    // Register through the plan, as `orc schedule` does.
    let registered = backend.registered().unwrap();
    assert!(registered.is_empty(), "scratch folder is new: {registered:?}");
    let plan = orc::scheduler::plan(std::slice::from_ref(&desired), &registered, &[]);
    let report = backend.apply(&plan, &mut |_, _| {}).unwrap();
    assert!(report.outcomes.iter().all(|o| o.result.is_ok()), "{report:?}");

    // One query shows it exactly as orc expects, in whatever language Windows speaks.
    let registered = backend.registered().unwrap();
    assert_eq!(registered.len(), 1, "{registered:?}");
    let r = &registered[0];
    assert_eq!(r.task, "ci-probe");
    assert!(
        orc::scheduler::Fingerprint::differences(&desired.expect, &r.seen).is_empty(),
        "expected {:?}\nseen {:?}",
        desired.expect,
        r.seen
    );
    assert_eq!(r.last_result, Some(0x41303), "never ran yet");
    let plan = orc::scheduler::plan(std::slice::from_ref(&desired), &registered, &[]);
    assert_eq!(plan.changes().count(), 0, "a second reconcile changes nothing");

    // The XML Windows holds (normalized: defaults, URI, its own element order) is
    // semantically what orc registered, although not byte for byte.
    let path = folder.path_of("ci-probe");
    let held = runner.query_xml(&path).unwrap();
    assert_ne!(held.trim(), desired.definition.trim());
    let diffs = taskxml::normalize::compare(&desired.definition, &held);
    assert!(diffs.is_empty(), "{diffs:#?}\n{held}");
    // A missing task, asked for by name with /HRESULT: "not found", whatever the language.
    assert!(runner.query_task(&folder.path_of("ci-missing")).unwrap().is_none());

    // Run, end, disable (seen as disabled without knowing the display language), delete.
    runner.run_now(&path).unwrap();
    runner.end(&path).unwrap();
    runner.set_enabled(&path, false).unwrap();
    let parsed = runner.query_all().unwrap();
    let rows: Vec<&csv::Row> =
        parsed.rows.iter().filter(|r| r.task_name().eq_ignore_ascii_case(&path)).collect();
    assert!(!rows.is_empty());
    assert!(!rows[0].enabled(), "{:?}", rows[0]);
    // Only the enabled state differs semantically: what `/Change /ENABLE` repairs.
    let diffs = taskxml::normalize::compare(&desired.definition, &runner.query_xml(&path).unwrap());
    assert!(taskxml::normalize::only_enabled_differs(&diffs), "{diffs:#?}");
    assert!(runner.run_now(&path).is_err(), "a disabled task cannot be run");
    runner.delete(&path).unwrap();
    runner.delete(&path).unwrap(); // already gone: still fine
    assert!(backend.registered().unwrap().is_empty());
}

#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn cli_schedule_list_and_unschedule_with_real_schtasks() {
    let env = Env::new();
    let folder = scratch_folder();
    let _cleanup = Cleanup { runner: real(), folder: TaskFolder::new(&folder, "Orc_").unwrap() };
    env.orc(["schedule", "--list"]).ok();
    let mut store = orc::store::Store::open(&env.home()).unwrap();
    let spec = TaskSpec::new("ci-cli", "cmd /c exit 0", "0 3 * * *");
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO config (key, value, updated_at) VALUES ('scheduler.folder', ?1, 'now')",
                [&folder],
            )
            .and_then(|_| {
                tx.execute(
                    "INSERT INTO tasks (name, enabled, spec, created_at, updated_at) VALUES (?1, 1, ?2, 'now', 'now')",
                    [&spec.name, &serde_json::to_string(&spec).unwrap()],
                )
            })
            .map_err(|e| orc::store::classify(Path::new("db"), "test", e))
        })
        .unwrap();
    drop(store);
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("1 created"), "{}", out.stdout);
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("1 unchanged"), "{}", out.stdout);
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    assert_eq!(list[0]["registered"], true, "{list}");
    assert_eq!(list[0]["in_sync"], true, "{list}");
    env.orc(["unschedule", "--all"]).ok();
    let list = env.orc(["schedule", "--list", "--json"]).ok().json();
    assert_eq!(list[0]["registered"], false, "{list}");
}

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
    let env =
        RenderEnv::new(std::env::current_exe().unwrap(), tmp.path().to_path_buf(), &no_secret);
    let desired = backend.render(&spec, &env).unwrap().unwrap();
    assert!(taskxml::validate_document(&desired.definition).is_empty());

    // Register through the plan, as `orc schedule` does.
    let registered = backend.registered().unwrap();
    assert!(registered.is_empty(), "scratch folder is new: {registered:?}");
    let plan = orc::scheduler::plan(vec![desired.clone()], registered.clone(), Vec::new());
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
    let plan = orc::scheduler::plan(vec![desired.clone()], registered.clone(), Vec::new());
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
    let mut store = env.store();
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

/// Registers the env's tasks in a scratch folder with `orc schedule`, starts `task` with
/// `schtasks /Run` and waits for orc's run row (Task Scheduler starts orc.exe on its own).
fn run_through_task_scheduler(env: &Env, folder: &str, task: &str) -> serde_json::Value {
    env.orc(["config", "set", "scheduler.folder", folder]).ok();
    env.orc(["schedule", "--all"]).ok();
    let path = TaskFolder::new(folder, "Orc_").unwrap().path_of(task);
    real().run_now(&path).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let runs = env.orc(["--json", "history", "--task", task]).ok().json();
        if let Some(r) = runs.as_array().and_then(|a| a.first())
            && r["status"] != "RUNNING"
        {
            return r.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no finished run of {task} after 90 s");
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn held_xml(folder: &str, task: &str) -> String {
    real().query_xml(&TaskFolder::new(folder, "Orc_").unwrap().path_of(task)).unwrap()
}

fn add(env: &Env, name: &str, command: &str, extra: &[&str]) {
    let mut args = vec!["task", "add", name, "--command", command, "--schedule", "0 3 * * *"];
    args.extend_from_slice(extra);
    env.orc(args).ok();
}

/// The default principal: S4U for the registering user (no password), which Windows accepts
/// from an elevated caller and runs whether the user is logged on or not.
#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn s4u_registration_runs_without_a_password() {
    let env = Env::new();
    let folder = scratch_folder();
    let _cleanup = Cleanup { runner: real(), folder: TaskFolder::new(&folder, "Orc_").unwrap() };
    add(&env, "ci-s4u", "whoami", &[]);
    let run = run_through_task_scheduler(&env, &folder, "ci-s4u");
    assert_eq!(run["status"], "SUCCESS", "{run}");
    let held = held_xml(&folder, "ci-s4u");
    assert!(held.contains("<LogonType>S4U</LogonType>"), "{held}");
}

/// SYSTEM by SID, no password anywhere: the task's process is NT AUTHORITY\SYSTEM.
#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn a_system_task_runs_as_system() {
    let env = Env::new();
    let folder = scratch_folder();
    let _cleanup = Cleanup { runner: real(), folder: TaskFolder::new(&folder, "Orc_").unwrap() };
    add(&env, "ci-system", "whoami", &["--run-as", "S-1-5-18"]);
    let run = run_through_task_scheduler(&env, &folder, "ci-system");
    assert_eq!(run["status"], "SUCCESS", "{run}");
    let who = run["stdout_tail"].as_str().unwrap().trim().to_lowercase();
    assert!(who.ends_with("\\system") || who.ends_with("\\système"), "{who}");
    assert!(held_xml(&folder, "ci-system").contains("<UserId>S-1-5-18</UserId>"));
}

/// Start In is the home: a task whose own directory is missing still starts orc, and the
/// run is recorded as FAILED with the reason (not a bare 0x8007010B Last Result).
#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn start_in_is_the_home_and_a_missing_workdir_is_a_recorded_failure() {
    let env = Env::new();
    let folder = scratch_folder();
    let _cleanup = Cleanup { runner: real(), folder: TaskFolder::new(&folder, "Orc_").unwrap() };
    let gone = env.root().join("gone").display().to_string();
    add(&env, "ci-nodir", "cd", &["--workdir", &gone]);
    let run = run_through_task_scheduler(&env, &folder, "ci-nodir");
    assert_eq!(run["status"], "FAILED", "{run}");
    assert_eq!(run["error"], format!("working directory {gone} does not exist"));
    let held = held_xml(&folder, "ci-nodir");
    let home = env.home().display().to_string();
    assert!(held.contains(&format!("<WorkingDirectory>{home}</WorkingDirectory>")), "{held}");
}

/// Priority 4 (not Task Scheduler's default 7): the task's command runs at normal priority.
#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn a_scheduled_command_runs_at_normal_priority() {
    let env = Env::new();
    let folder = scratch_folder();
    let _cleanup = Cleanup { runner: real(), folder: TaskFolder::new(&folder, "Orc_").unwrap() };
    add(
        &env,
        "ci-priority",
        "(Get-Process -Id $PID).PriorityClass.ToString()",
        &["--shell", "powershell"],
    );
    let run = run_through_task_scheduler(&env, &folder, "ci-priority");
    assert_eq!(run["status"], "SUCCESS", "{run}");
    assert_eq!(run["stdout_tail"].as_str().unwrap().trim(), "Normal", "{run}");
}

/// The built-in `orc-watch` task registers with its `BootTrigger` (which needs an elevated
/// caller, as the windows-latest runner is), Task Scheduler keeps the trigger, and a second
/// `orc schedule` finds no drift in what Task Scheduler exports.
#[test]
#[ignore = "needs the real Windows Task Scheduler"]
fn the_watch_task_registers_its_boot_trigger_without_drift() {
    let env = Env::new();
    let folder = scratch_folder();
    let _cleanup = Cleanup { runner: real(), folder: TaskFolder::new(&folder, "Orc_").unwrap() };
    env.orc(["config", "set", "watch.interval", "5m"]).ok();
    env.orc(["config", "set", "scheduler.folder", &folder]).ok();
    env.orc(["schedule", "--all"]).ok();
    let held = held_xml(&folder, "orc-watch");
    let leaves = taskxml::normalize::canonical(&held).unwrap().leaves;
    assert!(
        leaves.iter().any(|(p, v)| p == "Triggers/BootTrigger/Enabled" && v == "true"),
        "{held}"
    );
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("0 created, 0 updated, 0 deleted"), "{}", out.stdout);
}

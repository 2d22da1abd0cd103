//! Tasks that also start at boot (`at_boot`): the built-in `orc-watch` task's Task Scheduler
//! XML carries a `BootTrigger` (exact document), the fake schtasks stores and exports it, a
//! second `orc schedule` sees no drift; `--at-boot` on user tasks needs catch-up `once`. (The
//! crontab `@reboot` line is tested in `crontab.rs`.)

use crate::schedule::{entry, fake, stored_xml};
use crate::support::Env;

fn env() -> Env {
    let mut env = Env::new();
    env.with_fake_schtasks();
    // A Saturday noon: the watch task's first-window trigger is fixed by the instant.
    env.set_env("ORC_NOW", "2027-03-06T12:00:00");
    env
}

#[test]
fn the_watch_task_starts_at_boot_in_task_scheduler_without_drift() {
    let env = env();
    let rows = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok().json();
    let xml = crate::support::redact(&env, entry(&rows, "orc-watch")["xml"].as_str().unwrap());
    crate::support::snapshot_settings(&[crate::support::redact::TASK_XML])
        .bind(|| insta::assert_snapshot!("boot_trigger_watch_xml", xml));

    env.orc(["schedule", "--all"]).ok();
    assert!(stored_xml(&env, "orc-watch").contains("<BootTrigger>"));
    // What Task Scheduler exports holds the boot trigger, enabled.
    let export = fake(&env, &["/Query", "/XML", "/TN", "\\Orchestrator\\Orc_orc-watch"]).ok();
    let leaves = orc::scheduler::taskxml::normalize::canonical(&export.stdout).unwrap().leaves;
    let boot: Vec<(&str, &str)> = leaves
        .iter()
        .filter(|(p, _)| p.starts_with("Triggers/BootTrigger"))
        .map(|(p, v)| (p.as_str(), v.as_str()))
        .collect();
    assert_eq!(boot, [("Triggers/BootTrigger/Enabled", "true")]);
    // A second run compares the registration with the definition: no drift, no write.
    let rows = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok().json();
    let row = entry(&rows, "orc-watch");
    assert_eq!((row["action"].as_str(), row["drift"].as_bool()), (Some("unchanged"), Some(false)));
    let out = env.orc(["schedule", "--all"]).ok();
    assert!(out.stdout.contains("0 created, 0 updated, 0 deleted"), "{}", out.stdout);
}

#[test]
fn a_user_task_may_start_at_boot_with_catch_up_once() {
    let env = env();
    env.without_watch_task();
    let add = ["task", "add", "sync", "--command", "echo hi", "--schedule", "0 2 * * *"];
    env.orc(add.iter().chain(&["--at-boot"])).code(2).assert_stderr_line(
        "error: invalid --at-boot \"on\": a start at boot runs the latest slot missed while the \
         machine was off, which needs --catch-up once",
    );
    env.orc(add.iter().chain(&["--at-boot", "--catch-up", "once"])).ok();
    let t = env.orc(["--json", "task", "show", "sync"]).ok().json();
    assert_eq!(t["at_boot"], true);
    env.orc(["task", "edit", "sync", "--catch-up", "none"]).code(2);
    let export = env.orc(["task", "export"]).ok().stdout;
    assert!(export.contains("\"at_boot\": true"), "{export}");
    env.orc(["schedule", "--all"]).ok();
    assert!(stored_xml(&env, "sync").contains("<BootTrigger>"));
    env.orc(["task", "edit", "sync", "--no-at-boot"]).ok();
    let t = env.orc(["--json", "task", "show", "sync"]).ok().json();
    assert_eq!(t["at_boot"], false);
    env.orc(["schedule", "--all"]).ok();
    assert!(!stored_xml(&env, "sync").contains("BootTrigger"));
}

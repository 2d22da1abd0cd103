//! The explanation from facts built by hand: which source answers, and the slot logic.

use chrono::{Local, TimeZone, Utc};

use super::*;
use crate::exec::runs::Trigger;

fn spec() -> TaskSpec {
    TaskSpec::new("backup", "x", "0 2 * * *")
}

fn facts() -> Facts {
    Facts {
        task: spec(),
        now: Local.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        at: None,
        run_asked: false,
        registration: Ok(Some(Registered {
            task: "backup".into(),
            path: "\\Orchestrator\\Orc_backup".into(),
            last_result: Some(0),
            ..Default::default()
        })),
        events: None,
        log_enabled: None,
        attempts: Vec::new(),
        recent: Vec::new(),
        dependencies: Vec::new(),
    }
}

fn run(id: i64, status: Status, slot: Option<String>, start: DateTime<Utc>) -> RunRecord {
    RunRecord {
        id,
        task_id: Some(1),
        task: "backup".into(),
        slot,
        attempt: 1,
        trigger: Trigger::Scheduled,
        status,
        start,
        end: None,
        duration_ms: None,
        error: Some("boom".into()),
        process: Default::default(),
        pid: None,
        pid_started: None,
        child_pid: None,
        host: "h".into(),
        orc_version: "0".into(),
    }
}

fn slot_2am() -> (String, DateTime<Utc>) {
    let at = Local.with_ymd_and_hms(2026, 3, 1, 2, 0, 0).unwrap();
    (slot::slot_text(at), at.to_utc())
}

#[test]
fn a_refused_start_wins_over_the_last_run_unless_a_run_is_asked_for() {
    let (slot, start) = slot_2am();
    let mut f = facts();
    f.attempts = vec![run(7, Status::Failed, Some(slot), start)];
    assert_eq!(
        explain(&f).verdict,
        format!("run #7 (slot {}) failed: boom", f.attempts[0].slot.as_ref().unwrap())
    );
    if let Ok(Some(r)) = f.registration.as_mut() {
        r.last_result = Some(0x8004_131F_u32 as i32 as i64);
    }
    assert!(
        explain(&f)
            .verdict
            .starts_with("Task Scheduler did not start it: an instance was already running")
    );
    f.run_asked = true;
    assert!(explain(&f).verdict.starts_with("run #7 "));
}

#[test]
fn starts_in_the_log_are_matched_with_slots() {
    let (slot, start) = slot_2am();
    let mut f = facts();
    f.recent = vec![run(3, Status::Success, Some(slot.clone()), start)];
    let ev = |secs: i64| TaskEvent {
        id: 100,
        time: Some(start + chrono::Duration::seconds(secs)),
        data: Vec::new(),
    };
    f.events = Some(Ok(vec![ev(0), ev(120), ev(3 * 3600)]));
    let x = explain(&f);
    let notes: Vec<_> = x.events.iter().map(|e| e.orc.clone().unwrap()).collect();
    assert_eq!(
        notes,
        [
            format!("served slot {slot} as run #3"),
            format!("slot {slot} was already served by run #3: duplicate start skipped"),
            "not a slot of the schedule: orc skipped this start (superset trigger)".to_string(),
        ]
    );
}

#[test]
fn an_unregistered_task_and_the_catch_up_policy_of_a_missed_slot() {
    let mut f = facts();
    f.registration = Ok(None);
    assert_eq!(
        explain(&f).verdict,
        "it is not registered with the OS scheduler: run `orc schedule --all`"
    );
    let (slot, _) = slot_2am();
    f.at = Some(Local.with_ymd_and_hms(2026, 3, 1, 2, 5, 0).unwrap());
    f.task.catch_up = CatchUp::Once;
    assert_eq!(
        explain(&f).verdict,
        format!(
            "missed slot {slot}: orc recorded nothing for it; catch-up once: the next start \
             serves the latest slot only"
        )
    );
}

#[test]
fn rendering_puts_the_verdict_first_and_one_block_per_source() {
    let x = explain(&facts());
    let text = render(&x);
    assert!(text.starts_with("backup: it has no run yet\n\ntask:\n"), "{text}");
    assert!(
        text.contains(
            "\n\nscheduler:\n  \\Orchestrator\\Orc_backup: registered\n  last result: 0 (success)\n"
        ),
        "{text}"
    );
    assert_eq!(result_text(0x0004_1303), "0x00041303 (has not run yet)");
    assert_eq!(result_text(2), "2");
}

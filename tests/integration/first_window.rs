//! The first run after a (re)registration with the fake schtasks: the registered XML carries a
//! one-off `TimeTrigger id="OrcFirstWindow"` for the repetition window open at the registration
//! instant, a later `orc schedule` leaves it alone, and two starts in one minute run once.

use chrono::{NaiveDate, NaiveDateTime};

use crate::schedule::trigger_sim;
use crate::schedule::{calls_during, entry, env, put_task, stored_xml, task};

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap()
}

#[test]
fn registration_mid_window_fires_at_crons_next_time_and_is_stable() {
    let mut env = env();
    // Thursday 10:07:30: the 08:00 window of `*/15 8-18 * * 1-5` is open.
    env.set_env("ORC_NOW", "2027-03-04T10:07:30");
    put_task(&env, &task("quarter", "*/15 8-18 * * 1-5"));
    env.orc(["schedule", "--all"]).ok();
    let xml = stored_xml(&env, "quarter");
    let one_off = xml
        .split("<TimeTrigger id=\"OrcFirstWindow\">")
        .nth(1)
        .and_then(|rest| rest.split("</TimeTrigger>").next())
        .unwrap_or_else(|| panic!("no first-window trigger in\n{xml}"));
    assert!(one_off.contains("<StartBoundary>2027-03-04T10:15:00</StartBoundary>"), "{one_off}");
    assert!(one_off.contains("<Interval>PT15M</Interval>"), "{one_off}");
    assert!(one_off.contains("<Duration>PT8H37M30S</Duration>"), "{one_off}");
    assert!(orc::scheduler::taskxml::validate_document(&xml).is_empty());

    // What Windows would do with the stored definition, registered at that instant.
    let triggers = trigger_sim::parse_triggers(&xml).unwrap();
    let day = NaiveDate::from_ymd_opt(2027, 3, 4).unwrap();
    let sim = trigger_sim::simulate_registered(
        &triggers,
        day,
        day.succ_opt().unwrap(),
        at("2027-03-04T10:07:30"),
    );
    let first: Vec<String> =
        sim.minutes.iter().take(2).map(|t| t.format("%d %H:%M").to_string()).collect();
    assert_eq!(first, ["04 10:15", "04 10:30"]);

    // Later the same day, and the next day, nothing is re-registered: the first-window
    // trigger is not part of the definition.
    for now in ["2027-03-04T12:00:00", "2027-03-05T09:00:00"] {
        env.set_env("ORC_NOW", now);
        let made = calls_during(&env, || {
            let out = env.orc(["schedule", "--all", "--json"]).ok();
            assert_eq!(entry(&out.json(), "quarter")["action"], "unchanged", "{now}");
        });
        assert_eq!(made.len(), 1, "{now}: {made:#?}");
    }
}

#[test]
fn registration_outside_a_window_adds_nothing() {
    let mut env = env();
    env.set_env("ORC_NOW", "2027-03-04T07:00:00");
    put_task(&env, &task("quarter", "*/15 8-18 * * 1-5"));
    env.orc(["schedule", "--all"]).ok();
    assert!(!stored_xml(&env, "quarter").contains("TimeTrigger"));
}

#[test]
fn the_plan_and_the_first_window_trigger_starting_together_run_once() {
    let mut env = env();
    env.set_env("ORC_NOW", "2027-03-04T10:15:05");
    put_task(&env, &task("quarter", "*/15 8-18 * * 1-5"));
    let first = env.orc(["execute", "--task", "quarter", "--scheduled"]).ok();
    assert!(!first.stdout.contains("already claimed"), "{}", first.stdout);
    let second = env.orc(["execute", "--task", "quarter", "--scheduled"]).ok();
    assert!(second.stdout.contains("already claimed"), "{}", second.stdout);
    let out = env.orc(["history", "--task", "quarter", "--json"]).ok();
    assert_eq!(out.json().as_array().map(Vec::len), Some(1), "{}", out.stdout);
}

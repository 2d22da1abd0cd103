//! The first repetition window after a registration: plan + first-window triggers → XML →
//! trigger simulator with a registration instant → minutes, compared with cron's own times.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use proptest::prelude::*;

use super::{at, day, expr, generate};
use crate::cron::first_window::{self, FirstWindow, OneOff};
use crate::cron::trigger::{self, DaySelector, MAX_TRIGGERS, Repetition, Trigger, TriggerPlan};
use crate::cron::trigger_sim::{self, MinuteSet};
use crate::cron::{CronExpr, xml};

/// The `StartBoundary` date of the plan's calendar triggers.
fn anchor() -> NaiveDate {
    day("2027-01-01")
}

/// How many days after the registration date are simulated.
const HORIZON_DAYS: i64 = 40;

/// The simulated start minutes after registering `plan` (+ `extra`) at `registered`.
fn simulate(plan: &TriggerPlan, extra: &[OneOff], registered: NaiveDateTime) -> MinuteSet {
    let fragment = xml::triggers_fragment_with(plan, anchor(), extra);
    let parsed = trigger_sim::parse_triggers(&fragment).unwrap_or_else(|e| panic!("{e}"));
    let from = registered.date();
    let to = from + Duration::days(HORIZON_DAYS);
    trigger_sim::simulate_registered(&parsed, from, to, registered).minutes
}

/// The simulated start minutes of `plan` without any registration instant (windows always open).
fn simulate_unregistered(plan: &TriggerPlan, registered: NaiveDateTime) -> MinuteSet {
    let fragment = xml::triggers_fragment(plan, anchor());
    let from = registered.date();
    let to = from + Duration::days(HORIZON_DAYS);
    trigger_sim::simulate(&fragment, from, to).unwrap_or_else(|e| panic!("{e}"))
}

/// The minutes of `set` strictly after `t`.
fn after(set: &MinuteSet, t: NaiveDateTime) -> Vec<NaiveDateTime> {
    set.iter().filter(|m| *m > t).collect()
}

/// Checks one expression registered at one instant.
fn check(text: &str, registered: NaiveDateTime) -> Result<FirstWindow, TestCaseError> {
    let e = CronExpr::parse(text).map_err(|err| TestCaseError::fail(err.to_string()))?;
    let plan = trigger::plan(&e);
    let extra = first_window::plan(&e, &plan, registered, 0);
    prop_assert!(plan.triggers.len() + extra.triggers.len() <= MAX_TRIGGERS);
    let with = simulate(&plan, &extra.triggers, registered);
    let without = simulate(&plan, &[], registered);
    let horizon_end =
        (registered.date() + Duration::days(HORIZON_DAYS + 1)).and_time(NaiveTime::MIN);
    let next = e.next_after(registered).filter(|n| *n < horizon_end);
    let first = with.iter().next();
    prop_assert!(first.is_none_or(|f| f > registered), "{text}: a start before registration");
    let budget_left = plan.triggers.len() < MAX_TRIGGERS;
    if let Some(next) = next.filter(|_| budget_left) {
        prop_assert!(
            with.contains(next),
            "{text} @ {registered}: cron's next {next} does not fire"
        );
        if plan.exact {
            prop_assert_eq!(first, Some(next), "{} @ {}", text, registered);
        } else {
            prop_assert!(first.is_some_and(|f| f <= next), "{text} @ {registered}");
        }
    } else if plan.exact && budget_left {
        prop_assert_eq!(first, None, "{} @ {}: starts where cron has none", text, registered);
    }
    // Later fires are unchanged: every extra window ends on the registration date.
    let tomorrow = (registered.date() + Duration::days(1)).and_time(NaiveTime::MIN);
    let late = |set: &MinuteSet| set.iter().filter(|m| *m >= tomorrow).collect::<Vec<_>>();
    prop_assert_eq!(late(&with), late(&without), "{} @ {}", text, registered);
    // Within the budget, the registration loses nothing: exactly the starts of an
    // always-registered task after R.
    if extra.warnings.is_empty() {
        let always = simulate_unregistered(&plan, registered);
        prop_assert_eq!(after(&with, registered), after(&always, registered), "{}", text);
    } else {
        prop_assert!(plan.triggers.len() + extra.triggers.len() == MAX_TRIGGERS);
    }
    Ok(extra)
}

/// A registration instant: any second of 2027 and 2028.
fn instant() -> impl Strategy<Value = NaiveDateTime> {
    (0..730i64, 0..86_400i64).prop_map(|(d, s)| {
        day("2027-01-01").and_time(NaiveTime::MIN) + Duration::days(d) + Duration::seconds(s)
    })
}

/// Repeating windows of every shape: `*/N a-b`, `m a-b/k`, lists.
fn window_expression() -> BoxedStrategy<String> {
    (1..=30u32, 0..=23u32, 0..=23u32, 1..=4u32, prop::sample::select(vec!["*", "1-5", "0,6"]))
        .prop_map(|(n, a, b, k, dow)| {
            let (a, b) = (a.min(b), a.max(b));
            if k == 1 {
                format!("*/{n} {a}-{b} * * {dow}")
            } else {
                format!("7 {a}-{b}/{k} * * {dow}")
            }
        })
        .boxed()
}

proptest! {
    #![proptest_config(super::proptest_cases(500))]

    /// Random expressions × random registration instants.
    #[test]
    fn first_start_after_registration_is_crons_next(
        text in generate::expression(),
        registered in instant(),
    ) {
        check(&text, registered)?;
    }

    /// Expressions that are mostly repetition windows, so most instants fall inside one.
    #[test]
    fn open_windows_are_caught_up(text in window_expression(), registered in instant()) {
        check(&text, registered)?;
    }

    /// Dense expressions: many triggers, the budget runs out.
    #[test]
    fn dense_plans_stay_within_the_budget(
        text in generate::dense_expression(),
        registered in instant(),
    ) {
        check(&text, registered)?;
    }
}

#[test]
fn registered_mid_window_fires_at_the_next_quarter() {
    // Thursday 2027-03-04, 10:07:30: the 08:00 window is open.
    let registered = at("2027-03-04 10:07:30");
    let e = expr("*/15 8-18 * * 1-5");
    let plan = trigger::plan(&e);
    let extra = first_window::plan(&e, &plan, registered, 0);
    assert_eq!(
        extra,
        FirstWindow {
            triggers: vec![OneOff {
                start: at("2027-03-04 10:15"),
                // 10:15 … 18:45: 34 more starts of 15 min, + 7m30s margin.
                repetition: Some(Repetition { interval_minutes: 15, duration_seconds: 31_050 }),
            }],
            warnings: vec![],
        }
    );
    let fragment = xml::triggers_fragment_with(&plan, anchor(), &extra.triggers);
    assert!(
        fragment.contains(
            "<TimeTrigger id=\"OrcFirstWindow\">\n    <StartBoundary>2027-03-04T10:15:00</StartBoundary>\n    \
             <Repetition>\n      <Interval>PT15M</Interval>\n      <Duration>PT8H37M30S</Duration>\n    \
             </Repetition>\n  </TimeTrigger>"
        ),
        "{fragment}"
    );
    let with = simulate(&plan, &extra.triggers, registered);
    let first: Vec<String> =
        with.iter().take(3).map(|t| t.format("%d %H:%M").to_string()).collect();
    assert_eq!(first, ["04 10:15", "04 10:30", "04 10:45"]);
    // Without the extra trigger the task is silent until 08:00 the next weekday (Friday).
    let without = simulate(&plan, &[], registered);
    assert_eq!(without.iter().next(), Some(at("2027-03-05 08:00")));
    assert_eq!(with.iter().filter(|t| t.date() == registered.date()).count(), 35);
}

#[test]
fn no_extra_trigger_outside_a_window() {
    let e = expr("*/15 8-18 * * 1-5");
    let plan = trigger::plan(&e);
    for registered in ["2027-03-04 07:59:59", "2027-03-04 18:45:00", "2027-03-06 10:07"] {
        assert_eq!(
            first_window::plan(&e, &plan, at(registered), 0),
            FirstWindow::default(),
            "{registered}"
        );
    }
    // Registered exactly at the base time: the base start is not seen, the window is open.
    let extra = first_window::plan(&e, &plan, at("2027-03-04 08:00"), 0);
    assert_eq!(extra.triggers.first().map(|t| t.start), Some(at("2027-03-04 08:15")));
    // A window with one start left gets a trigger without repetition.
    let extra = first_window::plan(&e, &plan, at("2027-03-04 18:31"), 0);
    assert_eq!(extra.triggers, [OneOff { start: at("2027-03-04 18:45"), repetition: None }]);
    // Plans without repetition never need one.
    let e = expr("5 9 * * *");
    let daily = trigger::plan(&e);
    assert_eq!(
        first_window::plan(&e, &daily, at("2027-03-04 09:05:01"), 0),
        FirstWindow::default()
    );
}

#[test]
fn several_open_windows_get_one_trigger_each_with_unique_ids() {
    let e = expr("*/7 * * * *");
    let plan = trigger::plan(&e);
    assert_eq!(plan.triggers.len(), 9);
    let extra = first_window::plan(&e, &plan, at("2027-03-04 10:07"), 0);
    assert_eq!(extra.triggers.len(), 9);
    assert_eq!(extra.triggers[0].start, at("2027-03-04 10:14"));
    let fragment = xml::triggers_fragment_with(&plan, anchor(), &extra.triggers);
    for n in 2..=9 {
        assert!(fragment.contains(&format!("<TimeTrigger id=\"OrcFirstWindow-{n}\">")), "{n}");
    }
    assert_eq!(fragment.matches("id=\"OrcFirstWindow\"").count(), 1);
}

#[test]
fn an_exhausted_budget_keeps_the_earliest_and_warns() {
    // 48 daily windows at 00:00, 00:01, … 00:47, each repeating hourly: all open at 10:30.
    let triggers: Vec<Trigger> = (0..48u32)
        .map(|m| Trigger {
            start: NaiveTime::from_hms_opt(0, m, 0).unwrap_or(NaiveTime::MIN),
            repetition: Some(Repetition {
                interval_minutes: 60,
                duration_seconds: 23 * 3600 + 1800,
            }),
            days: DaySelector::Daily,
        })
        .collect();
    let full = TriggerPlan { triggers, exact: true, may_duplicate: false, notes: vec![] };
    let e = expr("0-47 * * * *");
    let extra = first_window::plan(&e, &full, at("2027-03-04 10:30"), 0);
    assert!(extra.triggers.is_empty());
    assert_eq!(
        extra.warnings,
        ["Registered at 2027-03-04 10:30:00 inside 48 open repetition window(s), but only 0 of \
          Task Scheduler's 48 triggers are left for the first-window triggers: the starts of 48 \
          window(s) from 10:31 on are missed until their next base time."]
    );
    let partial = TriggerPlan { triggers: full.triggers[..40].to_vec(), ..full };
    let extra = first_window::plan(&e, &partial, at("2027-03-04 10:30"), 0);
    assert_eq!(extra.triggers.len(), 8);
    assert_eq!(extra.triggers[0].start, at("2027-03-04 10:31"));
    assert_eq!(extra.warnings.len(), 1);
    assert!(extra.warnings[0].contains("the starts of 32 window(s) from 10:39 on"), "{extra:?}");
    // A boot trigger comes out of the same 48: one first-window trigger fewer.
    let extra = first_window::plan(&e, &partial, at("2027-03-04 10:30"), 1);
    assert_eq!(extra.triggers.len(), 7);
    assert!(extra.warnings[0].contains("only 7 of Task Scheduler's 48"), "{extra:?}");
}

#[test]
fn first_window_ids_are_recognised() {
    for id in ["OrcFirstWindow", "OrcFirstWindow-2", "OrcFirstWindow-48"] {
        assert!(first_window::is_first_window_id(id), "{id}");
    }
    for id in ["", "OrcFirstWindow-", "OrcFirstWindow2", "OrcFirstWindow-x", "Author"] {
        assert!(!first_window::is_first_window_id(id), "{id}");
    }
    assert_eq!(first_window::first_window_id(0), "OrcFirstWindow");
    assert_eq!(first_window::first_window_id(2), "OrcFirstWindow-3");
}

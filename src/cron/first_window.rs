//! The first repetition window after a (re)registration.
//!
//! Task Scheduler opens a trigger's `Repetition` window only when the trigger's *base* start
//! fires after the task was registered: a `CalendarTrigger` "08:00, every 15 minutes for 10h52m30s"
//! registered at 10:07 stays silent until 08:00 the next matching day (oven-sh/bun#34195, seen on
//! Windows Server 2022; their fix oven-sh/bun#34199 and the reference notes in
//! `windows-deployment.md`). orc re-registers a task on every edit, so that gap would be common.
//!
//! [`plan`] computes, for a registration instant `R` (local wall clock, from `crate::clock`), one
//! extra one-off `TimeTrigger` per repetition window that is open at `R` on `R`'s date (base start
//! at or before `R`, a later start of the same window after `R`): its `StartBoundary` is the first
//! start of that window after `R` and its `Repetition` has the window's interval and a duration
//! that covers the window's remaining starts (with the same half-step margin as the plan itself).
//! The `StartBoundary` is deliberately in the future: a trigger whose base start lies after the
//! registration fires and opens its window by Task Scheduler's ordinary rules, whereas a past
//! `StartBoundary` with repetition can start the task at registration time
//! (dahall/TaskScheduler#768, #773) and relies on the behaviour bun#34199 depends on.
//!
//! Each extra trigger carries the attribute `id` = [`FIRST_WINDOW_ID`] (the first) or
//! `OrcFirstWindow-2`, `-3`, … (the XSD types `id` as `xs:ID`, which must be unique): use
//! [`is_first_window_id`] to recognise them. They are not part of the task's definition: the
//! definition hash and drift comparison ignore them, and once their `StartBoundary` date is past
//! they never fire again.
//!
//! Starts the extra triggers duplicate (two windows with the same start minute) are dropped by
//! `orc execute --scheduled`, which claims each slot once (`exec::slot`).
//!
//! The extra triggers count against Task Scheduler's limit of
//! [`MAX_TRIGGERS`](super::trigger::MAX_TRIGGERS) per task. When the windows open at `R` need
//! more than the triggers left, the ones whose first start that is one of the expression's own
//! slots comes earliest are kept (so cron's next start after `R` is still covered while at least
//! one trigger is left, also for superset plans) and [`FirstWindow::warnings`] says what is
//! missed until the next base start.
//!
//! Times are naive local wall-clock times, like the plan's `StartBoundary`s; a DST change between
//! `R` and the end of the window shifts the extra starts as it shifts the plan's.

use chrono::{NaiveDateTime, NaiveTime, Timelike};
use serde::Serialize;

use super::CronExpr;
use super::trigger::{MAX_TRIGGERS, Repetition, TriggerPlan};

/// The `id` attribute of the first extra trigger; later ones append `-2`, `-3`, ….
pub const FIRST_WINDOW_ID: &str = "OrcFirstWindow";

/// Whether a trigger `id` attribute marks one of the extra first-window triggers.
pub fn is_first_window_id(id: &str) -> bool {
    match id.strip_prefix(FIRST_WINDOW_ID) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// The `id` of the extra trigger at `index` (0-based).
pub fn first_window_id(index: usize) -> String {
    match index {
        0 => FIRST_WINDOW_ID.to_owned(),
        n => format!("{FIRST_WINDOW_ID}-{}", n + 1),
    }
}

/// One extra `TimeTrigger`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneOff {
    /// `StartBoundary`: the first start of the window after the registration instant.
    pub start: NaiveDateTime,
    /// The rest of the window (`None` when only one start is left).
    pub repetition: Option<Repetition>,
}

/// The extra triggers for one registration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirstWindow {
    /// Sorted by their first start that is a slot of the expression; at most
    /// `MAX_TRIGGERS - plan.triggers.len() - reserved`.
    pub triggers: Vec<OneOff>,
    /// Plain-English remarks when the budget did not suffice.
    pub warnings: Vec<String>,
}

/// The extra triggers `plan` (the trigger plan of `expr`) needs when registered at `registered`;
/// see the module docs. `reserved` triggers of the task are neither the plan's nor these (a
/// boot trigger): they come out of the same budget.
pub fn plan(
    expr: &CronExpr,
    plan: &TriggerPlan,
    registered: NaiveDateTime,
    reserved: usize,
) -> FirstWindow {
    let date = registered.date();
    let now = i64::from(registered.num_seconds_from_midnight());
    // (first start that is a slot of `expr`, the trigger)
    let mut wanted: Vec<(Option<NaiveDateTime>, OneOff)> = Vec::new();
    for trigger in &plan.triggers {
        let Some(repetition) = trigger.repetition else { continue };
        if !trigger.days.fires_on(date) {
            continue;
        }
        let base = i64::from(trigger.start.num_seconds_from_midnight());
        let step = i64::from(repetition.interval_minutes) * 60;
        let last = base + i64::from(repetition.duration_seconds) / step * step;
        // The window opened at or before the registration (it did not start) and has a
        // start after it.
        if base > now || last <= now {
            continue;
        }
        let first = base + ((now - base) / step + 1) * step;
        let remaining = (last - first) / step;
        let Some(start) = NaiveTime::from_num_seconds_from_midnight_opt(
            u32::try_from(first).unwrap_or(u32::MAX),
            0,
        ) else {
            continue;
        };
        let start = date.and_time(start);
        let one_off = OneOff {
            start,
            repetition: (remaining > 0).then(|| Repetition {
                interval_minutes: repetition.interval_minutes,
                duration_seconds: u32::try_from(remaining * step + step / 2).unwrap_or(u32::MAX),
            }),
        };
        let first_slot = (0..=remaining)
            .map(|k| start + chrono::Duration::seconds(k * step))
            .find(|t| expr.matches(*t));
        if !wanted.iter().any(|(_, w)| *w == one_off) {
            wanted.push((first_slot, one_off));
        }
    }
    // Windows holding a slot first (`None` sorts before `Some`, hence the flag).
    wanted.sort_by_key(|(slot, t)| (slot.is_none(), *slot, t.start));
    let mut wanted: Vec<OneOff> = wanted.into_iter().map(|(_, t)| t).collect();
    let budget = MAX_TRIGGERS.saturating_sub(plan.triggers.len() + reserved);
    let mut warnings = Vec::new();
    if wanted.len() > budget {
        let dropped = &wanted[budget..];
        warnings.push(format!(
            "Registered at {} inside {} open repetition window(s), but only {budget} of Task \
             Scheduler's {MAX_TRIGGERS} triggers are left for the first-window triggers: the \
             starts of {} window(s) from {} on are missed until their next base time.",
            registered.format("%Y-%m-%d %H:%M:%S"),
            wanted.len(),
            dropped.len(),
            dropped.iter().map(|t| t.start).min().unwrap_or(registered).format("%H:%M"),
        ));
        wanted.truncate(budget);
        wanted.sort_by_key(|t| t.start);
    }
    FirstWindow { triggers: wanted, warnings }
}

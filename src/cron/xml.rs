//! Task Scheduler XML for a [`TriggerPlan`]: `<Triggers>` with one `CalendarTrigger` per
//! trigger, in XSD element order (`StartBoundary`, `Repetition`, then the schedule).
//!
//! `StartBoundary` has no offset, so Task Scheduler reads it as local wall-clock time and
//! follows DST. Durations use only the D/H/M/S components (`PT10H52M30S`).

use std::io::{self, Write};

use chrono::NaiveDate;
use quick_xml::Writer;
use quick_xml::events::BytesText;

use super::first_window::{self, OneOff};
use super::trigger::{DaySelector, Repetition, Trigger, TriggerPlan, WEEK_LAST};
use super::{DAY_NAMES, MONTH_NAMES};

/// The Task Scheduler XML namespace.
pub const TASK_NS: &str = "http://schemas.microsoft.com/windows/2004/02/mit/task";

/// Writes `<Triggers>…</Triggers>` (no namespace attribute) into an existing writer — the
/// schtasks backend embeds it in the task document, which carries the namespace.
/// `start_date` is the date part of every `StartBoundary`.
pub fn write_triggers<W: Write>(
    w: &mut Writer<W>,
    plan: &TriggerPlan,
    start_date: NaiveDate,
) -> io::Result<()> {
    write_triggers_with(w, plan, start_date, &[])
}

/// [`write_triggers`] followed by the one-off first-window triggers of a registration
/// ([`first_window`]), each a `TimeTrigger` with its `id` attribute.
pub fn write_triggers_with<W: Write>(
    w: &mut Writer<W>,
    plan: &TriggerPlan,
    start_date: NaiveDate,
    extra: &[OneOff],
) -> io::Result<()> {
    w.create_element("Triggers")
        .write_inner_content(|w| write_trigger_children(w, plan, start_date, extra))?;
    Ok(())
}

/// The children of [`write_triggers_with`]'s `<Triggers>`, for a document that adds triggers
/// of its own (the task XML's boot trigger, `scheduler::taskxml`).
pub fn write_trigger_children<W: Write>(
    w: &mut Writer<W>,
    plan: &TriggerPlan,
    start_date: NaiveDate,
    extra: &[OneOff],
) -> io::Result<()> {
    write_trigger_list(w, plan, start_date)?;
    write_one_offs(w, extra)
}

/// A standalone fragment whose root is `<Triggers xmlns="…task">`, indented by two spaces,
/// for `orc cron triggers`.
pub fn triggers_fragment(plan: &TriggerPlan, start_date: NaiveDate) -> String {
    triggers_fragment_with(plan, start_date, &[])
}

/// [`triggers_fragment`] with the one-off first-window triggers of a registration.
pub fn triggers_fragment_with(
    plan: &TriggerPlan,
    start_date: NaiveDate,
    extra: &[OneOff],
) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail, so the result carries no information.
    let _ =
        w.create_element("Triggers").with_attribute(("xmlns", TASK_NS)).write_inner_content(|w| {
            write_trigger_list(w, plan, start_date)?;
            write_one_offs(w, extra)
        });
    String::from_utf8_lossy(&w.into_inner()).into_owned()
}

/// One `<TimeTrigger id="OrcFirstWindow…">` per one-off, `StartBoundary` then `Repetition`
/// (the order used for `CalendarTrigger`).
fn write_one_offs<W: Write>(w: &mut Writer<W>, extra: &[OneOff]) -> io::Result<()> {
    for (index, one_off) in extra.iter().enumerate() {
        let id = first_window::first_window_id(index);
        let boundary = one_off.start.format("%Y-%m-%dT%H:%M:%S").to_string();
        w.create_element("TimeTrigger").with_attribute(("id", id.as_str())).write_inner_content(
            |w| {
                text_element(w, "StartBoundary", &boundary)?;
                match &one_off.repetition {
                    Some(repetition) => write_repetition(w, repetition),
                    None => Ok(()),
                }
            },
        )?;
    }
    Ok(())
}

/// The `CalendarTrigger` elements, in plan order.
fn write_trigger_list<W: Write>(
    w: &mut Writer<W>,
    plan: &TriggerPlan,
    start_date: NaiveDate,
) -> io::Result<()> {
    plan.triggers.iter().try_for_each(|trigger| write_trigger(w, trigger, start_date))
}

/// One `CalendarTrigger`.
fn write_trigger<W: Write>(
    w: &mut Writer<W>,
    trigger: &Trigger,
    start_date: NaiveDate,
) -> io::Result<()> {
    let boundary = start_date.and_time(trigger.start).format("%Y-%m-%dT%H:%M:%S").to_string();
    w.create_element("CalendarTrigger").write_inner_content(|w| {
        text_element(w, "StartBoundary", &boundary)?;
        if let Some(repetition) = &trigger.repetition {
            write_repetition(w, repetition)?;
        }
        write_schedule(w, &trigger.days)
    })?;
    Ok(())
}

/// `<Repetition><Interval>…</Interval><Duration>…</Duration></Repetition>`.
fn write_repetition<W: Write>(w: &mut Writer<W>, repetition: &Repetition) -> io::Result<()> {
    let interval = iso_duration(u64::from(repetition.interval_minutes) * 60);
    let duration = iso_duration(u64::from(repetition.duration_seconds));
    w.create_element("Repetition").write_inner_content(|w| {
        text_element(w, "Interval", &interval)?;
        text_element(w, "Duration", &duration)
    })?;
    Ok(())
}

/// The `ScheduleBy…` element for a day selector.
fn write_schedule<W: Write>(w: &mut Writer<W>, days: &DaySelector) -> io::Result<()> {
    match *days {
        DaySelector::Daily => w
            .create_element("ScheduleByDay")
            .write_inner_content(|w| text_element(w, "DaysInterval", "1")),
        DaySelector::Weekly { days } => {
            w.create_element("ScheduleByWeek").write_inner_content(|w| {
                text_element(w, "WeeksInterval", "1")?;
                write_days_of_week(w, days)
            })
        }
        DaySelector::Monthly { days, months } => {
            w.create_element("ScheduleByMonth").write_inner_content(|w| {
                w.create_element("DaysOfMonth").write_inner_content(|w| {
                    (1..=31u32)
                        .filter(|day| days & (1 << day) != 0)
                        .try_for_each(|day| text_element(w, "Day", &day.to_string()))
                })?;
                write_months(w, months)
            })
        }
        DaySelector::MonthlyDayOfWeek { weeks, days, months } => {
            w.create_element("ScheduleByMonthDayOfWeek").write_inner_content(|w| {
                w.create_element("Weeks").write_inner_content(|w| write_weeks(w, weeks))?;
                write_days_of_week(w, days)?;
                write_months(w, months)
            })
        }
    }?;
    Ok(())
}

/// `<Week>1</Week>` … `<Week>Last</Week>`.
fn write_weeks<W: Write>(w: &mut Writer<W>, weeks: u8) -> io::Result<()> {
    for week in 1..=4u8 {
        if weeks & (1 << week) != 0 {
            text_element(w, "Week", &week.to_string())?;
        }
    }
    if weeks & WEEK_LAST != 0 {
        text_element(w, "Week", "Last")?;
    }
    Ok(())
}

/// `<DaysOfWeek><Monday/>…</DaysOfWeek>`.
fn write_days_of_week<W: Write>(w: &mut Writer<W>, days: u8) -> io::Result<()> {
    w.create_element("DaysOfWeek").write_inner_content(|w| {
        // Task Scheduler lists the days Monday first; cron numbers them from Sunday = 0.
        (1..=7usize)
            .map(|d| d % 7)
            .filter(|d| days & (1 << d) != 0)
            .try_for_each(|d| w.create_element(DAY_NAMES[d]).write_empty().map(drop))
    })?;
    Ok(())
}

/// `<Months><January/>…</Months>`.
fn write_months<W: Write>(w: &mut Writer<W>, months: u16) -> io::Result<()> {
    w.create_element("Months").write_inner_content(|w| {
        MONTH_NAMES
            .iter()
            .zip(1..=12u16)
            .filter(|(_, month)| months & (1 << month) != 0)
            .try_for_each(|(name, _)| w.create_element(*name).write_empty().map(drop))
    })?;
    Ok(())
}

/// `<name>text</name>`.
fn text_element<W: Write>(w: &mut Writer<W>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(text))?;
    Ok(())
}

/// An ISO 8601 duration with only D/H/M/S components: `PT15M`, `PT10H52M30S`, `P1DT2H`,
/// `PT0S`.
pub(crate) fn iso_duration(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, minutes, secs) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut text = String::from("P");
    if days > 0 {
        text.push_str(&format!("{days}D"));
    }
    if rest > 0 || days == 0 {
        text.push('T');
        for (value, unit) in [(hours, 'H'), (minutes, 'M'), (secs, 'S')] {
            if value > 0 {
                text.push_str(&format!("{value}{unit}"));
            }
        }
        if rest == 0 {
            text.push_str("0S");
        }
    }
    text
}

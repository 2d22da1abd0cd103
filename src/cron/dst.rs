//! From naive wall-clock slots to real instants: orc's DST policy.
//!
//! Cron expressions describe **local wall-clock** minutes. Twice a year (in most zones) some
//! wall-clock minutes do not exist or exist twice. orc resolves them like cronie's crond
//! (`man cron.8`, cron.c) and `docs/design/reliability.md`, with one simplification noted below:
//!
//! * **Fixed-time jobs** (neither the minute nor the hour field starts with `*`):
//!   * a slot inside a spring-forward **gap** runs **once, at the first valid instant after
//!     the gap** (`30 2 * * *` on 2024-03-10 in New York runs at 03:00 EDT). When several
//!     slots fall in the same gap (`0,30 2 * * *`) they collapse into that single run — cronie
//!     would start the job once per missed slot, all in the same minute; orc's runner
//!     de-duplicates by scheduled minute, so one run is what actually happens;
//!   * a slot inside an autumn **overlap** runs **once, at the earlier instant**
//!     (`30 1 * * *` on 2024-11-03 in New York runs at 01:30 EDT only).
//! * **Wildcard jobs** (the minute or hour field starts with `*`, or `@hourly`):
//!   * slots inside a gap are **skipped** (`*/30 * * * *` has no 02:00 or 02:30 that day);
//!   * slots inside an overlap run **at both instants** (`0 * * * *` runs at 01:00 EDT and at
//!     01:00 EST).
//!
//! [`CronExpr::next_runs`] returns instants under this policy, strictly increasing and
//! de-duplicated; [`CronExpr::dst_warnings`] explains, in sentences, every transition in a
//! window that touches one of the expression's slots.
//!
//! Windows Task Scheduler's own behaviour in these hours is unspecified (KB 325413); the
//! runner (`orc execute --scheduled`) applies this policy when it decides which slot a start
//! belongs to.

use std::collections::BTreeSet;

use chrono::offset::LocalResult;
use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Timelike};

use super::CronExpr;

/// Larger than any difference between two UTC offsets of one zone, so a naive slot this far
/// before (after) another always maps to an earlier (later) instant.
const OFFSET_MARGIN_HOURS: i64 = 26;

/// How far past a slot in a gap to look for the first valid wall-clock minute.
const MAX_GAP_MINUTES: i64 = 48 * 60;

/// Granularity of the transition scan in [`CronExpr::dst_warnings`].
const SCAN_STEP_MINUTES: i64 = 60;

impl CronExpr {
    /// The next `count` run instants strictly after `after`, in `after`'s time zone, under
    /// the DST policy of this module: strictly increasing, no duplicates. Fewer than `count`
    /// when the search bound (100 years per step) runs out.
    pub fn next_runs<Tz: TimeZone>(&self, after: &DateTime<Tz>, count: usize) -> Vec<DateTime<Tz>> {
        let tz = after.timezone();
        let margin = Duration::hours(OFFSET_MARGIN_HOURS);
        let mut runs: BTreeSet<DateTime<Tz>> = BTreeSet::new();
        if count == 0 {
            return Vec::new();
        }
        let Some(mut cursor) = after.naive_local().checked_sub_signed(margin) else {
            return Vec::new();
        };
        while let Some(slot) = self.next_after(cursor) {
            if runs.len() == count && is_past_all(&runs, slot, margin) {
                break;
            }
            for instant in self.resolve(&tz, slot) {
                if instant > *after {
                    runs.insert(instant);
                }
            }
            while runs.len() > count {
                runs.pop_last();
            }
            cursor = slot;
        }
        runs.into_iter().collect()
    }

    /// Human sentences about the clock changes in `[from, from + months)` that move, merge,
    /// skip or repeat one of this expression's runs, e.g.
    /// `On 2027-03-28 the clock jumps from 02:00 to 03:00: the 02:30 run happens at 03:00
    /// instead.` Transitions that touch no slot are not mentioned.
    pub fn dst_warnings<Tz: TimeZone>(&self, from: &DateTime<Tz>, months: u32) -> Vec<String> {
        let tz = from.timezone();
        let start = from.naive_utc();
        let Some(end) = start.checked_add_months(chrono::Months::new(months)) else {
            return Vec::new();
        };
        transitions(&tz, start, end)
            .into_iter()
            .filter_map(|transition| self.describe_transition(transition))
            .collect()
    }

    /// The instants a naive slot stands for under the DST policy (zero, one or two).
    fn resolve<Tz: TimeZone>(&self, tz: &Tz, slot: NaiveDateTime) -> Vec<DateTime<Tz>> {
        match tz.from_local_datetime(&slot) {
            LocalResult::Single(instant) => vec![instant],
            // Ordered by `clock::instants` (chrono's `Local` gives them later-first).
            ambiguous @ LocalResult::Ambiguous(..) => {
                let both = crate::clock::instants(ambiguous);
                if self.is_wildcard_time() { both } else { both.into_iter().take(1).collect() }
            }
            LocalResult::None => {
                if self.is_wildcard_time() {
                    Vec::new()
                } else {
                    first_valid_after(tz, slot).into_iter().collect()
                }
            }
        }
    }

    /// One warning sentence for a transition, or `None` when no slot falls in it.
    fn describe_transition(&self, t: Transition) -> Option<String> {
        let (window_start, window_end) = t.local_window();
        let slots = self.slots_in(window_start, window_end);
        let runs = runs_phrase(&slots)?;
        let day = window_start.format("%Y-%m-%d");
        let (from, to) = (clock(window_start), clock_after(window_start, window_end));
        let one = slots.len() == 1;
        let sentence = match (t.is_gap(), self.is_wildcard_time(), one) {
            (true, true, _) => format!(
                "On {day} the clock jumps from {from} to {to}: the {runs} will not happen \
                 (repeating schedules skip the missing time)"
            ),
            (true, false, true) => format!(
                "On {day} the clock jumps from {from} to {to}: the {runs} happens at {to} instead"
            ),
            (true, false, false) => format!(
                "On {day} the clock jumps from {from} to {to}: the {runs} happen once, at {to} \
                 instead"
            ),
            (false, true, _) => format!(
                "On {day} {from}–{to} happens twice: the {runs} {} twice, once before and once \
                 after the clock goes back",
                if one { "happens" } else { "happen" }
            ),
            (false, false, true) => format!(
                "On {day} {from}–{to} happens twice: this task runs once, at the first {}",
                clock(slots[0])
            ),
            (false, false, false) => format!(
                "On {day} {from}–{to} happens twice: the {runs} happen once each, at the first \
                 occurrence"
            ),
        };
        Some(sentence)
    }

    /// The naive slots in `[start, end)`.
    fn slots_in(&self, start: NaiveDateTime, end: NaiveDateTime) -> Vec<NaiveDateTime> {
        let mut slots = Vec::new();
        let mut cursor = start - Duration::minutes(1);
        while let Some(slot) = self.next_after(cursor) {
            if slot >= end {
                break;
            }
            slots.push(slot);
            cursor = slot;
        }
        slots
    }
}

/// Whether every instant in `runs` is certainly earlier than anything `slot` (or a later slot)
/// can resolve to.
fn is_past_all<Tz: TimeZone>(
    runs: &BTreeSet<DateTime<Tz>>,
    slot: NaiveDateTime,
    margin: Duration,
) -> bool {
    runs.last().is_some_and(|last| slot - margin > last.naive_local())
}

/// The first whole wall-clock minute after `slot` that exists, as its earliest instant.
fn first_valid_after<Tz: TimeZone>(tz: &Tz, slot: NaiveDateTime) -> Option<DateTime<Tz>> {
    (1..=MAX_GAP_MINUTES).find_map(|minutes| {
        let candidate = slot.checked_add_signed(Duration::minutes(minutes))?;
        crate::clock::earliest(tz.from_local_datetime(&candidate))
    })
}

/// A change of UTC offset.
#[derive(Debug, Clone, Copy)]
struct Transition {
    /// The instant of the change, as UTC.
    at_utc: NaiveDateTime,
    /// Offset before, in seconds east of UTC.
    before: i32,
    /// Offset after.
    after: i32,
}

impl Transition {
    /// Forward jumps create a gap; backward jumps an overlap.
    fn is_gap(&self) -> bool {
        self.after > self.before
    }

    /// The wall-clock range that is skipped (gap) or repeated (overlap): `[start, end)`.
    fn local_window(&self) -> (NaiveDateTime, NaiveDateTime) {
        let at_before = self.at_utc + Duration::seconds(i64::from(self.before));
        let at_after = self.at_utc + Duration::seconds(i64::from(self.after));
        if self.is_gap() { (at_before, at_after) } else { (at_after, at_before) }
    }
}

/// The offset changes in `[start, end)` (UTC), found with an hourly scan refined by bisection
/// to the second.
fn transitions<Tz: TimeZone>(tz: &Tz, start: NaiveDateTime, end: NaiveDateTime) -> Vec<Transition> {
    let offset_at = |utc: NaiveDateTime| tz.offset_from_utc_datetime(&utc).fix().local_minus_utc();
    let step = Duration::minutes(SCAN_STEP_MINUTES);
    let mut found = Vec::new();
    let mut low = start;
    let mut low_offset = offset_at(low);
    while low < end {
        let high = (low + step).min(end);
        let high_offset = offset_at(high);
        if high_offset != low_offset {
            let at_utc = bisect(low, high, low_offset, &offset_at);
            if at_utc >= start && at_utc < end {
                found.push(Transition { at_utc, before: low_offset, after: high_offset });
            }
        }
        low = high;
        low_offset = high_offset;
    }
    found
}

/// The first second in `(low, high]` whose offset differs from `low_offset`.
fn bisect(
    mut low: NaiveDateTime,
    mut high: NaiveDateTime,
    low_offset: i32,
    offset_at: &impl Fn(NaiveDateTime) -> i32,
) -> NaiveDateTime {
    while (high - low) > Duration::seconds(1) {
        let middle = low + (high - low) / 2;
        if offset_at(middle) == low_offset {
            low = middle;
        } else {
            high = middle;
        }
    }
    high
}

/// `HH:MM`, or `HH:MM:SS` when the seconds are not zero (old zones with odd offsets).
fn clock(t: NaiveDateTime) -> String {
    if t.second() == 0 { t.format("%H:%M").to_string() } else { t.format("%H:%M:%S").to_string() }
}

/// [`clock`] for the end of a window, with the date when it is on another day.
fn clock_after(start: NaiveDateTime, end: NaiveDateTime) -> String {
    if end.date() == start.date() {
        clock(end)
    } else {
        format!("{} on {}", clock(end), end.format("%Y-%m-%d"))
    }
}

/// `02:30 run`, `02:00 and 02:30 runs`, `02:00, 02:15 and 02:30 runs`, or
/// `12 runs from 02:00 through 02:55`; `None` for no slots.
fn runs_phrase(slots: &[NaiveDateTime]) -> Option<String> {
    let times: Vec<String> = slots.iter().map(|slot| clock(*slot)).collect();
    let phrase = match times.as_slice() {
        [] => return None,
        [one] => format!("{one} run"),
        [first @ .., last] if times.len() <= 4 => format!("{} and {last} runs", first.join(", ")),
        [first, .., last] => format!("{} runs from {first} through {last}", times.len()),
    };
    Some(phrase)
}

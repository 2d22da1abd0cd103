//! The cron engine: cronie-compatible parsing, matching and next-run search, plain-English
//! descriptions, the DST policy, and the mapping of an expression to Windows Task Scheduler
//! triggers.
//!
//! Everything here is pure logic: no I/O, no clock, no printing. Callers pass the current time
//! in and get values back.
//!
//! # Semantics
//!
//! The reference is cronie 1.7.2 (the Vixie/ISC lineage shipped by Fedora and RHEL):
//!
//! * five fields: minute 0–59, hour 0–23, day-of-month 1–31, month 1–12, day-of-week 0–7
//!   (0 and 7 are both Sunday);
//! * items `*`, `*/step`, `n`, `n-m`, `n-m/step`, joined with `,`; `*` may appear inside a list;
//! * 3-letter names (`jan`, `mon`, any case) in the month and day-of-week fields, also in
//!   ranges and as range ends with steps (`mon-fri/2`);
//! * in day-of-week, `N-0` without a step means `N-7` (`fri-sun`);
//! * macros `@yearly @annually @monthly @weekly @daily @midnight @hourly`;
//! * the day rule: when the day-of-month or the day-of-week field *text* starts with `*`, a day
//!   must match both fields; otherwise it must match either. Months always restrict.
//!
//! orc is stricter than cronie where cronie silently accepts something that never runs or is
//! not deterministic: backwards ranges (`17-9`), `~` and `@reboot` are rejected with an error
//! that names the field, the token and the rule.
//!
//! # DST policy
//!
//! See [`CronExpr::next_runs`]; the rules live in the `dst` module documentation and mirror
//! cronie: times are local wall-clock times, fixed-time jobs catch up once after a
//! spring-forward gap and run once in an autumn overlap, wildcard jobs skip the gap and run
//! in both halves of the overlap.

mod describe;
mod dst;
pub mod first_window;
mod parse;
pub(crate) use parse::{DAY_ABBREVIATIONS, MONTH_ABBREVIATIONS};
mod schedule;
pub mod trigger;
pub mod xml;

#[cfg(test)]
#[path = "../../tests/support/trigger_sim.rs"]
mod trigger_sim;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

/// One of the five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Minute of the hour, 0–59.
    Minute,
    /// Hour of the day, 0–23.
    Hour,
    /// Day of the month, 1–31.
    DayOfMonth,
    /// Month of the year, 1–12 or `jan`–`dec`.
    Month,
    /// Day of the week, 0–7 (0 and 7 are Sunday) or `sun`–`sat`.
    DayOfWeek,
}

impl Field {
    /// The five fields in the order they are written.
    pub const ALL: [Field; 5] =
        [Field::Minute, Field::Hour, Field::DayOfMonth, Field::Month, Field::DayOfWeek];

    /// The name used in messages: `minute`, `hour`, `day-of-month`, `month`, `day-of-week`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cron expression was rejected. The `Display` text is a complete, user-facing sentence
/// that names the field, the offending token and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// Nothing but whitespace.
    #[error(
        "invalid cron expression \"\": it is empty (expected 5 fields: minute hour day-of-month \
         month day-of-week, or a macro such as @daily)"
    )]
    Empty,
    /// Longer than [`CronExpr::MAX_LEN`] bytes.
    #[error("invalid cron expression ({len} bytes): longer than the limit of 256 characters")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// A character that is not printable ASCII (tabs between fields are fine).
    #[error(
        "invalid cron expression {expr:?}: character {ch:?} at position {position} is not \
         allowed (only printable ASCII)"
    )]
    BadChar {
        /// The expression, trimmed.
        expr: String,
        /// The offending character.
        ch: char,
        /// Its 1-based character position in the trimmed expression.
        position: usize,
    },
    /// Not exactly five fields.
    #[error(
        "invalid cron expression {expr:?}: found {found} field{}, expected 5 (minute hour \
         day-of-month month day-of-week){}",
        if *found == 1 { "" } else { "s" },
        if *found > 5 { "; orc does not support seconds or years" } else { "" }
    )]
    FieldCount {
        /// The expression, trimmed.
        expr: String,
        /// How many whitespace-separated fields were found.
        found: usize,
    },
    /// A bad token inside one field.
    #[error("invalid cron expression {expr:?}: {field} field: {token:?} {rule}")]
    Field {
        /// The expression, trimmed.
        expr: String,
        /// The field holding the bad token.
        field: Field,
        /// The offending token as typed.
        token: String,
        /// The rule it breaks, phrased to follow the token (`is out of range 0-59`).
        rule: String,
    },
    /// `@reboot` or an unknown `@` macro.
    #[error("invalid cron expression {expr:?}: {rule}")]
    Macro {
        /// The expression, trimmed.
        expr: String,
        /// Why the macro is refused.
        rule: String,
    },
}

impl CronError {
    /// The field the error is about, when it is about one field.
    pub fn field(&self) -> Option<Field> {
        match self {
            CronError::Field { field, .. } => Some(*field),
            _ => None,
        }
    }

    /// The offending token, when the error is about one token.
    pub fn token(&self) -> Option<&str> {
        match self {
            CronError::Field { token, .. } => Some(token),
            _ => None,
        }
    }
}

/// A parsed cron expression: five bitsets plus cronie's star flags.
///
/// Cheap to clone and compare. Equality compares the parsed sets *and* the source text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronExpr {
    /// Minutes, bits 0..=59.
    pub(crate) minutes: u64,
    /// Hours, bits 0..=23.
    pub(crate) hours: u32,
    /// Days of the month, bits 1..=31.
    pub(crate) dom: u32,
    /// Months, bits 1..=12.
    pub(crate) months: u16,
    /// Days of the week, bits 0..=6, Sunday = 0.
    pub(crate) dow: u8,
    /// cronie's `DOM_STAR`: the day-of-month text starts with `*`.
    pub(crate) dom_star: bool,
    /// cronie's `DOW_STAR`: the day-of-week text starts with `*`.
    pub(crate) dow_star: bool,
    /// cronie's `MIN_STAR`: the minute text starts with `*`.
    pub(crate) minute_star: bool,
    /// cronie's `HR_STAR`: the hour text starts with `*` (also set by `@hourly`).
    pub(crate) hour_star: bool,
    /// The expression as typed, without leading and trailing whitespace.
    pub(crate) source: String,
}

/// All 24 hours.
pub(crate) const ALL_HOURS: u32 = (1 << 24) - 1;
/// Days 1..=31.
pub(crate) const ALL_DOM: u32 = !1;
/// Months 1..=12.
pub(crate) const ALL_MONTHS: u16 = 0x1FFE;
/// Sunday..=Saturday.
pub(crate) const ALL_DOW: u8 = 0x7F;

/// English day names, Sunday first (cron numbering): the words of [`CronExpr::describe`] and
/// the element names of Task Scheduler's `<DaysOfWeek>`.
pub(crate) const DAY_NAMES: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/// English month names, January first: the words of [`CronExpr::describe`] and the element
/// names of Task Scheduler's `<Months>`.
pub(crate) const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl CronExpr {
    /// The longest accepted expression, in bytes.
    pub const MAX_LEN: usize = 256;

    /// Parses a 5-field cron expression or macro with cronie's grammar (see the module docs).
    ///
    /// Never panics; any input that is not a valid expression gives a [`CronError`].
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        parse::parse(text)
    }

    /// The expression as typed, without leading and trailing whitespace.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// cronie's wildcard test: the minute or the hour field text starts with `*`
    /// (`@hourly` counts as wildcard). Wildcard jobs skip a DST gap and run twice in an
    /// overlap; fixed-time jobs catch up once and run once.
    pub fn is_wildcard_time(&self) -> bool {
        self.minute_star || self.hour_star
    }

    /// Whether a day must match both day fields (`true`, cronie's AND case, when either
    /// field starts with `*`) or either of them (`false`, the OR case).
    pub fn days_are_anded(&self) -> bool {
        self.dom_star || self.dow_star
    }

    /// A plain-English description, e.g. `At 09:00, Monday through Friday`.
    pub fn describe(&self) -> String {
        describe::describe(self)
    }
}

impl FromStr for CronExpr {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl serde::Serialize for CronExpr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> serde::Deserialize<'de> for CronExpr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CronExpr::parse(&text).map_err(serde::de::Error::custom)
    }
}

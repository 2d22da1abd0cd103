//! The parts of a (validated) task definition that `/Query`, `/Run` and the next-run
//! computation need, plus the ISO-8601 duration and dateTime parsers shared with validation.

use chrono::{FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};

use crate::xml::Element;

/// An ISO-8601 duration `PnYnMnDTnHnMnS` (§4.6). Months count 30 days and years 365
/// when a length in seconds is needed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Dur {
    pub(crate) years: u64,
    pub(crate) months: u64,
    pub(crate) days: u64,
    pub(crate) hours: u64,
    pub(crate) minutes: u64,
    pub(crate) seconds: f64,
}

impl Dur {
    pub(crate) fn secs(&self) -> i64 {
        let whole = self.years * 365 * 86_400
            + self.months * 30 * 86_400
            + self.days * 86_400
            + self.hours * 3_600
            + self.minutes * 60;
        whole as i64 + self.seconds.floor() as i64
    }
}

/// Parses `P[nY][nM][nD][T[nH][nM][n[.n]S]]` with at least one component (and at least one
/// after `T` when `T` is present). No sign, no week form.
pub(crate) fn parse_duration(s: &str) -> Option<Dur> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return None;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut d = Dur { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0.0 };
    let mut any = false;
    // Date part: components in the order Y, M, D.
    let mut order = 0;
    let mut num = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        if num.is_empty() {
            return None;
        }
        let v: u64 = num.parse().ok()?;
        num.clear();
        let rank = match c {
            'Y' => 1,
            'M' => 2,
            'D' => 3,
            _ => return None,
        };
        if rank <= order {
            return None;
        }
        order = rank;
        match c {
            'Y' => d.years = v,
            'M' => d.months = v,
            _ => d.days = v,
        }
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    if let Some(t) = time {
        let mut order = 0;
        let mut num = String::new();
        let mut any_time = false;
        for c in t.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            if num.is_empty() || num.starts_with('.') || num.ends_with('.') {
                return None;
            }
            let rank = match c {
                'H' => 1,
                'M' => 2,
                'S' => 3,
                _ => return None,
            };
            if rank <= order {
                return None;
            }
            order = rank;
            if c == 'S' {
                if num.matches('.').count() > 1 {
                    return None;
                }
                d.seconds = num.parse().ok()?;
            } else {
                if num.contains('.') {
                    return None;
                }
                let v: u64 = num.parse().ok()?;
                if c == 'H' {
                    d.hours = v;
                } else {
                    d.minutes = v;
                }
            }
            num.clear();
            any_time = true;
        }
        if !num.is_empty() || !any_time {
            return None;
        }
        any = true;
    }
    any.then_some(d)
}

/// `YYYY-MM-DDTHH:MM:SS[.fff][Z|(+|-)HH:MM]` (§4.4).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dt {
    pub(crate) naive: NaiveDateTime,
    pub(crate) offset: Option<FixedOffset>,
}

impl Dt {
    /// Local wall-clock time (a value without offset already is local time).
    pub(crate) fn local(&self) -> NaiveDateTime {
        match self.offset {
            None => self.naive,
            Some(off) => match off.from_local_datetime(&self.naive).single() {
                Some(t) => t.with_timezone(&Local).naive_local(),
                None => self.naive,
            },
        }
    }
}

pub(crate) fn parse_datetime(s: &str) -> Option<Dt> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if !(digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19))
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let naive = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = if rest.is_empty() {
        None
    } else if rest == "Z" {
        Some(FixedOffset::east_opt(0)?)
    } else {
        let rb = rest.as_bytes();
        if rb.len() != 6 || !(rb[0] == b'+' || rb[0] == b'-') || rb[3] != b':' {
            return None;
        }
        if !rb[1..3].iter().all(u8::is_ascii_digit) || !rb[4..6].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let h: i32 = rest[1..3].parse().ok()?;
        let m: i32 = rest[4..6].parse().ok()?;
        if h > 14 || m > 59 {
            return None;
        }
        let secs = (h * 3600 + m * 60) * if rb[0] == b'-' { -1 } else { 1 };
        Some(FixedOffset::east_opt(secs)?)
    };
    Some(Dt { naive, offset })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    Parallel,
    Queue,
    IgnoreNew,
    StopExisting,
}

#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) enabled: bool,
    pub(crate) disallow_start_on_batteries: bool,
    pub(crate) stop_on_batteries: bool,
    /// `None` = no limit (PT0S); absent element = 72 hours.
    pub(crate) exec_limit: Option<i64>,
    pub(crate) delete_expired: bool,
    pub(crate) run_only_if_idle: bool,
    pub(crate) idle_duration: i64,
    pub(crate) idle_wait: i64,
    pub(crate) policy: Policy,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Principal {
    pub(crate) user_id: Option<String>,
    pub(crate) group_id: Option<String>,
    pub(crate) logon_type: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) enum Action {
    Exec { command: String, arguments: Option<String>, workdir: Option<String> },
    ComHandler,
    SendEmail,
    ShowMessage,
}

#[derive(Clone, Debug)]
pub(crate) struct Repetition {
    pub(crate) interval: i64,
    pub(crate) duration: Option<i64>,
    pub(crate) stop_at_end: bool,
}

#[derive(Clone, Debug)]
pub(crate) enum Sched {
    Day {
        interval: i64,
    },
    /// `days[0]` = Sunday.
    Week {
        interval: i64,
        days: [bool; 7],
    },
    /// Day 32 = `Last`.
    Month {
        days: Vec<u32>,
        months: [bool; 12],
    },
    /// `weeks[0..4]` = weeks 1..4, `weeks[4]` = `Last`.
    MonthDow {
        weeks: [bool; 5],
        days: [bool; 7],
        months: [bool; 12],
    },
}

#[derive(Clone, Debug)]
pub(crate) enum TrigKind {
    Boot,
    Registration,
    Idle,
    Time,
    Event,
    Logon,
    SessionStateChange,
    Calendar(Sched),
}

#[derive(Clone, Debug)]
pub(crate) struct Trigger {
    pub(crate) kind: TrigKind,
    pub(crate) enabled: bool,
    pub(crate) start: Option<NaiveDateTime>,
    pub(crate) end: Option<NaiveDateTime>,
    pub(crate) repetition: Option<Repetition>,
}

impl Trigger {
    pub(crate) fn is_time_based(&self) -> bool {
        matches!(self.kind, TrigKind::Time | TrigKind::Calendar(_))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TaskDef {
    pub(crate) author: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) triggers: Vec<Trigger>,
    pub(crate) settings: Settings,
    pub(crate) principal: Principal,
    pub(crate) actions: Vec<Action>,
}

pub(crate) const DAY_NAMES: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
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

fn bool_of(e: &Element, name: &str, default: bool) -> bool {
    match e.child_text(name).as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => default,
    }
}

fn dur_of(e: &Element, name: &str) -> Option<i64> {
    e.child_text(name).and_then(|t| parse_duration(&t)).map(|d| d.secs())
}

fn days_of_week(e: Option<&Element>) -> [bool; 7] {
    let mut days = [false; 7];
    if let Some(e) = e {
        for (i, n) in DAY_NAMES.iter().enumerate() {
            days[i] = e.child(n).is_some();
        }
    }
    days
}

fn months_of(e: Option<&Element>) -> [bool; 12] {
    match e {
        // No Months element: every month.
        None => [true; 12],
        Some(e) => {
            let mut m = [false; 12];
            for (i, n) in MONTH_NAMES.iter().enumerate() {
                m[i] = e.child(n).is_some();
            }
            m
        }
    }
}

fn int_of(s: Option<String>, default: i64) -> i64 {
    s.and_then(|t| t.parse().ok()).unwrap_or(default)
}

fn trigger_of(e: &Element) -> Option<Trigger> {
    let kind = match e.local.as_str() {
        "BootTrigger" => TrigKind::Boot,
        "RegistrationTrigger" => TrigKind::Registration,
        "IdleTrigger" => TrigKind::Idle,
        "TimeTrigger" => TrigKind::Time,
        "EventTrigger" => TrigKind::Event,
        "LogonTrigger" => TrigKind::Logon,
        "SessionStateChangeTrigger" => TrigKind::SessionStateChange,
        "CalendarTrigger" => {
            let s = if let Some(d) = e.child("ScheduleByDay") {
                Sched::Day { interval: int_of(d.child_text("DaysInterval"), 1) }
            } else if let Some(w) = e.child("ScheduleByWeek") {
                Sched::Week {
                    interval: int_of(w.child_text("WeeksInterval"), 1),
                    days: days_of_week(w.child("DaysOfWeek")),
                }
            } else if let Some(m) = e.child("ScheduleByMonth") {
                let days = m
                    .child("DaysOfMonth")
                    .map(|dm| {
                        dm.elems()
                            .filter(|d| d.local == "Day")
                            .filter_map(|d| {
                                let t = d.text();
                                if t == "Last" { Some(32) } else { t.parse().ok() }
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Sched::Month { days, months: months_of(m.child("Months")) }
            } else if let Some(m) = e.child("ScheduleByMonthDayOfWeek") {
                let mut weeks = [false; 5];
                if let Some(ws) = m.child("Weeks") {
                    for w in ws.elems().filter(|w| w.local == "Week") {
                        match w.text().as_str() {
                            "Last" => weeks[4] = true,
                            t => {
                                if let Ok(n) = t.parse::<usize>()
                                    && (1..=4).contains(&n)
                                {
                                    weeks[n - 1] = true;
                                }
                            }
                        }
                    }
                } else {
                    weeks = [true; 5];
                }
                Sched::MonthDow {
                    weeks,
                    days: days_of_week(m.child("DaysOfWeek")),
                    months: months_of(m.child("Months")),
                }
            } else {
                return None;
            };
            TrigKind::Calendar(s)
        }
        _ => return None,
    };
    let repetition = e.child("Repetition").and_then(|r| {
        Some(Repetition {
            interval: dur_of(r, "Interval")?,
            duration: dur_of(r, "Duration"),
            stop_at_end: bool_of(r, "StopAtDurationEnd", false),
        })
    });
    let dt = |n: &str| e.child_text(n).and_then(|t| parse_datetime(&t)).map(|d| d.local());
    Some(Trigger {
        kind,
        enabled: bool_of(e, "Enabled", true),
        start: dt("StartBoundary"),
        end: dt("EndBoundary"),
        repetition,
    })
}

/// Extracts the model from a task document that passed validation.
pub(crate) fn task_def(root: &Element) -> TaskDef {
    let reg = root.child("RegistrationInfo");
    let triggers = root
        .child("Triggers")
        .map(|t| t.elems().filter_map(trigger_of).collect())
        .unwrap_or_default();
    let empty = Element::new("Settings");
    let s = root.child("Settings").unwrap_or(&empty);
    let idle = s.child("IdleSettings");
    let exec_limit = match s.child_text("ExecutionTimeLimit") {
        None => Some(72 * 3600),
        Some(t) => match parse_duration(&t).map(|d| d.secs()) {
            Some(0) => None,
            Some(n) => Some(n),
            None => Some(72 * 3600),
        },
    };
    let policy = match s.child_text("MultipleInstancesPolicy").as_deref() {
        Some("Parallel") => Policy::Parallel,
        Some("Queue") => Policy::Queue,
        Some("StopExisting") => Policy::StopExisting,
        _ => Policy::IgnoreNew,
    };
    let settings = Settings {
        enabled: bool_of(s, "Enabled", true),
        disallow_start_on_batteries: bool_of(s, "DisallowStartIfOnBatteries", true),
        stop_on_batteries: bool_of(s, "StopIfGoingOnBatteries", true),
        exec_limit,
        delete_expired: s.child("DeleteExpiredTaskAfter").is_some(),
        run_only_if_idle: bool_of(s, "RunOnlyIfIdle", false),
        idle_duration: idle.and_then(|i| dur_of(i, "Duration")).unwrap_or(600),
        idle_wait: idle.and_then(|i| dur_of(i, "WaitTimeout")).unwrap_or(3600),
        policy,
    };
    let principal = root
        .child("Principals")
        .and_then(|p| p.child("Principal"))
        .map(|p| Principal {
            user_id: p.child_text("UserId"),
            group_id: p.child_text("GroupId"),
            logon_type: p.child_text("LogonType"),
        })
        .unwrap_or_default();
    let actions = root
        .child("Actions")
        .map(|a| {
            a.elems()
                .filter_map(|x| match x.local.as_str() {
                    "Exec" => Some(Action::Exec {
                        command: x.child_text("Command").unwrap_or_default(),
                        arguments: x.child("Arguments").map(|a| a.raw_text()),
                        workdir: x.child_text("WorkingDirectory"),
                    }),
                    "ComHandler" => Some(Action::ComHandler),
                    "SendEmail" => Some(Action::SendEmail),
                    "ShowMessage" => Some(Action::ShowMessage),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    TaskDef {
        author: reg.and_then(|r| r.child("Author")).map(Element::raw_text),
        description: reg.and_then(|r| r.child("Description")).map(Element::raw_text),
        triggers,
        settings,
        principal,
        actions,
    }
}

/// Well-known accounts by SID or name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WellKnown {
    System,
    LocalService,
    NetworkService,
}

pub(crate) fn well_known(user: &str) -> Option<WellKnown> {
    let u = user.trim().to_ascii_uppercase();
    let bare = u.rsplit('\\').next().unwrap_or(&u).replace(' ', "");
    match u.as_str() {
        "" | "S-1-5-18" => return Some(WellKnown::System),
        "S-1-5-19" => return Some(WellKnown::LocalService),
        "S-1-5-20" => return Some(WellKnown::NetworkService),
        _ => {}
    }
    let domain_ok = !u.contains('\\') || u.starts_with("NT AUTHORITY\\");
    if !domain_ok {
        return None;
    }
    match bare.as_str() {
        "SYSTEM" | "LOCALSYSTEM" => Some(WellKnown::System),
        "LOCALSERVICE" => Some(WellKnown::LocalService),
        "NETWORKSERVICE" => Some(WellKnown::NetworkService),
        _ => None,
    }
}

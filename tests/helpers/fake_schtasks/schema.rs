//! Validation of a task document as strictly as the Task Scheduler service does it
//! (§4.1–§4.9): namespace, version gating, unknown nodes, cardinalities, value formats
//! and ranges. Element order is *not* enforced (§4.3).
//!
//! The first error in document order wins and is reported as
//! `ERROR: <SCHED_E_* text>` + `(line,col):Element:value`.
//!
//! Positions ([U], inferred from the samples [X16] `(33,7):UseUnifiedSchedulingEngine:`,
//! [X19] `(2,8):version:1.5`, [X17] `(11,42):EndBoundary:…` and [X18] `(29,24):Interval:PT5S`,
//! which all fit two-space-indented documents): the column is one more than the 1-based
//! column of the first character of the name concerned: the start-tag name for node
//! errors, the attribute name for attribute errors, the *end-tag* name for value errors
//! (the value is only complete there) and the parent's end-tag name for missing nodes.

use crate::model::{parse_datetime, parse_duration};
use crate::xml::{Element, Node, Pos, TASK_NS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SchedErr {
    UnexpectedNode,
    Namespace,
    InvalidValue,
    MissingNode,
    Malformed,
    TooMany,
}

impl SchedErr {
    pub(crate) fn hresult(self) -> u32 {
        match self {
            SchedErr::UnexpectedNode => 0x8004_1316,
            SchedErr::Namespace => 0x8004_1317,
            SchedErr::InvalidValue => 0x8004_1318,
            SchedErr::MissingNode => 0x8004_1319,
            SchedErr::Malformed => 0x8004_131A,
            SchedErr::TooMany => 0x8004_131D,
        }
    }
}

/// A rejected document: the error kind and the `(line,col):…` detail line.
#[derive(Clone, Debug)]
pub(crate) struct Reject {
    pub(crate) kind: SchedErr,
    pub(crate) detail: String,
}

fn at(p: Pos) -> String {
    format!("({},{})", p.line, p.col + 1)
}

fn node_err(kind: SchedErr, p: Pos, name: &str) -> Reject {
    Reject { kind, detail: format!("{}:{}:", at(p), name) }
}

fn value_err(p: Pos, name: &str, value: &str) -> Reject {
    Reject { kind: SchedErr::InvalidValue, detail: format!("{}:{}:{}", at(p), name, value) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V {
    Bool,
    Dur,
    DateTime,
    Str,
    NonEmpty,
    Int(i64, i64),
    Day,
    Week,
    Enum(&'static [&'static str]),
    Interval,
    RepDur,
    Guid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum K {
    Task,
    RegInfo,
    Triggers,
    Boot,
    Registration,
    Idle,
    Time,
    Event,
    Logon,
    Session,
    Calendar,
    Repetition,
    ByDay,
    ByWeek,
    ByMonth,
    ByMonthDow,
    DaysOfWeek,
    Months,
    DaysOfMonth,
    Weeks,
    ValueQueries,
    NamedValue,
    Settings,
    IdleSettings,
    NetworkSettings,
    RestartOnFailure,
    Maintenance,
    Principals,
    Principal,
    RequiredPrivileges,
    Actions,
    Exec,
    ComHandler,
    SendEmail,
    ShowMessage,
    HeaderFields,
    HeaderField,
    Attachments,
    Any,
    Flag,
    Val(V),
}

/// One allowed child: name, kind, min/max occurrences and the first task version
/// (minor number of 1.x) that knows it.
struct C {
    name: &'static str,
    k: K,
    min: u32,
    max: u32,
    since: u32,
}

const fn c(name: &'static str, k: K) -> C {
    C { name, k, min: 0, max: 1, since: 2 }
}
const fn req(name: &'static str, k: K) -> C {
    C { name, k, min: 1, max: 1, since: 2 }
}
const fn many(name: &'static str, k: K, max: u32) -> C {
    C { name, k, min: 0, max, since: 2 }
}
const fn since(name: &'static str, k: K, since: u32) -> C {
    C { name, k, min: 0, max: 1, since }
}

/// A choice group: how many of `members` together are allowed.
struct Group {
    members: &'static [&'static str],
    min: u32,
    max: u32,
}

const BOOL: K = K::Val(V::Bool);
const DUR: K = K::Val(V::Dur);
const STR: K = K::Val(V::Str);
const DATETIME: K = K::Val(V::DateTime);

const TRIGGER_NAMES: &[&str] = &[
    "BootTrigger",
    "RegistrationTrigger",
    "IdleTrigger",
    "TimeTrigger",
    "EventTrigger",
    "LogonTrigger",
    "SessionStateChangeTrigger",
    "CalendarTrigger",
];
const SCHEDULE_NAMES: &[&str] =
    &["ScheduleByDay", "ScheduleByWeek", "ScheduleByMonth", "ScheduleByMonthDayOfWeek"];
const ACTION_NAMES: &[&str] = &["Exec", "ComHandler", "SendEmail", "ShowMessage"];

const LOGON_TYPES: &[&str] = &["S4U", "Password", "InteractiveToken", "InteractiveTokenOrPassword"];
const RUN_LEVELS: &[&str] = &["LeastPrivilege", "HighestAvailable"];
const POLICIES: &[&str] = &["Parallel", "Queue", "IgnoreNew", "StopExisting"];
const STATE_CHANGES: &[&str] = &[
    "ConsoleConnect",
    "ConsoleDisconnect",
    "RemoteConnect",
    "RemoteDisconnect",
    "SessionLock",
    "SessionUnlock",
];
const SID_TYPES: &[&str] = &["None", "Unrestricted", "Default"];

fn children(k: K) -> &'static [C] {
    match k {
        K::Task => {
            const {
                &[
                    c("RegistrationInfo", K::RegInfo),
                    c("Triggers", K::Triggers),
                    c("Settings", K::Settings),
                    c("Data", K::Any),
                    c("Principals", K::Principals),
                    req("Actions", K::Actions),
                ]
            }
        }
        K::RegInfo => {
            const {
                &[
                    c("URI", STR),
                    c("SecurityDescriptor", STR),
                    c("Source", STR),
                    c("Date", DATETIME),
                    c("Author", STR),
                    c("Version", STR),
                    c("Description", STR),
                    c("Documentation", STR),
                ]
            }
        }
        K::Triggers => {
            const {
                &[
                    many("BootTrigger", K::Boot, 48),
                    many("RegistrationTrigger", K::Registration, 48),
                    many("IdleTrigger", K::Idle, 48),
                    many("TimeTrigger", K::Time, 48),
                    many("EventTrigger", K::Event, 48),
                    many("LogonTrigger", K::Logon, 48),
                    many("SessionStateChangeTrigger", K::Session, 48),
                    many("CalendarTrigger", K::Calendar, 48),
                ]
            }
        }
        K::Boot | K::Registration => {
            const {
                &[
                    c("Enabled", BOOL),
                    c("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                    c("Delay", DUR),
                ]
            }
        }
        K::Idle => {
            const {
                &[
                    c("Enabled", BOOL),
                    c("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                ]
            }
        }
        K::Time => {
            const {
                &[
                    c("Enabled", BOOL),
                    req("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                    c("RandomDelay", DUR),
                ]
            }
        }
        K::Event => {
            const {
                &[
                    c("Enabled", BOOL),
                    c("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                    req("Subscription", K::Val(V::NonEmpty)),
                    c("Delay", DUR),
                    c("PeriodOfOccurrence", DUR),
                    c("NumberOfOccurrences", K::Val(V::Int(1, 32))),
                    c("MatchingElement", STR),
                    c("ValueQueries", K::ValueQueries),
                ]
            }
        }
        K::Logon => {
            const {
                &[
                    c("Enabled", BOOL),
                    c("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                    c("UserId", STR),
                    c("Delay", DUR),
                ]
            }
        }
        K::Session => {
            const {
                &[
                    c("Enabled", BOOL),
                    c("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                    req("StateChange", K::Val(V::Enum(STATE_CHANGES))),
                    c("UserId", STR),
                    c("Delay", DUR),
                ]
            }
        }
        K::Calendar => {
            const {
                &[
                    c("Enabled", BOOL),
                    req("StartBoundary", DATETIME),
                    c("EndBoundary", DATETIME),
                    c("Repetition", K::Repetition),
                    c("ExecutionTimeLimit", DUR),
                    c("RandomDelay", DUR),
                    c("ScheduleByDay", K::ByDay),
                    c("ScheduleByWeek", K::ByWeek),
                    c("ScheduleByMonth", K::ByMonth),
                    c("ScheduleByMonthDayOfWeek", K::ByMonthDow),
                ]
            }
        }
        K::Repetition => {
            const {
                &[
                    req("Interval", K::Val(V::Interval)),
                    c("Duration", K::Val(V::RepDur)),
                    c("StopAtDurationEnd", BOOL),
                ]
            }
        }
        K::ByDay => const { &[c("DaysInterval", K::Val(V::Int(1, 365)))] },
        K::ByWeek => {
            const { &[c("WeeksInterval", K::Val(V::Int(1, 52))), c("DaysOfWeek", K::DaysOfWeek)] }
        }
        K::ByMonth => const { &[c("DaysOfMonth", K::DaysOfMonth), c("Months", K::Months)] },
        K::ByMonthDow => {
            const { &[c("Weeks", K::Weeks), req("DaysOfWeek", K::DaysOfWeek), c("Months", K::Months)] }
        }
        K::DaysOfWeek => {
            const {
                &[
                    c("Sunday", K::Flag),
                    c("Monday", K::Flag),
                    c("Tuesday", K::Flag),
                    c("Wednesday", K::Flag),
                    c("Thursday", K::Flag),
                    c("Friday", K::Flag),
                    c("Saturday", K::Flag),
                ]
            }
        }
        K::Months => {
            const {
                &[
                    c("January", K::Flag),
                    c("February", K::Flag),
                    c("March", K::Flag),
                    c("April", K::Flag),
                    c("May", K::Flag),
                    c("June", K::Flag),
                    c("July", K::Flag),
                    c("August", K::Flag),
                    c("September", K::Flag),
                    c("October", K::Flag),
                    c("November", K::Flag),
                    c("December", K::Flag),
                ]
            }
        }
        K::DaysOfMonth => const { &[many("Day", K::Val(V::Day), 32)] },
        K::Weeks => const { &[many("Week", K::Val(V::Week), 5)] },
        K::ValueQueries => const { &[many("Value", K::NamedValue, 32)] },
        K::Settings => {
            const {
                &[
                    c("AllowStartOnDemand", BOOL),
                    c("RestartOnFailure", K::RestartOnFailure),
                    c("MultipleInstancesPolicy", K::Val(V::Enum(POLICIES))),
                    c("DisallowStartIfOnBatteries", BOOL),
                    c("StopIfGoingOnBatteries", BOOL),
                    c("AllowHardTerminate", BOOL),
                    c("StartWhenAvailable", BOOL),
                    c("NetworkProfileName", STR),
                    c("RunOnlyIfNetworkAvailable", BOOL),
                    c("WakeToRun", BOOL),
                    c("Enabled", BOOL),
                    c("Hidden", BOOL),
                    c("DeleteExpiredTaskAfter", DUR),
                    c("IdleSettings", K::IdleSettings),
                    c("NetworkSettings", K::NetworkSettings),
                    c("ExecutionTimeLimit", DUR),
                    c("Priority", K::Val(V::Int(0, 10))),
                    c("RunOnlyIfIdle", BOOL),
                    since("DisallowStartOnRemoteAppSession", BOOL, 3),
                    since("UseUnifiedSchedulingEngine", BOOL, 3),
                    since("MaintenanceSettings", K::Maintenance, 4),
                    since("Volatile", BOOL, 4),
                ]
            }
        }
        K::IdleSettings => {
            const {
                &[
                    c("Duration", DUR),
                    c("WaitTimeout", DUR),
                    c("StopOnIdleEnd", BOOL),
                    c("RestartOnIdle", BOOL),
                ]
            }
        }
        K::NetworkSettings => const { &[c("Name", STR), c("Id", K::Val(V::Guid))] },
        K::RestartOnFailure => {
            const { &[req("Interval", K::Val(V::Interval)), req("Count", K::Val(V::Int(1, 255)))] }
        }
        K::Maintenance => const { &[req("Period", DUR), c("Deadline", DUR), c("Exclusive", BOOL)] },
        K::Principals => const { &[req("Principal", K::Principal)] },
        K::Principal => {
            const {
                &[
                    c("UserId", STR),
                    c("LogonType", K::Val(V::Enum(LOGON_TYPES))),
                    c("GroupId", STR),
                    c("DisplayName", STR),
                    c("RunLevel", K::Val(V::Enum(RUN_LEVELS))),
                    since("ProcessTokenSidType", K::Val(V::Enum(SID_TYPES)), 3),
                    since("RequiredPrivileges", K::RequiredPrivileges, 3),
                ]
            }
        }
        K::RequiredPrivileges => const { &[many("Privilege", K::Val(V::NonEmpty), 64)] },
        K::Actions => {
            const {
                &[
                    many("Exec", K::Exec, 32),
                    many("ComHandler", K::ComHandler, 32),
                    many("SendEmail", K::SendEmail, 32),
                    many("ShowMessage", K::ShowMessage, 32),
                ]
            }
        }
        K::Exec => {
            const {
                &[
                    req("Command", K::Val(V::NonEmpty)),
                    c("Arguments", STR),
                    c("WorkingDirectory", STR),
                ]
            }
        }
        K::ComHandler => const { &[req("ClassId", K::Val(V::Guid)), c("Data", K::Any)] },
        K::SendEmail => {
            const {
                &[
                    c("Server", STR),
                    c("Subject", STR),
                    c("To", STR),
                    c("Cc", STR),
                    c("Bcc", STR),
                    c("ReplyTo", STR),
                    c("From", STR),
                    c("HeaderFields", K::HeaderFields),
                    c("Body", STR),
                    c("Attachments", K::Attachments),
                ]
            }
        }
        K::HeaderFields => const { &[many("HeaderField", K::HeaderField, 32)] },
        K::HeaderField => const { &[req("Name", K::Val(V::NonEmpty)), req("Value", STR)] },
        K::Attachments => const { &[many("File", K::Val(V::NonEmpty), 8)] },
        K::ShowMessage => {
            const { &[req("Title", K::Val(V::NonEmpty)), req("Body", K::Val(V::NonEmpty))] }
        }
        K::NamedValue | K::Any | K::Flag | K::Val(_) => const { &[] },
    }
}

fn groups(k: K) -> &'static [Group] {
    match k {
        K::Triggers => const { &[Group { members: TRIGGER_NAMES, min: 0, max: 48 }] },
        K::Calendar => const { &[Group { members: SCHEDULE_NAMES, min: 1, max: 1 }] },
        K::Actions => const { &[Group { members: ACTION_NAMES, min: 1, max: 32 }] },
        K::Principal => const { &[Group { members: &["UserId", "GroupId"], min: 0, max: 1 }] },
        _ => const { &[] },
    }
}

fn allowed_attrs(k: K) -> &'static [&'static str] {
    match k {
        K::Task => &["version"],
        K::Boot
        | K::Registration
        | K::Idle
        | K::Time
        | K::Event
        | K::Logon
        | K::Session
        | K::Calendar
        | K::Exec
        | K::ComHandler
        | K::SendEmail
        | K::ShowMessage
        | K::Principal => &["id"],
        K::Actions => &["Context"],
        K::NamedValue => &["name"],
        _ => &[],
    }
}

fn value_ok(v: V, s: &str) -> bool {
    match v {
        V::Bool => s == "true" || s == "false",
        V::Dur => parse_duration(s).is_some(),
        V::DateTime => parse_datetime(s).is_some(),
        V::Str => true,
        V::NonEmpty => !s.is_empty(),
        V::Int(lo, hi) => int_in(s, lo, hi),
        V::Day => s == "Last" || int_in(s, 1, 31),
        V::Week => s == "Last" || int_in(s, 1, 4),
        V::Enum(list) => list.contains(&s),
        V::Interval => {
            parse_duration(s).map(|d| d.secs()).is_some_and(|n| (60..=31 * 86_400).contains(&n))
        }
        V::RepDur => parse_duration(s).map(|d| d.secs()).is_some_and(|n| n >= 60),
        V::Guid => is_guid(s),
    }
}

fn int_in(s: &str, lo: i64, hi: i64) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<i64>().is_ok_and(|n| (lo..=hi).contains(&n))
}

fn is_guid(s: &str) -> bool {
    let inner = s.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(s);
    let parts: Vec<&str> = inner.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    parts.len() == 5
        && parts
            .iter()
            .zip(lens)
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_ws(s: &str) -> bool {
    s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

/// The `version` attribute as a 1.x minor number (`None` = no attribute: no gating, [U]).
fn version_of(root: &Element) -> Result<Option<u32>, Reject> {
    let Some(a) = root.attr("version") else { return Ok(None) };
    let v = a.value.as_str();
    let parts: Vec<&str> = v.split('.').collect();
    let pattern_ok = (2..=4).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let major: u32 = parts.first().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.get(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // This fake plays Windows 10/11 (Task Scheduler 2.4): versions up to 1.6 are known.
    if !pattern_ok || major != 1 || minor > 6 {
        return Err(value_err(a.pos, "version", v));
    }
    Ok(Some(minor.max(2)))
}

/// Validates a whole task document.
pub(crate) fn validate(root: &Element) -> Result<(), Reject> {
    if root.ns.as_deref() != Some(TASK_NS) {
        return Err(node_err(SchedErr::Namespace, root.start, &root.local));
    }
    if root.local != "Task" {
        return Err(node_err(SchedErr::UnexpectedNode, root.start, &root.local));
    }
    let version = version_of(root)?;
    validate_elem(root, K::Task, version)?;
    semantic(root)
}

fn validate_elem(e: &Element, k: K, version: Option<u32>) -> Result<(), Reject> {
    for a in &e.attrs {
        if a.ns.is_some() {
            return Err(node_err(SchedErr::Namespace, a.pos, &a.local));
        }
        if k == K::Task && a.local == "version" {
            continue;
        }
        if !allowed_attrs(k).contains(&a.local.as_str()) {
            return Err(node_err(SchedErr::UnexpectedNode, a.pos, &a.local));
        }
    }
    match k {
        K::Any => return Ok(()),
        K::Val(_) | K::NamedValue | K::Flag => {
            if let Some(c) = e.elems().next() {
                return Err(node_err(SchedErr::UnexpectedNode, c.start, &c.local));
            }
            let text = e.text();
            let ok = match k {
                K::Val(v) => value_ok(v, &text),
                K::Flag => text.is_empty(),
                _ => true,
            };
            if !ok {
                return Err(value_err(e.end, &e.local, &text));
            }
            return Ok(());
        }
        _ => {}
    }
    let specs = children(k);
    let grps = groups(k);
    let mut counts = vec![0u32; specs.len()];
    let mut gcounts = vec![0u32; grps.len()];
    for n in &e.children {
        let c = match n {
            Node::Text(t, p) => {
                if is_ws(t) {
                    continue;
                }
                let shown = t.trim();
                return Err(Reject {
                    kind: SchedErr::UnexpectedNode,
                    detail: format!("{}:{}:{}", at(*p), e.local, shown),
                });
            }
            Node::Elem(c) => c,
        };
        if c.ns.as_deref() != Some(TASK_NS) {
            return Err(node_err(SchedErr::Namespace, c.start, &c.local));
        }
        let Some(i) = specs.iter().position(|s| s.name == c.local) else {
            return Err(node_err(SchedErr::UnexpectedNode, c.start, &c.local));
        };
        let spec = &specs[i];
        if version.is_some_and(|v| v < spec.since) {
            return Err(node_err(SchedErr::UnexpectedNode, c.start, &c.local));
        }
        counts[i] += 1;
        if counts[i] > spec.max {
            return Err(node_err(SchedErr::TooMany, c.start, &c.local));
        }
        for (gi, g) in grps.iter().enumerate() {
            if g.members.contains(&c.local.as_str()) {
                gcounts[gi] += 1;
                if gcounts[gi] > g.max {
                    let kind =
                        if g.max == 1 { SchedErr::UnexpectedNode } else { SchedErr::TooMany };
                    return Err(node_err(kind, c.start, &c.local));
                }
            }
        }
        validate_elem(c, spec.k, version)?;
    }
    for (i, spec) in specs.iter().enumerate() {
        if counts[i] < spec.min {
            return Err(node_err(SchedErr::MissingNode, e.end, spec.name));
        }
    }
    for (gi, g) in grps.iter().enumerate() {
        if gcounts[gi] < g.min {
            // [U] which name Windows prints for a missing choice: the fake names the parent.
            return Err(node_err(SchedErr::MissingNode, e.end, &e.local));
        }
    }
    Ok(())
}

/// Cross-element rules, checked after the structure.
fn semantic(root: &Element) -> Result<(), Reject> {
    // Triggers: EndBoundary not before StartBoundary ([X17]); DeleteExpiredTaskAfter needs an
    // EndBoundary on every trigger ([U]: Task Scheduler refuses "delete when expired" on a
    // task that can never expire).
    let delete_expired =
        root.child("Settings").and_then(|s| s.child("DeleteExpiredTaskAfter")).is_some();
    if let Some(trigs) = root.child("Triggers") {
        for t in trigs.elems() {
            let start = t.child_text("StartBoundary").and_then(|s| parse_datetime(&s));
            let end_el = t.child("EndBoundary");
            if let (Some(s), Some(ee)) = (start, end_el)
                && let Some(e) = parse_datetime(&ee.text())
                && e.local() < s.local()
            {
                return Err(value_err(ee.end, "EndBoundary", &ee.text()));
            }
            if delete_expired && end_el.is_none() {
                return Err(node_err(SchedErr::MissingNode, t.end, "EndBoundary"));
            }
        }
    }
    // Actions Context must name the principal (XSD key/keyref, §4.5). [U] reported as an
    // invalid value on the Context attribute.
    if let Some(actions) = root.child("Actions")
        && let Some(ctx) = actions.attr("Context")
    {
        let pid = root
            .child("Principals")
            .and_then(|p| p.child("Principal"))
            .and_then(|p| p.attr("id"))
            .map(|a| a.value.clone());
        if pid.as_deref() != Some(ctx.value.as_str()) {
            return Err(value_err(ctx.pos, "Context", &ctx.value));
        }
    }
    Ok(())
}

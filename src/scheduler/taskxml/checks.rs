//! Checks on a task document: the characters XML 1.0 can carry ([`check_xml_chars`]) and the
//! structure Task Scheduler accepts ([`validate_document`]).

use quick_xml::events::Event;

use super::{MAX_TRIGGERS, flatten, parse_iso_duration};
use crate::cron::xml::TASK_NS;
use crate::error::Result;

/// Refuses characters XML 1.0 cannot carry and Unicode noncharacters: the one check,
/// [`crate::task::validate::check_definition_text`].
pub fn check_xml_chars(field: &str, value: &str) -> Result<()> {
    crate::task::validate::check_definition_text(field, value)
}

/// Checks a task document against the structure Task Scheduler accepts (docs/design/schtasks.md §4):
/// well-formed, UTF-16 declaration, root `Task` in the task namespace with a known version,
/// top-level elements from the XSD, 1–48 triggers each with a valid `StartBoundary`, one
/// schedule and a valid `Repetition`, exactly one principal matching the actions' context,
/// 1–32 actions with a `Command`, and well-formed durations. Returns the problems found.
pub fn validate_document(xml: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let decl_ok = xml.trim_start().starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>");
    if !decl_ok {
        problems.push("the declaration is not <?xml version=\"1.0\" encoding=\"UTF-16\"?>".into());
    }
    if let Some(c) = xml.chars().find(|&c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')) {
        problems.push(format!("contains U+{:04X}, which XML 1.0 cannot carry", c as u32));
    }
    let leaves = match flatten(xml) {
        Ok(l) => l,
        Err(e) => {
            problems.push(format!("not well-formed XML: {e}"));
            return problems;
        }
    };
    // Root element, its namespace and version.
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                if e.local_name().as_ref() != "Task" || e.name().as_ref() != "Task" {
                    problems
                        .push(format!("the root element is <{}>, not <Task>", e.name().as_ref()));
                }
                let attr = |k: &str| {
                    e.attributes().flatten().find(|a| a.key.as_ref() == k).and_then(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .ok()
                            .map(|v| v.into_owned())
                    })
                };
                if attr("xmlns").as_deref() != Some(TASK_NS) {
                    problems.push(format!("the Task element is not in the namespace {TASK_NS}"));
                }
                match attr("version").as_deref() {
                    Some("1.2" | "1.3" | "1.4" | "1.5" | "1.6") | None => {}
                    Some(v) => problems.push(format!("unknown task version {v:?}")),
                }
                break;
            }
            Ok(Event::Eof) | Err(_) => {
                problems.push("no root element".into());
                break;
            }
            _ => {}
        }
    }
    let top =
        |p: &str| p.split('/').next().unwrap_or("").split('[').next().unwrap_or("").to_string();
    const TOP: &[&str] =
        &["RegistrationInfo", "Triggers", "Settings", "Data", "Principals", "Actions", "@version"];
    for (path, _) in &leaves {
        let t = top(path);
        if !path.starts_with('@') && !TOP.contains(&t.as_str()) {
            problems.push(format!("unexpected element <{t}> under <Task>"));
        }
    }
    let get = |p: &str| leaves.iter().find(|(k, _)| k == p).map(|(_, v)| v.as_str());
    let count_prefix = |prefix: &str| {
        let mut seen = std::collections::BTreeSet::new();
        for (p, _) in &leaves {
            if let Some(rest) = p.strip_prefix(prefix) {
                let seg = rest.split('/').next().unwrap_or("");
                seen.insert(seg.to_string());
            }
        }
        seen
    };
    // Triggers.
    let triggers = count_prefix("Triggers/");
    if triggers.is_empty() {
        problems.push("no triggers".into());
    }
    if triggers.len() > MAX_TRIGGERS {
        problems.push(format!("{} triggers; at most {MAX_TRIGGERS} are allowed", triggers.len()));
    }
    for t in &triggers {
        let base = format!("Triggers/{t}");
        let kind = t.split('[').next().unwrap_or("");
        if !matches!(
            kind,
            "CalendarTrigger"
                | "TimeTrigger"
                | "BootTrigger"
                | "LogonTrigger"
                | "IdleTrigger"
                | "RegistrationTrigger"
                | "EventTrigger"
                | "SessionStateChangeTrigger"
        ) {
            problems.push(format!("{base}: unknown trigger type"));
            continue;
        }
        if matches!(kind, "CalendarTrigger" | "TimeTrigger") {
            match get(&format!("{base}/StartBoundary")) {
                Some(v)
                    if chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S").is_ok() => {}
                Some(v) => {
                    problems.push(format!("{base}/StartBoundary {v:?} is not YYYY-MM-DDTHH:MM:SS"))
                }
                None => problems.push(format!("{base}: StartBoundary is required")),
            }
        }
        if kind == "CalendarTrigger" {
            let schedules = count_prefix(&format!("{base}/"))
                .into_iter()
                .filter(|s| s.starts_with("ScheduleBy"))
                .count();
            if schedules != 1 {
                problems.push(format!(
                    "{base}: needs exactly one ScheduleBy… element, has {schedules}"
                ));
            }
            if let Some(v) = get(&format!("{base}/ScheduleByDay/DaysInterval"))
                && !v.parse::<u32>().is_ok_and(|n| (1..=365).contains(&n))
            {
                problems.push(format!("{base}: DaysInterval {v:?} is not 1-365"));
            }
            if let Some(v) = get(&format!("{base}/ScheduleByWeek/WeeksInterval"))
                && !v.parse::<u32>().is_ok_and(|n| (1..=52).contains(&n))
            {
                problems.push(format!("{base}: WeeksInterval {v:?} is not 1-52"));
            }
            for (p, v) in leaves
                .iter()
                .filter(|(p, _)| p.starts_with(&format!("{base}/")) && p.contains("/Day"))
            {
                if (p.ends_with("/Day") || p.contains("/Day["))
                    && !(v == "Last" || v.parse::<u32>().is_ok_and(|n| (1..=31).contains(&n)))
                {
                    problems.push(format!("{p}: {v:?} is not a day 1-31 or Last"));
                }
            }
        }
        let rep = format!("{base}/Repetition/");
        if let Some(v) = get(&format!("{rep}Interval")) {
            match parse_iso_duration(v) {
                Some(s) if (60..=31 * 86_400).contains(&s) => {}
                _ => problems
                    .push(format!("{rep}Interval {v:?} is not a duration from PT1M to P31D")),
            }
            if let Some(d) = get(&format!("{rep}Duration")) {
                match parse_iso_duration(d) {
                    Some(s) if s >= 60 => {}
                    _ => problems
                        .push(format!("{rep}Duration {d:?} is not a duration of at least PT1M")),
                }
            }
        } else if leaves.iter().any(|(p, _)| p.starts_with(&rep)) {
            problems.push(format!("{rep}Interval is required"));
        }
    }
    // Settings durations and values.
    if let Some(v) = get("Settings/ExecutionTimeLimit")
        && parse_iso_duration(v).is_none()
    {
        problems.push(format!("Settings/ExecutionTimeLimit {v:?} is not a duration"));
    }
    if let Some(v) = get("Settings/MultipleInstancesPolicy")
        && !matches!(v, "Parallel" | "Queue" | "IgnoreNew" | "StopExisting")
    {
        problems.push(format!("Settings/MultipleInstancesPolicy {v:?} is not a known policy"));
    }
    for (p, v) in leaves.iter().filter(|(p, _)| p.starts_with("Settings/")) {
        let bools = [
            "Enabled",
            "Hidden",
            "WakeToRun",
            "StartWhenAvailable",
            "AllowStartOnDemand",
            "AllowHardTerminate",
            "DisallowStartIfOnBatteries",
            "StopIfGoingOnBatteries",
            "RunOnlyIfIdle",
            "RunOnlyIfNetworkAvailable",
        ];
        if bools.iter().any(|b| p == &format!("Settings/{b}"))
            && !matches!(v.as_str(), "true" | "false")
        {
            problems.push(format!("{p} {v:?} is not true or false"));
        }
    }
    // Principals and actions.
    let principals = count_prefix("Principals/");
    if principals.len() != 1 || !principals.contains("Principal") {
        problems.push(format!("needs exactly one Principal, has {}", principals.len()));
    }
    let principal_id = get("Principals/Principal/@id");
    if let Some(v) = get("Principals/Principal/LogonType")
        && !matches!(v, "S4U" | "Password" | "InteractiveToken" | "InteractiveTokenOrPassword")
    {
        problems.push(format!("Principals/Principal/LogonType {v:?} is not a known logon type"));
    }
    if let Some(v) = get("Principals/Principal/RunLevel")
        && !matches!(v, "LeastPrivilege" | "HighestAvailable")
    {
        problems.push(format!("Principals/Principal/RunLevel {v:?} is not a known run level"));
    }
    let actions: Vec<String> =
        count_prefix("Actions/").into_iter().filter(|a| !a.starts_with('@')).collect();
    if actions.is_empty() {
        problems.push("no actions (Actions is required)".into());
    }
    if actions.len() > 32 {
        problems.push(format!("{} actions; at most 32 are allowed", actions.len()));
    }
    for a in &actions {
        if a.starts_with("Exec") && get(&format!("Actions/{a}/Command")).is_none_or(str::is_empty) {
            problems.push(format!("Actions/{a}: Command is required"));
        }
    }
    if let (Some(ctx), Some(id)) = (get("Actions/@Context"), principal_id)
        && ctx != id
    {
        problems.push(format!("Actions Context {ctx:?} does not name the principal {id:?}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::super::build::tests::built;
    use super::*;
    use crate::task::TaskSpec;
    #[test]
    fn validator_catches_broken_documents() {
        let spec = TaskSpec::new("t", "x", "0 6 * * *");
        let good = built(&spec).unwrap().xml;
        let cases = [
            (good.replace("encoding=\"UTF-16\"", "encoding=\"UTF-8\""), "declaration"),
            (good.replace(crate::cron::xml::TASK_NS, "urn:wrong"), "namespace"),
            (
                good.replace("<Actions Context=\"Author\">", "<Actions Context=\"Other\">"),
                "Context",
            ),
            (good.replace("<Command>", "<Command></Command><X>"), "well-formed"),
            (
                good.replace("<ExecutionTimeLimit>PT1H21M", "<ExecutionTimeLimit>P30M1H"),
                "ExecutionTimeLimit",
            ),
            (good.replace("<Enabled>true</Enabled>", "<Enabled>yes</Enabled>"), "true or false"),
            (good.replace("T06:00:00", "T6:00"), "StartBoundary"),
            (good.replace("<Actions", "<Bogus/><Actions"), "unexpected element"),
        ];
        for (doc, needle) in cases {
            let problems = validate_document(&doc);
            assert!(problems.iter().any(|p| p.contains(needle)), "{needle}: {problems:?}");
        }
    }

    #[test]
    fn xml_chars_are_checked() {
        assert!(check_xml_chars("description", "tab\tnew\nline\r ok é 🙂").is_ok());
        for bad in ["a\u{0}b", "bell\u{7}", "esc\u{1b}", "\u{FFFE}", "\u{FFFF}"] {
            let e = check_xml_chars("description", bad).unwrap_err();
            assert!(e.to_string().contains("XML 1.0"), "{e}");
            assert_eq!(e.exit_code(), 2);
        }
    }
}

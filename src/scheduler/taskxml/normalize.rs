//! Semantic comparison of task definitions: what orc registers against what Task Scheduler
//! stores. Pure: no I/O.
//!
//! Windows does not keep the document orc hands to `schtasks /Create /XML`: it stores (and
//! `/Query /XML` exports) a normalized definition — `<Enabled>true</Enabled>` in every
//! trigger, `<StopAtDurationEnd>false</StopAtDurationEnd>` in every `Repetition`, an
//! `IdleSettings` block, a `URI` (and often a `Date`, a `SecurityDescriptor`, the registering
//! account as `Principal/UserId`) in `RegistrationInfo`, and its own element order
//! (`schtasks.md` §2.10, §4.3, §4.7; the full export in trustedsec/CS-Remote-OPs-BOF#16).
//! So a byte comparison reports drift for every task. [`canonical`] parses a definition into
//! its leaves, drops what Windows adds on its own, fills the schema defaults and normalizes
//! values (booleans; ISO 8601 durations in one spelling: `P0DT72H` is `P3D`); [`compare`] diffs two canonical forms. Drift is a
//! semantic difference, never a byte difference.
//!
//! Triggers whose `id` is [`FIRST_WINDOW_ID`] are ignored by the comparison (and the definition
//! hash is rendered before they are added, [`super::build`]): they are derived from the registration instant
//! (the one-off trigger that opens the current repetition window), so two registrations of the
//! same task at different instants are the same definition.

use std::collections::{BTreeMap, HashSet};

use super::{Leaf, flatten, iso_duration, parse_iso_duration};

pub use crate::cron::first_window::{FIRST_WINDOW_ID, is_first_window_id as is_first_window};

/// Settings that Windows fills in when absent (XSD defaults, `schtasks.md` §4.7, and the
/// values a `/Create` writes back on export).
const SETTINGS_DEFAULTS: &[(&str, &str)] = &[
    ("Settings/MultipleInstancesPolicy", "IgnoreNew"),
    ("Settings/DisallowStartIfOnBatteries", "true"),
    ("Settings/StopIfGoingOnBatteries", "true"),
    ("Settings/AllowHardTerminate", "true"),
    ("Settings/StartWhenAvailable", "false"),
    ("Settings/RunOnlyIfNetworkAvailable", "false"),
    ("Settings/AllowStartOnDemand", "true"),
    ("Settings/Enabled", "true"),
    ("Settings/Hidden", "false"),
    ("Settings/RunOnlyIfIdle", "false"),
    ("Settings/WakeToRun", "false"),
    ("Settings/ExecutionTimeLimit", "PT72H"),
    ("Settings/Priority", "7"),
    ("Settings/IdleSettings/Duration", "PT10M"),
    ("Settings/IdleSettings/WaitTimeout", "PT1H"),
    ("Settings/IdleSettings/StopOnIdleEnd", "true"),
    ("Settings/IdleSettings/RestartOnIdle", "false"),
];

/// Leaves Windows writes by itself at registration; never compared.
const WINDOWS_ONLY: &[&str] = &[
    "@version",
    "RegistrationInfo/URI",
    "RegistrationInfo/Date",
    "RegistrationInfo/SecurityDescriptor",
];

/// Elements whose text is an ISO 8601 duration (compared as a number of seconds).
const DURATIONS: &[&str] = &[
    "ExecutionTimeLimit",
    "Interval",
    "Duration",
    "WaitTimeout",
    "DeleteExpiredTaskAfter",
    "RandomDelay",
    "Delay",
];

/// The canonical form of a definition: its leaves (path → normalized value) in document order
/// of the input, defaults appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    pub leaves: Vec<Leaf>,
}

impl Canonical {
    fn map(&self) -> BTreeMap<&str, &str> {
        self.leaves.iter().map(|(p, v)| (p.as_str(), v.as_str())).collect()
    }

    /// One text holding every leaf in path order.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (p, v) in self.map() {
            out.push_str(p);
            out.push('=');
            out.push_str(v);
            out.push('\n');
        }
        out
    }
}

/// One path segment split into its element name and 1-based sibling index.
fn segment(seg: &str) -> (&str, usize) {
    match seg.strip_suffix(']').and_then(|s| s.split_once('[')) {
        Some((name, n)) => (name, n.parse().unwrap_or(1)),
        None => (seg, 1),
    }
}

fn join_segment(name: &str, n: usize) -> String {
    if n > 1 { format!("{name}[{n}]") } else { name.to_string() }
}

/// `Triggers/<trigger>` prefix of a leaf path, if it is inside a trigger.
fn trigger_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("Triggers/")?;
    let seg = rest.split('/').next()?;
    Some(&path[..("Triggers/".len() + seg.len())])
}

fn normalize_value(path: &str, value: &str) -> String {
    let v = value.trim();
    let name = path.rsplit('/').next().unwrap_or(path);
    if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
        return v.to_ascii_lowercase();
    }
    if DURATIONS.contains(&name)
        && let Some(secs) = parse_iso_duration(v)
    {
        return iso_duration(secs);
    }
    v.to_string()
}

/// Parses a definition into its canonical form (see the module documentation).
pub fn canonical(xml: &str) -> Result<Canonical, String> {
    let raw = flatten(xml)?;
    // Triggers derived from the registration instant are not part of the definition.
    let dropped: HashSet<String> = raw
        .iter()
        .filter(|(p, v)| is_first_window(v) && p.ends_with("/@id"))
        .filter_map(|(p, _)| trigger_of(p).filter(|t| p == &format!("{t}/@id")).map(String::from))
        .collect();
    // Renumber the remaining triggers of each type, in order.
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_per_type: BTreeMap<String, usize> = BTreeMap::new();
    for (p, _) in &raw {
        let Some(t) = trigger_of(p) else { continue };
        if dropped.contains(t) || renamed.contains_key(t) {
            continue;
        }
        let (name, _) = segment(&t["Triggers/".len()..]);
        let n = seen_per_type.entry(name.to_string()).or_insert(0);
        *n += 1;
        renamed.insert(t.to_string(), format!("Triggers/{}", join_segment(name, *n)));
    }
    let mut leaves: Vec<Leaf> = Vec::new();
    for (p, v) in &raw {
        if WINDOWS_ONLY.contains(&p.as_str()) {
            continue;
        }
        let path = match trigger_of(p) {
            Some(t) if dropped.contains(t) => continue,
            Some(t) => format!("{}{}", renamed[t], &p[t.len()..]),
            None => p.clone(),
        };
        // An empty <Triggers/> is the same as none.
        if path == "Triggers" && v.trim().is_empty() {
            continue;
        }
        let value = normalize_value(&path, v);
        leaves.push((path, value));
    }
    let present: HashSet<String> = leaves.iter().map(|(p, _)| p.clone()).collect();
    let mut defaults: Vec<Leaf> = Vec::new();
    let mut add = |path: String, value: &str| {
        if !present.contains(&path) && !defaults.iter().any(|(p, _)| p == &path) {
            let v = normalize_value(&path, value);
            defaults.push((path, v));
        }
    };
    let triggers: Vec<String> = {
        let mut t: Vec<String> =
            leaves.iter().filter_map(|(p, _)| trigger_of(p).map(String::from)).collect::<Vec<_>>();
        t.dedup();
        t
    };
    for t in &triggers {
        add(format!("{t}/Enabled"), "true");
        if leaves.iter().any(|(p, _)| p.starts_with(&format!("{t}/Repetition/"))) {
            add(format!("{t}/Repetition/StopAtDurationEnd"), "false");
        }
    }
    for (p, v) in SETTINGS_DEFAULTS {
        add((*p).to_string(), v);
    }
    if leaves.iter().any(|(p, _)| p.starts_with("Principals/Principal")) {
        add("Principals/Principal/RunLevel".to_string(), "LeastPrivilege");
    }
    leaves.extend(defaults);
    Ok(Canonical { leaves })
}

fn short(s: &str) -> String {
    let one = s.replace('\n', " ⏎ ");
    if one.chars().count() > 80 {
        format!("{}…", one.chars().take(80).collect::<String>())
    } else {
        one
    }
}

/// What differs semantically between the XML orc registers and the XML Task Scheduler holds,
/// one line per difference (empty when they are the same definition). A `Principal/UserId`
/// that orc does not set is the account Windows recorded for the registering user, not a
/// difference.
pub fn compare(desired: &str, registered: &str) -> Vec<String> {
    let want = match canonical(desired) {
        Ok(c) => c,
        Err(e) => return vec![format!("orc's own definition cannot be read: {e}")],
    };
    let have = match canonical(registered) {
        Ok(c) => c,
        Err(e) => return vec![format!("the registered definition cannot be read: {e}")],
    };
    let want_map = want.map();
    let have_map = have.map();
    let mut out = Vec::new();
    for (path, value) in &want.leaves {
        match have_map.get(path.as_str()) {
            None => out.push(format!(
                "{path}: missing in Task Scheduler (orc registers {:?})",
                short(value)
            )),
            Some(v) if v != value => out.push(format!(
                "{path}: Task Scheduler has {:?}, orc registers {:?}",
                short(v),
                short(value)
            )),
            Some(_) => {}
        }
    }
    for (path, value) in &have.leaves {
        if want_map.contains_key(path.as_str()) {
            continue;
        }
        if path == "Principals/Principal/UserId" {
            continue;
        }
        out.push(format!("{path}: {:?} added outside orc", short(value)));
    }
    out
}

/// True when the only semantic difference is `Settings/Enabled` (a task disabled or enabled
/// by hand): `schtasks /Change /ENABLE|/DISABLE` repairs it and keeps the run history.
pub fn only_enabled_differs(details: &[String]) -> bool {
    !details.is_empty() && details.iter().all(|d| d.starts_with("Settings/Enabled:"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskSpec;

    fn built(schedule: &str) -> String {
        let spec = TaskSpec::new("t", "x", schedule);
        crate::scheduler::taskxml::build::tests::built(&spec).unwrap().xml
    }

    /// What Windows stores for `xml`: the same normalization the fake schtasks applies,
    /// written out by hand (other order, defaults, URI, Date, the registering account).
    fn as_windows_stores(xml: &str) -> String {
        // Windows writes the registering account into a principal that names none.
        let account = if xml.contains("<UserId>") { "" } else { "<UserId>HOST\\admin</UserId>" };
        xml.replace(
            "<StartBoundary>",
            "<Enabled>true</Enabled>\n      <StartBoundary>",
        )
        .replace(
            "</Duration>",
            "</Duration>\n        <StopAtDurationEnd>false</StopAtDurationEnd>",
        )
        .replace(
            "<Author>orc</Author>",
            "<Date>2026-12-03T09:00:00</Date><Author>orc</Author><URI>\\Orchestrator\\Orc_t</URI>",
        )
        .replace(
            "<Priority>4</Priority>",
            "<Priority>4</Priority><IdleSettings><Duration>PT10M</Duration><WaitTimeout>PT1H</WaitTimeout><StopOnIdleEnd>true</StopOnIdleEnd><RestartOnIdle>false</RestartOnIdle></IdleSettings>",
        )
        .replace("<RunLevel>", &format!("{account}<RunLevel>"))
        .replace("<ExecutionTimeLimit>PT", "<ExecutionTimeLimit>  PT")
        .replace(">false<", ">False<")
    }

    #[test]
    fn what_windows_stores_is_the_same_definition() {
        for schedule in ["0 6 * * *", "*/15 8-18 * * 1-5", "0 12 1 * MON", "10 8,13,17 * * *"] {
            let xml = built(schedule);
            assert!(compare(&xml, &xml).is_empty());
            let stored = as_windows_stores(&xml);
            assert_ne!(stored, xml);
            assert_eq!(compare(&xml, &stored), Vec::<String>::new(), "{schedule}\n{stored}");
        }
    }

    #[test]
    fn element_order_does_not_matter() {
        let a = r#"<Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Settings><Enabled>true</Enabled><Priority>7</Priority></Settings><Actions Context="Author"><Exec><Command>a</Command></Exec></Actions></Task>"#;
        let b = r#"<Task xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Actions Context="Author"><Exec><Command>a</Command></Exec></Actions><Settings><Priority>7</Priority><Enabled>true</Enabled></Settings></Task>"#;
        assert!(compare(a, b).is_empty());
    }

    #[test]
    fn drift_comparison_names_the_differences() {
        let xml = built("0 6 * * *");
        // What Windows exports, the task disabled by hand and its trigger moved.
        let exported = xml
            .replace("<Enabled>true</Enabled>", "<Enabled>false</Enabled><IdleSettings><StopOnIdleEnd>true</StopOnIdleEnd></IdleSettings>")
            .replace("T06:00:00", "T07:30:00");
        let diffs = compare(&xml, &exported);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs[0].contains("StartBoundary") && diffs[0].contains("07:30"), "{diffs:?}");
        assert!(diffs[1].starts_with("Settings/Enabled:"), "{diffs:?}");
        assert!(!only_enabled_differs(&diffs));
    }

    #[test]
    fn a_hand_disable_alone_is_only_the_enabled_state() {
        let xml = built("0 6 * * *");
        // Settings/Enabled is the first <Enabled> of orc's document (triggers carry none).
        let stored = as_windows_stores(&xml.replacen(
            "<Enabled>true</Enabled>",
            "<Enabled>false</Enabled>",
            1,
        ));
        let diffs = compare(&xml, &stored);
        assert_eq!(
            diffs,
            vec![
                "Settings/Enabled: Task Scheduler has \"false\", orc registers \"true\""
                    .to_string()
            ]
        );
        assert!(only_enabled_differs(&diffs));
        assert!(!only_enabled_differs(&[]));
    }

    #[test]
    fn non_default_values_and_extra_triggers_are_differences() {
        let xml = built("0 6 * * *");
        let d = compare(&xml, &xml.replace("<Priority>4</Priority>", "<Priority>7</Priority>"));
        assert_eq!(d.len(), 1, "{d:?}");
        // A default written explicitly is no difference; a changed default is.
        let d = compare(&xml, &xml.replace("</Settings>", "<IdleSettings><Duration>PT5M</Duration><RestartOnIdle>false</RestartOnIdle></IdleSettings></Settings>"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("Settings/IdleSettings/Duration"), "{d:?}");
        let extra = xml.replace(
            "</Triggers>",
            "<BootTrigger><Enabled>true</Enabled></BootTrigger></Triggers>",
        );
        let d = compare(&xml, &extra);
        assert_eq!(d, vec!["Triggers/BootTrigger/Enabled: \"true\" added outside orc".to_string()]);
        // A trigger disabled by hand.
        let d = compare(
            &xml,
            &xml.replace("<StartBoundary>", "<Enabled>false</Enabled><StartBoundary>"),
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("CalendarTrigger/Enabled"), "{d:?}");
        // Durations compare by value.
        let d = compare(&xml, &xml.replace("<ExecutionTimeLimit>PT", "<ExecutionTimeLimit>P0DT"));
        assert!(d.is_empty(), "{d:?}");
    }

    const FIRST_WINDOW: &str = "<TimeTrigger id=\"OrcFirstWindow\">\n      <StartBoundary>2026-12-03T10:07:00</StartBoundary>\n      <EndBoundary>2026-12-03T18:00:00</EndBoundary>\n    </TimeTrigger>";

    #[test]
    fn first_window_triggers_are_ignored_by_comparison() {
        let xml = built("*/15 8-18 * * 1-5");
        let with_last = xml.replace("</Triggers>", &format!("  {FIRST_WINDOW}\n  </Triggers>"));
        let with_first = xml.replace("<Triggers>", &format!("<Triggers>\n    {FIRST_WINDOW}"));
        assert_ne!(with_last, xml);
        assert_ne!(with_first, xml);
        // Semantically: the same definition, whichever instant it was registered at.
        assert!(compare(&xml, &with_last).is_empty());
        assert!(compare(&with_first, &xml).is_empty());
        let other_instant = with_last.replace("10:07", "11:52");
        assert!(compare(&with_first, &other_instant).is_empty());
        // Several of them: `OrcFirstWindow-2`, … (but not look-alikes).
        let two = with_last.replace(
            "</Triggers>",
            &format!(
                "  {}\n  </Triggers>",
                FIRST_WINDOW.replace("OrcFirstWindow", "OrcFirstWindow-2")
            ),
        );
        assert!(compare(&xml, &two).is_empty());
        for id in ["OrcFirstWindow-", "OrcFirstWindow-x", "OrcFirstWindowX", "orcfirstwindow"] {
            assert!(!is_first_window(id), "{id}");
            let other = with_last.replace("\"OrcFirstWindow\"", &format!("\"{id}\""));
            assert!(!compare(&xml, &other).is_empty(), "{id}");
        }
        assert!(is_first_window("OrcFirstWindow-12"));
        // An unmarked one-off trigger is a real difference.
        let unmarked = with_last.replace(" id=\"OrcFirstWindow\"", "");
        assert!(!compare(&xml, &unmarked).is_empty());
    }

    #[test]
    fn unreadable_documents_are_reported() {
        let xml = built("0 6 * * *");
        assert!(compare(&xml, "<Task>")[0].contains("cannot be read"));
        assert!(compare("<a></b>", &xml)[0].contains("orc's own definition"));
    }
}

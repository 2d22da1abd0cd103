//! What Task Scheduler stores for a registered definition (§4.3, §4.7, §2.10): `/Create`
//! keeps this, not the bytes it was given, and `/Query /XML` exports it.
//!
//! Evidence: the event-4698 XML of a schtasks-created task (Yamato-Security/takajo#111,
//! tsale/EDR-Telemetry#216) and the exports cited in §4.3 (trustedsec/CS-Remote-OPs-BOF#16,
//! brianary/scripts): every trigger carries `<Enabled>true</Enabled>` after its
//! `StartBoundary` and its `Repetition` first, with `<StopAtDurationEnd>false</StopAtDurationEnd>`;
//! `Settings` holds every setting with its default and an `IdleSettings` block, in the order
//! MultipleInstancesPolicy … Priority; `RegistrationInfo` gets the `URI` of the task; top-level
//! elements are exported as RegistrationInfo, Principals, Settings, Triggers, Actions; a
//! principal with an interactive or S4U token records the registering account. [U] for the
//! exact position of `URI` and `UserId`.

use crate::xml::{Element, Node};

/// Settings in Windows' export order, with the value written when absent.
const SETTINGS: &[(&str, Option<&str>)] = &[
    ("MultipleInstancesPolicy", Some("IgnoreNew")),
    ("DisallowStartIfOnBatteries", Some("true")),
    ("StopIfGoingOnBatteries", Some("true")),
    ("AllowHardTerminate", Some("true")),
    ("StartWhenAvailable", Some("false")),
    ("RunOnlyIfNetworkAvailable", Some("false")),
    ("IdleSettings", None),
    ("AllowStartOnDemand", Some("true")),
    ("Enabled", Some("true")),
    ("Hidden", Some("false")),
    ("RunOnlyIfIdle", Some("false")),
    ("WakeToRun", Some("false")),
    ("ExecutionTimeLimit", Some("PT72H")),
    ("Priority", Some("7")),
];

const IDLE: &[(&str, &str)] = &[
    ("Duration", "PT10M"),
    ("WaitTimeout", "PT1H"),
    ("StopOnIdleEnd", "true"),
    ("RestartOnIdle", "false"),
];

const TOP: &[&str] = &["RegistrationInfo", "Principals", "Settings", "Triggers", "Actions", "Data"];
const REGISTRATION: &[&str] = &["Date", "Author", "Description", "URI"];
const TRIGGER_BASE: &[&str] =
    &["Repetition", "StartBoundary", "EndBoundary", "ExecutionTimeLimit", "Enabled"];
const REPETITION: &[&str] = &["Interval", "Duration", "StopAtDurationEnd"];
const PRINCIPAL: &[&str] = &["UserId", "GroupId", "LogonType", "RunLevel"];

fn text_elem(name: &str, text: &str) -> Element {
    let mut e = Element::new(name);
    e.set_text(text);
    e
}

/// Sorts the child elements by their rank in `order` (unknown ones after, in their order) and
/// drops the whitespace between them.
fn reorder(e: &mut Element, order: &[&str]) {
    let mut elems: Vec<Element> = e.elems().cloned().collect();
    let rank = |x: &Element| order.iter().position(|n| *n == x.local).unwrap_or(order.len());
    elems.sort_by_key(rank);
    e.children = elems.into_iter().map(Node::Elem).collect();
}

fn ensure(e: &mut Element, name: &str, value: &str) {
    if e.child(name).is_none() {
        e.children.push(Node::Elem(text_elem(name, value)));
    }
}

/// Rewrites `root` into what Windows stores for the task `path`, registered by `user`.
pub(crate) fn normalize(root: &mut Element, path: &str, user: &str) {
    if root.child("RegistrationInfo").is_none() {
        root.children.insert(0, Node::Elem(Element::new("RegistrationInfo")));
    }
    if let Some(reg) = root.child_mut("RegistrationInfo") {
        reg.child_or_insert("URI").set_text(path);
        reorder(reg, REGISTRATION);
    }
    if let Some(triggers) = root.child_mut("Triggers") {
        for t in triggers.elems_mut() {
            ensure(t, "Enabled", "true");
            if let Some(rep) = t.child_mut("Repetition") {
                ensure(rep, "StopAtDurationEnd", "false");
                reorder(rep, REPETITION);
            }
            reorder(t, TRIGGER_BASE);
        }
        reorder(triggers, &[]);
    }
    let settings = root.child_or_insert("Settings");
    for (name, value) in SETTINGS {
        match value {
            Some(v) => ensure(settings, name, v),
            None => {
                let idle = settings.child_or_insert(name);
                for (n, v) in IDLE {
                    ensure(idle, n, v);
                }
                reorder(idle, &IDLE.iter().map(|(n, _)| *n).collect::<Vec<_>>());
            }
        }
    }
    reorder(settings, &SETTINGS.iter().map(|(n, _)| *n).collect::<Vec<_>>());
    if let Some(principals) = root.child_mut("Principals") {
        for p in principals.elems_mut() {
            let token = p.child_text("LogonType").unwrap_or_default();
            if p.child("UserId").is_none()
                && p.child("GroupId").is_none()
                && matches!(token.as_str(), "InteractiveToken" | "S4U" | "")
            {
                p.children.push(Node::Elem(text_elem("UserId", user)));
            }
            ensure(p, "RunLevel", "LeastPrivilege");
            reorder(p, PRINCIPAL);
        }
        reorder(principals, &[]);
    }
    reorder(root, TOP);
}

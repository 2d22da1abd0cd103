//! The Task Scheduler XML orc registers for a task. Pure: no I/O.
//!
//! Generated with quick-xml's `Writer` (never string formatting), declared
//! `<?xml version="1.0" encoding="UTF-16"?>` and written to disk as UTF-16LE with a BOM
//! ([`encode_utf16le_bom`]). The document, in XSD order:
//!
//! * `RegistrationInfo`: `Author` and `Source` = `orc`, `Description` = the task's description,
//!   a line saying orc manages the task, and `orc-hash: <16 hex>` — the SHA-256 (truncated) of
//!   the document rendered without that line, which is how orc later recognises its own
//!   registration in the one-query reconcile;
//! * `Triggers`: from the cron engine ([`crate::cron::trigger::plan`]); when the plan is
//!   inexact Task Scheduler fires on a superset and `orc execute --scheduled` skips the slots
//!   the expression does not contain;
//! * `Settings`: see [`execution_time_limit`] and `docs/guide/windows-scheduler.md`;
//! * `Principals`: from [`crate::task::runas::Principal`] (the one owner of the run-as rules):
//!   S4U for the registering user by default, the built-in service accounts by SID with no
//!   logon type, a named account with `Password` (its password goes to schtasks on the command
//!   line, never into the XML), `InteractiveToken` when asked for;
//! * `Actions Context="Author"`: one `Exec` of orc itself (of `orcw.exe`, the GUI-subsystem
//!   build, for an interactive logon, so no console window opens):
//!   `--home "<home>" execute --task <name> --scheduled`, working directory = the home, always:
//!   Task Scheduler refuses to start a program whose Start In is missing (0x8007010B, no run
//!   row, no alert), while `orc execute` sets the task's `--workdir` itself and records a
//!   missing one as a failed run. No secret and no user-typed text other than the validated
//!   name.
//!
//! Every string is checked against the characters XML 1.0 can carry before anything is
//! written.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::cron::xml::TASK_NS;
use crate::error::{Error, Result};
use crate::task::runas::Principal;
use crate::task::{CatchUp, Overlap, TaskSpec};

pub mod normalize;

/// The task schema version orc declares (Task Scheduler 2.0: everything orc uses).
pub const TASK_VERSION: &str = "1.2";
/// The most triggers a task may have (XSD).
pub const MAX_TRIGGERS: usize = 48;
/// The date part of every `StartBoundary`: a fixed past date, so that the definition (and its
/// hash) does not change from day to day. Calendar triggers only use it as an anchor; with
/// `DaysInterval`/`WeeksInterval` 1 every anchor gives the same fire times.
pub const ANCHOR_DATE: (i32, u32, u32) = (2024, 1, 1);
/// Prefix of the hash line in the Description.
pub const HASH_PREFIX: &str = "orc-hash: ";
/// The well-known SID of LocalSystem.
pub use crate::task::runas::SYSTEM_SID;
/// `Settings/Priority`. Task Scheduler's default, 7, starts the action (and every process of
/// the task) at BELOW_NORMAL_PRIORITY_CLASS; 4, 5 and 6 map to NORMAL_PRIORITY_CLASS /
/// THREAD_PRIORITY_NORMAL (Microsoft, "Priority (settingsType) Element"). A scheduled job
/// should run like the same command typed at a prompt, so orc registers the first normal
/// level.
pub const PRIORITY: &str = "4";

/// What [`build`] needs.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub spec: &'a TaskSpec,
    /// Absolute path of orc.exe.
    pub exe: &'a Path,
    /// Absolute path of the orc home.
    pub home: &'a Path,
    /// Who the task runs as, resolved.
    pub principal: &'a Principal,
    /// The registration instant; `None` renders the definition alone (no first-window
    /// triggers, [`crate::cron::first_window`]).
    pub registered: Option<chrono::NaiveDateTime>,
}

/// A rendered task definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The document (a Rust string; [`encode_utf16le_bom`] gives the file bytes).
    pub xml: String,
    /// `orc-hash` of the canonical definition.
    pub hash: String,
    /// `Exec/Command` as written (quoted when it contains spaces).
    pub command: String,
    /// `Exec/Arguments`.
    pub arguments: String,
    /// `Exec/WorkingDirectory` (the home).
    pub workdir: String,
    pub principal: Principal,
    /// The cron plan is exact (false: superset + filtering by `orc execute`).
    pub exact: bool,
    /// The definition's own triggers (without the first-window triggers).
    pub triggers: usize,
    /// One-off first-window triggers added for the registration instant.
    pub first_window: usize,
    pub notes: Vec<String>,
}

/// Renders the task XML for a task. Refuses (exit 2) what cannot be registered.
pub fn build(input: &Input<'_>) -> Result<Built> {
    let spec = input.spec;
    crate::task::validate_name(&spec.name)?;
    let expr = crate::cron::CronExpr::parse(&spec.schedule)
        .map_err(|e| Error::invalid("schedule", &spec.schedule, e.to_string()))?;
    let plan = crate::cron::trigger::plan(&expr);
    let first_window = input
        .registered
        .map(|at| crate::cron::first_window::plan(&expr, &plan, at))
        .unwrap_or_default();
    if plan.triggers.is_empty() {
        return Err(Error::invalid(
            "schedule",
            &spec.schedule,
            "the expression never fires, so there is nothing to register",
        ));
    }
    if plan.triggers.len() > MAX_TRIGGERS {
        return Err(Error::invalid(
            "schedule",
            &spec.schedule,
            format!(
                "needs {} Task Scheduler triggers; a task may have at most {MAX_TRIGGERS}",
                plan.triggers.len()
            ),
        ));
    }
    let principal = input.principal;
    let exe = path_text("orc executable", input.exe)?;
    let home = path_text("home", input.home)?;
    if !is_absolute_any(&exe) {
        return Err(Error::invalid("orc executable", &exe, "must be an absolute path"));
    }
    if !is_absolute_any(&home) {
        return Err(Error::invalid("home", &home, "must be an absolute path"));
    }
    // Start In is the home (see the module documentation); the task's own directory is
    // checked by task validation and applied by `orc execute`.
    let workdir = home.clone();
    if let Some(u) = &principal.user_id {
        check_xml_chars("run-as", u)?;
    }
    if let Some(d) = &spec.description {
        check_xml_chars("description", d)?;
    }
    super::limits::check_exec(&exe, &workdir)?;
    let command =
        if exe.contains(char::is_whitespace) { format!("\"{exe}\"") } else { exe.clone() };
    let arguments =
        format!("--home {} execute --task {} --scheduled", quote_arg("home", &home)?, spec.name);

    let (y, m, d) = ANCHOR_DATE;
    let anchor = NaiveDate::from_ymd_opt(y, m, d).expect("valid constant date");
    let mut doc = Doc {
        spec,
        description: description_text(spec),
        plan: &plan,
        first_window: &[],
        anchor,
        principal,
        command: &command,
        arguments: &arguments,
        workdir: &workdir,
    };
    // The hash covers the definition only: first-window triggers depend on the instant.
    let canonical = doc.render(None)?;
    let hash = super::definition_hash(&canonical);
    doc.first_window = &first_window.triggers;
    let xml = doc.render(Some(&hash))?;
    Ok(Built {
        xml,
        hash,
        command,
        arguments,
        workdir,
        principal: principal.clone(),
        exact: plan.exact,
        triggers: plan.triggers.len(),
        first_window: first_window.triggers.len(),
        notes: plan.notes.iter().chain(&first_window.warnings).cloned().collect(),
    })
}

/// The user's description followed by orc's line.
fn description_text(spec: &TaskSpec) -> String {
    let own = format!(
        "Managed by orc (task {}): change it with `orc task edit`, then `orc schedule`; edits made \
         here are undone by the next `orc schedule`.",
        spec.name
    );
    match spec.description.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) => format!("{d}\n\n{own}"),
        None => own,
    }
}

struct Doc<'a> {
    spec: &'a TaskSpec,
    description: String,
    plan: &'a crate::cron::trigger::TriggerPlan,
    first_window: &'a [crate::cron::first_window::OneOff],
    anchor: NaiveDate,
    principal: &'a Principal,
    command: &'a str,
    arguments: &'a str,
    workdir: &'a str,
}

fn el<W: Write>(w: &mut Writer<W>, name: &str, text: &str) -> std::io::Result<()> {
    w.create_element(name).write_text_content(BytesText::new(text))?;
    Ok(())
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl Doc<'_> {
    fn render(&self, hash: Option<&str>) -> Result<String> {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        self.write(&mut w, hash)
            .map_err(|e| Error::Failed(format!("cannot build the task XML: {e}")))?;
        String::from_utf8(w.into_inner())
            .map_err(|e| Error::Failed(format!("task XML is not valid text: {e}")))
    }

    fn write<W: Write>(&self, w: &mut Writer<W>, hash: Option<&str>) -> std::io::Result<()> {
        w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-16"), None)))?;
        w.create_element("Task")
            .with_attribute(("version", TASK_VERSION))
            .with_attribute(("xmlns", TASK_NS))
            .write_inner_content(|w| {
                w.create_element("RegistrationInfo").write_inner_content(|w| {
                    el(w, "Author", "orc")?;
                    let description = match hash {
                        Some(h) => format!("{}\n{HASH_PREFIX}{h}", self.description),
                        None => self.description.clone(),
                    };
                    el(w, "Description", &description)?;
                    el(w, "Source", "orc")
                })?;
                crate::cron::xml::write_triggers_with(
                    w,
                    self.plan,
                    self.anchor,
                    self.first_window,
                )?;
                self.write_settings(w)?;
                self.write_principals(w)?;
                w.create_element("Actions")
                    .with_attribute(("Context", "Author"))
                    .write_inner_content(|w| {
                        w.create_element("Exec").write_inner_content(|w| {
                            el(w, "Command", self.command)?;
                            el(w, "Arguments", self.arguments)?;
                            el(w, "WorkingDirectory", self.workdir)
                        })?;
                        Ok(())
                    })?;
                Ok(())
            })?;
        Ok(())
    }

    fn write_settings<W: Write>(&self, w: &mut Writer<W>) -> std::io::Result<()> {
        let spec = self.spec;
        w.create_element("Settings").write_inner_content(|w| {
            el(w, "MultipleInstancesPolicy", multiple_instances_policy(spec.overlap))?;
            el(w, "DisallowStartIfOnBatteries", "false")?;
            el(w, "StopIfGoingOnBatteries", "false")?;
            el(w, "AllowHardTerminate", "true")?;
            el(w, "StartWhenAvailable", bool_text(spec.catch_up == CatchUp::Once))?;
            el(w, "RunOnlyIfNetworkAvailable", "false")?;
            el(w, "AllowStartOnDemand", "true")?;
            el(w, "Enabled", bool_text(spec.enabled))?;
            el(w, "Hidden", "false")?;
            el(w, "RunOnlyIfIdle", "false")?;
            el(w, "WakeToRun", bool_text(spec.wake_to_run))?;
            el(w, "ExecutionTimeLimit", &execution_time_limit(spec))?;
            el(w, "Priority", PRIORITY)
        })?;
        Ok(())
    }

    fn write_principals<W: Write>(&self, w: &mut Writer<W>) -> std::io::Result<()> {
        w.create_element("Principals").write_inner_content(|w| {
            w.create_element("Principal").with_attribute(("id", "Author")).write_inner_content(
                |w| {
                    let p = self.principal;
                    if let Some(user) = &p.user_id {
                        el(w, "UserId", user)?;
                    }
                    if let Some(t) = p.logon_type() {
                        el(w, "LogonType", t)?;
                    }
                    el(w, "RunLevel", p.run_level())?;
                    Ok(())
                },
            )?;
            Ok(())
        })?;
        Ok(())
    }
}

/// Task Scheduler's policy for a start while an instance still runs. `skip` (the default)
/// registers `IgnoreNew` as the contract says; `queue` and `parallel` register `Queue` and
/// `Parallel`, because with `IgnoreNew` Task Scheduler would drop those starts before orc
/// could apply the task's own overlap policy.
pub fn multiple_instances_policy(overlap: Overlap) -> &'static str {
    match overlap {
        Overlap::Skip => "IgnoreNew",
        Overlap::Queue => "Queue",
        Overlap::Parallel => "Parallel",
    }
}

/// Longest `ExecutionTimeLimit` orc registers; above it (or with no task timeout) it
/// registers `PT0S` (no limit) and relies on its own timeout handling.
pub const MAX_EXECUTION_LIMIT_SECS: u64 = 30 * 86_400;

/// `ExecutionTimeLimit`: comfortably above the longest a run of orc may legitimately take,
/// so Task Scheduler never kills orc before orc's own timeout handling does:
/// `attempts × timeout + the retry delays (doubling for exponential backoff) + 15 min + 10%`,
/// doubled for `overlap = queue` (a run may wait for the previous one), rounded up to whole
/// minutes. `PT0S` (no limit) when the task has no timeout or the budget exceeds 30 days.
pub fn execution_time_limit(spec: &TaskSpec) -> String {
    let Some(timeout) = spec.timeout.filter(|t| *t > 0) else { return "PT0S".to_string() };
    let attempts = u64::from(spec.attempts());
    let mut total = timeout.saturating_mul(attempts);
    let mut delay = spec.retry_delay;
    for _ in 0..spec.retries {
        total = total.saturating_add(delay);
        if spec.backoff == crate::task::Backoff::Exponential {
            delay = delay.saturating_mul(2).min(86_400);
        }
    }
    total = total.saturating_add(900).saturating_add(total / 10);
    if spec.overlap == Overlap::Queue {
        total = total.saturating_mul(2);
    }
    if total > MAX_EXECUTION_LIMIT_SECS {
        return "PT0S".to_string();
    }
    iso_duration(total.div_ceil(60) * 60)
}

/// Seconds as an ISO 8601 duration with D/H/M/S components only (`P1DT2H`, `PT1H30M`).
pub fn iso_duration(secs: u64) -> String {
    if secs == 0 {
        return "PT0S".to_string();
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if h + m + s > 0 {
        out.push('T');
        for (v, unit) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if v > 0 {
                out.push_str(&format!("{v}{unit}"));
            }
        }
    }
    out
}

/// Parses an ISO 8601 duration with D/H/M/S (and W) components into seconds.
pub fn parse_iso_duration(text: &str) -> Option<u64> {
    let rest = text.trim().strip_prefix('P')?;
    if rest.is_empty() {
        return None;
    }
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total: u64 = 0;
    let mut eat = |part: &str, units: &[(char, u64)]| -> Option<()> {
        let mut num = String::new();
        let mut rank = 0;
        for c in part.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let pos = units.iter().position(|(u, _)| *u == c)?;
            if pos < rank || num.is_empty() {
                return None;
            }
            rank = pos + 1;
            total = total.checked_add(num.parse::<u64>().ok()?.checked_mul(units[pos].1)?)?;
            num.clear();
        }
        num.is_empty().then_some(())
    };
    eat(date, &[('W', 604_800), ('D', 86_400)])?;
    if let Some(t) = time {
        eat(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    Some(total)
}

/// Quotes one path argument for the Windows command line ([`crate::quote::argv`]). Refuses
/// values containing `"`.
pub fn quote_arg(field: &str, value: &str) -> Result<String> {
    if value.contains('"') {
        return Err(Error::invalid(field, value, "a path cannot contain '\"'"));
    }
    Ok(crate::quote::argv(value))
}

fn path_text(field: &str, p: &Path) -> Result<String> {
    let s = p.to_str().ok_or_else(|| {
        Error::invalid(field, p.to_string_lossy(), "the path is not valid Unicode")
    })?;
    check_xml_chars(field, s)?;
    Ok(s.to_string())
}

/// Absolute on Windows (`C:\…`, `\\server\share`) or on this platform.
fn is_absolute_any(p: &str) -> bool {
    let b = p.as_bytes();
    let drive = b.len() >= 3
        && b[0].is_ascii_alphabetic()
        && b[1] == b':'
        && (b[2] == b'\\' || b[2] == b'/');
    drive || p.starts_with("\\\\") || Path::new(p).is_absolute()
}

/// Refuses characters XML 1.0 cannot carry and Unicode noncharacters: the one check,
/// [`crate::task::validate::check_definition_text`].
pub fn check_xml_chars(field: &str, value: &str) -> Result<()> {
    crate::task::validate::check_definition_text(field, value)
}

/// The bytes of the XML file handed to schtasks: UTF-16LE with a byte-order mark.
pub fn encode_utf16le_bom(xml: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + xml.len() * 2);
    out.extend_from_slice(&[0xFF, 0xFE]);
    for unit in xml.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
    out
}

/// Decodes a UTF-16LE file with BOM (what [`encode_utf16le_bom`] writes).
pub fn decode_utf16le_bom(bytes: &[u8]) -> Option<String> {
    let rest = bytes.strip_prefix(&[0xFF, 0xFE])?;
    if rest.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).ok()
}

/// The definition hash written in a Description (or a Comment column showing it): the last
/// `orc-hash: ` followed by 16 hex digits.
pub fn extract_hash(text: &str) -> Option<String> {
    text.rmatch_indices(HASH_PREFIX).find_map(|(i, _)| {
        let rest = &text[i + HASH_PREFIX.len()..];
        let hex: String = rest.chars().take(16).collect();
        (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| hex.to_ascii_lowercase())
    })
}

/// A leaf of an XML document: its path (`Triggers/CalendarTrigger[2]/StartBoundary`) and text.
pub type Leaf = (String, String);

/// Flattens an XML document into its leaf elements (namespaces dropped, repeated siblings
/// numbered from `[2]`), in document order. Attributes are listed as `path/@name`.
pub fn flatten(xml: &str) -> std::result::Result<Vec<Leaf>, String> {
    use quick_xml::Reader;
    let mut reader = Reader::from_str(xml);
    struct Frame {
        path: String,
        children: std::collections::HashMap<String, usize>,
        has_children: bool,
        text: String,
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut leaves = Vec::new();
    let open = |stack: &mut Vec<Frame>, name: String| -> String {
        let parent_path = stack.last().map(|f| f.path.clone());
        let n = match stack.last_mut() {
            Some(p) => {
                p.has_children = true;
                let c = p.children.entry(name.clone()).or_insert(0);
                *c += 1;
                *c
            }
            None => 1,
        };
        let seg = if n > 1 { format!("{name}[{n}]") } else { name };
        match parent_path {
            Some(pp) if !pp.is_empty() => format!("{pp}/{seg}"),
            // The root element itself is not part of the path.
            Some(_) => seg,
            None => String::new(),
        }
    };
    loop {
        let event =
            reader.read_event().map_err(|e| format!("{e} at byte {}", reader.buffer_position()))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                let path = open(&mut stack, name);
                attributes(&e, &path, &mut leaves);
                stack.push(Frame {
                    path,
                    children: Default::default(),
                    has_children: false,
                    text: String::new(),
                });
            }
            Event::Empty(e) => {
                let name = e.local_name().as_ref().to_string();
                let path = open(&mut stack, name);
                attributes(&e, &path, &mut leaves);
                leaves.push((path, String::new()));
            }
            Event::Text(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(f) = stack.last_mut() {
                    let name = r.xml10_content();
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => match name.as_ref() {
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "amp" => Some('&'),
                            "quot" => Some('"'),
                            "apos" => Some('\''),
                            _ => None,
                        },
                    };
                    match c {
                        Some(c) => f.text.push(c),
                        None => return Err(format!("unknown entity &{name};")),
                    }
                }
            }
            Event::CData(t) => {
                if let Some(f) = stack.last_mut() {
                    f.text.push_str(&t.xml10_content());
                }
            }
            Event::End(_) => {
                let f = stack.pop().ok_or("unbalanced end tag")?;
                if !f.has_children && !f.path.is_empty() {
                    leaves.push((f.path, f.text.trim().replace("\r\n", "\n")));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".into());
    }
    Ok(leaves)
}

fn attributes(e: &quick_xml::events::BytesStart<'_>, path: &str, leaves: &mut Vec<Leaf>) {
    for a in e.attributes().flatten() {
        if a.key.as_ref() == "xmlns" || a.key.as_ref().starts_with("xmlns:") {
            continue;
        }
        let key = a.key.local_name().as_ref().to_string();
        let v = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| v.into_owned())
            .unwrap_or_default();
        let p = if path.is_empty() { format!("@{key}") } else { format!("{path}/@{key}") };
        leaves.push((p, v));
    }
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
mod principal_tests;

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn principal_of(spec: &TaskSpec) -> Result<Principal> {
        use crate::task::runas::Account;
        let account = Account::effective(spec.run_as.as_deref(), &Account::CurrentUser)?;
        Principal::resolve(account, spec.logon, Some("HOST\\admin"))
    }

    pub(super) fn built(spec: &TaskSpec) -> Result<Built> {
        build(&Input {
            spec,
            exe: Path::new("C:\\Program Files\\orc\\orc.exe"),
            home: Path::new("C:\\ProgramData\\orc"),
            principal: &principal_of(spec)?,
            registered: None,
        })
    }

    #[test]
    fn document_shape_and_action() {
        let mut spec = TaskSpec::new("nightly", "backup.cmd", "30 2 * * 1-5");
        spec.description = Some("Nightly <backup> & \"copy\"".into());
        let b = built(&spec).unwrap();
        assert!(b.xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-16\"?>"), "{}", b.xml);
        assert!(validate_document(&b.xml).is_empty(), "{:?}\n{}", validate_document(&b.xml), b.xml);
        assert_eq!(b.command, "\"C:\\Program Files\\orc\\orc.exe\"");
        assert_eq!(
            b.arguments,
            "--home \"C:\\ProgramData\\orc\" execute --task nightly --scheduled"
        );
        assert_eq!(b.workdir, "C:\\ProgramData\\orc");
        let leaves = flatten(&b.xml).unwrap();
        let get = |p: &str| leaves.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone());
        assert_eq!(get("@version").as_deref(), Some("1.2"));
        assert_eq!(get("RegistrationInfo/Author").as_deref(), Some("orc"));
        assert_eq!(get("RegistrationInfo/Source").as_deref(), Some("orc"));
        let desc = get("RegistrationInfo/Description").unwrap();
        assert!(desc.starts_with("Nightly <backup> & \"copy\"\n"), "{desc}");
        assert_eq!(extract_hash(&desc), Some(b.hash.clone()));
        assert_eq!(get("Actions/@Context").as_deref(), Some("Author"));
        assert_eq!(get("Principals/Principal/@id").as_deref(), Some("Author"));
        assert_eq!(get("Principals/Principal/UserId").as_deref(), Some("HOST\\admin"));
        assert_eq!(get("Principals/Principal/LogonType").as_deref(), Some("S4U"));
        assert_eq!(get("Principals/Principal/RunLevel").as_deref(), Some("LeastPrivilege"));
        assert_eq!(get("Settings/Priority").as_deref(), Some("4"));
        assert_eq!(get("Settings/MultipleInstancesPolicy").as_deref(), Some("IgnoreNew"));
        assert_eq!(get("Settings/DisallowStartIfOnBatteries").as_deref(), Some("false"));
        assert_eq!(get("Settings/StopIfGoingOnBatteries").as_deref(), Some("false"));
        assert_eq!(get("Settings/StartWhenAvailable").as_deref(), Some("false"));
        assert_eq!(get("Settings/AllowStartOnDemand").as_deref(), Some("true"));
        assert_eq!(get("Settings/Enabled").as_deref(), Some("true"));
        assert_eq!(get("Settings/WakeToRun").as_deref(), Some("false"));
        assert_eq!(get("Settings/ExecutionTimeLimit").as_deref(), Some("PT1H21M"));
        assert_eq!(get("Actions/Exec/Arguments").as_deref(), Some(b.arguments.as_str()));
        assert!(b.exact);
        assert_eq!(b.triggers, 1);
        // The user's text appears only in the Description, never in the action.
        assert!(!b.arguments.contains("backup") && !b.workdir.contains("backup"));
    }

    #[test]
    fn settings_follow_the_task() {
        let mut spec = TaskSpec::new("t", "x", "*/15 * * * *");
        spec.enabled = false;
        spec.catch_up = CatchUp::Once;
        spec.wake_to_run = true;
        spec.overlap = Overlap::Parallel;
        spec.workdir = Some("D:\\jobs".into());
        spec.run_as = Some("SYSTEM".into());
        let b = built(&spec).unwrap();
        let leaves = flatten(&b.xml).unwrap();
        let get = |p: &str| leaves.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone());
        assert_eq!(get("Settings/Enabled").as_deref(), Some("false"));
        assert_eq!(get("Settings/StartWhenAvailable").as_deref(), Some("true"));
        assert_eq!(get("Settings/WakeToRun").as_deref(), Some("true"));
        assert_eq!(get("Settings/MultipleInstancesPolicy").as_deref(), Some("Parallel"));
        // Start In is the home, whatever the task's own directory (orc execute applies it).
        assert_eq!(get("Actions/Exec/WorkingDirectory").as_deref(), Some("C:\\ProgramData\\orc"));
        assert!(!b.xml.contains("D:\\jobs"), "{}", b.xml);
        assert_eq!(get("Principals/Principal/UserId").as_deref(), Some(SYSTEM_SID));
        assert_eq!(get("Principals/Principal/RunLevel").as_deref(), Some("HighestAvailable"));
        assert_eq!(get("Principals/Principal/LogonType"), None);
        assert!(validate_document(&b.xml).is_empty(), "{:?}", validate_document(&b.xml));

        spec.run_as = Some("CORP\\svc".into());
        let b = built(&spec).unwrap();
        assert_eq!(b.principal.password_account(), Some("CORP\\svc"));
        assert!(b.xml.contains("<LogonType>Password</LogonType>"));
    }

    #[test]
    fn hash_is_stable_and_tracks_the_definition() {
        let spec = TaskSpec::new("t", "x", "0 6 * * *");
        let a = built(&spec).unwrap();
        assert_eq!(a, built(&spec).unwrap());
        let mut other = spec.clone();
        other.enabled = false;
        assert_ne!(built(&other).unwrap().hash, a.hash);
        let mut other = spec.clone();
        other.schedule = "0 7 * * *".into();
        assert_ne!(built(&other).unwrap().hash, a.hash);
        let mut other = spec.clone();
        other.description = Some("new words".into());
        assert_ne!(built(&other).unwrap().hash, a.hash);
        // The command itself is not registered (orc execute reads it from the database).
        let mut other = spec.clone();
        other.command = "something else".into();
        assert_eq!(built(&other).unwrap().hash, a.hash);
    }

    #[test]
    fn refuses_what_cannot_be_registered() {
        let mut spec = TaskSpec::new("t", "x", "0 6 * * *");
        spec.description = Some("bell\u{7}".into());
        assert!(built(&spec).unwrap_err().to_string().contains("XML 1.0"));
        let mut spec = TaskSpec::new("t", "x", "61 * * * *");
        assert_eq!(built(&spec).unwrap_err().exit_code(), 2);
        spec.schedule = "0 6 * * *".into();
        let spec = TaskSpec::new("bad name", "x", "0 6 * * *");
        assert!(built(&spec).is_err());
        let spec = TaskSpec::new("t", "x", "0 6 * * *");
        let principal = principal_of(&spec).unwrap();
        let e = build(&Input {
            spec: &spec,
            exe: Path::new("orc.exe"),
            home: Path::new("C:\\h"),
            principal: &principal,
            registered: None,
        })
        .unwrap_err();
        assert!(e.to_string().contains("absolute"));
    }

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
    fn durations_round_trip() {
        for (secs, text) in
            [(0, "PT0S"), (60, "PT1M"), (5400, "PT1H30M"), (86_400, "P1D"), (93_784, "P1DT2H3M4S")]
        {
            assert_eq!(iso_duration(secs), text);
            assert_eq!(parse_iso_duration(text), Some(secs));
        }
        assert_eq!(parse_iso_duration("PT10H52M30S"), Some(39_150));
        for bad in ["", "P", "PT", "1H", "PTH", "PT1M1H", "P1DT", "PT1.5H"] {
            assert_eq!(parse_iso_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn execution_limit_covers_attempts_and_delays() {
        let mut spec = TaskSpec::new("x", "true", "0 2 * * *");
        // 1 h timeout, 1 attempt: 3600 + 900 + 360 = 4860 s → 81 min.
        assert_eq!(execution_time_limit(&spec), "PT1H21M");
        spec.retries = 2;
        spec.retry_delay = 600;
        spec.backoff = crate::task::Backoff::Exponential;
        // 3 h + 10 min + 20 min = 12600; + 900 + 1260 = 14760 s → 4 h 6 min.
        assert_eq!(execution_time_limit(&spec), "PT4H6M");
        let secs = parse_iso_duration(&execution_time_limit(&spec)).unwrap();
        assert!(secs > 3 * 3600 + 1800);
        spec.timeout = None;
        assert_eq!(execution_time_limit(&spec), "PT0S");
        spec.timeout = Some(20 * 86_400);
        assert_eq!(execution_time_limit(&spec), "PT0S");
    }

    #[test]
    fn quoting_keeps_trailing_backslashes_literal() {
        assert_eq!(quote_arg("home", "D:\\").unwrap(), "\"D:\\\\\"");
        assert!(quote_arg("home", "a\"b").is_err());
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

    #[test]
    fn hash_extraction() {
        assert_eq!(
            extract_hash("desc\norc-hash: 0123456789ABCDEF"),
            Some("0123456789abcdef".into())
        );
        assert_eq!(
            extract_hash("orc-hash: 1111111111111111 user text\norc-hash: 2222222222222222"),
            Some("2222222222222222".into())
        );
        assert_eq!(extract_hash("orc-hash: 12345"), None);
        assert_eq!(extract_hash("N/A"), None);
    }

    #[test]
    fn utf16_encoding_has_bom() {
        let b = encode_utf16le_bom("<a>é</a>");
        assert_eq!(&b[..4], &[0xFF, 0xFE, b'<', 0]);
        assert_eq!(decode_utf16le_bom(&b).as_deref(), Some("<a>é</a>"));
    }

    #[test]
    fn flatten_numbers_siblings_and_unescapes() {
        let xml = r#"<?xml version="1.0"?><Task xmlns="urn:x" version="1.2"><A><B>1</B><B>2 &amp; 3</B><C/></A></Task>"#;
        let leaves = flatten(xml).unwrap();
        assert_eq!(
            leaves,
            vec![
                ("@version".to_string(), "1.2".to_string()),
                ("A/B".to_string(), "1".to_string()),
                ("A/B[2]".to_string(), "2 & 3".to_string()),
                ("A/C".to_string(), String::new()),
            ]
        );
        assert!(flatten("<a><b></a>").is_err());
    }
}

//! Renders the task document ([`build`]): the writer of every element, in XSD order (see the
//! module documentation of [`super`]).

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use super::check_xml_chars;
use super::{
    ANCHOR_DATE, HASH_PREFIX, MAX_TRIGGERS, PRIORITY, TASK_VERSION, iso_duration, quote_arg,
};
use crate::cron::xml::TASK_NS;
use crate::error::{Error, Result};
use crate::task::runas::Principal;
use crate::task::{CatchUp, Overlap, TaskSpec};

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
    /// The definition's own triggers (without the first-window triggers; with the boot
    /// trigger).
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
        .map(|at| crate::cron::first_window::plan(&expr, &plan, at, usize::from(spec.at_boot)))
        .unwrap_or_default();
    if plan.triggers.is_empty() {
        return Err(Error::invalid(
            "schedule",
            &spec.schedule,
            "the expression never fires, so there is nothing to register",
        ));
    }
    let triggers = plan.triggers.len() + usize::from(spec.at_boot);
    if triggers > MAX_TRIGGERS {
        return Err(Error::invalid(
            "schedule",
            &spec.schedule,
            format!(
                "needs {triggers} Task Scheduler triggers; a task may have at most {MAX_TRIGGERS}"
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
    crate::scheduler::limits::check_exec(&exe, &workdir)?;
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
    let hash = crate::scheduler::definition_hash(&canonical);
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
        triggers,
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
                w.create_element("Triggers").write_inner_content(|w| {
                    crate::cron::xml::write_trigger_children(
                        w,
                        self.plan,
                        self.anchor,
                        self.first_window,
                    )?;
                    if self.spec.at_boot {
                        super::boot::write_boot_trigger(w)?;
                    }
                    Ok(())
                })?;
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

#[cfg(test)]
pub(super) mod tests {
    use super::super::{SYSTEM_SID, extract_hash, flatten, parse_iso_duration, validate_document};
    use super::*;

    pub(crate) fn principal_of(spec: &TaskSpec) -> Result<Principal> {
        use crate::task::runas::Account;
        let account = Account::effective(spec.run_as.as_deref(), &Account::CurrentUser)?;
        Principal::resolve(account, spec.logon, Some("HOST\\admin"))
    }

    pub(crate) fn built(spec: &TaskSpec) -> Result<Built> {
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
}

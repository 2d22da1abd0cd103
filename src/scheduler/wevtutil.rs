//! The Task Scheduler operational log, read and configured with `wevtutil.exe` (the Windows
//! event-log tool): whether the history log is enabled (`gl`), enabling it (`sl /e:true`), and a
//! task's events (`qe … /q:XPATH /f:xml /c:N /rd:true`). Tests point `ORC_WEVTUTIL` at the fake
//! (`tests/helpers/fake_wevtutil`).
//!
//! The log is `Microsoft-Windows-TaskScheduler/Operational` (its file
//! `%SystemRoot%\System32\winevt\Logs\Microsoft-Windows-TaskScheduler%4Operational.evtx`); the
//! Task Scheduler console's "Enable All Tasks History" is the same switch as
//! `wevtutil sl … /e:true` (NXLog, "Windows Task Scheduler": enabling task history). Event IDs
//! and their meaning: the TaskScheduler provider's manifest, as tabulated in
//! gist.github.com/gucu112/8b97e7821fab9eb98488749a8273a3d0 and the detection wiki
//! (detection-wiki-staging.pages.dev/microsoft-windows-taskscheduler); the `Data` names
//! (`TaskName`, `InstanceId`/`TaskInstanceId`, `ResultCode`, `ActionName`, `UserContext`) are
//! the event templates' (e.g. a real 322 event carries `TaskName` and `TaskInstanceId`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quick_xml::events::Event as XmlEvent;

use super::SchedulerError;

/// The Task Scheduler operational ("history") log.
pub const LOG: &str = "Microsoft-Windows-TaskScheduler/Operational";

/// How many events `why` reads for a task.
pub const EVENTS_PER_QUERY: usize = 50;

const TIMEOUT: Duration = Duration::from_secs(30);

/// One event of the log, reduced to what orc explains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskEvent {
    pub id: u32,
    /// `System/TimeCreated/@SystemTime`.
    pub time: Option<DateTime<Utc>>,
    /// The `EventData/Data` values by name, in document order.
    pub data: Vec<(String, String)>,
}

impl TaskEvent {
    /// A `Data` value by name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The result code an event carries (`ResultCode`, decimal as Windows writes it).
    pub fn result_code(&self) -> Option<i64> {
        let v = self.get("ResultCode")?.trim();
        match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16).ok().map(i64::from),
            None => v.parse::<i64>().ok(),
        }
    }

    /// What the event means, in words (with the decoded result code where it has one).
    pub fn meaning(&self) -> String {
        let base = match self.id {
            100 => "Task Scheduler started an instance of the task",
            101 => "Task Scheduler failed to start the task",
            102 => "the task instance finished",
            103 => "Task Scheduler failed to start the task's action",
            107 => "the time trigger fired",
            110 => "started on demand (schtasks /Run or the console)",
            111 => "Task Scheduler terminated the instance",
            129 => "Task Scheduler created the task process",
            200 => "the action started",
            201 => "the action finished",
            202 => "the action failed",
            203 => "the action could not be launched",
            322 => "launch request ignored: an instance is already running",
            324 => "launch request queued: an instance is already running",
            325 => "launch request queued",
            329 => "Task Scheduler stopped the instance: its execution time limit was reached",
            332 => "not launched: the run-as user was not logged on",
            _ => "event",
        };
        match self.result_code() {
            Some(code) => {
                let (hex, words) = super::schtasks::hresult::describe_result(code);
                let shown = hex.unwrap_or_else(|| code.to_string());
                match words {
                    Some(w) => format!("{base} (result {shown}: {w})"),
                    None => format!("{base} (result {shown})"),
                }
            }
            None => base.to_string(),
        }
    }
}

/// The `wevtutil` program: `ORC_WEVTUTIL`, else `%SystemRoot%\System32\wevtutil.exe`.
#[derive(Debug, Clone)]
pub struct Wevtutil {
    program: PathBuf,
}

impl Wevtutil {
    /// Finds the program.
    pub fn locate() -> Wevtutil {
        let program = match crate::env_vars::get(crate::env_vars::ORC_WEVTUTIL) {
            Some(p) => PathBuf::from(p),
            None => {
                let root = std::env::var_os("SystemRoot").unwrap_or_else(|| "C:\\Windows".into());
                PathBuf::from(root).join("System32").join("wevtutil.exe")
            }
        };
        Wevtutil { program }
    }

    fn call(&self, args: &[String]) -> Result<String, SchedulerError> {
        let name = self.program.display().to_string();
        let mut cmd = Command::new(&self.program);
        cmd.args(args);
        let shown = args.join(" ");
        let done = super::program::run(cmd, None, TIMEOUT)
            .map_err(|f| f.into_error(name.clone(), shown.clone(), TIMEOUT))?;
        let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
        if done.code == 0 {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&done.stderr).trim().to_string();
        if stderr.to_lowercase().contains("access is denied") {
            return Err(SchedulerError::AccessDenied { program: name, args: shown });
        }
        Err(SchedulerError::Failed { program: name, args: shown, code: done.code, stderr })
    }

    /// `wevtutil gl LOG`: whether the log is enabled.
    pub fn log_enabled(&self) -> Result<bool, SchedulerError> {
        let out = self.call(&["gl".into(), LOG.into()])?;
        parse_enabled(&out).ok_or_else(|| SchedulerError::Parse {
            program: self.program.display().to_string(),
            detail: "no `enabled:` line in `gl` output".into(),
        })
    }

    /// `wevtutil sl LOG /e:true|false`.
    pub fn set_log_enabled(&self, enabled: bool) -> Result<(), SchedulerError> {
        self.call(&["sl".into(), LOG.into(), format!("/e:{enabled}")]).map(|_| ())
    }

    /// `wevtutil qe LOG /q:… /f:xml /c:N /rd:true`: the task's newest events first.
    pub fn task_events(&self, task_path: &str) -> Result<Vec<TaskEvent>, SchedulerError> {
        let out = self.call(&[
            "qe".into(),
            LOG.into(),
            format!("/q:{}", task_query(task_path)),
            "/f:xml".into(),
            format!("/c:{EVENTS_PER_QUERY}"),
            "/rd:true".into(),
        ])?;
        parse_events(&out).map_err(|detail| SchedulerError::Parse {
            program: self.program.display().to_string(),
            detail,
        })
    }
}

/// The XPath that selects a task's events (single quotes doubled inside the literal is not
/// XPath 1.0; task paths orc registers never contain a quote).
pub fn task_query(task_path: &str) -> String {
    format!("*[EventData[Data[@Name='TaskName']='{task_path}']]")
}

/// The `enabled:` line of `wevtutil gl` output.
pub fn parse_enabled(gl: &str) -> Option<bool> {
    gl.lines().find_map(|l| {
        let v = l.trim().strip_prefix("enabled:")?.trim();
        match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    })
}

/// Parses `qe … /f:xml` output: `<Event>` elements one after the other, without a root.
pub fn parse_events(text: &str) -> Result<Vec<TaskEvent>, String> {
    let wrapped = format!("<Events>{}</Events>", text.trim_start_matches('\u{feff}'));
    let mut reader = quick_xml::Reader::from_str(&wrapped);
    let mut events = Vec::new();
    let mut current: Option<TaskEvent> = None;
    let mut path: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text_buf = String::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, k: &str| {
        e.attributes().flatten().find(|a| a.key.as_ref() == k).and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned())
        })
    };
    loop {
        match reader.read_event() {
            Ok(XmlEvent::Start(e)) => {
                let name = e.local_name().as_ref().to_string();
                if name == "Event" {
                    current = Some(TaskEvent { id: 0, time: None, data: Vec::new() });
                }
                if name == "Data" {
                    data_name = attr(&e, "Name");
                }
                text_buf.clear();
                path.push(name);
            }
            Ok(XmlEvent::Empty(e)) => {
                let name = e.local_name().as_ref().to_string();
                if let Some(ev) = current.as_mut() {
                    if name == "TimeCreated" {
                        ev.time = attr(&e, "SystemTime")
                            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                            .map(|t| t.with_timezone(&Utc));
                    } else if name == "Data"
                        && let Some(n) = attr(&e, "Name")
                    {
                        ev.data.push((n, String::new()));
                    }
                }
            }
            Ok(XmlEvent::Text(t)) => {
                text_buf.push_str(&t.xml10_content());
            }
            Ok(XmlEvent::GeneralRef(r)) => {
                text_buf.push(super::taskxml::general_ref(&r)?);
            }
            Ok(XmlEvent::End(_)) => {
                let name = path.pop().unwrap_or_default();
                if let Some(ev) = current.as_mut() {
                    match name.as_str() {
                        "EventID" if path.last().is_some_and(|p| p == "System") => {
                            ev.id = text_buf.trim().parse().map_err(|_| {
                                format!("EventID {:?} is not a number", text_buf.trim())
                            })?;
                        }
                        "Data" => {
                            if let Some(n) = data_name.take() {
                                ev.data.push((n, text_buf.clone()));
                            }
                        }
                        "Event" => events.extend(current.take()),
                        _ => {}
                    }
                }
                text_buf.clear();
            }
            Ok(XmlEvent::Eof) => break,
            Err(e) => return Err(format!("not well-formed event XML: {e}")),
            _ => {}
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\
        <System><Provider Name='Microsoft-Windows-TaskScheduler' \
        Guid='{de7b24ea-73c8-4a09-985d-5bdadcfa9017}'/><EventID>201</EventID><Version>2</Version>\
        <Level>4</Level><Task>201</Task><TimeCreated SystemTime='2026-03-01T02:00:05.1234567Z'/>\
        <Channel>Microsoft-Windows-TaskScheduler/Operational</Channel></System>\
        <EventData Name='ActionSuccess'><Data Name='TaskName'>\\Orchestrator\\Orc_a&amp;b</Data>\
        <Data Name='TaskInstanceId'>{1}</Data><Data Name='ActionName'>C:\\orc.exe</Data>\
        <Data Name='ResultCode'>2147942667</Data></EventData></Event>";

    #[test]
    fn events_are_parsed_with_their_data_and_decoded_result() {
        let text = format!("{ONE}\r\n{}", ONE.replace(">201<", ">322<"));
        let events = parse_events(&text).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id, 201);
        assert_eq!(events[0].get("TaskName"), Some("\\Orchestrator\\Orc_a&b"));
        assert_eq!(events[0].time.unwrap().to_rfc3339(), "2026-03-01T02:00:05.123456700+00:00");
        assert_eq!(events[0].result_code(), Some(0x8007_010B));
        assert_eq!(
            events[0].meaning(),
            "the action finished (result 0x8007010B: the Start In directory is invalid)"
        );
        assert_eq!(events[1].id, 322);
        assert!(parse_events("<Event>").is_err());
        assert_eq!(parse_events("").unwrap(), Vec::new());
    }

    #[test]
    fn gl_output_and_query() {
        let gl = "name: Microsoft-Windows-TaskScheduler/Operational\r\nenabled: false\r\ntype: \
                  Operational\r\n";
        assert_eq!(parse_enabled(gl), Some(false));
        assert_eq!(parse_enabled("enabled: true"), Some(true));
        assert_eq!(parse_enabled("name: x"), None);
        assert_eq!(
            task_query("\\Orchestrator\\Orc_x"),
            "*[EventData[Data[@Name='TaskName']='\\Orchestrator\\Orc_x']]"
        );
    }
}

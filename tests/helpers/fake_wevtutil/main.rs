//! `fake_wevtutil`: a stand-in for `wevtutil.exe` (the Windows event-log tool), for orc's
//! tests of `orc doctor` and `orc why` on Linux and under Wine. orc finds it through
//! `ORC_WEVTUTIL`. It knows one log, `Microsoft-Windows-TaskScheduler/Operational`, and the
//! three verbs orc uses:
//!
//! * `gl LOG` (`get-log`): the log's configuration, `enabled: true|false` among its lines, as
//!   `wevtutil gl` prints it;
//! * `sl LOG /e:true|false` (`set-log`): enables or disables it;
//! * `qe LOG /q:XPATH /f:xml [/c:N] [/rd:true]` (`query-events`): the events, rendered in the
//!   event schema (`http://schemas.microsoft.com/win/2004/08/events/event`: `System` with
//!   `Provider`, `EventID`, `TimeCreated/@SystemTime`…, then `EventData/Data[@Name]`), oldest
//!   first unless `/rd:true`, at most N. XPath: `*` or
//!   `*[EventData[Data[@Name='TaskName']='\path']]` (the form orc sends); anything else is
//!   refused as wevtutil refuses a bad query.
//!
//! A disabled log still answers `qe` with the events it holds (disabling stops new events, it
//! does not clear the log).
//!
//! # Environment
//!
//! | Variable | Values | Effect |
//! |---|---|---|
//! | `FAKE_WEVTUTIL_STATE` | file | **Required**: the JSON state `{"enabled": bool, "events": [{"id": 100, "time": "2026-03-01T01:00:00Z", "data": [["TaskName", "\\Orchestrator\\Orc_x"], …]}]}`. A missing file is a disabled, empty log [U]. `sl` rewrites it. |
//! | `FAKE_WEVTUTIL_MODE` | `normal` (default), `access-denied` | `access-denied`: `sl` fails as for a non-elevated caller. Unknown values panic. |
//!
//! # Errors (text on stderr, exit code as wevtutil's Win32 error; on Unix its low byte)
//!
//! * unknown log: `Failed to read configuration for log X. The specified channel could not be
//!   found.` (15007, ERROR_EVT_CHANNEL_NOT_FOUND);
//! * `sl` refused: `Failed to save configuration or activate log X. Access is denied.` (5);
//! * a bad option or verb: `The parameter is incorrect.` (87);
//! * a bad query: `Failed to read events. The specified query is invalid.` (15001,
//!   ERROR_EVT_INVALID_QUERY) [U].
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

const LOG: &str = "Microsoft-Windows-TaskScheduler/Operational";
const EVENT_NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";
const PROVIDER_GUID: &str = "{de7b24ea-73c8-4a09-985d-5bdadcfa9017}";

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    enabled: bool,
    #[serde(default)]
    events: Vec<Ev>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Ev {
    id: u32,
    /// UTC, RFC 3339.
    time: String,
    #[serde(default)]
    data: Vec<(String, String)>,
}

fn fail(code: u32, text: &str) -> ! {
    eprintln!("{text}");
    let exit = if cfg!(windows) { code as i32 } else { (code & 0xFF) as i32 };
    std::process::exit(exit)
}

fn state_path() -> PathBuf {
    PathBuf::from(std::env::var_os("FAKE_WEVTUTIL_STATE").expect(
        "FAKE_WEVTUTIL_STATE must name the fake's state file (see tests/helpers/fake_wevtutil)",
    ))
}

fn load() -> State {
    match std::fs::read_to_string(state_path()) {
        Ok(text) => serde_json::from_str(&text).expect("FAKE_WEVTUTIL_STATE is not valid state"),
        Err(_) => State::default(),
    }
}

fn access_denied() -> bool {
    match std::env::var("FAKE_WEVTUTIL_MODE").as_deref() {
        Err(_) | Ok("normal") => false,
        Ok("access-denied") => true,
        Ok(other) => panic!("unknown FAKE_WEVTUTIL_MODE {other:?}"),
    }
}

/// `/name:value` options (case-insensitive names); anything else is a bad parameter.
fn options(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .map(|a| {
            let body = a.strip_prefix('/').or_else(|| a.strip_prefix('-'));
            match body.and_then(|b| b.split_once(':')) {
                Some((k, v)) => (k.to_ascii_lowercase(), v.to_string()),
                None => fail(87, "The parameter is incorrect."),
            }
        })
        .collect()
}

fn check_log(log: Option<&String>, verb: &str) {
    match log {
        Some(l) if l.eq_ignore_ascii_case(LOG) => {}
        Some(l) => {
            let action = if verb == "sl" {
                "save configuration or activate"
            } else {
                "read configuration for"
            };
            fail(
                15007,
                &format!("Failed to {action} log {l}. The specified channel could not be found."),
            )
        }
        None => fail(87, "The parameter is incorrect."),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The `EventData/@Name` of the TaskScheduler templates orc tests use [U for the rest].
fn data_name(id: u32) -> Option<&'static str> {
    Some(match id {
        100 => "TaskStartEvent",
        101 => "TaskStartFailedEvent",
        102 => "TaskSuccessEvent",
        107 => "TimeTrigger",
        110 => "TaskRunEvent",
        129 => "CreatedTaskProcess",
        200 => "ActionStart",
        201 => "ActionSuccess",
        322 => "TaskInstanceAlreadyRunning",
        329 => "TaskStoppedOnTimeout",
        _ => return None,
    })
}

fn render(e: &Ev, record: usize) -> String {
    let level = match e.id {
        101 | 103 | 203 | 329 => 2,
        322 | 332 => 3,
        _ => 4,
    };
    let data: String = e
        .data
        .iter()
        .map(|(k, v)| format!("<Data Name='{}'>{}</Data>", escape(k), escape(v)))
        .collect();
    let data_attr = data_name(e.id).map(|n| format!(" Name='{n}'")).unwrap_or_default();
    format!(
        "<Event xmlns='{EVENT_NS}'><System><Provider Name='Microsoft-Windows-TaskScheduler' \
         Guid='{PROVIDER_GUID}'/><EventID>{id}</EventID><Version>0</Version><Level>{level}</Level>\
         <Task>{id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated \
         SystemTime='{time}'/><EventRecordID>{record}</EventRecordID><Correlation/><Execution \
         ProcessID='1412' ThreadID='2208'/><Channel>{LOG}</Channel><Computer>FAKEHOST</Computer>\
         <Security UserID='S-1-5-18'/></System><EventData{data_attr}>{data}</EventData></Event>",
        id = e.id,
        time = e.time,
    )
}

/// The task path a query selects: `None` for `*`.
fn query_task(q: &str) -> Option<String> {
    if q == "*" {
        return None;
    }
    let inner = q
        .strip_prefix("*[EventData[Data[@Name='TaskName']='")
        .and_then(|r| r.strip_suffix("']]"))
        .filter(|p| !p.contains('\''));
    match inner {
        Some(p) => Some(p.to_string()),
        None => fail(15001, "Failed to read events. The specified query is invalid."),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let verb = args.first().map(|v| v.to_ascii_lowercase()).unwrap_or_default();
    let verb = match verb.as_str() {
        "gl" | "get-log" => "gl",
        "sl" | "set-log" => "sl",
        "qe" | "query-events" => "qe",
        _ => fail(87, "The parameter is incorrect."),
    };
    let log = args.get(1);
    check_log(log, verb);
    let opts = options(&args[2..]);
    let mut state = load();
    match verb {
        "gl" => {
            if !opts.is_empty() {
                fail(87, "The parameter is incorrect.");
            }
            print!(
                "name: {LOG}\r\nenabled: {}\r\ntype: Operational\r\nowningPublisher: \
                 Microsoft-Windows-TaskScheduler\r\nisolation: Application\r\nchannelAccess: \
                 O:BAG:SYD:(A;;0x2;;;S-1-15-2-1)(A;;0xf0007;;;SY)(A;;0x7;;;BA)(A;;0x7;;;SO)\
                 (A;;0x3;;;IU)(A;;0x3;;;SU)(A;;0x3;;;S-1-5-3)(A;;0x3;;;S-1-5-33)(A;;0x1;;;\
                 S-1-5-32-573)\r\nlogging:\r\n  logFileName: \
                 %SystemRoot%\\System32\\Winevt\\Logs\\Microsoft-Windows-TaskScheduler%4Operational.evtx\
                 \r\n  retention: false\r\n  autoBackup: false\r\n  maxSize: 10485760\r\n\
                 publishing:\r\n  fileMax: 1\r\n",
                state.enabled
            );
        }
        "sl" => {
            let mut enabled = None;
            for (k, v) in &opts {
                match (k.as_str(), v.to_ascii_lowercase().as_str()) {
                    ("e" | "enabled", "true") => enabled = Some(true),
                    ("e" | "enabled", "false") => enabled = Some(false),
                    _ => fail(87, "The parameter is incorrect."),
                }
            }
            if access_denied() {
                fail(
                    5,
                    &format!(
                        "Failed to save configuration or activate log {LOG}. Access is denied."
                    ),
                );
            }
            if let Some(e) = enabled {
                state.enabled = e;
                let text = serde_json::to_string_pretty(&state).unwrap();
                std::fs::write(state_path(), text).expect("write the fake's state");
            }
        }
        _ => {
            let (mut task, mut count, mut reverse, mut xml) = (None, usize::MAX, false, false);
            for (k, v) in &opts {
                match k.as_str() {
                    "q" | "query" => task = Some(query_task(v)),
                    "c" | "count" => {
                        count =
                            v.parse().unwrap_or_else(|_| fail(87, "The parameter is incorrect."))
                    }
                    "rd" | "reversedirection" => reverse = v.eq_ignore_ascii_case("true"),
                    "f" | "format" => {
                        xml = match v.to_ascii_lowercase().as_str() {
                            "xml" => true,
                            "text" | "rendered" => panic!("fake_wevtutil renders only /f:xml"),
                            _ => fail(87, "The parameter is incorrect."),
                        }
                    }
                    _ => fail(87, "The parameter is incorrect."),
                }
            }
            assert!(xml, "fake_wevtutil renders only /f:xml");
            let want = task.flatten();
            let mut selected: Vec<(usize, &Ev)> = state
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    want.as_deref().is_none_or(|w| {
                        e.data.iter().any(|(k, v)| k == "TaskName" && v.eq_ignore_ascii_case(w))
                    })
                })
                .collect();
            selected.sort_by(|a, b| a.1.time.cmp(&b.1.time).then(a.0.cmp(&b.0)));
            if reverse {
                selected.reverse();
            }
            for (i, e) in selected.into_iter().take(count) {
                print!("{}\r\n", render(e, i + 1));
            }
        }
    }
}

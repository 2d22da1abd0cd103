//! A notification event: what every non-mail channel is told (webhook, Teams, Slack, the
//! Windows Event Log / syslog). Its JSON form is the documented, versioned webhook payload
//! ([`SCHEMA`], see docs/guide/notifications.md): fields are only ever added within a version.
//!
//! Runs produce events through [`NotifyEvent::from_run`]; other producers (the watch pass:
//! missed, late, reminders of incidents) build one with [`NotifyEvent::new`] and fill in the
//! public fields they know, then queue it with [`super::channels::queue_event`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::exec::runs::RunRecord;

use super::message::{self, MessageKind};

/// The payload's schema name and version.
pub const SCHEMA: &str = "orc.event/1";
/// Most bytes of output in an event (the end of the output).
pub const OUTPUT_TAIL_MAX_BYTES: usize = 2048;
/// Most lines of output in an event.
pub const OUTPUT_TAIL_MAX_LINES: usize = 30;

/// What an event is about. The Windows event ID of each kind is stable (SCOM / Wazuh rules
/// match on it): see [`EventKind::event_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A run failed after its last retry (and the task's policy wants to hear about it).
    Failure,
    /// The task keeps failing (at most once per `notify.reminder_interval`).
    Reminder,
    /// The first success after a failure alert.
    Recovery,
    /// A scheduled slot passed without a run (the watch pass).
    Missed,
    /// A run is still running past its timeout plus grace, or a runaway (the watch pass).
    Late,
    /// A successful run of a task whose policy is `always`.
    Success,
    /// `orc notify test --channel NAME`.
    Test,
}

/// How serious an event is (Event Log entry type, syslog severity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Information,
}

impl EventKind {
    /// Every kind, in event-ID order.
    pub const ALL: [EventKind; 7] = [
        EventKind::Test,
        EventKind::Failure,
        EventKind::Reminder,
        EventKind::Recovery,
        EventKind::Missed,
        EventKind::Late,
        EventKind::Success,
    ];

    /// The name in the payload.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Failure => "failure",
            EventKind::Reminder => "reminder",
            EventKind::Recovery => "recovery",
            EventKind::Missed => "missed",
            EventKind::Late => "late",
            EventKind::Success => "success",
            EventKind::Test => "test",
        }
    }

    /// The stable Windows Event Log event ID (also in the syslog structured data).
    pub fn event_id(self) -> u32 {
        match self {
            EventKind::Test => 1000,
            EventKind::Failure => 1001,
            EventKind::Reminder => 1002,
            EventKind::Recovery => 1003,
            EventKind::Missed => 1004,
            EventKind::Late => 1005,
            EventKind::Success => 1006,
        }
    }

    /// The severity of the kind.
    pub fn severity(self) -> Severity {
        match self {
            EventKind::Failure | EventKind::Missed | EventKind::Late => Severity::Error,
            EventKind::Reminder => Severity::Warning,
            EventKind::Recovery | EventKind::Success | EventKind::Test => Severity::Information,
        }
    }

    /// The event kind of a mail kind about a run (`None` for the daily report and watch
    /// incidents, whose events `watch::alert` builds itself).
    pub fn of_message(kind: MessageKind) -> Option<EventKind> {
        Some(match kind {
            MessageKind::Failure => EventKind::Failure,
            MessageKind::Reminder => EventKind::Reminder,
            MessageKind::Recovery => EventKind::Recovery,
            MessageKind::Success => EventKind::Success,
            MessageKind::Test => EventKind::Test,
            MessageKind::Report | MessageKind::Watch => return None,
        })
    }
}

/// One event, as every channel renders it. The JSON form is the webhook payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyEvent {
    /// Always [`SCHEMA`].
    pub schema: String,
    pub kind: EventKind,
    /// [`EventKind::event_id`] of `kind`.
    pub event_id: u32,
    /// One line saying what happened (`FAILED backup on SRV01 (exit 1)`).
    pub summary: String,
    /// When the event was produced, RFC 3339 UTC.
    pub time: String,
    pub host: String,
    pub task: Option<String>,
    pub run_id: Option<i64>,
    /// The run's status (`FAILED`, `TIMEOUT`, `SUCCESS`, …).
    pub status: Option<String>,
    pub exit_code: Option<i64>,
    /// The exit code in hex when it is a Windows NTSTATUS value (`0xC0000005`).
    pub exit_code_hex: Option<String>,
    /// The NTSTATUS name when orc knows it (`STATUS_ACCESS_VIOLATION`).
    pub exit_code_name: Option<String>,
    /// The scheduled slot the run served (`2026-11-22T02:00+01:00`).
    pub slot: Option<String>,
    /// Start of the run, RFC 3339 UTC.
    pub start: Option<String>,
    pub duration_ms: Option<i64>,
    /// Failed runs in a row (failure, reminder, recovery).
    pub consecutive_failures: Option<u32>,
    /// The recorded error or reason, in words.
    pub detail: Option<String>,
    /// The end of the output (stderr, then stdout), secrets already masked when the run was
    /// recorded, at most [`OUTPUT_TAIL_MAX_LINES`] lines and [`OUTPUT_TAIL_MAX_BYTES`] bytes.
    pub output_tail: Option<String>,
    /// A link to the task in the dashboard, when `dashboard.url` is set.
    pub url: Option<String>,
    pub orc_version: String,
}

impl NotifyEvent {
    /// An event of `kind` on this machine at `now`, with nothing else known: the producer
    /// fills in the public fields it has (task, slot, detail, …) and the one-line `summary`.
    pub fn new(kind: EventKind, summary: impl Into<String>, now: DateTime<Utc>) -> NotifyEvent {
        NotifyEvent {
            schema: SCHEMA.to_string(),
            kind,
            event_id: kind.event_id(),
            summary: clean_line(&summary.into()),
            time: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            host: crate::exec::runs::hostname(),
            task: None,
            run_id: None,
            status: None,
            exit_code: None,
            exit_code_hex: None,
            exit_code_name: None,
            slot: None,
            start: None,
            duration_ms: None,
            consecutive_failures: None,
            detail: None,
            output_tail: None,
            url: None,
            orc_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    /// The event about a finished run. `summary` is the mail subject's wording without the
    /// `[orc] ` prefix ([`message::run_subject`] owns it).
    pub fn from_run(
        kind: EventKind,
        summary: &str,
        run: &RunRecord,
        consecutive_failures: Option<u32>,
        now: DateTime<Utc>,
    ) -> NotifyEvent {
        let mut e = NotifyEvent::new(kind, summary.trim_start_matches("[orc] "), now);
        e.host = run.host.clone();
        e.task = Some(run.task.clone());
        e.run_id = Some(run.id);
        e.status = Some(run.status.as_str().to_string());
        e.exit_code = run.process.exit_code;
        if let Some(code) = run.process.exit_code {
            let shown = message::exit_code_display(code);
            if shown.starts_with("0x") {
                let mut parts = shown.splitn(2, ' ');
                e.exit_code_hex = parts.next().map(str::to_string);
                e.exit_code_name = parts.next().map(str::to_string);
            }
        }
        e.slot = run.slot.clone();
        e.start = Some(run.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        e.duration_ms = run.duration_ms;
        e.consecutive_failures = consecutive_failures;
        e.detail = run.error.clone().filter(|s| !s.trim().is_empty());
        e.output_tail = output_tail(run);
        e
    }

    /// Sets the dashboard link of the task (from `dashboard.url`).
    pub fn with_dashboard(mut self, base: Option<&str>) -> NotifyEvent {
        if let (Some(base), Some(task)) = (base, &self.task) {
            // RFC 3986 unreserved characters stay as they are (task names are made of them).
            const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
                .remove(b'-')
                .remove(b'.')
                .remove(b'_')
                .remove(b'~');
            let task = percent_encoding::utf8_percent_encode(task, SEGMENT);
            self.url = Some(format!("{}/task/{task}", base.trim_end_matches('/')));
        }
        self
    }

    /// The facts shown by the chat cards and the event log text, in order.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::new();
        let mut push = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                f.push((k, v));
            }
        };
        push("Task", self.task.clone());
        push("Host", Some(self.host.clone()));
        push("Status", self.status.clone());
        let exit = self.exit_code.map(|c| match (&self.exit_code_hex, &self.exit_code_name) {
            (Some(h), Some(n)) => format!("{h} {n}"),
            (Some(h), None) => h.clone(),
            _ => c.to_string(),
        });
        push("Exit code", exit);
        push("Run", self.run_id.map(|id| id.to_string()));
        push("Slot", self.slot.clone());
        push("Start", self.start.clone());
        push("Duration", self.duration_ms.map(|ms| crate::render::millis(ms.max(0) as u64)));
        push("Failures in a row", self.consecutive_failures.map(|n| n.to_string()));
        push("Detail", self.detail.clone());
        f
    }

    /// Plain text: the summary, the facts and the output tail (event log, syslog).
    pub fn text(&self) -> String {
        let mut s = format!("{}\n", self.summary);
        for (k, v) in self.facts() {
            s.push_str(&format!("{k}: {v}\n"));
        }
        if let Some(url) = &self.url {
            s.push_str(&format!("Dashboard: {url}\n"));
        }
        if let Some(tail) = &self.output_tail {
            s.push_str("Output (end):\n");
            s.push_str(tail);
            if !tail.ends_with('\n') {
                s.push('\n');
            }
        }
        s.push_str(&format!(
            "Event ID {} ({}), orc {}",
            self.event_id,
            self.kind.as_str(),
            self.orc_version
        ));
        s
    }
}

/// A single line without control characters, at most 200 characters.
fn clean_line(s: &str) -> String {
    let one: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out: String = one.trim().chars().take(200).collect();
    if one.trim().chars().count() > 200 {
        out.push('…');
    }
    out
}

/// The end of the run's output: the stderr view then the stdout view (each already bounded
/// and masked), cut to the last [`OUTPUT_TAIL_MAX_LINES`] lines / [`OUTPUT_TAIL_MAX_BYTES`].
fn output_tail(run: &RunRecord) -> Option<String> {
    let mut parts = Vec::new();
    for (name, s) in [("stderr", &run.process.stderr), ("stdout", &run.process.stdout)] {
        if let Some(v) = message::output_view(name, &s.head, &s.tail, s.bytes.max(0) as u64) {
            parts.push(v.text.trim_end().to_string());
        }
    }
    let joined = parts.join("\n");
    if joined.trim().is_empty() {
        return None;
    }
    Some(bound_tail(&joined, OUTPUT_TAIL_MAX_LINES, OUTPUT_TAIL_MAX_BYTES))
}

/// The last `max_lines` lines and at most `max_bytes` bytes of `text`, cut on a character
/// boundary.
pub fn bound_tail(text: &str, max_lines: usize, max_bytes: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = lines[lines.len().saturating_sub(max_lines)..].join("\n");
    if out.len() > max_bytes {
        let mut cut = out.len() - max_bytes;
        while !out.is_char_boundary(cut) {
            cut += 1;
        }
        out = out[cut..].to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::runs::{ProcessResult, Status, StoredStream, Trigger};
    use chrono::TimeZone;

    fn run() -> RunRecord {
        RunRecord {
            id: 42,
            task_id: Some(1),
            task: "backup".into(),
            slot: Some("2026-11-22T02:00+01:00".into()),
            attempt: 1,
            trigger: Trigger::Scheduled,
            status: Status::Failed,
            start: Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 0).unwrap(),
            end: None,
            duration_ms: Some(1500),
            error: None,
            process: ProcessResult {
                exit_code: Some(0xC000_0005),
                stdout: StoredStream { head: b"out1\nout2\n".to_vec(), tail: vec![], bytes: 10 },
                stderr: StoredStream { head: b"boom\n".to_vec(), tail: vec![], bytes: 5 },
                ..ProcessResult::default()
            },
            pid: None,
            pid_started: None,
            child_pid: None,
            host: "SRV01".into(),
            orc_version: "0.1.0".into(),
        }
    }

    #[test]
    fn event_ids_are_stable_and_distinct() {
        let ids: Vec<u32> = EventKind::ALL.iter().map(|k| k.event_id()).collect();
        assert_eq!(ids, vec![1000, 1001, 1002, 1003, 1004, 1005, 1006]);
    }

    #[test]
    fn a_run_event_carries_the_ntstatus_and_the_output_tail() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 1, 0, 5).unwrap();
        let e = NotifyEvent::from_run(
            EventKind::Failure,
            "[orc] FAILED backup on SRV01 (exit 0xC0000005)",
            &run(),
            Some(2),
            now,
        )
        .with_dashboard(Some("https://orc.example.com/"));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "schema": "orc.event/1", "kind": "failure", "event_id": 1001,
                "summary": "FAILED backup on SRV01 (exit 0xC0000005)",
                "time": "2026-11-22T01:00:05Z", "host": "SRV01", "task": "backup",
                "run_id": 42, "status": "FAILED", "exit_code": 3221225477i64,
                "exit_code_hex": "0xC0000005", "exit_code_name": "STATUS_ACCESS_VIOLATION",
                "slot": "2026-11-22T02:00+01:00", "start": "2026-11-22T01:00:00Z",
                "duration_ms": 1500, "consecutive_failures": 2, "detail": null,
                "output_tail": "boom\nout1\nout2",
                "url": "https://orc.example.com/task/backup",
                "orc_version": env!("CARGO_PKG_VERSION"),
            })
        );
        let back: NotifyEvent = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn the_tail_is_bounded_by_lines_and_bytes() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        assert_eq!(bound_tail(&text, 2, 1000), "line 98\nline 99");
        assert_eq!(bound_tail("ééé", 5, 3), "é");
        assert_eq!(bound_tail("abcdef", 5, 4), "cdef");
    }

    #[test]
    fn summaries_are_one_bounded_line() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let e = NotifyEvent::new(EventKind::Missed, "a\r\nb", now);
        assert_eq!(e.summary, "a  b");
        let long = NotifyEvent::new(EventKind::Late, "x".repeat(300), now);
        assert_eq!(long.summary.chars().count(), 201);
    }
}

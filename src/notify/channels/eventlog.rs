//! `eventlog`: the Windows Application log, source `orc`, one entry per event with the event
//! ID of its kind ([`crate::notify::event::EventKind::event_id`]) and the entry type of its
//! severity; on Unix the same events go to syslog.
//!
//! Windows: `RegisterEventSourceW(NULL, "orc")` + `ReportEventW` with the event's text as the
//! single insertion string. "If an application calls RegisterEventSource and passes a source
//! name that cannot be found in the registry, the event-logging service uses the Application
//! log by default. However, because there are no message files, the Event Viewer cannot map
//! any event identifiers … to a description string" (Microsoft Learn, "Event Sources",
//! <https://learn.microsoft.com/en-us/windows/win32/eventlog/event-sources>). So events are
//! always written; [`register_source`] (run by `orc schedule`, needs administrator rights)
//! adds the registry key with .NET's `EventLogMessages.dll` (whose every message is `%1`) as
//! the message file so Event Viewer shows the text cleanly. Without admin it is skipped.
//!
//! Unix: one RFC 3164 datagram (the form glibc's `syslog()` sends: `<PRI>Mmm dd hh:mm:ss
//! orc[PID]: text`) to `/dev/log`, or to `ORC_SYSLOG_SOCKET`. Facility `user`; severity err,
//! warning or info. The text starts with `[event ID kind]` so rules can match the event ID.

use crate::notify::event::{NotifyEvent, Severity};
use crate::notify::smtp::SendError;

/// The event source name.
pub const SOURCE: &str = "orc";
/// Most bytes of the syslog text (the datagram stays well below common 8 KiB limits).
pub const MAX_SYSLOG_TEXT: usize = 4000;

/// Writes one event.
pub fn send(event: &NotifyEvent) -> Result<(), SendError> {
    #[cfg(windows)]
    {
        win::report(event)
    }
    #[cfg(unix)]
    {
        syslog(event)
    }
}

/// The one-line syslog text: `[event 1001 failure] summary; Task: …; Host: …; Output: …`.
pub fn syslog_text(event: &NotifyEvent) -> String {
    let mut s = format!("[event {} {}] {}", event.event_id, event.kind.as_str(), event.summary);
    for (k, v) in event.facts() {
        s.push_str(&format!("; {k}: {v}"));
    }
    if let Some(tail) = &event.output_tail {
        s.push_str("; Output: ");
        s.push_str(&tail.replace(['\r', '\n'], " | "));
    }
    let s: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.len() <= MAX_SYSLOG_TEXT {
        return s;
    }
    let mut cut = MAX_SYSLOG_TEXT;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// The syslog priority: facility user (1) × 8 + severity (3 err, 4 warning, 6 info).
pub fn syslog_priority(severity: Severity) -> u8 {
    8 + match severity {
        Severity::Error => 3,
        Severity::Warning => 4,
        Severity::Information => 6,
    }
}

/// The whole RFC 3164 datagram.
pub fn syslog_datagram(
    event: &NotifyEvent,
    local: chrono::DateTime<chrono::Local>,
    pid: u32,
) -> String {
    format!(
        "<{}>{} {}[{pid}]: {}",
        syslog_priority(event.kind.severity()),
        local.format("%b %e %H:%M:%S"),
        SOURCE,
        syslog_text(event)
    )
}

#[cfg(unix)]
fn syslog(event: &NotifyEvent) -> Result<(), SendError> {
    let path = crate::env_vars::get(crate::env_vars::ORC_SYSLOG_SOCKET)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/dev/log"));
    let msg = syslog_datagram(event, crate::clock::now(), std::process::id());
    let fail = |e: std::io::Error| SendError {
        message: format!("cannot write to syslog at {}: {e}", path.display()),
        permanent: false,
        unreachable: true,
        retry_after: None,
    };
    let sock = std::os::unix::net::UnixDatagram::unbound().map_err(fail)?;
    sock.send_to(msg.as_bytes(), &path).map_err(fail)?;
    Ok(())
}

/// What [`register_source`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registration {
    /// The registry key exists now.
    Registered,
    /// Not allowed (not an administrator): events still go to the Application log.
    NotAllowed(String),
    /// Not Windows.
    NotApplicable,
}

/// `orc schedule`: when an `eventlog` channel exists, registers the event source (Windows) and
/// logs what happened; a refusal (not an administrator) only costs Event Viewer's rendering.
pub fn ensure_source(conn: &crate::store::sql::Connection) {
    if !super::store::any_of_kind(conn, super::Kind::Eventlog) {
        return;
    }
    match register_source() {
        Registration::Registered => tracing::info!("event source {SOURCE} registered"),
        Registration::NotAllowed(why) => tracing::warn!(
            "cannot register the event source {SOURCE} ({why}); events still go to the \
             Application log — run `orc schedule --all` once as an administrator to register it"
        ),
        Registration::NotApplicable => {}
    }
}

/// Registers the `orc` event source (Windows, administrators only; never fails hard).
pub fn register_source() -> Registration {
    #[cfg(windows)]
    {
        win::register()
    }
    #[cfg(not(windows))]
    {
        Registration::NotApplicable
    }
}

#[cfg(windows)]
mod win {
    use std::os::windows::ffi::OsStrExt;

    use windows_sys::Win32::System::EventLog::{
        DeregisterEventSource, EVENTLOG_ERROR_TYPE, EVENTLOG_INFORMATION_TYPE,
        EVENTLOG_WARNING_TYPE, RegisterEventSourceW, ReportEventW,
    };
    use windows_sys::Win32::System::Registry::{
        HKEY, HKEY_LOCAL_MACHINE, KEY_SET_VALUE, REG_DWORD, REG_EXPAND_SZ, REG_OPTION_NON_VOLATILE,
        RegCloseKey, RegCreateKeyExW, RegSetValueExW,
    };

    use super::{Registration, SOURCE};
    use crate::notify::event::{NotifyEvent, Severity};
    use crate::notify::smtp::SendError;

    /// .NET Framework 4's message file: every event ID maps to `%1` (the text we pass).
    const MESSAGE_FILE: &str =
        "%SystemRoot%\\Microsoft.NET\\Framework64\\v4.0.30319\\EventLogMessages.dll";
    const KEY: &str = "SYSTEM\\CurrentControlSet\\Services\\EventLog\\Application\\orc";

    fn wide(s: &str) -> Vec<u16> {
        std::ffi::OsStr::new(s).encode_wide().chain(Some(0)).collect()
    }

    pub(super) fn report(event: &NotifyEvent) -> Result<(), SendError> {
        let source = wide(SOURCE);
        let text = wide(&event.text());
        let kind = match event.kind.severity() {
            Severity::Error => EVENTLOG_ERROR_TYPE,
            Severity::Warning => EVENTLOG_WARNING_TYPE,
            Severity::Information => EVENTLOG_INFORMATION_TYPE,
        };
        let fail = |what: &str| SendError {
            message: format!("{what}: {}", std::io::Error::last_os_error()),
            permanent: false,
            unreachable: true,
            retry_after: None,
        };
        // SAFETY: `source` is a NUL-terminated UTF-16 string that outlives the call.
        let h = unsafe { RegisterEventSourceW(std::ptr::null(), source.as_ptr()) };
        if h.is_null() {
            return Err(fail("cannot open the event log"));
        }
        let strings = [text.as_ptr()];
        // SAFETY: `h` is a live event source handle; `strings` holds one NUL-terminated
        // UTF-16 string; no SID and no raw data are passed.
        let ok = unsafe {
            ReportEventW(
                h,
                kind,
                0,
                event.event_id,
                std::ptr::null_mut(),
                1,
                0,
                strings.as_ptr(),
                std::ptr::null(),
            )
        };
        let result = if ok == 0 { Err(fail("cannot write to the event log")) } else { Ok(()) };
        // SAFETY: `h` came from RegisterEventSourceW and is closed once.
        unsafe { DeregisterEventSource(h) };
        result
    }

    pub(super) fn register() -> Registration {
        let key = wide(KEY);
        let mut h: HKEY = std::ptr::null_mut();
        // SAFETY: `key` is NUL-terminated; `h` receives the opened key.
        let rc = unsafe {
            RegCreateKeyExW(
                HKEY_LOCAL_MACHINE,
                key.as_ptr(),
                0,
                std::ptr::null(),
                REG_OPTION_NON_VOLATILE,
                KEY_SET_VALUE,
                std::ptr::null(),
                &mut h,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Registration::NotAllowed(
                std::io::Error::from_raw_os_error(rc as i32).to_string(),
            );
        }
        let file = wide(MESSAGE_FILE);
        let types: u32 = 7; // error, warning, information
        let name_file = wide("EventMessageFile");
        let name_types = wide("TypesSupported");
        // SAFETY: `h` is an open key; the data pointers and byte lengths describe live buffers.
        let (rc1, rc2) = unsafe {
            let rc1 = RegSetValueExW(
                h,
                name_file.as_ptr(),
                0,
                REG_EXPAND_SZ,
                file.as_ptr().cast(),
                (file.len() * 2) as u32,
            );
            let rc2 = RegSetValueExW(
                h,
                name_types.as_ptr(),
                0,
                REG_DWORD,
                (&types as *const u32).cast(),
                4,
            );
            RegCloseKey(h);
            (rc1, rc2)
        };
        match (rc1, rc2) {
            (0, 0) => Registration::Registered,
            (rc, 0) | (_, rc) => {
                Registration::NotAllowed(std::io::Error::from_raw_os_error(rc as i32).to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::event::EventKind;
    use chrono::TimeZone;

    /// The FFI call itself (Wine implements ReportEventW; the real Application log is read
    /// back by the integration test `channels::windows_real_eventlog_entries_with_stable_ids`).
    #[cfg(windows)]
    #[test]
    fn report_event_writes_without_a_registered_source() {
        let now = chrono::Utc::now();
        let e = NotifyEvent::new(EventKind::Test, "orc unit test event", now);
        win::report(&e).unwrap();
    }

    #[test]
    fn the_datagram_is_rfc3164_with_the_event_id_first() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 3, 5, 8, 4, 9).unwrap();
        let mut e = NotifyEvent::new(EventKind::Reminder, "STILL FAILING t on h", now);
        e.host = "h".into();
        e.task = Some("t".into());
        e.output_tail = Some("a\nb".into());
        let local = chrono::Local.from_local_datetime(&now.naive_utc()).unwrap();
        assert_eq!(
            syslog_datagram(&e, local, 77),
            "<12>Mar  5 08:04:09 orc[77]: [event 1002 reminder] STILL FAILING t on h; Task: t; \
             Host: h; Output: a | b"
        );
        assert_eq!(syslog_priority(Severity::Error), 11);
        assert_eq!(syslog_priority(Severity::Information), 14);
    }
}

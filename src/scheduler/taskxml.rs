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
//!   the expression does not contain; then a `BootTrigger` when the task starts at boot
//!   ([`boot`]);
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

use quick_xml::events::Event;

use crate::error::{Error, Result};

mod boot;
mod build;
mod checks;
pub mod normalize;

pub use build::{
    Built, Input, MAX_EXECUTION_LIMIT_SECS, build, execution_time_limit, multiple_instances_policy,
};
pub use checks::{check_xml_chars, validate_document};

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
                    f.text.push(general_ref(&r)?);
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

/// The character of a reference in text: a character reference (`&#10;`) or one of XML's
/// five predefined entities; any other entity is an error (Task Scheduler and wevtutil
/// documents declare none).
pub(crate) fn general_ref(
    r: &quick_xml::events::BytesRef<'_>,
) -> std::result::Result<char, String> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Ok(c);
    }
    let name = r.xml10_content();
    match name.as_ref() {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "quot" => Ok('"'),
        "apos" => Ok('\''),
        _ => Err(format!("unknown entity &{name};")),
    }
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

#[cfg(test)]
mod principal_tests;

#[cfg(test)]
mod tests {
    use super::*;
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
    fn quoting_keeps_trailing_backslashes_literal() {
        assert_eq!(quote_arg("home", "D:\\").unwrap(), "\"D:\\\\\"");
        assert!(quote_arg("home", "a\"b").is_err());
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

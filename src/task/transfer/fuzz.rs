//! Property-based fuzzing of the import reader (issue 12): export → import is the
//! identity, and any document is read or refused with exit 2, never a panic.

use proptest::prelude::*;

use super::{ExportDocument, decode_text, parse_document};
use crate::task::TaskSpec;

/// Cases per property (issue 12 asks for at least 10,000).
const CASES: u32 = 10_000;

fn spec() -> impl Strategy<Value = TaskSpec> {
    (
        "[A-Za-z0-9][A-Za-z0-9_-]{0,15}",
        "[ -~]{1,40}",
        prop::sample::select(vec!["@daily", "@hourly", "0 2 * * *", "*/5 * * * 1-5"]),
        0u32..5,
        prop::option::of(1u64..86_400),
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,8}", "[ -~]{0,20}", 0..3),
        prop::option::of("[ -~]{0,40}"),
        any::<bool>(),
    )
        .prop_map(|(name, command, schedule, retries, timeout, env, description, enabled)| {
            let mut t = TaskSpec::new(&name, &command, schedule);
            t.retries = retries;
            t.timeout = timeout;
            t.env = env;
            t.description = description.filter(|d| !d.trim().is_empty());
            t.enabled = enabled;
            t
        })
        .prop_filter("valid", |t| crate::task::validate::validate(t).is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    /// export → (UTF-8 or UTF-16 bytes) → import gives back the same tasks.
    #[test]
    fn export_then_import_is_identity(
        tasks in prop::collection::vec(spec(), 0..4),
        utf16 in any::<bool>(),
    ) {
        let mut seen = std::collections::BTreeSet::new();
        let tasks: Vec<TaskSpec> =
            tasks.into_iter().filter(|t| seen.insert(t.name.to_ascii_lowercase())).collect();
        let doc = ExportDocument::new(tasks.iter(), chrono::Utc::now());
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let bytes = if utf16 {
            [vec![0xFF, 0xFE], text.encode_utf16().flat_map(u16::to_le_bytes).collect()].concat()
        } else {
            text.into_bytes()
        };
        let decoded = decode_text(&bytes, "f").unwrap();
        prop_assert_eq!(parse_document(&decoded, "f").unwrap(), tasks);
    }

    /// Mutated documents (a byte changed, cut or duplicated) are read or refused with exit 2.
    #[test]
    fn mutated_documents_are_read_or_refused(
        task in spec(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        kind in 0u8..3,
    ) {
        let doc = ExportDocument::new([&task], chrono::Utc::now());
        let mut bytes = serde_json::to_vec(&doc).unwrap();
        let i = at.index(bytes.len());
        match kind {
            0 => bytes[i] = byte,
            1 => bytes.truncate(i),
            _ => { let tail = bytes[i..].to_vec(); bytes.extend(tail); }
        }
        let result = decode_text(&bytes, "f").and_then(|t| parse_document(&t, "f"));
        if let Err(e) = result {
            prop_assert_eq!(e.exit_code(), 2, "{}", e);
        }
    }

    /// Arbitrary JSON-ish text never panics; a refusal is exit 2.
    #[test]
    fn any_text_is_read_or_refused(text in "[{}\\[\\]\":,0-9a-z_ ]{0,80}") {
        let text = format!("{{\"orc_export\":1,\"tasks\":[{text}]}}");
        if let Err(e) = parse_document(&text, "f") {
            prop_assert_eq!(e.exit_code(), 2);
        }
    }
}

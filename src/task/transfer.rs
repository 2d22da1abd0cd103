//! `orc task export` / `orc task import`: a versioned JSON document holding task
//! definitions, read back losslessly. Secrets travel by name only (`secret_env` maps a
//! variable to a vault entry's name; the vault is not exported).
//!
//! ```json
//! {"orc_export": 1, "exported_at": "2026-03-01T02:00:00+01:00", "orc_version": "0.1.0",
//!  "tasks": [ { "name": "nightly", "command": "…", … } ]}
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};

use super::TaskSpec;
use super::repo::StoredTask;

mod duplicates;

/// The document version this orc writes and reads.
pub const EXPORT_VERSION: u64 = 1;
/// Largest document import reads.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// The export document.
#[derive(Debug, Clone, Serialize)]
pub struct ExportDocument<'a> {
    pub orc_export: u64,
    pub exported_at: String,
    pub orc_version: &'static str,
    pub tasks: Vec<&'a TaskSpec>,
}

impl<'a> ExportDocument<'a> {
    /// A document holding these tasks (in the order given), stamped with `now`.
    pub fn new(
        tasks: impl IntoIterator<Item = &'a TaskSpec>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        ExportDocument {
            orc_export: EXPORT_VERSION,
            exported_at: crate::clock::to_local_iso(now),
            orc_version: env!("CARGO_PKG_VERSION"),
            tasks: tasks.into_iter().collect(),
        }
    }
}

/// What import will do with one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportAction {
    /// No task of this name exists.
    Create,
    /// A task of this name exists and differs (only with `--replace`).
    Replace,
    /// A task of this name exists and is identical.
    Unchanged,
}

impl ImportAction {
    /// The action as shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportAction::Create => "create",
            ImportAction::Replace => "replace",
            ImportAction::Unchanged => "unchanged",
        }
    }
}

/// One line of the import plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEntry {
    pub name: String,
    pub action: ImportAction,
}

/// Decodes the bytes of a document: UTF-8 (with or without a BOM), or UTF-16 with a BOM (what
/// `orc task export > file` produces in Windows PowerShell 5.1).
pub fn decode_text(bytes: &[u8], source: &str) -> Result<String> {
    let bad = |rule: &str| Error::invalid("import file", source, rule);
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|_| bad("not valid UTF-8 text"));
    }
    let utf16 = |rest: &[u8], le: bool| -> Result<String> {
        if !rest.len().is_multiple_of(2) {
            return Err(bad("not valid UTF-16 text (odd length)"));
        }
        let units = rest.chunks_exact(2).map(|c| {
            if le { u16::from_le_bytes([c[0], c[1]]) } else { u16::from_be_bytes([c[0], c[1]]) }
        });
        char::decode_utf16(units)
            .collect::<std::result::Result<String, _>>()
            .map_err(|_| bad("not valid UTF-16 text"))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, false);
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| bad("not valid UTF-8 text (nor UTF-16 with a byte-order mark)"))
}

/// Parses a document and validates every task in it (each on its own, and the names unique).
/// References between tasks are checked by the caller against the merged set.
pub fn parse_document(text: &str, source: &str) -> Result<Vec<TaskSpec>> {
    let bad = |rule: String| Error::invalid("import file", source, rule);
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not a JSON document ({e})")))?;
    if let Some(d) = duplicates::first_duplicate(text) {
        return Err(bad(format!(
            "key {:?} appears twice in the object at {} (each key may appear once)",
            d.key, d.path
        )));
    }
    let Some(obj) = doc.as_object() else {
        return Err(bad(
            "not an orc export document (expected a JSON object with \"orc_export\")".into()
        ));
    };
    let version = match obj.get("orc_export") {
        None => {
            return Err(bad("not an orc export document (no \"orc_export\" version field)".into()));
        }
        Some(v) => v
            .as_u64()
            .ok_or_else(|| bad(format!("\"orc_export\" must be a version number, found {v}")))?,
    };
    if version != EXPORT_VERSION {
        return Err(bad(format!(
            "export document version {version} is not supported (this orc reads version \
             {EXPORT_VERSION}); export it again with this orc's version or upgrade orc"
        )));
    }
    for key in obj.keys() {
        if !matches!(key.as_str(), "orc_export" | "exported_at" | "orc_version" | "tasks") {
            return Err(bad(format!("unknown field {key:?} in the document")));
        }
    }
    let Some(tasks) = obj.get("tasks").and_then(|t| t.as_array()) else {
        return Err(bad("the document has no \"tasks\" array".into()));
    };
    let mut out: Vec<TaskSpec> = Vec::with_capacity(tasks.len());
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, value) in tasks.iter().enumerate() {
        let label = value
            .get("name")
            .and_then(|n| n.as_str())
            .map(|n| format!("task #{} ({n:?})", i + 1))
            .unwrap_or_else(|| format!("task #{}", i + 1));
        let spec: TaskSpec =
            serde_json::from_value(value.clone()).map_err(|e| bad(format!("{label}: {e}")))?;
        super::validate::validate(&spec).map_err(|e| in_task(e, &label))?;
        if let Some(first) = seen.insert(spec.name.to_ascii_lowercase(), i + 1) {
            return Err(bad(format!(
                "{label}: the name is also used by task #{first} (names are case-insensitive)"
            )));
        }
        out.push(spec);
    }
    Ok(out)
}

/// Prefixes an invalid-input error with the task it is about.
pub fn in_task(e: Error, label: &str) -> Error {
    match e {
        Error::Invalid { field, value, rule } => {
            Error::Invalid { field: format!("{field} of {label}"), value, rule }
        }
        other => other,
    }
}

/// The plan for importing `incoming` next to `existing`. Without `replace`, any name that
/// already exists is an error naming it (and every other clash).
pub fn plan(
    existing: &[StoredTask],
    incoming: &[TaskSpec],
    replace: bool,
) -> Result<Vec<PlanEntry>> {
    let by_name: BTreeMap<String, &StoredTask> =
        existing.iter().map(|t| (t.spec.name.to_ascii_lowercase(), t)).collect();
    let mut clashes = Vec::new();
    let mut out = Vec::new();
    for spec in incoming {
        let action = match by_name.get(&spec.name.to_ascii_lowercase()) {
            None => ImportAction::Create,
            Some(old) => {
                if !replace {
                    clashes.push(old.spec.name.clone());
                }
                if old.spec == *spec { ImportAction::Unchanged } else { ImportAction::Replace }
            }
        };
        out.push(PlanEntry { name: spec.name.clone(), action });
    }
    if !clashes.is_empty() {
        return Err(Error::invalid(
            "task name",
            clashes.join(", "),
            "a task with this name already exists; use --replace to overwrite existing tasks (see the plan with --dry-run)",
        ));
    }
    Ok(out)
}

/// The complete set of tasks after the import: existing ones not in the document, plus every
/// imported one (for the dependency checks).
pub fn merged<'a>(existing: &'a [StoredTask], incoming: &'a [TaskSpec]) -> Vec<&'a TaskSpec> {
    let names: std::collections::BTreeSet<String> =
        incoming.iter().map(|t| t.name.to_ascii_lowercase()).collect();
    existing
        .iter()
        .map(|t| &t.spec)
        .filter(|s| !names.contains(&s.name.to_ascii_lowercase()))
        .chain(incoming)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(tasks: &str) -> String {
        format!(r#"{{"orc_export": 1, "exported_at": "x", "tasks": [{tasks}]}}"#)
    }

    #[test]
    fn round_trip_is_lossless() {
        let mut a = TaskSpec::new("a", "echo a", "@daily");
        a.env.insert("X".into(), "1".into());
        a.secret_env.insert("TOKEN".into(), "api-token".into());
        a.timeout = None;
        let b = TaskSpec::new("b", "echo b", "0 2 * * *");
        let d = ExportDocument::new([&a, &b], chrono::Utc::now());
        let text = serde_json::to_string_pretty(&d).unwrap();
        let back = parse_document(&text, "f").unwrap();
        assert_eq!(back, vec![a, b]);
        assert!(text.contains("\"timeout\": null"));
    }

    #[test]
    fn defaults_fill_missing_fields() {
        let t =
            parse_document(&doc(r#"{"name":"a","command":"x","schedule":"@daily"}"#), "f").unwrap();
        assert_eq!(t[0], TaskSpec::new("a", "x", "@daily"));
    }

    #[test]
    fn encodings() {
        let text = doc("");
        let mut utf16le = vec![0xFF, 0xFE];
        utf16le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut utf16be = vec![0xFE, 0xFF];
        utf16be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        let mut bom8 = vec![0xEF, 0xBB, 0xBF];
        bom8.extend(text.as_bytes());
        for bytes in [text.as_bytes().to_vec(), utf16le, utf16be, bom8] {
            assert_eq!(decode_text(&bytes, "f").unwrap(), text);
        }
        assert!(decode_text(&[0xFF, 0xFE, 0x41], "f").is_err());
        assert!(decode_text(&[0x82, 0xFF], "f").is_err());
    }

    #[test]
    fn refuses_bad_documents() {
        for (text, needle) in [
            ("not json", "not a JSON document"),
            ("[]", "not an orc export document"),
            (r#"{"tasks": []}"#, "no \"orc_export\""),
            (r#"{"orc_export": 2, "tasks": []}"#, "version 2 is not supported"),
            (r#"{"orc_export": "1", "tasks": []}"#, "version number"),
            (r#"{"orc_export": 1}"#, "no \"tasks\" array"),
            (r#"{"orc_export": 1, "tasks": [], "extra": 1}"#, "unknown field \"extra\""),
            (&doc(r#"{"name":"a","command":"x"}"#), "missing field `schedule`"),
            (
                &doc(r#"{"name":"a","command":"x","schedule":"@daily","colour":"red"}"#),
                "unknown field `colour`",
            ),
            (
                &doc(r#"{"name":"a","command":"x","schedule":"@daily","shell":"bash"}"#),
                "unknown variant `bash`",
            ),
            (&doc(r#"{"name":"a b","command":"x","schedule":"@daily"}"#), "task name of task #1"),
            (
                &doc(r#"{"name":"a","command":"x","schedule":"@daily","retries":99}"#),
                "--retries of task #1 (\"a\")",
            ),
            (
                &doc(
                    r#"{"name":"a","command":"x","schedule":"@daily"},{"name":"A","command":"y","schedule":"@daily"}"#,
                ),
                "also used by task #1",
            ),
            (
                &doc(
                    r#"{"name":"a","command":"x","schedule":"@daily","secret_env":{"K":"not a name"}}"#,
                ),
                "credential name",
            ),
        ] {
            let e = parse_document(text, "in.json").unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    fn stored(spec: TaskSpec) -> StoredTask {
        StoredTask { id: 1, spec, created_at: chrono::Utc::now(), updated_at: chrono::Utc::now() }
    }

    #[test]
    fn plans() {
        let a = TaskSpec::new("a", "x", "@daily");
        let mut b = TaskSpec::new("B", "y", "@daily");
        let existing = vec![stored(a.clone()), stored(b.clone())];
        b.retries = 2;
        let c = TaskSpec::new("c", "z", "@daily");
        let incoming = vec![a.clone(), TaskSpec { name: "b".into(), ..b.clone() }, c.clone()];
        let e = plan(&existing, &incoming, false).unwrap_err().to_string();
        assert!(e.contains("a, B") && e.contains("--replace"), "{e}");
        let p = plan(&existing, &incoming, true).unwrap();
        let actions: Vec<_> = p.iter().map(|e| (e.name.as_str(), e.action)).collect();
        assert_eq!(
            actions,
            [
                ("a", ImportAction::Unchanged),
                ("b", ImportAction::Replace),
                ("c", ImportAction::Create)
            ]
        );
        let m = merged(&existing, &incoming[2..]);
        assert_eq!(m.len(), 3);
    }
}

#[cfg(test)]
mod fuzz;

//! The one redactor: what varies between runs (the temp root, the host, computed ids, times,
//! durations, pids, versions, column padding) replaced by placeholders so output can be
//! compared exactly or snapshotted. Literal values go through [`Redactor`] (or [`redact`]);
//! patterns are insta filters, applied with [`snapshot_settings`].

use super::Env;

/// Replaces literal values by placeholders, in the order they were added. It always starts
/// with the env's temporary root (as written and as JSON-escaped) → `[ROOT]`.
pub struct Redactor {
    pairs: Vec<(String, &'static str)>,
}

impl Redactor {
    pub fn new(env: &Env) -> Redactor {
        let root = env.root().to_string_lossy().into_owned();
        let escaped = root.replace('\\', "\\\\");
        Redactor { pairs: vec![(root, "[ROOT]"), (escaped, "[ROOT]")] }
    }

    /// This machine's host name (as orc records it in runs) → `[HOST]`.
    pub fn host(self) -> Redactor {
        self.value(orc::exec::runs::hostname(), "[HOST]")
    }

    /// Any other value that differs between runs (a directory, a computed id).
    pub fn value(mut self, value: impl Into<String>, placeholder: &'static str) -> Redactor {
        self.pairs.push((value.into(), placeholder));
        self
    }

    pub fn apply(&self, text: &str) -> String {
        self.pairs.iter().fold(text.to_string(), |t, (value, placeholder)| {
            if value.is_empty() { t } else { t.replace(value.as_str(), placeholder) }
        })
    }
}

/// The env's temporary root → `[ROOT]` (the common case of [`Redactor`]).
pub fn redact(env: &Env, text: &str) -> String {
    Redactor::new(env).apply(text)
}

/// A set of insta filters: `(regex, replacement)`.
pub type Filters = &'static [(&'static str, &'static str)];

/// Timestamps → `[TIME]`, durations (`12ms`, `1.5s`) → `[DURATION]`.
pub const TIMES: Filters = &[
    (r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?", "[TIME]"),
    (r"\b\d+(\.\d+)?(ms|s)\b", "[DURATION]"),
];

/// Process ids in run details → `[PID]`, orc's version → `[VERSION]`.
pub const PIDS_AND_VERSIONS: Filters =
    &[(r"(orc pid|task pid) \d+", "$1 [PID]"), (r"\(orc [0-9.]+", "(orc [VERSION]")];

/// Sizes (`512 B`, `30.7 GiB`: free disk space, database and WAL sizes) → `[SIZE]`.
pub const SIZES: Filters = &[(r"\b\d+(\.\d)? (B|KiB|MiB|GiB|TiB|PiB)\b", "[SIZE]")];

/// Table padding collapsed (column widths depend on the redacted values). Apply last.
pub const TABLE_PADDING: Filters = &[(r" {2,}", "  "), (r"-{2,}", "--")];

/// What differs per machine in generated Task Scheduler XML (after [`redact`]): the content
/// hash, orc's own path, path separators after the root, and the registering user (S4U; the
/// well-known SIDs stay).
pub const TASK_XML: Filters = &[
    (r"orc-hash: [0-9a-f]{16}", "orc-hash: [HASH]"),
    (r"<Command>[^<]*</Command>", "<Command>[ORC_EXE]</Command>"),
    (r"\[ROOT\]\\", "[ROOT]/"),
    (r"<UserId>(?:[^S<]|S[^-<])[^<]*</UserId>", "<UserId>[REGISTERING_USER]</UserId>"),
];

/// insta settings with these filter sets, in order. Bind the snapshot assertion to them at the
/// call site (so the snapshot keeps its module's name):
/// `snapshot_settings(&[TIMES]).bind(|| insta::assert_snapshot!("name", text));`
pub fn snapshot_settings(sets: &[Filters]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    for (regex, replacement) in sets.iter().flat_map(|set| set.iter()) {
        settings.add_filter(regex, *replacement);
    }
    settings
}

//! The committed reference pages match the code; `UPDATE_DOCS=1` rewrites them instead.

use std::path::Path;

use super::task_json;
use crate::cli::task::{LastRun, TaskView};
use crate::task::transfer::ExportDocument;

/// Test-only switch (not an `ORC_*` variable: orc never reads it).
const UPDATE: &str = "UPDATE_DOCS";

#[test]
fn reference_pages_match_the_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os(UPDATE).is_some_and(|v| !v.is_empty());
    let mut stale = Vec::new();
    for (rel, text) in super::pages() {
        let path = root.join(rel);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        // A Windows checkout may have turned \n into \r\n.
        let committed = std::fs::read_to_string(&path).unwrap_or_default().replace("\r\n", "\n");
        if committed != text {
            stale.push(format!("{rel}:\n{}", first_difference(&committed, &text)));
        }
    }
    assert!(
        stale.is_empty(),
        "generated reference pages differ from the committed files; run \
         `{UPDATE}=1 cargo test --lib docgen` and commit the result.\n\n{}",
        stale.join("\n\n")
    );
}

/// The first differing line, with its number, as committed and as generated.
fn first_difference(committed: &str, generated: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (committed.lines().collect(), generated.lines().collect());
    let n = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)).unwrap_or(0);
    format!(
        "  line {}\n  committed: {}\n  generated: {}",
        n + 1,
        a.get(n).unwrap_or(&"(end of file)"),
        b.get(n).unwrap_or(&"(end of file)")
    )
}

/// The names of a table, sorted like a serialized object's keys.
fn names<'a>(table: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = table.map(str::to_string).collect();
    v.sort();
    v
}

#[test]
fn task_json_tables_name_exactly_the_serialized_fields() {
    let described = names(task_json::FIELDS.iter().map(|(f, _, _)| *f));
    assert_eq!(described, task_keys());
    assert_eq!(names(task_json::VIEW_FIELDS.iter().map(|(f, _)| *f)), view_keys());
    assert_eq!(names(task_json::EXPORT_FIELDS.iter().map(|(f, _)| *f)), export_keys());
}

#[test]
fn every_exit_code_constant_is_in_the_table_once() {
    use crate::error::exit::*;
    let table: Vec<i32> = TABLE.iter().map(|(c, _)| *c).collect();
    let consts =
        [SUCCESS, FAILURE, USAGE, NOT_FOUND, SCHEDULER, STORAGE, SECRETS, DEPS_UNMET, TIMEOUT];
    assert_eq!(table, consts);
}

#[test]
fn cli_page_lists_every_visible_command_and_long_flag() {
    use clap::CommandFactory;
    fn visit(cmd: &clap::Command, path: &str, page: &str) {
        for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help") {
            let name = format!("{path} {}", sub.get_name());
            assert!(page.contains(&format!("### `{name}`")), "no section for {name}");
            for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
                if let Some(long) = arg.get_long() {
                    assert!(page.contains(&format!("--{long}")), "{name}: --{long} missing");
                }
            }
            visit(sub, &name, page);
        }
    }
    let page = super::cli::render();
    visit(&crate::cli::Cli::command(), "orc", &page);
    assert!(page.contains("### `orc task add`"));
    assert!(page.contains("| `--retries <N>` |"), "{page}");
}

/// The keys of a task as serialized (sorted).
fn task_keys() -> Vec<String> {
    task_json::object(task_json::sample()).keys().cloned().collect()
}

/// The keys `show`/`list` add to a task (sorted).
fn view_keys() -> Vec<String> {
    let spec = task_json::sample();
    let last = LastRun { status: String::new(), start: String::new() };
    let view = TaskView {
        spec: &spec,
        created_at: String::new(),
        updated_at: String::new(),
        last_run: Some(last),
        next_run: None,
    };
    let own = task_keys();
    task_json::object(view).keys().filter(|k| !own.contains(k)).cloned().collect()
}

/// The keys of the export document (sorted).
fn export_keys() -> Vec<String> {
    task_json::object(ExportDocument::new([], chrono::DateTime::UNIX_EPOCH))
        .keys()
        .cloned()
        .collect()
}

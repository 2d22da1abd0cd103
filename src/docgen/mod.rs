//! The reference pages under `docs/reference/`, rendered from the code that owns each table:
//! the clap command tree ([`crate::cli::Cli`]), the exit codes ([`crate::error::exit::TABLE`]),
//! the environment variables ([`crate::env_vars::ALL`]), the settings ([`crate::config::KEYS`])
//! and the task JSON (the serialized [`crate::task::TaskSpec`], described by [`task_json`]).
//!
//! A unit test compares every page with the committed file and fails on any difference.
//! To regenerate after changing one of those tables: `UPDATE_DOCS=1 cargo test --lib docgen`
//! (a test-only switch; orc itself never reads it).

mod cli;
mod task_json;
#[cfg(test)]
mod tests;

/// Every generated page: its path relative to the repository root, and its text.
pub fn pages() -> Vec<(&'static str, String)> {
    vec![
        ("docs/reference/cli.md", cli::render()),
        ("docs/reference/exit-codes.md", exit_codes()),
        ("docs/reference/environment.md", environment()),
        ("docs/reference/config.md", config()),
        ("docs/reference/task-json.md", task_json::render()),
    ]
}

/// The first lines of every page: title and the "generated" notice.
fn header(title: &str, source: &str) -> String {
    format!(
        "# {title}\n\n<!-- Generated from {source} by src/docgen. Do not edit: change the code, \
         then run `UPDATE_DOCS=1 cargo test --lib docgen`. -->\n\n"
    )
}

/// Text for a Markdown table cell: no line breaks, `|` escaped, `<` kept literal.
fn cell(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.replace('|', "\\|").replace('<', "&lt;")
}

/// Inline code for a table cell (`|` escaped as GitHub's tables require).
fn code(text: &str) -> String {
    format!("`{}`", text.replace('|', "\\|"))
}

fn exit_codes() -> String {
    use crate::error::exit;
    let mut s = header("Exit codes", "`exit::TABLE` in src/error.rs");
    s.push_str(
        "Every orc command exits with one of these codes. Errors are one line `error: …` on \
         stderr, or with `--json` one JSON object `{\"error\":{\"kind\":…,\"message\":…}}`.\n\n",
    );
    s.push_str("| code | meaning |\n|---|---|\n");
    for (code, meaning) in exit::TABLE {
        s.push_str(&format!("| `{code}` | {} |\n", cell(meaning)));
    }
    s.push_str(&format!("| other | {} |\n", cell(exit::OTHER)));
    s
}

fn environment() -> String {
    let mut s = header("Environment variables", "`env_vars::ALL` in src/env_vars.rs");
    s.push_str(
        "Every `ORC_*` variable orc reads. An empty value counts as unset. orc removes all of \
         them from the environment of the tasks it runs.\n\n",
    );
    s.push_str("| variable | meaning |\n|---|---|\n");
    for (name, meaning) in crate::env_vars::ALL {
        s.push_str(&format!("| `{name}` | {} |\n", cell(meaning)));
    }
    s
}

fn config() -> String {
    let mut s = header("Configuration keys", "`config::KEYS` in src/config/keys.rs");
    s.push_str(
        "Settings are read with `orc config get KEY` and changed with `orc config set KEY VALUE`, \
         `orc config unset KEY` or `orc configure`. Unknown keys and values that break the rule \
         exit 2 and change nothing. A key that is not set has its default (empty: none).\n\n",
    );
    s.push_str("| key | default | value | meaning |\n|---|---|---|---|\n");
    for def in crate::config::KEYS {
        let default = if def.default.is_empty() { "(none)".to_string() } else { code(def.default) };
        s.push_str(&format!(
            "| `{}` | {default} | {} | {} |\n",
            def.key,
            cell(def.rule),
            cell(def.help)
        ));
    }
    s
}

//! `docs/reference/cli.md`: every command and flag, walked from clap's command tree.

use clap::{Arg, ArgAction, Command, CommandFactory};

use super::{cell, code, header};

pub(super) fn render() -> String {
    let mut root = crate::cli::Cli::command();
    root.build();
    let mut s = header("Command-line reference", "clap's command tree (src/cli)");
    s.push_str(
        "`orc --help`, `orc help COMMAND` and `--help` on any command print the same text \
         in the terminal.\n\n",
    );
    s.push_str(&usage(&mut root));
    s.push_str("## Global options\n\nThey can be given before or after the command.\n\n");
    s.push_str(&options(root.get_arguments().filter(|a| !is_builtin(a))));
    s.push_str("## Commands\n\n");
    let mut index = String::new();
    let mut sections = String::new();
    walk(&root, "orc", &mut index, &mut sections);
    s.push_str(&index);
    s.push('\n');
    s.push_str(&sections);
    s
}

/// Appends one section per visible subcommand of `cmd` (depth first), and its index line.
fn walk(cmd: &Command, path: &str, index: &mut String, out: &mut String) {
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help") {
        let name = format!("{path} {}", sub.get_name());
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        index.push_str(&format!("- [`{name}`](#{}): {}\n", anchor(&name), cell(&about)));
        out.push_str(&format!("### `{name}`\n\n"));
        let long = sub.get_long_about().or(sub.get_about()).map(|a| a.to_string());
        if let Some(text) = long {
            out.push_str(text.trim());
            out.push_str("\n\n");
        }
        out.push_str(&usage(&mut sub.clone()));
        let own: Vec<&Arg> =
            sub.get_arguments().filter(|a| !is_builtin(a) && !a.is_global_set()).collect();
        if !own.is_empty() {
            out.push_str(&options(own.into_iter()));
        }
        walk(sub, &name, index, out);
    }
}

/// GitHub's heading anchor for `### \`orc task add\``.
fn anchor(name: &str) -> String {
    name.replace(' ', "-")
}

fn usage(cmd: &mut Command) -> String {
    let text = cmd.render_usage().to_string();
    let text = text.trim().strip_prefix("Usage: ").unwrap_or(text.trim()).to_string();
    format!("```text\n{text}\n```\n\n")
}

/// `--help`/`--version`: clap's own, described once at the top.
fn is_builtin(arg: &Arg) -> bool {
    arg.is_hide_set() || matches!(arg.get_id().as_str(), "help" | "version")
}

fn options<'a>(args: impl Iterator<Item = &'a Arg>) -> String {
    let mut s = String::from("| argument | meaning |\n|---|---|\n");
    for arg in args {
        s.push_str(&format!("| {} | {} |\n", code(&spelling(arg)), cell(&meaning(arg))));
    }
    s.push('\n');
    s
}

/// How the argument is typed: `NAME`, `-s, --long <VALUE>`.
fn spelling(arg: &Arg) -> String {
    let values: Vec<String> = arg
        .get_value_names()
        .map(|v| v.iter().map(|n| n.to_string()).collect())
        .unwrap_or_else(|| vec![arg.get_id().as_str().to_ascii_uppercase()]);
    let takes_value = matches!(arg.get_action(), ArgAction::Set | ArgAction::Append);
    if arg.is_positional() {
        let dots = if matches!(arg.get_action(), ArgAction::Append) { "..." } else { "" };
        return format!("{}{dots}", values.join(" "));
    }
    let mut names = Vec::new();
    if let Some(c) = arg.get_short() {
        names.push(format!("-{c}"));
    }
    if let Some(l) = arg.get_long() {
        names.push(format!("--{l}"));
    }
    let mut s = names.join(", ");
    if takes_value {
        let v: Vec<String> = values.iter().map(|v| format!("<{v}>")).collect();
        s.push(' ');
        s.push_str(&v.join(" "));
    }
    s
}

/// The help text, then the accepted values, default, variable and repeatability.
fn meaning(arg: &Arg) -> String {
    let mut s = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
    let mut extra = Vec::new();
    if arg.is_required_set() {
        extra.push("Required.".to_string());
    }
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| format!("`{}`", p.get_name()))
        .collect();
    if !possible.is_empty() && !matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
    {
        extra.push(format!("Values: {}.", possible.join(", ")));
    }
    let defaults: Vec<String> =
        arg.get_default_values().iter().map(|d| format!("`{}`", d.to_string_lossy())).collect();
    if !defaults.is_empty() && matches!(arg.get_action(), ArgAction::Set | ArgAction::Append) {
        extra.push(format!("Default: {}.", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        extra.push(format!("Environment: `{}`.", env.to_string_lossy()));
    }
    let says_repeat = s.to_ascii_lowercase().contains("repeat");
    if matches!(arg.get_action(), ArgAction::Append) && !arg.is_positional() && !says_repeat {
        extra.push("Repeatable.".to_string());
    }
    for e in extra {
        if s.ends_with(|c: char| c.is_alphanumeric() || matches!(c, ')' | ']' | '`')) {
            s.push('.');
        }
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&e);
    }
    s
}

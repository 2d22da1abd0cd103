//! What orc writes to a terminal and only there: colour (never when the stream is not a
//! terminal, never when `NO_COLOR` is set to anything non-empty, <https://no-color.org>),
//! clap's usage errors turned into orc's one-line `error: …`, and the terminal prompts (the
//! library never prompts: the vault asks the [`TerminalPrompt`] installed here).

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use zeroize::Zeroizing;

use super::Cli;

/// Whether colour may be written to each stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Colour {
    pub(crate) stdout: bool,
    pub(crate) stderr: bool,
}

impl Colour {
    /// From the process's streams and `NO_COLOR`; also switches the colour of the prompt and
    /// progress-bar library (`console`) to match.
    pub(crate) fn from_env() -> Colour {
        let c = Colour::decide(
            std::env::var_os("NO_COLOR").as_deref(),
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        dialoguer::console::set_colors_enabled(c.stdout);
        dialoguer::console::set_colors_enabled_stderr(c.stderr);
        c
    }

    /// The rule, pure.
    pub(crate) fn decide(no_color: Option<&OsStr>, stdout_tty: bool, stderr_tty: bool) -> Colour {
        let off = no_color.is_some_and(|v| !v.is_empty());
        Colour { stdout: stdout_tty && !off, stderr: stderr_tty && !off }
    }
}

/// Parses the command line; clap colours its help (on stdout) only when `colour` allows.
pub(crate) fn parse(args: &[OsString], colour: Colour) -> Result<Cli, clap::Error> {
    let choice = if colour.stdout { clap::ColorChoice::Always } else { clap::ColorChoice::Never };
    let mut matches = Cli::command().color(choice).try_get_matches_from(args)?;
    Cli::from_arg_matches_mut(&mut matches)
}

/// One line saying what is wrong with the command line, naming missing arguments.
pub(crate) fn usage_message(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::MissingRequiredArgument
        && let Some(ContextValue::Strings(missing)) = e.get(ContextKind::InvalidArg)
        && !missing.is_empty()
    {
        let names: Vec<String> = missing.iter().map(|m| group_as_words(m)).collect();
        let noun = if names.len() == 1 { "argument" } else { "arguments" };
        return format!("missing required {noun} {}", names.join(", "));
    }
    let rendered = e.to_string();
    let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
    first.trim_start_matches("error: ").trim().to_string()
}

/// clap names a required group `<--task <NAME>|--all>`: say "one of --task <NAME>, --all".
fn group_as_words(name: &str) -> String {
    match name.strip_prefix('<').and_then(|n| n.strip_suffix('>')) {
        Some(inner) if inner.contains('|') => {
            format!("(one of {})", inner.split('|').collect::<Vec<_>>().join(", "))
        }
        _ => name.to_string(),
    }
}

/// A terminal to prompt on: stdin must be a terminal, and stderr (else stdout) too.
pub(crate) fn prompt_term() -> Option<dialoguer::console::Term> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    let err = dialoguer::console::Term::stderr();
    if err.is_term() {
        return Some(err);
    }
    let out = dialoguer::console::Term::stdout();
    out.is_term().then_some(out)
}

/// Asks a yes/no question (default no) of an interactive, non-`--json` run; any other run
/// answers no, and the caller refuses with its own "confirm or add --yes" message.
pub(crate) fn confirm(ctx: &super::Context<'_>, question: &str) -> crate::error::Result<bool> {
    if !ctx.interactive || ctx.json {
        return Ok(false);
    }
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(|e| crate::error::Error::Failed(format!("cannot ask for confirmation: {e}")))
}

/// Asks for the vault passphrase on the terminal, hidden (the vault calls it only when the
/// run is interactive; with no terminal it answers `None`).
pub(crate) struct TerminalPrompt;

impl crate::vault::PassphrasePrompt for TerminalPrompt {
    fn passphrase(&self, prompt: &str) -> Result<Option<Zeroizing<String>>, String> {
        let Some(term) = prompt_term() else { return Ok(None) };
        dialoguer::Password::new()
            .with_prompt(prompt)
            .interact_on(&term)
            .map(|p| Some(Zeroizing::new(p)))
            .map_err(|e| format!("could not read the passphrase: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(args: &[&str]) -> String {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let e = parse(&args, Colour { stdout: false, stderr: false }).unwrap_err();
        usage_message(&e)
    }

    #[test]
    fn missing_arguments_are_named_on_one_line() {
        assert_eq!(message(&["orc", "execute"]), "missing required argument --task <NAME>");
        let m = message(&["orc", "task", "add", "x"]);
        assert!(m.starts_with("missing required arguments --command <"), "{m}");
        assert!(m.contains("--schedule <"), "{m}");
        let m = message(&["orc", "schedule"]);
        assert!(m.starts_with("missing required argument (one of --task <NAME>, --all"), "{m}");
        assert_eq!(message(&["orc", "--bogus"]), "unexpected argument '--bogus' found");
        for args in [&["orc", "execute"][..], &["orc", "task", "add", "x"], &["orc", "schedule"]] {
            assert!(!message(args).contains('\n'), "{args:?}");
        }
    }

    #[test]
    fn colour_only_on_a_terminal_and_never_with_no_color() {
        let on = Colour { stdout: true, stderr: true };
        assert_eq!(Colour::decide(None, true, true), on);
        assert_eq!(Colour::decide(Some(OsStr::new("")), true, true), on);
        assert_eq!(
            Colour::decide(Some(OsStr::new("1")), true, true),
            Colour { stdout: false, stderr: false }
        );
        assert_eq!(Colour::decide(None, false, true), Colour { stdout: false, stderr: true });
        assert_eq!(Colour::decide(None, true, false), Colour { stdout: true, stderr: false });
    }
}

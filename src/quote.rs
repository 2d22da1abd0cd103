//! Shell and command-line quoting: one function per quoting rule, every caller goes through
//! here. Pure string work, no I/O.
//!
//! - POSIX `sh`: [`sh`] always single-quotes; [`sh_arg`] leaves a plainly safe word bare.
//!   Cron's own `%` rule is a layer on top ([`crate::scheduler::cronblock::sh_quote`]).
//! - Windows argv (the MSVC / `CommandLineToArgvW` rules): [`argv`] always wraps in `"`;
//!   [`cmd_arg`] leaves a word bare unless it holds a space or a `cmd.exe` special character.
//! - PowerShell: [`powershell`], a single-quoted (verbatim) string.
//!
//! The reverse direction (splitting a command line into arguments) is `exec::process`'s.

/// One argument for `/bin/sh`, always in single quotes; a `'` inside becomes `'\''` (close the
/// quotes, an escaped quote, reopen). Everything else is literal inside single quotes.
pub fn sh(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

/// One argument for `/bin/sh -c`: bare when it is made only of characters the shell takes
/// literally (`A-Z a-z 0-9 _ . / : = @ % + , -`), otherwise [`sh`].
pub fn sh_arg(arg: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c);
    if !arg.is_empty() && arg.chars().all(safe) { arg.to_string() } else { sh(arg) }
}

/// One argument for a Windows program's argv parsing (`CommandLineToArgvW`, the MSVC C
/// runtime), always wrapped in `"`: backslashes before a `"` (and before the closing quote)
/// are doubled, a `"` becomes `\"`, other backslashes stay as they are.
pub fn argv(arg: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            _ => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

/// One argument on a `cmd.exe /c` line: bare unless it is empty or holds white space, a `"`
/// or one of cmd's special characters `& | < > ^ ( ) , ; = !`; then [`argv`].
pub fn cmd_arg(arg: &str) -> String {
    let special = |c: char| c.is_whitespace() || "\"&|<>^(),;=!".contains(c);
    if !arg.is_empty() && !arg.chars().any(special) { arg.to_string() } else { argv(arg) }
}

/// A PowerShell verbatim string: single quotes, a `'` inside doubled.
pub fn powershell(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sh_quotes_always_and_escapes_single_quotes() {
        assert_eq!(sh("/opt/o'rc/bin"), "'/opt/o'\\''rc/bin'");
        assert_eq!(sh(""), "''");
        assert_eq!(sh("a b"), "'a b'");
    }

    #[test]
    fn sh_arg_leaves_safe_words_bare() {
        assert_eq!(sh_arg("plain-1.txt"), "plain-1.txt");
        assert_eq!(sh_arg("it's"), r"'it'\''s'");
        assert_eq!(sh_arg(r"C:\x"), r"'C:\x'");
        assert_eq!(sh_arg(""), "''");
    }

    #[test]
    fn cmd_arg_follows_command_line_to_argv_rules() {
        assert_eq!(cmd_arg(r"C:\x\y.exe"), r"C:\x\y.exe");
        assert_eq!(cmd_arg("cmd /c del @path"), "\"cmd /c del @path\"");
        assert_eq!(cmd_arg(r"D:\share\"), r"D:\share\");
        assert_eq!(cmd_arg(r"C:\my dir\"), r#""C:\my dir\\""#);
        assert_eq!(cmd_arg(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(cmd_arg(""), "\"\"");
        assert_eq!(cmd_arg("a&b"), "\"a&b\"");
    }

    #[test]
    fn argv_always_quotes_and_doubles_trailing_backslashes() {
        assert_eq!(argv("C:\\ProgramData\\orc"), "\"C:\\ProgramData\\orc\"");
        assert_eq!(argv("D:\\"), "\"D:\\\\\"");
        assert_eq!(argv(r#"a\"b"#), r#""a\\\"b""#);
    }

    #[test]
    fn powershell_doubles_single_quotes() {
        assert_eq!(powershell("O'Brien"), "'O''Brien'");
        assert_eq!(powershell(r"C:\orc"), r"'C:\orc'");
    }
}

//! Validation of task definitions. Every refusal names the field, the value and the rule.
//!
//! Two layers:
//! - `parse`: the text a user typed (a flag value, an import field) into a typed value
//!   (`FromStr` for the choice types, `parse_*` for numbers and lists);
//! - [`validate`] checks a whole typed [`TaskSpec`] (what add, edit and import all end with).
//!
//! The Windows path rules are in `windows_path`, the definition-text check in `text`, the
//! run-as account rule in [`super::runas`] (its only owner).
//!
//! Field labels are the command-line flags (`--timeout`, `--env` …); `docs/reference/task-json.md` maps each
//! flag to its JSON field. Everything here is pure: no file system, no database.

use std::collections::BTreeSet;

use crate::error::{Error, Result};

use super::{Shell, TaskSpec, deps};

mod parse;
mod schedule;
mod text;
mod windows_path;
pub use parse::{
    parse_notify_after, parse_pair, parse_retries, parse_retry_delay, parse_retry_on, parse_timeout,
};
pub use schedule::{check_schedule, parse_cron};
pub use text::{check_definition_text, is_noncharacter};
pub(crate) use windows_path::reserved_char as windows_reserved_char;
use windows_path::{check_windows_path, is_device_name, is_unc_text};

/// The task-name rule, as shown to users.
pub const NAME_RULE: &str = "a task name is 1-64 characters from A-Z a-z 0-9 . _ -, starts with \
     a letter or digit, does not end with a dot, and is not a Windows device name (CON, PRN, AUX, \
     NUL, COM1-9, LPT1-9)";

/// The credential-name rule (the same shape as a task name).
pub const CREDENTIAL_RULE: &str = "a credential name is 1-64 characters from A-Z a-z 0-9 . _ -, \
     starts with a letter or digit, does not end with a dot, and is not a Windows device name";

/// Longest command for `--shell cmd` (cmd.exe's own limit), in UTF-16 units.
pub const MAX_CMD_COMMAND: usize = 8191;
/// Longest command for every other shell (CreateProcess's limit), in UTF-16 units.
pub const MAX_COMMAND: usize = 32767;
/// Longest timeout: seven days.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 86_400;
/// Most retries.
pub const MAX_RETRIES: u32 = 20;
/// Longest delay before a retry: one day.
pub const MAX_RETRY_DELAY_SECS: u64 = 86_400;
/// Longest environment value, in bytes.
pub const MAX_ENV_VALUE: usize = 32 * 1024;
/// Most environment variables (plain plus secret) per task.
pub const MAX_ENV_VARS: usize = 200;
/// Most dependencies per task.
pub const MAX_DEPENDENCIES: usize = 50;
/// Most mail recipients per task.
pub const MAX_EMAILS: usize = 50;
/// Most exit codes in `--retry-on`.
pub const MAX_RETRY_ON: usize = 50;
/// Largest `--notify-after`.
pub const MAX_NOTIFY_AFTER: u32 = 1000;
/// Longest owner, in characters.
pub const MAX_OWNER: usize = 128;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 1024;
/// Longest working directory on Windows: `SetCurrentDirectory` takes at most MAX_PATH - 2.
pub const MAX_WINDOWS_WORKDIR: usize = 258;

/// Variables a task may only set with `--allow-env-override` (compared case-insensitively,
/// as Windows does).
pub const PROTECTED_ENV: &[&str] = &[
    "PATH",
    "Path",
    "SystemRoot",
    "ComSpec",
    "windir",
    "PATHEXT",
    "SystemDrive",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
];

// ---------------------------------------------------------------------------------------------
// Names

/// Checks a task name against the contract's rule.
pub fn validate_name(name: &str) -> Result<()> {
    if is_valid_name(name) { Ok(()) } else { Err(Error::invalid("task name", name, NAME_RULE)) }
}

/// Checks a credential name (the reference in `--secret-env KEY=CREDENTIAL`).
pub fn validate_credential_name(name: &str) -> Result<()> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(Error::invalid("credential name", name, CREDENTIAL_RULE))
    }
}

fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 || !bytes[0].is_ascii_alphanumeric() {
        return false;
    }
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return false;
    }
    if name.ends_with('.') {
        return false;
    }
    !is_device_name(name)
}

// ---------------------------------------------------------------------------------------------
// Field checks

/// `--command`: not empty, no NUL, length limited per shell, no line breaks for cmd.exe.
pub fn check_command(command: &str, shell: Shell) -> Result<()> {
    let bad = |rule: String| Error::invalid("--command", command, rule);
    if command.trim().is_empty() {
        return Err(bad("the command must not be empty".into()));
    }
    if command.contains('\0') {
        return Err(bad("the command must not contain NUL characters".into()));
    }
    let units = command.encode_utf16().count();
    let (limit, why) = match shell {
        Shell::Cmd => (MAX_CMD_COMMAND, "cmd.exe's command-line limit"),
        _ => (MAX_COMMAND, "the Windows command-line limit"),
    };
    if units > limit {
        return Err(bad(format!(
            "the command is {units} characters long; at most {limit} ({why}) — put long \
             commands in a script file"
        )));
    }
    if shell == Shell::Cmd && command.contains(['\r', '\n']) {
        return Err(bad(
            "cmd.exe runs one line: the command must not contain line breaks (use a .cmd \
             script or --shell powershell)"
                .into(),
        ));
    }
    Ok(())
}

/// How paths are judged: by the rules of the platform orc runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathStyle {
    Windows,
    Unix,
}

impl PathStyle {
    /// The style of the platform this binary was built for.
    pub fn native() -> PathStyle {
        if cfg!(windows) { PathStyle::Windows } else { PathStyle::Unix }
    }
}

/// `--workdir`: an absolute, plain directory path (existence is checked by
/// `orc schedule --validate` and at run time, not here).
pub fn check_workdir(path: &str, shell: Shell, style: PathStyle) -> Result<()> {
    let max = match style {
        PathStyle::Windows => MAX_WINDOWS_WORKDIR,
        PathStyle::Unix => 4095,
    };
    check_abs_path("--workdir", path, style, max)?;
    if style == PathStyle::Windows && shell == Shell::Cmd && is_unc_text(path) {
        return Err(Error::invalid(
            "--workdir",
            path,
            "cmd.exe cannot use a network (UNC) path as its current directory; map a drive \
             letter or use --shell powershell",
        ));
    }
    Ok(())
}

/// An absolute path that names a plain file or directory: no NUL or control characters,
/// no `.`/`..` components; on Windows also no device or namespace prefix (`\\.\`, `\\?\`),
/// no alternate data stream (`name:stream`), no component ending in a dot or space, no
/// device name (`CON`, `NUL` …) and none of `< > " | ? *`.
pub fn check_abs_path(field: &str, path: &str, style: PathStyle, max_len: usize) -> Result<()> {
    let bad = |rule: &str| Error::invalid(field, path, rule);
    if path.is_empty() {
        return Err(bad("the path must not be empty"));
    }
    if path.contains('\0') {
        return Err(bad("the path must not contain NUL characters"));
    }
    if path.chars().any(char::is_control) {
        return Err(bad("the path must not contain control characters"));
    }
    let len = path.encode_utf16().count();
    if len > max_len {
        return Err(Error::invalid(
            field,
            path,
            format!("the path is {len} characters long; at most {max_len}"),
        ));
    }
    match style {
        PathStyle::Unix => {
            if !path.starts_with('/') {
                return Err(bad("the path must be absolute (start with /)"));
            }
            if path.split('/').any(|c| c == "." || c == "..") {
                return Err(bad(
                    "the path must not contain . or .. components; write it out in full",
                ));
            }
            Ok(())
        }
        PathStyle::Windows => check_windows_path(field, path),
    }
}

/// A timeout in seconds: `None` (no timeout) or 1s..7d.
pub fn check_timeout(timeout: Option<u64>) -> Result<()> {
    match timeout {
        Some(t) if t == 0 || t > MAX_TIMEOUT_SECS => Err(Error::invalid(
            "--timeout",
            t.to_string(),
            format!(
                "must be between 1s and {} (null / none for no timeout)",
                crate::render::secs(MAX_TIMEOUT_SECS)
            ),
        )),
        _ => Ok(()),
    }
}

/// An environment variable name for `field` (`--env` or `--secret-env`): the portable
/// identifier rule, never `ORC_*`, and no protected system variable unless `allow_override`.
pub fn check_env_key(field: &str, key: &str, allow_override: bool) -> Result<()> {
    let b = key.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 255
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if !ok {
        return Err(Error::invalid(
            field,
            key,
            "a variable name is 1-255 characters from A-Z a-z 0-9 _ and does not start with a digit",
        ));
    }
    if key.len() >= 4 && key[..4].eq_ignore_ascii_case("ORC_") {
        return Err(Error::invalid(
            field,
            key,
            "ORC_* variables are orc's own and cannot be set by a task",
        ));
    }
    if !allow_override && PROTECTED_ENV.iter().any(|p| p.eq_ignore_ascii_case(key)) {
        return Err(Error::invalid(
            field,
            key,
            "this system variable (PATH, SystemRoot, ComSpec, windir, PATHEXT, SystemDrive, \
             LD_PRELOAD, LD_LIBRARY_PATH) may only be set with --allow-env-override",
        ));
    }
    Ok(())
}

/// An environment value: no NUL, at most 32 KiB.
pub fn check_env_value(key: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid(
            "--env",
            format!("{key}={value}"),
            "a variable's value must not contain NUL characters",
        ));
    }
    if value.len() > MAX_ENV_VALUE {
        return Err(Error::invalid(
            "--env",
            format!("{key}={value}"),
            format!("a variable's value is at most {MAX_ENV_VALUE} bytes (32 KiB)"),
        ));
    }
    Ok(())
}

/// One mail recipient: a valid address (lettre's parser), no line breaks.
pub fn check_email(addr: &str) -> Result<()> {
    if addr.contains(['\r', '\n', '\0']) {
        return Err(Error::invalid(
            "--email",
            addr,
            "an address must not contain line breaks or NUL",
        ));
    }
    addr.parse::<lettre::Address>().map_err(|e| {
        Error::invalid(
            "--email",
            addr,
            format!("not a valid mail address ({e}); write user@example.com"),
        )
    })?;
    Ok(())
}

/// `--owner`: 1-128 printable characters.
pub fn check_owner(owner: &str) -> Result<()> {
    let n = owner.chars().count();
    if n == 0 || n > MAX_OWNER || owner.chars().any(char::is_control) || owner.trim() != owner {
        return Err(Error::invalid(
            "--owner",
            owner,
            format!(
                "an owner is 1-{MAX_OWNER} printable characters without control characters or \
                 leading/trailing spaces"
            ),
        ));
    }
    Ok(())
}

/// `--description`: 1-1024 characters, no control characters except TAB (it goes into the
/// Task Scheduler XML, which cannot carry them).
pub fn check_description(text: &str) -> Result<()> {
    let n = text.chars().count();
    let bad = |rule: String| Error::invalid("--description", text, rule);
    if n == 0 || n > MAX_DESCRIPTION {
        return Err(bad(format!("a description is 1-{MAX_DESCRIPTION} characters")));
    }
    check_definition_text("--description", text)?;
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(bad(format!(
            "a description must not contain control characters (found U+{:04X}); TAB is allowed",
            c as u32
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The whole task

/// Validates a whole task definition (without looking at other tasks; see
/// [`super::deps::check_graph`] for references and cycles).
pub fn validate(spec: &TaskSpec) -> Result<()> {
    validate_with_style(spec, PathStyle::native())
}

/// [`validate`] with an explicit path style (so both platforms' rules are testable anywhere).
pub fn validate_with_style(spec: &TaskSpec, style: PathStyle) -> Result<()> {
    validate_name(&spec.name)?;
    check_command(&spec.command, spec.shell)?;
    check_schedule(&spec.schedule)?;
    schedule::check_at_boot(spec.at_boot, spec.catch_up)?;
    if let Some(dir) = &spec.workdir {
        check_workdir(dir, spec.shell, style)?;
    }
    check_timeout(spec.timeout)?;
    if spec.retries > MAX_RETRIES {
        return Err(Error::invalid(
            "--retries",
            spec.retries.to_string(),
            format!("must be a whole number from 0 to {MAX_RETRIES}"),
        ));
    }
    if spec.retry_delay > MAX_RETRY_DELAY_SECS {
        return Err(Error::invalid(
            "--retry-delay",
            spec.retry_delay.to_string(),
            "must be between 0s and 1d (seconds in JSON)",
        ));
    }
    check_retry_on(&spec.retry_on)?;
    check_environment(spec)?;
    check_dependencies(spec, style)?;
    if !(1..=MAX_NOTIFY_AFTER).contains(&spec.notify_after) {
        return Err(Error::invalid(
            "--notify-after",
            spec.notify_after.to_string(),
            format!("must be a whole number from 1 to {MAX_NOTIFY_AFTER}"),
        ));
    }
    check_emails(&spec.email)?;
    crate::notify::channels::validate_refs("--notify-channel", &spec.notify_channels)?;
    crate::fleet::names::validate_refs("--hosts", &spec.hosts)?;
    if let Some(owner) = &spec.owner {
        check_owner(owner)?;
    }
    if let Some(d) = &spec.description {
        check_description(d)?;
    }
    super::runas::check_task(spec.run_as.as_deref(), spec.logon)?;
    check_definition_texts(spec)
}

/// Every text of the task that reaches its definition (or could: the command and run-as are
/// shown in it by other backends and tools), through the one check of
/// [`check_definition_text`].
fn check_definition_texts(spec: &TaskSpec) -> Result<()> {
    let single = [
        ("--command", Some(&spec.command)),
        ("--workdir", spec.workdir.as_ref()),
        ("--description", spec.description.as_ref()),
        ("--owner", spec.owner.as_ref()),
        ("--run-as", spec.run_as.as_ref()),
    ];
    for (field, value) in single {
        if let Some(value) = value {
            check_definition_text(field, value)?;
        }
    }
    // Environment values reach neither the definition nor the registered action (orc reads
    // them from the database at run time), so they keep their own rules.
    Ok(())
}

fn check_retry_on(codes: &[i64]) -> Result<()> {
    let text = || codes.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    if codes.len() > MAX_RETRY_ON {
        return Err(Error::invalid(
            "--retry-on",
            text(),
            format!("at most {MAX_RETRY_ON} exit codes"),
        ));
    }
    let mut seen = BTreeSet::new();
    for &c in codes {
        if c == 0 || !(i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&c) {
            return Err(Error::invalid(
                "--retry-on",
                c.to_string(),
                "an exit code between -2147483648 and 4294967295, not 0",
            ));
        }
        if !seen.insert(c) {
            return Err(Error::invalid("--retry-on", c.to_string(), "exit code listed twice"));
        }
    }
    Ok(())
}

fn check_environment(spec: &TaskSpec) -> Result<()> {
    let total = spec.env.len() + spec.secret_env.len();
    if total > MAX_ENV_VARS {
        return Err(Error::invalid(
            "--env",
            format!("{total} variables"),
            format!("at most {MAX_ENV_VARS} variables (plain and secret) per task"),
        ));
    }
    // Windows environment names are case-insensitive: PATH and Path are one variable.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for (key, value) in &spec.env {
        check_env_key("--env", key, spec.allow_env_override)?;
        check_env_value(key, value)?;
        if !seen.insert(key.to_ascii_uppercase()) {
            return Err(Error::invalid(
                "--env",
                key,
                "variable set twice (names are case-insensitive on Windows)",
            ));
        }
    }
    for (key, credential) in &spec.secret_env {
        check_env_key("--secret-env", key, spec.allow_env_override)?;
        validate_credential_name(credential)?;
        if !seen.insert(key.to_ascii_uppercase()) {
            return Err(Error::invalid(
                "--secret-env",
                key,
                "variable set twice, or set by both --env and --secret-env (names are \
                 case-insensitive on Windows)",
            ));
        }
    }
    Ok(())
}

fn check_dependencies(spec: &TaskSpec, style: PathStyle) -> Result<()> {
    if spec.depends_on.len() > MAX_DEPENDENCIES {
        return Err(Error::invalid(
            "--depends-on",
            format!("{} dependencies", spec.depends_on.len()),
            format!("at most {MAX_DEPENDENCIES} dependencies per task"),
        ));
    }
    let mut seen = Vec::new();
    for text in &spec.depends_on {
        let dep = deps::parse_with_style(text, style)?;
        if let deps::Dependency::Task { name, .. } = &dep
            && name.eq_ignore_ascii_case(&spec.name)
        {
            return Err(Error::invalid(
                "--depends-on",
                text,
                format!("dependency cycle: {} → {}", spec.name, spec.name),
            ));
        }
        let key = dep.identity();
        if seen.contains(&key) {
            return Err(Error::invalid("--depends-on", text, "dependency listed twice"));
        }
        seen.push(key);
    }
    Ok(())
}

fn check_emails(emails: &[String]) -> Result<()> {
    if emails.len() > MAX_EMAILS {
        return Err(Error::invalid(
            "--email",
            format!("{} addresses", emails.len()),
            format!("at most {MAX_EMAILS} recipients per task"),
        ));
    }
    let mut seen = BTreeSet::new();
    for e in emails {
        check_email(e)?;
        if !seen.insert(e.to_ascii_lowercase()) {
            return Err(Error::invalid("--email", e, "recipient listed twice"));
        }
    }
    Ok(())
}

/// The field an [`Error::Invalid`] names (tests of this module and its children).
#[cfg(test)]
fn field_of(e: &Error) -> String {
    match e {
        Error::Invalid { field, .. } => field.clone(),
        other => panic!("not an Invalid error: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in [
            "a",
            "nightly",
            "Backup.SQL-01",
            "x_y",
            "9lives",
            &"a".repeat(64),
            "CONSOLE",
            "COM0",
            "COM10",
        ] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " lead",
            "a b",
            "a\\b",
            "a/b",
            "..",
            ".hidden",
            "-x",
            "_x",
            "trail.",
            "CON",
            "con",
            "Con.txt",
            "NUL",
            "COM1",
            "lpt9",
            "a&b<c>\"'",
            "a\0b",
            "e\u{301}",
            "\u{202e}x",
            "🙂",
            &"a".repeat(65),
            &"a".repeat(300),
        ] {
            let err = validate_name(bad).unwrap_err();
            assert!(err.to_string().contains("task name"), "{bad:?}: {err}");
            assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        }
        assert!(validate_credential_name("smtp-password").is_ok());
        let e = validate_credential_name("bad name").unwrap_err();
        assert_eq!(field_of(&e), "credential name");
    }

    #[test]
    fn commands() {
        assert!(check_command("echo hi", Shell::Cmd).is_ok());
        assert!(check_command("echo a\necho b", Shell::Sh).is_ok());
        for (bad, shell, needle) in [
            ("", Shell::Sh, "empty"),
            ("   ", Shell::Sh, "empty"),
            ("echo\0x", Shell::Sh, "NUL"),
            ("echo a\r\necho b", Shell::Cmd, "line breaks"),
            (&"x".repeat(8192), Shell::Cmd, "8191"),
            (&"x".repeat(32768), Shell::Powershell, "32767"),
        ] {
            let e = check_command(bad, shell).unwrap_err().to_string();
            assert!(e.contains("--command") && e.contains(needle), "{e}");
        }
        assert!(check_command(&"x".repeat(8191), Shell::Cmd).is_ok());
        assert!(check_command(&"x".repeat(32767), Shell::Pwsh).is_ok());
        // Limits count UTF-16 units, as Windows does: an emoji is two.
        assert!(check_command(&"🙂".repeat(4096), Shell::Cmd).is_err());
    }

    #[test]
    fn workdirs_unix() {
        let u = PathStyle::Unix;
        assert!(check_workdir("/srv/jobs", Shell::Sh, u).is_ok());
        assert!(check_workdir("/srv/a:b", Shell::Sh, u).is_ok());
        for bad in ["srv/jobs", "", "/a\0b", "/a/../b", "C:\\jobs", "/a\nb"] {
            let e = check_workdir(bad, Shell::Sh, u).unwrap_err();
            assert_eq!(field_of(&e), "--workdir", "{bad:?}");
        }
    }

    #[test]
    fn env_keys_and_values() {
        for ok in ["A", "_x", "MY_VAR_2", "path_extra"] {
            assert!(check_env_key("--env", ok, false).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A=B", "A B", "É"] {
            assert!(check_env_key("--env", bad, false).is_err(), "{bad:?}");
        }
        for protected in ["PATH", "Path", "path", "SystemRoot", "COMSPEC", "windir", "LD_PRELOAD"] {
            let e = check_env_key("--env", protected, false).unwrap_err().to_string();
            assert!(e.contains("--allow-env-override"), "{e}");
            assert!(check_env_key("--env", protected, true).is_ok());
        }
        for orc in ["ORC_HOME", "orc_x"] {
            let e = check_env_key("--secret-env", orc, true).unwrap_err().to_string();
            assert!(e.contains("--secret-env") && e.contains("ORC_"), "{e}");
        }
        assert!(check_env_value("A", "").is_ok());
        assert!(check_env_value("A", &"x".repeat(MAX_ENV_VALUE)).is_ok());
        assert!(check_env_value("A", &"x".repeat(MAX_ENV_VALUE + 1)).is_err());
        assert!(check_env_value("A", "a\0b").is_err());
        assert_eq!(parse_pair("--env", "A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert_eq!(parse_pair("--env", "A=").unwrap(), ("A".into(), String::new()));
        assert!(parse_pair("--env", "A").is_err());
        assert!(parse_pair("--env", "=x").is_err());
    }

    #[test]
    fn emails_owner_description_run_as() {
        assert!(check_email("ops@example.com").is_ok());
        for bad in ["", "nobody", "a@b\r\nBcc: evil@x", "a b@c.d", "@x.y"] {
            let e = check_email(bad).unwrap_err();
            assert_eq!(field_of(&e), "--email", "{bad:?}");
        }
        assert!(check_owner("Data Team <data@example.com>").is_ok());
        assert!(check_owner("").is_err());
        assert!(check_owner(&"o".repeat(129)).is_err());
        assert!(check_owner("a\u{7}b").is_err());
        assert!(check_description("Nightly\tload").is_ok());
        assert!(check_description(&"d".repeat(1024)).is_ok());
        assert!(check_description(&"d".repeat(1025)).is_err());
        assert!(check_description("line\nbreak").is_err());
        assert!(check_description("bell\u{7}").is_err());
        assert!(check_description("nonchar\u{FFFF}").is_err());
        let mut s = TaskSpec::new("t", "echo", "0 2 * * *");
        s.run_as = Some("CORP\\a\\b".into());
        assert_eq!(field_of(&validate(&s).unwrap_err()), "--run-as");
        s.run_as = Some("NT AUTHORITY\\NETWORK SERVICE".into());
        s.logon = Some(super::super::runas::Logon::Password);
        assert_eq!(field_of(&validate(&s).unwrap_err()), "--logon");
        s.logon = None;
        assert!(validate(&s).is_ok());
    }

    #[test]
    fn whole_spec() {
        let mut s = TaskSpec::new("nightly", "echo hi", "0 2 * * *");
        assert!(validate(&s).is_ok());
        s.env.insert("PATH".into(), "/x".into());
        assert!(validate(&s).is_err());
        s.allow_env_override = true;
        assert!(validate(&s).is_ok());
        s.env.insert("Path".into(), "/y".into());
        assert!(validate(&s).unwrap_err().to_string().contains("case-insensitive"));
        s.env.clear();
        s.env.insert("TOKEN".into(), "x".into());
        s.secret_env.insert("token".into(), "api-token".into());
        assert!(validate(&s).unwrap_err().to_string().contains("--secret-env"));
        s.env.clear();
        s.secret_env.insert("T2".into(), "bad name".into());
        assert!(validate(&s).unwrap_err().to_string().contains("credential name"));
        s.secret_env.clear();
        s.depends_on = vec!["task:NIGHTLY".into()];
        let e = validate(&s).unwrap_err().to_string();
        assert!(e.contains("nightly → nightly"), "{e}");
        s.depends_on = vec!["tcp:db:5432".into(), "tcp:DB:5432".into()];
        assert!(validate(&s).unwrap_err().to_string().contains("twice"));
        s.depends_on.clear();
        s.email = vec!["a@x.org".into(), "A@x.org".into()];
        assert!(validate(&s).unwrap_err().to_string().contains("twice"));
        s.email.clear();
        s.notify_after = 0;
        assert!(validate(&s).is_err());
        s.notify_after = 1;
        s.retries = 21;
        assert!(validate(&s).is_err());
        s.retries = 0;
        s.retry_delay = 86_401;
        assert!(validate(&s).is_err());
        s.retry_delay = 0;
        s.timeout = Some(0);
        assert!(validate(&s).is_err());
        s.timeout = None;
        s.description = Some(String::new());
        assert!(validate(&s).is_err());
        s.description = None;
        assert!(validate(&s).is_ok());
    }
}

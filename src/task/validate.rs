//! Validation of task definitions. Every refusal names the field, the value and the rule.

use crate::error::{Error, Result};

use super::TaskSpec;

/// The task-name rule, as shown to users.
pub const NAME_RULE: &str = "a task name is 1-64 characters from A-Z a-z 0-9 . _ -, starts with \
     a letter or digit, does not end with a dot, and is not a Windows device name (CON, PRN, AUX, \
     NUL, COM1-9, LPT1-9)";

const RESERVED: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"];

/// Checks a task name against the contract's rule.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = || Error::invalid("task name", name, NAME_RULE);
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 64 || !bytes[0].is_ascii_alphanumeric() {
        return Err(bad());
    }
    if !bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) {
        return Err(bad());
    }
    if name.ends_with('.') {
        return Err(bad());
    }
    // Windows treats "CON.txt" like "CON": check the part before the first dot.
    let stem = name.split('.').next().unwrap_or(name).to_ascii_uppercase();
    let numbered = |prefix: &str| {
        stem.strip_prefix(prefix)
            .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit() && n != "0")
    };
    if RESERVED.contains(&stem.as_str()) || numbered("COM") || numbered("LPT") {
        return Err(bad());
    }
    Ok(())
}

/// Validates a whole task definition (without looking at other tasks).
pub fn validate(spec: &TaskSpec) -> Result<()> {
    validate_name(&spec.name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "nightly", "Backup.SQL-01", "x_y", "9lives", &"a".repeat(64), "CONSOLE"] {
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
        ] {
            let err = validate_name(bad).unwrap_err();
            assert!(err.to_string().contains("task name"), "{bad:?}: {err}");
            assert_eq!(err.exit_code(), crate::error::exit::USAGE);
        }
    }
}

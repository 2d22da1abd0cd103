//! Text → typed values: the flag values a user typed and the fields of an imported task.
//!
//! The choice types of [`crate::task`] parse through [`FromStr`] (case-insensitive, the
//! refusal lists the options); numbers and lists through the `parse_*` functions.

use std::str::FromStr;

use crate::duration;
use crate::error::{Error, Result};
use crate::task::{Backoff, CatchUp, NotifyPolicy, OnUnmet, Overlap, RunOn, Shell};

use super::{MAX_NOTIFY_AFTER, MAX_RETRIES, MAX_RETRY_DELAY_SECS, MAX_TIMEOUT_SECS, check_timeout};

/// `impl FromStr` for a choice type: the flag it is refused under, then its names and values
/// (names matched case-insensitively; the refusal lists them in this order).
macro_rules! choice_from_str {
    ($ty:ident, $field:literal, [$($name:literal => $value:expr),+ $(,)?]) => {
        impl FromStr for $ty {
            type Err = Error;

            fn from_str(text: &str) -> Result<$ty> {
                crate::choice::parse($field, text, &[$(($name, $value)),+])
            }
        }
    };
}

choice_from_str!(Shell, "--shell", [
    "cmd" => Shell::Cmd,
    "powershell" => Shell::Powershell,
    "pwsh" => Shell::Pwsh,
    "sh" => Shell::Sh,
    "none" => Shell::None,
]);
choice_from_str!(Backoff, "--backoff", [
    "fixed" => Backoff::Fixed,
    "exponential" => Backoff::Exponential,
]);
choice_from_str!(NotifyPolicy, "--notify", [
    "failure" => NotifyPolicy::Failure,
    "always" => NotifyPolicy::Always,
    "never" => NotifyPolicy::Never,
    "recovery" => NotifyPolicy::Recovery,
    "default" => NotifyPolicy::Default,
]);
choice_from_str!(Overlap, "--overlap", [
    "skip" => Overlap::Skip,
    "queue" => Overlap::Queue,
    "parallel" => Overlap::Parallel,
]);
choice_from_str!(CatchUp, "--catch-up", ["none" => CatchUp::None, "once" => CatchUp::Once]);
choice_from_str!(RunOn, "--run-on", ["any" => RunOn::Any, "all" => RunOn::All]);
choice_from_str!(OnUnmet, "--on-unmet", ["skip" => OnUnmet::Skip, "fail" => OnUnmet::Fail]);

/// `--timeout`: a duration of 1s..7d, or `none`/`0` for no timeout (`None`).
pub fn parse_timeout(text: &str) -> Result<Option<u64>> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t == "0" {
        return Ok(None);
    }
    let secs = duration::parse_secs("--timeout", text)?;
    check_timeout(Some(secs)).map_err(|_| {
        Error::invalid(
            "--timeout",
            text,
            format!(
                "must be between 1s and {} (or none / 0 for no timeout)",
                crate::render::secs(MAX_TIMEOUT_SECS)
            ),
        )
    })?;
    Ok(Some(secs))
}

/// `--retries`: a whole number 0..=20.
pub fn parse_retries(text: &str) -> Result<u32> {
    let rule = format!("must be a whole number from 0 to {MAX_RETRIES}");
    let n: u32 =
        text.trim().parse().map_err(|_| Error::invalid("--retries", text, rule.clone()))?;
    if n > MAX_RETRIES {
        return Err(Error::invalid("--retries", text, rule));
    }
    Ok(n)
}

/// `--retry-delay`: a duration of 0s..24h.
pub fn parse_retry_delay(text: &str) -> Result<u64> {
    duration::parse_secs_in("--retry-delay", text, 0, MAX_RETRY_DELAY_SECS)
}

/// `--notify-after`: alert after this many consecutive failures, 1..=1000.
pub fn parse_notify_after(text: &str) -> Result<u32> {
    let rule = format!("must be a whole number from 1 to {MAX_NOTIFY_AFTER}");
    let n: u32 =
        text.trim().parse().map_err(|_| Error::invalid("--notify-after", text, rule.clone()))?;
    if !(1..=MAX_NOTIFY_AFTER).contains(&n) {
        return Err(Error::invalid("--notify-after", text, rule));
    }
    Ok(n)
}

/// `--retry-on`: exit codes, comma-separated, decimal (may be negative) or `0x` hex
/// (NTSTATUS values such as `0xC0000005`). 0 is success and cannot be retried.
pub fn parse_retry_on(text: &str) -> Result<Vec<i64>> {
    let rule = "exit codes separated by commas, decimal or 0x hex, between -2147483648 and \
                4294967295, not 0";
    let mut out = Vec::new();
    for part in text.split(',') {
        let p = part.trim();
        let value = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            i64::from_str_radix(hex, 16).ok()
        } else {
            p.parse::<i64>().ok()
        };
        match value {
            Some(v) if v != 0 && (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) => {
                out.push(v)
            }
            _ => return Err(Error::invalid("--retry-on", text, rule)),
        }
    }
    Ok(out)
}

/// `KEY=VALUE` (for `--env`) or `KEY=CREDENTIAL` (for `--secret-env`): split at the first `=`.
pub fn parse_pair(field: &str, text: &str) -> Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(Error::invalid(
            field,
            text,
            if field == "--secret-env" {
                "must be KEY=CREDENTIAL (the variable name, '=', the vault entry's name)"
            } else {
                "must be KEY=VALUE (a variable name, '=', then the value; the value may be empty)"
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{check_retry_on, field_of};
    use super::*;

    #[test]
    fn choices_are_case_insensitive_and_list_the_options() {
        assert_eq!("PowerShell".parse::<Shell>().unwrap(), Shell::Powershell);
        assert_eq!("none".parse::<Shell>().unwrap(), Shell::None);
        let e = "bash".parse::<Shell>().unwrap_err().to_string();
        assert!(e.contains("--shell") && e.contains("cmd, powershell, pwsh, sh, none"), "{e}");
        assert_eq!("exponential".parse::<Backoff>().unwrap(), Backoff::Exponential);
        assert_eq!("recovery".parse::<NotifyPolicy>().unwrap(), NotifyPolicy::Recovery);
        assert_eq!("queue".parse::<Overlap>().unwrap(), Overlap::Queue);
        assert_eq!("once".parse::<CatchUp>().unwrap(), CatchUp::Once);
        assert_eq!("all".parse::<RunOn>().unwrap(), RunOn::All);
        assert_eq!("any".parse::<RunOn>().unwrap(), RunOn::Any);
        assert_eq!("each".parse::<RunOn>().unwrap_err().exit_code(), 2);
        assert_eq!("fail".parse::<OnUnmet>().unwrap(), OnUnmet::Fail);
        assert!("sometimes".parse::<NotifyPolicy>().is_err());
    }

    #[test]
    fn timeouts_retries_and_delays() {
        assert_eq!(parse_timeout("30m").unwrap(), Some(1800));
        assert_eq!(parse_timeout("none").unwrap(), None);
        assert_eq!(parse_timeout("NONE").unwrap(), None);
        assert_eq!(parse_timeout("0").unwrap(), None);
        assert_eq!(parse_timeout("7d").unwrap(), Some(604_800));
        assert_eq!(parse_timeout("1s").unwrap(), Some(1));
        for bad in ["8d", "7d1s", "0s", "abc", "-1", ""] {
            let e = parse_timeout(bad).unwrap_err();
            assert_eq!(field_of(&e), "--timeout", "{bad}");
        }
        assert!(check_timeout(Some(0)).is_err());
        assert!(check_timeout(None).is_ok());
        assert_eq!(parse_retries("20").unwrap(), 20);
        assert_eq!(parse_retries(" 0 ").unwrap(), 0);
        for bad in ["21", "-1", "x", "", "1.5"] {
            assert_eq!(field_of(&parse_retries(bad).unwrap_err()), "--retries", "{bad}");
        }
        assert_eq!(parse_retry_delay("0s").unwrap(), 0);
        assert_eq!(parse_retry_delay("24h").unwrap(), 86_400);
        assert_eq!(field_of(&parse_retry_delay("25h").unwrap_err()), "--retry-delay");
        assert_eq!(parse_notify_after("3").unwrap(), 3);
        assert!(parse_notify_after("0").is_err());
        assert!(parse_notify_after("1001").is_err());
    }

    #[test]
    fn retry_on_codes() {
        assert_eq!(parse_retry_on("1,2, 255").unwrap(), vec![1, 2, 255]);
        assert_eq!(parse_retry_on("0xC0000005").unwrap(), vec![3_221_225_477]);
        assert_eq!(parse_retry_on("-1").unwrap(), vec![-1]);
        for bad in ["0", "x", "1,,2", "0x1FFFFFFFF", "-2147483649", ""] {
            assert_eq!(field_of(&parse_retry_on(bad).unwrap_err()), "--retry-on", "{bad}");
        }
        assert!(check_retry_on(&[1, 1]).is_err());
    }
}

//! Host and group names, and a task's `--hosts` references (pure).
//!
//! A host name is a Windows computer name or its DNS name: labels of ASCII letters, digits
//! and `-`, each 1–63 characters, not starting or ending with `-`, at most 253 characters in
//! all, not all digits, compared ignoring case ("Computer Names",
//! learn.microsoft.com/windows/win32/sysinfo/computer-names: DNS components up to 63 bytes,
//! not case sensitive; KB 909264: computers in a domain cannot have all-numeric names; RFC
//! 1123 letters, digits, hyphen). NetBIOS's 15-character limit is not enforced: the computer
//! name orc reads is the DNS host name (up to 63), of which NetBIOS keeps a truncated copy.
//!
//! A group name follows the task-name rule's spirit: letters, digits, `-`, `_`, `.`, 1–64
//! characters, starting with a letter or digit. A reference is `NAME` (a host) or `@GROUP`.

use crate::error::{Error, Result};

/// The host-name rule, as shown in refusals.
pub const HOST_RULE: &str = "a host name is a computer name or DNS name: letters, digits and \
     '-' in dot-separated labels of 1-63 characters (not starting or ending with '-'), at most \
     253 characters, not all digits";
/// The group-name rule, as shown in refusals.
pub const GROUP_RULE: &str = "a group name is 1-64 letters, digits, '-', '_' or '.', starting \
     with a letter or digit";
/// Most hosts and groups one task may name.
pub const MAX_TASK_HOSTS: usize = 64;

/// Whether `name` is a valid host name.
pub fn is_host_name(name: &str) -> bool {
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(label_ok)
        && !name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Checks a host name given in `field`.
pub fn validate_host(field: &str, name: &str) -> Result<()> {
    if is_host_name(name) { Ok(()) } else { Err(Error::invalid(field, name, HOST_RULE)) }
}

/// The rule of a remote scheduler's address (`schedule --host`, `schtasks /S`): wider than a
/// fleet host name, since schtasks also takes IP addresses (IPv6 included).
pub const TARGET_RULE: &str = "a host is a computer name, a DNS name or an IP address \
     (letters, digits, '.', '-', ':', at most 255 characters)";

/// Checks the address of a remote Task Scheduler given in `field`.
pub fn validate_target(field: &str, host: &str) -> Result<()> {
    let ok = !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if ok { Ok(()) } else { Err(Error::invalid(field, host, TARGET_RULE)) }
}

/// Checks a group name given in `field`.
pub fn validate_group(field: &str, name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok { Ok(()) } else { Err(Error::invalid(field, name, GROUP_RULE)) }
}

/// One entry of a task's `hosts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostRef<'a> {
    Host(&'a str),
    Group(&'a str),
}

impl<'a> HostRef<'a> {
    /// Reads `h1` or `@group` (unchecked; see [`validate_refs`]).
    pub fn of(text: &'a str) -> HostRef<'a> {
        match text.strip_prefix('@') {
            Some(g) => HostRef::Group(g),
            None => HostRef::Host(text),
        }
    }
}

/// Splits `--hosts h1,h2,@group` into its entries (blank entries dropped).
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// The rule every task's `hosts` obeys: each entry a host name or `@group`, none twice
/// (ignoring case), at most [`MAX_TASK_HOSTS`]. Whether they exist is [`super::table`]'s.
pub fn validate_refs(field: &str, refs: &[String]) -> Result<()> {
    if refs.len() > MAX_TASK_HOSTS {
        return Err(Error::invalid(
            field,
            format!("{} entries", refs.len()),
            format!("at most {MAX_TASK_HOSTS} hosts and groups"),
        ));
    }
    for (i, r) in refs.iter().enumerate() {
        match HostRef::of(r) {
            HostRef::Host(h) => validate_host(field, h)?,
            HostRef::Group(g) => validate_group(field, g)?,
        }
        if refs[..i].iter().any(|o| o.eq_ignore_ascii_case(r)) {
            return Err(Error::invalid(field, r, "listed twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_follow_the_computer_and_dns_rules() {
        for ok in ["h1", "SRV-01", "web01.corp.example.com", "a", &"x".repeat(63), "1host"] {
            assert!(is_host_name(ok), "{ok}");
        }
        let long_label = "x".repeat(64);
        let too_long = ["a"; 127].join(".") + ".bc";
        for bad in [
            "",
            "-h1",
            "h1-",
            "h_1",
            "h 1",
            "h1..corp",
            "h1.",
            "12345",
            "10.0.0.1",
            "srv$",
            "@g",
            long_label.as_str(),
            too_long.as_str(),
        ] {
            assert!(!is_host_name(bad), "{bad}");
        }
    }

    #[test]
    fn group_names_and_references() {
        validate_group("group", "web-servers_2.eu").unwrap();
        for bad in ["", "-x", ".x", "a b", "a@b", &"g".repeat(65)] {
            let e = validate_group("group", bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert_eq!(split_list(" h1, @web ,,h2"), ["h1", "@web", "h2"]);
        validate_refs("--hosts", &split_list("h1,@web,h2.corp")).unwrap();
        let e = validate_refs("--hosts", &split_list("h1,H1")).unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let e = validate_refs("--hosts", &split_list("h1,@bad group")).unwrap_err();
        assert!(e.to_string().contains("group name"), "{e}");
        let e = validate_refs("--hosts", &split_list("h_1")).unwrap_err();
        assert!(e.to_string().contains("host name"), "{e}");
        assert_eq!(HostRef::of("@web"), HostRef::Group("web"));
        assert_eq!(HostRef::of("h1"), HostRef::Host("h1"));
        validate_target("--host", "fe80::1").unwrap();
        validate_target("--host", "10.0.0.1").unwrap();
        assert!(validate_target("--host", "bad host;x").unwrap_err().to_string().contains("IP"));
    }
}

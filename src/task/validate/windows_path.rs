//! Windows path rules: what makes a path name a plain file or directory on Windows
//! (drive or UNC form, no namespace prefix, no alternate data stream, no reserved character,
//! no component Windows would silently change, no device name).

use crate::error::{Error, Result};

/// Names Windows reserves in every directory (`COM1`-`COM9` and `LPT1`-`LPT9` are checked apart).
const RESERVED: &[&str] = &["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"];

/// True for Windows device names, with or without an extension (`CON`, `nul.txt`, `COM1`).
pub(crate) fn is_device_name(component: &str) -> bool {
    // Windows treats "CON.txt" like "CON" (and ignores trailing spaces before the dot).
    let stem = component.split('.').next().unwrap_or(component).trim_end().to_ascii_uppercase();
    let numbered = |prefix: &str| {
        stem.strip_prefix(prefix)
            .is_some_and(|n| n.len() == 1 && n.as_bytes()[0].is_ascii_digit() && n != "0")
    };
    RESERVED.contains(&stem.as_str()) || numbered("COM") || numbered("LPT")
}

/// The first character Windows refuses in any file or directory name (`< > " | ? *`).
pub(crate) fn reserved_char(text: &str) -> Option<char> {
    text.chars().find(|c| matches!(c, '<' | '>' | '"' | '|' | '?' | '*'))
}

pub(super) fn is_unc_text(path: &str) -> bool {
    let p = path.replace('/', "\\");
    p.starts_with("\\\\") && !p.starts_with("\\\\.\\") && !p.starts_with("\\\\?\\")
}

/// The Windows rules of [`super::check_abs_path`]: a drive (`C:\\…`) or network
/// (`\\\\server\\share\\…`) path with no namespace prefix, no reserved character, no alternate
/// data stream and plain components.
pub(super) fn check_windows_path(field: &str, path: &str) -> Result<()> {
    let bad = |rule: &str| Error::invalid(field, path, rule);
    let p = path.replace('/', "\\");
    if p.starts_with("\\\\.\\") || p.starts_with("\\\\?\\") || p.starts_with("\\??\\") {
        return Err(bad(
            "device and namespace paths (\\\\.\\…, \\\\?\\…) are not allowed; give a plain path like C:\\jobs",
        ));
    }
    if let Some(c) = reserved_char(path) {
        return Err(Error::invalid(field, path, format!("a Windows path cannot contain {c:?}")));
    }
    let rest: &str = if let Some(unc) = p.strip_prefix("\\\\") {
        // \\server\share\rest
        let mut parts = unc.splitn(3, '\\');
        let server = parts.next().unwrap_or("");
        let share = parts.next().unwrap_or("");
        if server.is_empty() || share.is_empty() {
            return Err(bad("a network path must be \\\\server\\share\\…"));
        }
        if server.contains(':') || share.contains(':') {
            return Err(bad(
                "a path cannot contain ':' except after the drive letter (alternate data streams are not allowed)",
            ));
        }
        for c in [server, share] {
            check_windows_component(field, path, c)?;
        }
        &p[2 + server.len() + 1 + share.len()..]
    } else {
        let b = p.as_bytes();
        if b.len() < 3 || !b[0].is_ascii_alphabetic() || b[1] != b':' || b[2] != b'\\' {
            return Err(bad(
                "the path must be absolute: a drive and a backslash (C:\\…) or a network path (\\\\server\\share\\…)",
            ));
        }
        &p[2..]
    };
    if rest.contains(':') {
        return Err(bad(
            "a path cannot contain ':' except after the drive letter (alternate data streams are not allowed)",
        ));
    }
    for c in rest.split('\\').filter(|c| !c.is_empty()) {
        check_windows_component(field, path, c)?;
    }
    Ok(())
}

fn check_windows_component(field: &str, path: &str, c: &str) -> Result<()> {
    let bad = |rule: String| Error::invalid(field, path, rule);
    if c == "." || c == ".." {
        return Err(bad(
            "the path must not contain . or .. components; write it out in full".into()
        ));
    }
    if c.ends_with('.') || c.ends_with(' ') {
        return Err(bad(format!(
            "{c:?}: Windows drops a trailing dot or space from a path component, so the path \
             would name something else"
        )));
    }
    if is_device_name(c) {
        return Err(bad(format!("{c:?} is a Windows device name, not a file or directory")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{PathStyle, check_workdir};
    use crate::task::Shell;

    #[test]
    fn workdirs_windows() {
        let w = PathStyle::Windows;
        for ok in ["C:\\jobs", "d:/data/x", "C:\\", "\\\\srv\\share\\dir", "C:\\a b\\c.d"] {
            assert!(check_workdir(ok, Shell::Powershell, w).is_ok(), "{ok}");
        }
        for (bad, needle) in [
            ("jobs", "absolute"),
            ("C:jobs", "absolute"),
            ("\\jobs", "absolute"),
            ("\\\\.\\C:\\x", "namespace"),
            ("\\\\?\\C:\\x", "namespace"),
            ("//./pipe/x", "namespace"),
            ("C:\\data\\file.txt:stream", "alternate data stream"),
            ("C:\\data.\\x", "trailing dot"),
            ("C:\\data \\x", "trailing dot or space"),
            ("C:\\data\\..\\x", ".."),
            ("C:\\data\\CON", "device name"),
            ("C:\\data\\nul.txt", "device name"),
            ("C:\\a|b", "cannot contain"),
            ("C:\\a\0b", "NUL"),
            ("\\\\server", "\\\\server\\share"),
        ] {
            let e = check_workdir(bad, Shell::Powershell, w).unwrap_err().to_string();
            assert!(e.contains("--workdir") && e.contains(needle), "{bad:?}: {e}");
        }
        let long = format!("C:\\{}", "a".repeat(260));
        assert!(check_workdir(&long, Shell::Powershell, w).is_err());
        let e = check_workdir("\\\\srv\\share\\dir", Shell::Cmd, w).unwrap_err().to_string();
        assert!(e.contains("UNC"), "{e}");
    }
}

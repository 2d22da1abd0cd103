//! `--output FILE` for every command that has it (issue 12 finding 12).
//!
//! * `-` means standard output (the caller prints);
//! * a regular file or a missing path is replaced atomically: a private temporary file with an
//!   unpredictable name in the same directory, then a rename (a reader never sees half a
//!   document, a failure leaves the old file);
//! * a character device or a FIFO (`/dev/null`, `/dev/stdout`, a pipe) is written in place:
//!   renaming over it would replace the device node with a regular file;
//! * on Windows the devices `NUL` and `CON` (any case, with or without an extension, or as
//!   `\\.\NUL`) are written in place;
//! * anything else (a directory, a block device, a socket, a missing directory) is refused as
//!   bad input (exit 2) before anything is written.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where `--output` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// Standard output (`-`).
    Stdout,
    /// A device or FIFO, opened and written without creating or renaming anything.
    InPlace(PathBuf),
    /// A regular file (existing or not), replaced through a temporary file and a rename.
    Replace(PathBuf),
}

/// What the file system says is at a path (the pure input of [`decide`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Missing,
    Regular,
    Directory,
    CharDevice,
    Fifo,
    /// Block device, socket or anything else.
    Other,
}

/// True for the Windows device names `NUL` and `CON` as users type them: `NUL`, `nul.txt`,
/// `C:\x\NUL`, `\\.\NUL` (Windows resolves these reserved names in any directory).
pub fn is_windows_console_or_null(path: &Path) -> bool {
    let s = path.to_string_lossy().replace('/', "\\");
    let last = s.rsplit('\\').next().unwrap_or("");
    let stem = last.split('.').next().unwrap_or("").trim_end();
    stem.eq_ignore_ascii_case("NUL") || stem.eq_ignore_ascii_case("CON")
}

/// The rule, as a pure function of what is at the path (`parent_is_dir`: whether the
/// directory a new file would go into exists).
pub fn decide(
    path: &Path,
    found: Found,
    parent_is_dir: bool,
    windows: bool,
) -> Result<OutputTarget> {
    if path.as_os_str() == "-" {
        return Ok(OutputTarget::Stdout);
    }
    if windows && is_windows_console_or_null(path) {
        return Ok(OutputTarget::InPlace(path.to_path_buf()));
    }
    let refuse = |why: &str| Err(Error::invalid("--output", path.display().to_string(), why));
    check_file_name("--output", path, windows)?;
    match found {
        Found::Regular => Ok(OutputTarget::Replace(path.to_path_buf())),
        Found::Missing if parent_is_dir => Ok(OutputTarget::Replace(path.to_path_buf())),
        Found::Missing => refuse("its directory does not exist"),
        Found::CharDevice | Found::Fifo => Ok(OutputTarget::InPlace(path.to_path_buf())),
        Found::Directory => refuse("is a directory; give a file name"),
        Found::Other => refuse("is not a regular file, a character device or a pipe"),
    }
}

/// Refuses a new file's name that Windows cannot create (`a "b".db`: exit 2 and nothing
/// written, rather than the OS error 123 of the create). On Unix every name is a name.
pub fn check_file_name(field: &str, path: &Path, windows: bool) -> Result<()> {
    if !windows {
        return Ok(());
    }
    let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
    match crate::task::validate::windows_reserved_char(&name) {
        Some(c) => Err(Error::invalid(
            field,
            path.display().to_string(),
            format!("a Windows file name cannot contain {c:?}"),
        )),
        None => Ok(()),
    }
}

fn found_at(path: &Path) -> Found {
    let Ok(meta) = std::fs::metadata(path) else { return Found::Missing };
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            return Found::CharDevice;
        }
        if ft.is_fifo() {
            return Found::Fifo;
        }
    }
    if ft.is_file() {
        Found::Regular
    } else if ft.is_dir() {
        Found::Directory
    } else {
        Found::Other
    }
}

/// Classifies `path` for `--output` (checks the file system; refuses bad targets).
pub fn target(path: &Path) -> Result<OutputTarget> {
    // A link to a regular file: replace the file it points to, not the link.
    let resolved = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
        }
        _ => path.to_path_buf(),
    };
    let parent_is_dir = match resolved.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.is_dir(),
        _ => true,
    };
    match decide(&resolved, found_at(&resolved), parent_is_dir, cfg!(windows))? {
        OutputTarget::Stdout => Ok(OutputTarget::Stdout),
        // Keep the user's spelling for devices (e.g. /dev/stdout) so the message names it.
        OutputTarget::InPlace(_) => Ok(OutputTarget::InPlace(path.to_path_buf())),
        t => Ok(t),
    }
}

/// Writes `bytes` to a file target ([`OutputTarget::InPlace`] or [`OutputTarget::Replace`]).
/// [`OutputTarget::Stdout`] is the caller's (the library never prints).
pub fn write_file(target: &OutputTarget, bytes: &[u8]) -> Result<()> {
    match target {
        OutputTarget::Stdout => Ok(()),
        OutputTarget::InPlace(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| Error::io("write", path, e))?;
            f.write_all(bytes).and_then(|()| f.flush()).map_err(|e| Error::io("write", path, e))
        }
        OutputTarget::Replace(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".orc-output-")
                .tempfile_in(dir)
                .map_err(|e| Error::io("create a temporary file in", dir, e))?;
            tmp.write_all(bytes)
                .and_then(|()| tmp.as_file().sync_all())
                .map_err(|e| Error::io("write", tmp.path().to_path_buf(), e))?;
            tmp.persist(path).map_err(|e| Error::io("write", path, e.error))?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_table() {
        let p = Path::new("/x/out.html");
        let r = |found, parent, win| decide(p, found, parent, win);
        assert_eq!(r(Found::Regular, true, false).unwrap(), OutputTarget::Replace(p.into()));
        assert_eq!(r(Found::Missing, true, false).unwrap(), OutputTarget::Replace(p.into()));
        assert_eq!(r(Found::CharDevice, true, false).unwrap(), OutputTarget::InPlace(p.into()));
        assert_eq!(r(Found::Fifo, true, false).unwrap(), OutputTarget::InPlace(p.into()));
        for (found, parent, why) in [
            (Found::Missing, false, "its directory does not exist"),
            (Found::Directory, true, "is a directory; give a file name"),
            (Found::Other, true, "is not a regular file, a character device or a pipe"),
        ] {
            let e = r(found, parent, false).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert_eq!(e.to_string(), format!("invalid --output \"/x/out.html\": {why}"));
        }
        assert_eq!(
            decide(Path::new("-"), Found::Missing, true, false).unwrap(),
            OutputTarget::Stdout
        );
    }

    #[test]
    fn a_name_windows_cannot_create_is_bad_input_there_only() {
        let p = Path::new("/x/a \"b\" 100%.db");
        let e = decide(p, Found::Missing, true, true).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(
            e.to_string(),
            "invalid --output \"/x/a \\\"b\\\" 100%.db\": a Windows file name cannot contain '\"'"
        );
        assert_eq!(
            decide(p, Found::Missing, true, false).unwrap(),
            OutputTarget::Replace(p.into())
        );
        for c in ['<', '>', '|', '?', '*'] {
            let p = PathBuf::from(format!("/x/a{c}b.json"));
            assert!(check_file_name("backup file", &p, true).is_err(), "{c}");
            assert!(check_file_name("backup file", &p, false).is_ok(), "{c}");
        }
    }

    #[test]
    fn windows_devices_are_written_in_place() {
        for name in ["NUL", "nul", "con", "CON.txt", "C:\\reports\\NUL", "\\\\.\\NUL", "nul "] {
            assert!(is_windows_console_or_null(Path::new(name)), "{name}");
            assert_eq!(
                decide(Path::new(name), Found::Missing, false, true).unwrap(),
                OutputTarget::InPlace(name.into()),
                "{name}"
            );
        }
        for name in ["null", "console", "a\\nulx", "report.html"] {
            assert!(!is_windows_console_or_null(Path::new(name)), "{name}");
        }
        // Off Windows `NUL` is an ordinary file name.
        assert_eq!(
            decide(Path::new("NUL"), Found::Missing, true, false).unwrap(),
            OutputTarget::Replace("NUL".into())
        );
    }

    #[test]
    fn replace_writes_atomically_and_privately() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.json");
        std::fs::write(&p, b"old").unwrap();
        let t = target(&p).unwrap();
        write_file(&t, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_written_in_place() {
        use std::os::unix::fs::FileTypeExt;
        let t = target(Path::new("/dev/null")).unwrap();
        assert_eq!(t, OutputTarget::InPlace("/dev/null".into()));
        write_file(&t, b"discarded").unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let t = target(&fifo).unwrap();
        assert_eq!(t, OutputTarget::InPlace(fifo.clone()));
        write_file(&t, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    }
}

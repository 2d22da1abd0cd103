//! How orc creates and protects its files. One owner for the rules:
//!
//! * the home and its sub-directories are private: `0700` on Unix; on Windows the home gets an
//!   explicit, protected DACL ([`acl`]);
//! * every file orc creates is `0600` on Unix, whatever the umask (the mode is given at
//!   creation, and an existing file orc opens for writing is narrowed with `fchmod`);
//! * run logs and other files inside the home are opened without following a symbolic link
//!   (`O_NOFOLLOW` on Unix; a link check on Windows, where the home's DACL keeps other users
//!   from planting one);
//! * `--output` files follow [`output`]'s rules (never replace a device node).

pub mod acl;
pub mod output;
pub mod space;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Mode of every file orc creates (Unix).
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of the home and every directory orc creates in it (Unix).
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) and makes it private. Returns true when `dir` itself
/// was created by this call. An existing directory owned by the current user is narrowed to
/// `0700`; one owned by someone else is left alone (orc does not own it).
pub fn ensure_private_dir(dir: &Path) -> io::Result<bool> {
    let existed = dir.is_dir();
    if !existed {
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new().recursive(true).mode(PRIVATE_DIR_MODE).create(dir)?;
        }
        #[cfg(not(unix))]
        std::fs::create_dir_all(dir)?;
    }
    narrow_mode(dir, PRIVATE_DIR_MODE)?;
    Ok(!existed)
}

/// Sets `mode` on `path` when the current user owns it and its mode differs (Unix; nothing
/// elsewhere). A missing path is not an error.
pub fn narrow_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() || meta.uid() != current_uid() {
            return Ok(());
        }
        if meta.mode() & 0o7777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(unix)]
fn current_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Brings an existing home up to the rules: the home and its sub-directories `0700`, the
/// database and its `-wal`/`-shm`/`-journal` files `0600` (only what the current user owns).
pub fn harden_home(home: &Path, db_file: &Path) -> io::Result<()> {
    narrow_mode(home, PRIVATE_DIR_MODE)?;
    for sub in ["runs", "logs", "tmp"] {
        narrow_mode(&home.join(sub), PRIVATE_DIR_MODE)?;
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db_file.as_os_str().to_os_string();
        p.push(suffix);
        narrow_mode(Path::new(&p), PRIVATE_FILE_MODE)?;
    }
    Ok(())
}

fn private_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(PRIVATE_FILE_MODE).custom_flags(libc::O_NOFOLLOW);
    }
    o
}

/// Refuses a symbolic link (or other reparse point) at `path` on Windows, where `O_NOFOLLOW`
/// does not exist; on Unix the open itself refuses it.
fn refuse_link(path: &Path) -> io::Result<()> {
    #[cfg(windows)]
    {
        use std::os::windows::fs::MetadataExt;
        // FILE_ATTRIBUTE_REPARSE_POINT: symbolic links, junctions and mount points.
        const REPARSE_POINT: u32 = 0x400;
        if let Ok(m) = std::fs::symlink_metadata(path)
            && (m.file_type().is_symlink() || m.file_attributes() & REPARSE_POINT != 0)
        {
            return Err(io::Error::other(format!(
                "{} is a symbolic link or reparse point; orc does not follow links in its home",
                path.display()
            )));
        }
    }
    #[cfg(not(windows))]
    let _ = path;
    Ok(())
}

/// After opening an existing file, narrows it to `0600` (the creation mode applies only to
/// a new file).
fn narrow_open(file: File) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = file.metadata()?;
        if meta.mode() & 0o7777 != PRIVATE_FILE_MODE && meta.uid() == current_uid() {
            file.set_permissions(std::fs::Permissions::from_mode(PRIVATE_FILE_MODE))?;
        }
    }
    Ok(file)
}

/// Opens `path` for writing, creating it `0600` or truncating it; never follows a link.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    refuse_link(path)?;
    narrow_open(private_options().create(true).truncate(true).open(path)?)
}

/// Creates `path`, `0600`; fails with `AlreadyExists` if anything is there (`O_EXCL`: never
/// overwrites, never follows a link, no check-then-create race).
pub fn create_new(path: &Path) -> io::Result<File> {
    private_options().create_new(true).open(path)
}

/// Opens `path` for appending, creating it `0600`; never follows a link.
pub fn append_private(path: &Path) -> io::Result<File> {
    refuse_link(path)?;
    let mut o = private_options();
    o.append(true).create(true);
    narrow_open(o.open(path)?)
}

/// Replaces `path` with `bytes` atomically: a private temporary file in the same directory,
/// synced, then renamed over it (a reader sees the old or the new file, never half of one).
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new().prefix(".orc-").suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}

/// Writes `bytes` to a new `0600` file with an unpredictable name (`prefix` + random +
/// `suffix`) in `dir`, which is created private if missing, and returns its path. The file is
/// kept: the caller deletes it when done (e.g. the task XML handed to schtasks).
pub fn write_temp_file(
    dir: &Path,
    prefix: &str,
    suffix: &str,
    bytes: &[u8],
) -> io::Result<PathBuf> {
    use std::io::Write;
    ensure_private_dir(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(prefix).suffix(suffix).tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.into_temp_path().keep().map_err(|e| e.error)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn created_files_and_dirs_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: umask only changes this process's creation mask; restored below.
        let old = unsafe { libc::umask(0) };
        let home = dir.path().join("a").join("home");
        assert!(ensure_private_dir(&home).unwrap());
        assert!(!ensure_private_dir(&home).unwrap());
        create_private_file(&home.join("f")).unwrap();
        create_new(&home.join("n")).unwrap();
        append_private(&home.join("l")).unwrap();
        // SAFETY: as above.
        unsafe { libc::umask(old) };
        assert_eq!(mode(&home), 0o700);
        for f in ["f", "n", "l"] {
            assert_eq!(mode(&home.join(f)), 0o600, "{f}");
        }
    }

    #[test]
    fn existing_files_are_narrowed_when_opened_and_homes_when_hardened() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = home.join("orc.db");
        for name in ["orc.db", "orc.db-wal", "spill"] {
            std::fs::write(home.join(name), b"x").unwrap();
            std::fs::set_permissions(home.join(name), std::fs::Permissions::from_mode(0o644))
                .unwrap();
        }
        harden_home(&home, &db).unwrap();
        assert_eq!(mode(&home), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&home.join("orc.db-wal")), 0o600);
        create_private_file(&home.join("spill")).unwrap();
        assert_eq!(mode(&home.join("spill")), 0o600);
    }

    #[test]
    fn links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("run.log");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = create_private_file(&link).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
        assert!(append_private(&link).is_err());
        assert_eq!(create_new(&link).unwrap_err().kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    }

    #[test]
    fn temp_files_are_private_and_unpredictable() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        let a = write_temp_file(&tmp, "orc-x-", ".xml", b"<a/>").unwrap();
        let b = write_temp_file(&tmp, "orc-x-", ".xml", b"<b/>").unwrap();
        assert_ne!(a, b);
        assert_eq!(mode(&tmp), 0o700);
        assert_eq!(mode(&a), 0o600);
        assert_eq!(std::fs::read(&b).unwrap(), b"<b/>");
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("orc-x-") && name.ends_with(".xml"), "{name}");
        assert!(name.len() >= "orc-x-".len() + 6 + 4, "random part: {name}");
    }
}

//! Where orc keeps things, resolved in one place.
//!
//! The platform rules are pure functions of their inputs (environment values passed in),
//! so both the Windows and the Unix rules are tested on every platform.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::env_vars;
use crate::error::{Error, Result};

/// File name of the database inside the home.
pub const DB_FILE: &str = "orc.db";

/// The resolved locations for one orc home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The data directory.
    pub home: PathBuf,
    /// An explicit vault key file, overriding `ORC_KEY_FILE` and the default (see
    /// [`Paths::with_key_file`]).
    key_file_override: Option<PathBuf>,
}

impl Paths {
    /// Resolves the home: `--home`, else `ORC_HOME`, else the platform default.
    /// The result is absolute (relative values are taken against the current directory).
    pub fn resolve(cli_home: Option<&Path>) -> Result<Paths> {
        let chosen = match cli_home {
            Some(p) => Some(p.to_path_buf()),
            None => env_vars::get(env_vars::ORC_HOME).map(PathBuf::from),
        };
        let home = match chosen {
            Some(p) => p,
            None => platform_default_home().ok_or_else(|| {
                Error::Usage("cannot work out a data directory: set --home or ORC_HOME".to_string())
            })?,
        };
        // Checked before and after making the path absolute: on Unix `\\server\share` is a
        // relative name that absolutize would hide under the current directory.
        if is_unc(&home) || is_unc(&absolutize(&home)?) {
            return Err(Error::invalid(
                "--home",
                home.display().to_string(),
                "the database cannot live on a network path (UNC); SQLite locking and WAL \
                 are unreliable there — use a local disk",
            ));
        }
        let home = absolutize(&home)?;
        Ok(Paths { home, key_file_override: None })
    }

    /// A `Paths` for an explicit directory, without consulting the environment.
    pub fn at(home: impl Into<PathBuf>) -> Paths {
        Paths { home: home.into(), key_file_override: None }
    }

    /// The same paths with an explicit vault key file (used by tests and embedders).
    pub fn with_key_file(mut self, key_file: PathBuf) -> Paths {
        self.key_file_override = Some(key_file);
        self
    }

    /// The SQLite database.
    pub fn db(&self) -> PathBuf {
        self.home.join(DB_FILE)
    }

    /// orc's own diagnostic logs (fallback log when the database cannot take a result).
    pub fn logs_dir(&self) -> PathBuf {
        self.home.join("logs")
    }

    /// Full output of runs, spilled to files (bounded by retention).
    pub fn runs_dir(&self) -> PathBuf {
        self.home.join("runs")
    }

    /// Scratch space (e.g. task XML handed to schtasks).
    pub fn tmp_dir(&self) -> PathBuf {
        self.home.join("tmp")
    }

    /// The default vault key file for this home: never inside the home itself, so that a
    /// copy of the data directory does not carry the key. `ORC_KEY_FILE` overrides it.
    pub fn key_file(&self) -> Option<PathBuf> {
        if let Some(p) = &self.key_file_override {
            return Some(p.clone());
        }
        if let Some(p) = env_vars::get(env_vars::ORC_KEY_FILE) {
            return Some(PathBuf::from(p));
        }
        self.default_key_file()
    }

    /// The platform's per-home key file (what [`Paths::key_file`] is without an override):
    /// it belongs to this home alone, so removing the home may remove it too.
    pub fn default_key_file(&self) -> Option<PathBuf> {
        let dir = platform_key_dir()?;
        Some(dir.join(format!("{}.key", home_id(&self.home))))
    }

    /// Whether [`Paths::key_file`] is the per-home default (no `ORC_KEY_FILE`, no override).
    pub fn key_file_is_default(&self) -> bool {
        self.key_file_override.is_none() && env_vars::get(env_vars::ORC_KEY_FILE).is_none()
    }
}

/// A short stable identifier of a home directory, used to name per-home files elsewhere.
pub fn home_id(home: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(home.to_string_lossy().as_bytes());
    hex::encode(&digest[..8])
}

fn absolutize(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| Error::io("read current directory", ".", e))?;
    Ok(cwd.join(p))
}

/// True for UNC paths (`\\server\share\…`, `//server/share/…`), including `\\?\UNC\…`.
/// Device namespace paths (`\\.\`, `\\?\C:\`) are not UNC.
pub fn is_unc(p: &Path) -> bool {
    let s = p.to_string_lossy();
    let s = s.replace('/', "\\");
    if let Some(rest) = s.strip_prefix("\\\\?\\") {
        return rest.len() >= 4 && rest[..4].eq_ignore_ascii_case("UNC\\");
    }
    s.starts_with("\\\\") && !s.starts_with("\\\\.\\")
}

/// Windows default home: `%ProgramData%\orc`, else `<SystemDrive>\ProgramData\orc`.
pub fn windows_default_home(program_data: Option<&OsStr>, system_drive: Option<&OsStr>) -> PathBuf {
    match program_data.filter(|v| !v.is_empty()) {
        Some(pd) => PathBuf::from(pd).join("orc"),
        None => {
            let drive = system_drive
                .filter(|v| !v.is_empty())
                .map(|d| d.to_string_lossy().into_owned())
                .unwrap_or_else(|| "C:".to_string());
            PathBuf::from(format!("{drive}\\ProgramData\\orc"))
        }
    }
}

/// Unix default home: `$XDG_STATE_HOME/orc`, else `$HOME/.local/state/orc`.
/// Relative or empty XDG values are ignored, as the XDG spec requires.
pub fn unix_default_home(xdg_state_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    xdg_dir(xdg_state_home, home, ".local/state")
}

/// Unix key directory: `$XDG_CONFIG_HOME/orc/keys`, else `$HOME/.config/orc/keys`.
pub fn unix_key_dir(xdg_config_home: Option<&OsStr>, home: Option<&OsStr>) -> Option<PathBuf> {
    xdg_dir(xdg_config_home, home, ".config").map(|d| d.join("keys"))
}

/// Windows key directory: `%LOCALAPPDATA%\orc\keys` (per user, outside ProgramData).
pub fn windows_key_dir(local_app_data: Option<&OsStr>) -> Option<PathBuf> {
    local_app_data.filter(|v| !v.is_empty()).map(|d| PathBuf::from(d).join("orc").join("keys"))
}

fn xdg_dir(xdg: Option<&OsStr>, home: Option<&OsStr>, fallback: &str) -> Option<PathBuf> {
    if let Some(x) = xdg.filter(|v| !v.is_empty()) {
        // Unix rules on every platform (so they are testable anywhere): absolute = starts with /.
        if x.to_string_lossy().starts_with('/') {
            return Some(PathBuf::from(x).join("orc"));
        }
    }
    let home = home.filter(|v| !v.is_empty())?;
    home.to_string_lossy().starts_with('/').then(|| PathBuf::from(home).join(fallback).join("orc"))
}

fn platform_default_home() -> Option<PathBuf> {
    if cfg!(windows) {
        Some(windows_default_home(
            std::env::var_os("ProgramData").as_deref(),
            std::env::var_os("SystemDrive").as_deref(),
        ))
    } else {
        unix_default_home(
            std::env::var_os("XDG_STATE_HOME").as_deref(),
            std::env::var_os("HOME").as_deref(),
        )
    }
}

fn platform_key_dir() -> Option<PathBuf> {
    if cfg!(windows) {
        windows_key_dir(std::env::var_os("LOCALAPPDATA").as_deref())
    } else {
        unix_key_dir(
            std::env::var_os("XDG_CONFIG_HOME").as_deref(),
            std::env::var_os("HOME").as_deref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn windows_home_prefers_program_data() {
        assert_eq!(
            windows_default_home(os("D:\\PD"), os("C:")),
            PathBuf::from("D:\\PD").join("orc")
        );
        assert_eq!(windows_default_home(None, os("E:")), PathBuf::from("E:\\ProgramData\\orc"));
        assert_eq!(windows_default_home(os(""), None), PathBuf::from("C:\\ProgramData\\orc"));
    }

    #[test]
    fn unix_home_follows_xdg_and_ignores_relative_values() {
        assert_eq!(
            unix_default_home(os("/x/state"), os("/home/u")),
            Some(PathBuf::from("/x/state/orc"))
        );
        assert_eq!(
            unix_default_home(os("relative"), os("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/orc"))
        );
        assert_eq!(
            unix_default_home(None, os("/home/u")),
            Some(PathBuf::from("/home/u/.local/state/orc"))
        );
        assert_eq!(unix_default_home(None, None), None);
        assert_eq!(unix_default_home(None, os("rel")), None);
    }

    #[test]
    fn key_dirs_are_outside_the_data_directory() {
        let home = unix_default_home(None, os("/home/u")).unwrap();
        let keys = unix_key_dir(None, os("/home/u")).unwrap();
        assert!(!keys.starts_with(&home));
        assert_eq!(keys, PathBuf::from("/home/u/.config/orc/keys"));
        assert_eq!(
            windows_key_dir(os("C:\\Users\\a\\AppData\\Local")),
            Some(PathBuf::from("C:\\Users\\a\\AppData\\Local").join("orc").join("keys"))
        );
    }

    #[test]
    fn unc_paths_are_recognised() {
        assert!(is_unc(Path::new("\\\\server\\share\\orc")));
        assert!(is_unc(Path::new("//server/share/orc")));
        assert!(is_unc(Path::new("\\\\?\\UNC\\server\\share")));
        assert!(!is_unc(Path::new("\\\\?\\C:\\data")));
        assert!(!is_unc(Path::new("\\\\.\\pipe\\x")));
        assert!(!is_unc(Path::new("C:\\data")));
        assert!(!is_unc(Path::new("/var/lib/orc")));
    }

    #[test]
    fn unc_homes_are_refused_on_every_platform() {
        for home in ["\\\\server\\share\\orc", "//server/share/orc", "\\\\?\\UNC\\server\\share"] {
            let e = Paths::resolve(Some(Path::new(home))).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::exit::USAGE, "{home}");
            assert!(e.to_string().contains("network path"), "{e}");
        }
        assert!(Paths::resolve(Some(Path::new("relative-home"))).unwrap().home.is_absolute());
    }

    #[test]
    fn home_id_is_stable_and_distinct() {
        let a = home_id(Path::new("/a"));
        assert_eq!(a, home_id(Path::new("/a")));
        assert_ne!(a, home_id(Path::new("/b")));
        assert_eq!(a.len(), 16);
    }
}

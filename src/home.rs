//! An orc home as a whole: creating and securing it (`orc home init`, what `install.ps1` runs)
//! and removing it (`orc uninstall`). The rules themselves have their owners — the private
//! directory and file modes in [`crate::fsx`], the Windows DACL in [`crate::fsx::acl`], the
//! database in [`crate::store`]; this module only puts them in order.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::paths::Paths;
use crate::store::Store;

/// What [`init`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Initialised {
    /// The home directory.
    pub home: PathBuf,
    /// True when this call created the home (false: it existed and was brought up to the rules).
    pub created: bool,
    /// The database: the SQLite file, or the PostgreSQL URL without its password.
    pub database: PathBuf,
    /// `sqlite` or the PostgreSQL URL (without its password) this home uses.
    pub store: String,
    /// The database's schema version after migrations.
    pub schema_version: i64,
    /// The permissions applied: the DACL as SDDL on Windows, the modes on Unix.
    pub permissions: String,
}

/// Creates the home if needed, makes it private (the protected DACL on Windows, admitting the
/// tasks' run-as accounts; 0700/0600 on Unix), creates or migrates the database. Idempotent:
/// on an existing home it re-applies the permissions and changes nothing else. A store given
/// with `--store` or `ORC_STORE` (`store`) is connected to, migrated, and written into the
/// home's `store.conf`, so that every orc process of this home (the runs Task Scheduler
/// starts too) uses it; `sqlite` removes the file.
pub fn init(paths: &Paths, store: Option<&str>) -> Result<(Initialised, Store)> {
    let created = !paths.home.is_dir();
    let (location, source) = crate::store::location::select(&paths.home, store)?;
    let store = Store::open_at(&paths.home, location.clone())?;
    if matches!(source, crate::store::location::Source::Flag | crate::store::location::Source::Env)
    {
        crate::store::location::write_bootstrap(&paths.home, &location)?;
    }
    let applied = crate::fsx::acl::secure_home_for_tasks(&paths.home, &store)?;
    let permissions = if applied.sddl.is_empty() {
        format!(
            "directories {:o}, files {:o}",
            crate::fsx::PRIVATE_DIR_MODE,
            crate::fsx::PRIVATE_FILE_MODE
        )
    } else {
        applied.sddl
    };
    let info = Initialised {
        home: paths.home.clone(),
        created,
        database: store.path().to_path_buf(),
        store: location.display(),
        schema_version: store.schema_version()?,
        permissions,
    };
    Ok((info, store))
}

/// What [`remove`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// The home directory.
    pub home: PathBuf,
    /// True when the home existed and was removed.
    pub removed: bool,
    /// The per-home vault key file removed with it, if there was one.
    pub key_file: Option<PathBuf>,
}

/// True when `paths.home` is an orc home: it holds its SQLite database, or the `store.conf`
/// that joins it to a PostgreSQL store (whose data stays on removal: it is the fleet's).
pub fn is_home(paths: &Paths) -> bool {
    paths.db().is_file() || crate::store::location::bootstrap_path(&paths.home).is_file()
}

/// Refuses to remove `paths.home` unless it is an orc home (it holds orc's database): a
/// mistyped `--home C:\` must never be emptied. Nothing is changed when it refuses.
pub fn check_removable(paths: &Paths) -> Result<()> {
    if paths.home.exists() && !is_home(paths) {
        return Err(Error::invalid(
            "--home",
            paths.home.display().to_string(),
            format!(
                "it holds neither {} nor {} — not an orc home, so orc will not remove it",
                crate::paths::DB_FILE,
                crate::store::location::BOOTSTRAP_FILE
            ),
        ));
    }
    Ok(())
}

/// Removes the home with everything in it (database, logs, run output) and this home's own
/// vault key file (the per-home default; a key file named by `ORC_KEY_FILE` may serve other
/// homes and is left alone). The caller must have closed the database first.
pub fn remove(paths: &Paths) -> Result<Removed> {
    check_removable(paths)?;
    let removed = paths.home.exists();
    if removed {
        std::fs::remove_dir_all(&paths.home)
            .map_err(|e| Error::io("remove", paths.home.clone(), e))?;
    }
    let mut key_file = None;
    if paths.key_file_is_default()
        && let Some(k) = paths.default_key_file()
        && k.is_file()
    {
        std::fs::remove_file(&k).map_err(|e| Error::io("remove", k.clone(), e))?;
        key_file = Some(k);
    }
    Ok(Removed { home: paths.home.clone(), removed, key_file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_is_idempotent_and_remove_takes_the_home_away() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path().join("home")).with_key_file(dir.path().join("k.key"));
        let (first, store) = init(&paths, None).unwrap();
        drop(store);
        assert!(first.created);
        assert_eq!(first.schema_version, crate::store::MIGRATIONS.len() as i64);
        assert!(paths.db().is_file());
        let (second, store) = init(&paths, None).unwrap();
        drop(store);
        assert!(!second.created);
        assert_eq!(second.schema_version, first.schema_version);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&paths.home).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
            assert_eq!(second.permissions, "directories 700, files 600");
        }
        let removed = remove(&paths).unwrap();
        assert!(removed.removed);
        assert_eq!(removed.key_file, None, "an explicit key file is never removed");
        assert!(!paths.home.exists());
        // Nothing left: a second removal is a no-op.
        assert!(!remove(&paths).unwrap().removed);
    }

    #[test]
    fn a_directory_without_a_database_is_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("precious.txt"), b"x").unwrap();
        let paths = Paths::at(dir.path());
        let e = remove(&paths).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
        assert!(e.to_string().contains("not an orc home"), "{e}");
        assert!(dir.path().join("precious.txt").is_file());
    }
}

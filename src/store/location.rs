//! Which database a home uses: SQLite in the home (the default) or a PostgreSQL server shared
//! by a fleet. One owner for the choice, read in this order:
//! 1. `--store URL` (the CLI passes it in), 2. `ORC_STORE`, 3. the `store.url` line of the
//!    home's bootstrap file `store.conf` — what `orc execute` started by the OS scheduler reads,
//!    since it gets neither flag nor environment — 4. SQLite (`orc.db` in the home).
//!
//! A value is `sqlite` or a `postgres://` / `postgresql://` URL.

use std::path::{Path, PathBuf};

use super::StoreError;

/// The bootstrap file in a home.
pub const BOOTSTRAP_FILE: &str = "store.conf";
/// Its one key.
pub const BOOTSTRAP_KEY: &str = "store.url";

/// Where a home's data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `orc.db` in the home.
    Sqlite,
    /// A PostgreSQL server (the URL as given, password included: never print it, use
    /// [`Location::display`]).
    Postgres(String),
}

/// Where a location setting came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Bootstrap,
    Default,
}

impl Location {
    /// Parses a `--store` / `ORC_STORE` / `store.url` value.
    pub fn parse(value: &str) -> Result<Location, String> {
        let v = value.trim();
        if v.eq_ignore_ascii_case("sqlite") {
            return Ok(Location::Sqlite);
        }
        let lower = v.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Location::Postgres(v.to_string()));
        }
        Err(format!(
            "{:?} is not a store: give `sqlite` or a PostgreSQL URL (postgres://user@host/database)",
            super::sql::redact_url(v)
        ))
    }

    /// The location for messages and JSON: `sqlite`, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite => "sqlite".to_string(),
            Location::Postgres(url) => super::sql::redact_url(url),
        }
    }

    /// The value to write back (`store.url`, `ORC_STORE` of a child).
    pub fn value(&self) -> &str {
        match self {
            Location::Sqlite => "sqlite",
            Location::Postgres(url) => url,
        }
    }
}

/// The home's bootstrap file.
pub fn bootstrap_path(home: &Path) -> PathBuf {
    home.join(BOOTSTRAP_FILE)
}

/// The store a home uses, given the `--store` value if any.
pub fn select(home: &Path, flag: Option<&str>) -> Result<(Location, Source), StoreError> {
    let bad = |origin: String, message: String| StoreError::Location { origin, message };
    if let Some(v) = flag {
        return Location::parse(v).map(|l| (l, Source::Flag)).map_err(|m| bad("--store".into(), m));
    }
    if let Some(v) = crate::env_vars::get(crate::env_vars::ORC_STORE) {
        let v = v.to_string_lossy();
        return Location::parse(&v)
            .map(|l| (l, Source::Env))
            .map_err(|m| bad(crate::env_vars::ORC_STORE.into(), m));
    }
    match read_bootstrap(home)? {
        Some(l) => Ok((l, Source::Bootstrap)),
        None => Ok((Location::Sqlite, Source::Default)),
    }
}

/// Refuses to register tasks from a store the registered runs would not find: Task Scheduler
/// and cron start `orc execute` with neither `--store` nor `ORC_STORE`, so it reads the home's
/// `store.conf`. A `--store`/`ORC_STORE` that names another database would register tasks
/// whose runs look them up elsewhere.
pub fn check_registrable(home: &Path, flag: Option<&str>) -> Result<(), StoreError> {
    let (location, source) = select(home, flag)?;
    let origin = match source {
        Source::Flag => "--store",
        Source::Env => crate::env_vars::ORC_STORE,
        Source::Bootstrap | Source::Default => return Ok(()),
    };
    let registered = read_bootstrap(home)?.unwrap_or(Location::Sqlite);
    if registered == location {
        return Ok(());
    }
    Err(StoreError::Location {
        origin: origin.to_string(),
        message: format!(
            "the runs Task Scheduler or cron starts read this home's {BOOTSTRAP_FILE} and would \
             use {}, not {}; join the home to the store first: `orc --store URL home init`",
            registered.display(),
            location.display()
        ),
    })
}

/// The location written in the home's bootstrap file, if there is one.
pub fn read_bootstrap(home: &Path) -> Result<Option<Location>, StoreError> {
    let path = bootstrap_path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoreError::CreateDir { path, source }),
    };
    parse_bootstrap(&text)
        .map_err(|message| StoreError::Location { origin: path.display().to_string(), message })
}

/// Parses a bootstrap file: `#` comments, blank lines and `store.url = VALUE`.
pub fn parse_bootstrap(text: &str) -> Result<Option<Location>, String> {
    let mut found = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected `{BOOTSTRAP_KEY} = VALUE`", i + 1));
        };
        if key.trim() != BOOTSTRAP_KEY {
            return Err(format!(
                "line {}: unknown key {:?} (the file has only `{BOOTSTRAP_KEY}`)",
                i + 1,
                key.trim()
            ));
        }
        found = Some(Location::parse(value).map_err(|m| format!("line {}: {m}", i + 1))?);
    }
    Ok(found)
}

/// Writes the home's bootstrap file (private to the owner, like the database), or removes it
/// for SQLite.
pub fn write_bootstrap(home: &Path, location: &Location) -> Result<(), StoreError> {
    let path = bootstrap_path(home);
    let io = |source| StoreError::CreateDir { path: path.clone(), source };
    match location {
        Location::Sqlite => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        },
        Location::Postgres(url) => {
            let text = format!(
                "# The database this orc home uses (orc home init --store). Read by every orc\n\
                 # process, including the runs Task Scheduler or cron starts.\n{BOOTSTRAP_KEY} = {url}\n"
            );
            crate::fsx::write_private_atomic(&path, text.as_bytes()).map_err(io)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_and_display_without_passwords() {
        assert_eq!(Location::parse("SQLite"), Ok(Location::Sqlite));
        let l = Location::parse(" postgres://orc:pw@db/orc ").unwrap();
        assert_eq!(l.value(), "postgres://orc:pw@db/orc");
        assert_eq!(l.display(), "postgres://orc:***@db/orc");
        assert_eq!(
            Location::parse("mysql://x:pw@h/d").unwrap_err(),
            "\"mysql://x:***@h/d\" is not a store: give `sqlite` or a PostgreSQL URL (postgres://user@host/database)"
        );
    }

    #[test]
    fn bootstrap_files_parse_strictly() {
        assert_eq!(parse_bootstrap("# c\n\n"), Ok(None));
        assert_eq!(
            parse_bootstrap("store.url = postgresql://h/d\n"),
            Ok(Some(Location::Postgres("postgresql://h/d".into())))
        );
        assert_eq!(
            parse_bootstrap("url = x").unwrap_err(),
            "line 1: unknown key \"url\" (the file has only `store.url`)"
        );
        assert!(parse_bootstrap("store.url").unwrap_err().starts_with("line 1: expected"));
    }
}

//! What a task's process starts with: its working directory and its environment.
//!
//! * Working directory: the task's `workdir` (it must exist — a missing directory fails the
//!   run with a clear error, it is never silently replaced), else the orc home. Never the
//!   directory orc happened to be started in (Task Scheduler starts programs in System32).
//! * Environment: orc's own, minus every `ORC_*` variable (orc's settings, and the vault
//!   passphrase, are not the task's business), plus the task's `env`, plus its secrets.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::paths::Paths;
use crate::store::Store;
use crate::task::TaskSpec;

/// A secret value handed to the child, wiped from orc's memory on drop.
pub type SecretValue = Zeroizing<String>;

/// Why the secrets of a task could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsUnavailable(pub String);

/// Resolves the task's `secret_env` (variable → credential name) into values, just before the
/// spawn. `interactive`: a passphrase may be asked for on the terminal (never for scheduled
/// runs).
///
/// This is the one place the vault is wired into the executor: values are decrypted here,
/// immediately before the spawn, and live only in zeroizing buffers.
pub fn resolve_secret_env(
    store: &Store,
    paths: &Paths,
    spec: &TaskSpec,
    interactive: bool,
) -> Result<Vec<(String, SecretValue)>, SecretsUnavailable> {
    let secrets = crate::vault::resolve_secret_env(store, paths, spec, interactive)
        .map_err(|e| SecretsUnavailable(e.to_string()))?;
    Ok(secrets
        .into_iter()
        .map(|(key, secret)| (key, Zeroizing::new(secret.expose_str().to_string())))
        .collect())
}

/// The working directory of a task's process, or an error sentence.
pub fn workdir(spec: &TaskSpec, home: &Path) -> Result<PathBuf, String> {
    match spec.workdir.as_deref().filter(|w| !w.trim().is_empty()) {
        None => Ok(home.to_path_buf()),
        Some(w) => {
            let p = PathBuf::from(w);
            let p = if p.is_absolute() { p } else { home.join(p) };
            // Any other error (access denied on a parent, a parent that is a file, a share
            // the account cannot reach) is named as such, not as "does not exist".
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => Ok(p),
                Ok(_) => Err(format!("working directory {} is not a directory", p.display())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(format!("working directory {} does not exist", p.display()))
                }
                Err(e) => Err(format!(
                    "working directory {} cannot be reached by the account the task runs as: {e}",
                    p.display()
                )),
            }
        }
    }
}

fn same_name(a: &OsStr, b: &OsStr) -> bool {
    if cfg!(windows) {
        a.to_string_lossy().eq_ignore_ascii_case(&b.to_string_lossy())
    } else {
        a == b
    }
}

fn is_orc_var(name: &OsStr) -> bool {
    let n = name.to_string_lossy();
    n.len() >= 4 && n[..4].eq_ignore_ascii_case("ORC_")
}

/// The complete environment of a task's process.
pub fn child_env(
    inherited: impl IntoIterator<Item = (OsString, OsString)>,
    spec: &TaskSpec,
    secrets: &[(String, SecretValue)],
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> =
        inherited.into_iter().filter(|(k, _)| !is_orc_var(k)).collect();
    let mut set = |k: &str, v: &str| {
        let k = OsString::from(k);
        env.retain(|(existing, _)| !same_name(existing, &k));
        env.push((k, OsString::from(v)));
    };
    for (k, v) in &spec.env {
        set(k, v);
    }
    for (k, v) in secrets {
        set(k, v.as_str());
    }
    env
}

/// The `PATH` in an environment (to resolve a program the way the child would).
pub fn path_of(env: &[(OsString, OsString)]) -> Option<&OsStr> {
    env.iter().find(|(k, _)| same_name(k, OsStr::new("PATH"))).map(|(_, v)| v.as_os_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orc_variables_are_removed_and_task_env_wins() {
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        spec.env.insert("GREETING".into(), "hi".into());
        spec.env.insert("HOME_OVERRIDE".into(), "task".into());
        let inherited = vec![
            (OsString::from("ORC_HOME"), OsString::from("/x")),
            (OsString::from("orc_vault_passphrase"), OsString::from("secret")),
            (OsString::from("HOME_OVERRIDE"), OsString::from("inherited")),
            (OsString::from("PATH"), OsString::from("/bin")),
            (OsString::from("ORCHESTRA"), OsString::from("kept")),
        ];
        let secrets = vec![("TOKEN".to_string(), Zeroizing::new("s3cr3t".to_string()))];
        let env = child_env(inherited, &spec, &secrets);
        let get = |k: &str| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string_lossy().into_owned())
        };
        assert_eq!(get("ORC_HOME"), None);
        assert_eq!(get("orc_vault_passphrase"), None);
        assert_eq!(get("ORCHESTRA").as_deref(), Some("kept"));
        assert_eq!(get("HOME_OVERRIDE").as_deref(), Some("task"));
        assert_eq!(get("GREETING").as_deref(), Some("hi"));
        assert_eq!(get("TOKEN").as_deref(), Some("s3cr3t"));
        assert_eq!(path_of(&env), Some(OsStr::new("/bin")));
    }

    #[test]
    fn workdir_rules() {
        let home = tempfile::tempdir().unwrap();
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        assert_eq!(workdir(&spec, home.path()).unwrap(), home.path());
        spec.workdir = Some(home.path().join("missing").to_string_lossy().into_owned());
        let err = workdir(&spec, home.path()).unwrap_err();
        assert!(err.contains("does not exist") && err.contains("missing"), "{err}");
        std::fs::create_dir(home.path().join("sub")).unwrap();
        spec.workdir = Some("sub".into());
        assert_eq!(workdir(&spec, home.path()).unwrap(), home.path().join("sub"));
        std::fs::write(home.path().join("file"), "x").unwrap();
        spec.workdir = Some("file".into());
        let err = workdir(&spec, home.path()).unwrap_err();
        assert!(err.ends_with("is not a directory"), "{err}");
        if cfg!(unix) {
            spec.workdir = Some("file/below".into());
            let err = workdir(&spec, home.path()).unwrap_err();
            assert!(err.contains("cannot be reached by the account the task runs as"), "{err}");
        }
    }

    #[test]
    fn secrets_are_refused_until_the_vault_is_wired() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let paths = Paths::at(dir.path());
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        assert!(resolve_secret_env(&store, &paths, &spec, false).unwrap().is_empty());
        spec.secret_env.insert("PASSWORD".into(), "db-password".into());
        let err = resolve_secret_env(&store, &paths, &spec, false).unwrap_err();
        assert!(err.0.contains("db-password"), "{err:?}");
    }
}

//! What `orc task add` and `orc task edit` were told, as text, and how it turns into a
//! [`TaskSpec`]. The CLI only copies its flags into a [`TaskPatch`]; parsing and validation
//! live here and in [`super::validate`], shared with import.
//!
//! Edit semantics: only the fields given change. Map flags (`--env`, `--secret-env`) set
//! those keys (replacing a key spelled in another letter case); list flags (`--depends-on`,
//! `--email`, `--retry-on`) append what is not already there. `--clear-*` and `--unset-*`
//! apply first, so `--clear-email --email new@x` replaces the list.

use crate::error::{Error, Result};

use super::validate::{self as v};
use super::{TaskSpec, deps};

/// Flag values as typed. `None` / empty / `false` means "not given". The REST API reads it
/// from a JSON object with the same field names (unknown fields refused).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskPatch {
    pub command: Option<String>,
    pub schedule: Option<String>,
    pub shell: Option<String>,
    pub workdir: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<String>,
    pub retry_delay: Option<String>,
    pub backoff: Option<String>,
    pub retry_on: Vec<String>,
    pub env: Vec<String>,
    pub secret_env: Vec<String>,
    pub depends_on: Vec<String>,
    pub on_unmet: Option<String>,
    pub notify: Option<String>,
    pub notify_after: Option<String>,
    pub email: Vec<String>,
    /// `--notify-channel NAME` (repeatable).
    pub notify_channels: Vec<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub overlap: Option<String>,
    pub catch_up: Option<String>,
    pub run_as: Option<String>,
    /// `--logon interactive|s4u|password`.
    pub logon: Option<String>,
    /// `Some(false)` for `--disabled`, `Some(true)` for `--enabled`.
    pub enabled: Option<bool>,
    pub allow_env_override: Option<bool>,
    pub wake_to_run: Option<bool>,
    /// `--at-boot` / `--no-at-boot`.
    pub at_boot: Option<bool>,
    pub allow_breakaway: Option<bool>,
    /// `--hosts h1,h2,@group`: replaces the task's hosts.
    pub hosts: Option<String>,
    /// `--run-on any|all`.
    pub run_on: Option<String>,
    // Edit only: removals, applied before the additions above.
    pub clear_workdir: bool,
    pub clear_env: bool,
    pub unset_env: Vec<String>,
    pub clear_secret_env: bool,
    pub unset_secret_env: Vec<String>,
    pub clear_deps: bool,
    pub clear_email: bool,
    pub clear_notify_channels: bool,
    pub clear_retry_on: bool,
    pub clear_owner: bool,
    pub clear_description: bool,
    pub clear_run_as: bool,
    pub clear_logon: bool,
    pub clear_hosts: bool,
}

impl TaskPatch {
    /// True when no field is given (an `edit` with nothing to do): every field at its
    /// default, which is "not given" for each of them.
    pub fn is_empty(&self) -> bool {
        *self == TaskPatch::default()
    }

    /// A new task from `orc task add NAME --command … --schedule …` and these flags,
    /// validated (apart from references to other tasks: see [`deps::check_graph`]).
    pub fn build(&self, name: &str) -> Result<TaskSpec> {
        v::validate_name(name)?;
        let command =
            self.command.as_deref().ok_or_else(|| Error::Usage("--command is required".into()))?;
        let schedule = self
            .schedule
            .as_deref()
            .ok_or_else(|| Error::Usage("--schedule is required".into()))?;
        let mut spec = TaskSpec::new(name, command, schedule);
        self.apply_to(&mut spec, true)?;
        v::validate(&spec)?;
        Ok(spec)
    }

    /// Applies an edit to a stored task and validates the result.
    pub fn edit(&self, current: &TaskSpec) -> Result<TaskSpec> {
        let mut spec = current.clone();
        self.apply_to(&mut spec, false)?;
        v::validate(&spec)?;
        Ok(spec)
    }

    fn apply_to(&self, spec: &mut TaskSpec, adding: bool) -> Result<()> {
        // Removals first.
        if self.clear_env {
            spec.env.clear();
        }
        for key in &self.unset_env {
            remove_key(&mut spec.env, "--unset-env", key)?;
        }
        if self.clear_secret_env {
            spec.secret_env.clear();
        }
        for key in &self.unset_secret_env {
            remove_key(&mut spec.secret_env, "--unset-secret-env", key)?;
        }
        if self.clear_deps {
            spec.depends_on.clear();
        }
        if self.clear_email {
            spec.email.clear();
        }
        if self.clear_notify_channels {
            spec.notify_channels.clear();
        }
        if self.clear_retry_on {
            spec.retry_on.clear();
        }
        let clears = [
            (self.clear_workdir, &mut spec.workdir),
            (self.clear_owner, &mut spec.owner),
            (self.clear_description, &mut spec.description),
            (self.clear_run_as, &mut spec.run_as),
        ];
        for (clear, slot) in clears {
            if clear {
                *slot = None;
            }
        }
        if self.clear_logon {
            spec.logon = None;
        }
        if self.clear_hosts {
            spec.hosts.clear();
        }

        // Scalars. The shell comes first: the command's limits depend on it.
        set(&mut spec.shell, &self.shell, str::parse)?;
        set(&mut spec.command, &self.command, |c| Ok(c.to_string()))?;
        set(&mut spec.schedule, &self.schedule, |s| Ok(s.to_string()))?;
        set(&mut spec.workdir, &self.workdir, |w| Ok(Some(w.to_string())))?;
        set(&mut spec.timeout, &self.timeout, v::parse_timeout)?;
        set(&mut spec.retries, &self.retries, v::parse_retries)?;
        set(&mut spec.retry_delay, &self.retry_delay, v::parse_retry_delay)?;
        set(&mut spec.backoff, &self.backoff, str::parse)?;
        set(&mut spec.on_unmet, &self.on_unmet, str::parse)?;
        set(&mut spec.notify, &self.notify, str::parse)?;
        set(&mut spec.notify_after, &self.notify_after, v::parse_notify_after)?;
        set(&mut spec.overlap, &self.overlap, str::parse)?;
        set(&mut spec.catch_up, &self.catch_up, str::parse)?;
        set(&mut spec.run_on, &self.run_on, str::parse)?;
        set(&mut spec.hosts, &self.hosts, |h| {
            let list = crate::fleet::names::split_list(h);
            crate::fleet::names::validate_refs("--hosts", &list)?;
            Ok(list)
        })?;
        // An empty --owner / --description / --run-as means "none" (convenient in scripts).
        set(&mut spec.owner, &self.owner, unless_empty)?;
        set(&mut spec.description, &self.description, unless_empty)?;
        set(&mut spec.run_as, &self.run_as, unless_empty)?;
        set(&mut spec.logon, &self.logon, |l| super::runas::Logon::parse(l).map(Some))?;
        let switches = [
            (&mut spec.enabled, self.enabled),
            (&mut spec.allow_env_override, self.allow_env_override),
            (&mut spec.wake_to_run, self.wake_to_run),
            (&mut spec.at_boot, self.at_boot),
            (&mut spec.allow_breakaway, self.allow_breakaway),
        ];
        for (slot, given) in switches {
            if let Some(value) = given {
                *slot = value;
            }
        }

        // Maps and lists.
        // `--env` then `--secret-env`: one variable name is given once across both (names are
        // case-insensitive on Windows); on edit, setting one kind removes the other.
        let mut given = std::collections::BTreeSet::new();
        let plain = self.env.iter().map(|pair| (false, pair));
        for (secret, pair) in plain.chain(self.secret_env.iter().map(|pair| (true, pair))) {
            let field = if secret { "--secret-env" } else { "--env" };
            let (k, val) = v::parse_pair(field, pair)?;
            v::check_env_key(field, &k, spec.allow_env_override)?;
            if secret {
                v::validate_credential_name(&val)?;
            } else {
                v::check_env_value(&k, &val)?;
            }
            if !given.insert(k.to_ascii_uppercase()) {
                let rule = if secret {
                    "variable given twice, or by both --env and --secret-env (names are case-insensitive on Windows)"
                } else {
                    "variable given twice (names are case-insensitive on Windows)"
                };
                return Err(Error::invalid(field, pair, rule));
            }
            let (into, other) = if secret {
                (&mut spec.secret_env, &mut spec.env)
            } else {
                (&mut spec.env, &mut spec.secret_env)
            };
            into.retain(|old, _| !old.eq_ignore_ascii_case(&k));
            other.retain(|old, _| adding || !old.eq_ignore_ascii_case(&k));
            into.insert(k, val);
        }
        for text in &self.depends_on {
            let dep = deps::parse(text)?;
            let exists = spec
                .depends_on
                .iter()
                .any(|d| deps::parse(d).is_ok_and(|d| d.identity() == dep.identity()));
            if exists {
                if adding {
                    return Err(Error::invalid("--depends-on", text, "dependency listed twice"));
                }
                // On edit, a new form of an existing check replaces it (e.g. a new max_age).
                spec.depends_on
                    .retain(|d| deps::parse(d).map_or(true, |d| d.identity() != dep.identity()));
            }
            spec.depends_on.push(text.clone());
        }
        for addr in &self.email {
            v::check_email(addr)?;
            if spec.email.iter().any(|e| e.eq_ignore_ascii_case(addr)) {
                if adding {
                    return Err(Error::invalid("--email", addr, "recipient listed twice"));
                }
                continue;
            }
            spec.email.push(addr.clone());
        }
        for name in &self.notify_channels {
            crate::notify::channels::validate_refs("--notify-channel", std::slice::from_ref(name))?;
            if spec.notify_channels.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                if adding {
                    return Err(Error::invalid("--notify-channel", name, "channel listed twice"));
                }
                continue;
            }
            spec.notify_channels.push(name.clone());
        }
        for text in &self.retry_on {
            for code in v::parse_retry_on(text)? {
                if spec.retry_on.contains(&code) {
                    if adding {
                        return Err(Error::invalid("--retry-on", text, "exit code listed twice"));
                    }
                    continue;
                }
                spec.retry_on.push(code);
            }
        }
        Ok(())
    }
}

/// Sets `slot` from a flag's text when the flag was given.
fn set<T>(
    slot: &mut T,
    given: &Option<String>,
    parse: impl FnOnce(&str) -> Result<T>,
) -> Result<()> {
    if let Some(text) = given {
        *slot = parse(text)?;
    }
    Ok(())
}

/// A text flag whose empty value means "none".
fn unless_empty(text: &str) -> Result<Option<String>> {
    Ok(Some(text.to_string()).filter(|s| !s.is_empty()))
}

fn remove_key(
    map: &mut std::collections::BTreeMap<String, String>,
    field: &str,
    key: &str,
) -> Result<()> {
    let before = map.len();
    map.retain(|k, _| !k.eq_ignore_ascii_case(key));
    if map.len() == before {
        return Err(Error::invalid(field, key, "the task has no such variable"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::{Backoff, Shell};

    fn patch() -> TaskPatch {
        TaskPatch {
            command: Some("echo hi".into()),
            schedule: Some("0 2 * * *".into()),
            ..TaskPatch::default()
        }
    }

    #[test]
    fn build_applies_every_flag() {
        let p = TaskPatch {
            shell: Some("powershell".into()),
            timeout: Some("30m".into()),
            retries: Some("3".into()),
            retry_delay: Some("2m".into()),
            backoff: Some("exponential".into()),
            env: vec!["A=1".into(), "B=x=y".into()],
            secret_env: vec!["TOKEN=api-token".into()],
            depends_on: vec!["tcp:db:5432".into()],
            email: vec!["ops@example.com".into()],
            owner: Some("ops".into()),
            description: Some("".into()),
            enabled: Some(false),
            ..patch()
        };
        let s = p.build("nightly").unwrap();
        assert_eq!(s.shell, Shell::Powershell);
        assert_eq!(s.timeout, Some(1800));
        assert_eq!(s.retries, 3);
        assert_eq!(s.retry_delay, 120);
        assert_eq!(s.backoff, Backoff::Exponential);
        assert_eq!(s.env["B"], "x=y");
        assert_eq!(s.secret_env["TOKEN"], "api-token");
        assert_eq!(s.owner.as_deref(), Some("ops"));
        assert_eq!(s.description, None);
        assert!(!s.enabled);
    }

    #[test]
    fn add_refuses_repeats() {
        for p in [
            TaskPatch { env: vec!["A=1".into(), "a=2".into()], ..patch() },
            TaskPatch { env: vec!["A=1".into()], secret_env: vec!["A=cred".into()], ..patch() },
            TaskPatch { email: vec!["a@x.org".into(), "A@X.org".into()], ..patch() },
            TaskPatch { depends_on: vec!["tcp:h:1".into(), "tcp:H:1".into()], ..patch() },
            TaskPatch { retry_on: vec!["1,1".into()], ..patch() },
        ] {
            let e = p.build("t").unwrap_err();
            assert!(e.to_string().contains("twice"), "{e}");
        }
    }

    #[test]
    fn edit_changes_only_what_is_given() {
        let base = TaskPatch {
            env: vec!["KEEP=1".into(), "Mode=a".into()],
            email: vec!["a@x.org".into()],
            depends_on: vec!["cmd:check-input?timeout=1m".into()],
            ..patch()
        }
        .build("t")
        .unwrap();
        assert!(TaskPatch::default().is_empty());
        let e = TaskPatch {
            env: vec!["MODE=b".into()],
            email: vec!["A@x.org".into(), "b@x.org".into()],
            depends_on: vec!["cmd:check-input?timeout=2m".into()],
            ..TaskPatch::default()
        };
        assert!(!e.is_empty());
        let s = e.edit(&base).unwrap();
        assert_eq!(s.command, base.command);
        assert_eq!(s.env.len(), 2);
        assert_eq!(s.env["MODE"], "b");
        assert_eq!(s.email, ["a@x.org", "b@x.org"]);
        assert_eq!(s.depends_on, ["cmd:check-input?timeout=2m"]);

        let c = TaskPatch {
            clear_email: true,
            email: vec!["c@x.org".into()],
            unset_env: vec!["keep".into()],
            ..TaskPatch::default()
        };
        let s2 = c.edit(&s).unwrap();
        assert_eq!(s2.email, ["c@x.org"]);
        assert!(!s2.env.contains_key("KEEP"));
        let bad = TaskPatch { unset_env: vec!["NOPE".into()], ..TaskPatch::default() };
        assert!(bad.edit(&s).unwrap_err().to_string().contains("--unset-env"));
        // An edit moving a variable from plain to secret replaces it.
        let m = TaskPatch { secret_env: vec!["mode=cred".into()], ..TaskPatch::default() };
        let s3 = m.edit(&s).unwrap();
        assert!(s3.env.keys().all(|k| !k.eq_ignore_ascii_case("mode")));
        assert_eq!(s3.secret_env["mode"], "cred");
    }

    #[test]
    fn edit_revalidates_the_whole_task() {
        let base = TaskPatch { shell: Some("sh".into()), ..patch() }.build("t").unwrap();
        // Switching to cmd with a command that is fine for sh but too long for cmd.exe.
        let long = TaskPatch { command: Some("x".repeat(9000)), ..TaskPatch::default() }
            .edit(&base)
            .unwrap();
        let e = TaskPatch { shell: Some("cmd".into()), ..TaskPatch::default() }
            .edit(&long)
            .unwrap_err();
        assert!(e.to_string().contains("--command"), "{e}");
    }
}

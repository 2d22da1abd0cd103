//! `orc schedule --validate NAME`: everything that can be checked about a task before the
//! scheduler runs it — its definition, its cron expression (with the trigger mapping), its
//! dependency specs, whether its command and working directory resolve on this machine, and
//! the registration orc would install (for Task Scheduler: the XML, checked against the
//! structure schtasks accepts).

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use serde::Serialize;

use super::{Backend, RenderEnv, taskxml};
use crate::task::{Shell, TaskSpec};

/// One check and its verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// `definition`, `schedule`, `dependencies`, `command`, `workdir`, `run_as`, `registration`.
    pub check: &'static str,
    pub ok: bool,
    /// What was found (one line per fact).
    pub detail: Vec<String>,
}

/// The cron part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CronSummary {
    pub description: String,
    /// False when Task Scheduler fires on a superset that `orc execute` filters.
    pub exact: bool,
    pub triggers: usize,
    pub notes: Vec<String>,
    /// The next run times (local, `YYYY-MM-DDTHH:MM:SS`).
    pub next: Vec<String>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub task: String,
    pub ok: bool,
    pub backend: &'static str,
    pub path: String,
    pub checks: Vec<Check>,
    /// Every failed check's details, flattened: what makes `--validate` exit 2.
    pub problems: Vec<String>,
    /// Things worth knowing that do not stop the task from running.
    pub warnings: Vec<String>,
    pub cron: Option<CronSummary>,
    /// The registration orc would install (task XML or crontab line).
    pub definition: Option<String>,
}

/// Runs every check for one task. `tasks` are the names of all tasks in the database (for
/// `task:` dependencies); `now` is the local time the next runs are computed from.
pub fn validate(
    spec: &TaskSpec,
    tasks: &[String],
    backend: &dyn Backend,
    env: &RenderEnv<'_>,
    now: NaiveDateTime,
) -> Report {
    let mut checks = Vec::new();
    let mut warnings = Vec::new();

    // Definition.
    let mut detail = Vec::new();
    // Dependencies are checked one by one below; the definition check covers the rest.
    let without_deps = TaskSpec { depends_on: Vec::new(), ..spec.clone() };
    if let Err(e) = crate::task::validate(&without_deps) {
        detail.push(e.to_string());
    }
    if spec.command.trim().is_empty() {
        detail.push("the command is empty".into());
    }
    if spec.command.contains('\0') {
        detail.push("the command contains a NUL character".into());
    }
    checks.push(Check {
        check: "definition",
        ok: detail.is_empty(),
        detail: ok_or(detail, "valid"),
    });

    // Schedule.
    let mut cron = None;
    match crate::cron::CronExpr::parse(&spec.schedule) {
        Ok(expr) => {
            let plan = crate::cron::trigger::plan(&expr);
            let mut next = Vec::new();
            let mut t = now;
            for _ in 0..5 {
                match expr.next_after(t) {
                    Some(n) => {
                        next.push(n.format("%Y-%m-%dT%H:%M:%S").to_string());
                        t = n;
                    }
                    None => break,
                }
            }
            let mut detail = vec![format!("{:?}: {}", spec.schedule, expr.describe())];
            if backend.kind() == "crontab" {
                detail.push(
                    "one crontab line: cron starts it at exactly these minutes, in the system's \
                     local time zone"
                        .to_string(),
                );
            } else {
                detail.push(format!(
                "{} Task Scheduler trigger(s), {}",
                plan.triggers.len(),
                if plan.exact {
                    "exact".to_string()
                } else {
                    "inexact: Task Scheduler fires on a superset and `orc execute --scheduled` skips \
                     the slots the expression does not contain"
                        .to_string()
                }
            ));
            }
            let never = next.is_empty();
            if never {
                detail.push("the expression never fires".into());
            } else {
                detail.push(format!("next: {}", next.join(", ")));
            }
            if backend.kind() != "crontab" {
                warnings.extend(plan.notes.iter().cloned());
            }
            if !spec.enabled {
                warnings.push(
                    "the task is disabled: it is registered disabled and does not run".into(),
                );
            }
            checks.push(Check { check: "schedule", ok: !never, detail });
            cron = Some(CronSummary {
                description: expr.describe(),
                exact: plan.exact,
                triggers: plan.triggers.len(),
                notes: plan.notes.clone(),
                next,
            });
        }
        Err(e) => checks.push(Check {
            check: "schedule",
            ok: false,
            detail: vec![format!("invalid schedule {:?}: {e}", spec.schedule)],
        }),
    }

    // Dependencies.
    let detail: Vec<String> =
        spec.depends_on.iter().filter_map(|d| dependency_problem(d, &spec.name, tasks)).collect();
    let summary = if spec.depends_on.is_empty() {
        "none".to_string()
    } else {
        format!("{} dependency spec(s) well-formed", spec.depends_on.len())
    };
    checks.push(Check {
        check: "dependencies",
        ok: detail.is_empty(),
        detail: ok_or(detail, &summary),
    });

    // Command resolution.
    let (ok, detail, warn) = command_resolution(spec);
    warnings.extend(warn);
    checks.push(Check { check: "command", ok, detail });

    // Working directory.
    if let Some(w) = spec.workdir.as_deref().filter(|w| !w.trim().is_empty()) {
        let p = Path::new(w);
        let detail = if p.is_dir() {
            Vec::new()
        } else if p.exists() {
            vec![format!("working directory {w} is not a directory")]
        } else {
            vec![format!("working directory {w} does not exist")]
        };
        if crate::paths::is_unc(p) || looks_like_mapped_drive(w) {
            warnings.push(format!(
                "working directory {w}: tasks running whether logged on or not (or as SYSTEM) do \
                 not see mapped drives; prefer a local path or a UNC path the account can reach"
            ));
        }
        checks.push(Check {
            check: "workdir",
            ok: detail.is_empty(),
            detail: ok_or(detail, &format!("{w} exists")),
        });
    } else {
        checks.push(Check {
            check: "workdir",
            ok: true,
            detail: vec![format!("none set: runs in the orc home {}", env.home.display())],
        });
    }

    // Run-as account.
    checks.push(run_as_check(spec, env, &mut warnings));
    if backend.kind() == "crontab"
        && let Some(c) = checks.iter_mut().find(|c| c.check == "run_as")
    {
        // A crontab line runs as the crontab's owner, logged on or not.
        *c = super::crontab::run_as_check(spec, env);
    }

    // The registration itself.
    let mut definition = None;
    let path = backend.path_of(&spec.name);
    let reg_check = match backend.render(spec, env) {
        Ok(Some(d)) => {
            let detail = if backend.kind() == "schtasks" {
                taskxml::validate_document(&d.definition)
            } else {
                Vec::new()
            };
            definition = Some(d.definition);
            Check {
                check: "registration",
                ok: detail.is_empty(),
                detail: ok_or(
                    detail,
                    &format!("{} definition for {path} is valid", backend.kind()),
                ),
            }
        }
        Ok(None) => Check {
            check: "registration",
            ok: true,
            detail: vec![format!("nothing is registered for this task with {}", backend.kind())],
        },
        Err(e) => Check { check: "registration", ok: false, detail: vec![e.to_string()] },
    };
    checks.push(reg_check);

    let problems: Vec<String> = checks
        .iter()
        .filter(|c| !c.ok)
        .flat_map(|c| c.detail.iter().map(move |d| format!("{}: {d}", c.check)))
        .collect();
    Report {
        task: spec.name.clone(),
        ok: problems.is_empty(),
        backend: backend.kind(),
        path,
        checks,
        problems,
        warnings,
        cron,
        definition,
    }
}

fn ok_or(problems: Vec<String>, ok: &str) -> Vec<String> {
    if problems.is_empty() { vec![ok.to_string()] } else { problems }
}

fn looks_like_mapped_drive(p: &str) -> bool {
    // Only a heuristic for the warning: drive letters other than C.
    let b = p.as_bytes();
    b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() && !b[0].eq_ignore_ascii_case(&b'c')
}

/// What is wrong with one dependency spec (the task grammar of [`crate::task::deps`], plus:
/// a `task:` dependency names an existing task other than itself), or `None`.
pub fn dependency_problem(spec: &str, own_name: &str, tasks: &[String]) -> Option<String> {
    match crate::task::deps::parse(spec) {
        Err(e) => Some(e.to_string()),
        Ok(crate::task::deps::Dependency::Task { name, .. }) => {
            if name.eq_ignore_ascii_case(own_name) {
                Some(format!("{spec:?}: a task cannot depend on itself"))
            } else if !tasks.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
                Some(format!("{spec:?}: there is no task named {name:?}"))
            } else {
                None
            }
        }
        Ok(_) => None,
    }
}

/// The program a shell-less command starts: its first word, honouring double quotes.
pub fn first_word(command: &str) -> String {
    let s = command.trim_start();
    if let Some(rest) = s.strip_prefix('"') {
        return rest.split('"').next().unwrap_or("").to_string();
    }
    s.split_whitespace().next().unwrap_or("").to_string()
}

/// Finds a program the way the executor would: a path (absolute, or relative to the working
/// directory) must exist; a bare name is looked up on `PATH`.
pub fn resolve_program(program: &str, workdir: Option<&Path>) -> Option<PathBuf> {
    if program.is_empty() {
        return None;
    }
    let p = Path::new(program);
    if p.is_absolute() || program.contains('/') || program.contains('\\') {
        let full = match workdir {
            Some(w) if !p.is_absolute() => w.join(p),
            _ => p.to_path_buf(),
        };
        return full.is_file().then_some(full);
    }
    crate::exec::process::search_path(program, None)
}

fn shell_program(shell: Shell) -> Vec<String> {
    match shell {
        Shell::Cmd => {
            let mut v = Vec::new();
            if let Some(c) = std::env::var_os("ComSpec").filter(|c| !c.is_empty()) {
                v.push(c.to_string_lossy().into_owned());
            }
            v.push("cmd.exe".into());
            v
        }
        Shell::Powershell => vec!["powershell.exe".into(), "powershell".into()],
        Shell::Pwsh => vec!["pwsh.exe".into(), "pwsh".into()],
        Shell::Sh => vec!["/bin/sh".into(), "sh".into()],
        Shell::None => Vec::new(),
    }
}

const SHELL_BUILTINS: &[&str] = &[
    "echo",
    "set",
    "cd",
    "call",
    "if",
    "for",
    "exit",
    "type",
    "copy",
    "del",
    "dir",
    "mkdir",
    "md",
    "rd",
    "rmdir",
    "move",
    "ren",
    "start",
    "ver",
    "vol",
    "pushd",
    "popd",
    "title",
    "cls",
    "test",
    "[",
    "export",
    ".",
    "source",
    "true",
    "false",
    "read",
    "exec",
    "eval",
    "trap",
    "unset",
    "shift",
    "wait",
    "write-host",
    "write-output",
    "get-date",
    "invoke-webrequest",
    "&",
];

/// Whether the command's program can be found; problems and warnings.
fn command_resolution(spec: &TaskSpec) -> (bool, Vec<String>, Vec<String>) {
    let workdir = spec.workdir.as_deref().filter(|w| !w.trim().is_empty()).map(Path::new);
    let mut detail = Vec::new();
    let mut warnings = Vec::new();
    let mut ok = true;
    if spec.shell == Shell::None {
        let program = first_word(&spec.command);
        match resolve_program(&program, workdir) {
            Some(p) => detail.push(format!("program {program} found: {}", p.display())),
            None => {
                ok = false;
                detail.push(format!("program {program:?} not found (shell none runs it directly)"));
            }
        }
        return (ok, detail, warnings);
    }
    let candidates = shell_program(spec.shell);
    match candidates.iter().find_map(|c| resolve_program(c, None)) {
        Some(p) => detail.push(format!("shell {} found: {}", shell_name(spec.shell), p.display())),
        None => {
            ok = false;
            detail.push(format!(
                "shell {} not found on this machine (looked for {})",
                shell_name(spec.shell),
                candidates.join(", ")
            ));
        }
    }
    let word = first_word(&spec.command);
    let bare = word.trim_start_matches('&').trim();
    if !bare.is_empty()
        && !SHELL_BUILTINS.contains(&bare.to_ascii_lowercase().as_str())
        && !bare.contains('$')
        && !bare.contains('%')
        && !bare.contains('=')
    {
        match resolve_program(bare, workdir) {
            Some(p) => detail.push(format!("program {bare} found: {}", p.display())),
            None => warnings.push(format!(
                "the command starts with {bare:?}, which is not found on PATH here (fine if it is \
                 a shell builtin, alias or function, or exists only where the task runs)"
            )),
        }
    }
    (ok, detail, warnings)
}

fn shell_name(shell: Shell) -> &'static str {
    match shell {
        Shell::Cmd => "cmd",
        Shell::Powershell => "powershell",
        Shell::Pwsh => "pwsh",
        Shell::Sh => "sh",
        Shell::None => "none",
    }
}

/// The `run_as` line: who the task runs as (the one run-as owner resolves it) and, for a
/// password logon, whether the vault holds the password.
fn run_as_check(spec: &TaskSpec, env: &RenderEnv<'_>, warnings: &mut Vec<String>) -> Check {
    use crate::task::runas::{Account, Principal};
    let principal = Account::effective(spec.run_as.as_deref(), &env.run_as_default)
        .and_then(|a| Principal::resolve(a, spec.logon, env.registering_user.as_deref()));
    let p = match principal {
        Ok(p) => p,
        Err(e) => return Check { check: "run_as", ok: false, detail: vec![e.to_string()] },
    };
    if let Account::Gmsa(name) = &p.account {
        warnings.push(format!(
            "{name} is a group managed service account: schtasks.exe cannot register it, so \
             `orc schedule` refuses and prints the PowerShell an administrator runs instead"
        ));
    }
    let Some(user) = p.password_account() else {
        return Check { check: "run_as", ok: true, detail: vec![p.describe()] };
    };
    let cred = crate::vault::run_as_credential_name(user);
    match (env.password_for)(&cred) {
        Ok(_) => Check {
            check: "run_as",
            ok: true,
            detail: vec![format!("{} (vault credential {cred})", p.describe())],
        },
        Err(e) => Check {
            check: "run_as",
            ok: false,
            detail: vec![format!("password of {user} (vault credential {cred}): {e}")],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_syntax() {
        let tasks = vec!["extract".to_string(), "me".to_string()];
        let file =
            if cfg!(windows) { "file:C:\\data\\ready.flag" } else { "file:/data/ready.flag" };
        for ok in [
            file,
            "url:https://example.com/health",
            "tcp:db.local:5432",
            "cmd:true",
            "task:extract",
        ] {
            assert_eq!(dependency_problem(ok, "me", &tasks), None, "{ok}");
        }
        for (bad, needle) in [
            ("nothing", "dependency"),
            ("ftp:x", "dependency"),
            ("tcp:host", "HOST:PORT"),
            ("task:missing", "no task named"),
            ("task:me", "itself"),
        ] {
            let p =
                dependency_problem(bad, "me", &tasks).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(p.contains(needle), "{bad}: {p}");
        }
    }

    #[test]
    fn first_words() {
        assert_eq!(first_word("robocopy a b"), "robocopy");
        assert_eq!(first_word("  \"C:\\Program Files\\x.exe\" -a"), "C:\\Program Files\\x.exe");
        assert_eq!(first_word(""), "");
    }

    #[cfg(unix)]
    #[test]
    fn programs_resolve_on_path_and_by_path() {
        assert!(resolve_program("sh", None).is_some());
        assert!(resolve_program("/bin/sh", None).is_some());
        assert!(resolve_program("definitely-not-a-program-orc", None).is_none());
        assert!(resolve_program("./nope", Some(Path::new("/"))).is_none());
    }
}

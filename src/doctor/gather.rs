//! Gathering the facts `orc doctor` checks (all the I/O of the checks).

use std::path::Path;
use std::time::Duration;

use super::{DriftEntry, ExeSeen, Facts, MailFacts, SchedulerProblem, VaultFacts};
use crate::error::Result;
use crate::exec::runs::{self, Status as RunStatus};
use crate::paths::Paths;
use crate::scheduler::{Backend, Registered, SchedulerError};
use crate::store::Store;
use crate::task::NotifyPolicy;

/// How many of a task's latest runs are read to count a failing streak.
const STREAK_WINDOW: u32 = 20;

/// Gathers everything. `drift` is the dry-run reconcile the CLI made (it owns `orc schedule`).
pub fn gather(
    paths: &Paths,
    store: &Store,
    backend: Option<&mut dyn Backend>,
    backend_kind: &'static str,
    drift: std::result::Result<Vec<DriftEntry>, String>,
    home_problems: Vec<String>,
    online: bool,
) -> Result<Facts> {
    let now = crate::clock::now();
    let registered = match backend {
        Some(b) => b.registered().map_err(problem),
        None => Err(SchedulerProblem::Other("the scheduler backend could not be opened".into())),
    };
    let tasks = crate::task::repo::list(store.conn())?;
    let schedules = tasks
        .iter()
        .filter(|t| t.spec.enabled)
        .map(|t| (t.spec.name.clone(), t.spec.next_run(&now)))
        .collect();
    let mut streaks = Vec::new();
    for t in &tasks {
        let n = failing_streak(store, &t.spec.name)?;
        if n > 0 {
            streaks.push((t.spec.name.clone(), n));
        }
    }
    let newest = runs::list(store.conn(), &runs::Filter { limit: 1, ..Default::default() })
        .map_err(|e| store.err("read runs", e))?;
    let newest_record = newest.first().map(|r| r.end.map_or(r.start, |e| e.max(r.start)));
    let this_exe = crate::scheduler::orc_exe()?;
    Ok(Facts {
        backend: backend_kind,
        now,
        registered_exes: registered.as_ref().map(|r| registered_exes(r)).unwrap_or_default(),
        scheduler: registered.map(|r| r.len()),
        cron_daemon: if backend_kind == "crontab" { cron_daemon_running() } else { None },
        home: paths.home.clone(),
        home_problems,
        db: crate::store::maint::check(store).map_err(|e| e.to_string()),
        schema_expected: crate::store::MIGRATIONS.len() as i64,
        vault: vault(store, paths),
        mail: mail(store, &tasks, online)?,
        drift,
        schedules,
        streaks,
        disk: crate::fsx::space::free_space(&paths.home).ok(),
        newest_record,
        clock_overridden: crate::env_vars::get(crate::env_vars::ORC_NOW).is_some(),
        this_exe: this_exe.display().to_string(),
        this_version: this_version(),
        history_log: (backend_kind == "schtasks").then(|| {
            crate::scheduler::wevtutil::Wevtutil::locate().log_enabled().map_err(|e| e.to_string())
        }),
    })
}

/// What `orc --version` prints for this build.
pub fn this_version() -> String {
    format!("orc {}", env!("CARGO_PKG_VERSION"))
}

fn problem(e: SchedulerError) -> SchedulerProblem {
    let text = e.to_string();
    match e {
        SchedulerError::AccessDenied { .. } => SchedulerProblem::AccessDenied(text),
        SchedulerError::Unavailable { .. } => SchedulerProblem::Unavailable(text),
        _ if text.to_lowercase().contains("service is not running") => {
            SchedulerProblem::Unavailable(text)
        }
        _ => SchedulerProblem::Other(text),
    }
}

/// Consecutive failed final runs, newest first, until a success.
fn failing_streak(store: &Store, task: &str) -> Result<usize> {
    let filter =
        runs::Filter { task: Some(task.to_string()), limit: STREAK_WINDOW, ..Default::default() };
    let rows = runs::list(store.conn(), &filter).map_err(|e| store.err("read runs", e))?;
    let mut n = 0;
    for r in rows {
        match r.status {
            RunStatus::Failed | RunStatus::Timeout | RunStatus::Abandoned => n += 1,
            RunStatus::Success => break,
            _ => {}
        }
    }
    Ok(n)
}

fn registered_exes(regs: &[Registered]) -> Vec<ExeSeen> {
    let mut out: Vec<ExeSeen> = Vec::new();
    for r in regs {
        let Some(cmd) = &r.seen.command else { continue };
        let path = super::checks::exe_of_command(cmd);
        if path.is_empty() {
            continue;
        }
        match out.iter_mut().find(|e| e.path == path) {
            Some(e) => e.tasks.push(r.task.clone()),
            None => out.push(ExeSeen {
                exists: Path::new(&path).is_file(),
                version: version_of(Path::new(&path)),
                tasks: vec![r.task.clone()],
                path,
            }),
        }
    }
    out
}

/// The first line `EXE --version` prints, if it runs within a few seconds.
fn version_of(exe: &Path) -> Option<String> {
    if !exe.is_file() {
        return None;
    }
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--version");
    let done = crate::scheduler::program::run(cmd, None, Duration::from_secs(10)).ok()?;
    let text = String::from_utf8_lossy(&done.stdout).into_owned();
    text.lines().next().map(|l| l.trim().to_string()).filter(|l| !l.is_empty())
}

/// Whether a cron daemon process runs (Linux `/proc`); `None` where that cannot be seen.
fn cron_daemon_running() -> Option<bool> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let found = dir.flatten().any(|e| {
        std::fs::read_to_string(e.path().join("comm"))
            .map(|c| matches!(c.trim(), "cron" | "crond" | "cronie" | "busybox-crond"))
            .unwrap_or(false)
    });
    Some(found)
}

/// The home's permissions compared with what orc sets ([`crate::fsx`]). Read before the
/// store is opened (opening it narrows what the current user owns).
pub fn home_problems(home: &Path, db: &Path) -> Vec<String> {
    let mut out = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mut look = |p: &Path, want: u32| {
            if let Ok(m) = std::fs::symlink_metadata(p)
                && m.mode() & 0o077 != 0
            {
                out.push(format!(
                    "{} is {:04o}, orc sets {want:04o}",
                    p.file_name().map_or_else(
                        || p.display().to_string(),
                        |n| n.to_string_lossy().into_owned()
                    ),
                    m.mode() & 0o7777
                ));
            }
        };
        look(home, crate::fsx::PRIVATE_DIR_MODE);
        for sub in ["runs", "logs", "tmp"] {
            look(&home.join(sub), crate::fsx::PRIVATE_DIR_MODE);
        }
        look(db, crate::fsx::PRIVATE_FILE_MODE);
    }
    #[cfg(windows)]
    {
        let _ = db;
        match crate::fsx::acl::win::read_dacl_sddl(home) {
            Ok(sddl) => {
                if !sddl.starts_with("D:P") {
                    out.push("its DACL inherits from the parent folder (not protected)".into());
                }
                for (sid, who) in
                    [("WD", "Everyone"), ("BU", "Users"), ("AU", "Authenticated Users")]
                {
                    if sddl.contains(&format!(";;;{sid})")) {
                        out.push(format!("{who} has access"));
                    }
                }
            }
            Err(e) => out.push(format!("cannot read its DACL: {e}")),
        }
    }
    #[cfg(not(any(unix, windows)))]
    let _ = (home, db);
    out
}

fn vault(store: &Store, paths: &Paths) -> VaultFacts {
    match crate::vault::list(store) {
        Ok(list) if list.is_empty() => return VaultFacts::Empty,
        Ok(_) => {}
        Err(e) => return VaultFacts::Locked(e.to_string()),
    }
    match crate::vault::Vault::unlock(store, paths, false) {
        Ok(v) => VaultFacts::Unlocked {
            method: v.unlocked_by().as_str().to_string(),
            advice: crate::vault::machine::store_schedule_advice(store, paths).ok().flatten(),
        },
        Err(e) => VaultFacts::Locked(e.to_string()),
    }
}

fn mail(store: &Store, tasks: &[crate::task::repo::StoredTask], online: bool) -> Result<MailFacts> {
    let settings = crate::notify::settings::MailSettings::load(store)?;
    let policy = |p: NotifyPolicy| match p {
        NotifyPolicy::Default => settings.notify_default,
        p => p,
    };
    // orc's own tasks (the daily report, `orc-watch`) alert through `watch.channels` /
    // `notify.channels` when mail is off: they do not make mail a requirement.
    let notifying: Vec<_> = tasks
        .iter()
        .filter(|t| !crate::report::is_builtin(&t.spec))
        .filter(|t| policy(t.spec.notify) != NotifyPolicy::Never)
        .collect();
    let relay = match settings.transport {
        crate::notify::settings::Transport::Graph => {
            Some("Microsoft Graph (mail.transport graph)".to_string())
        }
        crate::notify::settings::Transport::Smtp => {
            settings.smtp.as_ref().map(|s| format!("{}:{}", s.host, s.port))
        }
    };
    let online_result = (online && relay.is_some()).then(|| {
        crate::notify::relay_for(store, &settings)
            .map_err(|e| e.to_string())
            .and_then(|r| r.test_connection())
    });
    Ok(MailFacts {
        relay,
        has_recipients: !settings.to.is_empty()
            || notifying.iter().all(|t| !t.spec.email.is_empty()),
        tasks_notifying: notifying.len(),
        online: online_result,
    })
}

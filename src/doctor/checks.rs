//! The checks of `orc doctor`, each a pure function of the gathered [`Facts`].

use super::{Check, ExeSeen, Facts, Fix, MailFacts, SchedulerProblem, Status, VaultFacts};
use crate::task::next_run::NextRun;

/// Failed runs in a row from which a task is reported.
pub const STREAK_WARN: usize = 3;
/// A next start further away than this many days is reported.
pub const FAR_AWAY_DAYS: i64 = 366;
/// Free space below which the home's volume is a warning / a failure.
pub const DISK_WARN_BYTES: u64 = 1024 * 1024 * 1024;
pub const DISK_FAIL_BYTES: u64 = 100 * 1024 * 1024;
/// A WAL file larger than this is reported (a checkpoint is starved).
pub const WAL_WARN_BYTES: u64 = 256 * 1024 * 1024;
/// How far a recorded time may lie in the future before the clock is suspect.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// Every check, in the order they are shown.
pub fn all(f: &Facts) -> Vec<Check> {
    vec![
        scheduler(f),
        service(f),
        home_permissions(f),
        database(f),
        vault(f),
        mail(&f.mail),
        drift(f),
        schedules(f),
        streaks(f),
        disk(f),
        clock(f),
        executable(f),
        history_log(f),
    ]
}

fn scheduler(f: &Facts) -> Check {
    const N: &str = "scheduler";
    match &f.scheduler {
        Ok(n) => Check::ok(N, format!("{} answers; {n} orc registration(s)", f.backend)),
        Err(SchedulerProblem::AccessDenied(m)) => Check::fail(
            N,
            format!("{} refused orc: {m}", f.backend),
            "run orc from an elevated (Administrator) shell",
        ),
        Err(SchedulerProblem::Unavailable(m) | SchedulerProblem::Other(m)) => {
            Check::fail(N, format!("cannot read {}: {m}", f.backend), scheduler_fix(f.backend))
        }
    }
}

fn scheduler_fix(backend: &str) -> &'static str {
    if backend == "schtasks" {
        "check that schtasks.exe runs (ORC_SCHTASKS) and the Task Scheduler service is started"
    } else {
        "install cron and check that `crontab -l` works for this user (ORC_CRONTAB)"
    }
}

fn service(f: &Facts) -> Check {
    const N: &str = "service";
    if f.backend == "schtasks" {
        // schtasks reports a stopped service as "The Task Scheduler Service is not running."
        return match &f.scheduler {
            Err(SchedulerProblem::Unavailable(m)) => Check::fail(
                N,
                format!("the Task Scheduler service is not reachable: {m}"),
                "start it: `sc start Schedule` (or Services → Task Scheduler → Start)",
            ),
            Err(_) => Check::warn(
                N,
                "unknown: Task Scheduler could not be queried",
                "see the scheduler check",
            ),
            Ok(_) => Check::ok(N, "the Task Scheduler service is running"),
        };
    }
    match f.cron_daemon {
        Some(true) => Check::ok(N, "the cron daemon is running"),
        Some(false) => Check::fail(
            N,
            "no cron daemon is running: registered tasks will not start",
            "start it (e.g. `systemctl enable --now cron`)",
        ),
        None => Check::ok(N, "cron daemon state not checked on this system"),
    }
}

fn home_permissions(f: &Facts) -> Check {
    const N: &str = "home permissions";
    let home = f.home.display();
    if f.home_problems.is_empty() {
        return Check::ok(N, format!("{home} is private to the accounts orc runs as"));
    }
    Check::fail(
        N,
        format!("{home}: {}", f.home_problems.join("; ")),
        "`orc doctor --fix` resets the permissions orc sets",
    )
    .fixable(Fix::Permissions)
}

fn database(f: &Facts) -> Check {
    const N: &str = "database";
    let r = match &f.db {
        Ok(r) => r,
        Err(e) => return Check::fail(N, e.clone(), "restore a backup: `orc db restore FILE`"),
    };
    let sizes = format!(
        "schema {}, {} task(s), {} run(s), {} (WAL {})",
        r.schema_version,
        r.tasks,
        r.runs,
        crate::render::human_bytes(r.db_bytes),
        crate::render::human_bytes(r.wal_bytes)
    );
    if !r.ok {
        return Check::fail(
            N,
            format!("integrity check failed: {}", r.problems.join("; ")),
            "restore a backup: `orc db restore FILE`",
        );
    }
    if r.schema_version != f.schema_expected {
        return Check::fail(
            N,
            format!("{sizes}; this orc expects schema {}", f.schema_expected),
            "run the orc version that matches this database",
        );
    }
    if r.wal_bytes > WAL_WARN_BYTES {
        return Check::warn(
            N,
            format!("{sizes}: the WAL file is large"),
            "stop long-running readers (e.g. the dashboard) so SQLite can checkpoint",
        );
    }
    Check::ok(N, format!("integrity ok, {sizes}"))
}

fn vault(f: &Facts) -> Check {
    const N: &str = "vault";
    match &f.vault {
        VaultFacts::Empty => Check::ok(N, "no credential stored: nothing to unlock"),
        VaultFacts::Unlocked { method, advice: None } => {
            Check::ok(N, format!("unlocks without a prompt ({method})"))
        }
        VaultFacts::Unlocked { method, advice: Some(a) } => Check::warn(
            N,
            format!("unlocks here ({method}), but: {a}"),
            "see docs/guide/secrets.md",
        ),
        VaultFacts::Locked(reason) => Check::fail(
            N,
            format!("cannot be unlocked without a prompt: {reason}"),
            "give scheduled runs a key they can use (`orc credential key add`, see docs/guide/secrets.md)",
        ),
    }
}

fn mail(m: &MailFacts) -> Check {
    const N: &str = "mail";
    let Some(relay) = &m.relay else {
        if m.tasks_notifying > 0 {
            return Check::warn(
                N,
                format!("{} task(s) send mail, but smtp.host is not set", m.tasks_notifying),
                "configure mail: `orc configure` or `orc config set smtp.host HOST`",
            );
        }
        return Check::ok(N, "mail is off and no task sends mail");
    };
    if !m.has_recipients && m.tasks_notifying > 0 {
        return Check::warn(
            N,
            format!("relay {relay}, but no recipient: mail.to is empty"),
            "`orc config set mail.to ADDR`",
        );
    }
    match &m.online {
        None => Check::ok(N, format!("relay {relay} configured (not contacted; use --online)")),
        Some(Ok(())) => Check::ok(N, format!("relay {relay} answers")),
        Some(Err(e)) => Check::fail(
            N,
            format!("relay {relay} does not answer: {e}"),
            "check smtp.host/smtp.port/smtp.tls and the firewall; `orc notify test`",
        ),
    }
}

fn drift(f: &Facts) -> Check {
    const N: &str = "drift";
    let entries = match &f.drift {
        Ok(e) => e,
        Err(e) => return Check::warn(N, format!("not compared: {e}"), "see the scheduler check"),
    };
    let pending: Vec<String> = entries
        .iter()
        .filter(|e| e.action != "unchanged")
        .map(|e| {
            let drift = if e.drift { ", changed outside orc" } else { "" };
            format!("{} ({}{drift})", e.task, e.action)
        })
        .collect();
    if pending.is_empty() {
        return Check::ok(N, format!("{} registration(s) match the database", entries.len()));
    }
    Check::warn(
        N,
        format!("the scheduler differs from the database: {}", pending.join(", ")),
        "`orc schedule --all` (or `orc doctor --fix`) re-registers them",
    )
    .fixable(Fix::Reregister)
}

fn schedules(f: &Facts) -> Check {
    const N: &str = "schedules";
    let mut never = Vec::new();
    let mut far = Vec::new();
    for (task, next) in &f.schedules {
        match next {
            NextRun::Never | NextRun::InvalidSchedule => never.push(task.clone()),
            NextRun::At(t) if (*t - f.now).num_days() > FAR_AWAY_DAYS => {
                far.push(format!("{task} ({})", t.format("%Y-%m-%d")))
            }
            _ => {}
        }
    }
    if !never.is_empty() {
        return Check::warn(
            N,
            format!("never fire(s): {}", never.join(", ")),
            "check the schedule with `orc cron explain EXPR`",
        );
    }
    if !far.is_empty() {
        return Check::warn(
            N,
            format!("next run more than a year away: {}", far.join(", ")),
            "check the schedule with `orc cron explain EXPR`",
        );
    }
    Check::ok(N, format!("{} task(s) have a next run", f.schedules.len()))
}

fn streaks(f: &Facts) -> Check {
    const N: &str = "failing tasks";
    let bad: Vec<String> = f
        .streaks
        .iter()
        .filter(|(_, n)| *n >= STREAK_WARN)
        .map(|(t, n)| format!("{t} ({n} in a row)"))
        .collect();
    if bad.is_empty() {
        return Check::ok(N, format!("no task failed {STREAK_WARN} times in a row"));
    }
    Check::warn(
        N,
        format!("failing repeatedly: {}", bad.join(", ")),
        "`orc why TASK` explains the last run; `orc history --task TASK`",
    )
}

fn disk(f: &Facts) -> Check {
    const N: &str = "disk space";
    let Some((avail, total)) = f.disk else {
        return Check::warn(N, "free space of the home's volume unknown", "");
    };
    let detail = format!(
        "{} free of {} on the home's volume",
        crate::render::human_bytes(avail),
        crate::render::human_bytes(total)
    );
    let fix = "free space, or prune history: `orc db prune --older-than 90d`";
    if avail < DISK_FAIL_BYTES {
        Check::fail(N, detail, fix)
    } else if avail < DISK_WARN_BYTES {
        Check::warn(N, detail, fix)
    } else {
        Check::ok(N, detail)
    }
}

fn clock(f: &Facts) -> Check {
    const N: &str = "clock";
    let here = format!("local time {}", f.now.format("%Y-%m-%dT%H:%M:%S%:z"));
    if f.clock_overridden {
        return Check::warn(
            N,
            format!("{here} is pretended by ORC_NOW"),
            "unset ORC_NOW (tests and drills only)",
        );
    }
    if let Some(t) = f.newest_record
        && (t - f.now.to_utc()).num_minutes() > CLOCK_SKEW_MINUTES
    {
        return Check::fail(
            N,
            format!(
                "{here}, but a run was recorded at {}: the clock went back",
                crate::clock::to_local_iso(t)
            ),
            "sync the clock (`w32tm /resync` on Windows, NTP elsewhere); slots may repeat",
        );
    }
    Check::ok(N, here)
}

fn executable(f: &Facts) -> Check {
    const N: &str = "executable";
    if f.registered_exes.is_empty() {
        return Check::ok(N, format!("{} (no registration yet)", f.this_exe));
    }
    let fix = "`orc schedule --all` (or `orc doctor --fix`) registers this executable";
    let missing: Vec<&ExeSeen> = f.registered_exes.iter().filter(|e| !e.exists).collect();
    if let Some(e) = missing.first() {
        return Check::fail(
            N,
            format!(
                "registrations start {}, which does not exist ({})",
                e.path,
                e.tasks.join(", ")
            ),
            fix,
        )
        .fixable(Fix::Reregister);
    }
    let mismatch: Vec<String> = f
        .registered_exes
        .iter()
        .filter(|e| e.version.as_deref() != Some(f.this_version.as_str()))
        .map(|e| format!("{} is {}", e.path, e.version.as_deref().unwrap_or("of unknown version")))
        .collect();
    if !mismatch.is_empty() {
        return Check::warn(N, format!("this is {}; {}", f.this_version, mismatch.join("; ")), fix)
            .fixable(Fix::Reregister);
    }
    let other: Vec<&str> = f
        .registered_exes
        .iter()
        .filter(|e| !same_path(&e.path, &f.this_exe))
        .map(|e| e.path.as_str())
        .collect();
    if !other.is_empty() {
        return Check::warn(
            N,
            format!("registrations start {}, not this {}", other.join(", "), f.this_exe),
            fix,
        )
        .fixable(Fix::Reregister);
    }
    Check::ok(N, format!("{} ({})", f.this_exe, f.this_version))
}

fn same_path(a: &str, b: &str) -> bool {
    if cfg!(windows) { a.eq_ignore_ascii_case(b) } else { a == b }
}

fn history_log(f: &Facts) -> Check {
    const N: &str = "history log";
    match &f.history_log {
        None => Check::ok(
            N,
            "not applicable (cron has no operational log; orc's history is in the database)",
        ),
        Some(Ok(true)) => Check::ok(N, format!("{} is enabled", crate::scheduler::wevtutil::LOG)),
        Some(Ok(false)) => Check::warn(
            N,
            format!(
                "{} is disabled: `orc why` cannot show Task Scheduler's side",
                crate::scheduler::wevtutil::LOG
            ),
            "`orc doctor --fix` enables it (wevtutil sl … /e:true)",
        )
        .fixable(Fix::HistoryLog),
        Some(Err(e)) => Check::warn(N, format!("cannot read the log's state: {e}"), ""),
    }
}

/// The registered executable in a command line (`"C:\x\orc.exe" --home …`, `'/x/orc' --home …`).
pub fn exe_of_command(command: &str) -> String {
    let c = command.trim();
    for q in ['"', '\''] {
        if let Some(rest) = c.strip_prefix(q) {
            return rest.split(q).next().unwrap_or("").to_string();
        }
    }
    match c.find(" --home") {
        Some(i) => c[..i].to_string(),
        None => c.split_whitespace().next().unwrap_or("").to_string(),
    }
}

/// Counts the statuses, for the summary line.
pub fn summary(checks: &[Check]) -> String {
    let n = |s: Status| checks.iter().filter(|c| c.status == s).count();
    format!("{} ok, {} warn, {} fail", n(Status::Ok), n(Status::Warn), n(Status::Fail))
}

#[cfg(test)]
mod tests;

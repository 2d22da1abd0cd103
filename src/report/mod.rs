//! The daily report (`orc report daily`): per-task runs, outcomes and durations, failures with
//! their reasons, missed runs, and what is coming in the next 24 hours — as a self-contained
//! HTML page (inline CSS, tables only, no script: readable in Outlook), as text, or as JSON.

pub mod daily;
pub mod slots;
pub mod stats;

use std::path::Path;

use crate::error::Result;
use crate::notify::message::{self, Rendered};
use crate::notify::settings::MailSettings;
use crate::task::{NotifyPolicy, Shell, TaskSpec};

pub use daily::{DailyReport, Window};

/// The name of the built-in task that sends the daily report.
pub const BUILTIN_TASK_NAME: &str = "orc-daily-report";
/// The owner of every built-in task: tasks with another owner are the user's.
pub const BUILTIN_OWNER: &str = "orc";

/// Whether `spec` is one of orc's built-in tasks (the daily report, `orc-watch`): one of their
/// names and the owner [`BUILTIN_OWNER`]. A user task of that name, or with owner `orc` and
/// another name, is the user's.
pub fn is_builtin(spec: &TaskSpec) -> bool {
    [BUILTIN_TASK_NAME, crate::watch::BUILTIN_TASK_NAME]
        .iter()
        .any(|n| spec.name.eq_ignore_ascii_case(n))
        && spec.owner.as_deref() == Some(BUILTIN_OWNER)
}

/// Renders the report as a mail/page: subject, text and HTML.
pub fn render(report: &DailyReport) -> Result<Rendered> {
    let t = &report.totals.counts;
    let mut problems = Vec::new();
    if t.failed + t.timeouts > 0 {
        problems.push(format!("{} failed", t.failed + t.timeouts));
    }
    if t.missed > 0 {
        problems.push(format!("{} missed", t.missed));
    }
    let verdict = if problems.is_empty() { "all OK".to_string() } else { problems.join(", ") };
    let day = report.title.rsplit(" — ").next().unwrap_or_default();
    let subject = crate::notify::address::clean_subject(&format!(
        "[orc] Daily report {day} on {}: {} runs, {verdict}",
        report.host, t.runs
    ));
    #[derive(serde::Serialize)]
    struct Ctx<'a> {
        subject: &'a str,
        r: &'a DailyReport,
    }
    let ctx = Ctx { subject: &subject, r: report };
    Ok(Rendered {
        text: message::render("report_daily.txt.j2", &ctx)?,
        html: message::render("report_daily.html.j2", &ctx)?,
        subject,
    })
}

/// The built-in task that sends the daily report at `report.daily_time`, for `orc schedule
/// --all` to register next to the user's tasks; `None` when `report.daily_time` is not set.
///
/// It runs `"<orc>" --home "<home>" report daily --send` without a shell, so it goes through
/// the executor like any task (history, timeout, retries, failure mail).
pub fn builtin_task(settings: &MailSettings, orc_exe: &Path, home: &Path) -> Option<TaskSpec> {
    let (h, m) = settings.report_daily_time?;
    let mut t = builtin_spec(
        BUILTIN_TASK_NAME,
        "report daily --send",
        &format!("{m} {h} * * *"),
        "Built-in: mails the daily report (report.daily_time)",
        orc_exe,
        home,
    );
    t.retries = 2;
    t.retry_delay = 300;
    Some(t)
}

/// A built-in task (owner `orc`, which [`sync_owned`] keeps): `"<orc>" --home "<home>" ARGS`
/// run without a shell, with a 10-minute timeout and the default notification policy.
pub fn builtin_spec(
    name: &str,
    args: &str,
    schedule: &str,
    description: &str,
    orc_exe: &Path,
    home: &Path,
) -> TaskSpec {
    let command = format!("\"{}\" --home \"{}\" {args}", orc_exe.display(), home.display());
    let mut t = TaskSpec::new(name, &command, schedule);
    t.shell = Shell::None;
    t.timeout = Some(600);
    t.notify = NotifyPolicy::Default;
    t.description = Some(description.into());
    t.owner = Some(BUILTIN_OWNER.into());
    t
}

/// The built-in report task as `report.daily_time` wants it now (`None`: off), for
/// [`sync_owned`], so that `orc schedule` registers it and `orc execute`, `history` and
/// `status` treat it like any task.
pub fn wanted_builtin(
    store: &crate::store::Store,
    orc_exe: &Path,
    home: &Path,
) -> Result<Option<TaskSpec>> {
    Ok(builtin_task(&MailSettings::load(store)?, orc_exe, home))
}

/// Brings the built-in task `name` (owner `orc`) in the `tasks` table in line with `wanted`:
/// inserted, updated, or deleted when `wanted` is `None`. Returns `wanted`. A user task of
/// that name (owner other than `orc`) is left alone and wins (`None` is returned). With
/// `write == false` nothing is changed. Used by every built-in task (the daily report,
/// `orc-watch`).
pub fn sync_owned(
    store: &mut crate::store::Store,
    name: &str,
    wanted: Option<TaskSpec>,
    command_line: &str,
    write: bool,
) -> Result<Option<TaskSpec>> {
    let existing = crate::task::repo::get(store.conn(), name)?;
    let ours = |t: &crate::task::repo::StoredTask| t.spec.owner.as_deref() == Some(BUILTIN_OWNER);
    if existing.as_ref().is_some_and(|t| !ours(t)) {
        return Ok(None);
    }
    if write {
        store.write(|tx| -> Result<()> {
            match (&existing, &wanted) {
                (None, Some(w)) => {
                    crate::task::repo::insert(tx, w, command_line)?;
                }
                (Some(e), Some(w)) if e.spec != *w => {
                    crate::task::repo::update(tx, e, w, command_line)?;
                }
                (Some(_), None) => {
                    crate::task::repo::delete(tx, name, command_line)?;
                }
                _ => {}
            }
            Ok(())
        })?;
    }
    Ok(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_task_follows_the_setting() {
        let mut s = MailSettings::default();
        assert!(builtin_task(&s, Path::new("/x/orc"), Path::new("/h")).is_none());
        s.report_daily_time = Some((7, 5));
        let t = builtin_task(
            &s,
            Path::new("C:\\Program Files\\orc\\orc.exe"),
            Path::new("C:\\ProgramData\\orc"),
        )
        .unwrap();
        assert_eq!(t.name, BUILTIN_TASK_NAME);
        assert_eq!(t.schedule, "5 7 * * *");
        assert_eq!(t.shell, Shell::None);
        assert_eq!(
            t.command,
            "\"C:\\Program Files\\orc\\orc.exe\" --home \"C:\\ProgramData\\orc\" report daily --send"
        );
        crate::task::validate(&t).unwrap();
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::daily::*;

    fn sample() -> DailyReport {
        DailyReport {
            title: "orc daily report — SRV01 — 2026-03-02".into(),
            host: "SRV01".into(),
            generated_at: "2026-03-03T07:00:00+01:00".into(),
            window_start: "2026-03-02T00:00:00+01:00".into(),
            window_end: "2026-03-03T00:00:00+01:00".into(),
            window: "2026-03-02 00:00 – 2026-03-03 00:00".into(),
            calendar_day: true,
            totals: Totals {
                tasks: 2,
                counts: RunCounts {
                    runs: 25,
                    success: 23,
                    failed: 1,
                    timeouts: 1,
                    skipped: 0,
                    running: 0,
                    missed: 2,
                },
            },
            tasks: vec![TaskRow {
                name: "hourly-sync".into(),
                enabled: true,
                exists: true,
                schedule: Some("0 * * * *".into()),
                description: None,
                counts: RunCounts {
                    runs: 24,
                    success: 22,
                    failed: 1,
                    timeouts: 1,
                    skipped: 0,
                    running: 0,
                    missed: 2,
                },
                p50_ms: Some(13_000),
                p95_ms: Some(23_000),
                p50: Some("13.0s".into()),
                p95: Some("23.0s".into()),
                last_status: Some("SUCCESS".into()),
                last_run: Some("2026-03-02 23:00".into()),
                health: "missed".into(),
            }],
            failures: vec![FailureRow {
                run_id: 9,
                task: "hourly-sync".into(),
                start: "2026-03-02 13:00".into(),
                status: "FAILED".into(),
                exit_code: Some("2".into()),
                attempts: 1,
                reason: "<b>login failed</b>".into(),
            }],
            failures_omitted: 0,
            missed: vec![MissedRow {
                task: "hourly-sync".into(),
                schedule: "0 * * * *".into(),
                count: 2,
                times: vec!["2026-03-02 05:00".into(), "2026-03-02 06:00".into()],
            }],
            upcoming: vec![UpcomingRow {
                task: "hourly-sync".into(),
                schedule: "0 * * * *".into(),
                next: "2026-03-03 08:00".into(),
                next_iso: "2026-03-03T08:00:00+01:00".into(),
                count_24h: 24,
            }],
            mail: MailHealth { pending: 1, given_up: 0 },
            warnings: vec![],
        }
    }

    #[test]
    fn report_text_and_subject_snapshot() {
        let r = super::render(&sample()).unwrap();
        assert_eq!(
            r.subject,
            "[orc] Daily report 2026-03-02 on SRV01: 25 runs, 2 failed, 2 missed"
        );
        insta::assert_snapshot!(
            "report_daily_txt",
            r.text.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
        );
        assert!(r.html.contains("&lt;b&gt;login failed&lt;&#x2f;b&gt;"));
        assert!(!r.html.contains("<script"));
    }
}

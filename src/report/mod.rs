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

/// Renders the report as a mail/page: subject, text and HTML.
pub fn render(report: &DailyReport) -> Result<Rendered> {
    let t = &report.totals;
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
    let command = format!(
        "\"{}\" --home \"{}\" report daily --send",
        orc_exe.display(),
        home.display()
    );
    let mut t = TaskSpec::new(BUILTIN_TASK_NAME, &command, &format!("{m} {h} * * *"));
    t.shell = Shell::None;
    t.timeout = Some(600);
    t.retries = 2;
    t.retry_delay = 300;
    t.notify = NotifyPolicy::Default;
    t.description = Some("Built-in: mails the daily report (report.daily_time)".into());
    t.owner = Some("orc".into());
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_task_follows_the_setting() {
        let mut s = MailSettings::default();
        assert!(builtin_task(&s, Path::new("/x/orc"), Path::new("/h")).is_none());
        s.report_daily_time = Some((7, 5));
        let t = builtin_task(&s, Path::new("C:\\Program Files\\orc\\orc.exe"), Path::new("C:\\ProgramData\\orc")).unwrap();
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

//! The built-in task `orc-watch`: `orc schedule --all` keeps it registered next to the user's
//! tasks (like the daily report, [`crate::report::wanted_builtin`]), running a watch pass every
//! `watch.interval`. It has catch-up `once`, so after a reboot or an outage the slot missed
//! while the machine was off runs as soon as the scheduler can start it (Task Scheduler's
//! `StartWhenAvailable`); otherwise the next interval slot does, at most `watch.interval` later.
//! It also starts at boot (`at_boot`: a Task Scheduler `BootTrigger`, a crontab `@reboot`
//! line), so after a reboot the missed slot is caught as soon as the machine is up — also with
//! cron, which has no `StartWhenAvailable`.

use std::path::Path;

use super::settings::Interval;
use crate::error::Result;
use crate::task::{CatchUp, TaskSpec};

/// The name of the built-in watch task.
pub const BUILTIN_TASK_NAME: &str = "orc-watch";

/// The built-in task for `interval`; `None` when `watch.interval` is `none`.
///
/// It runs `"<orc>" --home "<home>" watch --exit-zero` without a shell: open incidents are
/// alerted by the pass itself, so they do not make the run fail (a failing pass still does).
pub fn builtin_task(interval: Option<Interval>, orc_exe: &Path, home: &Path) -> Option<TaskSpec> {
    let mut t = crate::report::builtin_spec(
        BUILTIN_TASK_NAME,
        "watch --exit-zero",
        &interval?.cron(),
        "Built-in: orc watch, the dead-man's switch (watch.interval)",
        orc_exe,
        home,
    );
    t.retries = 0;
    t.catch_up = CatchUp::Once;
    t.at_boot = true;
    Some(t)
}

/// The built-in watch task as `watch.interval` wants it now (`None`: off), for
/// [`crate::report::sync_owned`].
pub fn wanted_builtin(
    store: &crate::store::Store,
    orc_exe: &Path,
    home: &Path,
) -> Result<Option<TaskSpec>> {
    // Only the watch keys: a stored setting of another subsystem that no longer passes its
    // rule does not stop `orc schedule` from keeping the watch registered.
    let settings = crate::config::Settings::load_only(store, &["watch."])?;
    Ok(builtin_task(settings.watch_interval, orc_exe, home))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_task_follows_the_interval() {
        assert!(builtin_task(None, Path::new("/x/orc"), Path::new("/h")).is_none());
        let t = builtin_task(
            Some(Interval::Minutes(5)),
            Path::new("C:\\Program Files\\orc\\orc.exe"),
            Path::new("C:\\ProgramData\\orc"),
        )
        .unwrap();
        assert_eq!(t.name, BUILTIN_TASK_NAME);
        assert_eq!(t.schedule, "*/5 * * * *");
        assert_eq!(t.catch_up, CatchUp::Once);
        assert!(t.at_boot);
        assert_eq!(
            t.command,
            "\"C:\\Program Files\\orc\\orc.exe\" --home \"C:\\ProgramData\\orc\" watch --exit-zero"
        );
        crate::task::validate(&t).unwrap();
    }
}

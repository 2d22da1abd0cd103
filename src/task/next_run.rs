//! When a task starts next: the one computation `task show`, `status`, `schedule status` and
//! the dashboard all call ([`TaskSpec::next_run`]).

use chrono::{DateTime, Local};

use super::TaskSpec;

/// A task's next start, or why it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextRun {
    At(DateTime<Local>),
    /// The task is disabled.
    Disabled,
    /// The schedule never fires again (within the cron engine's search bound).
    Never,
    /// The schedule does not parse.
    InvalidSchedule,
}

impl NextRun {
    /// The next start of a task that is `enabled` with `schedule`, strictly after `now`, under
    /// the cron engine's DST policy ([`crate::cron::CronExpr::next_runs`]). For callers that
    /// hold a stored task whose spec may not parse; otherwise use [`TaskSpec::next_run`].
    pub fn of(enabled: bool, schedule: &str, now: &DateTime<Local>) -> NextRun {
        if !enabled {
            return NextRun::Disabled;
        }
        match crate::cron::CronExpr::parse(schedule) {
            Ok(expr) => match expr.next_runs(now, 1).into_iter().next() {
                Some(t) => NextRun::At(t),
                None => NextRun::Never,
            },
            Err(_) => NextRun::InvalidSchedule,
        }
    }

    /// The time, when there is one.
    pub fn at(self) -> Option<DateTime<Local>> {
        match self {
            NextRun::At(t) => Some(t),
            _ => None,
        }
    }

    /// Why there is no next start (`disabled`, `never`, `invalid schedule`).
    pub fn note(self) -> Option<&'static str> {
        match self {
            NextRun::At(_) => None,
            NextRun::Disabled => Some("disabled"),
            NextRun::Never => Some("never"),
            NextRun::InvalidSchedule => Some("invalid schedule"),
        }
    }
}

impl TaskSpec {
    /// When this task starts next after `now` (pass [`crate::clock::now`], which honours
    /// `ORC_NOW`).
    pub fn next_run(&self, now: &DateTime<Local>) -> NextRun {
        NextRun::of(self.enabled, &self.schedule, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn next_run_of_enabled_disabled_and_invalid_tasks() {
        let now = Local.with_ymd_and_hms(2026, 3, 10, 8, 30, 0).unwrap();
        let mut spec = TaskSpec::new("t", "x", "0 9 * * *");
        assert_eq!(
            spec.next_run(&now),
            NextRun::At(Local.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap())
        );
        spec.enabled = false;
        assert_eq!(spec.next_run(&now), NextRun::Disabled);
        assert_eq!(spec.next_run(&now).note(), Some("disabled"));
        assert_eq!(NextRun::of(true, "not cron", &now), NextRun::InvalidSchedule);
        assert_eq!(NextRun::of(true, "not cron", &now).at(), None);
    }
}

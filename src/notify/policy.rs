//! When a run produces a mail: the per-task alert state machine (pure).
//!
//! * `failure`: a mail after `notify_after` consecutive failed runs (each counted after its
//!   final retry), then **at most one reminder per reminder interval** while the task keeps
//!   failing, then one "resolved" mail on the first success. A task failing every minute
//!   therefore sends one alert, a reminder now and then, and one recovery mail — no storm.
//! * `recovery`: only the "resolved" mail, once a streak of at least `notify_after` failures
//!   ends.
//! * `always`: a mail after every run (a success that ends an alert is sent as "resolved").
//! * `never`: no mail; the state is still tracked, so switching to `failure` mid-streak alerts
//!   on the next failure.
//!
//! Runs skipped by policy (overlap, unmet dependencies that are not failures) change nothing.

use chrono::{DateTime, Duration, Utc};

use crate::task::NotifyPolicy;

use super::message::MessageKind;

/// How a finished run counts for alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Skipped by policy: neither a success nor a failure.
    Neutral,
}

impl Outcome {
    /// Classifies a run by its stored status and exit code. A `SKIPPED` run with exit code 7
    /// is one whose unmet dependencies the task's policy calls a failure.
    pub fn of(status: &str, exit_code: Option<i64>) -> Outcome {
        match status {
            "SUCCESS" => Outcome::Success,
            "FAILED" | "TIMEOUT" | "ABANDONED" => Outcome::Failure,
            "SKIPPED" if exit_code == Some(crate::error::exit::DEPS_UNMET as i64) => {
                Outcome::Failure
            }
            _ => Outcome::Neutral,
        }
    }
}

/// The alert state of one task (table `notify_state`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub consecutive_failures: u32,
    /// An alert was sent (or, for `recovery`, the streak reached the threshold) and no
    /// success has been seen since.
    pub alerting: bool,
    pub last_alert_at: Option<DateTime<Utc>>,
    /// Start of the current failure streak.
    pub failing_since: Option<DateTime<Utc>>,
    /// Failed runs since the last mail that got no mail of their own.
    pub suppressed: u32,
}

/// The streak as it was when the mail was decided (what the mail talks about).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Streak {
    pub consecutive_failures: u32,
    pub failing_since: Option<DateTime<Utc>>,
    pub suppressed: u32,
}

/// The decision for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub mail: Option<MessageKind>,
    pub state: State,
    pub streak: Streak,
}

/// The policy knobs for one task. `policy` must already be resolved (never `Default`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub policy: NotifyPolicy,
    /// Consecutive failures before the first alert (at least 1).
    pub notify_after: u32,
    /// `None` disables reminders.
    pub reminder_interval: Option<Duration>,
}

/// Decides what mail (if any) a finished run produces, and the new state.
pub fn decide(p: Policy, prev: &State, outcome: Outcome, now: DateTime<Utc>) -> Decision {
    let threshold = p.notify_after.max(1);
    let mut s = prev.clone();
    let mut mail = None;
    let streak;
    match outcome {
        Outcome::Neutral => {
            return Decision { mail: None, state: s, streak: Streak::default() };
        }
        Outcome::Failure => {
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
            s.failing_since.get_or_insert(now);
            match p.policy {
                NotifyPolicy::Always => {
                    mail = Some(MessageKind::Failure);
                    s.alerting = true;
                }
                NotifyPolicy::Failure | NotifyPolicy::Default => {
                    if !s.alerting {
                        if s.consecutive_failures >= threshold {
                            mail = Some(MessageKind::Failure);
                            s.alerting = true;
                        }
                    } else {
                        let due = match (p.reminder_interval, s.last_alert_at) {
                            (Some(iv), Some(last)) => now - last >= iv,
                            (Some(_), None) => true,
                            (None, _) => false,
                        };
                        if due {
                            mail = Some(MessageKind::Reminder);
                        } else {
                            s.suppressed = s.suppressed.saturating_add(1);
                        }
                    }
                }
                NotifyPolicy::Recovery => {
                    if s.consecutive_failures >= threshold {
                        s.alerting = true;
                    }
                }
                NotifyPolicy::Never => {}
            }
            streak = Streak {
                consecutive_failures: s.consecutive_failures,
                failing_since: s.failing_since,
                suppressed: s.suppressed,
            };
            if mail.is_some() {
                s.last_alert_at = Some(now);
                s.suppressed = 0;
            }
        }
        Outcome::Success => {
            streak = Streak {
                consecutive_failures: s.consecutive_failures,
                failing_since: s.failing_since,
                suppressed: s.suppressed,
            };
            mail = match p.policy {
                NotifyPolicy::Always if s.alerting => Some(MessageKind::Recovery),
                NotifyPolicy::Always => Some(MessageKind::Success),
                NotifyPolicy::Failure | NotifyPolicy::Default | NotifyPolicy::Recovery
                    if s.alerting =>
                {
                    Some(MessageKind::Recovery)
                }
                _ => None,
            };
            s = State {
                last_alert_at: if mail.is_some() { Some(now) } else { s.last_alert_at },
                ..State::default()
            };
        }
    }
    Decision { mail, state: s, streak }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageKind::*;
    use Outcome::{Failure as F, Neutral as N, Success as S};
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn policy(policy: NotifyPolicy, after: u32, reminder_min: Option<i64>) -> Policy {
        Policy {
            policy,
            notify_after: after,
            reminder_interval: reminder_min.map(Duration::minutes),
        }
    }

    /// Runs a sequence of (minute, outcome) and returns the mails as (minute, kind).
    fn run(p: Policy, seq: &[(i64, Outcome)]) -> Vec<(i64, MessageKind)> {
        let mut s = State::default();
        let mut mails = Vec::new();
        for &(m, o) in seq {
            let d = decide(p, &s, o, at(m));
            if let Some(k) = d.mail {
                mails.push((m, k));
            }
            s = d.state;
        }
        mails
    }

    fn every_minute(outcomes: &[Outcome]) -> Vec<(i64, Outcome)> {
        outcomes.iter().enumerate().map(|(i, o)| (i as i64, *o)).collect()
    }

    #[test]
    fn table() {
        use NotifyPolicy as P;
        type Case = (&'static str, Policy, Vec<Outcome>, Vec<(i64, MessageKind)>);
        let cases: Vec<Case> = vec![
            (
                "failure: first failure alerts",
                policy(P::Failure, 1, Some(60)),
                vec![S, F],
                vec![(1, Failure)],
            ),
            (
                "failure: success without alert is silent",
                policy(P::Failure, 1, Some(60)),
                vec![S, S, S],
                vec![],
            ),
            (
                "failure: recovery after alert",
                policy(P::Failure, 1, Some(60)),
                vec![F, S, S],
                vec![(0, Failure), (1, Recovery)],
            ),
            (
                "failure: N=3 waits for three in a row",
                policy(P::Failure, 3, Some(60)),
                vec![F, F, S, F, F, F, F],
                vec![(5, Failure)],
            ),
            (
                "failure: no recovery mail if never alerted",
                policy(P::Failure, 3, Some(60)),
                vec![F, F, S],
                vec![],
            ),
            (
                "failure: skipped runs change nothing",
                policy(P::Failure, 2, Some(60)),
                vec![F, N, F, N, S],
                vec![(2, Failure), (4, Recovery)],
            ),
            (
                "failure: a new streak alerts again",
                policy(P::Failure, 1, Some(60)),
                vec![F, S, F],
                vec![(0, Failure), (1, Recovery), (2, Failure)],
            ),
            (
                "failure: ten failures, no reminders",
                policy(P::Failure, 1, None),
                vec![F; 10],
                vec![(0, Failure)],
            ),
            (
                "recovery: only the resolved mail",
                policy(P::Recovery, 1, Some(1)),
                vec![F, F, F, S, S],
                vec![(3, Recovery)],
            ),
            (
                "recovery: streak below threshold is silent",
                policy(P::Recovery, 3, Some(1)),
                vec![F, F, S],
                vec![],
            ),
            (
                "always: every run",
                policy(P::Always, 1, Some(60)),
                vec![S, F, F, S, S],
                vec![(0, Success), (1, Failure), (2, Failure), (3, Recovery), (4, Success)],
            ),
            ("never: nothing", policy(P::Never, 1, Some(1)), vec![F, F, S, F], vec![]),
        ];
        for (name, p, outcomes, want) in cases {
            assert_eq!(run(p, &every_minute(&outcomes)), want, "{name}");
        }
    }

    #[test]
    fn no_storm_reminders_by_interval() {
        // Failing every minute for 3 hours with a 60-minute reminder interval.
        let p = policy(NotifyPolicy::Failure, 1, Some(60));
        let mut seq: Vec<(i64, Outcome)> = (0..180).map(|m| (m, F)).collect();
        seq.push((180, S));
        let mails = run(p, &seq);
        assert_eq!(
            mails,
            vec![(0, Failure), (60, Reminder), (120, Reminder), (180, Recovery)],
            "one alert, a reminder per interval, one recovery"
        );
    }

    #[test]
    fn streak_details() {
        let p = policy(NotifyPolicy::Failure, 1, Some(10));
        let mut s = State::default();
        for m in 0..10 {
            s = decide(p, &s, F, at(m)).state;
        }
        assert_eq!(s.consecutive_failures, 10);
        assert_eq!(s.suppressed, 9);
        assert_eq!(s.failing_since, Some(at(0)));
        let d = decide(p, &s, F, at(10));
        assert_eq!(d.mail, Some(Reminder));
        assert_eq!(d.streak.suppressed, 9, "the reminder says how many were not mailed");
        assert_eq!(d.streak.consecutive_failures, 11);
        assert_eq!(d.state.suppressed, 0);
        let d = decide(p, &d.state, S, at(11));
        assert_eq!(d.mail, Some(Recovery));
        assert_eq!(d.streak.consecutive_failures, 11);
        assert_eq!(d.streak.failing_since, Some(at(0)));
        assert_eq!(d.state.consecutive_failures, 0);
        assert!(!d.state.alerting);
    }

    #[test]
    fn switching_from_never_alerts_on_the_next_failure() {
        let mut s = State::default();
        for m in 0..5 {
            s = decide(policy(NotifyPolicy::Never, 1, None), &s, F, at(m)).state;
        }
        let d = decide(policy(NotifyPolicy::Failure, 3, None), &s, F, at(5));
        assert_eq!(d.mail, Some(Failure));
    }

    #[test]
    fn outcome_classification() {
        assert_eq!(Outcome::of("SUCCESS", Some(0)), S);
        assert_eq!(Outcome::of("FAILED", Some(1)), F);
        assert_eq!(Outcome::of("TIMEOUT", None), F);
        assert_eq!(Outcome::of("ABANDONED", None), F);
        assert_eq!(Outcome::of("SKIPPED", Some(7)), F);
        assert_eq!(Outcome::of("SKIPPED", Some(0)), N);
        assert_eq!(Outcome::of("SKIPPED", None), N);
        assert_eq!(Outcome::of("RUNNING", None), N);
    }
}

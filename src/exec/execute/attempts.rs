//! Step 4: the attempts, each its own `runs` row, retried per the task's policy.

use std::time::Duration;

use crate::clock;
use crate::error::{Error, Result};
use crate::exec::runs::{self, Finish, NewRun, RunRecord, Status, Trigger};
use crate::store::Store;
use crate::task::{Backoff, TaskSpec};

use super::{Event, Job, MAX_RETRY_DELAY, Plan, attempt, db, fallback, read_back};

/// Runs the attempts, the first in the leased row `run_id`; returns their records in order.
pub(super) fn run_all(
    store: &mut Store,
    job: &Job<'_>,
    plan: &Plan,
    run_id: i64,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Vec<RunRecord>> {
    let spec = job.spec();
    let attempts = spec.attempts();
    let mut current = run_id;
    let mut attempt = 1;
    let mut records = Vec::new();
    loop {
        let finish = attempt::run(store, job, current);
        let retry = attempt < attempts && should_retry(&finish, spec);
        let next = retry.then(|| next_attempt(job, plan, attempt));
        let next_id = record(store, job, plan, current, attempt, &finish, next.as_ref())?;
        let rec = read_back(store, current)?;
        on_event(Event::Recorded { run: &rec, attempts });
        records.push(rec);
        match (next, next_id) {
            (Some((delay, _)), Some(id)) => {
                on_event(Event::Retrying { next_attempt: attempt + 1, attempts, delay });
                std::thread::sleep(delay);
                attempt += 1;
                current = id;
            }
            _ => return Ok(records),
        }
    }
}

/// The delay before the attempt after `attempt`, and its row (starting after that delay).
fn next_attempt(job: &Job<'_>, plan: &Plan, attempt: u32) -> (Duration, NewRun) {
    let delay = retry_delay(job.spec(), attempt);
    let start = clock::saturating_add(
        clock::now_utc(),
        chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero()),
    );
    let new = NewRun { attempt: attempt + 1, trigger: Trigger::Retry, start, ..plan.first.clone() };
    (delay, new)
}

/// Writes the attempt's result and, in the same transaction, the next attempt's pending row
/// (its id returned). A result the database refuses goes to the fallback log.
fn record(
    store: &mut Store,
    job: &Job<'_>,
    plan: &Plan,
    current: i64,
    attempt: u32,
    finish: &Finish,
    next: Option<&(Duration, NewRun)>,
) -> Result<Option<i64>> {
    let written = db(store, "record run result", |tx| {
        runs::finish(tx, current, finish)?;
        next.map(|(_, new)| runs::insert_pending_retry(tx, new)).transpose()
    });
    written.map_err(|e| {
        let slot = plan.first.slot.as_deref();
        fallback::write_fallback(job.paths, current, job.spec(), slot, attempt, finish, &e);
        Error::Store(e)
    })
}

/// Whether a finished attempt is retried: failures whose exit code is in `retry_on` (any
/// failure when it is empty) and timeouts. Runs that could not start (bad directory, missing
/// program, no secrets) are not retried: the next attempt would fail the same way.
pub fn should_retry(f: &Finish, spec: &TaskSpec) -> bool {
    match f.status {
        Status::Timeout => true,
        Status::Failed => match f.process.exit_code {
            Some(code) => spec.retry_on.is_empty() || spec.retry_on.contains(&code),
            None => false,
        },
        _ => false,
    }
}

/// The delay before attempt `attempt + 1`: `retry_delay`, doubled per attempt with
/// exponential backoff (capped at one hour), ±10 % jitter.
pub fn retry_delay(spec: &TaskSpec, attempt: u32) -> Duration {
    let base = spec.retry_delay as f64;
    let raw = match spec.backoff {
        Backoff::Fixed => base,
        Backoff::Exponential => base * 2f64.powi(attempt.saturating_sub(1).min(30) as i32),
    };
    let capped = raw.min(MAX_RETRY_DELAY.as_secs_f64());
    let unit = getrandom::u32().map(|r| r as f64 / u32::MAX as f64).unwrap_or(0.5);
    let jitter = 0.9 + 0.2 * unit;
    Duration::from_secs_f64((capped * jitter).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy() {
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        let failed = |code: Option<i64>| {
            let mut f = Finish::bare(Status::Failed, clock::now_utc(), None);
            f.process.exit_code = code;
            f
        };
        assert!(should_retry(&failed(Some(1)), &spec));
        assert!(!should_retry(&failed(None), &spec), "could not start: not retried");
        spec.retry_on = vec![75];
        assert!(!should_retry(&failed(Some(1)), &spec));
        assert!(should_retry(&failed(Some(75)), &spec));
        let timeout = Finish::bare(Status::Timeout, clock::now_utc(), None);
        assert!(should_retry(&timeout, &spec), "timeouts are always retried");
        let ok = Finish::bare(Status::Success, clock::now_utc(), None);
        assert!(!should_retry(&ok, &spec));
    }

    #[test]
    fn retry_delays_back_off_with_jitter() {
        let mut spec = TaskSpec::new("t", "x", "* * * * *");
        spec.retry_delay = 100;
        for attempt in 1..5 {
            let d = retry_delay(&spec, attempt).as_secs_f64();
            assert!((90.0..=110.0).contains(&d), "fixed {attempt}: {d}");
        }
        spec.backoff = Backoff::Exponential;
        for (attempt, want) in [(1, 100.0), (2, 200.0), (3, 400.0), (4, 800.0), (6, 3200.0)] {
            let d = retry_delay(&spec, attempt).as_secs_f64();
            assert!(d >= want * 0.9 && d <= want * 1.1, "exp {attempt}: {d}");
        }
        let d = retry_delay(&spec, 20).as_secs_f64();
        assert!((3600.0 * 0.9..=3600.0 * 1.1).contains(&d), "capped: {d}");
    }
}

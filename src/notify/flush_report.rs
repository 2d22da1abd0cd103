//! What a flush of the outbox did, counted the same way for mail ([`super::flush_with`]) and
//! for channel messages ([`super::channels::flush`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::outbox::{self, AfterFailure};
use crate::error::Result;
use crate::store::Store;

/// One message that could not be delivered during a flush.
#[derive(Debug, Clone, Serialize)]
pub struct FlushFailure {
    pub id: i64,
    pub subject: String,
    pub error: String,
    pub tries: u32,
    /// When it will be tried again; `None` when orc gave up on it.
    pub next_attempt_at: Option<String>,
}

/// What a flush did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlushReport {
    pub attempted: usize,
    pub sent: usize,
    pub failed: usize,
    pub gave_up: usize,
    /// Messages still waiting afterwards.
    pub pending: usize,
    /// Messages orc has given up on (all time, not only in this flush).
    pub given_up_total: usize,
    /// Why the flush stopped before trying every message (relay unreachable, budget spent).
    pub stopped: Option<String>,
    pub failures: Vec<FlushFailure>,
}

impl FlushReport {
    /// Counts one delivered message.
    pub(crate) fn delivered(&mut self) {
        self.attempted += 1;
        self.sent += 1;
    }

    /// Counts one failed try of message `id` and lists it with its tries so far and when it
    /// will be tried again (none once orc gave up on it).
    pub(crate) fn failed_try(
        &mut self,
        store: &Store,
        id: i64,
        error: &str,
        after: AfterFailure,
    ) -> Result<()> {
        self.attempted += 1;
        self.failed += 1;
        let next_attempt_at = match after {
            AfterFailure::RetryAt(t) => Some(crate::clock::to_local_iso(t)),
            AfterFailure::GaveUp => {
                self.gave_up += 1;
                None
            }
        };
        let row = outbox::get(store, id)?;
        self.failures.push(FlushFailure {
            id,
            subject: row.as_ref().map(|r| r.subject.clone()).unwrap_or_default(),
            error: error.to_string(),
            tries: row.map(|r| r.tries).unwrap_or_default(),
            next_attempt_at,
        });
        Ok(())
    }

    /// The flush stopped at its time budget with `left` messages not tried.
    pub(crate) fn budget_spent(&mut self, left: usize) {
        self.stopped = Some(format!("time budget spent; {left} message(s) left for later"));
    }

    /// The report with the outbox's totals after the flush (pending, given up all time).
    pub(crate) fn with_totals(mut self, store: &Store, now: DateTime<Utc>) -> Result<Self> {
        let summary = outbox::summary(store, now)?;
        self.pending = summary.pending;
        self.given_up_total = summary.given_up;
        Ok(self)
    }

    /// Adds a later flush's counts; the totals (pending, given up) are the later ones.
    pub fn absorb(&mut self, later: FlushReport) {
        self.attempted += later.attempted;
        self.sent += later.sent;
        self.failed += later.failed;
        self.gave_up += later.gave_up;
        self.failures.extend(later.failures);
        self.stopped = later.stopped.or(self.stopped.take());
        self.pending = later.pending;
        self.given_up_total = later.given_up_total;
    }
}

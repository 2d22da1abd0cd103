//! Step 3: the lease. In one immediate transaction, stale `RUNNING` rows of this host become
//! `ABANDONED`, the slot is claimed, the overlap policy is applied (skip → `SKIPPED`; queue →
//! wait; parallel → go) and the `RUNNING` row is inserted, committed before the child starts.

use std::time::{Duration, Instant};

use crate::store::sql::Connection;

use crate::clock;
use crate::error::{Result, exit};
use crate::exec::runs::{self, Finish, NewRun, Status};
use crate::exec::slot;
use crate::store::{Store, StoreError, to_db_time};
use crate::task::Overlap;

use super::{Event, Job, Plan, QUEUE_POLL, QUEUE_WAIT_WITHOUT_TIMEOUT, Stop, db};

/// Takes the lease of the run; with overlap `queue`, waits for the previous run up to the
/// task's timeout. Returns the id of the `RUNNING` row, or why the execution stops here.
pub(super) fn take(
    store: &mut Store,
    job: &Job<'_>,
    plan: &mut Plan,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<std::result::Result<i64, Stop>> {
    let spec = job.spec();
    // Checked: a timeout beyond what an Instant holds is no deadline at all.
    let queue_wait = spec.timeout.map(Duration::from_secs).unwrap_or(QUEUE_WAIT_WITHOUT_TIMEOUT);
    let queue_deadline = Instant::now()
        .checked_add(queue_wait)
        .unwrap_or_else(|| Instant::now() + QUEUE_WAIT_WITHOUT_TIMEOUT);
    let mut announced_queue = false;
    loop {
        let begun = db(store, "start run", |tx| begin(tx, plan, &job.host, spec.overlap))?;
        let other = match begun {
            Begin::Started(id) => return Ok(Ok(id)),
            Begin::Lost(by) => {
                let slot = plan.first.slot.as_deref().unwrap_or_default();
                on_event(Event::AlreadyClaimed { slot, by: &by });
                return Ok(Err(Stop::Nothing));
            }
            Begin::Skipped(id) => return Ok(Err(Stop::Skipped { id, exit_code: exit::SUCCESS })),
            Begin::Busy(other) => other,
        };
        // Overlap `queue`: the slot (if any) is ours now; wait for the other run.
        plan.claim_pending = false;
        if !announced_queue {
            on_event(Event::Queued { run_id: other });
            announced_queue = true;
        }
        if Instant::now() >= queue_deadline {
            let waited = spec.timeout.unwrap_or(QUEUE_WAIT_WITHOUT_TIMEOUT.as_secs());
            let why = format!(
                "previous run {other} still running after waiting {} (overlap queue)",
                crate::render::secs(waited)
            );
            let id = record_skipped(store, plan, why)?;
            return Ok(Err(Stop::Skipped { id, exit_code: exit::SUCCESS }));
        }
        std::thread::sleep(QUEUE_POLL);
    }
}

/// Records the plan's first row as `SKIPPED` for `why` (linked to its slot) in its own
/// transaction.
pub(super) fn record_skipped(
    store: &mut Store,
    plan: &Plan,
    why: String,
) -> Result<i64, StoreError> {
    db(store, "record skipped run", |tx| insert_skipped(tx, plan, why))
}

fn insert_skipped(tx: &Connection, plan: &Plan, why: String) -> crate::store::sql::Result<i64> {
    let new = &plan.first;
    let id = runs::insert_final(tx, new, &Finish::bare(Status::Skipped, new.start, Some(why)))?;
    link_slot(tx, plan, id)?;
    Ok(id)
}

/// Points the slot claim of the plan (if any) at run `id`.
fn link_slot(tx: &Connection, plan: &Plan, id: i64) -> crate::store::sql::Result<()> {
    match plan.claim_key() {
        Some(key) => slot::link(tx, &key, id),
        None => Ok(()),
    }
}

/// Claims `key` for `host` and records the host's heartbeat, inside the caller's
/// transaction. `None` when this process won; else the host holding the claim.
pub(super) fn claim(
    tx: &Connection,
    key: &slot::ClaimKey<'_>,
    host: &str,
    at: &str,
) -> crate::store::sql::Result<Option<String>> {
    crate::fleet::table::touch(tx, host, at)?;
    if slot::claim(tx, key, host, at)? {
        return Ok(None);
    }
    Ok(Some(slot::claimed_by(tx, key)?.unwrap_or_default()))
}

/// The outcome of the lease transaction.
enum Begin {
    Started(i64),
    /// Another process (on the host named) claimed the slot.
    Lost(String),
    /// Overlap `skip`: recorded as SKIPPED with this id.
    Skipped(i64),
    /// Overlap `queue`: this run is still running.
    Busy(i64),
}

fn begin(
    tx: &Connection,
    plan: &Plan,
    host: &str,
    overlap: Overlap,
) -> crate::store::sql::Result<Begin> {
    let new = &plan.first;
    let start = to_db_time(new.start);
    match plan.claim_key().filter(|_| plan.claim_pending) {
        Some(key) => {
            if let Some(by) = claim(tx, &key, host, &start)? {
                return Ok(Begin::Lost(by));
            }
        }
        None => crate::fleet::table::touch(tx, host, &start)?,
    }
    // Reap stale leases of this host, and find a live run of this task: on any host for a
    // `run-on any` task, on this host for `run-on all` (its hosts run each slot side by side).
    let now = clock::now_utc();
    let mut live = None;
    let anywhere = plan.scope.is_empty();
    for r in runs::running(tx, None)? {
        if runs::is_stale(&r, host) {
            runs::mark_abandoned(tx, &r, now)?;
        } else if live.is_none()
            && r.task.eq_ignore_ascii_case(&new.task)
            && (anywhere || r.host.eq_ignore_ascii_case(host))
        {
            live = Some(r.id);
        }
    }
    match (live, overlap) {
        (Some(other), Overlap::Skip) => {
            let why = format!("previous run {other} still running (overlap skip)");
            Ok(Begin::Skipped(insert_skipped(tx, plan, why)?))
        }
        (Some(other), Overlap::Queue) => Ok(Begin::Busy(other)),
        _ => {
            let fresh = NewRun { start: now.max(new.start), ..new.clone() };
            let id = runs::insert_running(tx, &fresh)?;
            link_slot(tx, plan, id)?;
            Ok(Begin::Started(id))
        }
    }
}

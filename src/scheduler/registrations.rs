//! The I/O around the pure [`super::reconcile`] plan: loading the tasks and orc's record of
//! what it registered (the `registrations` table, which this module owns), reading back what
//! the OS scheduler holds, and recording what was applied.

use std::collections::HashMap;

use super::reconcile::{Action, Plan};
use super::{Desired, History, Outcome, Registered, SchedulerError};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::task::TaskSpec;

/// What the OS scheduler holds ([`super::Backend::registered`]), after telling the backend
/// which orc tasks (`known`: the database's and the recorded registrations) to look up one by
/// one should its single query be unusable; with the backend's warning when it had to.
pub fn read_back(
    backend: &mut dyn super::Backend,
    known: impl IntoIterator<Item = String>,
) -> std::result::Result<(Vec<Registered>, Option<String>), SchedulerError> {
    backend.expect_registrations(&known.into_iter().collect::<Vec<_>>());
    let registered = backend.registered()?;
    Ok((registered, backend.read_back_warning()))
}

/// Every task of the database, by name.
pub fn load_tasks(store: &Store) -> Result<Vec<TaskSpec>> {
    Ok(crate::task::repo::list(store.conn())?.into_iter().map(|t| t.spec).collect())
}

/// orc's record of what it registered with this backend on this host.
pub fn load_history(store: &Store, backend: &str, host: &str) -> Result<Vec<History>> {
    let conn = store.conn();
    let mut stmt = conn
        .prepare(
            "SELECT task, path, definition_hash, observed FROM registrations \
             WHERE backend = ?1 AND host = ?2 ORDER BY task",
        )
        .map_err(|e| store.err("read registrations", e))?;
    let rows = stmt
        .query_map([backend, host], |r| {
            Ok(History { task: r.get(0)?, path: r.get(1)?, hash: r.get(2)?, observed: r.get(3)? })
        })
        .map_err(|e| store.err("read registrations", e))?;
    rows.collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Store(store.err("read registrations", e)))
}

/// Records in the `registrations` table what was applied successfully (and what unchanged
/// registrations hold, when orc's record was missing or stale, including the observed print
/// the first time orc sees its own registration unchanged). One transaction, after every
/// scheduler process has finished. Every applied change also gets an audit row (object
/// `registration`) naming the command line that made it.
pub fn record(
    store: &mut Store,
    backend: &str,
    host: &str,
    plan: &Plan,
    outcomes: &[Outcome],
    command_line: &str,
) -> Result<()> {
    let ok: HashMap<usize, bool> = outcomes.iter().map(|o| (o.index, o.result.is_ok())).collect();
    let now = crate::store::to_db_time(crate::clock::now_utc());
    let path = store.path().to_path_buf();
    let err =
        move |e: crate::store::sql::Error| crate::store::classify(&path, "record registrations", e);
    store.write(|tx| -> Result<()> {
        for (i, e) in plan.entries.iter().enumerate() {
            let succeeded = ok.get(&i).copied().unwrap_or(false);
            if succeeded && e.action != Action::Unchanged {
                let state = |hash: Option<&str>, d: Option<&Desired>| {
                    hash.map(|h| {
                        serde_json::json!({
                            "backend": backend,
                            "host": host,
                            "path": e.path,
                            "hash": h,
                            "enabled": d.map(|d| d.enabled),
                            "drift": e.drift,
                        })
                    })
                };
                let before = match e.action {
                    Action::Create => None,
                    _ => state(
                        Some(e.seen.as_ref().and_then(|s| s.hash.as_deref()).unwrap_or("")),
                        None,
                    ),
                };
                let after = match e.action {
                    Action::Delete => None,
                    _ => state(e.desired.as_ref().map(|d| d.hash.as_str()), e.desired.as_ref()),
                };
                crate::audit::record(
                    tx,
                    command_line,
                    "registration",
                    Some(&e.task),
                    before.as_ref(),
                    after.as_ref(),
                )?;
            }
            match (e.action, &e.desired) {
                (Action::Delete, _) if succeeded => {
                    tx.execute(
                        "DELETE FROM registrations WHERE backend = ?1 AND host = ?2 AND task = ?3",
                        [backend, host, e.task.as_str()],
                    )
                    .map_err(&err)?;
                }
                (Action::Create | Action::Update, Some(d)) if succeeded => {
                    // What Windows shows for it is learnt at the next unchanged reconcile.
                    upsert(tx, backend, host, d, None, &now).map_err(&err)?;
                }
                (Action::Unchanged, Some(d)) => {
                    let seen = e.seen.as_ref().and_then(|s| s.observed.clone());
                    let stale = e.last_hash.as_deref() != Some(d.hash.as_str());
                    // A print that changed without a semantic difference ([`settle_drift`]).
                    let reprint = seen.is_some() && e.last_observed != seen;
                    if stale || reprint {
                        upsert(tx, backend, host, d, seen.as_deref(), &now).map_err(&err)?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    })
}

fn upsert(
    tx: &crate::store::sql::Transaction<'_>,
    backend: &str,
    host: &str,
    d: &Desired,
    observed: Option<&str>,
    now: &str,
) -> crate::store::sql::Result<usize> {
    tx.execute(
        "INSERT INTO registrations \
         (backend, host, task, path, definition_hash, registered_at, observed) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (backend, host, task) DO UPDATE SET path = excluded.path, \
         definition_hash = excluded.definition_hash, registered_at = excluded.registered_at, \
         observed = excluded.observed",
        crate::store::sql::params![backend, host, d.task, d.path, d.hash, now, observed],
    )
}

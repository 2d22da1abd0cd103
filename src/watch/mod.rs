//! `orc watch`: the dead-man's switch, without a daemon.
//!
//! One [`pass`] reads the database (and what one query of the OS scheduler showed, read by the
//! caller), finds problems ([`detect`], pure), turns them into incidents ([`incidents`]: at
//! most one open per kind and subject, alerted once, reminded every
//! `notify.reminder_interval`, one recovery when it clears) and delivers the events through
//! [`alert::deliver`], in the same transaction as the incident changes. The built-in task
//! `orc-watch` ([`builtin`]) runs a pass every `watch.interval` and at boot.
//!
//! What is checked, for **enabled** tasks:
//! * **missed** — a slot of the task's schedule older than `watch.grace` with no run row
//!   (`runs.slot`), counting only slots after the task's registration (`registrations.
//!   registered_at`) and its last change (`tasks.updated_at`: enabling a disabled task is a
//!   change, so a disabled period never counts), at most [`detect::LOOKBACK`] back, and never
//!   a slot an earlier incident already reported;
//! * **late / runaway** — RUNNING runs past timeout + grace, or longer than
//!   `watch.runaway_factor` × p95 of the last 20 successful runs (at least 5);
//! * **registration** — orc's registration missing, disabled or drifted ([`detect::registrations`]);
//!   **scheduler** — the scheduler query failed; **outbox** — messages given up;
//! * **host_silent** — a host of the fleet let a slot of its own tasks pass without a heartbeat
//!   ([`crate::fleet::silence`]); the `RUNNING` rows it left are marked `ABANDONED` first and
//!   alerted like any failed run ([`hosts`]).

pub mod alert;
pub mod builtin;
pub mod detect;
pub mod hosts;
pub mod incidents;
pub mod settings;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Local, Utc};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::exec::runs;
use crate::scheduler::Registered;
use crate::store::{Store, from_db_time};
use detect::{Check, Kind};
use incidents::{Incident, Step};

pub use builtin::{BUILTIN_TASK_NAME, wanted_builtin};

/// Most queued messages a pass tries to send right away (the rest wait for the next run).
pub const MAX_SENT_PER_PASS: usize = 20;

/// What the caller read from the OS scheduler for this pass (one query).
#[derive(Debug, Clone)]
pub struct SchedulerRead {
    /// The backend (`schtasks`, `crontab`): the `registrations.backend` it is compared with.
    pub kind: &'static str,
    /// `""` for this computer.
    pub host: String,
    /// "Task Scheduler on this computer".
    pub target: String,
    /// The registrations, or why the scheduler could not be read.
    pub registered: std::result::Result<Vec<Registered>, String>,
}

/// What a pass did.
#[derive(Debug, Clone, Serialize)]
pub struct PassReport {
    /// The incidents open after the pass, oldest first.
    pub open: Vec<Incident>,
    pub opened: usize,
    pub reminded: usize,
    pub recovered: usize,
    /// Messages queued in the outbox.
    pub queued: usize,
    /// Things the pass could not check (an unreadable schedule, mail not sent…).
    pub warnings: Vec<String>,
    /// Runs of silent hosts marked ABANDONED by this pass.
    pub abandoned: Vec<hosts::AbandonedRun>,
}

fn db<'s>(
    store: &'s Store,
    context: &'static str,
) -> impl Fn(crate::store::sql::Error) -> Error + 's {
    move |e| Error::Store(store.err(context, e))
}

/// When orc last registered each task with this backend and host (lower-case name).
fn registered_at(store: &Store, kind: &str, host: &str) -> Result<HashMap<String, DateTime<Utc>>> {
    let mut stmt = store
        .conn()
        .prepare("SELECT task, registered_at FROM registrations WHERE backend = ?1 AND host = ?2")
        .map_err(db(store, "read registrations"))?;
    let rows = stmt
        .query_map([kind, host], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .map_err(db(store, "read registrations"))?;
    let mut out = HashMap::new();
    for row in rows {
        let (task, at) = row.map_err(db(store, "read registrations"))?;
        if let Some(t) = from_db_time(&at) {
            out.insert(task.to_ascii_lowercase(), t);
        }
    }
    Ok(out)
}

/// Runs one watch pass as of `now`. See the module documentation.
pub fn pass(store: &mut Store, sched: &SchedulerRead, now: DateTime<Local>) -> Result<PassReport> {
    // A RUNNING row whose orc process is gone is not running (it becomes ABANDONED).
    runs::reap_stale(store, None)?;
    let settings = crate::config::Settings::load(store)?;
    let ws = settings::WatchSettings::from_settings(&settings);
    let now_utc = now.with_timezone(&Utc);
    let mut warnings = Vec::new();
    let abandoned = hosts::abandon_dead_runs(store, ws.grace, now, &mut warnings)?;
    let tasks = crate::task::repo::list(store.conn())?;
    let enabled: Vec<&crate::task::repo::StoredTask> =
        tasks.iter().filter(|t| t.spec.enabled).collect();
    let open = incidents::open(store.conn()).map_err(db(store, "read incidents"))?;
    let mut checks: Vec<(Kind, String, Check)> = Vec::new();
    let mut checked = vec![
        Kind::Missed,
        Kind::Late,
        Kind::Runaway,
        Kind::Scheduler,
        Kind::Outbox,
        Kind::HostSilent,
    ];

    // Missed slots.
    let since_registered = registered_at(store, sched.kind, &sched.host)?;
    for t in &enabled {
        let name = &t.spec.name;
        let Some(reg) = since_registered.get(&name.to_ascii_lowercase()) else { continue };
        let conn = store.conn();
        let reported =
            incidents::last_missed_mark(conn, name).map_err(db(store, "read incidents"))?;
        let open_mark = open
            .iter()
            .find(|i| i.kind == Kind::Missed && i.subject.eq_ignore_ascii_case(name))
            .and_then(|i| i.mark.as_deref())
            .and_then(crate::report::daily::parse_slot);
        let from = [
            Some(*reg),
            Some(t.updated_at),
            reported.map(|m| m + Duration::seconds(1)),
            Some(now_utc - detect::LOOKBACK),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now_utc);
        let since = open_mark.map_or(from, |m| m.min(from));
        let served =
            runs::slots_started_since(conn, name, since).map_err(db(store, "read runs"))?;
        let served = detect::slot_minutes(served.iter().map(String::as_str));
        let until = now - ws.grace;
        match detect::missed(
            name,
            &t.spec.schedule,
            from.with_timezone(&Local),
            until,
            &served,
            open_mark,
        ) {
            Ok(check) => checks.push((Kind::Missed, name.clone(), check)),
            Err(e) => {
                warnings.push(format!("task {name}: schedule cannot be evaluated: {e}"));
                if open_mark.is_some() {
                    checks.push((Kind::Missed, name.clone(), Check::Persists));
                }
            }
        }
    }

    // Late and runaway runs.
    let running = runs::running(store.conn(), None).map_err(db(store, "read runs"))?;
    let fleet = crate::fleet::silence::survey(store.conn(), &tasks, &running, ws.grace, now)?;
    checks.extend(hosts::checks(&fleet));
    for r in running {
        let Some(t) = tasks.iter().find(|t| t.spec.name.eq_ignore_ascii_case(&r.task)) else {
            continue;
        };
        let durations = runs::success_durations(store.conn(), &r.task, detect::RUNAWAY_SAMPLE)
            .map_err(db(store, "read runs"))?;
        let run = detect::RunningRun {
            id: r.id,
            task: t.spec.name.clone(),
            start: r.start,
            timeout: t.spec.timeout,
            durations,
        };
        if let Some(f) = detect::overdue(&run, now_utc, ws.grace, ws.runaway_factor)
            && !checks.iter().any(|(k, s, _)| *k == f.kind && s.eq_ignore_ascii_case(&f.subject))
        {
            checks.push((f.kind, f.subject.clone(), Check::Found(f)));
        }
    }

    // The scheduler.
    match &sched.registered {
        Ok(registered) => {
            checked.push(Kind::Registration);
            let history =
                crate::scheduler::registrations::load_history(store, sched.kind, &sched.host)?;
            let names: Vec<String> = enabled.iter().map(|t| t.spec.name.clone()).collect();
            for (task, check) in detect::registrations(&names, &history, registered) {
                checks.push((Kind::Registration, task, check));
            }
        }
        Err(e) => {
            let f = detect::unreachable(&sched.target, e);
            checks.push((Kind::Scheduler, String::new(), Check::Found(f)));
        }
    }

    // The outbox.
    let counts = crate::notify::outbox::counts(store.conn()).map_err(db(store, "read outbox"))?;
    let given_up = counts.iter().find(|(s, _)| *s == "given_up").map_or(0, |(_, n)| *n);
    checks.push((Kind::Outbox, String::new(), detect::outbox(given_up.max(0) as usize)));

    let steps = incidents::plan(&open, &checks, &checked, now_utc, ws.reminder);
    let to = alert::Delivery {
        mail: crate::notify::settings::MailSettings::from_settings(&settings),
        channels: ws.channels.clone(),
        host: runs::hostname(),
    };
    let path = store.path().to_path_buf();
    let (mut opened, mut reminded, mut recovered, mut queued) = (0, 0, 0, 0);
    store.write(|tx| -> Result<()> {
        let sql = |e: crate::store::sql::Error| {
            Error::Store(crate::store::classify(&path, "write incidents", e))
        };
        for step in &steps {
            let (event, incident) = match step {
                Step::Open(f) => {
                    opened += 1;
                    (alert::Event::Opened, incidents::insert(tx, f, now_utc).map_err(sql)?)
                }
                Step::Update { id, finding, remind } => {
                    let i = incidents::update(tx, *id, finding.as_ref(), *remind, now_utc)
                        .map_err(sql)?;
                    if !remind {
                        continue;
                    }
                    reminded += 1;
                    (alert::Event::Reminder, i)
                }
                Step::Close { id } => {
                    recovered += 1;
                    (alert::Event::Recovered, incidents::close(tx, *id, now_utc).map_err(sql)?)
                }
            };
            if !alert::deliver(tx, &path, &to, event, &incident, ws.reminder, now_utc)?.is_empty() {
                queued += 1;
            }
        }
        Ok(())
    })?;
    if queued > 0 {
        // Due messages only (the backoff of earlier failures holds), like the end of a run.
        let opts = crate::notify::FlushOptions {
            max_messages: Some(MAX_SENT_PER_PASS),
            ..crate::notify::FlushOptions::default()
        };
        if to.mail.configured() {
            let sent = crate::notify::relay_for(store, &to.mail).and_then(|relay| {
                crate::notify::flush_with(store, &relay, to.mail.from.as_ref(), &opts, now_utc)
            });
            match sent {
                Ok(r) if !r.failures.is_empty() => warnings.push(format!(
                    "{} incident message(s) not sent yet; they stay in the outbox",
                    r.failures.len()
                )),
                Ok(_) => {}
                Err(e) => warnings.push(format!("incident messages stay in the outbox: {e}")),
            }
        }
        match crate::notify::channels::flush(store, now_utc, false, MAX_SENT_PER_PASS, None) {
            Ok(r) if !r.failures.is_empty() => warnings.push(format!(
                "{} incident notification(s) not delivered yet; they stay in the outbox",
                r.failures.len()
            )),
            Ok(_) => {}
            Err(e) => warnings.push(format!("incident notifications stay in the outbox: {e}")),
        }
    }
    if let Err(e) = crate::metrics::refresh(store, &settings) {
        warnings.push(format!("metrics textfile not written: {e}"));
    }
    let open = incidents::open(store.conn()).map_err(db(store, "read incidents"))?;
    Ok(PassReport { open, opened, reminded, recovered, queued, warnings, abandoned })
}

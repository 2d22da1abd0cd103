//! Mail: failure alerts, reminders, recovery mails, the daily report, through an outbox.
//!
//! Flow after a run's final attempt ([`after_final_attempt`]):
//! 1. the run row is already committed by the executor (its result is final);
//! 2. in one transaction: the task's alert state is updated ([`policy::decide`]) and, when the
//!    policy asks for a mail, the rendered message is inserted into the outbox;
//! 3. only then is the message sent, bounded by `smtp.timeout` (≤ 20 s) as a whole; a failure
//!    leaves it queued with a backoff (see [`outbox`]);
//! 4. when the relay worked (or nothing was sent), a few older queued messages are retried,
//!    within a couple of seconds.
//!
//! Nothing here can change the run's result or exit code: errors are logged and reported in
//! the returned [`HookOutcome`].

pub mod address;
pub mod channels;
pub mod event;
mod flush_report;
pub mod graph;
pub mod message;
pub mod oauth;
pub mod outbox;
pub mod policy;
pub mod settings;
pub mod smtp;
pub mod transport;

use std::time::{Duration, Instant};

use crate::store::sql::{OptionalExtension, params};
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::exec::runs::{RunRecord, Status};
use crate::store::{Store, StoreError, from_db_time, to_db_time};
use crate::task::{NotifyPolicy, TaskSpec};

pub use flush_report::{FlushFailure, FlushReport};
use message::{AlertView, MessageKind, RunView};
use outbox::{AfterFailure, NewMessage};
use settings::MailSettings;
use smtp::{Deliver, SendError};
use transport::Outgoing;
pub use transport::relay_for;

/// How long the opportunistic retry at the end of `orc execute` may start new deliveries.
pub const OPPORTUNISTIC_BUDGET: Duration = Duration::from_secs(2);
/// How many queued messages the opportunistic retry handles at most.
pub const OPPORTUNISTIC_MAX: usize = 5;

/// What [`after_final_attempt`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HookOutcome {
    /// The mail the policy asked for, if any.
    pub mail: Option<MessageKind>,
    /// The outbox id of that mail, once queued.
    pub queued: Option<i64>,
    /// Whether it was delivered right away.
    pub sent: bool,
    /// Why it was not queued or not delivered (also logged).
    pub error: Option<String>,
    /// Older queued messages retried afterwards.
    pub flushed: Option<FlushReport>,
    /// Outbox ids of the messages queued for notification channels (not mail).
    pub channel_queued: Vec<i64>,
    /// How many of those were delivered right away.
    pub channel_sent: usize,
}

/// What [`record_and_queue`] queued.
#[derive(Debug, Default)]
struct Queued {
    /// The message the policy asked for.
    kind: Option<MessageKind>,
    /// The built-in mail's outbox id.
    mail: Option<i64>,
    /// Channel messages (webhook, teams, slack, eventlog).
    channels: Vec<i64>,
}

/// The executor's hook: call after the final attempt of a run, **after** its row is
/// committed, with that row's record (the executor owns the `runs` table: mail never reads it
/// itself). Never fails and never takes longer than the SMTP timeout (plus database time);
/// errors are logged and returned in the outcome.
pub fn after_final_attempt(store: &mut Store, run: &RunRecord) -> HookOutcome {
    after_final_attempt_at(store, run, crate::clock::now_utc())
}

/// [`after_final_attempt`] at an explicit time.
pub fn after_final_attempt_at(
    store: &mut Store,
    run: &RunRecord,
    now: DateTime<Utc>,
) -> HookOutcome {
    let run_id = run.id;
    let started = Instant::now();
    let mut out = HookOutcome::default();
    let settings = match MailSettings::load(store) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("mail settings are invalid, no mail for run {run_id}: {e}");
            out.error = Some(e.to_string());
            return out;
        }
    };
    match record_and_queue(store, run, &settings, now) {
        Ok(q) => {
            out.mail = q.kind;
            out.queued = q.mail;
            out.channel_queued = q.channels;
        }
        Err(e) => {
            tracing::warn!("cannot decide or queue mail for run {run_id}: {e}");
            out.error = Some(e.to_string());
            return out;
        }
    }
    if !out.channel_queued.is_empty() {
        let (sent, errors) = channels::deliver_ids(store, &out.channel_queued, now);
        out.channel_sent = sent;
        if let Some(e) = errors.into_iter().next() {
            out.error.get_or_insert(e);
        }
    }
    if started.elapsed() < OPPORTUNISTIC_BUDGET {
        let budget = OPPORTUNISTIC_BUDGET.saturating_sub(started.elapsed());
        if let Err(e) = channels::flush(store, now, false, OPPORTUNISTIC_MAX, Some(budget)) {
            tracing::warn!("retrying queued notifications failed: {e}");
        }
    }
    if !settings.configured() {
        return out;
    }
    let deadline = started + settings.timeout;
    let relay = match relay_for(store, &settings) {
        Ok(r) => r,
        Err(e) => {
            if let Some(id) = out.queued {
                let _ = outbox::mark_failed(store, id, now, &e.to_string(), false);
            }
            tracing::warn!("mail not sent: {e}");
            out.error = Some(e.to_string());
            return out;
        }
    };
    let from = settings.from.clone();
    if let Some(id) = out.queued {
        match send_one(store, &relay, from.as_ref(), id, now, deadline, false) {
            Ok(SendResult::Sent) => out.sent = true,
            Ok(SendResult::Failed(e, _)) => {
                tracing::warn!(
                    "mail about run {run_id} not sent (queued for retry): {}",
                    e.message
                );
                out.error = Some(e.message);
                return out;
            }
            Ok(SendResult::NotClaimed) => {}
            Err(e) => {
                out.error = Some(e.to_string());
                return out;
            }
        }
    }
    if started.elapsed() < OPPORTUNISTIC_BUDGET {
        let opts = FlushOptions {
            force: false,
            max_messages: Some(OPPORTUNISTIC_MAX),
            start_budget: Some(OPPORTUNISTIC_BUDGET.saturating_sub(started.elapsed())),
            deadline: Some(deadline),
        };
        match flush_with(store, &relay, from.as_ref(), &opts, now) {
            Ok(r) if r.attempted > 0 => out.flushed = Some(r),
            Ok(_) => {}
            Err(e) => tracing::warn!("retrying queued mail failed: {e}"),
        }
    }
    out
}

fn read_spec(
    conn: &crate::store::sql::Connection,
    task_id: Option<i64>,
    name: &str,
) -> crate::store::sql::Result<Option<TaskSpec>> {
    let text: Option<String> = match task_id {
        Some(id) => {
            conn.query_row("SELECT spec FROM tasks WHERE id = ?1", [id], |r| r.get(0)).optional()?
        }
        None => None,
    };
    let text = match text {
        Some(t) => Some(t),
        None => conn
            .query_row("SELECT spec FROM tasks WHERE name = ?1", [name], |r| r.get(0))
            .optional()?,
    };
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

fn read_state(
    conn: &crate::store::sql::Connection,
    task: &str,
) -> crate::store::sql::Result<(policy::State, Option<i64>)> {
    let row = conn
        .query_row(
            "SELECT consecutive_failures, alerting, last_alert_at, failing_since, suppressed, \
             last_run_id FROM notify_state WHERE task = ?1",
            [task],
            |r| {
                Ok((
                    policy::State {
                        consecutive_failures: r.get::<_, i64>(0)?.max(0) as u32,
                        alerting: r.get::<_, i64>(1)? != 0,
                        last_alert_at: r
                            .get::<_, Option<String>>(2)?
                            .as_deref()
                            .and_then(from_db_time),
                        failing_since: r
                            .get::<_, Option<String>>(3)?
                            .as_deref()
                            .and_then(from_db_time),
                        suppressed: r.get::<_, i64>(4)?.max(0) as u32,
                    },
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )
        .optional()?;
    Ok(row.unwrap_or_default())
}

/// The local-time display of a stored time (UTC text or a slot with an offset).
fn display_time(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => match chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z") {
            Ok(t) => t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string(),
            Err(_) => text.to_string(),
        },
    }
}

fn display_utc(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string()
}

/// The local-time display of a run's start or end.
fn display_run_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string()
}

fn run_view(run: &RunRecord, spec: Option<&TaskSpec>) -> RunView {
    let mut outputs = Vec::new();
    for (name, s) in [("stderr", &run.process.stderr), ("stdout", &run.process.stdout)] {
        if let Some(v) = message::output_view(name, &s.head, &s.tail, s.bytes.max(0) as u64) {
            outputs.push(v);
        }
    }
    let command = spec.map(|s| {
        let c: String = s.command.chars().take(500).collect();
        if s.command.chars().count() > 500 { format!("{c}…") } else { c }
    });
    RunView {
        id: run.id,
        task: run.task.clone(),
        host: run.host.clone(),
        slot: run.slot.as_deref().map(display_time),
        trigger: run.trigger.as_str().to_string(),
        status: run.status.as_str().to_string(),
        attempt: run.attempt,
        attempts_allowed: spec.map(TaskSpec::attempts).unwrap_or(run.attempt).max(run.attempt),
        exit_code: run.process.exit_code.map(message::exit_code_display),
        duration: run.duration_ms.map(|ms| crate::render::millis(ms.max(0) as u64)),
        start: display_run_time(run.start),
        end: run.end.map(display_run_time),
        error: run.error.clone().filter(|e| !e.trim().is_empty()),
        killed_by_timeout: run.process.killed_by_timeout,
        timeout: spec.and_then(|s| s.timeout).map(crate::render::secs),
        command,
        schedule: spec.map(|s| s.schedule.clone()),
        description: spec.and_then(|s| s.description.clone()),
        owner: spec.and_then(|s| s.owner.clone()),
        outputs,
        history_cmd: format!("orc history --task {}", run.task),
    }
}

/// Decides the message for a finished run and queues it for each of the task's channels, in
/// one transaction with the alert state. Returns the decided kind and the outbox ids.
fn record_and_queue(
    store: &mut Store,
    run: &RunRecord,
    settings: &MailSettings,
    now: DateTime<Utc>,
) -> Result<Queued> {
    let path = store.path().to_path_buf();
    let classify = |ctx: &'static str| {
        let path = path.clone();
        move |e: crate::store::sql::Error| crate::store::classify(&path, ctx, e)
    };
    store.write(|tx| {
        if run.status == Status::Running {
            return Err(Error::Failed(format!(
                "run {} is still RUNNING: mail is decided only once its result is recorded",
                run.id
            )));
        }
        let (state, last_run_id) =
            read_state(tx, &run.task).map_err(classify("read alert state"))?;
        if last_run_id.is_some_and(|id| id >= run.id) {
            // Already handled (the hook ran twice for this run, or runs came in out of order).
            return Ok(Queued::default());
        }
        let spec = read_spec(tx, run.task_id, &run.task).map_err(classify("read task"))?;
        let p = policy::Policy {
            policy: match spec.as_ref().map(|s| s.notify).unwrap_or_default() {
                NotifyPolicy::Default => settings.notify_default,
                p => p,
            },
            notify_after: spec.as_ref().map(|s| s.notify_after).unwrap_or(1),
            reminder_interval: settings.reminder_interval,
        };
        let outcome = policy::Outcome::of(run.status.as_str(), run.process.exit_code);
        let d = policy::decide(p, &state, outcome, now);
        tx.execute(
            "INSERT INTO notify_state (task, consecutive_failures, last_status, last_alert_at, \
             alerting, failing_since, suppressed, last_run_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT(task) DO UPDATE SET consecutive_failures = excluded.consecutive_failures, \
             last_status = excluded.last_status, last_alert_at = excluded.last_alert_at, \
             alerting = excluded.alerting, failing_since = excluded.failing_since, \
             suppressed = excluded.suppressed, last_run_id = excluded.last_run_id",
            params![
                run.task,
                d.state.consecutive_failures,
                run.status.as_str(),
                d.state.last_alert_at.map(to_db_time),
                d.state.alerting,
                d.state.failing_since.map(to_db_time),
                d.state.suppressed,
                run.id,
            ],
        )
        .map_err(classify("save alert state"))?;
        let Some(kind) = d.mail else {
            return Ok(Queued::default());
        };
        let own = spec.as_ref().map(|s| &s.notify_channels[..]).unwrap_or(&[]);
        let targets = channels::targets(tx, &channels::names_for(own, &settings.channels))?;
        let alert = AlertView {
            consecutive_failures: d.streak.consecutive_failures,
            failing_since: d.streak.failing_since.map(display_utc),
            suppressed: d.streak.suppressed,
            reminder_interval: settings
                .reminder_interval
                .map(|iv| crate::render::secs(iv.num_seconds().max(0) as u64)),
        };
        let view = run_view(run, spec.as_ref());
        let mut q = Queued { kind: Some(kind), ..Queued::default() };
        if let Some(ek) = event::EventKind::of_message(kind) {
            let subject = message::run_subject(kind, &view, &alert);
            let streak = Some(d.streak.consecutive_failures).filter(|n| *n > 0);
            let ev = event::NotifyEvent::from_run(ek, &subject, run, streak, now);
            q.channels = channels::queue_event(tx, &path, &targets.channels, &ev, now)?;
        }
        let email_channels = targets.channels.iter().any(|c| c.kind == channels::Kind::Email);
        if !targets.builtin_mail && !email_channels {
            return Ok(q);
        }
        if !settings.configured() {
            tracing::info!(
                "mail is not configured (smtp.host is not set): no {} mail",
                kind.as_str()
            );
            return Ok(q);
        }
        let rendered = message::render_run(kind, &view, &alert)?;
        let mail = NewMessage {
            run_id: Some(run.id),
            task: Some(run.task.clone()),
            kind,
            recipients: Vec::new(),
            subject: rendered.subject,
            text: rendered.text,
            html: Some(rendered.html),
        };
        channels::email::queue(tx, &path, &targets.channels, &mail, &settings.to, now)?;
        if !targets.builtin_mail {
            return Ok(q);
        }
        let recipients = match spec.as_ref().filter(|s| !s.email.is_empty()) {
            Some(s) => match address::from_items("email", &s.email) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("task {} has invalid recipients ({e}); using mail.to", run.task);
                    settings.to.clone()
                }
            },
            None => settings.to.clone(),
        };
        if recipients.is_empty() {
            tracing::warn!(
                "no recipients for the {} mail about {} (set mail.to or the task's --email)",
                kind.as_str(),
                run.task
            );
            return Ok(q);
        }
        q.mail = Some(outbox::insert(tx, &path, &NewMessage { recipients, ..mail }, now)?);
        Ok(q)
    })
}

enum SendResult {
    Sent,
    Failed(SendError, AfterFailure),
    NotClaimed,
}

/// Claims, builds and delivers one queued message, and records the result.
fn send_one(
    store: &mut Store,
    relay: &dyn Deliver,
    from: Option<&Mailbox>,
    id: i64,
    now: DateTime<Utc>,
    deadline: Instant,
    force: bool,
) -> Result<SendResult> {
    let lease = crate::clock::saturating_add(
        now,
        chrono::Duration::seconds(settings::MAX_TIMEOUT.as_secs() as i64 + 60),
    );
    let Some(row) = outbox::claim(store, id, now, lease, force)? else {
        return Ok(SendResult::NotClaimed);
    };
    let built = match from {
        None => Err(SendError {
            message: "mail.from is not set: orc needs a sender address".into(),
            permanent: false,
            unreachable: true,
            retry_after: None,
        }),
        Some(from) => address::from_items("recipients", &row.recipients)
            .map(|to| Outgoing {
                from: from.clone(),
                to,
                subject: row.subject.clone(),
                text: row.body_text.clone(),
                html: row.body_html.clone(),
            })
            .map_err(|e| SendError {
                message: e.to_string(),
                permanent: true,
                unreachable: false,
                retry_after: None,
            }),
    };
    let t0 = Instant::now();
    let result = built.and_then(|msg| relay.deliver(&msg, deadline));
    Ok(match (outbox::settle(store, id, now, t0, &result)?, result) {
        (Some(after), Err(e)) => SendResult::Failed(e, after),
        _ => SendResult::Sent,
    })
}

/// Options of a flush.
#[derive(Debug, Clone, Default)]
pub struct FlushOptions {
    /// Try every pending message now, ignoring the backoff (`orc notify flush`).
    pub force: bool,
    /// At most this many messages.
    pub max_messages: Option<usize>,
    /// Start no new delivery after this long.
    pub start_budget: Option<Duration>,
    /// Overall deadline for deliveries.
    pub deadline: Option<Instant>,
}

/// Retries queued messages through `relay`.
pub fn flush_with(
    store: &mut Store,
    relay: &dyn Deliver,
    from: Option<&Mailbox>,
    opts: &FlushOptions,
    now: DateTime<Utc>,
) -> Result<FlushReport> {
    let started = Instant::now();
    let limit = opts.max_messages.unwrap_or(10_000);
    let ids = outbox::pending_ids(store, now, opts.force, limit)?;
    let mut report = FlushReport::default();
    for (i, id) in ids.iter().enumerate() {
        if opts.start_budget.is_some_and(|b| started.elapsed() >= b) {
            report.budget_spent(ids.len() - i);
            break;
        }
        let per_message = Instant::now() + relay.timeout();
        let deadline = match opts.deadline {
            Some(d) => d.min(per_message),
            None => per_message,
        };
        let now_i = crate::clock::saturating_add(
            now,
            chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
        );
        match send_one(store, relay, from, *id, now_i, deadline, opts.force)? {
            SendResult::NotClaimed => continue,
            SendResult::Sent => report.delivered(),
            SendResult::Failed(e, after) => {
                report.failed_try(store, *id, &e.message, after)?;
                if e.unreachable {
                    let left = ids.len() - i - 1;
                    if left > 0 {
                        report.stopped = Some(format!(
                            "the relay cannot be reached; {left} message(s) left queued"
                        ));
                    }
                    break;
                }
            }
        }
    }
    report.with_totals(store, now)
}

/// `orc notify flush`: tries every queued message now.
pub fn flush(store: &mut Store, retry_given_up: bool) -> Result<FlushReport> {
    let now = crate::clock::now_utc();
    let settings = MailSettings::load(store)?;
    if retry_given_up {
        outbox::requeue_given_up(store, now)?;
    }
    let mut report = channels::flush(store, now, true, 10_000, None)?;
    if outbox::pending_ids(store, now, true, 1)?.is_empty() {
        return Ok(report);
    }
    let relay = relay_for(store, &settings)?;
    let opts = FlushOptions { force: true, ..FlushOptions::default() };
    report.absorb(flush_with(store, &relay, settings.from.as_ref(), &opts, now)?);
    Ok(report)
}

/// The result of [`send_test`].
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    pub relay: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
}

/// Sends a test message right away (not through the outbox) to `to`, or to `mail.to`.
/// The configure wizard calls this too.
pub fn send_test(store: &Store, to: Option<&str>) -> Result<TestReport> {
    let settings = MailSettings::load(store)?;
    let relay = relay_for(store, &settings)?;
    let from = settings
        .from
        .clone()
        .ok_or_else(|| Error::Usage("mail.from is not set: orc needs a sender address".into()))?;
    let recipients = match to {
        Some(t) => address::parse_list("--to", t)?,
        None => settings.to.clone(),
    };
    if recipients.is_empty() {
        return Err(Error::Usage("no recipient: give --to ADDR or set mail.to".into()));
    }
    let host = crate::exec::runs::hostname();
    let rendered = message::render_test(
        &host,
        &crate::clock::now().format("%Y-%m-%d %H:%M:%S %:z").to_string(),
        &relay.describe(),
    )?;
    let msg = Outgoing {
        from: from.clone(),
        to: recipients.clone(),
        subject: rendered.subject.clone(),
        text: rendered.text,
        html: Some(rendered.html),
    };
    relay
        .deliver(&msg, Instant::now() + settings.timeout)
        .map_err(|e| Error::Failed(format!("test message not sent: {}", e.message)))?;
    Ok(TestReport {
        relay: relay.describe(),
        from: from.to_string(),
        to: recipients.iter().map(|a| a.to_string()).collect(),
        subject: rendered.subject,
    })
}

/// Queues a message (for example the daily report) and tries to deliver it right away.
/// Returns the outbox id and whether it was delivered; a failed delivery stays queued.
pub fn queue_and_send(store: &mut Store, msg: NewMessage) -> Result<(i64, Option<String>)> {
    let now = crate::clock::now_utc();
    let settings = MailSettings::load(store)?;
    let relay = relay_for(store, &settings)?;
    let id = outbox::enqueue(store, &msg, now)?;
    let deadline = Instant::now() + settings.timeout;
    match send_one(store, &relay, settings.from.as_ref(), id, now, deadline, true)? {
        SendResult::Sent | SendResult::NotClaimed => Ok((id, None)),
        SendResult::Failed(e, _) => Ok((id, Some(e.message))),
    }
}

impl From<StoreError> for SendError {
    fn from(e: StoreError) -> Self {
        SendError {
            message: e.to_string(),
            permanent: false,
            unreachable: false,
            retry_after: None,
        }
    }
}

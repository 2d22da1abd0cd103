//! The outbox: every message is committed here first, then sent.
//!
//! A failed delivery stays with `tries`, `last_error` and a `next_attempt_at` that backs off
//! 1, 2, 4, 8 … minutes, capped at one hour. Later orc processes retry it (opportunistically at
//! the end of `orc execute`, and `orc notify flush`). After [`MAX_TRIES`] failed tries (about
//! a day of backoff) — or [`MAX_PERMANENT_TRIES`] when the relay says the message will never
//! be accepted — it is marked `gave_up_at` and reported, never silently dropped.
//!
//! Two processes never send the same message at once: a sender first *claims* a row by
//! setting `claimed_until` in an immediate transaction; a crashed sender's claim expires.

use crate::store::sql::{OptionalExtension, params};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::Result;
use crate::store::{Store, StoreError, from_db_time, to_db_time};

use super::message::MessageKind;

/// Failed tries after which a message is given up (≈ 20 h of backoff).
pub const MAX_TRIES: u32 = 24;
/// Failed tries after which a message the relay rejected permanently (5xx) is given up.
pub const MAX_PERMANENT_TRIES: u32 = 3;
/// Longest wait between two tries.
pub const MAX_BACKOFF_MINUTES: i64 = 60;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub run_id: Option<i64>,
    pub task: Option<String>,
    pub kind: MessageKind,
    pub recipients: Vec<lettre::Address>,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    #[serde(serialize_with = "crate::clock::as_local_iso::time")]
    pub created_at: DateTime<Utc>,
    pub run_id: Option<i64>,
    pub task: Option<String>,
    pub kind: String,
    pub recipients: Vec<String>,
    pub subject: String,
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: Option<String>,
    pub tries: u32,
    #[serde(serialize_with = "crate::clock::as_local_iso::time")]
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::clock::as_local_iso::opt_time")]
    pub sent_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "crate::clock::as_local_iso::opt_time")]
    pub gave_up_at: Option<DateTime<Utc>>,
    /// The notification channel of a non-mail message (`null`: mail).
    pub channel: Option<String>,
}

const COLUMNS: &str = "id, created_at, run_id, task, kind, recipients, subject, body_text, \
     body_html, tries, next_attempt_at, last_error, sent_at, gave_up_at, channel";

fn time_col(r: &crate::store::sql::Row<'_>, i: usize) -> crate::store::sql::Result<DateTime<Utc>> {
    let s: String = r.get(i)?;
    Ok(from_db_time(&s).unwrap_or(DateTime::<Utc>::MIN_UTC))
}

fn opt_time_col(
    r: &crate::store::sql::Row<'_>,
    i: usize,
) -> crate::store::sql::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = r.get(i)?;
    Ok(s.as_deref().and_then(from_db_time))
}

fn row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<OutboxRow> {
    let recipients: String = r.get(5)?;
    Ok(OutboxRow {
        id: r.get(0)?,
        created_at: time_col(r, 1)?,
        run_id: r.get(2)?,
        task: r.get(3)?,
        kind: r.get(4)?,
        recipients: recipients
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        subject: r.get(6)?,
        body_text: r.get(7)?,
        body_html: r.get(8)?,
        tries: r.get(9)?,
        next_attempt_at: time_col(r, 10)?,
        last_error: r.get(11)?,
        sent_at: opt_time_col(r, 12)?,
        gave_up_at: opt_time_col(r, 13)?,
        channel: r.get(14)?,
    })
}

/// Inserts a message inside an existing transaction (so it commits together with whatever
/// decided to send it). It is due immediately.
pub fn insert(
    tx: &crate::store::sql::Transaction<'_>,
    store_path: &std::path::Path,
    msg: &NewMessage,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let recipients: Vec<&str> = msg.recipients.iter().map(|a| a.as_ref()).collect();
    tx.query_row(
        "INSERT INTO outbox (created_at, run_id, task, kind, recipients, subject, body_text, \
         body_html, tries, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?1) \
         RETURNING id",
        params![
            to_db_time(now),
            msg.run_id,
            msg.task,
            msg.kind.as_str(),
            recipients.join(","),
            msg.subject,
            msg.text,
            msg.html,
        ],
        |r| r.get(0),
    )
    .map_err(|e| crate::store::classify(store_path, "queue mail", e))
}

/// Inserts a message for a non-mail notification channel (`body_text` holds the event JSON;
/// see [`super::channels`]) inside an existing transaction. It is due immediately.
pub fn insert_for_channel(
    tx: &crate::store::sql::Transaction<'_>,
    store_path: &std::path::Path,
    msg: &NewMessage,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id = insert(tx, store_path, msg, now)?;
    tx.execute("UPDATE outbox SET channel = ?2 WHERE id = ?1", params![id, channel])
        .map_err(|e| crate::store::classify(store_path, "queue notification", e))?;
    Ok(id)
}

/// Ids of pending channel messages (not mail), oldest first: due ones only, or all.
pub fn pending_channel_ids(
    store: &Store,
    now: DateTime<Utc>,
    all: bool,
    limit: usize,
) -> Result<Vec<i64>> {
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT id FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL \
             AND channel IS NOT NULL AND (?3 OR next_attempt_at <= ?1) ORDER BY id LIMIT ?2",
        )
        .map_err(|e| store.err("read outbox", e))?;
    let ids = stmt
        .query_map(params![to_db_time(now), limit as i64, all], |r| r.get(0))
        .map_err(|e| store.err("read outbox", e))?
        .collect::<crate::store::sql::Result<Vec<i64>>>()
        .map_err(|e| store.err("read outbox", e))?;
    Ok(ids)
}

/// Queues a message in its own transaction.
pub fn enqueue(store: &mut Store, msg: &NewMessage, now: DateTime<Utc>) -> Result<i64> {
    let path = store.path().to_path_buf();
    Ok(store.write(|tx| insert(tx, &path, msg, now))?)
}

/// Ids of pending mail messages (not channel messages), oldest first: due ones only, or all
/// when `all` is set.
pub fn pending_ids(store: &Store, now: DateTime<Utc>, all: bool, limit: usize) -> Result<Vec<i64>> {
    let mut stmt = store
        .conn()
        .prepare(
            "SELECT id FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL \
             AND channel IS NULL AND (?3 OR next_attempt_at <= ?1) ORDER BY id LIMIT ?2",
        )
        .map_err(|e| store.err("read outbox", e))?;
    let ids = stmt
        .query_map(params![to_db_time(now), limit as i64, all], |r| r.get(0))
        .map_err(|e| store.err("read outbox", e))?
        .collect::<crate::store::sql::Result<Vec<i64>>>()
        .map_err(|e| store.err("read outbox", e))?;
    Ok(ids)
}

/// Claims a pending message for sending until `until`. `force` ignores the backoff (an
/// explicit flush) but never another sender's live claim. Returns `None` when the message is
/// no longer pending, not yet due, or claimed by someone else.
pub fn claim(
    store: &mut Store,
    id: i64,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    force: bool,
) -> Result<Option<OutboxRow>> {
    let path = store.path().to_path_buf();
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1");
    Ok(store.write(|tx| {
        let n = tx
            .execute(
                "UPDATE outbox SET claimed_until = ?2 WHERE id = ?1 AND sent_at IS NULL \
                 AND gave_up_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?3) \
                 AND (?4 OR next_attempt_at <= ?3)",
                params![id, to_db_time(until), to_db_time(now), force],
            )
            .map_err(|e| crate::store::classify(&path, "claim mail", e))?;
        if n == 0 {
            return Ok::<_, StoreError>(None);
        }
        tx.query_row(&sql, [id], row)
            .optional()
            .map_err(|e| crate::store::classify(&path, "claim mail", e))
    })?)
}

/// Gives a claim back without counting a try (the message was not attempted).
pub fn release(store: &mut Store, id: i64) -> Result<()> {
    let path = store.path().to_path_buf();
    store.write(|tx| {
        tx.execute("UPDATE outbox SET claimed_until = NULL WHERE id = ?1", [id])
            .map_err(|e| crate::store::classify(&path, "release mail", e))
    })?;
    Ok(())
}

/// Records a successful delivery.
pub fn mark_sent(store: &mut Store, id: i64, now: DateTime<Utc>) -> Result<()> {
    let path = store.path().to_path_buf();
    store.write(|tx| {
        tx.execute(
            "UPDATE outbox SET sent_at = ?2, tries = tries + 1, last_error = NULL, \
             claimed_until = NULL WHERE id = ?1",
            params![id, to_db_time(now)],
        )
        .map_err(|e| crate::store::classify(&path, "record sent mail", e))
    })?;
    Ok(())
}

/// The wait before the try after `failed_tries` failures: 1, 2, 4 … minutes, at most an hour.
pub fn backoff(failed_tries: u32) -> chrono::Duration {
    let exp = failed_tries.saturating_sub(1).min(10);
    chrono::Duration::minutes((1i64 << exp).min(MAX_BACKOFF_MINUTES))
}

/// What happened to a message after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// It will be tried again at this time.
    RetryAt(DateTime<Utc>),
    /// It was given up.
    GaveUp,
}

/// Records a failed delivery: counts the try, stores the error, schedules the next try or
/// gives the message up.
pub fn mark_failed(
    store: &mut Store,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
    permanent: bool,
) -> Result<AfterFailure> {
    mark_failed_after(store, id, now, error, permanent, None)
}

/// Records the result of one delivery attempt of message `id` that began at `started` (`now`
/// on orc's clock): sent, or failed with the backoff, no earlier than the service's
/// `Retry-After`. The time recorded is the result's, not the start's, so a backoff counts
/// from the failure. `None`: sent.
pub fn settle(
    store: &mut Store,
    id: i64,
    now: DateTime<Utc>,
    started: std::time::Instant,
    result: &std::result::Result<(), super::smtp::SendError>,
) -> Result<Option<AfterFailure>> {
    let done = crate::clock::saturating_add(
        now,
        chrono::Duration::from_std(started.elapsed()).unwrap_or_default(),
    );
    match result {
        Ok(()) => mark_sent(store, id, done).map(|()| None),
        Err(e) => {
            let wait = e.retry_after.and_then(|d| chrono::Duration::from_std(d).ok());
            mark_failed_after(store, id, done, &e.message, e.permanent, wait).map(Some)
        }
    }
}

/// [`mark_failed`] when the service asked to wait `not_before` (HTTP `Retry-After`): the next
/// try is no earlier than that, nor earlier than the backoff.
pub fn mark_failed_after(
    store: &mut Store,
    id: i64,
    now: DateTime<Utc>,
    error: &str,
    permanent: bool,
    not_before: Option<chrono::Duration>,
) -> Result<AfterFailure> {
    let path = store.path().to_path_buf();
    let error: String = error.chars().take(1000).collect();
    Ok(store.write(|tx| {
        let tries: u32 = tx
            .query_row("SELECT tries FROM outbox WHERE id = ?1", [id], |r| r.get(0))
            .map_err(|e| crate::store::classify(&path, "record failed mail", e))?;
        let tries = tries + 1;
        let limit = if permanent { MAX_PERMANENT_TRIES } else { MAX_TRIES };
        let outcome = if tries >= limit {
            AfterFailure::GaveUp
        } else {
            AfterFailure::RetryAt(now + backoff(tries).max(not_before.unwrap_or_default()))
        };
        let (next, gave_up) = match outcome {
            AfterFailure::RetryAt(t) => (t, None),
            AfterFailure::GaveUp => (now, Some(to_db_time(now))),
        };
        tx.execute(
            "UPDATE outbox SET tries = ?2, last_error = ?3, next_attempt_at = ?4, \
             gave_up_at = ?5, claimed_until = NULL WHERE id = ?1",
            params![id, tries, error, to_db_time(next), gave_up],
        )
        .map_err(|e| crate::store::classify(&path, "record failed mail", e))?;
        Ok::<_, StoreError>(outcome)
    })?)
}

/// Puts given-up messages back in the queue (`orc notify flush --retry-given-up`).
pub fn requeue_given_up(store: &mut Store, now: DateTime<Utc>) -> Result<usize> {
    let path = store.path().to_path_buf();
    Ok(store.write(|tx| {
        tx.execute(
            "UPDATE outbox SET gave_up_at = NULL, tries = 0, next_attempt_at = ?1 \
             WHERE sent_at IS NULL AND gave_up_at IS NOT NULL",
            [to_db_time(now)],
        )
        .map_err(|e| crate::store::classify(&path, "requeue mail", e))
    })?)
}

/// Reads one message.
pub fn get(store: &Store, id: i64) -> Result<Option<OutboxRow>> {
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1");
    Ok(store
        .conn()
        .query_row(&sql, [id], row)
        .optional()
        .map_err(|e| store.err("read outbox", e))?)
}

/// The state of the outbox, for `orc notify status` and `orc notify flush`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Summary {
    /// Messages waiting to be sent (including those waiting for their next try).
    pub pending: usize,
    /// Pending messages that have failed at least once.
    pub failing: usize,
    /// Messages orc gave up on.
    pub given_up: usize,
    /// Messages delivered in the last 24 hours.
    pub sent_last_24h: usize,
    /// The pending and given-up messages, oldest first (at most 200).
    pub messages: Vec<OutboxRow>,
}

/// Reads the outbox summary.
pub fn summary(store: &Store, now: DateTime<Utc>) -> Result<Summary> {
    let c = store.conn();
    let count = |sql: &str, p: &[&dyn crate::store::sql::ToSql]| -> Result<usize> {
        let n: i64 = c.query_row(sql, p, |r| r.get(0)).map_err(|e| store.err("read outbox", e))?;
        Ok(n as usize)
    };
    let pending =
        count("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL", &[])?;
    let failing = count(
        "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL AND tries > 0",
        &[],
    )?;
    let given_up =
        count("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NOT NULL", &[])?;
    let since = to_db_time(crate::clock::saturating_add(now, -chrono::Duration::hours(24)));
    let sent_last_24h = count("SELECT count(*) FROM outbox WHERE sent_at >= ?1", &[&since])?;
    let sql = format!("SELECT {COLUMNS} FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT 200");
    let mut stmt = c.prepare(&sql).map_err(|e| store.err("read outbox", e))?;
    let messages = stmt
        .query_map([], row)
        .map_err(|e| store.err("read outbox", e))?
        .collect::<crate::store::sql::Result<Vec<_>>>()
        .map_err(|e| store.err("read outbox", e))?;
    Ok(Summary { pending, failing, given_up, sent_last_24h, messages })
}

/// Messages per state (`pending`, `sent`, `given_up`), for `orc watch` and the metrics
/// textfile: the pending and given-up counts use their partial indexes.
pub fn counts(
    conn: &crate::store::sql::Connection,
) -> crate::store::sql::Result<[(&'static str, i64); 3]> {
    let count = |sql: &str| conn.prepare_cached(sql)?.query_row([], |r| r.get::<_, i64>(0));
    let pending =
        count("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NULL")?;
    let given_up =
        count("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND gave_up_at IS NOT NULL")?;
    let total = count("SELECT count(*) FROM outbox")?;
    Ok([("pending", pending), ("sent", total - pending - given_up), ("given_up", given_up)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    fn msg() -> NewMessage {
        NewMessage {
            run_id: Some(7),
            task: Some("t".into()),
            kind: MessageKind::Failure,
            recipients: vec!["a@example.com".parse().unwrap(), "b@example.com".parse().unwrap()],
            subject: "s".into(),
            text: "text".into(),
            html: Some("<p>html</p>".into()),
        }
    }

    #[test]
    fn backoff_doubles_and_caps_at_an_hour() {
        let mins: Vec<i64> = (1..=9).map(|n| backoff(n).num_minutes()).collect();
        assert_eq!(mins, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(backoff(1000).num_minutes(), 60);
        let total: i64 = (1..MAX_TRIES).map(|n| backoff(n).num_minutes()).sum();
        assert!((15 * 60..=24 * 60).contains(&total), "{total} minutes before giving up");
    }

    #[test]
    fn lifecycle_claim_fail_retry_send() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let id = enqueue(&mut s, &msg(), t(0)).unwrap();
        assert_eq!(pending_ids(&s, t(0), false, 10).unwrap(), vec![id]);
        let row = claim(&mut s, id, t(0), t(1), false).unwrap().unwrap();
        assert_eq!(row.recipients, vec!["a@example.com", "b@example.com"]);
        // A second sender cannot take it while the claim lives.
        assert!(claim(&mut s, id, t(0), t(1), true).unwrap().is_none());
        let after = mark_failed(&mut s, id, t(0), "refused", false).unwrap();
        assert_eq!(after, AfterFailure::RetryAt(t(1)));
        // Not due before its next attempt, unless forced.
        assert!(pending_ids(&s, t(0), false, 10).unwrap().is_empty());
        assert_eq!(pending_ids(&s, t(0), true, 10).unwrap(), vec![id]);
        assert!(claim(&mut s, id, t(0), t(1), false).unwrap().is_none());
        assert!(claim(&mut s, id, t(1), t(2), false).unwrap().is_some());
        mark_failed(&mut s, id, t(1), "refused again", false).unwrap();
        let r = get(&s, id).unwrap().unwrap();
        assert_eq!((r.tries, r.next_attempt_at), (2, t(3)));
        assert_eq!(r.last_error.as_deref(), Some("refused again"));
        let sum = summary(&s, t(3)).unwrap();
        assert_eq!((sum.pending, sum.failing, sum.given_up), (1, 1, 0));
        assert!(claim(&mut s, id, t(3), t(4), false).unwrap().is_some());
        mark_sent(&mut s, id, t(3)).unwrap();
        let r = get(&s, id).unwrap().unwrap();
        assert_eq!(r.sent_at, Some(t(3)));
        assert!(r.last_error.is_none());
        assert!(claim(&mut s, id, t(100), t(101), true).unwrap().is_none(), "sent is final");
        let sum = summary(&s, t(4)).unwrap();
        assert_eq!((sum.pending, sum.sent_last_24h), (0, 1));
    }

    #[test]
    fn gives_up_after_the_limit_and_can_be_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let id = enqueue(&mut s, &msg(), t(0)).unwrap();
        let mut now = t(0);
        let mut outcomes = Vec::new();
        for _ in 0..MAX_TRIES {
            claim(&mut s, id, now, now + chrono::Duration::minutes(1), true).unwrap().unwrap();
            let o = mark_failed(&mut s, id, now, "down", false).unwrap();
            outcomes.push(o);
            now += chrono::Duration::hours(1);
        }
        assert!(
            outcomes[..MAX_TRIES as usize - 1]
                .iter()
                .all(|o| matches!(o, AfterFailure::RetryAt(_)))
        );
        assert_eq!(outcomes.last(), Some(&AfterFailure::GaveUp));
        assert!(claim(&mut s, id, now, now, true).unwrap().is_none());
        assert_eq!(summary(&s, now).unwrap().given_up, 1);
        assert_eq!(requeue_given_up(&mut s, now).unwrap(), 1);
        assert_eq!(pending_ids(&s, now, false, 10).unwrap(), vec![id]);

        let id2 = enqueue(&mut s, &msg(), t(0)).unwrap();
        for i in 0..MAX_PERMANENT_TRIES {
            claim(&mut s, id2, now, now, true).unwrap().unwrap();
            let o = mark_failed(&mut s, id2, now, "550 no such user", true).unwrap();
            assert_eq!(o == AfterFailure::GaveUp, i + 1 == MAX_PERMANENT_TRIES);
        }
    }

    #[test]
    fn retry_after_pushes_the_next_try_but_never_before_the_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let id = enqueue(&mut s, &msg(), t(0)).unwrap();
        claim(&mut s, id, t(0), t(1), false).unwrap().unwrap();
        let wait = Some(chrono::Duration::minutes(10));
        let after = mark_failed_after(&mut s, id, t(0), "HTTP 429", false, wait).unwrap();
        assert_eq!(after, AfterFailure::RetryAt(t(10)));
        assert!(pending_ids(&s, t(9), false, 10).unwrap().is_empty(), "still waiting");
        assert_eq!(pending_ids(&s, t(10), false, 10).unwrap(), vec![id]);
        // A Retry-After shorter than the backoff does not shorten it.
        claim(&mut s, id, t(10), t(11), false).unwrap().unwrap();
        let short = Some(chrono::Duration::seconds(5));
        let after = mark_failed_after(&mut s, id, t(10), "HTTP 429", false, short).unwrap();
        assert_eq!(after, AfterFailure::RetryAt(t(12)));
    }

    #[test]
    fn expired_claims_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let id = enqueue(&mut s, &msg(), t(0)).unwrap();
        claim(&mut s, id, t(0), t(1), false).unwrap().unwrap();
        // The claimer crashed; after the claim expires another process can send it.
        assert!(claim(&mut s, id, t(2), t(3), false).unwrap().is_some());
        release(&mut s, id).unwrap();
        assert!(claim(&mut s, id, t(2), t(3), false).unwrap().is_some());
    }
}

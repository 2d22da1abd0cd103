//! The `incidents` table and the lifecycle of an incident: **opened** (alerted once),
//! **reminded** every `notify.reminder_interval` while open, **recovered** (one message) when
//! a pass no longer finds it. At most one incident per kind and subject is open (a unique
//! partial index). [`plan`] decides, purely; [`apply`] writes, in the caller's transaction.

use crate::store::sql::{Connection, params};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::detect::{Check, Finding, Kind};
use crate::store::{from_db_time, to_db_time};

/// One incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub kind: Kind,
    /// The task, or `""` for machine-wide kinds (scheduler, outbox).
    pub subject: String,
    pub summary: String,
    pub detail: serde_json::Value,
    #[serde(skip)]
    pub mark: Option<String>,
    /// Occurrences (missed: slots missed while it was open).
    pub count: i64,
    #[serde(serialize_with = "crate::clock::as_local_iso::time")]
    pub opened_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::clock::as_local_iso::time")]
    pub last_seen_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::clock::as_local_iso::opt_time")]
    pub last_alert_at: Option<DateTime<Utc>>,
    /// Messages sent about it (the alert and the reminders).
    pub alerts: i64,
    #[serde(serialize_with = "crate::clock::as_local_iso::opt_time")]
    pub closed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, kind, subject, summary, detail, mark, count, opened_at, last_seen_at, \
     last_alert_at, alerts, closed_at";

fn row(r: &crate::store::sql::Row<'_>) -> crate::store::sql::Result<Option<Incident>> {
    let time = |s: String| from_db_time(&s).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let kind: String = r.get(1)?;
    let Some(kind) = Kind::parse(&kind) else { return Ok(None) };
    let detail: String = r.get(4)?;
    Ok(Some(Incident {
        id: r.get(0)?,
        kind,
        subject: r.get(2)?,
        summary: r.get(3)?,
        detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        mark: r.get(5)?,
        count: r.get(6)?,
        opened_at: time(r.get(7)?),
        last_seen_at: time(r.get(8)?),
        last_alert_at: r.get::<_, Option<String>>(9)?.as_deref().and_then(from_db_time),
        alerts: r.get(10)?,
        closed_at: r.get::<_, Option<String>>(11)?.as_deref().and_then(from_db_time),
    }))
}

/// The open incidents, oldest first.
pub fn open(conn: &Connection) -> crate::store::sql::Result<Vec<Incident>> {
    let mut stmt = conn
        .prepare(&format!("SELECT {COLUMNS} FROM incidents WHERE closed_at IS NULL ORDER BY id"))?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<crate::store::sql::Result<Vec<_>>>()?.into_iter().flatten().collect())
}

/// The latest missed slot ever reported for `task` (open or closed incident): slots up to it
/// are never reported again. Compared as instants (slot texts carry their UTC offset).
pub fn last_missed_mark(
    conn: &Connection,
    task: &str,
) -> crate::store::sql::Result<Option<DateTime<Utc>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT mark FROM incidents WHERE kind = 'missed' AND subject = ?1 AND mark IS NOT NULL",
    )?;
    let marks = stmt.query_map([task], |r| r.get::<_, String>(0))?;
    let mut best = None;
    for m in marks {
        best = best.max(crate::report::daily::parse_slot(&m?));
    }
    Ok(best)
}

/// Missed slots reported per task (lower-case name), over every incident.
pub fn missed_counts(conn: &Connection) -> crate::store::sql::Result<Vec<(String, i64)>> {
    let mut stmt = conn.prepare(
        "SELECT lower(subject), sum(count) FROM incidents WHERE kind = 'missed' \
         GROUP BY lower(subject)",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// What to do with one incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A new incident: insert it and alert.
    Open(Finding),
    /// An open incident seen again, with news (`finding`) or without; `remind` when the
    /// reminder interval has passed since the last message.
    Update { id: i64, finding: Option<Finding>, remind: bool },
    /// An open incident the pass no longer finds: close it and send the recovery.
    Close { id: i64 },
}

/// Decides the steps of a pass. `checks` are the subjects the pass looked at, per kind;
/// `checked` the kinds it looked at completely (an open incident of such a kind that is not
/// among `checks` is over). Incidents of other kinds (e.g. registrations while the scheduler
/// cannot be read) are left as they are.
pub fn plan(
    open: &[Incident],
    checks: &[(Kind, String, Check)],
    checked: &[Kind],
    now: DateTime<Utc>,
    reminder: Option<Duration>,
) -> Vec<Step> {
    let same = |i: &Incident, k: Kind, s: &str| i.kind == k && i.subject.eq_ignore_ascii_case(s);
    let due = |i: &Incident| reminder.is_some_and(|r| i.last_alert_at.is_none_or(|t| t + r <= now));
    let mut steps = Vec::new();
    let mut seen = vec![false; open.len()];
    for (kind, subject, check) in checks {
        let idx = open.iter().position(|i| same(i, *kind, subject));
        if let Some(i) = idx {
            seen[i] = true;
        }
        match (check, idx) {
            (Check::Found(f), None) => steps.push(Step::Open(f.clone())),
            (Check::Found(f), Some(i)) => steps.push(Step::Update {
                id: open[i].id,
                finding: Some(f.clone()),
                remind: due(&open[i]),
            }),
            (Check::Persists, Some(i)) => {
                steps.push(Step::Update { id: open[i].id, finding: None, remind: due(&open[i]) })
            }
            (Check::Clear, Some(i)) => {
                seen[i] = false;
            }
            (_, None) => {}
        }
    }
    for (i, inc) in open.iter().enumerate() {
        if !seen[i] && checked.contains(&inc.kind) {
            steps.push(Step::Close { id: inc.id });
        }
    }
    steps
}

/// Inserts a new incident; returns it.
pub fn insert(
    conn: &Connection,
    f: &Finding,
    now: DateTime<Utc>,
) -> crate::store::sql::Result<Incident> {
    let at = to_db_time(now);
    let id: i64 = conn.query_row(
        "INSERT INTO incidents (kind, subject, summary, detail, mark, count, opened_at, \
         last_seen_at, last_alert_at, alerts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7, 1) \
         RETURNING id",
        params![
            f.kind.as_str(),
            f.subject,
            f.summary,
            f.detail.to_string(),
            f.mark,
            f.added.max(1),
            at
        ],
        |r| r.get(0),
    )?;
    get(conn, id)
}

/// Records a pass that saw an open incident again (with news, and/or a reminder sent).
pub fn update(
    conn: &Connection,
    id: i64,
    finding: Option<&Finding>,
    reminded: bool,
    now: DateTime<Utc>,
) -> crate::store::sql::Result<Incident> {
    let at = to_db_time(now);
    if let Some(f) = finding {
        conn.execute(
            "UPDATE incidents SET summary = ?2, detail = ?3, mark = coalesce(?4, mark), \
             count = count + ?5, last_seen_at = ?6 WHERE id = ?1",
            params![id, f.summary, f.detail.to_string(), f.mark, f.added, at],
        )?;
    } else {
        conn.execute("UPDATE incidents SET last_seen_at = ?2 WHERE id = ?1", params![id, at])?;
    }
    if reminded {
        conn.execute(
            "UPDATE incidents SET last_alert_at = ?2, alerts = alerts + 1 WHERE id = ?1",
            params![id, at],
        )?;
    }
    get(conn, id)
}

/// Closes an incident.
pub fn close(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
) -> crate::store::sql::Result<Incident> {
    conn.execute(
        "UPDATE incidents SET closed_at = ?2 WHERE id = ?1",
        params![id, to_db_time(now)],
    )?;
    get(conn, id)
}

fn get(conn: &Connection, id: i64) -> crate::store::sql::Result<Incident> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"), [id], row)?
        .ok_or(crate::store::sql::Error::QueryReturnedNoRows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
    }

    fn finding(kind: Kind, subject: &str) -> Finding {
        Finding {
            kind,
            subject: subject.into(),
            summary: "s".into(),
            detail: serde_json::Value::Null,
            mark: None,
            added: 1,
        }
    }

    fn incident(id: i64, kind: Kind, subject: &str, alerted_min_ago: i64) -> Incident {
        Incident {
            id,
            kind,
            subject: subject.into(),
            summary: "s".into(),
            detail: serde_json::Value::Null,
            mark: None,
            count: 1,
            opened_at: now() - Duration::hours(10),
            last_seen_at: now(),
            last_alert_at: Some(now() - Duration::minutes(alerted_min_ago)),
            alerts: 1,
            closed_at: None,
        }
    }

    #[test]
    fn open_remind_keep_and_close() {
        let open = vec![
            incident(1, Kind::Late, "a", 30),
            incident(2, Kind::Missed, "b", 300),
            incident(3, Kind::Late, "c", 300),
            incident(4, Kind::Registration, "d", 300),
        ];
        let checks = vec![
            (Kind::Late, "A".to_string(), Check::Found(finding(Kind::Late, "A"))),
            (Kind::Missed, "b".to_string(), Check::Persists),
            (Kind::Late, "new".to_string(), Check::Found(finding(Kind::Late, "new"))),
            (Kind::Missed, "quiet".to_string(), Check::Clear),
        ];
        let steps =
            plan(&open, &checks, &[Kind::Late, Kind::Missed], now(), Some(Duration::hours(4)));
        assert_eq!(
            steps,
            vec![
                Step::Update { id: 1, finding: Some(finding(Kind::Late, "A")), remind: false },
                Step::Update { id: 2, finding: None, remind: true },
                Step::Open(finding(Kind::Late, "new")),
                Step::Close { id: 3 },
            ],
            "registration kinds were not checked: incident 4 stays open"
        );
        let steps = plan(
            &open[1..2],
            &[(Kind::Missed, "b".into(), Check::Persists)],
            &[Kind::Missed],
            now(),
            None,
        );
        assert_eq!(
            steps,
            vec![Step::Update { id: 2, finding: None, remind: false }],
            "no reminders"
        );
    }
}

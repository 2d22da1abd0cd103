//! Keyset paging over the runs table for the REST API (`/api/v1/runs`): newest first by
//! `(start, id)`, with optional filters, continuing after a cursor (the last run id of the
//! previous page). Every page is one indexed range scan (`runs_by_start`, or `runs_by_task`
//! when a task is given), so page 1000 costs what page 1 costs — no OFFSET.

use crate::store::sql::Connection;
use chrono::{DateTime, Utc};

use super::query::{COLUMNS, from_row};
use super::{RunRecord, Status};
use crate::store::to_db_time;

/// Largest page.
pub const MAX_PAGE: u32 = 1000;

/// What one page asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageQuery {
    /// Case-insensitive task name.
    pub task: Option<String>,
    pub status: Option<Status>,
    /// Trigger as stored: `scheduled`, `manual` or `retry`.
    pub trigger: Option<String>,
    /// Runs that started at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Runs that started before this time.
    pub until: Option<DateTime<Utc>>,
    /// Continue after this run (the `next` cursor of the previous page).
    pub after: Option<i64>,
    /// 1..=[`MAX_PAGE`].
    pub limit: u32,
}

/// One page of runs and the cursor of the next page (`None`: this was the last page).
#[derive(Debug, Clone)]
pub struct Page {
    pub runs: Vec<RunRecord>,
    pub next: Option<i64>,
}

/// The page `q` describes. A cursor naming a run that no longer exists gives an empty page.
pub fn page(conn: &Connection, q: &PageQuery) -> crate::store::sql::Result<Page> {
    let limit = q.limit.clamp(1, MAX_PAGE);
    let mut sql = format!("SELECT {COLUMNS} FROM runs WHERE 1=1");
    let mut args: Vec<Box<dyn crate::store::sql::ToSql>> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, v: Box<dyn crate::store::sql::ToSql>| {
        args.push(v);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(t) = &q.task {
        arg(&mut sql, " AND task COLLATE NOCASE = ?", Box::new(t.clone()));
    }
    if let Some(s) = q.status {
        arg(&mut sql, " AND status = ?", Box::new(s.as_str()));
    }
    if let Some(t) = &q.trigger {
        arg(&mut sql, " AND trigger = ?", Box::new(t.clone()));
    }
    if let Some(since) = q.since {
        arg(&mut sql, " AND start >= ?", Box::new(to_db_time(since)));
    }
    if let Some(until) = q.until {
        arg(&mut sql, " AND start < ?", Box::new(to_db_time(until)));
    }
    if let Some(after) = q.after {
        arg(
            &mut sql,
            " AND (start, id) < (SELECT start, id FROM runs WHERE id = ?)",
            Box::new(after),
        );
    }
    // One more than asked tells whether another page exists.
    arg(&mut sql, " ORDER BY start DESC, id DESC LIMIT ?", Box::new(i64::from(limit) + 1));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(crate::store::sql::params_from_iter(args.iter()), from_row)?;
    let mut runs = rows.collect::<crate::store::sql::Result<Vec<_>>>()?;
    let more = runs.len() > limit as usize;
    runs.truncate(limit as usize);
    let next = if more { runs.last().map(|r| r.id) } else { None };
    Ok(Page { runs, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sql::params;

    #[test]
    fn pages_walk_every_run_once_newest_first_with_filters() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let c = store.conn();
        let t0 = crate::clock::now_utc() - chrono::Duration::hours(100);
        for i in 0..25i64 {
            // Two runs share each start time: the id breaks the tie.
            let start = t0 + chrono::Duration::hours(i / 2);
            let (task, status) = if i % 3 == 0 { ("a", "FAILED") } else { ("b", "SUCCESS") };
            c.execute(
                "INSERT INTO runs (task, trigger, status, start, host, orc_version) \
                 VALUES (?1, 'manual', ?2, ?3, 'h', 'v')",
                params![task, status, to_db_time(start)],
            )
            .unwrap();
        }
        let mut q = PageQuery { limit: 4, ..PageQuery::default() };
        let mut seen = Vec::new();
        loop {
            let p = page(c, &q).unwrap();
            assert!(p.runs.len() <= 4);
            seen.extend(p.runs.iter().map(|r| (r.start, r.id)));
            match p.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        let mut sorted = seen.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(seen, sorted, "newest first, no run twice");
        let a = page(c, &PageQuery { task: Some("A".into()), limit: 100, ..PageQuery::default() })
            .unwrap();
        assert_eq!(a.runs.len(), 9);
        assert!(a.runs.iter().all(|r| r.task == "a" && r.status == Status::Failed));
        assert_eq!(a.next, None);
        let ok = PageQuery { status: Some(Status::Success), limit: 1000, ..PageQuery::default() };
        assert_eq!(page(c, &ok).unwrap().runs.len(), 16);
        let recent = PageQuery { since: Some(t0 + chrono::Duration::hours(11)), limit: 50, ..q };
        assert_eq!(page(c, &PageQuery { after: None, ..recent }).unwrap().runs.len(), 3);
        let scheduled =
            PageQuery { trigger: Some("scheduled".into()), limit: 5, ..PageQuery::default() };
        assert!(page(c, &scheduled).unwrap().runs.is_empty());
    }
}

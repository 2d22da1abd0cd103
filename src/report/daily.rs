//! The daily report: what ran, what failed, what was missed and what is coming, for one
//! window of time (the last 24 hours, or one calendar day).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Local, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::clock;
use crate::error::{Error, Result};
use crate::exec::runs;
use crate::notify::message::exit_code_display;
use crate::store::{Store, from_db_time};
use crate::task::TaskSpec;

use super::slots::slots_between;
use super::stats::percentile;

/// A slot this recent is not called missed yet: its run may still be starting.
pub const MISSED_GRACE: Duration = Duration::minutes(5);
/// Most expected slots looked at per task and window (a minutely task has 1440 a day).
pub const MAX_SLOTS: usize = 2000;
/// Most failures listed (the counts stay exact).
pub const MAX_FAILURES: usize = 50;
/// Missed slot times listed per task (the count stays exact).
pub const MAX_MISSED_TIMES: usize = 10;

/// The period a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Local>,
    pub end: DateTime<Local>,
    /// Whether this is one calendar day (`--date`) rather than the last 24 hours.
    pub calendar_day: bool,
}

impl Window {
    /// The 24 hours before `now`.
    pub fn last_24h(now: DateTime<Local>) -> Window {
        Window {
            start: clock::saturating_add(now, -Duration::hours(24)),
            end: now,
            calendar_day: false,
        }
    }

    /// One local calendar day, midnight to midnight (23 or 25 hours on DST days).
    pub fn day(date: NaiveDate) -> Result<Window> {
        let midnight = |d: NaiveDate| {
            crate::clock::earliest(
                Local.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight")),
            )
        };
        let next = date
            .succ_opt()
            .ok_or_else(|| Error::invalid("--date", date.to_string(), "out of range"))?;
        match (midnight(date), midnight(next)) {
            (Some(start), Some(end)) => Ok(Window { start, end, calendar_day: true }),
            _ => Err(Error::invalid("--date", date.to_string(), "has no local midnight")),
        }
    }
}

/// Runs by outcome, and missed slots: of one task ([`TaskRow`]) or of all ([`Totals`]).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunCounts {
    pub runs: usize,
    pub success: usize,
    /// FAILED, ABANDONED, and SKIPPED runs whose unmet dependencies count as failure.
    pub failed: usize,
    pub timeouts: usize,
    pub skipped: usize,
    pub running: usize,
    pub missed: usize,
}

impl RunCounts {
    /// Adds another's counts (a task's to the totals).
    fn add(&mut self, other: &RunCounts) {
        self.runs += other.runs;
        self.success += other.success;
        self.failed += other.failed;
        self.timeouts += other.timeouts;
        self.skipped += other.skipped;
        self.running += other.running;
        self.missed += other.missed;
    }
}

/// Totals over all tasks.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Totals {
    pub tasks: usize,
    #[serde(flatten)]
    pub counts: RunCounts,
}

/// One task's line.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRow {
    pub name: String,
    pub enabled: bool,
    /// `false` when the task has runs in the window but no longer exists.
    pub exists: bool,
    pub schedule: Option<String>,
    pub description: Option<String>,
    #[serde(flatten)]
    pub counts: RunCounts,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p50: Option<String>,
    pub p95: Option<String>,
    pub last_status: Option<String>,
    pub last_run: Option<String>,
    /// `ok`, `failing`, `missed`, `idle`, `disabled`.
    pub health: String,
}

/// One failed run.
#[derive(Debug, Clone, Serialize)]
pub struct FailureRow {
    pub run_id: i64,
    pub task: String,
    pub start: String,
    pub status: String,
    pub exit_code: Option<String>,
    pub attempts: u32,
    pub reason: String,
}

/// Slots of one task that have no run.
#[derive(Debug, Clone, Serialize)]
pub struct MissedRow {
    pub task: String,
    pub schedule: String,
    pub count: usize,
    /// The first [`MAX_MISSED_TIMES`] missed times.
    pub times: Vec<String>,
}

/// What is coming for one task.
#[derive(Debug, Clone, Serialize)]
pub struct UpcomingRow {
    pub task: String,
    pub schedule: String,
    pub next: String,
    /// The next run as ISO 8601 (for JSON consumers and sorting).
    pub next_iso: String,
    pub count_24h: usize,
}

/// Health of the mail outbox.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailHealth {
    pub pending: usize,
    pub given_up: usize,
}

/// Everything the report shows.
#[derive(Debug, Clone, Serialize)]
pub struct DailyReport {
    pub title: String,
    pub host: String,
    pub generated_at: String,
    pub window_start: String,
    pub window_end: String,
    /// Human form of the window (`2026-03-02 00:00 – 2026-03-03 00:00`).
    pub window: String,
    pub calendar_day: bool,
    pub totals: Totals,
    pub tasks: Vec<TaskRow>,
    pub failures: Vec<FailureRow>,
    /// More failures than listed.
    pub failures_omitted: usize,
    pub missed: Vec<MissedRow>,
    pub upcoming: Vec<UpcomingRow>,
    pub mail: MailHealth,
    /// Problems found while building the report (e.g. a schedule that does not parse).
    pub warnings: Vec<String>,
}

struct TaskInfo {
    spec: Option<TaskSpec>,
    enabled: bool,
    created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
struct Attempt {
    id: i64,
    task: String,
    slot: Option<String>,
    attempt: u32,
    status: String,
    start: DateTime<Utc>,
    duration_ms: Option<i64>,
    exit_code: Option<i64>,
    error: Option<String>,
    stderr_tail: Vec<u8>,
    stdout_tail: Vec<u8>,
}

/// A logical run: its attempts (a retry continues the run it retries).
#[derive(Debug, Clone)]
struct LogicalRun {
    attempts: Vec<Attempt>,
}

impl LogicalRun {
    fn last(&self) -> &Attempt {
        self.attempts.last().expect("a run has at least one attempt")
    }
}

/// Groups attempt rows (ordered by start) into logical runs.
fn group(rows: Vec<Attempt>) -> Vec<LogicalRun> {
    let mut runs: Vec<LogicalRun> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows {
        let key = row.task.to_ascii_lowercase();
        if row.attempt > 1
            && let Some(&i) = open.get(&key)
        {
            let prev = runs[i].last();
            if prev.slot == row.slot && prev.attempt + 1 == row.attempt {
                runs[i].attempts.push(row);
                continue;
            }
        }
        open.insert(key, runs.len());
        runs.push(LogicalRun { attempts: vec![row] });
    }
    runs
}

fn is_failure(a: &Attempt) -> bool {
    matches!(a.status.as_str(), "FAILED" | "ABANDONED")
        || (a.status == "SKIPPED" && a.exit_code == Some(crate::error::exit::DEPS_UNMET as i64))
}

/// Parses a stored slot (`2026-03-02T02:00+01:00`, or RFC 3339) into an instant.
pub fn parse_slot(text: &str) -> Option<DateTime<Utc>> {
    chrono::DateTime::parse_from_rfc3339(text)
        .or_else(|_| chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%:z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn human(t: DateTime<Local>) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn human_utc(t: DateTime<Utc>) -> String {
    human(t.with_timezone(&Local))
}

/// The reason shown for a failure: the recorded error, else the last non-empty output line.
fn reason(a: &Attempt) -> String {
    if let Some(e) = a.error.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        return e.chars().take(300).collect();
    }
    for tail in [&a.stderr_tail, &a.stdout_tail] {
        let text = String::from_utf8_lossy(tail);
        if let Some(line) = text.lines().map(str::trim).rfind(|l| !l.is_empty()) {
            let line: String = line.chars().filter(|c| !c.is_control()).take(300).collect();
            return line;
        }
    }
    match a.exit_code {
        Some(c) => format!("exit code {}", exit_code_display(c)),
        None => a.status.to_lowercase(),
    }
}

fn read_tasks(store: &Store) -> Result<BTreeMap<String, TaskInfo>> {
    let mut stmt = store
        .conn()
        .prepare("SELECT name, enabled, spec, created_at FROM tasks ORDER BY name COLLATE NOCASE")
        .map_err(|e| store.err("read tasks", e))?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(|e| store.err("read tasks", e))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (name, enabled, spec, created) = row.map_err(|e| store.err("read tasks", e))?;
        let spec: Option<TaskSpec> = serde_json::from_str(&spec).ok();
        out.insert(
            name.to_ascii_lowercase(),
            TaskInfo { spec, enabled, created_at: from_db_time(&created) },
        );
        let _ = name;
    }
    Ok(out)
}

fn read_attempts(store: &Store, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Attempt>> {
    let records = runs::started_between(store.conn(), from, to)
        .map_err(|e| Error::from(store.err("read runs", e)))?;
    Ok(records
        .into_iter()
        .map(|r| Attempt {
            id: r.id,
            task: r.task,
            slot: r.slot,
            attempt: r.attempt.max(1),
            status: r.status.as_str().to_string(),
            start: r.start,
            duration_ms: r.duration_ms,
            exit_code: r.process.exit_code,
            error: r.error,
            stderr_tail: r.process.stderr.tail,
            stdout_tail: r.process.stdout.tail,
        })
        .collect())
}

/// The slots (as instants, to the minute) that have a run row, per task (lowercase name),
/// for runs that started between `from` and `to`.
fn served_slots(
    store: &Store,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<BTreeMap<String, BTreeSet<i64>>> {
    let records = runs::started_between(store.conn(), from, to)
        .map_err(|e| Error::from(store.err("read runs", e)))?;
    let mut out: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for r in records {
        if let Some(t) = r.slot.as_deref().and_then(parse_slot) {
            out.entry(r.task.to_ascii_lowercase()).or_default().insert(t.timestamp() / 60);
        }
    }
    Ok(out)
}

/// Missed slots of one schedule: expected in `[from, to)` but absent from `served`.
pub fn missed_slots(
    schedule: &str,
    from: DateTime<Local>,
    to: DateTime<Local>,
    served: &BTreeSet<i64>,
) -> std::result::Result<Vec<DateTime<Local>>, String> {
    Ok(slots_between(schedule, from, to, MAX_SLOTS)?
        .into_iter()
        .filter(|t| !served.contains(&(t.timestamp() / 60)))
        .collect())
}

/// Builds the report for `window`, as of `now`.
pub fn build(
    store: &Store,
    window: Window,
    now: DateTime<Local>,
    host: &str,
) -> Result<DailyReport> {
    let tasks = read_tasks(store)?;
    let from_utc = window.start.with_timezone(&Utc);
    let to_utc = window.end.with_timezone(&Utc);
    let runs = group(read_attempts(store, from_utc, to_utc)?);
    // Runs of a slot may start a little after the window (late start, catch-up).
    let served = served_slots(
        store,
        clock::saturating_add(from_utc, -Duration::hours(1)),
        clock::saturating_add(to_utc, Duration::hours(6)),
    )?;
    let mut warnings = Vec::new();

    // Per-task accumulation; tasks that no longer exist but ran are included.
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for (key, info) in &tasks {
        let display = info.spec.as_ref().map(|s| s.name.clone()).unwrap_or_else(|| key.clone());
        names.insert(key.clone(), display);
    }
    for r in &runs {
        names.entry(r.last().task.to_ascii_lowercase()).or_insert_with(|| r.last().task.clone());
    }

    let mut rows = Vec::new();
    let mut failures = Vec::new();
    let mut missed_rows = Vec::new();
    let mut upcoming = Vec::new();
    let mut totals = Totals { tasks: tasks.len(), ..Totals::default() };
    let missed_until = window.end.min(now - MISSED_GRACE);

    for (key, name) in &names {
        let info = tasks.get(key);
        let spec = info.and_then(|i| i.spec.as_ref());
        let mine: Vec<&LogicalRun> =
            runs.iter().filter(|r| r.last().task.eq_ignore_ascii_case(name)).collect();
        let mut row = TaskRow {
            name: name.clone(),
            enabled: info.is_some_and(|i| i.enabled),
            exists: info.is_some(),
            schedule: spec.map(|s| s.schedule.clone()),
            description: spec.and_then(|s| s.description.clone()),
            counts: RunCounts { runs: mine.len(), ..RunCounts::default() },
            p50_ms: None,
            p95_ms: None,
            p50: None,
            p95: None,
            last_status: None,
            last_run: None,
            health: String::new(),
        };
        let mut durations = Vec::new();
        for r in &mine {
            let last = r.last();
            match last.status.as_str() {
                "SUCCESS" => row.counts.success += 1,
                "TIMEOUT" => row.counts.timeouts += 1,
                "RUNNING" => row.counts.running += 1,
                "SKIPPED" if !is_failure(last) => row.counts.skipped += 1,
                _ => row.counts.failed += 1,
            }
            if matches!(last.status.as_str(), "SUCCESS" | "FAILED" | "TIMEOUT")
                && let Some(ms) = last.duration_ms
            {
                durations.push(ms.max(0) as u64);
            }
            if is_failure(last) || last.status == "TIMEOUT" {
                failures.push(FailureRow {
                    run_id: last.id,
                    task: name.clone(),
                    start: human_utc(r.attempts[0].start),
                    status: last.status.clone(),
                    exit_code: last.exit_code.map(exit_code_display),
                    attempts: last.attempt,
                    reason: reason(last),
                });
            }
        }
        row.p50_ms = percentile(&durations, 0.50);
        row.p95_ms = percentile(&durations, 0.95);
        row.p50 = row.p50_ms.map(crate::render::millis);
        row.p95 = row.p95_ms.map(crate::render::millis);
        if let Some(last) = mine.iter().rev().find(|r| r.last().status != "RUNNING") {
            row.last_status = Some(last.last().status.clone());
            row.last_run = Some(human_utc(last.attempts[0].start));
        }

        if let (Some(spec), Some(info)) = (spec, info)
            && info.enabled
        {
            let from = match info.created_at {
                Some(c) => window.start.max(c.with_timezone(&Local)),
                None => window.start,
            };
            let empty = BTreeSet::new();
            match missed_slots(
                &spec.schedule,
                from,
                missed_until,
                served.get(key).unwrap_or(&empty),
            ) {
                Ok(m) => {
                    row.counts.missed = m.len();
                    if !m.is_empty() {
                        missed_rows.push(MissedRow {
                            task: name.clone(),
                            schedule: spec.schedule.clone(),
                            count: m.len(),
                            times: m.iter().take(MAX_MISSED_TIMES).map(|t| human(*t)).collect(),
                        });
                    }
                }
                Err(e) => warnings.push(format!("task {name}: schedule cannot be evaluated: {e}")),
            }
            if let Ok(next) = slots_between(
                &spec.schedule,
                now,
                clock::saturating_add(now, Duration::hours(24)),
                MAX_SLOTS,
            ) && let Some(first) = next.first()
            {
                upcoming.push(UpcomingRow {
                    task: name.clone(),
                    schedule: spec.schedule.clone(),
                    next: human(*first),
                    next_iso: first.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    count_24h: next.len(),
                });
            }
        }
        row.health = if !row.exists {
            "deleted"
        } else if !row.enabled {
            "disabled"
        } else if matches!(row.last_status.as_deref(), Some("FAILED" | "TIMEOUT" | "ABANDONED"))
            || mine.last().is_some_and(|r| is_failure(r.last()))
        {
            "failing"
        } else if row.counts.missed > 0 {
            "missed"
        } else if row.counts.runs == 0 {
            "idle"
        } else {
            "ok"
        }
        .to_string();
        totals.counts.add(&row.counts);
        rows.push(row);
    }
    // Failures newest first; upcoming soonest first.
    failures.sort_by(|a, b| b.start.cmp(&a.start).then(b.run_id.cmp(&a.run_id)));
    let failures_omitted = failures.len().saturating_sub(MAX_FAILURES);
    failures.truncate(MAX_FAILURES);
    upcoming.sort_by(|a, b| a.next_iso.cmp(&b.next_iso).then(a.task.cmp(&b.task)));

    let outbox = crate::notify::outbox::summary(store, now.with_timezone(&Utc))?;
    let date_label = if window.calendar_day {
        window.start.format("%Y-%m-%d").to_string()
    } else {
        window.end.format("%Y-%m-%d").to_string()
    };
    Ok(DailyReport {
        title: format!("orc daily report — {host} — {date_label}"),
        host: host.to_string(),
        generated_at: crate::clock::to_local_iso(now.with_timezone(&Utc)),
        window_start: crate::clock::to_local_iso(from_utc),
        window_end: crate::clock::to_local_iso(to_utc),
        window: format!("{} – {}", human(window.start), human(window.end)),
        calendar_day: window.calendar_day,
        totals,
        tasks: rows,
        failures,
        failures_omitted,
        missed: missed_rows,
        upcoming,
        mail: MailHealth { pending: outbox.pending, given_up: outbox.given_up },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        use chrono::TimeZone;
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
    }

    fn attempt(
        id: i64,
        task: &str,
        slot: Option<&str>,
        n: u32,
        status: &str,
        start: DateTime<Utc>,
    ) -> Attempt {
        Attempt {
            id,
            task: task.into(),
            slot: slot.map(String::from),
            attempt: n,
            status: status.into(),
            start,
            duration_ms: Some(1000),
            exit_code: Some(if status == "SUCCESS" { 0 } else { 1 }),
            error: None,
            stderr_tail: Vec::new(),
            stdout_tail: Vec::new(),
        }
    }

    #[test]
    fn retries_are_grouped_into_their_run() {
        let rows = vec![
            attempt(1, "a", Some("s1"), 1, "FAILED", at(1, 0)),
            attempt(2, "b", Some("s1"), 1, "SUCCESS", at(1, 0)),
            attempt(3, "a", Some("s1"), 2, "FAILED", at(1, 1)),
            attempt(4, "a", Some("s1"), 3, "SUCCESS", at(1, 2)),
            attempt(5, "a", Some("s2"), 1, "FAILED", at(2, 0)),
            attempt(6, "a", None, 1, "SUCCESS", at(3, 0)),
            // An attempt 2 that does not follow its attempt 1 starts its own run.
            attempt(7, "a", Some("s9"), 2, "FAILED", at(4, 0)),
        ];
        let runs = group(rows);
        let shape: Vec<(String, usize, String)> = runs
            .iter()
            .map(|r| (r.last().task.clone(), r.attempts.len(), r.last().status.clone()))
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a".into(), 3, "SUCCESS".into()),
                ("b".into(), 1, "SUCCESS".into()),
                ("a".into(), 1, "FAILED".into()),
                ("a".into(), 1, "SUCCESS".into()),
                ("a".into(), 1, "FAILED".into()),
            ]
        );
    }

    #[test]
    fn missed_slots_are_expected_slots_without_a_run() {
        let day = Window::day(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()).unwrap();
        let served: BTreeSet<i64> = slots_between("0 */6 * * *", day.start, day.end, 10)
            .unwrap()
            .iter()
            .filter(|t| t.format("%H").to_string() != "12")
            .map(|t| t.timestamp() / 60)
            .collect();
        let missed = missed_slots("0 */6 * * *", day.start, day.end, &served).unwrap();
        assert_eq!(
            missed.iter().map(|t| t.format("%H:%M").to_string()).collect::<Vec<_>>(),
            vec!["12:00"]
        );
        let none = BTreeSet::new();
        assert_eq!(missed_slots("0 */6 * * *", day.start, day.end, &none).unwrap().len(), 4);
        assert!(missed_slots("bad", day.start, day.end, &none).is_err());
    }

    #[test]
    fn slots_parse_in_both_stored_forms() {
        assert_eq!(parse_slot("2026-03-02T02:00+01:00"), Some(at(1, 0)));
        assert_eq!(parse_slot("2026-03-02T01:00:00Z"), Some(at(1, 0)));
        assert_eq!(parse_slot("garbage"), None);
    }

    #[test]
    fn failure_reasons() {
        let mut a = attempt(1, "a", None, 1, "FAILED", at(1, 0));
        a.stderr_tail = b"warming up\nERROR: disk full\n\n".to_vec();
        assert_eq!(reason(&a), "ERROR: disk full");
        a.error = Some("dependency file:D:\\in\\ready.flag: does not exist".into());
        assert_eq!(reason(&a), "dependency file:D:\\in\\ready.flag: does not exist");
        let mut b = attempt(2, "b", None, 1, "FAILED", at(1, 0));
        b.exit_code = Some(0xC000_0005);
        assert_eq!(reason(&b), "exit code 0xC0000005 STATUS_ACCESS_VIOLATION");
    }
}

//! Metrics without a port: a Prometheus text file (exposition format 0.0.4) that orc rewrites
//! after every run and every watch pass when `metrics.textfile` is set, for the textfile
//! collectors of windows_exporter and node_exporter.
//!
//! [`collect`] reads a [`Snapshot`] with indexed queries only (per task: the `(task, start)`
//! and `(task, status, start)` indexes of `runs`; the partial indexes of `outbox`; the
//! `incidents` table, which is small), [`render`] turns it into the text (pure, also what a
//! `/metrics` endpoint would serve), and [`write_atomically`] replaces the file in one rename,
//! so a collector never reads half a file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::exec::runs::{self, Status, TaskStats};
use crate::store::Store;

/// Renames tried before a replace of the text file is given up.
const PERSIST_TRIES: u32 = 4;

/// Rule of `metrics.textfile`.
pub const TEXTFILE_RULE: &str = "empty (no textfile), or the absolute path of a file ending in \
     .prom whose directory exists";

/// `metrics.textfile`: the path, `None` when empty, or the rule.
pub fn check_textfile(v: &str) -> std::result::Result<Option<PathBuf>, String> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let p = Path::new(v);
    let dir_ok = p.parent().is_some_and(|d| d.is_dir());
    // Both collectors read only files named *.prom.
    let prom = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("prom"));
    if !p.is_absolute() || v.chars().any(char::is_control) || !prom || !dir_ok {
        return Err(TEXTFILE_RULE.to_string());
    }
    Ok(Some(p.to_path_buf()))
}

/// One task's series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskSeries {
    pub task: String,
    pub stats: TaskStats,
    /// RUNNING runs now.
    pub running: i64,
    /// Missed slots `orc watch` reported (all incidents).
    pub missed: i64,
}

/// Everything the text file shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub host: String,
    pub tasks: Vec<TaskSeries>,
    /// Open incidents per kind (every kind listed, zeros included).
    pub incidents_open: Vec<(&'static str, i64)>,
    /// Outbox messages per state.
    pub outbox: Vec<(&'static str, i64)>,
}

/// Reads the snapshot.
pub fn collect(store: &Store, host: &str) -> Result<Snapshot> {
    collect_from(store.conn(), store.path(), host)
}

/// Reads the snapshot on `conn` (the database at `path`, named in errors): what the textfile
/// and the dashboard's `/metrics` both serve.
pub fn collect_from(
    conn: &crate::store::sql::Connection,
    path: &Path,
    host: &str,
) -> Result<Snapshot> {
    let db = |context: &'static str| {
        move |e: crate::store::sql::Error| Error::Store(crate::store::classify(path, context, e))
    };
    let mut running: BTreeMap<String, i64> = BTreeMap::new();
    for r in runs::running(conn, None).map_err(db("read runs"))? {
        *running.entry(r.task.to_ascii_lowercase()).or_default() += 1;
    }
    let missed: BTreeMap<String, i64> = crate::watch::incidents::missed_counts(conn)
        .map_err(db("read incidents"))?
        .into_iter()
        .collect();
    let mut tasks = Vec::new();
    for t in crate::task::repo::list(conn)? {
        let name = t.spec.name;
        let key = name.to_ascii_lowercase();
        tasks.push(TaskSeries {
            stats: runs::task_stats(conn, &name).map_err(db("read runs"))?,
            running: running.get(&key).copied().unwrap_or(0),
            missed: missed.get(&key).copied().unwrap_or(0),
            task: name,
        });
    }
    let open = crate::watch::incidents::open(conn).map_err(db("read incidents"))?;
    let incidents_open = crate::watch::detect::Kind::ALL
        .iter()
        .map(|k| (k.as_str(), open.iter().filter(|i| i.kind == *k).count() as i64))
        .collect();
    let outbox = crate::notify::outbox::counts(conn).map_err(db("read outbox"))?.to_vec();
    Ok(Snapshot { host: host.to_string(), tasks, incidents_open, outbox })
}

/// A label value, escaped as the text format wants (`\`, `"`, line feed).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn seconds(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(|t| {
        let ms = t.timestamp_millis();
        format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
    })
}

/// The text file: every series of the snapshot, one `# HELP`/`# TYPE` pair per family.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let host = label(&s.host);
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
        for (labels, value) in rows {
            out.push_str(&format!("{name}{{{labels}}} {value}\n"));
        }
    };
    let per_task = |f: &dyn Fn(&TaskSeries) -> Option<String>| -> Vec<(String, String)> {
        s.tasks
            .iter()
            .filter_map(|t| {
                f(t).map(|v| (format!("task=\"{}\",host=\"{host}\"", label(&t.task)), v))
            })
            .collect()
    };
    family(
        "orc_task_last_run_timestamp_seconds",
        "gauge",
        "Start of the task's newest run (Unix time).",
        per_task(&|t| seconds(t.stats.last_run)),
    );
    family(
        "orc_task_last_success_timestamp_seconds",
        "gauge",
        "Start of the task's newest successful run (Unix time).",
        per_task(&|t| seconds(t.stats.last_success)),
    );
    family(
        "orc_task_last_failure_timestamp_seconds",
        "gauge",
        "Start of the task's newest failed, timed-out or abandoned run (Unix time).",
        per_task(&|t| seconds(t.stats.last_failure)),
    );
    family(
        "orc_task_last_duration_seconds",
        "gauge",
        "Duration of the task's newest finished run.",
        per_task(&|t| t.stats.last_duration_ms.map(|ms| format!("{}.{:03}", ms / 1000, ms % 1000))),
    );
    family(
        "orc_task_last_exit_code",
        "gauge",
        "Exit code of the task's newest finished run.",
        per_task(&|t| t.stats.last_exit_code.map(|c| c.to_string())),
    );
    let mut by_status = Vec::new();
    for t in &s.tasks {
        for st in Status::ALL {
            let n = t.stats.by_status.get(st.as_str()).copied().unwrap_or(0);
            by_status.push((
                format!(
                    "task=\"{}\",host=\"{host}\",status=\"{}\"",
                    label(&t.task),
                    st.as_str().to_ascii_lowercase()
                ),
                n.to_string(),
            ));
        }
    }
    family(
        "orc_task_runs_total",
        "counter",
        "Runs in the history by final status (pruning the history lowers it).",
        by_status,
    );
    family(
        "orc_task_missed_runs_total",
        "counter",
        "Scheduled runs that never started, as reported by orc watch.",
        per_task(&|t| Some(t.missed.to_string())),
    );
    family(
        "orc_task_running",
        "gauge",
        "Runs of the task in progress.",
        per_task(&|t| Some(t.running.to_string())),
    );
    family(
        "orc_incidents_open",
        "gauge",
        "Incidents orc watch has open, by kind.",
        s.incidents_open
            .iter()
            .map(|(k, n)| (format!("kind=\"{k}\",host=\"{host}\""), n.to_string()))
            .collect(),
    );
    family(
        "orc_outbox_messages",
        "gauge",
        "Notification messages in the outbox, by state.",
        s.outbox
            .iter()
            .map(|(k, n)| (format!("state=\"{k}\",host=\"{host}\""), n.to_string()))
            .collect(),
    );
    out
}

/// Replaces `path` with `text` in one rename (a temporary file in the same directory,
/// persisted over the old one), so readers see the old or the new file, never a mix.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |action: &'static str| {
        move |e: std::io::Error| Error::io(action, path.display().to_string(), e)
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".orc-metrics-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io("create a temporary file next to"))?;
    tmp.write_all(text.as_bytes()).map_err(io("write"))?;
    tmp.as_file().sync_all().map_err(io("write"))?;
    // On Windows the rename fails while a collector has the old file open without
    // FILE_SHARE_DELETE (MoveFileEx with MOVEFILE_REPLACE_EXISTING): a read takes
    // milliseconds, so try a few times before giving up (the next run rewrites it anyway).
    let mut tmp = tmp;
    let mut attempt = 0;
    loop {
        match tmp.persist(path) {
            Ok(_) => return Ok(()),
            Err(e) if attempt < PERSIST_TRIES => {
                attempt += 1;
                tmp = e.file;
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(e) => return Err(Error::io("replace", path.display().to_string(), e.error)),
        }
    }
}

/// Rewrites the text file when `metrics.textfile` is set (after a run or a watch pass).
pub fn refresh(store: &Store, settings: &crate::config::Settings) -> Result<()> {
    let Some(path) = &settings.metrics_textfile else { return Ok(()) };
    let snapshot = collect(store, &runs::hostname())?;
    write_atomically(path, &render(&snapshot))
}

/// [`refresh`] after a run: reads only the `metrics.*` settings, so a stored setting of
/// another subsystem that no longer passes its rule never costs the textfile.
pub fn refresh_after_run(store: &Store) -> Result<()> {
    refresh(store, &crate::config::Settings::load_only(store, &["metrics."])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn render_escapes_labels_and_formats_values() {
        let mut stats = TaskStats {
            last_run: Some(Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()),
            last_duration_ms: Some(1500),
            last_exit_code: Some(3),
            ..TaskStats::default()
        };
        stats.by_status.insert("FAILED".into(), 2);
        let s = Snapshot {
            host: "SRV01".into(),
            tasks: vec![TaskSeries { task: "a\"b\\c".into(), stats, running: 1, missed: 4 }],
            incidents_open: vec![("missed", 1)],
            outbox: vec![("pending", 0)],
        };
        let text = render(&s);
        assert!(text.contains(
            "orc_task_last_run_timestamp_seconds{task=\"a\\\"b\\\\c\",host=\"SRV01\"} 1772452800.000\n"
        ), "{text}");
        assert!(text.contains(
            "orc_task_last_duration_seconds{task=\"a\\\"b\\\\c\",host=\"SRV01\"} 1.500\n"
        ));
        assert!(text.contains(
            "orc_task_runs_total{task=\"a\\\"b\\\\c\",host=\"SRV01\",status=\"failed\"} 2\n"
        ));
        assert!(text.contains(
            "orc_task_runs_total{task=\"a\\\"b\\\\c\",host=\"SRV01\",status=\"success\"} 0\n"
        ));
        assert!(!text.contains("orc_task_last_success_timestamp_seconds{"), "no value, no sample");
        assert!(text.contains("# TYPE orc_incidents_open gauge\norc_incidents_open{kind=\"missed\",host=\"SRV01\"} 1\n"));
    }

    #[test]
    fn textfile_rule() {
        assert_eq!(check_textfile("").unwrap(), None);
        assert!(check_textfile("orc.prom").is_err(), "relative");
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("orc.prom");
        assert_eq!(check_textfile(ok.to_str().unwrap()).unwrap(), Some(ok.clone()));
        assert!(check_textfile(dir.path().join("orc.txt").to_str().unwrap()).is_err());
        assert!(check_textfile(dir.path().join("no/orc.prom").to_str().unwrap()).is_err());
        write_atomically(&ok, "a 1\n").unwrap();
        write_atomically(&ok, "b 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&ok).unwrap(), "b 2\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
    }
}

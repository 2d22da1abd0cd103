//! Backend-independent reconciliation, pure (no store, no backend): the [`plan`], settling
//! drift with a backend's details, and the report rows (human table and `--json`). The I/O
//! that feeds and records it (tasks and orc's registration history from the store, the read
//! back from the backend, the `registrations` table) is [`super::registrations`].

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{Desired, Fingerprint, History, Outcome, Registered, SchedulerError};

/// What to do with one registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One line of a [`Plan`].
#[derive(Debug, Clone)]
pub struct PlanEntry {
    /// The orc task name.
    pub task: String,
    /// The registration's identity (schtasks: task path).
    pub path: String,
    pub action: Action,
    /// The OS scheduler holds something orc did not register: edited or deleted by hand, or
    /// registered by someone else.
    pub drift: bool,
    /// Which compared fields differ (`definition`, `command`, `working directory`,
    /// `enabled state`, `triggers`), or `missing` for a registration deleted outside orc.
    pub differences: Vec<String>,
    /// What orc registers (absent for `delete`).
    pub desired: Option<Desired>,
    /// What the OS scheduler showed (absent for `create`).
    pub seen: Option<Fingerprint>,
    /// The hash orc last recorded registering for this task, if any.
    pub last_hash: Option<String>,
    /// The observed print orc recorded for that registration, if any.
    pub last_observed: Option<String>,
    /// Human-readable drift details from the backend (filled by the caller, optional).
    pub details: Vec<String>,
}

/// The changes that make the OS scheduler match the database.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub entries: Vec<PlanEntry>,
}

impl Plan {
    /// Entries that need a change (create, update or delete).
    pub fn changes(&self) -> impl Iterator<Item = (usize, &PlanEntry)> {
        self.entries.iter().enumerate().filter(|(_, e)| e.action != Action::Unchanged)
    }

    /// Number of entries with this action.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// Number of drifted entries.
    pub fn drifted(&self) -> usize {
        self.entries.iter().filter(|e| e.drift).count()
    }
}

/// Decides, per task, what to change. Pure.
///
/// * desired, not registered → `create` (drift when orc's history says it had registered it:
///   it was deleted outside orc);
/// * registered, not desired → `delete`;
/// * both, fingerprints equal → `unchanged`, unless orc recorded an observed print for its own
///   registration and the OS now shows another one (`triggers or settings`: edited by hand);
/// * both, fingerprints differ → `update`; drift when the registration is not what orc last
///   registered: no history, a different hash than the recorded one, or the recorded hash with
///   other fields that differ although the definition did not change.
///
/// Names are compared case-insensitively (Task Scheduler and orc task names both are).
///
/// Everything is moved into the plan's entries: at 10,000 tasks the definitions and the
/// observed prints are tens of megabytes, held once.
pub fn plan(desired: Vec<Desired>, registered: Vec<Registered>, history: Vec<History>) -> Plan {
    let key = |s: &str| s.to_ascii_lowercase();
    let mut hist: HashMap<String, History> =
        history.into_iter().map(|h| (key(&h.task), h)).collect();
    let wanted: HashSet<String> = desired.iter().map(|d| key(&d.task)).collect();
    let mut regs: HashMap<String, Registered> = HashMap::new();
    let mut unwanted = Vec::new();
    for r in registered {
        let k = key(&r.task);
        if wanted.contains(&k) {
            regs.insert(k, r);
        } else {
            unwanted.push(r);
        }
    }
    let mut entries = Vec::new();

    for d in desired {
        let k = key(&d.task);
        let (last_hash, last_observed) =
            hist.remove(&k).map_or((None, None), |h| (Some(h.hash), h.observed));
        let entry = match regs.remove(&k) {
            None => PlanEntry {
                task: d.task.clone(),
                path: d.path.clone(),
                action: Action::Create,
                drift: last_hash.is_some(),
                differences: if last_hash.is_some() { vec!["missing".into()] } else { vec![] },
                desired: Some(d),
                seen: None,
                last_hash,
                last_observed,
                details: Vec::new(),
            },
            Some(r) => {
                let mut diffs = Fingerprint::differences(&d.expect, &r.seen);
                let ours_unchanged = last_hash.as_deref() == Some(d.hash.as_str())
                    && r.seen.hash.as_deref() == Some(d.hash.as_str());
                if diffs.is_empty()
                    && ours_unchanged
                    && last_observed.is_some()
                    && r.seen.observed.is_some()
                    && last_observed != r.seen.observed
                {
                    diffs.push("triggers or settings");
                }
                let (action, drift) = if diffs.is_empty() {
                    (Action::Unchanged, false)
                } else {
                    let drift = match &last_hash {
                        None => true,
                        Some(h) if r.seen.hash.as_deref() != Some(h.as_str()) => true,
                        // The recorded definition is still there; if it is also what orc wants,
                        // something else about it was changed by hand.
                        Some(h) => h == &d.hash,
                    };
                    (Action::Update, drift)
                };
                PlanEntry {
                    task: d.task.clone(),
                    path: r.path,
                    action,
                    drift,
                    differences: diffs.into_iter().map(String::from).collect(),
                    desired: Some(d),
                    seen: Some(r.seen),
                    last_hash,
                    last_observed,
                    details: Vec::new(),
                }
            }
        };
        entries.push(entry);
    }
    for r in unwanted {
        let h = hist.get(&key(&r.task));
        entries.push(PlanEntry {
            last_hash: h.map(|h| h.hash.clone()),
            last_observed: h.and_then(|h| h.observed.clone()),
            task: r.task,
            path: r.path,
            action: Action::Delete,
            drift: false,
            differences: Vec::new(),
            desired: None,
            seen: Some(r.seen),
            details: Vec::new(),
        });
    }
    entries.sort_by(|a, b| key(&a.task).cmp(&key(&b.task)).then(a.path.cmp(&b.path)));
    Plan { entries }
}

/// "Task Scheduler on this computer", "crontab on srv01": where a plan was applied.
pub fn target_name(kind: &str, host: &str) -> String {
    let what = if kind == "schtasks" { "Task Scheduler" } else { kind };
    if host.is_empty() { format!("{what} on this computer") } else { format!("{what} on {host}") }
}

/// The one-line summary of a reconcile, counted from its report rows (a failed create is
/// counted as failed, not created).
pub fn summary(rows: &[EntryReport], target: &str) -> String {
    format!("{target}: {}", tally(rows))
}

/// Sets the read-back warning on every report row.
pub fn with_read_back(mut rows: Vec<EntryReport>, warning: &Option<String>) -> Vec<EntryReport> {
    rows.iter_mut().for_each(|r| r.read_back_warning.clone_from(warning));
    rows
}

/// Settles a drifted update with the backend's details. When the backend compares whole
/// definitions semantically and finds no difference, what the cheap query flagged (a column
/// printed differently, an extra trigger derived from the registration instant…) is no drift:
/// the entry becomes `unchanged` (and [`super::registrations::record`] learns the new print).
pub fn settle_drift(
    e: &mut PlanEntry,
    details: std::result::Result<Vec<String>, SchedulerError>,
    semantic: bool,
) {
    match details {
        Ok(d) if d.is_empty() && semantic && e.action == Action::Update => {
            e.action = Action::Unchanged;
            e.drift = false;
            e.differences.clear();
        }
        Ok(d) => e.details = d,
        Err(err) => e.details = vec![format!("(details unavailable: {err})")],
    }
}

/// One line of the report (`orc schedule` output and `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    pub task: String,
    pub action: Action,
    pub path: String,
    pub drift: bool,
    /// `null` for deletions.
    pub exact: Option<bool>,
    pub triggers: Option<usize>,
    pub enabled: Option<bool>,
    pub differences: Vec<String>,
    pub details: Vec<String>,
    pub notes: Vec<String>,
    /// `planned` (dry run), `ok`, `failed`, `not attempted` or `unchanged`.
    pub result: &'static str,
    pub error: Option<String>,
    /// The full task XML orc registers (schtasks); `null` for deletions and for crontab.
    pub xml: Option<String>,
    /// The full definition orc registers, whatever the backend (task XML, crontab line);
    /// `null` for deletions.
    pub definition: Option<String>,
    /// `null`, or why orc did not read the OS scheduler with its single query and read its
    /// registrations one by one (the machine-wide query failed or looked tampered with).
    pub read_back_warning: Option<String>,
}

/// The report rows for a plan and (unless it was a dry run) the outcomes of applying it.
pub fn report(plan: &Plan, outcomes: Option<&[Outcome]>) -> Vec<EntryReport> {
    let by_index: HashMap<usize, &std::result::Result<(), SchedulerError>> =
        outcomes.unwrap_or(&[]).iter().map(|o| (o.index, &o.result)).collect();
    plan.entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (result, error) = if e.action == Action::Unchanged {
                ("unchanged", None)
            } else if outcomes.is_none() {
                ("planned", None)
            } else {
                match by_index.get(&i) {
                    Some(Ok(())) => ("ok", None),
                    Some(Err(SchedulerError::NotAttempted { reason })) => {
                        ("not attempted", Some(reason.clone()))
                    }
                    Some(Err(err)) => ("failed", Some(err.to_string())),
                    None => ("not attempted", Some("the backend did not report it".into())),
                }
            };
            EntryReport {
                task: e.task.clone(),
                action: e.action,
                path: e.path.clone(),
                drift: e.drift,
                exact: e.desired.as_ref().map(|d| d.exact),
                triggers: e.desired.as_ref().map(|d| d.triggers),
                enabled: e.desired.as_ref().map(|d| d.enabled),
                differences: e.differences.clone(),
                details: e.details.clone(),
                notes: e.desired.as_ref().map(|d| d.notes.clone()).unwrap_or_default(),
                result,
                error,
                xml: e
                    .desired
                    .as_ref()
                    // A crontab line never starts with `<`.
                    .filter(|d| d.definition.trim_start().starts_with('<'))
                    .map(|d| d.definition.clone()),
                definition: e.desired.as_ref().map(|d| d.definition.clone()),
                read_back_warning: None,
            }
        })
        .collect()
}

/// What a reconcile did (or, for a dry run, would do), counted from its report rows: a change
/// counts as created/updated/deleted only when it succeeded (or is planned); failed and not
/// attempted ones are counted apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub not_attempted: usize,
    /// Entries changed outside orc (whatever their result).
    pub drifted: usize,
}

/// Counts report rows into a [`Tally`].
pub fn tally(rows: &[EntryReport]) -> Tally {
    let mut t = Tally::default();
    for r in rows {
        t.drifted += usize::from(r.drift);
        match (r.result, r.action) {
            ("failed", _) => t.failed += 1,
            ("not attempted", _) => t.not_attempted += 1,
            (_, Action::Create) => t.created += 1,
            (_, Action::Update) => t.updated += 1,
            (_, Action::Delete) => t.deleted += 1,
            (_, Action::Unchanged) => t.unchanged += 1,
        }
    }
    t
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let drift = if self.drifted > 0 {
            format!(" ({} changed outside orc)", self.drifted)
        } else {
            String::new()
        };
        write!(
            f,
            "{} created, {} updated{drift}, {} deleted, {} unchanged",
            self.created, self.updated, self.deleted, self.unchanged
        )?;
        if self.failed > 0 {
            write!(f, ", {} failed", self.failed)?;
        }
        if self.not_attempted > 0 {
            write!(f, ", {} not attempted", self.not_attempted)?;
        }
        Ok(())
    }
}

/// The first failure among the outcomes (the one the command exits with).
pub fn first_failure(outcomes: &mut Vec<Outcome>) -> Option<SchedulerError> {
    let pos = outcomes.iter().position(
        |o| matches!(&o.result, Err(e) if !matches!(e, SchedulerError::NotAttempted { .. })),
    )?;
    outcomes.remove(pos).result.err()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(hash: &str, enabled: bool) -> Fingerprint {
        Fingerprint {
            hash: Some(hash.into()),
            command: Some("orc execute".into()),
            workdir: Some("C:\\w".into()),
            enabled: Some(enabled),
            triggers: Some(1),
            observed: Some("seen-1".into()),
        }
    }

    fn desired(task: &str, hash: &str, enabled: bool) -> Desired {
        Desired {
            task: task.into(),
            path: format!("\\Orchestrator\\Orc_{task}"),
            enabled,
            definition: format!("<Task>{task}</Task>"),
            hash: hash.into(),
            expect: fp(hash, enabled),
            exact: true,
            triggers: 1,
            notes: vec![],
            logon: None,
            manual: None,
        }
    }

    fn reg(task: &str, seen: Fingerprint) -> Registered {
        Registered {
            task: task.into(),
            path: format!("\\Orchestrator\\Orc_{task}"),
            seen,
            ..Registered::default()
        }
    }

    fn hist(task: &str, hash: &str) -> History {
        History {
            task: task.into(),
            path: format!("\\Orchestrator\\Orc_{task}"),
            hash: hash.into(),
            observed: None,
        }
    }

    fn find<'a>(p: &'a Plan, task: &str) -> &'a PlanEntry {
        p.entries.iter().find(|e| e.task == task).unwrap()
    }

    #[test]
    fn creates_updates_deletes_and_leaves_unchanged() {
        let d = vec![desired("a", "h1", true), desired("b", "h2", true), desired("c", "h3", true)];
        let r = vec![reg("b", fp("h2", true)), reg("c", fp("old", true)), reg("z", fp("hz", true))];
        let h = vec![hist("b", "h2"), hist("c", "old"), hist("z", "hz")];
        let p = plan(d, r, h);
        let actions: Vec<_> =
            p.entries.iter().map(|e| (e.task.as_str(), e.action, e.drift)).collect();
        assert_eq!(
            actions,
            vec![
                ("a", Action::Create, false),
                ("b", Action::Unchanged, false),
                ("c", Action::Update, false),
                ("z", Action::Delete, false),
            ]
        );
        assert_eq!(find(&p, "c").differences, vec!["definition"]);
        assert_eq!(p.changes().count(), 3);
    }

    #[test]
    fn hand_edits_are_drift() {
        // Same hash as recorded and desired, but disabled by hand in the console.
        let p = plan(
            vec![desired("a", "h", true)],
            vec![reg("a", fp("h", false))],
            vec![hist("a", "h")],
        );
        let e = find(&p, "a");
        assert_eq!((e.action, e.drift), (Action::Update, true));
        assert_eq!(e.differences, vec!["enabled state"]);

        // The registration carries a hash orc never recorded.
        let p = plan(
            vec![desired("a", "h", true)],
            vec![reg("a", fp("x", true))],
            vec![hist("a", "h")],
        );
        assert!(find(&p, "a").drift);

        // Description rewritten: no hash at all.
        let mut seen = fp("h", true);
        seen.hash = None;
        let p = plan(vec![desired("a", "h", true)], vec![reg("a", seen)], vec![hist("a", "h")]);
        assert!(find(&p, "a").drift);

        // orc has no record of registering it.
        let p = plan(vec![desired("a", "h", true)], vec![reg("a", fp("other", true))], vec![]);
        assert!(find(&p, "a").drift);

        // Deleted by hand.
        let p = plan(vec![desired("a", "h", true)], vec![], vec![hist("a", "h")]);
        let e = find(&p, "a");
        assert_eq!((e.action, e.drift), (Action::Create, true));
        assert_eq!(e.differences, vec!["missing"]);
    }

    #[test]
    fn drift_is_settled_by_semantic_details() {
        let drifted = || {
            let p = plan(
                vec![desired("a", "h", true)],
                vec![reg("a", fp("h", false))],
                vec![hist("a", "h")],
            );
            find(&p, "a").clone()
        };
        // No semantic difference: unchanged, not drift.
        let mut e = drifted();
        settle_drift(&mut e, Ok(vec![]), true);
        assert_eq!((e.action, e.drift, e.differences.len()), (Action::Unchanged, false, 0));
        // A backend whose details are not semantic: still an update.
        let mut e = drifted();
        settle_drift(&mut e, Ok(vec![]), false);
        assert_eq!((e.action, e.drift), (Action::Update, true));
        // Differences are kept as details; an error never settles anything.
        let mut e = drifted();
        settle_drift(&mut e, Ok(vec!["Settings/Enabled: …".into()]), true);
        assert_eq!((e.action, e.details.len()), (Action::Update, 1));
        let mut e = drifted();
        let err = SchedulerError::NotAttempted { reason: "r".into() };
        settle_drift(&mut e, Err(err), true);
        assert_eq!(e.action, Action::Update);
        assert!(e.details[0].starts_with("(details unavailable"), "{:?}", e.details);
    }

    #[test]
    fn hand_edits_invisible_to_the_fingerprint_are_caught_by_the_observed_print() {
        let mut h = hist("a", "h");
        // First sighting: nothing recorded yet, so nothing to compare.
        let p = plan(vec![desired("a", "h", true)], vec![reg("a", fp("h", true))], vec![h.clone()]);
        assert_eq!(find(&p, "a").action, Action::Unchanged);
        h.observed = Some("seen-1".into());
        let p = plan(vec![desired("a", "h", true)], vec![reg("a", fp("h", true))], vec![h.clone()]);
        assert_eq!(find(&p, "a").action, Action::Unchanged);
        let mut seen = fp("h", true);
        seen.observed = Some("seen-2".into()); // e.g. a trigger moved from 02:30 to 03:45
        let p = plan(vec![desired("a", "h", true)], vec![reg("a", seen.clone())], vec![h.clone()]);
        let e = find(&p, "a");
        assert_eq!((e.action, e.drift), (Action::Update, true));
        assert_eq!(e.differences, vec!["triggers or settings"]);
        // After a database change the print is not compared (it is expected to change).
        let p = plan(vec![desired("a", "h2", true)], vec![reg("a", seen)], vec![h.clone()]);
        let e = find(&p, "a");
        assert_eq!(
            (e.action, e.drift, e.differences.clone()),
            (Action::Update, false, vec!["definition".to_string()])
        );
    }

    #[test]
    fn a_database_change_is_not_drift() {
        // Registered what orc recorded; the task changed in the database since.
        let p = plan(
            vec![desired("a", "new", false)],
            vec![reg("a", fp("old", true))],
            vec![hist("a", "old")],
        );
        let e = find(&p, "a");
        assert_eq!((e.action, e.drift), (Action::Update, false));
        assert_eq!(e.differences, vec!["definition", "enabled state"]);
    }

    #[test]
    fn names_match_case_insensitively_and_output_is_sorted() {
        let p = plan(
            vec![desired("Beta", "h", true), desired("alpha", "h", true)],
            vec![reg("BETA", fp("h", true))],
            vec![],
        );
        assert_eq!(p.entries[0].task, "alpha");
        assert_eq!(p.entries[1].action, Action::Unchanged);
        assert_eq!(p.entries.len(), 2);
    }

    #[test]
    fn empty_desired_deletes_everything_registered() {
        let p = plan(vec![], vec![reg("a", fp("h", true)), reg("b", fp("h", true))], vec![]);
        assert_eq!(p.count(Action::Delete), 2);
        assert_eq!(p.drifted(), 0);
    }

    #[test]
    fn report_rows_carry_outcomes() {
        let p = plan(vec![desired("a", "h", true), desired("b", "h", true)], vec![], vec![]);
        let planned = report(&p, None);
        assert!(planned.iter().all(|r| r.result == "planned" && r.xml.is_some()));
        let outcomes = vec![
            Outcome { index: 0, result: Ok(()) },
            Outcome {
                index: 1,
                result: Err(SchedulerError::Failed {
                    program: "schtasks".into(),
                    args: "/Create".into(),
                    code: 1,
                    stderr: "ERROR: boom".into(),
                }),
            },
        ];
        let rows = report(&p, Some(&outcomes));
        assert_eq!(rows[0].result, "ok");
        assert_eq!(rows[1].result, "failed");
        assert!(rows[1].error.as_deref().unwrap().contains("boom"));
    }
}

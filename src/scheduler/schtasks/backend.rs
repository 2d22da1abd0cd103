//! The Task Scheduler [`Backend`]: reads what Windows holds and applies a plan through
//! [`Schtasks`].

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::super::reconcile::{Action, Plan, PlanEntry};
use super::super::{
    ApplyReport, Backend, Desired, Fingerprint, Outcome, Registered, RenderEnv, SchedulerError,
    taskxml,
};
use super::*;
use crate::error::{IoFailure, Result};
use crate::task::TaskSpec;

/// How many schtasks processes run at once while applying a plan.
pub const PARALLELISM: usize = 4;

/// A task XML file handed to schtasks; removed when dropped.
struct XmlFile {
    path: PathBuf,
}

impl Drop for XmlFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn write_xml_file(
    dir: &Path,
    task: &str,
    xml: &str,
) -> std::result::Result<XmlFile, SchedulerError> {
    // A private directory and an unpredictable name (issue 11 item 3).
    let path = crate::fsx::write_temp_file(
        dir,
        &format!("orc-{task}-"),
        ".xml",
        &taskxml::encode_utf16le_bom(xml),
    )
    .map_err(|source| SchedulerError::Io(IoFailure::new("write a task file in", dir, source)))?;
    Ok(XmlFile { path })
}

/// The schtasks backend.
#[derive(Debug)]
pub struct SchtasksBackend {
    runner: Schtasks,
    folder: TaskFolder,
    host: String,
    tmp_dir: PathBuf,
    parallelism: usize,
    /// Number of schtasks processes started (for diagnostics).
    calls: AtomicUsize,
    /// orc tasks whose registrations are read one by one when the machine-wide query cannot
    /// be used ([`Backend::expect_registrations`]).
    known: Vec<String>,
    /// Why the last [`Backend::registered`] read task by task, if it did.
    read_back: Option<String>,
}

impl SchtasksBackend {
    /// A backend for the machine of `runner` (local unless it has a remote), keeping orc's
    /// tasks in `folder` and writing XML files under `tmp_dir`.
    pub fn new(runner: Schtasks, folder: TaskFolder, tmp_dir: PathBuf) -> SchtasksBackend {
        let host = runner.remote.as_ref().map(|r| r.host.to_ascii_lowercase()).unwrap_or_default();
        SchtasksBackend {
            runner,
            folder,
            host,
            tmp_dir,
            parallelism: PARALLELISM,
            calls: AtomicUsize::new(0),
            known: Vec::new(),
            read_back: None,
        }
    }

    /// The schtasks runner (for `/Run`, `/End` and tests).
    pub fn runner(&self) -> &Schtasks {
        &self.runner
    }

    /// The folder settings in use.
    pub fn folder(&self) -> &TaskFolder {
        &self.folder
    }

    /// How many schtasks processes this backend started.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// Changes how many schtasks processes run at once (at least 1).
    pub fn set_parallelism(&mut self, n: usize) {
        self.parallelism = n.max(1);
    }

    /// Reads the registrations of the known tasks one by one (see [`readback`]).
    fn registered_one_by_one(&self) -> std::result::Result<Vec<Registered>, SchedulerError> {
        let mut out = Vec::new();
        for task in &self.known {
            let path = self.folder.path_of(task);
            self.calls.fetch_add(1, Ordering::Relaxed);
            if let Some(parsed) = self.runner.query_task(&path)? {
                out.extend(readback::registrations(&self.folder, &readback::only(&path, parsed)));
            }
        }
        Ok(out)
    }

    fn apply_one(&self, entry: &PlanEntry) -> std::result::Result<(), SchedulerError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match (entry.action, &entry.desired) {
            (Action::Delete, _) => self.runner.delete(&entry.path),
            // Only the enabled state was flipped by hand, and the registered XML confirms
            // nothing else differs: flip it back and keep the task's run history.
            (Action::Update, Some(d)) if only_enabled_differs(entry) => {
                self.runner.set_enabled(&entry.path, d.enabled)
            }
            (Action::Create | Action::Update, Some(d)) => {
                let file = write_xml_file(&self.tmp_dir, &d.task, &d.definition)?;
                self.runner.create(&d.path, &file.path, d.logon.as_ref())
            }
            (Action::Create | Action::Update, None) | (Action::Unchanged, _) => Ok(()),
        }
    }
}

impl Backend for SchtasksBackend {
    fn kind(&self) -> &'static str {
        "schtasks"
    }

    fn host(&self) -> &str {
        &self.host
    }

    fn path_of(&self, task: &str) -> String {
        self.folder.path_of(task)
    }

    fn render(&self, spec: &TaskSpec, env: &RenderEnv<'_>) -> Result<Option<Desired>> {
        crate::scheduler::limits::check_task_path(&self.folder.path_of(&spec.name))?;
        let who = logon::resolve(spec, env, &self.folder)?;
        let built = taskxml::build(&taskxml::Input {
            spec,
            exe: &who.exe,
            home: &env.home,
            principal: &who.principal,
            registered: Some(env.registered),
        })?;
        let command_line = format!("{} {}", built.command, built.arguments);
        Ok(Some(Desired {
            task: spec.name.clone(),
            path: self.folder.path_of(&spec.name),
            enabled: spec.enabled,
            expect: Fingerprint {
                hash: Some(built.hash.clone()),
                command: Some(command_line),
                workdir: Some(built.workdir.clone()),
                enabled: Some(spec.enabled),
                // A task without triggers still prints one ("On demand only") row.
                triggers: Some(built.triggers.max(1)),
                observed: None,
            },
            definition: built.xml,
            hash: built.hash,
            exact: built.exact,
            triggers: built.triggers,
            notes: built.notes,
            logon: who.logon,
            manual: who.manual,
        }))
    }

    fn registered(&mut self) -> std::result::Result<Vec<Registered>, SchedulerError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.read_back = None;
        let reason = match self.runner.query_all() {
            Ok(parsed) => match readback::suspicion(&self.folder, &parsed) {
                None => return Ok(readback::registrations(&self.folder, &parsed)),
                Some(why) => format!("the machine-wide schtasks query looks tampered with: {why}"),
            },
            Err(e) if readback::falls_back(&e) => {
                format!("the machine-wide schtasks query failed: {e}")
            }
            Err(e) => return Err(e),
        };
        tracing::warn!(%reason, "reading orc's registrations one by one");
        let regs = self.registered_one_by_one()?;
        self.read_back = Some(format!(
            "{reason}; read orc's {} known registration(s) one by one instead",
            self.known.len()
        ));
        Ok(regs)
    }

    fn expect_registrations(&mut self, tasks: &[String]) {
        self.known.clear();
        for t in tasks {
            if !self.known.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                self.known.push(t.clone());
            }
        }
    }

    fn read_back_warning(&self) -> Option<String> {
        self.read_back.clone()
    }

    fn apply(
        &mut self,
        plan: &Plan,
        progress: &mut dyn FnMut(usize, usize),
    ) -> std::result::Result<ApplyReport, SchedulerError> {
        let work: Vec<(usize, &PlanEntry)> = plan.changes().collect();
        let total = work.len();
        let mut report = ApplyReport::default();
        if total == 0 {
            return Ok(report);
        }
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let stop_reason: Mutex<Option<String>> = Mutex::new(None);
        let (tx, rx) = std::sync::mpsc::channel::<Outcome>();
        let workers = self.parallelism.min(total);
        let this = &*self;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let tx = tx.clone();
                let (next, stop, stop_reason, work) = (&next, &stop, &stop_reason, &work);
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&(index, entry)) = work.get(i) else { break };
                        let result = if stop.load(Ordering::SeqCst) {
                            let reason = stop_reason.lock().map(|r| r.clone()).ok().flatten();
                            Err(SchedulerError::NotAttempted {
                                reason: reason.unwrap_or_else(|| "an earlier change failed".into()),
                            })
                        } else {
                            let r = this.apply_one(entry);
                            if let Err(e) = &r
                                && e.is_fatal_for_batch()
                            {
                                if let Ok(mut reason) = stop_reason.lock() {
                                    reason.get_or_insert_with(|| format!("stopped after: {e}"));
                                }
                                stop.store(true, Ordering::SeqCst);
                            }
                            r
                        };
                        if tx.send(Outcome { index, result }).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            for outcome in rx.iter() {
                report.outcomes.push(outcome);
                progress(report.outcomes.len(), total);
            }
        });
        Ok(report)
    }

    fn details_are_semantic(&self) -> bool {
        true
    }

    fn drift_details(
        &mut self,
        entry: &PlanEntry,
    ) -> std::result::Result<Vec<String>, SchedulerError> {
        let Some(d) = &entry.desired else { return Ok(Vec::new()) };
        if entry.action != Action::Update {
            return Ok(Vec::new());
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let registered = self.runner.query_xml(&entry.path)?;
        Ok(taskxml::normalize::compare(&d.definition, &registered))
    }
}

/// True when the only difference is the enabled state, confirmed by the semantic XML
/// comparison of [`Backend::drift_details`] (the verbose query cannot see every hand edit,
/// e.g. a moved trigger time, so without that confirmation orc re-registers the whole
/// definition).
fn only_enabled_differs(entry: &PlanEntry) -> bool {
    entry.differences.len() == 1
        && entry.differences[0] == "enabled state"
        && taskxml::normalize::only_enabled_differs(&entry.details)
}

//! The persistent task store.
//!
//! Layout under `FAKE_SCHTASKS_ROOT`:
//!
//! ```text
//! local/                      the machine the fake runs on
//! remote/<host>/              one store per `/S` host (lower-cased, percent-encoded)
//!   <store>/.lock             short-lived mutation lock
//!   <store>/tasks/            the root folder `\`
//!     orchestrator/           a folder (lower-cased, percent-encoded name)
//!       .folder.json          {"name": "Orchestrator"}: the folder's display name
//!       orc_x.xml             the definition: exactly the bytes given to /Create /XML
//!                             (re-serialised as UTF-16LE+BOM after /Change)
//!       orc_x.json            runtime state (display name, last run, last result, instances)
//! ```
//!
//! Names are compared case-insensitively (the file names are lower-cased); display names
//! keep the case they were created with. Every write goes to a temporary file in the same
//! directory and is renamed over the target, so concurrent invocations never see a torn
//! file. Mutations also hold `.lock` (create-new file, stale after 30 s).

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

/// "Has not yet run" (0x41303), the Last Result of a task that never ran.
pub(crate) const NEVER_RAN: i32 = 0x0004_1303;

/// A task path split into components, display case preserved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TaskPath {
    pub(crate) comps: Vec<String>,
}

impl TaskPath {
    /// Splits `\a\b\name` or `a\b\name`. `None` when a component is empty (`\\x`, trailing `\`).
    pub(crate) fn parse(tn: &str) -> Option<TaskPath> {
        let t = tn.strip_prefix('\\').unwrap_or(tn);
        if t.is_empty() {
            return None;
        }
        let comps: Vec<String> = t.split('\\').map(str::to_string).collect();
        if comps.iter().any(String::is_empty) {
            return None;
        }
        Some(TaskPath { comps })
    }

    pub(crate) fn leaf(&self) -> &str {
        self.comps.last().map(String::as_str).unwrap_or("")
    }

    pub(crate) fn folder(&self) -> &[String] {
        &self.comps[..self.comps.len() - 1]
    }

    pub(crate) fn display(&self) -> String {
        format!("\\{}", self.comps.join("\\"))
    }
}

/// Folder path for display: `\` or `\a\b`.
pub(crate) fn folder_display(comps: &[String]) -> String {
    if comps.is_empty() { "\\".to_string() } else { format!("\\{}", comps.join("\\")) }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Instance {
    pub(crate) id: u64,
    pub(crate) pid: Option<u32>,
    pub(crate) started: String,
}

/// Runtime state kept next to the definition.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct State {
    /// Leaf name as registered.
    pub(crate) name: String,
    /// Local time `YYYY-MM-DDTHH:MM:SS`, or `None` for "never".
    pub(crate) last_run: Option<String>,
    pub(crate) last_result: i32,
    /// Running instances (empty = Ready).
    #[serde(default)]
    pub(crate) instances: Vec<Instance>,
    #[serde(default)]
    pub(crate) next_instance: u64,
    #[serde(default)]
    pub(crate) registered: String,
}

impl State {
    pub(crate) fn new(name: &str, registered: String) -> State {
        State {
            name: name.to_string(),
            last_run: None,
            last_result: NEVER_RAN,
            instances: Vec::new(),
            next_instance: 1,
            registered,
        }
    }

    pub(crate) fn running(&self) -> bool {
        !self.instances.is_empty()
    }
}

#[derive(Clone, Debug)]
pub(crate) struct StoredTask {
    pub(crate) path: TaskPath,
    pub(crate) xml: Vec<u8>,
    pub(crate) state: State,
}

#[derive(Debug)]
pub(crate) struct FolderListing {
    pub(crate) comps: Vec<String>,
    pub(crate) tasks: Vec<StoredTask>,
}

#[derive(Debug)]
pub(crate) struct Store {
    dir: PathBuf,
}

/// Held while mutating; removed on drop.
#[derive(Debug)]
pub(crate) struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Why a folder or task could not be placed.
#[derive(Debug)]
pub(crate) enum Conflict {
    /// A task exists where a folder is needed, or a folder where the task should go.
    Exists,
}

fn encode_component(c: &str) -> String {
    let lower = c.to_lowercase();
    let mut out = String::new();
    for b in lower.bytes() {
        if b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode_component(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn retry<T>(mut f: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    // Windows reports sharing violations as PermissionDenied while another process has the
    // file open; a few retries ride them out.
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e.kind() == ErrorKind::PermissionDenied && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// Writes `data` to `path` atomically (temporary file in the same directory + rename).
pub(crate) fn atomic_write(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = path.with_file_name(format!(
        ".tmp-{}-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    ));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    match retry(|| fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e)
        }
    }
}

fn io_panic(what: &str, path: &Path, e: std::io::Error) -> ! {
    panic!("fake_schtasks: cannot {what} {}: {e}", path.display())
}

impl Store {
    /// The store of the local machine (`host = None`) or of a remote `/S` host.
    pub(crate) fn open(root: &Path, host: Option<&str>) -> Store {
        let dir = match host {
            None => root.join("local"),
            Some(h) => root.join("remote").join(encode_component(h)),
        };
        let tasks = dir.join("tasks");
        if let Err(e) = fs::create_dir_all(&tasks) {
            io_panic("create the task store", &tasks, e);
        }
        Store { dir }
    }

    pub(crate) fn lock(&self) -> Lock {
        let path = self.dir.join(".lock");
        let began = Instant::now();
        loop {
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let _ = write!(f, "{}", std::process::id());
                    return Lock { path };
                }
                Err(e)
                    if e.kind() == ErrorKind::AlreadyExists
                        || e.kind() == ErrorKind::PermissionDenied =>
                {
                    let stale = fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(30));
                    if stale {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if began.elapsed() > Duration::from_secs(120) {
                        panic!("fake_schtasks: could not take the store lock {}", path.display());
                    }
                    std::thread::sleep(Duration::from_millis(3));
                }
                Err(e) => io_panic("create", &path, e),
            }
        }
    }

    fn folder_dir(&self, comps: &[String]) -> PathBuf {
        let mut p = self.dir.join("tasks");
        for c in comps {
            p.push(encode_component(c));
        }
        p
    }

    fn files(&self, path: &TaskPath) -> (PathBuf, PathBuf) {
        let dir = self.folder_dir(path.folder());
        let stem = encode_component(path.leaf());
        (dir.join(format!("{stem}.xml")), dir.join(format!("{stem}.json")))
    }

    pub(crate) fn task_exists(&self, path: &TaskPath) -> bool {
        self.files(path).0.is_file()
    }

    /// Whether `comps` names an existing folder (the empty list is the root).
    pub(crate) fn folder_exists(&self, comps: &[String]) -> bool {
        self.folder_dir(comps).is_dir()
    }

    pub(crate) fn read_task(&self, path: &TaskPath) -> Option<StoredTask> {
        let (xml_path, json_path) = self.files(path);
        let xml = match retry(|| fs::read(&xml_path)) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound => return None,
            Err(e) => io_panic("read", &xml_path, e),
        };
        let state = self.read_state(&json_path, path.leaf());
        let mut comps = self.folder_display_comps(path.folder());
        comps.push(state.name.clone());
        Some(StoredTask { path: TaskPath { comps }, xml, state })
    }

    fn read_state(&self, json_path: &Path, fallback_name: &str) -> State {
        match retry(|| fs::read(json_path)) {
            Ok(b) => serde_json::from_slice(&b).unwrap_or_else(|e| {
                panic!("fake_schtasks: corrupt state file {}: {e}", json_path.display())
            }),
            Err(e) if e.kind() == ErrorKind::NotFound => State::new(fallback_name, String::new()),
            Err(e) => io_panic("read", json_path, e),
        }
    }

    /// Display names of the folders along `comps` (as created first).
    fn folder_display_comps(&self, comps: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for i in 0..comps.len() {
            let dir = self.folder_dir(&comps[..=i]);
            out.push(folder_name(&dir).unwrap_or_else(|| comps[i].clone()));
        }
        out
    }

    /// Creates the folders along `comps` (keeping the case of the first creation).
    pub(crate) fn ensure_folders(&self, comps: &[String]) -> Result<(), Conflict> {
        for i in 0..comps.len() {
            let parent = TaskPath { comps: comps[..=i].to_vec() };
            if self.task_exists(&parent) {
                return Err(Conflict::Exists);
            }
            let dir = self.folder_dir(&comps[..=i]);
            if !dir.is_dir() {
                if let Err(e) = fs::create_dir_all(&dir) {
                    io_panic("create folder", &dir, e);
                }
                let meta = serde_json::json!({ "name": comps[i] }).to_string();
                if let Err(e) = atomic_write(&dir.join(".folder.json"), meta.as_bytes()) {
                    io_panic("write", &dir, e);
                }
            }
        }
        Ok(())
    }

    /// Writes definition (when given) and state. The state goes first so that a reader that
    /// sees the new definition also sees a state for it.
    pub(crate) fn write_task(&self, path: &TaskPath, xml: Option<&[u8]>, state: &State) {
        let (xml_path, json_path) = self.files(path);
        self.write_state_file(&json_path, state);
        if let Some(x) = xml
            && let Err(e) = atomic_write(&xml_path, x)
        {
            io_panic("write", &xml_path, e);
        }
    }

    pub(crate) fn write_state(&self, path: &TaskPath, state: &State) {
        let (_, json_path) = self.files(path);
        self.write_state_file(&json_path, state);
    }

    fn write_state_file(&self, json_path: &Path, state: &State) {
        let data = match serde_json::to_vec_pretty(state) {
            Ok(d) => d,
            Err(e) => panic!("fake_schtasks: cannot serialise state: {e}"),
        };
        if let Err(e) = atomic_write(json_path, &data) {
            io_panic("write", json_path, e);
        }
    }

    pub(crate) fn delete_task(&self, path: &TaskPath) {
        let (xml_path, json_path) = self.files(path);
        for p in [xml_path, json_path] {
            match retry(|| fs::remove_file(&p)) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => io_panic("delete", &p, e),
            }
        }
    }

    /// Every folder (pre-order, root first, children sorted case-insensitively) with its
    /// tasks (sorted case-insensitively).
    pub(crate) fn list(&self) -> Vec<FolderListing> {
        let mut out = Vec::new();
        self.walk(&self.dir.join("tasks"), Vec::new(), &mut out);
        out
    }

    fn walk(&self, dir: &Path, comps: Vec<String>, out: &mut Vec<FolderListing>) {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => io_panic("list", dir, e),
        };
        let mut subdirs: Vec<(String, PathBuf)> = Vec::new();
        let mut tasks = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let p = entry.path();
            if p.is_dir() {
                let display = folder_name(&p).unwrap_or_else(|| decode_component(&name));
                subdirs.push((display, p));
            } else if let Some(stem) = name.strip_suffix(".xml") {
                let xml = match retry(|| fs::read(&p)) {
                    Ok(b) => b,
                    // Deleted between listing and reading: not there any more.
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => io_panic("read", &p, e),
                };
                let state =
                    self.read_state(&dir.join(format!("{stem}.json")), &decode_component(stem));
                let mut c = comps.clone();
                c.push(state.name.clone());
                tasks.push(StoredTask { path: TaskPath { comps: c }, xml, state });
            }
        }
        tasks.sort_by_key(|t| t.state.name.to_lowercase());
        subdirs.sort_by_key(|(d, _)| d.to_lowercase());
        out.push(FolderListing { comps: comps.clone(), tasks });
        for (display, p) in subdirs {
            let mut c = comps.clone();
            c.push(display);
            self.walk(&p, c, out);
        }
    }
}

fn folder_name(dir: &Path) -> Option<String> {
    let b = fs::read(dir.join(".folder.json")).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&b).ok()?;
    v.get("name")?.as_str().map(str::to_string)
}

//! Test support for driving `fake_schtasks` from integration tests.
//!
//! Include it from a test target with
//! `#[path = "../helpers/fake_schtasks/support.rs"] mod fake_support;` (path relative to the
//! including file). It finds the built example next to the test executable, gives every
//! test its own store root, and writes task XML files the way orc does (UTF-16LE + BOM).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

/// Exit status of a syntax error: 0x80004005 on Windows, its low byte (5) on Unix.
pub(crate) const E_FAIL_EXIT: i32 = if cfg!(windows) { 0x8000_4005_u32 as i32 } else { 5 };

/// `target/<profile>/examples/fake_schtasks[.exe]`, derived from the running test
/// executable (`target/<profile>/deps/<test>-<hash>[.exe]`, or
/// `target/<triple>/<profile>/deps/…` when cross-compiling).
///
/// `cargo test --test <name>` does not build examples, so the first call checks that the
/// example is at least as new as its sources and otherwise runs
/// `cargo build --example fake_schtasks` for the same profile, target and target dir.
pub(crate) fn fake_exe() -> PathBuf {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let me = std::env::current_exe().expect("current_exe");
        let profile_dir = me
            .parent()
            .and_then(Path::parent)
            .expect("test executable should live in target/<profile>/deps")
            .to_path_buf();
        let exe = profile_dir
            .join("examples")
            .join(format!("fake_schtasks{}", std::env::consts::EXE_SUFFIX));
        if is_stale(&exe) {
            rebuild(&profile_dir);
        }
        assert!(
            exe.is_file(),
            "{} does not exist: build it with `cargo build --example fake_schtasks`",
            exe.display()
        );
        exe
    })
    .clone()
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Whether the example is missing or older than one of its sources (this file excluded:
/// it is not part of the example).
fn is_stale(exe: &Path) -> bool {
    let Some(built) = mtime(exe) else { return true };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/fake_schtasks");
    let Ok(entries) = std::fs::read_dir(&src) else { return false };
    entries.flatten().any(|e| {
        let p = e.path();
        p.extension().is_some_and(|x| x == "rs")
            && p.file_name().is_some_and(|n| n != "support.rs")
            && mtime(&p).is_some_and(|t| t > built)
    })
}

fn rebuild(profile_dir: &Path) {
    let parent = profile_dir.parent().expect("target dir");
    // The target dir carries CACHEDIR.TAG; otherwise `parent` is target/<triple>.
    let (target_dir, triple) = if parent.join("CACHEDIR.TAG").exists() {
        (parent.to_path_buf(), None)
    } else {
        let t = parent.parent().expect("target dir").to_path_buf();
        (t, parent.file_name().map(|n| n.to_string_lossy().into_owned()))
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--example", "fake_schtasks", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => {
            cmd.arg("--release");
        }
        Some(other) => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(t) = triple {
        cmd.args(["--target", &t]);
    }
    let status = cmd.status();
    assert!(
        status.as_ref().is_ok_and(|s| s.success()),
        "the fake_schtasks example is stale and rebuilding it failed ({status:?}); \
         run `cargo build --example fake_schtasks` (or a plain `cargo test`)"
    );
}

/// `text` encoded as UTF-16LE with a byte-order mark.
pub(crate) fn utf16le_bom(text: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// Writes `text` (LF or CRLF line ends; LF become CRLF) as UTF-16LE with BOM, the way orc
/// writes the file it passes to `schtasks /Create /XML`.
pub(crate) fn write_utf16le_bom(path: &Path, text: &str) {
    let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
    std::fs::write(path, utf16le_bom(&crlf)).expect("write UTF-16 file");
}

/// The outcome of one invocation.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) stdout_bytes: Vec<u8>,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success, got {self:#?}");
        &self.stdout
    }
}

/// A fake Task Scheduler with its own temporary store.
#[derive(Debug)]
pub(crate) struct Fake {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Fake {
    /// A fresh store; host `WIN-TEST`, user `tester`, clock frozen at 2025-03-10 08:00:00
    /// (a Monday), locale en-US.
    pub(crate) fn new() -> Fake {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut f = Fake { dir, env: Vec::new() };
        let root = f.root().display().to_string();
        f.set_env("FAKE_SCHTASKS_ROOT", &root);
        f.set_env("FAKE_SCHTASKS_HOSTNAME", "WIN-TEST");
        f.set_env("FAKE_SCHTASKS_USER", "tester");
        f.set_env("FAKE_SCHTASKS_NOW", "2025-03-10T08:00:00");
        f
    }

    pub(crate) fn env(mut self, k: &str, v: &str) -> Fake {
        self.set_env(k, v);
        self
    }

    pub(crate) fn set_env(&mut self, k: &str, v: &str) {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.to_string(), v.to_string()));
    }

    pub(crate) fn unset_env(&mut self, k: &str) {
        self.env.retain(|(key, _)| key != k);
    }

    /// The store root (`FAKE_SCHTASKS_ROOT`).
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A scratch directory for input files.
    pub(crate) fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("in");
        std::fs::create_dir_all(&p).expect("scratch dir");
        p
    }

    /// Writes `text` as a UTF-16LE+BOM file in the scratch directory.
    pub(crate) fn xml_file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.scratch().join(name);
        write_utf16le_bom(&p, text);
        p
    }

    /// Writes raw bytes in the scratch directory.
    pub(crate) fn raw_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.scratch().join(name);
        std::fs::write(&p, bytes).expect("write file");
        p
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(fake_exe());
        c.args(args);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("FAKE_SCHTASKS_") {
                c.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, None)
    }

    pub(crate) fn run_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut c = self.command(args);
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn fake_schtasks");
        {
            let mut input = child.stdin.take().expect("stdin");
            if let Some(s) = stdin {
                input.write_all(s.as_bytes()).expect("write stdin");
            }
        }
        let out = child.wait_with_output().expect("wait fake_schtasks");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            stdout_bytes: out.stdout,
        }
    }
}

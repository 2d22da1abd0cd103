//! Test support for driving `fake_schtasks` from integration tests.
//!
//! Include it from a test target with
//! `#[path = "../helpers/fake_schtasks/support.rs"] mod fake_support;` (path relative to the
//! including file). It runs the built `fake_schtasks` binary, gives every
//! test its own store root, and writes task XML files the way orc does (UTF-16LE + BOM).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Exit status of a syntax error: 0x80004005 on Windows, its low byte (5) on Unix.
pub(crate) const E_FAIL_EXIT: i32 = if cfg!(windows) { 0x8000_4005_u32 as i32 } else { 5 };

/// The fake, built by cargo as the `fake_schtasks` test-helper binary before any
/// integration test (see the `[[bin]]` entries of Cargo.toml), so it is never stale.
pub(crate) fn fake_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fake_schtasks"))
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
        // Retried like orc retries: Wine's CreateProcess fails now and then under load with
        // ERROR_INTERNAL_ERROR (1359).
        let mut child =
            orc::exec::execute::spawn_with_retry(|| c.spawn()).expect("spawn fake_schtasks");
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

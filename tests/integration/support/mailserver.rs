//! A real SMTP server for the mail tests: `tests/helpers/smtp_server.py` (aiosmtpd), started
//! on 127.0.0.1 with a free port, saving every accepted message as raw bytes plus a JSON
//! description (envelope, TLS/AUTH facts, headers and MIME parts parsed by Python's `email`).
//!
//! When python3 or aiosmtpd is missing the tests that need it are skipped with a message —
//! except in CI (`CI=true`), where that is a failure.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    pub dir: PathBuf,
}

/// One message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
    pub meta: serde_json::Value,
}

impl Received {
    /// The raw header block (before the first empty line).
    pub fn raw_headers(&self) -> &str {
        self.raw.split("\r\n\r\n").next().unwrap_or("")
    }

    /// A decoded header value (first occurrence).
    pub fn header(&self, name: &str) -> Option<String> {
        self.meta["headers"].as_array()?.iter().find_map(|h| {
            (h[0].as_str()?.eq_ignore_ascii_case(name)).then(|| h[1].as_str().unwrap().to_string())
        })
    }

    /// Every header name, in order.
    pub fn header_names(&self) -> Vec<String> {
        self.meta["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[0].as_str().unwrap().to_string())
            .collect()
    }

    /// The decoded text of the first MIME part of this content type.
    pub fn part(&self, content_type: &str) -> Option<String> {
        self.meta["parts"].as_array()?.iter().find_map(|p| {
            (p["content_type"] == content_type).then(|| p["text"].as_str().unwrap().to_string())
        })
    }

    pub fn rcpt_tos(&self) -> Vec<String> {
        self.meta["rcpt_tos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }
}

fn python() -> String {
    std::env::var("ORC_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn helper_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/smtp_server.py")
}

/// The test CA that signed the helper's certificate (for `smtp.ca_file`).
pub fn test_ca() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smtp/ca.pem");
    // Under Wine the manifest dir is a Unix path ("/work/…"), which Windows does not call
    // absolute; canonicalising gives the drive form (without the `\\?\` verbatim prefix).
    if cfg!(windows) && !path.is_absolute() {
        let canon = std::fs::canonicalize(&path).expect("test CA exists");
        let text = canon.to_string_lossy();
        return PathBuf::from(text.strip_prefix(r"\\?\").unwrap_or(&text));
    }
    path
}

/// Whether the server can run here. Panics in CI when it cannot; prints why otherwise.
#[allow(clippy::print_stderr)]
pub fn available() -> bool {
    let ok = Command::new(python())
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return true;
    }
    let msg = "python3 with aiosmtpd is needed for the real-SMTP tests \
               (python3 -m pip install aiosmtpd)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    false
}

/// Skips the current test (returns) when the SMTP server cannot run outside CI.
#[macro_export]
macro_rules! require_smtp {
    () => {
        if !$crate::support::mailserver::available() {
            return;
        }
    };
}

impl SmtpServer {
    /// Starts the server with extra arguments (`--tls starttls`, `--reject 550`, …).
    pub fn start(dir: &Path, args: &[&str]) -> SmtpServer {
        Self::start_on(dir, 0, args)
    }

    /// Starts the server on a given port (0: a free one).
    pub fn start_on(dir: &Path, port: u16, args: &[&str]) -> SmtpServer {
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new(python())
            .arg(helper_script())
            .arg("--dir")
            .arg(dir)
            .args(["--port", &port.to_string(), "--lifetime", "240"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SMTP test server");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("SMTP test server did not start: {line:?}"));
        SmtpServer { child, _stdin: stdin, port, dir: dir.to_path_buf() }
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.retain(|p| p.extension().is_some_and(|e| e == "json"));
        names.sort();
        names
            .iter()
            .map(|json| Received {
                raw: String::from_utf8_lossy(&std::fs::read(json.with_extension("eml")).unwrap())
                    .into_owned(),
                meta: serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap(),
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived (at most `timeout`).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let end = Instant::now() + timeout;
        loop {
            let m = self.messages();
            if m.len() >= n || Instant::now() > end {
                return m;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (the port is then closed: connection refused).
    pub fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

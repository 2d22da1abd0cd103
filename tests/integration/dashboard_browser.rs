//! End to end in headless Chromium, driven over the DevTools protocol on
//! `--remote-debugging-pipe` (fds 3 and 4, NUL-separated JSON; no websocket needed): sign
//! in with a token, run a task from its page through the confirmation, see the run's result
//! appear (the run page refreshes itself while the run is active), toggle the theme, and
//! save screenshots under `target/test-output/`.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::dashboard::Dashboard;
use crate::support::Env;

/// Chromium with a DevTools pipe and one page session.
struct Browser {
    child: Child,
    to: std::fs::File,
    from: BufReader<std::fs::File>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

fn pipe() -> [RawFd; 2] {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2");
    fds
}

impl Browser {
    fn start(chromium: &PathBuf) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (to_chrome, from_chrome) = (pipe(), pipe());
        let (child_in, child_out) = (to_chrome[0], from_chrome[1]);
        let mut cmd = std::process::Command::new(chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec. The pipe
        // ends are first copied above 10 so that dup2 onto 3 and 4 never meets itself, and
        // dup2 clears close-on-exec on 3 and 4 only.
        unsafe {
            cmd.pre_exec(move || {
                let a = libc::fcntl(child_in, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(child_out, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start chromium");
        // SAFETY: these fds come from pipe2 above and are owned by nothing else; the child's
        // ends are closed here (the child has its copies).
        let (to, from) = unsafe {
            libc::close(child_in);
            libc::close(child_out);
            (std::fs::File::from_raw_fd(to_chrome[1]), std::fs::File::from_raw_fd(from_chrome[0]))
        };
        Browser {
            child,
            to,
            from: BufReader::new(from),
            next_id: 1,
            session: None,
            _profile: profile,
        }
    }

    /// Sends one command and waits for its answer (events in between are skipped).
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).unwrap();
        loop {
            let mut buf = Vec::new();
            let n = self.from.read_until(0, &mut buf).unwrap();
            assert!(n > 0, "chromium closed the pipe");
            buf.pop();
            let v: Value = serde_json::from_slice(&buf).unwrap();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expr, "returnByValue": true, "awaitPromise": true }),
        );
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is true.
    fn wait_for(&mut self, expr: &str, what: &str) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if self.eval(expr) == json!(true) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let body = self.eval("document.body ? document.body.innerText : ''");
        panic!("timed out waiting for {what}; page: {body}");
    }

    fn goto(&mut self, url: &str, path: &str) {
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_loaded(path);
    }

    fn wait_loaded(&mut self, path: &str) {
        let expr =
            format!("document.readyState === 'complete' && location.pathname === {}", json!(path));
        self.wait_for(&expr, path);
    }

    fn click(&mut self, selector: &str) {
        let expr = format!("document.querySelector({}).click(); true", json!(selector));
        assert_eq!(self.eval(&expr), json!(true), "click {selector}");
    }

    fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("test-output");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs Chromium (ORC_TEST_CHROMIUM or /usr/bin/chromium)"]
fn chromium_signs_in_runs_a_task_and_toggles_the_theme() {
    let chromium = std::env::var_os("ORC_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(chromium.exists(), "Chromium not found at {}", chromium.display());
    let env = Env::new();
    env.orc([
        "task",
        "add",
        "hello",
        "--command",
        "echo hello-from-browser",
        "--schedule",
        "@daily",
    ])
    .ok();
    let token =
        env.orc(["token", "create", "admin"]).ok().stdout.lines().next().unwrap().to_string();
    let d = Dashboard::start(&env);
    let base = format!("http://{}", d.addr);

    let mut b = Browser::start(&chromium);
    let target = b.call("Target.createTarget", json!({ "url": "about:blank" }));
    let attached =
        b.call("Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true }));
    b.session = Some(attached["sessionId"].as_str().unwrap().to_string());
    b.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
    );

    // Sign in; the form comes back to the task page.
    b.goto(&format!("{base}/login?next=%2Ftask%2Fhello"), "/login");
    let fill = format!(
        "document.getElementById('token').value = {}; document.querySelector('form.login').submit(); true",
        json!(token)
    );
    assert_eq!(b.eval(&fill), json!(true));
    b.wait_loaded("/task/hello");
    let who = b.eval("document.getElementById('sign-out').textContent");
    assert_eq!(who, json!("Sign out admin"));

    // Run now, through the confirmation; the run page shows the result once it is in.
    b.click("#action-run");
    b.wait_loaded("/task/hello/confirm/run");
    b.screenshot("dashboard-confirm.png");
    b.click("#confirm");
    b.wait_for("location.pathname.startsWith('/run/')", "the run page");
    b.wait_for(
        "document.readyState === 'complete' && !!document.querySelector('h1 .s-SUCCESS')",
        "the run to finish",
    );
    let out = b.eval("document.getElementById('stdout').textContent");
    assert!(out.as_str().unwrap().contains("hello-from-browser"), "{out}");
    b.screenshot("dashboard-run.png");

    // The task page lists the run; the theme switch turns the page dark and stays.
    b.goto(&format!("{base}/task/hello"), "/task/hello");
    assert_eq!(b.eval("document.documentElement.dataset.theme"), json!("light"));
    assert_eq!(b.eval("!!document.querySelector('#runs .s-SUCCESS')"), json!(true));
    b.click("#theme-toggle");
    b.wait_for(
        "document.readyState === 'complete' && document.documentElement.dataset.theme === 'dark'",
        "the dark theme",
    );
    assert_eq!(b.eval("getComputedStyle(document.body).backgroundColor"), json!("rgb(17, 24, 39)"));
    let dark = b.screenshot("dashboard-dark.png");
    assert!(std::fs::metadata(dark).unwrap().len() > 1000);
    b.goto(&format!("{base}/"), "/");
    assert_eq!(b.eval("document.documentElement.dataset.theme"), json!("dark"), "kept");
}

//! `orc dashboard`: the real binary on 127.0.0.1:0, fetched with a tiny std client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::Env;

/// A running dashboard, killed on drop.
struct Dashboard {
    child: Child,
    addr: String,
    /// Kept open so the server's later stdout lines have a reader.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Dashboard {
    fn start(env: &Env) -> Dashboard {
        let mut child = env
            .command()
            .args(["dashboard", "--bind", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start orc dashboard");
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("http://")
            .and_then(|s| s.strip_suffix('/'))
            .unwrap_or_else(|| panic!("first line is not the URL: {line:?}"))
            .to_string();
        assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");
        Dashboard { child, addr, _stdout: stdout }
    }

    /// Sends raw bytes, returns (status, headers, body).
    fn raw(&self, request: &[u8]) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(request).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad response: {text:?}"));
        (status, head.to_string(), body.to_string())
    }

    fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) =
            self.raw(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes());
        (status, body)
    }

    fn json(&self, path: &str) -> serde_json::Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"))
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn insert_run(
    env: &Env,
    task: &str,
    status: &str,
    minutes_ago: i64,
    exit: Option<i64>,
    out: &[u8],
) -> i64 {
    let conn = rusqlite::Connection::open(env.db()).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    let start = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let running = status == "RUNNING";
    let end = (!running).then(|| fmt(start + chrono::Duration::seconds(3)));
    conn.execute(
        "INSERT INTO runs (task, attempt, trigger, status, start, end, duration_ms, exit_code, \
         error, stdout_head, stdout_bytes, host, orc_version) \
         VALUES (?1, 1, 'scheduled', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'testhost', '0.1.0')",
        rusqlite::params![
            task,
            status,
            fmt(start),
            end,
            (!running).then_some(3000),
            exit,
            (status == "FAILED").then_some("exit code 1"),
            out,
            out.len() as i64
        ],
    )
    .unwrap();
    conn.last_insert_rowid()
}

fn setup() -> Env {
    let env = Env::new();
    env.orc([
        "task",
        "add",
        "backup",
        "--command",
        "echo backup",
        "--schedule",
        "0 2 * * *",
        "--env",
        "MODE=full",
        "--secret-env",
        "DB_PASSWORD=sql-cred",
        "--description",
        "Nightly <b>backup</b>",
    ])
    .ok();
    env.orc(["task", "add", "report", "--command", "echo report", "--schedule", "30 7 * * 1-5"])
        .ok();
    env.orc([
        "task",
        "add",
        "idle",
        "--command",
        "echo idle",
        "--schedule",
        "@hourly",
        "--disabled",
    ])
    .ok();
    env
}

#[test]
fn pages_api_and_refusals() {
    let env = setup();
    let ok_id = insert_run(&env, "backup", "SUCCESS", 120, Some(0), b"copied 12 files\n");
    let bad_id = insert_run(
        &env,
        "backup",
        "FAILED",
        30,
        Some(0xC000_0005),
        b"<script>alert('x')</script>\xff\xfe tail\n",
    );
    let run_id = insert_run(&env, "report", "RUNNING", 1, None, b"");
    let d = Dashboard::start(&env);

    // overview: one row per task, descriptions, statuses, auto-refresh
    let (status, html) = d.get("/");
    assert_eq!(status, 200);
    assert!(html.contains(r#"<meta http-equiv="refresh" content="30">"#));
    for name in ["backup", "report", "idle"] {
        assert!(html.contains(&format!(r#"data-task="{name}""#)), "row for {name}");
    }
    assert!(html.contains("At 02:00"), "cron description");
    assert!(html.contains("Nightly &lt;b&gt;backup&lt;&#x2f;b&gt;"), "description escaped");
    assert!(html.contains(&format!(r#"href="/run/{bad_id}" class="badge s-FAILED""#)));
    assert!(html.contains(&format!(r#"href="/run/{run_id}" class="badge s-RUNNING""#)));
    assert!(html.contains("0xC0000005"), "NTSTATUS in hex");
    assert!(html.contains("50%"), "1 of 2 runs succeeded in 7 days");
    assert!(html.contains("disabled"), "disabled task has no next run");

    // task page: definition without secret values, runs with links
    let (status, html) = d.get("/task/BACKUP");
    assert_eq!(status, 200);
    assert!(html.contains("echo backup"));
    assert!(html.contains("MODE=full"));
    assert!(html.contains("DB_PASSWORD"));
    assert!(html.contains("sql-cred"));
    assert!(html.contains(&format!(r#"href="/run/{ok_id}""#)));
    assert!(html.contains(&format!(r#"href="/run/{bad_id}""#)));

    // run page: output escaped, lossily decoded, exit code in hex
    let (status, html) = d.get(&format!("/run/{bad_id}"));
    assert_eq!(status, 200);
    assert!(!html.contains("<script>"), "output must not be live HTML");
    assert!(html.contains("&lt;script&gt;alert("), "output shown as text");
    // Bytes that are not UTF-8: lossy on Unix; on Windows the OEM code page decodes them.
    assert!(html.contains(" tail"), "output after the invalid bytes is shown");
    if cfg!(not(windows)) {
        assert!(html.contains('\u{FFFD}'), "invalid bytes decoded lossily");
    }
    assert!(html.contains("0xC0000005 (access violation)"));

    let (status, html) = d.get(&format!("/run/{run_id}"));
    assert_eq!(status, 200);
    assert!(html.contains("running for"), "a running run shows how long it has run");
    let (_, html) = d.get("/task/backup");
    assert!(html.contains("Next run"));

    // JSON
    let status_json = d.json("/api/status");
    let arr = status_json.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    let backup = arr.iter().find(|t| t["name"] == "backup").unwrap();
    assert_eq!(backup["enabled"], true);
    assert_eq!(backup["schedule"], "0 2 * * *");
    assert_eq!(backup["last_run"]["id"], bad_id);
    assert_eq!(backup["last_run"]["status"], "FAILED");
    assert!(backup["next_run"].as_str().unwrap().contains('T'));
    let report = arr.iter().find(|t| t["name"] == "report").unwrap();
    assert_eq!(report["running"][0]["id"], run_id);
    let idle = arr.iter().find(|t| t["name"] == "idle").unwrap();
    assert_eq!(idle["next_run"], serde_json::Value::Null);

    let hist = d.json("/api/history?task=backup&limit=1");
    let runs = hist.as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    for key in [
        "id",
        "task",
        "slot",
        "attempt",
        "trigger",
        "status",
        "start",
        "end",
        "duration_ms",
        "exit_code",
        "error",
    ] {
        assert!(r.get(key).is_some(), "run object has {key}: {r}");
    }
    assert_eq!(r["id"], bad_id);
    assert_eq!(r["exit_code"], 0xC000_0005_i64);
    assert_eq!(d.json("/api/history").as_array().unwrap().len(), 3);
    let (s, body) = d.get("/api/history?limit=0");
    assert_eq!(s, 400, "{body}");
    assert!(body.contains("limit"));
    let (s, _) = d.get("/api/history?task=..%2Fetc");
    assert_eq!(s, 400);
    let (s, _) = d.get("/api/history?task=nosuch");
    assert_eq!(s, 404);

    // health, 404s, 405, 400, HEAD
    assert_eq!(d.get("/healthz"), (200, "ok\n".to_string()));
    let (s, html) = d.get("/task/nosuch");
    assert_eq!(s, 404);
    assert!(html.contains("There is no task named"));
    assert_eq!(d.get("/task/CON").0, 404, "invalid names are not looked up");
    assert_eq!(d.get("/run/999999").0, 404);
    assert_eq!(d.get("/run/abc").0, 404);
    assert_eq!(d.get("/no/such/page").0, 404);
    assert_eq!(d.get("/task/..").0, 400, "path traversal");
    assert_eq!(d.get("/task/%2e%2e%2f%2e%2e").0, 400, "encoded path traversal");
    let (s, head, _) = d.raw(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(s, 405);
    assert!(head.contains("Allow: GET, HEAD"));
    assert_eq!(d.raw(b"DELETE /task/backup HTTP/1.1\r\n\r\n").0, 405);
    assert_eq!(d.raw(b"garbage\r\n\r\n").0, 400);
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    assert_eq!(d.raw(long.as_bytes()).0, 431, "very long request line");
    let (s, head, body) = d.raw(b"HEAD / HTTP/1.1\r\n\r\n");
    assert_eq!(s, 200);
    assert!(head.contains("Content-Length:") && body.is_empty());

    // parallel clients are all served by the bounded pool
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let d = &d;
                scope.spawn(move || {
                    let path = if i % 2 == 0 { "/".to_string() } else { format!("/run/{ok_id}") };
                    d.get(&path).0
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), 200);
        }
    });

    // a task added while the dashboard runs shows up on the next request (no stale view)
    env.orc(["task", "add", "later", "--command", "echo later", "--schedule", "@daily"]).ok();
    assert!(d.get("/").1.contains(r#"data-task="later""#));

    // the dashboard is read-only: the tasks are unchanged afterwards
    let list = env.orc(["task", "list", "--json"]).ok().json();
    assert_eq!(list.as_array().unwrap().len(), 4);
}

#[test]
fn bind_rule_is_enforced() {
    let env = Env::new();
    let before = env.db_bytes();
    for bad in ["0.0.0.0:5000", "10.1.2.3:80", "[::]:5000"] {
        let out = env.orc(["dashboard", "--bind", bad]).code(2);
        assert!(out.stderr.contains("--bind"), "{}", out.stderr);
        assert!(out.stderr.contains("--allow-remote"), "{}", out.stderr);
    }
    let out = env.orc(["dashboard", "--bind", "not-an-address"]).code(2);
    assert!(out.stderr.contains("IP:PORT"), "{}", out.stderr);
    assert_eq!(env.db_bytes(), before, "nothing changed");
    let help = env.orc(["dashboard", "--help"]).ok();
    assert!(help.stdout.contains("no authentication"), "{}", help.stdout);
}

/// Headless Chromium renders the overview; the DOM has the task rows and a screenshot is
/// written to target/test-output/dashboard.png.
#[test]
#[ignore = "needs Chromium (ORC_TEST_CHROMIUM or /usr/bin/chromium)"]
fn chromium_renders_overview() {
    let chromium = std::env::var_os("ORC_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(chromium.exists(), "Chromium not found at {}", chromium.display());
    let env = setup();
    insert_run(&env, "backup", "SUCCESS", 200, Some(0), b"ok\n");
    let bad = insert_run(
        &env,
        "backup",
        "FAILED",
        20,
        Some(1),
        b"<script>document.title='pwned'</script>",
    );
    insert_run(&env, "report", "SUCCESS", 90, Some(0), b"");
    insert_run(&env, "report", "RUNNING", 2, None, b"");
    let d = Dashboard::start(&env);
    let url = format!("http://{}/", d.addr);
    let profile = tempfile::tempdir().unwrap();
    let common = [
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let dom = std::process::Command::new(&chromium)
        .args(&common)
        .arg("--dump-dom")
        .arg(&url)
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    assert!(dom.status.success(), "chromium failed");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("<title>Tasks · orc dashboard</title>"), "{dom}");
    for name in ["backup", "report", "idle"] {
        assert!(dom.contains(&format!(r#"data-task="{name}""#)), "row for {name}");
    }
    assert!(dom.contains("s-FAILED") && dom.contains("s-RUNNING") && dom.contains("s-ON"));

    // run output that looks like a script stays text in the rendered DOM
    let run_dom = std::process::Command::new(&chromium)
        .args(&common)
        .arg("--dump-dom")
        .arg(format!("{url}run/{bad}"))
        .stderr(Stdio::null())
        .output()
        .expect("run chromium");
    let run_dom = String::from_utf8_lossy(&run_dom.stdout);
    assert!(run_dom.contains(&format!("<title>Run #{bad} · orc dashboard</title>")), "{run_dom}");
    assert!(run_dom.contains("&lt;script&gt;document.title"), "{run_dom}");
    assert!(!run_dom.contains("pwned</title>"));

    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("test-output");
    std::fs::create_dir_all(&out_dir).unwrap();
    let png = out_dir.join("dashboard.png");
    let _ = std::fs::remove_file(&png);
    let shot = std::process::Command::new(&chromium)
        .args(&common)
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,900")
        .arg(&url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run chromium");
    assert!(shot.success());
    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
    assert!(bytes.len() > 10_000, "a real page, not a blank image ({} bytes)", bytes.len());
}

//! `orc dashboard`: the real binary on 127.0.0.1:0, fetched with a tiny std client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::support::Env;

/// A running dashboard, killed on drop (also used by `dashboard_api`).
pub(crate) struct Dashboard {
    child: Child,
    pub(crate) addr: String,
    /// Kept open so the server's later stdout lines have a reader.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Dashboard {
    pub(crate) fn start(env: &Env) -> Dashboard {
        Dashboard::start_with(env, &["--bind", "127.0.0.1:0"])
    }

    /// Starts `orc dashboard ARGS…`.
    pub(crate) fn start_with(env: &Env, args: &[&str]) -> Dashboard {
        let mut child = env
            .command()
            .arg("dashboard")
            .args(args)
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
            .or_else(|| line.trim().strip_prefix("https://"))
            .and_then(|s| s.strip_suffix('/'))
            .unwrap_or_else(|| panic!("first line is not the URL: {line:?}"))
            .to_string();
        assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");
        Dashboard { child, addr, _stdout: stdout }
    }

    /// Sends raw bytes, returns (status, headers, body).
    pub(crate) fn raw(&self, request: &[u8]) -> (u16, String, String) {
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
    let conn = crate::support::exec::db(env);
    let start = chrono::Utc::now() - chrono::Duration::minutes(minutes_ago);
    let fmt =
        |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let running = status == "RUNNING";
    let end = (!running).then(|| fmt(start + chrono::Duration::seconds(3)));
    conn.query_row(
        "INSERT INTO runs (task, attempt, trigger, status, start, \"end\", duration_ms, exit_code, \
         error, stdout_head, stdout_bytes, host, orc_version) \
         VALUES (?1, 1, 'scheduled', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'testhost', '0.1.0') \
         RETURNING id",
        orc::store::sql::params![
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
        |r| r.get(0),
    )
    .unwrap()
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
    // a run is active (report): the overview refreshes every 3 s instead of 30
    assert!(html.contains(r#"<meta http-equiv="refresh" content="3">"#));
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
    assert!(!html.contains("http-equiv=\"refresh\""), "no run of backup is active");
    assert!(html.contains(r#"<svg class="chart" id="duration-chart""#), "duration chart");
    assert!(html.contains("copied 12 files"), "output tails of the latest runs");
    let (_, html) = d.get("/task/report");
    assert!(html.contains(r#"<meta http-equiv="refresh" content="3">"#), "report is running");
    let (_, html) = d.get("/?state=failing");
    assert!(html.contains(r#"data-task="backup""#) && !html.contains(r#"data-task="idle""#));
    let (_, html) = d.get("/?state=disabled");
    assert!(html.contains(r#"data-task="idle""#) && !html.contains(r#"data-task="backup""#));

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
    // Changes need a token (tests/integration/dashboard_api.rs has the whole matrix).
    let (s, _, body) = d.raw(b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(s, 401, "{body}");
    assert_eq!(d.raw(b"DELETE /task/backup HTTP/1.1\r\n\r\n").0, 401);
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

    // nothing above changed a task: the tasks are unchanged afterwards
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
    let out = env.orc(["dashboard", "--bind", "0.0.0.0:5000", "--allow-remote"]).code(2);
    assert!(out.stderr.contains("--insecure-http"), "{}", out.stderr);
    assert_eq!(env.db_bytes(), before, "nothing changed");
    let help = env.orc(["dashboard", "--help"]).ok();
    assert!(help.stdout.contains("orc token create"), "{}", help.stdout);
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

// ---- the HTTP stack's defences (issue 12, finding 3) ----

/// The server's total deadline per request (`dashboard::REQUEST_DEADLINE`).
const DEADLINE: Duration = Duration::from_secs(10);
/// Open connections per client address (`dashboard::MAX_CONNECTIONS_PER_CLIENT`).
const PER_CLIENT: usize = 8;
/// Random and mutated request heads sent by the fuzz test.
const FUZZ_CASES: usize = 2_000;

/// Whether a read error is a client-side timeout (the server kept the connection open).
fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}

/// Reads until the server closes. `Err` only when `timeout` passed with the connection open;
/// a reset counts as closed.
fn read_until_closed(s: &mut TcpStream, timeout: Duration) -> Result<Vec<u8>, String> {
    s.set_read_timeout(Some(timeout)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if timed_out(&e) => return Err(format!("still open after {timeout:?}")),
            Err(_) => return Ok(out),
        }
    }
}

fn status_of(response: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(response);
    text.strip_prefix("HTTP/1.")?.get(2..5)?.parse().ok()
}

impl Dashboard {
    fn port(&self) -> u16 {
        self.addr.rsplit_once(':').unwrap().1.parse().unwrap()
    }

    fn get_with_host(&self, path: &str, host: &str) -> (u16, String) {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let (status, _, body) = self.raw(req.as_bytes());
        (status, body)
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

#[test]
fn foreign_host_is_refused_and_loopback_names_are_answered() {
    let env = setup();
    let d = Dashboard::start(&env);
    let port = d.port();
    for host in
        ["evil.example".to_string(), format!("evil.example:{port}"), format!("10.9.8.7:{port}")]
    {
        for path in ["/", "/api/status", "/task/backup"] {
            let (s, body) = d.get_with_host(path, &host);
            assert_eq!(s, 421, "{host} {path}: {body}");
            assert_eq!(
                body,
                format!(
                    "this dashboard answers only requests for localhost, 127.0.0.1, [::1] or \
                     127.0.0.1:{port} (the Host header names another server)\n"
                )
            );
        }
    }
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        "localhost".to_string(),
        "127.0.0.1".to_string(),
    ] {
        let (s, body) = d.get_with_host("/api/status", &host);
        assert_eq!(s, 200, "{host}: {body}");
        assert!(body.contains("\"backup\""), "{host}: {body}");
    }
    let (s, _, body) = d.raw(b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n");
    assert_eq!((s, body.as_str()), (400, "more than one Host header\n"));
}

/// Four clients trickling one byte every 2 s do not stall a normal request, and the server
/// closes each of them at its deadline (long before their request head would be complete).
#[test]
fn slow_clients_do_not_stall_the_dashboard() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let env = setup();
    let d = Dashboard::start(&env);
    let head = format!("GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: {}\r\n\r\n", "a".repeat(100));
    // 2 s per byte: the head would take minutes; the deadline is 10 s.
    let max_bytes = (DEADLINE.as_secs() as usize) * 3;
    let started = std::sync::Barrier::new(5);
    let finished = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let slow: Vec<_> = (0..4)
            .map(|_| {
                let (d, head, started, finished) = (&d, &head, &started, &finished);
                scope.spawn(move || {
                    let mut s = TcpStream::connect(&d.addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                    let mut cut = false;
                    for (i, b) in head.bytes().take(max_bytes).enumerate() {
                        if s.write_all(&[b]).is_err() {
                            cut = true;
                            break;
                        }
                        if i == 0 {
                            started.wait();
                        }
                        // The pause between bytes, watching for the server closing.
                        match s.read(&mut [0u8; 512]) {
                            Err(e) if timed_out(&e) => continue,
                            _ => {
                                cut = true;
                                break;
                            }
                        }
                    }
                    finished.fetch_add(1, Ordering::SeqCst);
                    cut
                })
            })
            .collect();
        started.wait();
        assert_eq!(d.get("/healthz"), (200, "ok\n".to_string()));
        let (s, html) = d.get("/");
        assert_eq!(s, 200);
        assert!(html.contains(r#"data-task="backup""#));
        assert_eq!(
            finished.load(Ordering::SeqCst),
            0,
            "the normal requests were answered while the slow clients were still sending"
        );
        for h in slow {
            assert!(h.join().unwrap(), "the server closed the slow connection at its deadline");
        }
    });
}

/// A connection from 127.0.0.2 (another client address) on a loopback socket.
fn connect_from(d: &Dashboard, source: &str) -> TcpStream {
    let target: std::net::SocketAddr = d.addr.parse().unwrap();
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let source: std::net::SocketAddr = format!("{source}:0").parse().unwrap();
    sock.bind(&source.into()).unwrap();
    sock.connect(&target.into()).unwrap();
    sock.into()
}

/// One client holding its connections idle gets no more than its share; another client is
/// still served; the slots come back when the idle connections close.
#[test]
fn connections_are_capped_per_client() {
    let env = setup();
    let d = Dashboard::start(&env);
    let idle: Vec<TcpStream> =
        (0..PER_CLIENT).map(|_| TcpStream::connect(&d.addr).unwrap()).collect();
    // The server accepts in connection order (the listen queue is FIFO), so the idle ones
    // hold their slots before the next connection is looked at.

    let mut extra = TcpStream::connect(&d.addr).unwrap();
    extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    // Refused after a short wait for a slot: a 503 or a closed connection, never an answer,
    // and well before the idle connections reach their deadline.
    let answer = read_until_closed(&mut extra, DEADLINE / 2).expect("the extra connection ends");
    assert!(
        answer.is_empty() || status_of(&answer) == Some(503),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    // Another client address is served while the first is at its cap.
    let mut other = connect_from(&d, "127.0.0.2");
    other
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", d.addr).as_bytes())
        .unwrap();
    let answer = read_until_closed(&mut other, DEADLINE).unwrap();
    assert_eq!(status_of(&answer), Some(200), "{}", String::from_utf8_lossy(&answer));

    drop(idle);
    assert_eq!(d.get("/healthz"), (200, "ok\n".to_string()), "slots freed");
}

/// Malformed requests get 400 and the server goes on serving.
#[test]
fn malformed_requests_are_400_and_serving_goes_on() {
    let env = setup();
    let d = Dashboard::start(&env);
    for bad in [
        &b"GET / HTTP/1.1 extra\r\n\r\n"[..],
        b"GET  / HTTP/1.1\r\n\r\n",
        b"GET / FTP/1.0\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
        b"GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        b"GET /task/a\\b HTTP/1.1\r\n\r\n",
        b"GET /task//x HTTP/1.1\r\n\r\n",
        b"GET /%ff%fe HTTP/1.1\r\n\r\n",
        b"GET http://localhost/ HTTP/1.1\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(&d.addr).unwrap();
        s.write_all(bad).unwrap();
        let answer = read_until_closed(&mut s, DEADLINE).unwrap();
        assert_eq!(status_of(&answer), Some(400), "{:?}", String::from_utf8_lossy(bad));
        assert_eq!(d.get("/healthz").0, 200, "still serving after {bad:?}");
    }
    // Methods are case-sensitive tokens: `get` is not GET, so it is a change and needs a token.
    assert_eq!(d.raw(b"get / HTTP/1.1\r\n\r\n").0, 401);
    let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(65));
    assert_eq!(d.raw(many.as_bytes()).0, 431, "more than 64 header lines");
    let (s, _, body) = d.raw(b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 70000\r\n\r\n");
    assert_eq!((s, body.as_str()), (413, "request body larger than 65536 bytes\n"));
}

/// A small deterministic generator (splitmix64) for the fuzz cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random or mutated request head.
fn fuzz_case(rng: &mut Rng) -> Vec<u8> {
    const SEEDS: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /api/history?task=backup&limit=5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"HEAD /task/backup HTTP/1.0\r\n\r\n",
        b"GET /run/1 HTTP/1.1\r\nHost: [::1]\r\nConnection: keep-alive\r\n\r\n",
        b"POST /api/status HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nabcd",
        b"GET /task/%2e%2e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ];
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"\n",
        b" ",
        b":",
        b"%",
        b"%2f",
        b"..",
        b"/",
        b"?",
        b"&",
        b"=",
        b"\0",
        b"\xff",
        b"Host: evil.example\r\n",
        b"Content-Length: 99999999999999999999\r\n",
        b"HTTP/1.1",
        b"Transfer-Encoding: chunked\r\n",
        b"\r\n\r\n",
    ];
    if rng.below(10) == 0 {
        let len = rng.below(300);
        return (0..len).map(|_| rng.next() as u8).collect();
    }
    let mut v = SEEDS[rng.below(SEEDS.len())].to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(v.len() + 1);
        match rng.below(5) {
            0 if at < v.len() => v[at] = rng.next() as u8,
            1 if at < v.len() => {
                v.remove(at);
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            3 => v.truncate(at),
            _ => {
                let dup = v[at..].iter().take(rng.below(64)).copied().collect::<Vec<_>>();
                v.splice(at..at, dup);
            }
        }
    }
    v
}

/// Random and mutated request heads: every connection ends within the deadline, no answer
/// is a server error, the server never dies and answers normally afterwards.
#[test]
fn fuzzed_request_heads_never_break_the_server() {
    let env = setup();
    let mut d = Dashboard::start(&env);
    const THREADS: usize = 4;
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let d = &d;
                scope.spawn(move || {
                    let mut rng = Rng(0x0dc0_ffee ^ t as u64);
                    for case in 0..FUZZ_CASES / THREADS {
                        let head = fuzz_case(&mut rng);
                        let mut s = TcpStream::connect(&d.addr).unwrap();
                        s.set_write_timeout(Some(DEADLINE)).unwrap();
                        let _ = s.write_all(&head);
                        let _ = s.shutdown(std::net::Shutdown::Write);
                        let answer = read_until_closed(&mut s, DEADLINE * 2)
                            .unwrap_or_else(|e| panic!("case {t}/{case} {head:?}: {e}"));
                        if let Some(status) = status_of(&answer) {
                            assert!(status < 500, "case {t}/{case} {head:?}: {status}");
                        }
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    assert!(d.alive(), "the server survived");
    assert_eq!(d.get("/healthz"), (200, "ok\n".to_string()));
}

/// Ctrl+C (SIGINT) stops the dashboard cleanly: exit code 0.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_the_dashboard_gracefully() {
    let env = setup();
    let mut d = Dashboard::start(&env);
    assert_eq!(d.get("/healthz").0, 200);
    let pid = d.child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let mut status = None;
    for _ in 0..(DEADLINE.as_millis() * 3 / 100) {
        status = d.child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("the dashboard stops after Ctrl+C");
    assert_eq!(status.code(), Some(0), "{status:?}");
}

//! Dependency checks before a run.
//!
//! The grammar is [`crate::task::deps`] (`file:`, `url:`, `tcp:`, `cmd:`, `task:`); this module
//! checks parsed dependencies:
//!
//! | spec | met when |
//! |---|---|
//! | `file:PATH[?max_age=DUR]` | the path exists (and was modified within `DUR`) |
//! | `url:http(s)://…` | a GET answers 2xx (connect 5 s, total 30 s, ≤ 5 redirects, no credentials, ≤ 64 KiB read) |
//! | `tcp:HOST:PORT` | a TCP connection opens within 5 s |
//! | `cmd:COMMAND[?timeout=DUR]` | the command (task's shell, directory and environment) exits 0 within `DUR` (default 30 s); killed as a tree otherwise |
//! | `task:NAME[?within=DUR]` | `NAME`'s latest finished run succeeded; with `within`, a success ended within `DUR` |

use std::ffi::OsString;
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::store::sql::Connection;
use serde::Serialize;

use crate::exec::{process, runs};
use crate::task::Shell;
pub use crate::task::deps::{Dependency, parse};

/// URL checks: connect timeout.
pub const URL_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// URL checks: total timeout.
pub const URL_TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// URL checks: redirects followed.
pub const URL_MAX_REDIRECTS: u32 = 5;
/// URL checks: body bytes read at most.
pub const URL_MAX_BODY: u64 = 64 * 1024;
/// TCP checks: connect timeout.
pub const TCP_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of one dependency check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepCheck {
    /// The spec as written.
    pub spec: String,
    /// `file`, `url`, `tcp`, `cmd`, `task`, or `invalid`.
    pub kind: String,
    pub met: bool,
    /// Why it is met or not, in words.
    pub reason: String,
}

/// What the checks need to know about the task.
#[derive(Debug)]
pub struct DepContext<'a> {
    pub conn: &'a Connection,
    pub shell: Shell,
    pub workdir: &'a Path,
    pub env: &'a [(OsString, OsString)],
    /// "now" for `task:` windows (honours `ORC_NOW`).
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Checks every spec (invalid specs are reported as unmet, never skipped).
pub fn check_all(specs: &[String], ctx: &DepContext<'_>) -> Vec<DepCheck> {
    specs
        .iter()
        .map(|spec| match parse(spec) {
            Ok(dep) => {
                let (met, reason) = check(&dep, ctx);
                DepCheck { spec: spec.clone(), kind: dep.kind().to_string(), met, reason }
            }
            Err(e) => DepCheck {
                spec: spec.clone(),
                kind: "invalid".to_string(),
                met: false,
                reason: e.to_string(),
            },
        })
        .collect()
}

/// Checks one dependency: `(met, reason)`.
pub fn check(dep: &Dependency, ctx: &DepContext<'_>) -> (bool, String) {
    match dep {
        Dependency::File { path, max_age } => check_file(&resolve(ctx.workdir, path), *max_age),
        Dependency::Url { url, .. } => check_url(url),
        Dependency::Tcp { host, port } => check_tcp(host, *port),
        Dependency::Cmd { command, .. } => check_cmd(command, dep.cmd_timeout().unwrap_or(30), ctx),
        Dependency::Task { name, within } => check_task(name, *within, ctx),
    }
}

fn resolve(dir: &Path, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() { p } else { dir.join(p) }
}

fn check_file(path: &Path, max_age: Option<u64>) -> (bool, String) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (false, format!("{} does not exist", path.display()));
        }
        Err(e) => return (false, format!("cannot read {}: {e}", path.display())),
    };
    let Some(max_age) = max_age else {
        return (true, format!("{} exists", path.display()));
    };
    let age = meta.modified().ok().map(|m| {
        crate::clock::file_time_now().duration_since(m).unwrap_or(Duration::ZERO).as_secs()
    });
    match age {
        Some(age) if age <= max_age => {
            (true, format!("{} modified {} ago", path.display(), crate::render::secs(age.max(1))))
        }
        Some(age) => (
            false,
            format!(
                "{} was modified {} ago, more than max_age {}",
                path.display(),
                crate::render::secs(age),
                crate::render::secs(max_age)
            ),
        ),
        None => (false, format!("cannot read the modification time of {}", path.display())),
    }
}

fn check_url(url: &str) -> (bool, String) {
    let host = url
        .parse::<ureq::http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string))
        .unwrap_or_else(|| url.to_string());
    let config = crate::http_client::config(URL_TOTAL_TIMEOUT)
        .timeout_connect(Some(URL_CONNECT_TIMEOUT))
        .max_redirects(URL_MAX_REDIRECTS)
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
        .build();
    let agent = ureq::Agent::new_with_config(config);
    match agent.get(url).call() {
        Ok(mut resp) => {
            let status = resp.status();
            // Read (and discard) a bounded part of the body so the exchange completes.
            let mut sink = Vec::new();
            let _ = resp.body_mut().as_reader().take(URL_MAX_BODY).read_to_end(&mut sink);
            if status.is_success() {
                (true, format!("HTTP {} from {host}", status.as_u16()))
            } else {
                (false, format!("HTTP {} from {host}", status.as_u16()))
            }
        }
        Err(ureq::Error::TooManyRedirects) => {
            (false, format!("more than {URL_MAX_REDIRECTS} redirects from {host}"))
        }
        Err(e) => (false, format!("cannot reach {host}: {e}")),
    }
}

fn check_tcp(host: &str, port: u16) -> (bool, String) {
    let addrs: Vec<_> = match (host, port).to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return (false, format!("cannot resolve {host}: {e}")),
    };
    let deadline = Instant::now() + TCP_TIMEOUT;
    let mut last = String::from("no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            last = "timed out".to_string();
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(_) => return (true, format!("connected to {host}:{port}")),
            Err(e) => last = e.to_string(),
        }
    }
    (false, format!("cannot connect to {host}:{port} within {}s: {last}", TCP_TIMEOUT.as_secs()))
}

fn check_cmd(command: &str, timeout: u64, ctx: &DepContext<'_>) -> (bool, String) {
    let lookup = process::Lookup { path: crate::exec::env::path_of(ctx.env), workdir: ctx.workdir };
    let inv = match process::invocation(ctx.shell, command, lookup) {
        Ok(i) => i,
        Err(e) => return (false, e),
    };
    let spawned =
        match process::ProcessTree::spawn(&inv, ctx.workdir, ctx.env, process::Streams::Null) {
            Ok(s) => s,
            Err(e) => return (false, format!("cannot start {}: {e}", inv.program.display())),
        };
    let mut tree = spawned.tree;
    let deadline = Instant::now().checked_add(Duration::from_secs(timeout));
    let result = match tree.wait_until(deadline) {
        Some(status) => {
            let ended = process::Ended::from_status(status);
            if ended == process::Ended::Code(0) {
                (true, "exited 0".to_string())
            } else {
                (false, runs::ended_text(ended))
            }
        }
        None => {
            tree.kill();
            let _ = tree.wait_until(None);
            (false, format!("did not finish within {} (killed)", crate::render::secs(timeout)))
        }
    };
    tree.finish();
    result
}

fn check_task(name: &str, within: Option<u64>, ctx: &DepContext<'_>) -> (bool, String) {
    let Some(within) = within else {
        return match runs::last_finished(ctx.conn, name) {
            Err(e) => (false, format!("cannot read the history of {name}: {e}")),
            Ok(None) => (false, format!("{name} has never run")),
            Ok(Some(run)) => {
                let when = crate::clock::to_local_human(run.end.unwrap_or(run.start));
                if run.status == runs::Status::Success {
                    (true, format!("{name}'s latest run succeeded at {when}"))
                } else {
                    (false, format!("{name}'s latest run is {} ({when})", run.status.as_str()))
                }
            }
        };
    };
    match runs::last_success_end(ctx.conn, name) {
        Err(e) => (false, format!("cannot read the history of {name}: {e}")),
        Ok(None) => (false, format!("{name} has never succeeded")),
        Ok(Some(end)) => {
            let age = (ctx.now - end).num_seconds().max(0) as u64;
            let when = crate::clock::to_local_human(end);
            if age <= within {
                (true, format!("{name} succeeded at {when}"))
            } else {
                (
                    false,
                    format!(
                        "{name} last succeeded at {when}, more than {} ago",
                        crate::render::secs(within)
                    ),
                )
            }
        }
    }
}

/// One line per unmet dependency, for the run's `error` field.
pub fn unmet_text(checks: &[DepCheck]) -> String {
    let unmet: Vec<String> =
        checks.iter().filter(|c| !c.met).map(|c| format!("{}: {}", c.spec, c.reason)).collect();
    format!("dependencies not met: {}", unmet.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_and_task_checks() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path()).unwrap();
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let ctx = DepContext {
            conn: store.conn(),
            shell: Shell::default(),
            workdir: dir.path(),
            env: &env,
            now: crate::clock::now_utc(),
        };
        std::fs::write(dir.path().join("ready.flag"), "x").unwrap();
        let flag = dir.path().join("ready.flag").to_string_lossy().into_owned();
        let missing = dir.path().join("missing.flag").to_string_lossy().into_owned();
        let checks = check_all(
            &[
                format!("file:{flag}"),
                format!("file:{flag}?max_age=1h"),
                format!("file:{missing}"),
                "task:upstream?within=1h".into(),
                "bogus".into(),
            ],
            &ctx,
        );
        let met: Vec<bool> = checks.iter().map(|c| c.met).collect();
        assert_eq!(met, [true, true, false, false, false]);
        assert!(checks[2].reason.contains("does not exist"), "{:?}", checks[2]);
        assert!(checks[3].reason.contains("never succeeded"), "{:?}", checks[3]);
        assert_eq!(checks[4].kind, "invalid");
        let text = unmet_text(&checks);
        assert!(text.contains(&format!("file:{missing}: ")), "{text}");
        assert!(text.contains("task:upstream?within=1h: "), "{text}");
    }

    #[test]
    fn tcp_check_against_a_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(check_tcp("127.0.0.1", port).0);
        drop(listener);
        let (met, reason) = check_tcp("127.0.0.1", port);
        assert!(!met);
        assert!(reason.contains(&port.to_string()), "{reason}");
    }
}

//! Dependencies: the `--depends-on SPEC` grammar, parsed into [`Dependency`], and the
//! checks across tasks (every `task:` reference exists, no cycles).
//!
//! Grammar (kinds and parameter names are lower case):
//!
//! ```text
//! file:PATH[?max_age=DURATION]     the file exists (and was modified within max_age)
//! url:http(s)://HOST[:PORT]/…      the URL answers 2xx (no credentials in the URL)
//! tcp:HOST:PORT                    a TCP connection succeeds (IPv6 as [::1]:5432)
//! cmd:COMMAND[?timeout=DURATION]   the command exits 0 (default timeout 30s)
//! task:NAME[?within=DURATION]      task NAME succeeded (within the last DURATION)
//! ```
//!
//! Parameters are a trailing `?key=value[&key=value]` with no spaces. A URL's own query
//! string is part of the URL (url: takes no parameters). A `cmd:` whose command itself ends
//! in something like `?a=b` must add `?timeout=…` explicitly.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::error::{Error, Result};

use super::TaskSpec;
use super::validate::{PathStyle, check_abs_path, validate_name};

/// The grammar, as shown when a spec is refused.
pub const DEPENDENCY_RULE: &str = "a dependency is file:PATH[?max_age=1h], url:https://…, \
     tcp:HOST:PORT, cmd:COMMAND[?timeout=30s] or task:NAME[?within=24h]";

/// Default time limit of a `cmd:` check.
pub const DEFAULT_CMD_TIMEOUT_SECS: u64 = 30;
/// Longest `max_age` / `within`: a year.
pub const MAX_AGE_SECS: u64 = 366 * 86_400;
/// Longest `cmd:` check timeout: an hour.
pub const MAX_CMD_TIMEOUT_SECS: u64 = 3600;
/// Longest URL.
pub const MAX_URL: usize = 2048;

/// One parsed dependency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dependency {
    /// The file exists; with `max_age`, its modification time is at most that many seconds ago.
    File { path: String, max_age: Option<u64> },
    /// An HTTP(S) GET answers with a 2xx status.
    Url { url: String, host: String },
    /// A TCP connection to `host:port` succeeds. `host` is without IPv6 brackets.
    Tcp { host: String, port: u16 },
    /// The command (run by the platform shell) exits 0 within `timeout` seconds.
    Cmd { command: String, timeout: Option<u64> },
    /// Task `name` succeeded: its latest run, or with `within`, a run that ended at most that
    /// many seconds ago.
    Task { name: String, within: Option<u64> },
}

impl Dependency {
    /// The kind as written before the colon.
    pub fn kind(&self) -> &'static str {
        match self {
            Dependency::File { .. } => "file",
            Dependency::Url { .. } => "url",
            Dependency::Tcp { .. } => "tcp",
            Dependency::Cmd { .. } => "cmd",
            Dependency::Task { .. } => "task",
        }
    }

    /// The `cmd:` timeout with its default applied.
    pub fn cmd_timeout(&self) -> Option<u64> {
        match self {
            Dependency::Cmd { timeout, .. } => Some(timeout.unwrap_or(DEFAULT_CMD_TIMEOUT_SECS)),
            _ => None,
        }
    }

    /// What makes two dependencies "the same check" (used to refuse duplicates): the kind
    /// and target, ignoring parameters; host and task names compare case-insensitively.
    pub fn identity(&self) -> String {
        match self {
            Dependency::File { path, .. } => format!("file:{path}"),
            Dependency::Url { url, .. } => format!("url:{url}"),
            Dependency::Tcp { host, port } => format!("tcp:{}:{port}", host.to_ascii_lowercase()),
            Dependency::Cmd { command, .. } => format!("cmd:{command}"),
            Dependency::Task { name, .. } => format!("task:{}", name.to_ascii_lowercase()),
        }
    }
}

impl fmt::Display for Dependency {
    /// The canonical spec (durations in seconds-based short form, e.g. `1h`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dur = crate::render::secs;
        match self {
            Dependency::File { path, max_age: None } => write!(f, "file:{path}"),
            Dependency::File { path, max_age: Some(a) } => {
                write!(f, "file:{path}?max_age={}", dur(*a))
            }
            Dependency::Url { url, .. } => write!(f, "url:{url}"),
            Dependency::Tcp { host, port } if host.contains(':') => {
                write!(f, "tcp:[{host}]:{port}")
            }
            Dependency::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Dependency::Cmd { command, timeout: None } => write!(f, "cmd:{command}"),
            Dependency::Cmd { command, timeout: Some(t) } => {
                write!(f, "cmd:{command}?timeout={}", dur(*t))
            }
            Dependency::Task { name, within: None } => write!(f, "task:{name}"),
            Dependency::Task { name, within: Some(w) } => {
                write!(f, "task:{name}?within={}", dur(*w))
            }
        }
    }
}

/// Parses a dependency spec, judging paths by the rules of this platform.
pub fn parse(text: &str) -> Result<Dependency> {
    parse_with_style(text, PathStyle::native())
}

/// Parses a dependency spec with an explicit path style.
pub fn parse_with_style(text: &str, style: PathStyle) -> Result<Dependency> {
    let bad = |rule: String| Error::invalid("--depends-on", text, rule);
    if text.contains('\0') {
        return Err(bad("a dependency must not contain NUL characters".into()));
    }
    let Some((kind, rest)) = text.split_once(':') else {
        return Err(bad(DEPENDENCY_RULE.into()));
    };
    match kind {
        "file" => {
            let (path, max_age) = with_duration_param(text, rest, "max_age", MAX_AGE_SECS)?;
            check_abs_path("--depends-on", path, style, 32_767)?;
            Ok(Dependency::File { path: path.to_string(), max_age })
        }
        "url" => parse_url(text, rest),
        "tcp" => parse_tcp(text, rest),
        "cmd" => {
            let (command, timeout) =
                with_duration_param(text, rest, "timeout", MAX_CMD_TIMEOUT_SECS)?;
            if command.trim().is_empty() {
                return Err(bad("cmd: needs a command (cmd:COMMAND[?timeout=30s])".into()));
            }
            if command.contains(['\r', '\n']) {
                return Err(bad("a cmd: check is one line: no line breaks".into()));
            }
            if command.encode_utf16().count() > super::validate::MAX_CMD_COMMAND {
                return Err(bad("a cmd: check is at most 8191 characters".into()));
            }
            Ok(Dependency::Cmd { command: command.to_string(), timeout })
        }
        "task" => {
            let (name, within) = with_duration_param(text, rest, "within", MAX_AGE_SECS)?;
            validate_name(name).map_err(|_| {
                bad(format!("task:NAME needs a valid task name; {}", super::validate::NAME_RULE))
            })?;
            Ok(Dependency::Task { name: name.to_string(), within })
        }
        other => Err(bad(format!("unknown dependency kind {other:?}; {DEPENDENCY_RULE}"))),
    }
}

/// The target of a `kind:` dependency and its one optional duration parameter `key`
/// (1s..`max`), e.g. `file:PATH?max_age=1h`.
fn with_duration_param<'a>(
    text: &str,
    rest: &'a str,
    key: &str,
    max: u64,
) -> Result<(&'a str, Option<u64>)> {
    let (target, params) = split_params(rest);
    let value = take_params(text, params, &[key])?
        .remove(key)
        .map(|v| duration_param(text, key, &v, 1, max))
        .transpose()?;
    Ok((target, value))
}

/// Splits a trailing `?key=value[&key=value]` (no whitespace, keys `[a-z_]+`) off `rest`.
fn split_params(rest: &str) -> (&str, Option<&str>) {
    let Some(i) = rest.rfind('?') else { return (rest, None) };
    let tail = &rest[i + 1..];
    let looks_like_params = !tail.is_empty()
        && tail.split('&').all(|kv| {
            kv.split_once('=').is_some_and(|(k, v)| {
                !k.is_empty()
                    && k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                    && !v.contains(|c: char| c.is_whitespace() || c == '=' || c == '?')
            })
        });
    if looks_like_params { (&rest[..i], Some(tail)) } else { (rest, None) }
}

fn take_params(
    text: &str,
    params: Option<&str>,
    allowed: &[&str],
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let Some(params) = params else { return Ok(out) };
    for kv in params.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        if !allowed.contains(&k) {
            let kind = text.split(':').next().unwrap_or("");
            let known = if allowed.is_empty() {
                format!("{kind}: takes no parameters")
            } else {
                format!("{kind}: takes only {}", allowed.join(", "))
            };
            return Err(Error::invalid(
                "--depends-on",
                text,
                format!("unknown parameter {k:?}; {known}"),
            ));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Error::invalid(
                "--depends-on",
                text,
                format!("parameter {k:?} given twice"),
            ));
        }
    }
    Ok(out)
}

fn duration_param(text: &str, key: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    let secs = crate::duration::parse_secs("--depends-on", value).map_err(|_| {
        Error::invalid(
            "--depends-on",
            text,
            format!("{key} must be a duration such as 90s, 30m, 1h30m, 2d"),
        )
    })?;
    if secs < min || secs > max {
        let rule = format!("{key} must be {}", crate::duration::range_rule(min, max));
        return Err(Error::invalid("--depends-on", text, rule));
    }
    Ok(secs)
}

fn parse_url(text: &str, rest: &str) -> Result<Dependency> {
    let bad = |rule: &str| Error::invalid("--depends-on", text, rule);
    if rest.len() > MAX_URL {
        return Err(bad("a URL is at most 2048 characters"));
    }
    if rest.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("a URL must not contain spaces or control characters"));
    }
    let lower = rest.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(bad("url: takes an http:// or https:// URL"));
    }
    // The authority is checked on the raw text: the url crate would accept and hide
    // credentials (`user:pass@host`) and normalise odd forms.
    let after_scheme = &rest[rest.find("://").map_or(0, |i| i + 3)..];
    let authority = after_scheme.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err(bad(
            "credentials in a URL (user:password@host) are not allowed: they would be stored \
             in plain text; use a URL that needs none",
        ));
    }
    let parsed = url::Url::parse(rest)
        .map_err(|e| Error::invalid("--depends-on", text, format!("not a valid URL ({e})")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("url: takes an http:// or https:// URL"));
    }
    let host = match parsed.host_str() {
        Some(h) if !h.is_empty() => h.trim_start_matches('[').trim_end_matches(']').to_string(),
        _ => return Err(bad("the URL has no host")),
    };
    if parsed.port() == Some(0) {
        return Err(bad("the port must be 1-65535"));
    }
    Ok(Dependency::Url { url: rest.to_string(), host })
}

fn parse_tcp(text: &str, rest: &str) -> Result<Dependency> {
    let rule = "tcp:HOST:PORT with a host name or IP address and a port 1-65535 (IPv6 in \
                brackets: tcp:[::1]:5432)";
    let bad = || Error::invalid("--depends-on", text, rule);
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (h, p) = v6.split_once("]:").ok_or_else(bad)?;
        h.parse::<std::net::Ipv6Addr>().map_err(|_| bad())?;
        (h, p)
    } else {
        let (h, p) = rest.rsplit_once(':').ok_or_else(bad)?;
        if h.contains(':') {
            return Err(bad());
        }
        let host_ok = !h.is_empty()
            && h.len() <= 253
            && h.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            });
        if !host_ok {
            return Err(bad());
        }
        (h, p)
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let port: u16 = port.parse().map_err(|_| bad())?;
    if port == 0 {
        return Err(bad());
    }
    Ok(Dependency::Tcp { host: host.to_string(), port })
}

/// The `task:` references of one task (names as written).
pub fn task_refs(spec: &TaskSpec) -> Vec<String> {
    spec.depends_on
        .iter()
        .filter_map(|d| match parse(d) {
            Ok(Dependency::Task { name, .. }) => Some(name),
            _ => None,
        })
        .collect()
}

/// Finds a dependency cycle in a graph of task name → names it depends on (compared
/// case-insensitively). Returns the cycle as a path that ends where it starts
/// (`[a, b, c, a]`), with the names as the graph's keys spell them. Deterministic: tasks are
/// visited in name order. References to names that are not keys are ignored here.
pub fn find_cycle(graph: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    let key = |s: &str| s.to_ascii_lowercase();
    let display: BTreeMap<String, &str> = graph.keys().map(|k| (key(k), k.as_str())).collect();
    let edges: BTreeMap<String, Vec<String>> = graph
        .iter()
        .map(|(k, v)| {
            let mut targets: Vec<String> = v.iter().map(|t| key(t)).collect();
            targets.sort();
            targets.dedup();
            (key(k), targets)
        })
        .collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = edges.keys().map(|k| (k.as_str(), Mark::New)).collect();
    for start in edges.keys() {
        if marks[start.as_str()] != Mark::New {
            continue;
        }
        // Iterative DFS: stack of (node, next edge index); `path` mirrors the active nodes.
        let mut stack: Vec<(&str, usize)> = vec![(start.as_str(), 0)];
        marks.insert(start.as_str(), Mark::Active);
        while let Some((node, i)) = stack.last().copied() {
            let targets = &edges[node];
            if i >= targets.len() {
                marks.insert(node, Mark::Done);
                stack.pop();
                continue;
            }
            stack.last_mut().expect("non-empty").1 += 1;
            let next = targets[i].as_str();
            match marks.get(next).copied() {
                None | Some(Mark::Done) => {}
                Some(Mark::New) => {
                    marks.insert(next, Mark::Active);
                    stack.push((next, 0));
                }
                Some(Mark::Active) => {
                    let from = stack.iter().position(|(n, _)| *n == next).expect("active");
                    let mut cycle: Vec<String> =
                        stack[from..].iter().map(|(n, _)| display[*n].to_string()).collect();
                    cycle.push(display[next].to_string());
                    return Some(cycle);
                }
            }
        }
    }
    None
}

/// Rotates a cycle (`[a, b, c, a]`) so that it starts at `name` when `name` is on it.
pub fn rotate_cycle(cycle: &[String], name: &str) -> Vec<String> {
    let ring = &cycle[..cycle.len().saturating_sub(1)];
    match ring.iter().position(|n| n.eq_ignore_ascii_case(name)) {
        Some(p) => {
            let mut out: Vec<String> = ring[p..].iter().chain(&ring[..p]).cloned().collect();
            out.push(ring[p].clone());
            out
        }
        None => cycle.to_vec(),
    }
}

/// Checks the `task:` dependencies across a complete set of tasks (what the database will
/// hold after a change): every referenced task exists, and there is no cycle. `changed`
/// names the tasks being added or edited, so that the message points at them.
pub fn check_graph<'a>(
    tasks: impl IntoIterator<Item = &'a TaskSpec>,
    changed: &[&str],
) -> Result<()> {
    let tasks: Vec<&TaskSpec> = tasks.into_iter().collect();
    let names: BTreeSet<String> = tasks.iter().map(|t| t.name.to_ascii_lowercase()).collect();
    let mut graph = BTreeMap::new();
    // Report problems of the changed tasks first.
    let mut ordered: Vec<&TaskSpec> = tasks.clone();
    ordered.sort_by_key(|t| !changed.iter().any(|c| c.eq_ignore_ascii_case(&t.name)));
    for t in &ordered {
        for text in &t.depends_on {
            if let Ok(Dependency::Task { name, .. }) = parse(text)
                && !names.contains(&name.to_ascii_lowercase())
            {
                return Err(Error::invalid(
                    "--depends-on",
                    text,
                    format!(
                        "task {:?} depends on task {name:?}, which does not exist (add it first)",
                        t.name
                    ),
                ));
            }
        }
        graph.insert(t.name.clone(), task_refs(t));
    }
    if let Some(cycle) = find_cycle(&graph) {
        let first = changed
            .iter()
            .find(|c| cycle.iter().any(|n| n.eq_ignore_ascii_case(c)))
            .copied()
            .unwrap_or(cycle[0].as_str())
            .to_string();
        let cycle = rotate_cycle(&cycle, &first);
        let next = &cycle[1];
        return Err(Error::invalid(
            "--depends-on",
            format!("task:{next}"),
            format!("dependency cycle: {}", cycle.join(" → ")),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Dependency {
        parse_with_style(s, PathStyle::Unix).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str, style: PathStyle) -> String {
        let e = parse_with_style(s, style).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let t = e.to_string();
        assert!(t.contains("--depends-on"), "{t}");
        t
    }

    #[test]
    fn parses_every_kind() {
        assert_eq!(
            p("file:/data/in.csv"),
            Dependency::File { path: "/data/in.csv".into(), max_age: None }
        );
        assert_eq!(
            p("file:/data/in.csv?max_age=1h"),
            Dependency::File { path: "/data/in.csv".into(), max_age: Some(3600) }
        );
        assert_eq!(
            p("url:https://example.com/health?full=1"),
            Dependency::Url {
                url: "https://example.com/health?full=1".into(),
                host: "example.com".into()
            }
        );
        assert_eq!(p("tcp:db.local:5432"), Dependency::Tcp { host: "db.local".into(), port: 5432 });
        assert_eq!(p("tcp:10.0.0.1:1"), Dependency::Tcp { host: "10.0.0.1".into(), port: 1 });
        assert_eq!(p("tcp:[::1]:65535"), Dependency::Tcp { host: "::1".into(), port: 65535 });
        assert_eq!(
            p("cmd:ping -c1 db"),
            Dependency::Cmd { command: "ping -c1 db".into(), timeout: None }
        );
        assert_eq!(p("cmd:ping -c1 db").cmd_timeout(), Some(30));
        assert_eq!(
            p("cmd:curl http://x/?a=b?timeout=10s"),
            Dependency::Cmd { command: "curl http://x/?a=b".into(), timeout: Some(10) }
        );
        assert_eq!(
            p("cmd:findstr /?"),
            Dependency::Cmd { command: "findstr /?".into(), timeout: None }
        );
        assert_eq!(p("task:extract"), Dependency::Task { name: "extract".into(), within: None });
        assert_eq!(
            p("task:extract?within=24h"),
            Dependency::Task { name: "extract".into(), within: Some(86_400) }
        );
        assert_eq!(
            parse_with_style("file:C:\\in\\x.csv?max_age=30m", PathStyle::Windows).unwrap(),
            Dependency::File { path: "C:\\in\\x.csv".into(), max_age: Some(1800) }
        );
        assert!(parse_with_style("file:\\\\srv\\drop\\done.flag", PathStyle::Windows).is_ok());
    }

    #[test]
    fn display_is_canonical_and_reparses() {
        for s in [
            "file:/d/x?max_age=1h30m",
            "url:http://h:8080/p",
            "tcp:h:1",
            "tcp:[fe80::1]:22",
            "cmd:true?timeout=5s",
            "task:a?within=1d",
            "task:b",
        ] {
            let d = p(s);
            assert_eq!(d.to_string(), s);
            assert_eq!(p(&d.to_string()), d);
        }
        assert_eq!(p("task:a?within=24h").to_string(), "task:a?within=1d");
    }

    #[test]
    fn refuses_bad_specs_naming_the_rule() {
        let u = PathStyle::Unix;
        for (s, needle) in [
            ("", "a dependency is"),
            ("nothing", "a dependency is"),
            ("ftp:x", "unknown dependency kind \"ftp\""),
            ("FILE:/x", "unknown dependency kind"),
            ("vpn:host:1", "unknown dependency kind"),
            ("file:relative/x", "absolute"),
            ("file:/x?max_age=soon", "max_age must be a duration"),
            ("file:/x?max_age=0s", "between"),
            ("file:/x?age=1h", "unknown parameter \"age\"; file: takes only max_age"),
            ("file:/x?max_age=1h&max_age=2h", "given twice"),
            ("url:ftp://x/", "http:// or https://"),
            ("url:https://user:pw@example.com/", "credentials"),
            ("url:https://token@example.com/", "credentials"),
            ("url:https://", "URL"),
            ("url:https://exa mple.com", "spaces"),
            ("url:https://example.com:0/", "port"),
            ("url:https://example.com:99999/", "URL"),
            ("tcp:db", "tcp:HOST:PORT"),
            ("tcp:db:0", "1-65535"),
            ("tcp:db:65536", "1-65535"),
            ("tcp:db:x", "1-65535"),
            ("tcp:::1:22", "brackets"),
            ("tcp:[nonsense]:22", "brackets"),
            ("tcp:bad host:22", "tcp:HOST:PORT"),
            ("tcp:db:5432?timeout=5s", "tcp:HOST:PORT"),
            ("cmd:", "needs a command"),
            ("cmd:?timeout=5s", "needs a command"),
            ("cmd:x?timeout=2h", "between"),
            ("cmd:x?retries=2", "unknown parameter"),
            ("cmd:a\nb", "line breaks"),
            ("task:", "task name"),
            ("task:bad name", "task name"),
            ("task:CON", "task name"),
            ("task:a?since=1h", "unknown parameter"),
            ("task:a?within=400d", "between"),
            ("cmd:a\0b", "NUL"),
        ] {
            let e = err(s, u);
            assert!(e.contains(needle), "{s:?}: {e}");
        }
        let e = err("file:C:\\x:stream", PathStyle::Windows);
        assert!(e.contains("alternate data stream"), "{e}");
    }

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn cycles_are_found_with_the_whole_path() {
        assert_eq!(find_cycle(&graph(&[])), None);
        assert_eq!(find_cycle(&graph(&[("a", &["b"]), ("b", &["c"]), ("c", &[])])), None);
        // Diamond: not a cycle.
        assert_eq!(
            find_cycle(&graph(&[("a", &["b", "c"]), ("b", &["d"]), ("c", &["d"]), ("d", &[])])),
            None
        );
        assert_eq!(find_cycle(&graph(&[("a", &["a"])])), Some(vec!["a".into(), "a".into()]));
        assert_eq!(
            find_cycle(&graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])])),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        // Case-insensitive names; display as the keys spell them.
        assert_eq!(
            find_cycle(&graph(&[("Load", &["EXTRACT"]), ("extract", &["load"])])),
            Some(vec!["extract".into(), "Load".into(), "extract".into()])
        );
        // A cycle reachable only from a tail.
        let c = find_cycle(&graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["d"]), ("d", &["b"])]))
            .unwrap();
        assert_eq!(c, vec!["b", "c", "d", "b"]);
        assert_eq!(rotate_cycle(&c, "D"), vec!["d", "b", "c", "d"]);
        assert_eq!(rotate_cycle(&c, "zzz"), c);
        // Missing targets are not this function's business.
        assert_eq!(find_cycle(&graph(&[("a", &["ghost"])])), None);
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let n = 20_000;
        let mut g = BTreeMap::new();
        for i in 0..n {
            g.insert(format!("t{i}"), vec![format!("t{}", i + 1)]);
        }
        g.insert(format!("t{n}"), vec![]);
        assert_eq!(find_cycle(&g), None);
        g.insert(format!("t{n}"), vec!["t0".into()]);
        assert_eq!(find_cycle(&g).unwrap().len(), n + 2);
    }

    fn task(name: &str, deps: &[&str]) -> TaskSpec {
        let mut t = TaskSpec::new(name, "true", "@daily");
        t.depends_on = deps.iter().map(|d| d.to_string()).collect();
        t
    }

    #[test]
    fn graph_check_reports_missing_and_cycles() {
        let a = task("a", &["task:b"]);
        let b = task("b", &["task:c?within=1h", "tcp:db:1"]);
        let c = task("c", &[]);
        assert!(check_graph([&a, &b, &c], &["a"]).is_ok());
        let e = check_graph([&a, &b], &["a"]).unwrap_err().to_string();
        assert!(e.contains("\"c\", which does not exist"), "{e}");
        let c2 = task("c", &["task:A"]);
        let e = check_graph([&a, &b, &c2], &["c"]).unwrap_err().to_string();
        assert!(e.contains("dependency cycle: c → a → b → c"), "{e}");
        let e = check_graph([&a, &b, &c2], &["b"]).unwrap_err().to_string();
        assert!(e.contains("dependency cycle: b → c → a → b"), "{e}");
    }
}

//! `fake_schtasks`: a faithful stand-in for `schtasks.exe`, for orc's tests on Linux (and
//! under Wine). orc finds it through `ORC_SCHTASKS` and runs it like the real program.
//! Behaviour follows `/work/shared/reference/schtasks.md` (§7 is the checklist); choices
//! where the reference is silent are marked `[U]` in the code.
//!
//! # Environment
//!
//! | Variable | Values | Effect |
//! |---|---|---|
//! | `FAKE_SCHTASKS_ROOT` | directory | **Required** for anything stateful: the task store (layout in `store.rs`). Unset → panic with a clear message. |
//! | `FAKE_SCHTASKS_LOCALE` | `en-US` (default), `fr-FR` | Labels, status words, messages and date format (`M/d/yyyy h:mm:ss tt` / `dd/MM/yyyy HH:mm:ss`); also the order of `/SD` `/ED`. |
//! | `FAKE_SCHTASKS_OUTPUT_ENCODING` | `utf8` (default), `cp850` | Bytes written for non-ASCII characters (cp850: unmappable → `?`). |
//! | `FAKE_SCHTASKS_MODE` | `normal`/`elevated` (default), `access-denied`, `non-elevated`, `service-unavailable` | Fault injection: every mutating verb denied / only privileged operations denied (`/RU SYSTEM`, `/RL HIGHEST`, HighestAvailable, S4U, CLI `ONSTART`/`ONLOGON`) / every verb fails with `ERROR: The Task Scheduler Service is not running.` |
//! | `FAKE_SCHTASKS_RUN` | `record` (default), `spawn`, `spawn-wait` | What `/Run` does: record a run (Last Result 0) / really start the Exec actions in a detached supervisor / start them and wait, recording the exit code. |
//! | `FAKE_SCHTASKS_DELAY_MS` | integer | Sleep this long at the start of every call (benchmarks). |
//! | `FAKE_SCHTASKS_CALL_LOG` | file | Append one line per invocation: the arguments (argv without the program path) joined with TAB, LF-terminated. `--fake-*` hooks are not logged. |
//! | `FAKE_SCHTASKS_HOSTS` | `a,b,…` | With `/S host`: only these hosts are reachable, others → `ERROR: The RPC server is unavailable.` (exit 1). Unset: every host is reachable. Each host has its own store. |
//! | `FAKE_SCHTASKS_HOSTNAME` | name | HostName column (default `COMPUTERNAME`, else `FAKEHOST`). |
//! | `FAKE_SCHTASKS_USER` | name | The calling user (default `USERNAME`, else `USER`, else `user`). |
//! | `FAKE_SCHTASKS_NOW` | `YYYY-MM-DDTHH:MM:SS` | Freezes the clock (local time) for Next Run Time, Last Run Time, `/ST` defaults. |
//! | `FAKE_SCHTASKS_NOT_FOUND` | `default`, `file`, `path`, `name` | Missing-task text: default = `/Change` → "does not exist in the system", others → "cannot find the file specified"; or force one variant for all verbs. |
//! | `FAKE_SCHTASKS_ACCOUNTS` | `user:pass,…` | When set, `/RU user /RP pass` must match, else `ERROR: The user name or password is incorrect.` |
//! | `FAKE_SCHTASKS_CORRUPT_TASK` | `\path` | A third-party task whose image is corrupt: every `/Query` without `/TN` fails with `ERROR: The task image is corrupt or has been tampered with.` (as Windows does when one task's registry hash does not match its file; Dijji/RepairTasks wiki), exit 1 / HRESULT 0x80041321 [U]; `/Query /TN` of any other task works. |
//!
//! Unknown values of the enumerated variables make the fake panic (exit 101): a typo in a
//! test must not pass silently.
//!
//! # Exit codes
//!
//! `0` success, `1` runtime failure, `0x80004005` (E_FAIL) for syntax errors; with
//! `/HRESULT`, runtime failures exit with their HRESULT. Windows carries the full 32-bit
//! value (2147500037); a Unix exit status has 8 bits, so **on Unix the fake exits with the
//! low byte** (E_FAIL → 5). Callers should treat "non-zero + stderr text" as the signal.
//!
//! # Fake-only hooks (real schtasks has nothing like them)
//!
//! * `fake_schtasks --fake-fire [--host H] <\path>`: a trigger fires: runs the task's
//!   actions synchronously (Last Run Time = now, Status Running meanwhile, Last Result =
//!   exit code). Refuses a disabled task (exit 1); with MultipleInstancesPolicy IgnoreNew
//!   and an instance running, does nothing. Prints `FAKE: …` on stdout.
//! * `fake_schtasks --fake-set [--host H] <\path> status=Running|Ready last_result=N last_run=YYYY-MM-DDTHH:MM:SS|never`
//! * `fake_schtasks --fake-sleep <ms> [exit-code]`: sleeps, then exits with the code
//!   (default 0). A portable long-running or failing Exec action for tests.
//! * `fake_schtasks --fake-supervise …`: internal (the detached runner of `FAKE_SCHTASKS_RUN=spawn`).
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

mod cli;
mod config;
mod create;
mod locale;
mod model;
mod nextrun;
mod normalize;
mod out;
mod query;
mod run;
mod schema;
mod store;
mod verbs;
mod xml;

use std::io::{BufRead, Write};

use chrono::NaiveDateTime;

use crate::cli::{Args, Verb, syntax};
use crate::config::{Config, Mode, NotFound};
use crate::locale::{Locale, Tr};
use crate::out::{
    Code, E_FAIL, Fail, HR_ACCESS_DENIED, HR_FILE_NOT_FOUND, HR_PATH_NOT_FOUND, HR_RPC_UNAVAILABLE,
    HR_SERVICE_NOT_RUNNING, HR_TASK_CORRUPT, Out, Res, platform_exit_code,
};
use crate::query::{Fo, QueryOpts, XmlMode};
use crate::store::{Store, TaskPath};
use crate::xml::Element;

/// Everything a verb needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) cfg: Config,
    pub(crate) out: Out,
    pub(crate) tr: Tr,
    pub(crate) loc: Locale,
    pub(crate) now: NaiveDateTime,
    pub(crate) hresult: bool,
}

/// A connection to a (local or remote) Task Scheduler.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) store: Store,
    /// `Some(host)` for a remote `/S` store.
    pub(crate) host: Option<String>,
    /// HostName column.
    pub(crate) display: String,
}

impl Ctx {
    /// Connects (after the verb's syntax checks): `/S` reachability, service availability,
    /// then — for mutating verbs — the access-denied fault.
    pub(crate) fn connect(&self, args: &Args, mutating: bool) -> Res<Conn> {
        if args.has("U") && args.get("P").is_some_and(|p| p.value.is_none()) {
            let user = args.val("U").unwrap_or_default();
            let _ = prompt_line(self, &format!("Type the password for \"{user}\":")); // [U]
        }
        let (host, display) = match args.val("S") {
            None => (None, self.cfg.hostname.clone()),
            Some(h) => {
                let h = h.trim_start_matches('\\');
                let lower = h.to_lowercase();
                let local = lower == "localhost"
                    || lower == "."
                    || lower == "127.0.0.1"
                    || lower == self.cfg.hostname.to_lowercase();
                if local {
                    (None, self.cfg.hostname.clone())
                } else {
                    if let Some(list) = &self.cfg.hosts
                        && !list.contains(&lower)
                    {
                        return Err(Fail::runtime(self.tr.rpc_unavailable(), HR_RPC_UNAVAILABLE));
                    }
                    (Some(lower), h.to_uppercase())
                }
            }
        };
        if self.cfg.mode == Mode::ServiceUnavailable {
            return Err(Fail::runtime(self.tr.service_not_running(), HR_SERVICE_NOT_RUNNING));
        }
        if mutating && self.cfg.mode == Mode::AccessDenied {
            return Err(Fail::runtime(self.tr.access_denied(), HR_ACCESS_DENIED));
        }
        let store = Store::open(&self.cfg.root(), host.as_deref());
        Ok(Conn { store, host, display })
    }
}

/// Why `/Create /XML` (or `/Change`) refused a document.
#[derive(Debug)]
pub(crate) enum XmlFailure {
    Wf(xml::XmlError),
    Schema(schema::Reject),
}

pub(crate) fn xml_reject(ctx: &Ctx, f: XmlFailure) -> Fail {
    match f {
        XmlFailure::Wf(e) => Fail {
            stdout: Vec::new(),
            stderr: vec![
                ctx.tr.sched_error(schema::SchedErr::Malformed),
                format!("({},{})::{}", e.pos.line, e.pos.col, e.message),
            ],
            code: Code::Runtime(schema::SchedErr::Malformed.hresult()),
        },
        XmlFailure::Schema(r) => Fail {
            stdout: Vec::new(),
            stderr: vec![ctx.tr.sched_error(r.kind), r.detail],
            code: Code::Runtime(r.kind.hresult()),
        },
    }
}

/// UTF-16LE with BOM, the encoding Windows keeps task definitions in.
pub(crate) fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// A changed definition as stored (UTF-16LE+BOM, CRLF).
pub(crate) fn store_bytes(root: &Element) -> Vec<u8> {
    let text = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n{}", xml::serialize(root, 0));
    utf16le_bom(&text.replace('\n', "\r\n"))
}

/// Reads one line from stdin (`None` at EOF).
fn read_stdin_line() -> Option<String> {
    let mut s = String::new();
    match std::io::stdin().lock().read_line(&mut s) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(s.trim_end_matches(['\r', '\n']).to_string()),
    }
}

/// Prints `prompt` (no line end) and reads a line; EOF gives an empty string.
pub(crate) fn prompt_line(ctx: &Ctx, prompt: &str) -> String {
    ctx.out.print(prompt);
    let answer = read_stdin_line();
    ctx.out.print("\n");
    answer.unwrap_or_default()
}

/// A Y/N prompt on stdout. Re-asks on other answers; EOF or N = no.
pub(crate) fn confirm(ctx: &Ctx, prompt: &str) -> bool {
    let yes = ctx.tr.yes_letter();
    loop {
        ctx.out.print(prompt);
        let Some(answer) = read_stdin_line() else {
            ctx.out.print("\n");
            return false;
        };
        ctx.out.print("\n");
        match answer.trim().chars().next().map(|c| c.to_ascii_lowercase()) {
            Some(c) if c == yes => return true,
            Some('n') => return false,
            _ => {}
        }
    }
}

fn fail_file(ctx: &Ctx) -> Fail {
    Fail::runtime(ctx.tr.file_not_found(), HR_FILE_NOT_FOUND)
}

fn fail_path(ctx: &Ctx) -> Fail {
    Fail::runtime(ctx.tr.path_not_found(), HR_PATH_NOT_FOUND)
}

/// The "no such task" failure of a verb (§2.9, §3.2), per `FAKE_SCHTASKS_NOT_FOUND`.
pub(crate) fn not_found(ctx: &Ctx, verb: Verb, tn: &str) -> Fail {
    let name = || Fail::runtime(ctx.tr.name_not_found(tn), HR_FILE_NOT_FOUND);
    match ctx.cfg.not_found {
        NotFound::File => fail_file(ctx),
        NotFound::Path => fail_path(ctx),
        NotFound::Name if verb != Verb::Query => name(),
        _ => match verb {
            Verb::Change => name(),
            Verb::Query => not_found_for_query(ctx, tn),
            _ => fail_file(ctx),
        },
    }
}

/// `/Query /TN` of something that is not a task: "file", except a leaf with a wildcard
/// inside it ("…\Defrag*"), which gives "path" ([X1] §7.4).
pub(crate) fn not_found_for_query(ctx: &Ctx, tn: &str) -> Fail {
    if ctx.cfg.not_found == NotFound::Path {
        return fail_path(ctx);
    }
    let leaf = tn.rsplit('\\').next().unwrap_or("");
    if leaf.contains('*') && leaf != "*" { fail_path(ctx) } else { fail_file(ctx) }
}

fn query_verb(ctx: &Ctx, args: &Args) -> Res {
    let tr = ctx.tr;
    let fo = match args.val("FO").map(str::to_ascii_uppercase).as_deref() {
        None | Some("TABLE") => Fo::Table,
        Some("LIST") => Fo::List,
        Some("CSV") => Fo::Csv,
        Some(_) => {
            let typed = args.get("FO").map(|o| o.typed.clone()).unwrap_or_default();
            // [U] wording.
            return Err(syntax(
                tr,
                Verb::Query,
                tr.error(&format!("Invalid value for '{typed}' option.")),
            ));
        }
    };
    if args.has("XML")
        && let Some(o) = args.first_of(&["FO", "NH", "V"])
    {
        return Err(syntax(tr, Verb::Query, tr.invalid_argument(&o.typed))); // [U]
    }
    if args.has("NH") && fo == Fo::List {
        return Err(syntax(
            tr,
            Verb::Query,
            tr.error("/NH option is allowed only for \"TABLE\" and \"CSV\" formats."),
        ));
    }
    let xml =
        args.get("XML").map(|o| if o.value.is_some() { XmlMode::One } else { XmlMode::Concat });
    let opts = QueryOpts {
        fo,
        verbose: args.has("V"),
        no_header: args.has("NH"),
        tn: args.val("TN").map(str::to_string),
        xml,
    };
    let conn = ctx.connect(args, false)?;
    if ctx.cfg.corrupt_task.is_some() && opts.tn.is_none() {
        return Err(Fail::runtime(
            tr.error("The task image is corrupt or has been tampered with."),
            HR_TASK_CORRUPT,
        ));
    }
    query::query(ctx, &conn.display, &conn.store, &opts)
}

fn dispatch(ctx: &Ctx, parsed: Result<Args, Fail>) -> Res {
    let args = parsed?;
    if args.help {
        let verb = if args.explicit_verb { Some(args.verb) } else { None };
        ctx.out.print(&cli::help_text(verb, ctx.loc.date_pattern()));
        return Ok(());
    }
    match args.verb {
        Verb::Query => query_verb(ctx, &args),
        Verb::Create => create::create(ctx, &args),
        Verb::Delete => verbs::delete(ctx, &args),
        Verb::Run => verbs::run(ctx, &args),
        Verb::End => verbs::end(ctx, &args),
        Verb::Change => verbs::change(ctx, &args),
    }
}

fn exit_code(ctx: &Ctx, r: Res) -> i32 {
    match r {
        Ok(()) => 0,
        Err(f) => {
            for l in &f.stdout {
                ctx.out.line(l);
            }
            for l in &f.stderr {
                ctx.out.err_line(l);
            }
            match f.code {
                Code::Syntax => platform_exit_code(E_FAIL),
                Code::Runtime(hr) if ctx.hresult => platform_exit_code(hr),
                Code::Runtime(_) => 1,
            }
        }
    }
}

fn append_call_log(path: &std::path::Path, argv: &[String]) {
    let line = format!("{}\n", argv.join("\t"));
    let mut f =
        std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap_or_else(|e| {
            panic!("fake_schtasks: cannot open call log {}: {e}", path.display())
        });
    // orc registers tasks from several threads, so invocations append concurrently. Linux and
    // real Windows (FILE_APPEND_DATA) append atomically, but Wine appends by seeking to the end
    // and writing, so two processes can write at the same offset and one line is lost (seen
    // under Wine: 49 of 50 /Create lines). An exclusive lock around the one write serializes them.
    f.lock()
        .unwrap_or_else(|e| panic!("fake_schtasks: cannot lock call log {}: {e}", path.display()));
    f.write_all(line.as_bytes())
        .unwrap_or_else(|e| panic!("fake_schtasks: cannot write call log {}: {e}", path.display()));
}

// ---------------------------------------------------------------------------------------
// Fake-only hooks
// ---------------------------------------------------------------------------------------

fn hook_usage(msg: &str) -> i32 {
    eprintln!("fake_schtasks: {msg}");
    eprintln!(
        "usage: fake_schtasks --fake-fire [--host H] <\\path>\n       \
         fake_schtasks --fake-set [--host H] <\\path> status=Running|Ready last_result=N last_run=YYYY-MM-DDTHH:MM:SS|never\n       \
         fake_schtasks --fake-sleep <ms> [exit-code]"
    );
    2
}

fn parse_result(v: &str) -> Option<i32> {
    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok().map(|u| u as i32)
    } else {
        v.parse::<i64>()
            .ok()
            .and_then(|n| if n > i64::from(u32::MAX) { None } else { Some(n as u32 as i32) })
    }
}

fn fake_hook(argv: &[String]) -> i32 {
    if argv[0] == "--fake-sleep" {
        let ms = argv.get(1).and_then(|v| v.parse::<u64>().ok());
        let code = argv.get(2).map(|v| v.parse::<i32>().ok());
        return match (ms, code) {
            (Some(ms), None | Some(Some(_))) => {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                code.flatten().unwrap_or(0)
            }
            _ => hook_usage("--fake-sleep needs <ms> [exit-code]"),
        };
    }
    let cfg = Config::from_env();
    let now = cfg.now();
    let mut rest: Vec<String> = argv[1..].to_vec();
    let mut host: Option<String> = None;
    if rest.first().is_some_and(|a| a == "--host") {
        if rest.len() < 2 {
            return hook_usage("--host needs a value");
        }
        host = Some(rest[1].to_lowercase());
        rest.drain(..2);
    }
    let Some(tn) = rest.first().cloned() else {
        return hook_usage("missing task path");
    };
    let Some(path) = TaskPath::parse(&tn) else {
        return hook_usage(&format!("bad task path {tn:?}"));
    };
    let store = Store::open(&cfg.root(), host.as_deref());
    let now_s = now.format("%Y-%m-%dT%H:%M:%S").to_string();
    match argv[0].as_str() {
        "--fake-fire" => {
            let Some(stored) = store.read_task(&path) else {
                eprintln!("fake_schtasks --fake-fire: no task {tn:?}");
                return 1;
            };
            let l = query::load(stored);
            if !l.def.settings.enabled {
                eprintln!(
                    "fake_schtasks --fake-fire: task {tn:?} is disabled; a trigger would not start it"
                );
                return 1;
            }
            let id = {
                let _lock = store.lock();
                let Some(t) = store.read_task(&path) else {
                    eprintln!("fake_schtasks --fake-fire: no task {tn:?}");
                    return 1;
                };
                let mut st = t.state;
                match l.def.settings.policy {
                    model::Policy::IgnoreNew if st.running() => {
                        println!("FAKE: {tn} is running; IgnoreNew: this start was skipped");
                        return 0;
                    }
                    model::Policy::StopExisting => st.instances.clear(),
                    _ => {}
                }
                let id = run::begin_instance(&mut st, &now_s);
                store.write_state(&path, &st);
                id
            };
            match run::supervise(&store, &path, id, &l.def.actions, l.def.settings.exec_limit) {
                Some(r) => println!("FAKE: {tn} finished; last result {r}"),
                None => println!("FAKE: {tn} was ended before it finished"),
            }
            0
        }
        "--fake-set" => {
            let _lock = store.lock();
            let Some(t) = store.read_task(&path) else {
                eprintln!("fake_schtasks --fake-set: no task {tn:?}");
                return 1;
            };
            let mut st = t.state;
            for kv in &rest[1..] {
                let Some((k, v)) = kv.split_once('=') else {
                    return hook_usage(&format!("expected key=value, got {kv:?}"));
                };
                match (k, v) {
                    ("status", "Running") => {
                        if !st.running() {
                            let id = st.next_instance.max(1);
                            st.next_instance = id + 1;
                            st.instances.push(store::Instance {
                                id,
                                pid: None,
                                started: now_s.clone(),
                            });
                        }
                    }
                    ("status", "Ready") => st.instances.clear(),
                    ("last_result", v) => match parse_result(v) {
                        Some(n) => st.last_result = n,
                        None => return hook_usage(&format!("bad last_result {v:?}")),
                    },
                    ("last_run", "never") => st.last_run = None,
                    ("last_run", v) => {
                        match NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S") {
                            Ok(_) => st.last_run = Some(v.to_string()),
                            Err(_) => return hook_usage(&format!("bad last_run {v:?}")),
                        }
                    }
                    _ => return hook_usage(&format!("unknown setting {kv:?}")),
                }
            }
            store.write_state(&path, &st);
            0
        }
        "--fake-supervise" => {
            let Some(id) = rest.get(1).and_then(|s| s.parse::<u64>().ok()) else {
                return hook_usage("--fake-supervise needs an instance id");
            };
            let Some(stored) = store.read_task(&path) else { return 1 };
            let l = query::load(stored);
            run::supervise(&store, &path, id, &l.def.actions, l.def.settings.exec_limit);
            0
        }
        other => hook_usage(&format!("unknown hook {other}")),
    }
}

fn main() {
    let argv: Vec<String> =
        std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    if argv.first().is_some_and(|a| a.starts_with("--fake-")) {
        std::process::exit(fake_hook(&argv));
    }
    let cfg = Config::from_env();
    if let Some(log) = &cfg.call_log {
        append_call_log(log, &argv);
    }
    if cfg.delay_ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(cfg.delay_ms));
    }
    let loc = cfg.locale;
    let tr = Tr(loc);
    let out = Out::new(cfg.enc);
    let now = cfg.now();
    let parsed = cli::parse(tr, &argv);
    let hresult = parsed.as_ref().is_ok_and(|a| a.has("HRESULT"));
    let ctx = Ctx { cfg, out, tr, loc, now, hresult };
    let r = dispatch(&ctx, parsed);
    let code = exit_code(&ctx, r);
    std::process::exit(code);
}

//! The hostile-input corpus: every case in `tests/corpus/*.jsonl` runs the real `orc` in its
//! own copy of a seeded home, and must end with its expected exit code, a one-line error (or
//! the JSON error object with `--json`), no panic, and the database byte-identical. The format
//! and how to add a case are in `tests/corpus/README.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Deserialize;

use crate::support::{Env, Output};

/// Where the corpus lives.
fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

/// The areas (one `.jsonl` file each) and the least number of cases each must hold.
const AREAS: [(&str, usize); 6] = [
    ("cli", 60),
    ("import", 25),
    ("migrate", 12),
    ("restore", 12),
    ("schtasks", 15),
    ("crontab", 12),
];

/// The least number of cases of the whole corpus (issue 12).
const MIN_CASES: usize = 150;

/// A file's content: inline text, or an object for encodings, repetition and data files.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Payload {
    Text(String),
    Spec(PayloadSpec),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayloadSpec {
    /// Inline text (placeholders expanded).
    #[serde(default)]
    text: Option<String>,
    /// A file under `tests/corpus/` (taken byte for byte, no placeholders).
    #[serde(default)]
    file: Option<String>,
    /// `utf8` (default), `utf8-bom`, `latin1` (each character U+0000–U+00FF is one byte),
    /// `utf16le`, `utf16le-bom`, `utf16be-bom`.
    #[serde(default)]
    encoding: Option<String>,
    /// Repeat the content this many times.
    #[serde(default)]
    repeat: Option<usize>,
}

/// A SQLite file built for the case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DbSpec {
    /// `empty`, `backup` (a `db backup` of the seeded home) or `legacy` (the legacy sample
    /// written by `tests/helpers/make_legacy_db.py`).
    base: String,
    /// Statements run on it (after the base is copied).
    #[serde(default)]
    sql: String,
    /// Cut the file to this many bytes afterwards.
    #[serde(default)]
    truncate: Option<u64>,
}

/// One case (one line of a `.jsonl` file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    /// What the case attacks, for the reader.
    #[serde(default)]
    about: String,
    args: Vec<String>,
    #[serde(default)]
    stdin: Option<String>,
    /// Files written under the case directory `${DIR}` before the run.
    #[serde(default)]
    files: BTreeMap<String, Payload>,
    /// SQLite files built under `${DIR}` before the run.
    #[serde(default)]
    sqlite: BTreeMap<String, DbSpec>,
    /// Symbolic links made under `${DIR}` (name → target); each must still be the same link
    /// afterwards (Unix only). Point one at `/dev/null` to check that orc writes into special
    /// files instead of replacing them, without ever risking the real device node.
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    /// Use the fake schtasks (`tests/helpers/fake_schtasks`) with an empty store.
    #[serde(default)]
    fake_schtasks: bool,
    /// Canned output of `schtasks /Query /FO CSV /V /NH` (Unix only: served by a shell script).
    #[serde(default)]
    schtasks: Option<Payload>,
    /// Canned `crontab -l` content (Unix only: served by a shell script).
    #[serde(default)]
    crontab: Option<Payload>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    exit: i32,
    /// A substring of stderr (of the error line when the case fails).
    #[serde(default)]
    stderr: Option<String>,
    /// A substring of stdout.
    #[serde(default)]
    stdout: Option<String>,
    /// A string stdout must not contain.
    #[serde(default)]
    stdout_not: Option<String>,
    /// Why the database may change (only for cases that succeed); absent = byte-identical.
    #[serde(default)]
    db_changes: Option<String>,
    /// `unix` or `windows`: run only there.
    #[serde(default)]
    platform: Option<String>,
    /// The finding of issue 12 the case checks (documentation only).
    #[serde(default)]
    finding: Option<u32>,
}

/// Reads one area's cases (blank lines and lines starting with `#` are skipped).
fn load(area: &str) -> Vec<Case> {
    let path = corpus_dir().join(format!("{area}.jsonl"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let case: Case = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}:{}: bad case: {e}", path.display(), i + 1));
        cases.push(case);
    }
    cases
}

/// The seeded home every case starts from, made once per test process.
struct Seed {
    /// Holds `home/` and `keys/`, copied into each case's root.
    root: PathBuf,
    /// A `db backup` of the seeded database.
    backup: PathBuf,
    /// The legacy sample database, when Python with `cryptography` is available.
    legacy: Option<PathBuf>,
}

fn seed() -> &'static Seed {
    static SEED: OnceLock<Seed> = OnceLock::new();
    SEED.get_or_init(make_seed)
}

fn make_seed() -> Seed {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    // One directory per test process; leftovers of earlier runs are removed.
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("corpus-seed-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let root = base.join(format!("corpus-seed-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let env = Env::new();
    env.without_watch_task();
    env.orc(["task", "add", "nightly", "--command", "echo nightly", "--schedule", "0 2 * * *"])
        .ok();
    env.orc([
        "task",
        "add",
        "hourly",
        "--command",
        "echo hourly",
        "--schedule",
        "@hourly",
        "--depends-on",
        "task:nightly",
        "--description",
        "hourly job",
    ])
    .ok();
    env.orc_with_stdin(
        ["credential", "set", "api-token", "--from-stdin"],
        Some(b"corpus-canary-s3cr3t\n"),
    )
    .ok();
    env.orc([
        "task",
        "add",
        "secretive",
        "--command",
        "echo hidden",
        "--schedule",
        "30 4 * * 1-5",
        "--secret-env",
        "TOKEN=api-token",
        "--disabled",
    ])
    .ok();
    env.orc(["config", "set", "smtp.host", "mail.example.com"]).ok();
    env.orc(["execute", "--task", "nightly"]).ok();
    env.orc(["execute", "--task", "nightly"]).ok();
    env.orc(["execute", "--task", "hourly"]).ok();
    let backup = root.join("backup.db");
    env.orc(["db", "backup", backup.to_str().unwrap()]).ok();
    copy_dir(&env.home(), &root.join("home"));
    copy_dir(&env.root().join("keys"), &root.join("keys"));
    let legacy = make_legacy(&root);
    Seed { root, backup, legacy }
}

/// The legacy sample, written once (skipped with a note when Python or `cryptography` is
/// missing, except under `CI=true` on Unix).
fn make_legacy(root: &Path) -> Option<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/helpers/make_legacy_db.py");
    let out = root.join("legacy.db");
    for python in ["python3", "python"] {
        let done = std::process::Command::new(python)
            .arg(&script)
            .arg(&out)
            .args(["--results", "40"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        if done.is_ok_and(|s| s.success()) {
            // Fold the WAL in, so copies are one self-contained file.
            let conn = rusqlite::Connection::open(&out).unwrap();
            conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
            return Some(out);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") && cfg!(unix) {
        panic!("CI=true but python3 with the `cryptography` package is missing");
    }
    None
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// Expands `${DIR}` (the case directory), `${HOME}` (the orc home), `${ROOT}`, `${CRON_ID}`
/// (the id of this home's crontab block) and
/// `${REPEAT N TEXT}` (TEXT repeated N times; TEXT may not contain `}`).
fn expand(text: &str, env: &Env, dir: &Path) -> String {
    let mut out = text
        .replace("${DIR}", &dir.to_string_lossy())
        .replace("${HOME}", &env.home().to_string_lossy())
        .replace("${ROOT}", &env.root().to_string_lossy())
        .replace("${CRON_ID}", &orc::paths::home_id(&env.home()));
    while let Some(start) = out.find("${REPEAT ") {
        let end = start + out[start..].find('}').expect("unterminated ${REPEAT …}");
        let inner = &out[start + "${REPEAT ".len()..end];
        let (n, piece) = inner.split_once(' ').expect("${REPEAT N TEXT}");
        let n: usize = n.parse().expect("${REPEAT N TEXT}: N is a number");
        out = format!("{}{}{}", &out[..start], piece.repeat(n), &out[end + 1..]);
    }
    out
}

fn bytes_of(payload: &Payload, env: &Env, dir: &Path) -> Vec<u8> {
    let spec = match payload {
        Payload::Text(t) => return expand(t, env, dir).into_bytes(),
        Payload::Spec(s) => s,
    };
    let text = match (&spec.text, &spec.file) {
        (Some(t), None) => expand(t, env, dir),
        (None, Some(f)) => {
            let p = corpus_dir().join(f);
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        }
        _ => panic!("a payload has exactly one of `text` and `file`"),
    };
    let text = text.repeat(spec.repeat.unwrap_or(1));
    let le = |t: &str| t.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    match spec.encoding.as_deref().unwrap_or("utf8") {
        "utf8" => text.into_bytes(),
        "utf8-bom" => [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(),
        "latin1" => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin1 text holds U+0000–U+00FF only"))
            .collect(),
        "utf16le" => le(&text),
        "utf16le-bom" => [vec![0xFF, 0xFE], le(&text)].concat(),
        "utf16be-bom" => {
            [vec![0xFE, 0xFF], text.encode_utf16().flat_map(u16::to_be_bytes).collect::<Vec<u8>>()]
                .concat()
        }
        other => panic!("unknown encoding {other:?}"),
    }
}

fn build_db(spec: &DbSpec, path: &Path, env: &Env, dir: &Path) -> Result<(), String> {
    let seed = seed();
    match spec.base.as_str() {
        "empty" => {}
        "backup" => {
            std::fs::copy(&seed.backup, path).unwrap();
        }
        "legacy" => {
            let legacy = seed.legacy.as_ref().ok_or("python3 with `cryptography` is missing")?;
            std::fs::copy(legacy, path).unwrap();
        }
        other => panic!("unknown sqlite base {other:?}"),
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&expand(&spec.sql, env, dir))
        .unwrap_or_else(|e| panic!("sql of {}: {e}", path.display()));
    drop(conn);
    if let Some(len) = spec.truncate {
        std::fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len).unwrap();
    }
    Ok(())
}

/// A shell script standing in for `schtasks`: `/Query … /FO CSV` prints the canned file,
/// every other call is logged and succeeds.
fn schtasks_script(dir: &Path) -> String {
    format!(
        "#!/bin/sh\ncase \"$*\" in\n  */Query*CSV*) cat '{d}/schtasks.out'; exit 0 ;;\n  \
         *) printf '%s\\n' \"$*\" >>'{d}/schtasks.calls'; echo 'SUCCESS: done.'; exit 0 ;;\nesac\n",
        d = dir.display()
    )
}

/// A shell script standing in for `crontab`: `-l` prints the crontab file, `-` replaces it,
/// `-r` removes it.
fn crontab_script(dir: &Path) -> String {
    format!(
        "#!/bin/sh\nf='{d}/crontab.txt'\ncase \"$1\" in\n  -l) if [ -f \"$f\" ]; then cat \"$f\"; \
         else echo \"no crontab for $USER\" >&2; exit 1; fi ;;\n  -) cat >\"$f.new\" && mv \"$f.new\" \"$f\" ;;\n  \
         -r) rm -f \"$f\" ;;\n  *) echo \"crontab: bad option $1\" >&2; exit 1 ;;\nesac\n",
        d = dir.display()
    )
}

#[cfg(unix)]
fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
fn make_symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(not(unix))]
fn make_symlink(_: &str, _: &Path) {
    unreachable!("symlink cases are Unix-only")
}

#[cfg(not(unix))]
fn write_script(_: &Path, _: &str) {
    unreachable!("script-backed cases are Unix-only")
}

/// Whether the case runs on this platform.
fn runs_here(case: &Case) -> bool {
    let unix_only = case.schtasks.is_some() || case.crontab.is_some() || !case.symlinks.is_empty();
    match case.platform.as_deref() {
        Some("unix") => cfg!(unix),
        Some("windows") => cfg!(windows),
        None => !unix_only || cfg!(unix),
        Some(other) => panic!("{}: unknown platform {other:?}", case.name),
    }
}

/// Runs one case; `Err` says everything that went wrong.
fn run_case(case: &Case) -> Result<(), String> {
    let seed = seed();
    let mut env = Env::new();
    copy_dir(&seed.root.join("home"), &env.home());
    copy_dir(&seed.root.join("keys"), &env.root().join("keys"));
    let dir = env.root().join("case");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, payload) in &case.files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes_of(payload, &env, &dir)).unwrap();
    }
    for (name, spec) in &case.sqlite {
        if let Err(why) = build_db(spec, &dir.join(name), &env, &dir) {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("note: corpus case {} skipped: {why}", case.name);
            }
            return Ok(());
        }
    }
    for (name, target) in &case.symlinks {
        make_symlink(target, &dir.join(name));
    }
    if case.fake_schtasks {
        env.with_fake_schtasks();
    }
    if let Some(payload) = &case.schtasks {
        std::fs::write(dir.join("schtasks.out"), bytes_of(payload, &env, &dir)).unwrap();
        write_script(&dir.join("schtasks"), &schtasks_script(&dir));
        env.set_env("ORC_BACKEND", "schtasks");
        env.set_env("ORC_SCHTASKS", dir.join("schtasks"));
    }
    if let Some(payload) = &case.crontab {
        std::fs::write(dir.join("crontab.txt"), bytes_of(payload, &env, &dir)).unwrap();
        write_script(&dir.join("crontab"), &crontab_script(&dir));
        env.set_env("ORC_BACKEND", "crontab");
        env.set_env("ORC_CRONTAB", dir.join("crontab"));
    }
    for (k, v) in &case.env {
        let v = expand(v, &env, &dir);
        env.set_env(k, v);
    }
    let args: Vec<String> = case.args.iter().map(|a| expand(a, &env, &dir)).collect();
    let stdin = case.stdin.as_ref().map(|s| expand(s, &env, &dir).into_bytes());
    let crontab_before = std::fs::read(dir.join("crontab.txt")).ok();
    let before = env.db_bytes();
    let out = run_orc(&env, &args, stdin.as_deref(), &dir);
    let mut problems = Vec::new();
    if out.code != case.exit {
        problems.push(format!("exit code {} (expected {})", out.code, case.exit));
    }
    if out.code == 101 || out.stderr.contains("panicked") {
        problems.push("orc panicked".to_string());
    }
    if out.code != 0 {
        if let Some(p) = error_form_problem(&out.stderr, args.iter().any(|a| a == "--json")) {
            problems.push(p);
        }
        if case.crontab.is_some() && std::fs::read(dir.join("crontab.txt")).ok() != crontab_before {
            problems.push("the crontab changed although orc failed".to_string());
        }
    }
    for (name, target) in &case.symlinks {
        if std::fs::read_link(dir.join(name)).ok().as_deref() != Some(Path::new(target)) {
            problems.push(format!("{name} (a link to {target}) was replaced"));
        }
    }
    if case.db_changes.is_none() && env.db_bytes() != before {
        problems.push("the database changed".to_string());
    }
    if case.db_changes.is_some() && case.exit != 0 {
        problems.push("`db_changes` is only for cases that succeed".to_string());
    }
    if let Some(want) = &case.stderr
        && !out.stderr.contains(want.as_str())
    {
        problems.push(format!("stderr lacks {want:?}"));
    }
    if let Some(want) = &case.stdout
        && !out.stdout.contains(want.as_str())
    {
        problems.push(format!("stdout lacks {want:?}"));
    }
    if let Some(bad) = &case.stdout_not
        && out.stdout.contains(bad.as_str())
    {
        problems.push(format!("stdout contains {bad:?}"));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let cut = |s: &str| {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() <= 1500 {
            return s.to_string();
        }
        let head: String = chars[..700].iter().collect();
        let tail: String = chars[chars.len() - 700..].iter().collect();
        format!("{head}\n  […]\n{tail}")
    };
    Err(format!(
        "{}: {}\n  about: {}\n  args: {:?}\n  stdout: {}\n  stderr: {}",
        case.name,
        problems.join("; "),
        case.about,
        out.args,
        cut(&out.stdout),
        cut(&out.stderr)
    ))
}

/// Runs orc like [`Env::orc_with_stdin`], but in the case directory (so a relative path, or
/// a `-` taken for a file name, lands there and not in the source tree).
fn run_orc(env: &Env, args: &[String], stdin: Option<&[u8]>, cwd: &Path) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = env.command();
    cmd.args(args).current_dir(cwd);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = crate::support::spawn(&mut cmd);
    if let Some(input) = stdin {
        // orc may exit without reading everything (a refused value): ignore a broken pipe.
        let _ = child.stdin.take().unwrap().write_all(input);
    }
    let out = child.wait_with_output().expect("wait for orc");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.to_vec(),
    }
}

/// Checks the contract's error form: one line `error: …`, or with `--json` one JSON object
/// `{"error":{"kind":…,"message":…}}` on one line.
fn error_form_problem(stderr: &str, json: bool) -> Option<String> {
    let text = stderr.strip_suffix('\n').unwrap_or(stderr);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Some("no error message on stderr".to_string());
    }
    if text.contains('\n') {
        return Some(format!("stderr has {} lines, not one", text.lines().count()));
    }
    if json {
        let v: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => return Some(format!("stderr is not the JSON error object ({e})")),
        };
        let ok = v["error"]["kind"].is_string()
            && v["error"]["message"].as_str().is_some_and(|m| !m.is_empty());
        return (!ok).then(|| "stderr JSON lacks error.kind / error.message".to_string());
    }
    (!text.starts_with("error: ")).then(|| "stderr does not start with `error: `".to_string())
}

/// Runs every case of one area that applies to this platform and reports all failures.
fn run_area(area: &str) {
    let cases = load(area);
    let failures: Vec<String> =
        cases.iter().filter(|c| runs_here(c)).filter_map(|c| run_case(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} `{area}` corpus cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn corpus_is_large_enough_and_well_formed() {
    let mut names = BTreeSet::new();
    let mut total = 0;
    for (area, min) in AREAS {
        let cases = load(area);
        assert!(cases.len() >= min, "{area}: {} cases, at least {min} expected", cases.len());
        for c in &cases {
            assert!(names.insert(format!("{area}/{}", c.name)), "duplicate case {area}/{}", c.name);
            assert!(!c.about.is_empty(), "{}: say what the case attacks in `about`", c.name);
            if let Some(f) = c.finding {
                assert!((1..=13).contains(&f), "{}: issue 12 has findings 1–13", c.name);
            }
        }
        total += cases.len();
    }
    assert!(total >= MIN_CASES, "the corpus holds {total} cases, at least {MIN_CASES} expected");
    // Every .jsonl file is an area the runner knows.
    for e in std::fs::read_dir(corpus_dir()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(area) = name.strip_suffix(".jsonl") {
            assert!(AREAS.iter().any(|(a, _)| *a == area), "{name} is not listed in AREAS");
        }
    }
}

#[test]
fn corpus_cli() {
    run_area("cli");
}

#[test]
fn corpus_import() {
    run_area("import");
}

#[test]
fn corpus_migrate() {
    run_area("migrate");
}

#[test]
fn corpus_restore() {
    run_area("restore");
}

#[test]
fn corpus_schtasks() {
    run_area("schtasks");
}

#[test]
fn corpus_crontab() {
    run_area("crontab");
}

#[test]
fn the_error_form_check_catches_what_it_must() {
    assert_eq!(error_form_problem("error: bad\n", false), None);
    assert!(error_form_problem("error: bad\n(see help)\n", false).is_some());
    assert!(error_form_problem("oops\n", false).is_some());
    assert!(error_form_problem("", false).is_some());
    assert_eq!(
        error_form_problem("{\"error\":{\"kind\":\"usage\",\"message\":\"m\"}}\n", true),
        None
    );
    assert!(error_form_problem("error: bad\n", true).is_some());
}

//! Every read command's `--json` shape has a JSON Schema under `docs/reference/json/`; each is
//! validated here against the real output of the command on a seeded home.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::Env;

const BASE: &str = "https://orc.invalid/json/";

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/reference/json")
}

fn schema_files() -> BTreeSet<String> {
    std::fs::read_dir(schema_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".schema.json"))
        .collect()
}

fn load(name: &str) -> Value {
    let text = std::fs::read_to_string(schema_dir().join(name)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A validator for `name`, with every schema of the folder available to `$ref` and formats
/// (`date-time`) checked.
fn validator(name: &str) -> jsonschema::Validator {
    let mut options = jsonschema::options().should_validate_formats(true);
    for file in schema_files() {
        let schema = load(&file);
        assert_eq!(schema["$id"], format!("{BASE}{file}"), "{file}: $id");
        options = options
            .with_resource(format!("{BASE}{file}"), jsonschema::Resource::from_contents(schema));
    }
    options.build(&load(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) fn assert_valid(schema: &str, doc: &Value) {
    let v = validator(schema);
    let errors: Vec<String> =
        v.iter_errors(doc).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{schema}:\n{}\n{doc:#}", errors.join("\n"));
}

/// A home with two tasks (one with a dependency and env), runs of both (one failed), a
/// credential, a changed setting, and registrations in the fake schtasks.
fn seeded() -> Env {
    let mut env = Env::new();
    env.with_fake_schtasks();
    env.orc(["task", "add", "job", "--command", "echo hi", "--schedule", "0 3 * * *"]).ok();
    env.orc([
        "task",
        "add",
        "two",
        "--command",
        "exit 3",
        "--schedule",
        "*/7 3 * * 1-5",
        "--env",
        "A=1",
        "--depends-on",
        "task:job",
        "--description",
        "second",
        "--retries",
        "1",
        "--retry-delay",
        "0s",
    ])
    .ok();
    env.orc(["execute", "--task", "job"]).ok();
    env.orc(["execute", "--task", "two"]).code(3);
    env.orc_with_stdin(["credential", "set", "pw", "--from-stdin"], Some(b"s3cret\n")).ok();
    env.orc(["config", "set", "smtp.port", "2525"]).ok();
    env.orc(["schedule", "--task", "job"]).ok();
    env
}

#[test]
fn every_read_commands_json_matches_its_schema() {
    let env = seeded();
    let mut used = BTreeSet::new();
    let mut check = |schema: &str, args: &[&str]| {
        let mut full = vec!["--json"];
        full.extend_from_slice(args);
        let doc = env.orc(&full).ok().json();
        assert_valid(schema, &doc);
        used.insert(schema.to_string());
        doc
    };
    let list = check("task-list.schema.json", &["task", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    check("task.schema.json", &["task", "show", "two"]);
    let runs = check("history.schema.json", &["history"]);
    assert_eq!(runs.as_array().unwrap().len(), 3, "job once, two with one retry");
    check("history.schema.json", &["history", "--task", "two", "--status", "FAILED"]);
    check("status.schema.json", &["status"]);
    check("schedule-list.schema.json", &["schedule", "--list"]);
    let plan = check("schedule-plan.schema.json", &["schedule", "--all", "--dry-run"]);
    assert!(
        plan.as_array().unwrap().iter().any(|e| e["action"] == "create" && e["xml"].is_string())
    );
    check("cron-explain.schema.json", &["cron", "explain", "*/7 3 * * 1-5"]);
    check("cron-explain.schema.json", &["cron", "explain", "0 9 1-7 * 1"]);
    check("cron-next.schema.json", &["cron", "next", "0 3 * * *", "--count", "3"]);
    check("cron-triggers.schema.json", &["cron", "triggers", "0 3 * * *"]);
    check("config-list.schema.json", &["config", "list"]);
    check("config-get.schema.json", &["config", "get", "smtp.port"]);
    check("credential-list.schema.json", &["credential", "list"]);
    check("version.schema.json", &["--version"]);
    check("home-init.schema.json", &["home", "init"]);
    // Changing commands that report in the same shapes.
    check("schedule-plan.schema.json", &["schedule", "--all"]);
    check("history.schema.json", &["execute", "--task", "job"]);
    check("uninstall.schema.json", &["uninstall", "--keep-data", "--yes"]);
    env.orc(["host", "add", "h1"]).ok();
    let hosts = check("status-fleet.schema.json", &["status", "--fleet"]);
    assert_eq!(hosts.as_array().unwrap().len(), 1, "{hosts}");

    // Errors: one object on stderr.
    let out = env.orc(["--json", "task", "show", "nope"]).code(3);
    assert_valid("error.schema.json", &serde_json::from_str(out.stderr.trim()).unwrap());
    used.insert("error.schema.json".into());
    let out = env.orc(["--json", "cron", "next", "61 * * * *"]).code(2);
    assert_valid("error.schema.json", &serde_json::from_str(out.stderr.trim()).unwrap());

    // run.schema.json and task.schema.json are reached through $ref.
    used.insert("run.schema.json".into());
    assert_eq!(used, schema_files(), "every schema is checked against real output");
}

#[test]
fn the_schemas_reject_what_the_contract_forbids() {
    // A run without its status, a task with a bad name, an unknown error kind, a time
    // without an offset: each must fail its schema (the schemas are not vacuous).
    let run = serde_json::json!([{
        "id": 1, "task": "job", "slot": null, "attempt": 1, "trigger": "manual",
        "start": "2026-01-01T00:00:00+00:00", "end": null, "duration_ms": null,
        "exit_code": null, "error": null
    }]);
    assert!(!validator("history.schema.json").is_valid(&run));
    let mut ok = run.clone();
    ok[0]["status"] = "RUNNING".into();
    assert!(validator("history.schema.json").is_valid(&ok));
    ok[0]["status"] = "DONE".into();
    assert!(!validator("history.schema.json").is_valid(&ok));
    assert!(
        !validator("cron-next.schema.json").is_valid(&serde_json::json!(["2026-01-01T03:00:00"]))
    );
    assert!(
        !validator("error.schema.json")
            .is_valid(&serde_json::json!({"error": {"kind": "oops", "message": "m"}}))
    );
    assert!(
        !validator("version.schema.json")
            .is_valid(&serde_json::json!({"version": "0.1.0", "commit": null}))
    );
}

#[test]
fn version_json_reports_version_commit_and_target() {
    let env = Env::new();
    env.orc(["--version"]).ok().assert_stdout(&format!("orc {}\n", env!("CARGO_PKG_VERSION")));
    let v = env.orc(["--version", "--json"]).ok().json();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let triple = v["target"].as_str().unwrap();
    assert!(triple.starts_with(std::env::consts::ARCH), "{triple}");
    assert_eq!(triple.contains("windows"), cfg!(windows), "{triple}");
    // Built from this git checkout: the commit is one of its commits (HEAD at build time; a
    // commit made since then does not rebuild the test binary), when git is there to ask.
    let commit = v["commit"].as_str().unwrap_or("0000000000000000000000000000000000000000");
    assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit}");
    let kind = std::process::Command::new("git")
        .args(["cat-file", "-t", commit])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let (Some(kind), false) = (kind, v["commit"].is_null()) {
        assert_eq!(kind, "commit");
    }
    assert_eq!(env.orc(["--json", "--version"]).ok().json(), v);
}

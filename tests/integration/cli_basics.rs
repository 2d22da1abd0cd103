//! Global behaviour of the command line: help, version, usage errors, JSON errors.

use crate::support::Env;

#[test]
fn help_and_version_exit_zero() {
    let env = Env::new();
    let out = env.orc(["--help"]).ok();
    assert!(out.stdout.contains("schedule"), "{}", out.stdout);
    let out = env.orc(["--version"]).ok();
    assert!(out.stdout.starts_with("orc "), "{}", out.stdout);
}

#[test]
fn usage_errors_exit_two_with_one_line() {
    let env = Env::new();
    let out = env.orc(["frobnicate"]).code(2);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stdout.is_empty());
    let out = env.orc(["--json", "frobnicate"]).code(2);
    let v: serde_json::Value =
        serde_json::from_str(out.stderr.trim()).expect("JSON error on stderr");
    assert_eq!(v["error"]["kind"], "usage");
    assert!(v["error"]["message"].as_str().unwrap().contains("frobnicate"));
}

#[test]
fn completions_are_generated() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = env.orc(["completions", shell]).ok();
        assert!(out.stdout.contains("orc"), "{shell}");
        assert!(out.stdout.contains("schedule"), "{shell}");
    }
}

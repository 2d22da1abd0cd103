//! Long (> 260 characters) and non-ASCII paths: a home and a task's command under such a
//! directory work end to end (home init, task add, execute, history, uninstall); a non-ASCII
//! home is registered byte for byte; a working directory past MAX_PATH - 2 is refused on
//! Windows (no process can start in it) and works on Unix. On Windows (and under Wine) this
//! relies on Rust's std adding `\\?\` to long file paths and on the long-path-aware manifest
//! (build.rs) for the rest (SQLite opens the database by its plain path).

use std::path::{Path, PathBuf};

use crate::support::Env;
use crate::support::exec::quote;
use crate::support::helper_exe;

/// `root/` + four 70-character directory names with accents and CJK: well past MAX_PATH.
fn deep_dir(root: &Path) -> PathBuf {
    let mut dir = root.to_path_buf();
    for i in 0..4 {
        let mut name = format!("dossier-{i}-données-日本語-Ärger-");
        while name.chars().count() < 70 {
            name.push('x');
        }
        dir.push(name);
    }
    dir
}

#[test]
fn a_home_and_a_command_past_max_path_with_non_ascii_names_work() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    let deep = deep_dir(env.root());
    let home = deep.join("home-ünïcødé");
    // Under Wine, CreateProcessW does not start a program past MAX_PATH ("File not found"):
    // on Windows the program sits in a short non-ASCII directory here, and the long one is
    // `windows_real_a_program_past_max_path_runs` (real Windows, ignored elsewhere).
    let bin = if cfg!(windows) { env.root().join("bin-€") } else { deep.join("bin-€") };
    // The working directory stays within MAX_PATH - 2 (see the next test), non-ASCII.
    let workdir = env.root().join("wd-straße-日本");
    for d in [&workdir, &bin] {
        std::fs::create_dir_all(d).unwrap();
    }
    assert!(home.to_string_lossy().chars().count() > 300, "{}", home.display());
    // The task's program itself lives in the long directory.
    let exe_name = if cfg!(windows) { "enfant-ü.exe" } else { "enfant-ü" };
    let exe = bin.join(exe_name);
    std::fs::copy(helper_exe("orc_test_child"), &exe).unwrap();
    let home_arg = home.to_string_lossy().into_owned();

    let init = env.orc(["--home", &home_arg, "--json", "home", "init"]).ok().json();
    assert_eq!(init["created"], true);
    assert!(home.join("orc.db").is_file());

    let command = format!("{} cwd print ok-ü", quote(&exe.to_string_lossy()));
    env.orc([
        "--home",
        &home_arg,
        "task",
        "add",
        "deep",
        "--shell",
        "none",
        "--command",
        &command,
        "--workdir",
        &workdir.to_string_lossy(),
        "--schedule",
        "0 3 * * *",
    ])
    .ok();
    let runs = env.orc(["--home", &home_arg, "--json", "execute", "--task", "deep"]).ok().json();
    assert_eq!(runs[0]["status"], "SUCCESS", "{runs:#}");
    let stdout = runs[0]["stdout_tail"].as_str().unwrap().replace("\r\n", "\n");
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some(&*workdir.to_string_lossy()), "{stdout}");
    assert_eq!(lines.next(), Some("ok-ü"), "{stdout}");
    let spilled = std::fs::read_to_string(runs[0]["output_file"].as_str().unwrap()).unwrap();
    assert!(spilled.contains("ok-ü"), "{spilled}");
    let history = env.orc(["--home", &home_arg, "--json", "history"]).ok().json();
    assert_eq!(history[0]["id"], runs[0]["id"]);

    // Task Scheduler starts tasks in the home (WorkingDirectory), and CreateProcessW fails
    // with a current directory longer than MAX_PATH (Microsoft Learn, SetCurrentDirectory:
    // "Setting a current directory longer than MAX_PATH causes CreateProcessW to fail"), even
    // for long-path-aware programs: such a home is refused at registration, with the rule.
    let out = env.orc(["--home", &home_arg, "schedule", "--all"]).code(2);
    assert!(
        out.stderr.trim_end().ends_with(
            "characters long; a process's working directory is at most 258 (MAX_PATH - 2)"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);

    // And it all goes away again.
    env.orc(["--home", &home_arg, "uninstall", "--yes"]).ok();
    assert!(!home.exists());
}

#[test]
fn a_non_ascii_home_is_registered_byte_for_byte() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    let home = env.root().join("données-日本語-Ärger");
    let home_arg = home.to_string_lossy().into_owned();
    env.orc([
        "--home",
        &home_arg,
        "task",
        "add",
        "t",
        "--command",
        "echo hi",
        "--schedule",
        "0 3 * * *",
    ])
    .ok();
    let plan =
        env.orc(["--home", &home_arg, "--json", "schedule", "--all", "--dry-run"]).ok().json();
    // The task's entry (the built-in orc-watch task is registered from the same home too).
    let of_t = |v: &serde_json::Value| -> serde_json::Value {
        v.as_array().unwrap().iter().find(|e| e["task"] == "t").expect("task t listed").clone()
    };
    let xml = of_t(&plan)["xml"].as_str().unwrap().to_string();
    assert!(xml.contains(&format!("--home &quot;{home_arg}&quot; execute --task t")), "{xml}");
    assert!(xml.contains(&format!("<WorkingDirectory>{home_arg}</WorkingDirectory>")), "{xml}");
    env.orc(["--home", &home_arg, "schedule", "--all"]).ok();
    let listed = env.orc(["--home", &home_arg, "--json", "schedule", "--list"]).ok().json();
    assert_eq!(of_t(&listed)["registered"], true, "{listed:#}");
    assert_eq!(of_t(&listed)["in_sync"], true, "{listed:#}");
}

/// A working directory past MAX_PATH - 2: on Windows no process can start in it, so `task add`
/// refuses it; on Unix it is an ordinary directory and the task runs there.
#[test]
fn a_workdir_past_max_path() {
    let env = Env::new();
    let workdir = deep_dir(env.root()).join("wd");
    std::fs::create_dir_all(&workdir).unwrap();
    let wd = workdir.to_string_lossy().into_owned();
    let command = crate::support::exec::child(&["cwd"]);
    let add = ["task", "add", "w", "--shell", "none", "--command", &command, "--workdir", &wd];
    let add: Vec<&str> = add.into_iter().chain(["--schedule", "0 3 * * *"]).collect();
    if cfg!(windows) {
        let out = env.orc(&add).code(2);
        assert!(out.stderr.trim_end().ends_with("characters long; at most 258"), "{}", out.stderr);
    } else {
        env.orc(&add).ok();
        let runs = env.orc(["--json", "execute", "--task", "w"]).ok().json();
        assert_eq!(runs[0]["status"], "SUCCESS", "{runs:#}");
        assert_eq!(runs[0]["stdout_tail"].as_str().unwrap().trim_end(), wd);
    }
}

/// The Windows application manifest is in every orc executable (build.rs, embed-manifest):
/// long-path aware, asInvoker, and no UTF-8 active code page (src/exec/decode.rs relies on the
/// system's OEM code page).
#[cfg(windows)]
#[test]
fn the_windows_manifest_is_embedded() {
    for exe in [crate::support::orc_exe(), PathBuf::from(env!("CARGO_BIN_EXE_orcw"))] {
        let bytes = std::fs::read(&exe).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let start = text.find("<assembly").unwrap_or_else(|| panic!("no manifest in {exe:?}"));
        let end = text[start..].find("</assembly>").expect("manifest end") + start;
        let manifest = &text[start..end];
        for want in [
            "<longPathAware xmlns=\"http://schemas.microsoft.com/SMI/2016/WindowsSettings\">true\
             </longPathAware>",
            "requestedExecutionLevel level=\"asInvoker\" uiAccess=\"false\"",
        ] {
            assert!(manifest.contains(want), "{exe:?} lacks {want}:\n{manifest}");
        }
        assert!(!manifest.contains("activeCodePage"), "{manifest}");
    }
}

/// A task whose program lives past MAX_PATH, on real Windows: Rust's std hands CreateProcessW
/// the program as an extended-length (`\\?\`) lpApplicationName, which is not bound by
/// MAX_PATH (Wine's CreateProcessW answers "File not found" instead).
#[cfg(windows)]
#[test]
#[ignore = "real Windows only (the windows_real CI step)"]
fn windows_real_a_program_past_max_path_runs() {
    let env = Env::new();
    let bin = deep_dir(env.root()).join("bin-€");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("enfant-ü.exe");
    std::fs::copy(helper_exe("orc_test_child"), &exe).unwrap();
    let command = format!("{} print ok-ü", quote(&exe.to_string_lossy()));
    env.orc([
        "task",
        "add",
        "deep",
        "--shell",
        "none",
        "--command",
        &command,
        "--schedule",
        "0 3 * * *",
    ])
    .ok();
    let runs = env.orc(["--json", "execute", "--task", "deep"]).ok().json();
    assert_eq!(runs[0]["status"], "SUCCESS", "{runs:#}");
    assert_eq!(runs[0]["stdout_tail"].as_str().unwrap().trim_end(), "ok-ü");
}

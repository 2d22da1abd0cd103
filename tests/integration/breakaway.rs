//! `--allow-breakaway`: stored in the task, shown, edited, exported and imported (the Windows
//! behaviour itself is proven by `windows_real`).

use crate::support::Env;

#[test]
fn allow_breakaway_is_stored_edited_exported_and_imported() {
    let env = Env::new();
    env.orc(["task", "add", "tree", "--command", "echo", "--schedule", "@daily"]).ok();
    let shown = env.orc(["--json", "task", "show", "tree"]).ok().json();
    assert_eq!(shown["allow_breakaway"], false, "off by default: the whole tree is killed");
    env.orc(["task", "edit", "tree", "--allow-breakaway"]).ok();
    let text = env.orc(["task", "show", "tree"]).ok().stdout;
    assert!(text.lines().any(|l| l.starts_with("breakaway:") && l.ends_with("yes")), "{text}");

    let file = env.root().join("tasks.json");
    let file = file.to_string_lossy().into_owned();
    env.orc(["task", "export", "--output", &file]).ok();
    let exported: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let tasks = exported.get("tasks").unwrap_or(&exported);
    assert_eq!(tasks[0]["allow_breakaway"], true, "{exported}");

    let other = Env::new();
    other.orc(["task", "import", &file]).ok();
    let imported = other.orc(["--json", "task", "show", "tree"]).ok().json();
    assert_eq!(imported["allow_breakaway"], true);

    env.orc(["task", "edit", "tree", "--no-allow-breakaway"]).ok();
    let shown = env.orc(["--json", "task", "show", "tree"]).ok().json();
    assert_eq!(shown["allow_breakaway"], false);
    env.orc(["task", "edit", "tree", "--allow-breakaway", "--no-allow-breakaway"]).code(2);
}

//! Text that reaches a task's definition: Unicode noncharacters and the controls XML 1.0
//! cannot carry are refused at `task add` (exit 2, database unchanged), and one bad row in the
//! database does not stop `orc schedule --all` from registering the others.

use orc::task::TaskSpec;

use crate::schedule::{entry, env, put_task, stored_xml, task};
use crate::support::Env;

#[test]
fn every_noncharacter_class_is_refused_at_add_and_nothing_changes() {
    let env = Env::new();
    env.orc(["task", "add", "ok", "--command", "echo ok", "--schedule", "0 6 * * *"]).ok();
    let before = env.db_bytes();
    let classes = ['\u{FFFE}', '\u{FFFF}', '\u{FDD0}', '\u{FDEF}', '\u{1FFFE}', '\u{10FFFF}'];
    for c in classes {
        for (flag, value) in [
            ("--description", format!("nightly {c} report")),
            ("--command", format!("echo {c}")),
            ("--owner", format!("ops{c}")),
            ("--workdir", format!("{}{c}", if cfg!(windows) { "C:\\srv\\" } else { "/srv/" })),
        ] {
            let mut args = vec!["task", "add", "bad", "--schedule", "0 6 * * *", flag, &value];
            if flag != "--command" {
                args.extend(["--command", "echo hi"]);
            }
            let out = env.orc(args).code(2);
            let want = format!("the Unicode noncharacter U+{:04X}", u32::from(c));
            assert!(out.stderr.contains(&want), "{flag} {c:?}: {}", out.stderr);
            assert!(out.stderr.contains(flag), "{}", out.stderr);
        }
    }
    let out = env.orc(["task", "add", "bad", "--command", "echo\u{7}", "--schedule", "@daily"]);
    let out = out.code(2);
    assert!(out.stderr.contains("the control character U+0007"), "{}", out.stderr);
    assert_eq!(env.db_bytes(), before, "the database is unchanged");
    let edit = env.orc(["task", "edit", "ok", "--description", "x\u{FDD5}"]).code(2);
    assert!(edit.stderr.contains("U+FDD5"), "{}", edit.stderr);
    assert_eq!(env.db_bytes(), before, "the database is unchanged");
}

#[test]
fn one_bad_row_does_not_stop_the_others_from_registering() {
    let env = env();
    put_task(&env, &task("first", "0 6 * * *"));
    put_task(&env, &task("bad", "0 7 * * *"));
    env.orc(["schedule", "--all"]).ok();
    let registered_bad = stored_xml(&env, "bad");
    // The row is damaged behind orc's back (an old version, a hand edit of the database).
    let mut bad: TaskSpec = task("bad", "0 8 * * *");
    bad.description = Some("broken \u{FFFE} text".into());
    put_task(&env, &bad);
    put_task(&env, &task("second", "0 9 * * *"));
    let out = env.orc(["schedule", "--all", "--json"]).code(2);
    let rows = out.json();
    assert_eq!(entry(&rows, "second")["action"], "create");
    assert_eq!(entry(&rows, "second")["result"], "ok");
    assert_eq!(entry(&rows, "first")["action"], "unchanged");
    assert_eq!(entry(&rows, "bad")["result"], "failed");
    assert_eq!(
        entry(&rows, "bad")["error"],
        "invalid description of task bad \"broken \\u{fffe} text\": contains the Unicode \
         noncharacter U+FFFE, which the Task Scheduler definition (an XML 1.0 document) cannot \
         carry"
    );
    assert!(out.stderr.contains("of task bad"), "{}", out.stderr);
    assert!(stored_xml(&env, "second").contains("T09:00:00"));
    // The bad task's registration is left as it was: neither deleted nor rewritten.
    assert_eq!(stored_xml(&env, "bad"), registered_bad);

    // Asked for alone, the bad task is refused and nothing is changed.
    let out = env.orc(["schedule", "--task", "bad"]).code(2);
    assert!(out.stderr.contains("U+FFFE"), "{}", out.stderr);
}

//! `orcw`, the GUI-subsystem build of orc that Task Scheduler starts for interactive tasks
//! (no console window): the same program, so it runs a task and records the run; on Windows
//! its PE header says GUI.

use std::process::{Command, Stdio};

use crate::support::Env;
use crate::support::exec::{add_task, child};

fn orcw(env: &Env) -> Command {
    let base = env.command();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_orcw"));
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd
}

#[test]
fn orcw_runs_a_task_and_records_it_with_nowhere_to_print() {
    let env = Env::new();
    add_task(&env, "desk", &child(&["print", "hello", "exit", "4"]), |_| {});
    // Nothing to print to: what orcw prints (and its log) goes nowhere.
    let status = orcw(&env)
        .args(["execute", "--task", "desk"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(4), "orcw exits with the task's code");
    let runs = env.orc(["--json", "history"]).ok().json();
    let r = &runs[0];
    assert_eq!((r["task"].as_str(), r["status"].as_str()), (Some("desk"), Some("FAILED")));
    assert_eq!(r["exit_code"], 4);
    assert!(r["stdout_tail"].as_str().unwrap().contains("hello"), "{r}");
}

/// The `Subsystem` field of a PE image's optional header (2 = GUI, 3 = console).
#[cfg(windows)]
fn pe_subsystem(path: &std::path::Path) -> u16 {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..2], b"MZ", "{}", path.display());
    let pe = u32::from_le_bytes(b[0x3C..0x40].try_into().unwrap()) as usize;
    assert_eq!(&b[pe..pe + 4], b"PE\0\0");
    // Signature (4) + COFF file header (20), then the optional header; Subsystem is at
    // offset 68 in both PE32 and PE32+ (Microsoft, "PE Format").
    let opt = pe + 24;
    let magic = u16::from_le_bytes([b[opt], b[opt + 1]]);
    assert!(magic == 0x20B || magic == 0x10B, "optional header magic {magic:#x}");
    u16::from_le_bytes([b[opt + 68], b[opt + 69]])
}

#[cfg(windows)]
#[test]
fn orcw_exe_is_a_gui_subsystem_image_and_orc_exe_a_console_one() {
    assert_eq!(pe_subsystem(std::path::Path::new(env!("CARGO_BIN_EXE_orcw"))), 2);
    assert_eq!(pe_subsystem(std::path::Path::new(env!("CARGO_BIN_EXE_orc"))), 3);
}

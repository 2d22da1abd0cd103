//! `orcw`: the same program as `orc`, built for the Windows GUI subsystem.
//!
//! Task Scheduler starts `orcw.exe` instead of `orc.exe` for tasks with an interactive logon
//! (`--logon interactive`): they run in the user's session, where a console program opens a
//! console window at every start (and closing it kills the run). A GUI-subsystem program gets
//! no console: its standard handles are absent, Rust's standard library then discards what is
//! written to stdout/stderr instead of failing, and orc records everything it needs (the run
//! row, the child's output, alerts) in the home. The task's own command still runs without a
//! window (`CREATE_NO_WINDOW`, see `exec::process`). On other systems `orcw` is simply `orc`.
#![cfg_attr(windows, windows_subsystem = "windows")]

fn main() {
    let code = orc::cli::main(std::env::args_os());
    #[allow(clippy::exit)]
    std::process::exit(code);
}

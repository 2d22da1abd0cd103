//! The programs the tests run: orc itself and the test-helper binaries (`fake_schtasks`,
//! `orc_test_child`), all built by cargo before the tests and named by `CARGO_BIN_EXE_*`
//! (see the `[[bin]]` entries of Cargo.toml for why they are binaries).

use std::path::PathBuf;
use std::process::Command;

/// Starts `cmd`, trying again on the transient process-creation failures orc itself retries.
pub fn spawn(cmd: &mut Command) -> std::process::Child {
    orc::exec::execute::spawn_with_retry(|| cmd.spawn()).expect("spawn orc")
}

/// The orc binary under test.
pub fn orc_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_orc"))
}

/// A test-helper program: `fake_schtasks` (the fake schtasks.exe, tests/helpers/fake_schtasks),
/// `fake_wevtutil` (the fake wevtutil.exe, tests/helpers/fake_wevtutil)
/// or `orc_test_child` (the scriptable child of the executor tests, tests/helpers/test_child.rs).
///
/// Made absolute for the platform: under Wine, `CARGO_BIN_EXE_*` is the Unix path cargo saw
/// (`/work/…`), which Windows code does not take for absolute (no drive) once it is written into
/// a task's command line; `std::path::absolute` gives `Z:\work\…` (scripts/wine/README.md).
pub fn helper_exe(name: &str) -> PathBuf {
    let built = match name {
        "fake_schtasks" => env!("CARGO_BIN_EXE_fake_schtasks"),
        "fake_wevtutil" => env!("CARGO_BIN_EXE_fake_wevtutil"),
        "orc_test_child" => env!("CARGO_BIN_EXE_orc_test_child"),
        other => panic!("no test-helper program {other:?} (see the [[bin]] entries of Cargo.toml)"),
    };
    std::path::absolute(built).expect("absolute path of a test helper")
}

// Smallest proof that a Rust .exe runs under this Wine prefix: std's start-up
// (ProcessPrng from bcryptprimitives.dll, through our shim), its randomness
// (HashMap keys) and process creation with an exit code passed back.
// Built by scripts/wine/setup.sh with plain rustc; not part of the crate.
use std::collections::hash_map::{DefaultHasher, RandomState};
use std::hash::{BuildHasher, BuildHasherDefault};
use std::process::Command;

fn main() {
    // The first RandomState of a thread carries the keys std got from
    // ProcessPrng; the default hasher uses keys (0, 0).
    let seeded = RandomState::new().hash_one(42u64);
    let status = Command::new("cmd.exe")
        .args(["/d", "/s", "/c", "exit 7"])
        .status()
        .expect("spawn cmd.exe");
    if status.code() != Some(7) {
        eprintln!("orc-wine-probe: cmd.exe /c exit 7 gave {status:?}");
        std::process::exit(2);
    }
    let unseeded = BuildHasherDefault::<DefaultHasher>::default().hash_one(42u64);
    if seeded == unseeded {
        eprintln!("orc-wine-probe: HashMap seeds look unseeded");
        std::process::exit(3);
    }
    println!("orc-wine-probe ok");
}

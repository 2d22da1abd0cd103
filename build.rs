//! Build script: records the build's git commit and target triple for `orc --version --json`,
//! and embeds the Windows application manifest in every Windows executable.
//!
//! The manifest (embed-manifest: `/MANIFEST:EMBED` for MSVC, a COFF resource object for GNU):
//! * `longPathAware` — with the machine's `LongPathsEnabled` policy, Win32 file APIs accept
//!   paths past MAX_PATH (Microsoft Learn, "Maximum Path Length Limitation"); orc's homes,
//!   workdirs and commands may be longer than 260 characters;
//! * `requestedExecutionLevel asInvoker` — never an elevation prompt, no UAC virtualisation;
//! * the active code page stays the system's (not embed-manifest's UTF-8 default): orc
//!   decodes its children's console output with `GetOEMCP`, and a UTF-8 active code page
//!   would change that answer for orc but not for the children (src/exec/decode.rs).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=ORC_BUILD_TARGET={target}");
    println!("cargo:rustc-env=ORC_BUILD_COMMIT={}", commit().unwrap_or_default());

    if std::env::var_os("CARGO_CFG_WINDOWS").is_some() {
        use embed_manifest::manifest::{ActiveCodePage, ExecutionLevel, Setting};
        let manifest = embed_manifest::new_manifest("Orc.Orchestrator")
            .active_code_page(ActiveCodePage::System)
            .long_path_aware(Setting::Enabled)
            .requested_execution_level(ExecutionLevel::AsInvoker);
        embed_manifest::embed_manifest(manifest).expect("cannot embed the Windows manifest");
    }
}

/// The commit being built (`git rev-parse HEAD`) when this is a git checkout; `None` otherwise
/// (a build from a source archive reports an empty commit).
fn commit() -> Option<String> {
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"])?;
    // Rebuild when HEAD moves (a worktree has its own HEAD under the common git dir).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = std::path::Path::new(&dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            let common = git(&["rev-parse", "--git-common-dir"]).unwrap_or_default();
            println!("cargo:rerun-if-changed={}", std::path::Path::new(&common).join(r).display());
        }
    }
    Some(head)
}

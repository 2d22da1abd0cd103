//! `orc --version --json`: the build's identity as one JSON object. (`orc --version` alone
//! stays clap's one line, `orc <version>`.)

use serde::Serialize;

/// What `orc --version --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// The package version (`Cargo.toml`).
    pub version: &'static str,
    /// The git commit the binary was built from (full hash), or `null` for a build outside git.
    pub commit: Option<&'static str>,
    /// The target triple the binary was built for (e.g. `x86_64-pc-windows-msvc`).
    pub target: &'static str,
}

/// This binary's version, commit and target (recorded by `build.rs`).
pub fn info() -> VersionInfo {
    let commit = env!("ORC_BUILD_COMMIT");
    VersionInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: (!commit.is_empty()).then_some(commit),
        target: env!("ORC_BUILD_TARGET"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_is_the_triple_this_test_was_built_for() {
        let v = info();
        assert_eq!(v.version, env!("CARGO_PKG_VERSION"));
        // The triple's architecture and OS match the ones cfg! sees.
        assert!(v.target.starts_with(std::env::consts::ARCH), "{}", v.target);
        let os = if cfg!(target_os = "macos") { "darwin" } else { std::env::consts::OS };
        assert!(v.target.contains(os), "{}", v.target);
        if let Some(c) = v.commit {
            assert_eq!(c.len(), 40, "{c}");
            assert!(c.chars().all(|ch| ch.is_ascii_hexdigit()), "{c}");
        }
    }
}

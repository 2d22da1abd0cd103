//! The documentation stays connected: README.md is short, and every relative link in the
//! Markdown files (README, CONTRIBUTING, CHANGELOG, docs/**) points at a file that exists.

use std::path::{Path, PathBuf};

/// The most lines README.md may have; the rest belongs under docs/.
const README_MAX_LINES: usize = 300;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every Markdown file the link check covers.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "md") {
                out.push(p);
            }
        }
    }
    let mut files: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"]
        .iter()
        .map(|f| root().join(f))
        .filter(|p| p.exists())
        .collect();
    walk(&root().join("docs"), &mut files);
    files
}

/// The targets of the inline links `[text](target)` outside fenced code blocks.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("](") {
            let after = &rest[i + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// Relative link targets that do not name an existing file, as `file: target`.
fn broken_links(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    link_targets(&text)
        .into_iter()
        .filter(|t| !t.contains("://") && !t.starts_with('#') && !t.starts_with("mailto:"))
        .filter(|t| {
            let path = t.split('#').next().unwrap_or_default();
            !dir.join(path).exists()
        })
        .map(|t| format!("{}: {t}", file.strip_prefix(root()).unwrap_or(file).display()))
        .collect()
}

#[test]
fn readme_is_at_most_300_lines() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = readme.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines (at most {README_MAX_LINES}): move details to docs/guide/"
    );
}

#[test]
fn every_relative_markdown_link_points_to_a_file() {
    let files = markdown_files();
    assert!(files.len() > 10, "expected README and docs/**/*.md, found {files:?}");
    let broken: Vec<String> = files.iter().flat_map(|f| broken_links(f)).collect();
    assert!(broken.is_empty(), "broken relative links:\n{}", broken.join("\n"));
}

#[test]
fn link_targets_are_found_outside_code_blocks_only() {
    let text = "see [a](x.md) and [b](../y.md#part), [c](https://e.org)\n```\n[d](z.md)\n```\n";
    assert_eq!(link_targets(text), ["x.md", "../y.md#part", "https://e.org"]);
}

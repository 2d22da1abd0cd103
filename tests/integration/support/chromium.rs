//! Headless Chromium for the rendering tests (report, mail, Teams card): where it is, loading
//! a page (DOM dump + a screenshot kept under `target/test-output/`), reading the DOM.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("ORC_TEST_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if p.exists() {
        return Some(p);
    }
    let msg = format!("Chromium not found at {} (set ORC_TEST_CHROMIUM)", p.display());
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("SKIPPED: {msg}");
    }
    None
}

/// Loads `html` in headless Chromium: returns the DOM after parsing, and saves a screenshot
/// as `target/test-output/<name>.png`.
pub fn render_in_chromium(chromium: &Path, html: &Path, name: &str, scratch: &Path) -> String {
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-output");
    std::fs::create_dir_all(&out_dir).unwrap();
    let url = format!("file://{}", html.display());
    let common = |cmd: &mut Command| {
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", scratch.join(format!("chromium-{name}")).display()))
        .env("HOME", scratch);
    };
    let mut dump = Command::new(chromium);
    common(&mut dump);
    let out = dump.arg("--dump-dom").arg(&url).output().expect("run chromium");
    assert!(
        out.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = out_dir.join(format!("{name}.png"));
    let _ = std::fs::remove_file(&png);
    let mut shot = Command::new(chromium);
    common(&mut shot);
    let s = shot
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        s.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&s.stderr)
    );
    assert!(
        std::fs::metadata(&png).map(|m| m.len() > 10_000).unwrap_or(false),
        "screenshot {png:?}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The text content of the element with this id in a dumped DOM (tags stripped).
pub fn element_text(dom: &str, id: &str) -> String {
    let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in DOM"));
    let open_end = start + dom[start..].find('>').unwrap() + 1;
    let tag_start = dom[..start].rfind('<').unwrap();
    let tag: String =
        dom[tag_start + 1..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let close = open_end + dom[open_end..].find(&format!("</{tag}>")).unwrap();
    strip_tags(&dom[open_end..close])
}

pub fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

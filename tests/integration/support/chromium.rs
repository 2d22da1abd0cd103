//! Headless Chromium for rendering tests (`#[ignore]`d: needs Chromium, found at
//! `ORC_TEST_CHROMIUM` or `/usr/bin/chromium`). Screenshots go under `target/test-output/`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Chromium {
    exe: PathBuf,
    profile: tempfile::TempDir,
}

impl Chromium {
    /// Chromium, or a failed assertion naming where it was looked for.
    pub fn find() -> Chromium {
        let exe = std::env::var_os("ORC_TEST_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        assert!(exe.exists(), "Chromium not found at {}", exe.display());
        Chromium { exe, profile: tempfile::tempdir().unwrap() }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.exe);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]);
        c.arg(format!("--user-data-dir={}", self.profile.path().display()));
        c
    }

    /// The DOM of `url` after Chromium rendered it.
    pub fn dump_dom(&self, url: &str) -> String {
        let out = self
            .command()
            .arg("--dump-dom")
            .arg(url)
            .stderr(Stdio::null())
            .output()
            .expect("run chromium");
        assert!(out.status.success(), "chromium failed on {url}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Loads the page `html`: returns its DOM and keeps a screenshot as
    /// `target/test-output/<name>.png`.
    pub fn render(&self, html: &Path, name: &str) -> String {
        let url = file_url(html);
        self.screenshot(&url, &output_dir().join(format!("{name}.png")), 1200, 1600);
        self.dump_dom(&url)
    }

    /// Screenshots `url` into `png` (a real, non-blank PNG).
    pub fn screenshot(&self, url: &str, png: &Path, width: u32, height: u32) {
        let _ = std::fs::remove_file(png);
        let ok = self
            .command()
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("--window-size={width},{height}"))
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run chromium");
        assert!(ok.success(), "chromium screenshot of {url}");
        let bytes = std::fs::read(png).expect("screenshot written");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        assert!(bytes.len() > 10_000, "a real page, not a blank image ({} bytes)", bytes.len());
    }
}

/// `target/test-output/`, created.
pub fn output_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("test-output");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A `file://` URL for `path`.
pub fn file_url(path: &Path) -> String {
    url::Url::from_file_path(path).expect("absolute path").to_string()
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

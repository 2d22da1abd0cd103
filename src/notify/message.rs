//! The mails orc sends: what they say (rendered from the templates under `templates/`, built
//! into the binary) and how they are put together (multipart/alternative, text + HTML).
//!
//! Rendering is pure: callers pass in views with every value already formatted, so the same
//! input always gives the same message (the snapshot tests rely on this).

use lettre::message::header::{self, ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use serde::Serialize;

use crate::error::{Error, Result};

use super::address::clean_subject;

/// What a message is about. Stored in `outbox.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// A run failed (after its final attempt) and the task's policy wants to hear about it.
    Failure,
    /// The task is still failing; sent at most once per reminder interval.
    Reminder,
    /// The first success after an alert ("resolved").
    Recovery,
    /// A successful run of a task whose policy is `always`.
    Success,
    /// The daily report.
    Report,
    /// `orc notify test`.
    Test,
    /// An incident found by `orc watch` (opened, reminder or recovered).
    Watch,
}

impl MessageKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Failure => "failure",
            MessageKind::Reminder => "reminder",
            MessageKind::Recovery => "recovery",
            MessageKind::Success => "success",
            MessageKind::Report => "report",
            MessageKind::Test => "test",
            MessageKind::Watch => "watch",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<MessageKind> {
        Some(match s {
            "failure" => MessageKind::Failure,
            "reminder" => MessageKind::Reminder,
            "recovery" => MessageKind::Recovery,
            "success" => MessageKind::Success,
            "report" => MessageKind::Report,
            "test" => MessageKind::Test,
            "watch" => MessageKind::Watch,
            _ => return None,
        })
    }
}

/// Captured output of one stream, as shown in a mail.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OutputView {
    /// `stdout` or `stderr`.
    pub stream: String,
    /// The text shown (the end of the output), already bounded.
    pub text: String,
    /// Lines shown.
    pub lines: usize,
    /// Total bytes the stream produced.
    pub total_bytes: u64,
    /// Whether `text` is only part of the output.
    pub partial: bool,
}

/// One run, every value formatted for display.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RunView {
    pub id: i64,
    pub task: String,
    pub host: String,
    /// The scheduled slot (local time), if the run was scheduled.
    pub slot: Option<String>,
    pub trigger: String,
    pub status: String,
    pub attempt: u32,
    /// Attempts the task allows (1 + retries).
    pub attempts_allowed: u32,
    pub exit_code: Option<String>,
    pub duration: Option<String>,
    pub start: String,
    pub end: Option<String>,
    /// The error or reason recorded with the run (e.g. unmet dependencies).
    pub error: Option<String>,
    pub killed_by_timeout: bool,
    pub timeout: Option<String>,
    pub command: Option<String>,
    pub schedule: Option<String>,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub outputs: Vec<OutputView>,
    /// The command that shows more.
    pub history_cmd: String,
}

/// Alert bookkeeping shown in failure, reminder and recovery mails.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct AlertView {
    /// Failed runs in a row (including this one, for failures).
    pub consecutive_failures: u32,
    /// When the current failure streak began (local time).
    pub failing_since: Option<String>,
    /// Failed runs since the previous mail that did not get their own mail.
    pub suppressed: u32,
    /// The reminder interval, human form (`4h`), if reminders are on.
    pub reminder_interval: Option<String>,
}

/// A rendered message: what goes into the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const LAYOUT_HTML: &str = include_str!("../../templates/_layout.html.j2");
const FAILURE_TXT: &str = include_str!("../../templates/failure.txt.j2");
const FAILURE_HTML: &str = include_str!("../../templates/failure.html.j2");
const RECOVERY_TXT: &str = include_str!("../../templates/recovery.txt.j2");
const RECOVERY_HTML: &str = include_str!("../../templates/recovery.html.j2");
const SUCCESS_TXT: &str = include_str!("../../templates/success.txt.j2");
const SUCCESS_HTML: &str = include_str!("../../templates/success.html.j2");
const TEST_TXT: &str = include_str!("../../templates/test.txt.j2");
const TEST_HTML: &str = include_str!("../../templates/test.html.j2");
const REPORT_TXT: &str = include_str!("../../templates/report_daily.txt.j2");
const REPORT_HTML: &str = include_str!("../../templates/report_daily.html.j2");
const RUN_TABLE_HTML: &str = include_str!("../../templates/_run_table.html.j2");
const RUN_TABLE_TXT: &str = include_str!("../../templates/_run_table.txt.j2");
const INCIDENT_TXT: &str = include_str!("../../templates/incident.txt.j2");
const INCIDENT_HTML: &str = include_str!("../../templates/incident.html.j2");

/// The template environment with every template loaded. HTML templates (`*.html.j2`) are
/// auto-escaped, text templates are not.
pub fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("valid syntax configuration"),
    );
    env.add_global("orc_version", env!("CARGO_PKG_VERSION"));
    for (name, src) in [
        ("_layout.html.j2", LAYOUT_HTML),
        ("failure.txt.j2", FAILURE_TXT),
        ("failure.html.j2", FAILURE_HTML),
        ("recovery.txt.j2", RECOVERY_TXT),
        ("recovery.html.j2", RECOVERY_HTML),
        ("success.txt.j2", SUCCESS_TXT),
        ("success.html.j2", SUCCESS_HTML),
        ("test.txt.j2", TEST_TXT),
        ("test.html.j2", TEST_HTML),
        ("report_daily.txt.j2", REPORT_TXT),
        ("report_daily.html.j2", REPORT_HTML),
        ("_run_table.html.j2", RUN_TABLE_HTML),
        ("_run_table.txt.j2", RUN_TABLE_TXT),
        ("incident.txt.j2", INCIDENT_TXT),
        ("incident.html.j2", INCIDENT_HTML),
    ] {
        env.add_template(name, src).expect("built-in templates parse (checked by tests)");
    }
    env
}

/// Renders one template with a serializable context.
pub fn render<T: Serialize>(template: &str, ctx: &T) -> Result<String> {
    let env = environment();
    let tmpl = env
        .get_template(template)
        .map_err(|e| Error::Failed(format!("template {template}: {e}")))?;
    tmpl.render(minijinja::value::Serde(ctx))
        .map_err(|e| Error::Failed(format!("cannot render template {template}: {e:#}")))
}

#[derive(Serialize)]
struct AlertCtx<'a> {
    kind: MessageKind,
    subject: &'a str,
    run: &'a RunView,
    alert: &'a AlertView,
}

/// The subject line of a mail about a run.
pub fn run_subject(kind: MessageKind, run: &RunView, alert: &AlertView) -> String {
    let (word, detail) = match kind {
        MessageKind::Reminder => (
            "STILL FAILING",
            format!(
                "{} failure{} in a row",
                alert.consecutive_failures,
                if alert.consecutive_failures == 1 { "" } else { "s" }
            ),
        ),
        MessageKind::Recovery => (
            "RESOLVED",
            format!(
                "OK after {} failure{}",
                alert.consecutive_failures,
                if alert.consecutive_failures == 1 { "" } else { "s" }
            ),
        ),
        MessageKind::Success => ("OK", run.duration.clone().unwrap_or_else(|| "done".into())),
        _ => match run.status.as_str() {
            "TIMEOUT" => (
                "TIMEOUT",
                match &run.timeout {
                    Some(t) => format!("killed after {t}"),
                    None => "killed at its time limit".into(),
                },
            ),
            "SKIPPED" => ("FAILED", "dependencies not met".into()),
            "ABANDONED" => ("ABANDONED", "orc stopped during the run".into()),
            _ => (
                "FAILED",
                match &run.exit_code {
                    Some(c) => format!("exit {}", c.split(' ').next().unwrap_or(c)),
                    None => run.error.clone().unwrap_or_else(|| "failed".into()),
                },
            ),
        },
    };
    clean_subject(&format!("[orc] {word} {} on {} ({detail})", run.task, run.host))
}

/// Renders a mail about a run (failure, reminder, recovery or success).
pub fn render_run(kind: MessageKind, run: &RunView, alert: &AlertView) -> Result<Rendered> {
    let subject = run_subject(kind, run, alert);
    let ctx = AlertCtx { kind, subject: &subject, run, alert };
    let base = match kind {
        MessageKind::Failure | MessageKind::Reminder => "failure",
        MessageKind::Recovery => "recovery",
        MessageKind::Success => "success",
        MessageKind::Report | MessageKind::Test | MessageKind::Watch => {
            return Err(Error::Failed(format!("{} is not a run message", kind.as_str())));
        }
    };
    Ok(Rendered {
        text: render(&format!("{base}.txt.j2"), &ctx)?,
        html: render(&format!("{base}.html.j2"), &ctx)?,
        subject,
    })
}

#[derive(Serialize)]
struct TestCtx<'a> {
    subject: &'a str,
    host: &'a str,
    time: &'a str,
    relay: &'a str,
    version: &'a str,
}

/// Renders the `orc notify test` message.
pub fn render_test(host: &str, time: &str, relay: &str) -> Result<Rendered> {
    let subject = clean_subject(&format!("[orc] Test message from {host}"));
    let ctx = TestCtx { subject: &subject, host, time, relay, version: env!("CARGO_PKG_VERSION") };
    Ok(Rendered {
        text: render("test.txt.j2", &ctx)?,
        html: render("test.html.j2", &ctx)?,
        subject,
    })
}

/// `Auto-Submitted: auto-generated` (RFC 3834): tells mail systems not to send
/// out-of-office replies to orc's mails.
#[derive(Debug, Clone, Copy)]
pub struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_string())
    }
}

/// Builds the MIME message: `From`, `To` (every recipient; there is never a `Bcc:`),
/// the subject (encoded by lettre, so it cannot inject headers) and a
/// multipart/alternative body with the text part first and the HTML part second.
pub fn build(
    from: &Mailbox,
    to: &[Address],
    subject: &str,
    text: &str,
    html: Option<&str>,
) -> Result<Message> {
    if to.is_empty() {
        return Err(Error::Failed("the message has no recipients".into()));
    }
    let mut b = Message::builder()
        .from(from.clone())
        .subject(clean_subject(subject))
        .header(AutoSubmitted)
        .message_id(None)
        .user_agent(format!("orc {}", env!("CARGO_PKG_VERSION")));
    for a in to {
        b = b.to(Mailbox::new(None, a.clone()));
    }
    let built = match html {
        Some(html) => b.multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .header(header::ContentTransferEncoding::QuotedPrintable)
                        .body(text.to_string()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .header(header::ContentTransferEncoding::QuotedPrintable)
                        .body(html.to_string()),
                ),
        ),
        None => b.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .header(header::ContentTransferEncoding::QuotedPrintable)
                .body(text.to_string()),
        ),
    };
    built.map_err(|e| Error::Failed(format!("cannot build the message: {e}")))
}

/// How an exit code is shown: decimal, or hex with a name for Windows NTSTATUS values
/// (`0xC0000005 STATUS_ACCESS_VIOLATION`).
pub fn exit_code_display(code: i64) -> String {
    let as_u32 = if (i32::MIN as i64..0).contains(&code) {
        Some(code as i32 as u32)
    } else if (0x8000_0000..=0xFFFF_FFFF).contains(&code) {
        Some(code as u32)
    } else {
        None
    };
    match as_u32 {
        Some(v) => match ntstatus_name(v) {
            Some(name) => format!("0x{v:08X} {name}"),
            None => format!("0x{v:08X}"),
        },
        None => code.to_string(),
    }
}

/// The short form used in subjects: the number, or the hex value for NTSTATUS codes.
pub fn exit_code_short(code: i64) -> String {
    exit_code_display(code).split(' ').next().unwrap_or_default().to_string()
}

fn ntstatus_name(v: u32) -> Option<&'static str> {
    Some(match v {
        0x8000_0003 => "STATUS_BREAKPOINT",
        0xC000_0005 => "STATUS_ACCESS_VIOLATION",
        0xC000_0017 => "STATUS_NO_MEMORY",
        0xC000_001D => "STATUS_ILLEGAL_INSTRUCTION",
        0xC000_0094 => "STATUS_INTEGER_DIVIDE_BY_ZERO",
        0xC000_00FD => "STATUS_STACK_OVERFLOW",
        0xC000_0135 => "STATUS_DLL_NOT_FOUND",
        0xC000_0139 => "STATUS_ENTRYPOINT_NOT_FOUND",
        0xC000_013A => "STATUS_CONTROL_C_EXIT",
        0xC000_0142 => "STATUS_DLL_INIT_FAILED",
        0xC000_0374 => "STATUS_HEAP_CORRUPTION",
        0xC000_0409 => "STATUS_STACK_BUFFER_OVERRUN",
        0xC000_041D => "STATUS_FATAL_USER_CALLBACK_EXCEPTION",
        _ => return None,
    })
}

/// Most lines of output shown per stream.
pub const OUTPUT_MAX_LINES: usize = 100;
/// Most bytes of output shown per stream.
pub const OUTPUT_MAX_BYTES: usize = 8 * 1024;

/// Builds the shown part of one captured stream from its stored head and tail: the end of the
/// output, at most [`OUTPUT_MAX_LINES`] lines and [`OUTPUT_MAX_BYTES`] bytes, decoded lossily
/// (the raw bytes stay in the database). Returns `None` for a stream that produced nothing.
pub fn output_view(stream: &str, head: &[u8], tail: &[u8], total_bytes: u64) -> Option<OutputView> {
    if head.is_empty() && tail.is_empty() {
        return None;
    }
    let stored = (head.len() + tail.len()) as u64;
    // When head and tail together are the whole output they are contiguous.
    let mut bytes: Vec<u8> = if total_bytes <= stored {
        let mut v = head.to_vec();
        v.extend_from_slice(tail);
        v
    } else if !tail.is_empty() {
        tail.to_vec()
    } else {
        head.to_vec()
    };
    let mut partial = total_bytes > bytes.len() as u64;
    if bytes.len() > OUTPUT_MAX_BYTES {
        bytes = bytes[bytes.len() - OUTPUT_MAX_BYTES..].to_vec();
        partial = true;
    }
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    let mut text: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{FFFD}' } else { c })
        .collect();
    // A cut in the middle of a character or line: start at the next full line.
    if partial && let Some(pos) = text.find('\n') {
        text = text[pos + 1..].to_string();
    }
    let trimmed = text.trim_end_matches('\n');
    let lines: Vec<&str> = trimmed.split('\n').collect();
    let shown = if lines.len() > OUTPUT_MAX_LINES {
        partial = true;
        lines[lines.len() - OUTPUT_MAX_LINES..].join("\n")
    } else {
        trimmed.to_string()
    };
    Some(OutputView {
        stream: stream.to_string(),
        lines: if shown.is_empty() { 0 } else { shown.split('\n').count() },
        text: shown,
        total_bytes: total_bytes.max(stored),
        partial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample_run() -> RunView {
        RunView {
            id: 42,
            task: "nightly-backup".into(),
            host: "SRV01".into(),
            slot: Some("2026-03-02 02:00".into()),
            trigger: "scheduled".into(),
            status: "FAILED".into(),
            attempt: 3,
            attempts_allowed: 3,
            exit_code: Some("1".into()),
            duration: Some("12.3s".into()),
            start: "2026-03-02 02:04:10".into(),
            end: Some("2026-03-02 02:04:22".into()),
            error: None,
            killed_by_timeout: false,
            timeout: Some("30m".into()),
            command: Some("robocopy D:\\data \\\\nas\\backup /MIR".into()),
            schedule: Some("0 2 * * *".into()),
            description: Some("Copies the data share to the NAS".into()),
            owner: Some("it-ops".into()),
            outputs: vec![OutputView {
                stream: "stderr".into(),
                text: "ERROR 53 <script>alert(1)</script> & \"quoted\"\nThe network path was not found."
                    .into(),
                lines: 2,
                total_bytes: 80,
                partial: false,
            }],
            history_cmd: "orc history --task nightly-backup".into(),
        }
    }

    /// The text with the version redacted, so snapshots survive a release.
    fn v(s: &str) -> String {
        s.replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
    }

    fn alert() -> AlertView {
        AlertView {
            consecutive_failures: 1,
            failing_since: Some("2026-03-02 02:04".into()),
            suppressed: 0,
            reminder_interval: Some("4h".into()),
        }
    }

    #[test]
    fn templates_parse() {
        let env = environment();
        assert!(env.templates().count() >= 11);
    }

    #[test]
    fn failure_mail_snapshot() {
        let r = render_run(MessageKind::Failure, &sample_run(), &alert()).unwrap();
        assert_eq!(r.subject, "[orc] FAILED nightly-backup on SRV01 (exit 1)");
        insta::assert_snapshot!("failure_txt", v(&r.text));
        insta::assert_snapshot!("failure_html", v(&r.html));
        assert!(
            r.html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;quoted&quot;"),
            "{}",
            r.html
        );
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("<script>alert(1)</script>"), "text part is not escaped");
    }

    #[test]
    fn reminder_recovery_success_snapshots() {
        let mut a = alert();
        a.consecutive_failures = 7;
        a.suppressed = 5;
        let r = render_run(MessageKind::Reminder, &sample_run(), &a).unwrap();
        assert_eq!(r.subject, "[orc] STILL FAILING nightly-backup on SRV01 (7 failures in a row)");
        insta::assert_snapshot!("reminder_txt", v(&r.text));
        let mut run = sample_run();
        run.status = "SUCCESS".into();
        run.exit_code = Some("0".into());
        run.outputs.clear();
        let r = render_run(MessageKind::Recovery, &run, &a).unwrap();
        assert_eq!(r.subject, "[orc] RESOLVED nightly-backup on SRV01 (OK after 7 failures)");
        insta::assert_snapshot!("recovery_txt", v(&r.text));
        insta::assert_snapshot!("recovery_html", v(&r.html));
        let r = render_run(MessageKind::Success, &run, &AlertView::default()).unwrap();
        assert_eq!(r.subject, "[orc] OK nightly-backup on SRV01 (12.3s)");
        insta::assert_snapshot!("success_txt", v(&r.text));
    }

    #[test]
    fn timeout_and_dependency_subjects() {
        let mut run = sample_run();
        run.status = "TIMEOUT".into();
        run.killed_by_timeout = true;
        run.exit_code = None;
        assert_eq!(
            run_subject(MessageKind::Failure, &run, &alert()),
            "[orc] TIMEOUT nightly-backup on SRV01 (killed after 30m)"
        );
        run.status = "SKIPPED".into();
        run.error = Some("file:D:\\in\\ready.flag does not exist".into());
        assert_eq!(
            run_subject(MessageKind::Failure, &run, &alert()),
            "[orc] FAILED nightly-backup on SRV01 (dependencies not met)"
        );
        let r = render_run(MessageKind::Failure, &run, &alert()).unwrap();
        assert!(r.text.contains("ready.flag does not exist"), "{}", r.text);
    }

    #[test]
    fn exit_codes() {
        assert_eq!(exit_code_display(1), "1");
        assert_eq!(exit_code_display(259), "259");
        assert_eq!(exit_code_display(0xC000_0005), "0xC0000005 STATUS_ACCESS_VIOLATION");
        assert_eq!(exit_code_display(-1_073_741_819), "0xC0000005 STATUS_ACCESS_VIOLATION");
        assert_eq!(exit_code_display(-1_073_741_510), "0xC000013A STATUS_CONTROL_C_EXIT");
        assert_eq!(exit_code_display(0xE043_4352), "0xE0434352");
        assert_eq!(exit_code_display(-1), "0xFFFFFFFF");
        assert_eq!(exit_code_short(0xC000_0409), "0xC0000409");
    }

    fn raw(msg: &Message) -> String {
        String::from_utf8(msg.formatted()).unwrap()
    }

    #[test]
    fn subject_cannot_inject_headers() {
        let from: Mailbox = "orc <orc@example.com>".parse().unwrap();
        let to = vec!["ops@example.com".parse::<Address>().unwrap()];
        for subject in
            ["x\r\nBcc: evil@x", "x\nBcc: evil@x", "x\rBcc: evil@x", "x\0\r\nBcc: evil@x"]
        {
            let m = build(&from, &to, subject, "body", Some("<p>body</p>")).unwrap();
            let text = raw(&m);
            let headers = text.split("\r\n\r\n").next().unwrap();
            for line in headers.split("\r\n") {
                assert!(!line.to_ascii_lowercase().starts_with("bcc"), "{subject:?}: {line}");
            }
            assert!(!text.contains("evil@x\r\n") || !headers.contains("\r\nBcc"), "{text}");
            assert!(headers.contains("Subject: x Bcc: evil@x"), "{headers}");
        }
        // Non-ASCII subjects are RFC 2047 encoded.
        let m = build(&from, &to, "Sauvegarde échouée\r\nBcc: evil@x", "b", None).unwrap();
        let text = raw(&m);
        assert!(text.contains("Subject: Sauvegarde =?utf-8?"), "{text}");
        assert!(!text.to_ascii_lowercase().contains("\r\nbcc:"), "{text}");
    }

    #[test]
    fn message_structure() {
        let from: Mailbox = "orc <orc@example.com>".parse().unwrap();
        let to: Vec<Address> =
            vec!["a@example.com".parse().unwrap(), "b@example.com".parse().unwrap()];
        let m = build(&from, &to, "s", "plain body", Some("<p>html body</p>")).unwrap();
        let text = raw(&m);
        assert!(text.contains("To: a@example.com, b@example.com"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
        assert!(text.contains("multipart/alternative"), "{text}");
        let plain = text.find("text/plain").unwrap();
        let html = text.find("text/html").unwrap();
        assert!(plain < html, "text part first, HTML last (preferred)");
        assert!(build(&from, &[], "s", "b", None).is_err());
    }

    #[test]
    fn output_is_bounded_to_the_end() {
        let long: String = (1..=500).map(|i| format!("line {i}\n")).collect();
        let v = output_view("stdout", long.as_bytes(), b"", long.len() as u64).unwrap();
        assert_eq!(v.lines, OUTPUT_MAX_LINES);
        assert!(v.partial);
        assert!(v.text.ends_with("line 500"));
        assert!(v.text.starts_with("line 401"));
        let big = "x".repeat(50_000);
        let v = output_view("stderr", b"", big.as_bytes(), 1_000_000).unwrap();
        assert!(v.text.len() <= OUTPUT_MAX_BYTES);
        assert_eq!(v.total_bytes, 1_000_000);
        // Head and tail that cover everything are joined.
        let v = output_view("stdout", b"a\nb", b"\nc\n", 6).unwrap();
        assert_eq!(v.text, "a\nb\nc");
        assert!(!v.partial);
        // Invalid UTF-8 and stray control characters do not break the mail.
        let v = output_view("stdout", b"\x82\xff ok\x1b[31m\0", b"", 9).unwrap();
        assert!(v.text.contains("ok"));
        assert!(!v.text.contains('\0') && !v.text.contains('\x1b'));
        assert!(output_view("stdout", b"", b"", 0).is_none());
    }
}

//! Runs `schtasks.exe`: both streams drained, a timeout, secrets masked in messages, failures
//! classified, output decoded (UTF-8, else the OEM code page).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use zeroize::Zeroizing;

use super::super::{Logon, SchedulerError};
use super::*;

/// How long one schtasks call may take before it is stopped.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A remote machine for `/S`, with optional `/U` and `/P`.
#[derive(Clone)]
pub struct Remote {
    pub host: String,
    pub user: Option<String>,
    pub password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("host", &self.host)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// One argument; secret ones are shown as `***` in messages.
#[derive(Clone)]
struct Arg {
    value: OsString,
    secret: bool,
}

fn arg(v: impl AsRef<OsStr>) -> Arg {
    Arg { value: v.as_ref().to_os_string(), secret: false }
}

fn secret(v: &str) -> Arg {
    Arg { value: OsString::from(v), secret: true }
}

/// What one schtasks call printed.
#[derive(Debug, Clone)]
pub struct CallOutput {
    /// The exit code as a signed 32-bit value (`0x80004005` shows as `-2147467259`).
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs schtasks.exe.
#[derive(Debug, Clone)]
pub struct Schtasks {
    program: PathBuf,
    pub(super) remote: Option<Remote>,
    timeout: Duration,
}

impl Schtasks {
    /// The schtasks program: `ORC_SCHTASKS`, else `%SystemRoot%\System32\schtasks.exe`.
    pub fn locate() -> std::result::Result<PathBuf, SchedulerError> {
        if let Some(p) = crate::env_vars::get(crate::env_vars::ORC_SCHTASKS) {
            return Ok(PathBuf::from(p));
        }
        if cfg!(windows) {
            let root = std::env::var_os("SystemRoot")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| OsString::from("C:\\Windows"));
            return Ok(PathBuf::from(root).join("System32").join("schtasks.exe"));
        }
        Err(SchedulerError::Unavailable {
            program: "schtasks".into(),
            reason: format!(
                "schtasks.exe exists only on Windows; on this system use the crontab backend \
                 ({}=crontab) or point {} at a schtasks program",
                crate::env_vars::ORC_BACKEND,
                crate::env_vars::ORC_SCHTASKS
            ),
        })
    }

    pub fn new(program: PathBuf, remote: Option<Remote>) -> Schtasks {
        Schtasks { program, remote, timeout: CALL_TIMEOUT }
    }

    /// The program path.
    pub fn program(&self) -> &Path {
        &self.program
    }

    fn program_name(&self) -> String {
        self.program.display().to_string()
    }

    /// Builds the full argument list: verb, remote switches, then the rest.
    fn full_args(&self, verb: &str, rest: Vec<Arg>) -> Vec<Arg> {
        let mut all = vec![arg(verb)];
        if let Some(r) = &self.remote {
            all.push(arg("/S"));
            all.push(arg(&r.host));
            if let Some(u) = &r.user {
                all.push(arg("/U"));
                all.push(arg(u));
                if let Some(p) = &r.password {
                    all.push(arg("/P"));
                    all.push(secret(p));
                }
            }
        }
        all.extend(rest);
        // Every verb accepts /HRESULT: failures then exit with their HRESULT, whatever the
        // display language (see `hresult`).
        all.push(arg("/HRESULT"));
        all
    }

    /// Runs one call; returns its output whatever the exit code (errors only when it could not
    /// run or did not finish).
    fn call_raw(
        &self,
        verb: &str,
        rest: Vec<Arg>,
    ) -> std::result::Result<CallOutput, SchedulerError> {
        let args = self.full_args(verb, rest);
        let shown = display_args(&args);
        tracing::debug!(program = %self.program.display(), args = %shown, "schtasks");
        let mut cmd = Command::new(&self.program);
        cmd.args(args.iter().map(|a| &a.value));
        let done = crate::scheduler::program::run(cmd, None, self.timeout)
            .map_err(|f| f.into_error(self.program_name(), shown, self.timeout))?;
        let stdout = decode_owned(done.stdout);
        let stderr = decode_owned(done.stderr);
        // Windows exit codes are 32-bit; keep them signed as schtasks' own output does.
        let code = done.code;
        Ok(CallOutput { code, stdout, stderr })
    }

    /// Runs one call and turns a non-zero exit code into the matching error.
    fn call(&self, verb: &str, rest: Vec<Arg>) -> std::result::Result<CallOutput, SchedulerError> {
        let args = self.full_args(verb, rest.clone());
        let out = self.call_raw(verb, rest)?;
        if out.code == 0 {
            return Ok(out);
        }
        Err(classify_failure(&self.program_name(), &display_args(&args), &out))
    }

    /// `/Query /FO CSV /V /NH`: every task visible to the caller, one row per trigger.
    pub fn query_all(&self) -> std::result::Result<csv::Parsed, SchedulerError> {
        let out = self.call("/Query", vec![arg("/FO"), arg("CSV"), arg("/V"), arg("/NH")])?;
        Ok(csv::parse(&out.stdout))
    }

    /// `/Query /TN <path> /FO CSV /V /NH`: one task's rows, `None` when it does not exist.
    pub fn query_task(
        &self,
        path: &str,
    ) -> std::result::Result<Option<csv::Parsed>, SchedulerError> {
        let rest = vec![arg("/TN"), arg(path), arg("/FO"), arg("CSV"), arg("/V"), arg("/NH")];
        let shown = display_args(&self.full_args("/Query", rest.clone()));
        let out = self.call_raw("/Query", rest)?;
        if out.code == 0 {
            return Ok(Some(csv::parse(&out.stdout)));
        }
        if is_not_found(&out) {
            return Ok(None);
        }
        Err(classify_failure(&self.program_name(), &shown, &out))
    }

    /// `/Create /TN <path> /XML <file> /F` (plus `/RU /RP` for a named account).
    pub fn create(
        &self,
        path: &str,
        xml_file: &Path,
        logon: Option<&Logon>,
    ) -> std::result::Result<(), SchedulerError> {
        let mut rest = vec![arg("/TN"), arg(path), arg("/XML"), arg(xml_file), arg("/F")];
        if let Some(l) = logon {
            rest.extend([arg("/RU"), arg(&l.user), arg("/RP"), secret(&l.password)]);
        }
        self.call("/Create", rest).map(|_| ())
    }

    /// `/Delete /TN <path> /F`; a task that is already gone counts as deleted.
    pub fn delete(&self, path: &str) -> std::result::Result<(), SchedulerError> {
        let rest = vec![arg("/TN"), arg(path), arg("/F")];
        let shown = display_args(&self.full_args("/Delete", rest.clone()));
        let out = self.call_raw("/Delete", rest)?;
        if out.code == 0 || is_not_found(&out) {
            return Ok(());
        }
        Err(classify_failure(&self.program_name(), &shown, &out))
    }

    /// `/Query /TN <path> /XML`: the task's XML as Task Scheduler holds it.
    pub fn query_xml(&self, path: &str) -> std::result::Result<String, SchedulerError> {
        self.call("/Query", vec![arg("/TN"), arg(path), arg("/XML")]).map(|o| o.stdout)
    }

    /// `/Change /TN <path> /ENABLE|/DISABLE`.
    pub fn set_enabled(
        &self,
        path: &str,
        enabled: bool,
    ) -> std::result::Result<(), SchedulerError> {
        let switch = if enabled { "/ENABLE" } else { "/DISABLE" };
        self.call("/Change", vec![arg("/TN"), arg(path), arg(switch)]).map(|_| ())
    }

    /// `/Run /TN <path>`: ask Task Scheduler to start the task now.
    pub fn run_now(&self, path: &str) -> std::result::Result<(), SchedulerError> {
        self.call("/Run", vec![arg("/TN"), arg(path)]).map(|_| ())
    }

    /// `/End /TN <path>`: stop a running instance.
    pub fn end(&self, path: &str) -> std::result::Result<(), SchedulerError> {
        self.call("/End", vec![arg("/TN"), arg(path)]).map(|_| ())
    }
}

/// Shows arguments as a command line would, secrets masked.
fn display_args(args: &[Arg]) -> String {
    args.iter()
        .map(|a| {
            if a.secret {
                return "***".to_string();
            }
            let s = a.value.to_string_lossy();
            if s.is_empty() || s.contains(' ') { format!("\"{s}\"") } else { s.into_owned() }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a failed call means: from its HRESULT exit code, else from its text.
fn failure_kind(out: &CallOutput) -> hresult::Kind {
    hresult::classify(hresult::from_exit(out.code), &format!("{}\n{}", out.stderr, out.stdout))
}

fn is_not_found(out: &CallOutput) -> bool {
    out.code != 0 && failure_kind(out) == hresult::Kind::NotFound
}

/// Turns a failed call into the matching error, by HRESULT first (orc passes `/HRESULT`),
/// by its text only when the code says nothing specific (see [`hresult`]).
fn classify_failure(program: &str, args: &str, out: &CallOutput) -> SchedulerError {
    let code = hresult::from_exit(out.code);
    let kind = failure_kind(out);
    let text = message_lines(if out.stderr.trim().is_empty() { &out.stdout } else { &out.stderr });
    let message = match code.and_then(hresult::lookup) {
        Some(k) => format!("{} {} ({}): {text}", hresult::hex(k.code), k.name, k.meaning),
        None => text,
    };
    match kind {
        hresult::Kind::AccessDenied => {
            SchedulerError::AccessDenied { program: program.into(), args: args.into() }
        }
        hresult::Kind::Unavailable => {
            SchedulerError::Unavailable { program: program.into(), reason: message }
        }
        _ => SchedulerError::Failed {
            program: program.into(),
            args: args.into(),
            code: out.code,
            stderr: message,
        },
    }
}

/// The meaningful lines of a message, joined (schtasks puts the detail on a second line).
fn message_lines(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(6).collect();
    if lines.is_empty() { "(no message)".to_string() } else { lines.join(" ") }
}

/// [`decode`] of output orc no longer needs as bytes: valid UTF-8 becomes the string in
/// place, without a copy (a query of 10,000 tasks answers with megabytes).
fn decode_owned(mut bytes: Vec<u8>) -> String {
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return decode(&bytes);
    }
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).unwrap_or_else(|e| decode(e.as_bytes()))
}

/// Decodes program output: UTF-8 (BOM stripped) when valid, UTF-16LE when it has a BOM, else
/// the OEM code page on Windows, else lossy UTF-8.
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> =
            rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16_lossy(&units);
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => decode_oem(bytes),
    }
}

#[cfg(windows)]
fn decode_oem(bytes: &[u8]) -> String {
    use windows_sys::Win32::Globalization::{CP_OEMCP, MultiByteToWideChar};
    if bytes.is_empty() || bytes.len() > i32::MAX as usize {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    // SAFETY: `bytes` is a valid buffer of the given length; a null output buffer with size 0
    // asks only for the required length.
    let needed = unsafe {
        MultiByteToWideChar(
            CP_OEMCP,
            0,
            bytes.as_ptr(),
            bytes.len() as i32,
            std::ptr::null_mut(),
            0,
        )
    };
    if needed <= 0 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut wide = vec![0u16; needed as usize];
    // SAFETY: `wide` has room for `needed` UTF-16 units, as computed by the call above.
    let written = unsafe {
        MultiByteToWideChar(
            CP_OEMCP,
            0,
            bytes.as_ptr(),
            bytes.len() as i32,
            wide.as_mut_ptr(),
            needed,
        )
    };
    if written <= 0 {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    String::from_utf16_lossy(&wide[..written as usize])
}

#[cfg(not(windows))]
fn decode_oem(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified() {
        let out = |code: i64, stderr: &str| CallOutput {
            code,
            stdout: String::new(),
            stderr: stderr.into(),
        };
        assert!(matches!(
            classify_failure("schtasks", "/Create", &out(1, "ERROR: Access is denied.\r\n")),
            SchedulerError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify_failure("schtasks", "/Create", &out(1, "ОШИБКА: отказано в доступе.\r\n")),
            SchedulerError::AccessDenied { .. }
        ));
        let e = classify_failure(
            "schtasks",
            "/Create",
            &out(
                1,
                "ERROR: The task XML is malformed.\r\n(1,2)::ERROR: incorrect document syntax\r\n",
            ),
        );
        match e {
            SchedulerError::Failed { code, stderr, .. } => {
                assert_eq!(code, 1);
                assert_eq!(
                    stderr,
                    "ERROR: The task XML is malformed. (1,2)::ERROR: incorrect document syntax"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_failure(
                "schtasks",
                "/Query",
                &out(1, "ERROR: The RPC server is unavailable.\r\n")
            ),
            SchedulerError::Unavailable { .. }
        ));
        assert!(is_not_found(&out(1, "ERROR: The system cannot find the file specified.\r\n")));
        assert!(is_not_found(&out(
            1,
            "ERROR: The specified task name \"\\x\" does not exist in the system."
        )));
        // By code, whatever the language.
        let fr = "ERREUR : Le nom de tâche spécifié \"\\x\" n'existe pas dans le système.";
        assert!(is_not_found(&out(i64::from(0x8007_0002_u32 as i32), fr)));
        assert!(!is_not_found(&out(1, fr)));
        match classify_failure(
            "schtasks",
            "/Create",
            &out(
                i64::from(0x8007_052E_u32 as i32),
                "ERREUR : Le nom d'utilisateur ou le mot de passe est incorrect.\r\n",
            ),
        ) {
            SchedulerError::Failed { stderr, .. } => assert_eq!(
                stderr,
                "0x8007052E ERROR_LOGON_FAILURE (the user name or password of the run-as \
                 account is incorrect): ERREUR : Le nom d'utilisateur ou le mot de passe est \
                 incorrect."
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_failure("schtasks", "/Create", &out(i64::from(0x8007_0005_u32 as i32), "")),
            SchedulerError::AccessDenied { .. }
        ));
        assert!(matches!(
            classify_failure(
                "schtasks",
                "/Query",
                &out(i64::from(0x8004_1315_u32 as i32), "ERREUR : arrêté")
            ),
            SchedulerError::Unavailable { .. }
        ));
    }

    #[test]
    fn access_denied_error_names_the_elevated_shell_and_exits_4() {
        let e = crate::Error::Scheduler(SchedulerError::AccessDenied {
            program: "schtasks".into(),
            args: "/Create".into(),
        });
        assert!(e.to_string().contains("elevated"));
        assert_eq!(e.exit_code(), crate::error::exit::SCHEDULER);
    }

    #[test]
    fn secrets_are_masked_in_messages() {
        let r = Schtasks::new(
            PathBuf::from("schtasks"),
            Some(Remote {
                host: "srv".into(),
                user: Some("adm".into()),
                password: Some(Zeroizing::new("pw!".into())),
            }),
        );
        let shown = display_args(
            &r.full_args("/Create", vec![arg("/TN"), arg("\\a b"), arg("/RP"), secret("s3")]),
        );
        assert_eq!(shown, "/Create /S srv /U adm /P *** /TN \"\\a b\" /RP *** /HRESULT");
    }

    #[test]
    fn output_decoding() {
        assert_eq!(decode("héllo".as_bytes()), "héllo");
        assert_eq!(decode(b"\xEF\xBB\xBFabc"), "abc");
        // The owned form decodes the same, the BOM dropped in place.
        for bytes in [&b"\xEF\xBB\xBFabc"[..], "héllo".as_bytes(), &[0xFF, 0xFE, b'a', 0, b'b', 0]]
        {
            assert_eq!(decode_owned(bytes.to_vec()), decode(bytes));
        }
        assert_eq!(decode_owned(vec![0x8E, 0x98]), decode(&[0x8E, 0x98]));
        assert_eq!(decode(&[0xFF, 0xFE, b'a', 0, b'b', 0]), "ab");
        // CP866 "ОШИБКА" is not UTF-8: never panics, decodes lossily off Windows.
        let s = decode(&[0x8E, 0x98, 0x88, 0x81, 0x8A, 0x80]);
        assert!(!s.is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn calls_capture_both_streams_and_the_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("fake.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho \"out $*\"\necho 'ERROR: Access is denied.' >&2\nexit 1\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = Schtasks::new(script.clone(), None);
        let out = r.call_raw("/Query", vec![arg("/TN"), arg("x")]).unwrap();
        assert_eq!(out.code, 1);
        assert_eq!(out.stdout.trim(), "out /Query /TN x /HRESULT");
        assert!(out.stderr.contains("Access is denied"));
        assert!(matches!(r.run_now("x"), Err(SchedulerError::AccessDenied { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn hung_calls_time_out() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("hang.sh");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut r = Schtasks::new(script, None);
        r.timeout = Duration::from_millis(200);
        let started = std::time::Instant::now();
        assert!(matches!(r.end("x"), Err(SchedulerError::Timeout { .. })));
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

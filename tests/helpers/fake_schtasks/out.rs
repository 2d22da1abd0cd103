//! Output streams, line endings, output code page and the failure type that carries
//! `ERROR:` lines plus the exit code.

use std::io::Write;

use crate::locale::encode_cp850;

/// E_FAIL, the exit code of every command-line syntax error (§3.3).
pub(crate) const E_FAIL: u32 = 0x8000_4005;
/// HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND).
pub(crate) const HR_FILE_NOT_FOUND: u32 = 0x8007_0002;
/// HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND).
pub(crate) const HR_PATH_NOT_FOUND: u32 = 0x8007_0003;
/// HRESULT_FROM_WIN32(ERROR_ACCESS_DENIED).
pub(crate) const HR_ACCESS_DENIED: u32 = 0x8007_0005;
/// SCHED_E_TASK_DISABLED (the COM error behind "could not run because it is disabled").
pub(crate) const HR_TASK_DISABLED: u32 = 0x8004_1326;
/// SCHED_E_INVALID_TASK_HASH: "The task image is corrupt or has been tampered with." [U] code.
pub(crate) const HR_TASK_CORRUPT: u32 = 0x8004_1321;
/// SCHED_E_SERVICE_NOT_RUNNING.
pub(crate) const HR_SERVICE_NOT_RUNNING: u32 = 0x8004_1315;
/// HRESULT_FROM_WIN32(RPC_S_SERVER_UNAVAILABLE).
pub(crate) const HR_RPC_UNAVAILABLE: u32 = 0x8007_06BA;
/// HRESULT_FROM_WIN32(ERROR_INVALID_NAME).
pub(crate) const HR_INVALID_NAME: u32 = 0x8007_007B;
/// HRESULT_FROM_WIN32(ERROR_FILENAME_EXCED_RANGE).
pub(crate) const HR_NAME_TOO_LONG: u32 = 0x8007_00CE;
/// HRESULT_FROM_WIN32(ERROR_ALREADY_EXISTS).
pub(crate) const HR_ALREADY_EXISTS: u32 = 0x8007_00B7;
/// HRESULT_FROM_WIN32(ERROR_LOGON_FAILURE).
pub(crate) const HR_LOGON_FAILURE: u32 = 0x8007_052E;
/// HRESULT_FROM_WIN32(ERROR_NOT_SUPPORTED).
pub(crate) const HR_NOT_SUPPORTED: u32 = 0x8007_0032;
/// HRESULT_FROM_WIN32(ERROR_CANCELLED): the user answered N to a Y/N prompt.
pub(crate) const HR_CANCELLED: u32 = 0x8007_04C7;

/// Which bytes the fake writes for non-ASCII characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutEnc {
    Utf8,
    Cp850,
}

/// The two output streams. Every `\n` becomes CRLF on the way out.
#[derive(Debug)]
pub(crate) struct Out {
    enc: OutEnc,
}

impl Out {
    pub(crate) fn new(enc: OutEnc) -> Out {
        Out { enc }
    }

    fn encode(&self, s: &str) -> Vec<u8> {
        let crlf = s.replace('\n', "\r\n");
        match self.enc {
            OutEnc::Utf8 => crlf.into_bytes(),
            OutEnc::Cp850 => encode_cp850(&crlf),
        }
    }

    /// Writes `s` to stdout without adding a line end (used for Y/N prompts).
    pub(crate) fn print(&self, s: &str) {
        let mut o = std::io::stdout().lock();
        // A closed pipe is not our problem: the caller stopped listening.
        let _ = o.write_all(&self.encode(s));
        let _ = o.flush();
    }

    /// One stdout line, CRLF-terminated.
    pub(crate) fn line(&self, s: &str) {
        self.print(&format!("{s}\n"));
    }

    /// One stderr line, CRLF-terminated.
    pub(crate) fn err_line(&self, s: &str) {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(&self.encode(&format!("{s}\n")));
        let _ = e.flush();
    }
}

/// How a failed command ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// Command-line syntax error: always E_FAIL, `/HRESULT` or not.
    Syntax,
    /// Runtime failure: exit 1, or the HRESULT itself when `/HRESULT` was given.
    Runtime(u32),
}

/// A failed command: the lines for stdout (rare), the lines for stderr, the exit code.
#[derive(Debug)]
pub(crate) struct Fail {
    pub(crate) stdout: Vec<String>,
    pub(crate) stderr: Vec<String>,
    pub(crate) code: Code,
}

impl Fail {
    pub(crate) fn runtime(line: String, hresult: u32) -> Fail {
        Fail { stdout: Vec::new(), stderr: vec![line], code: Code::Runtime(hresult) }
    }

    pub(crate) fn syntax(lines: Vec<String>) -> Fail {
        Fail { stdout: Vec::new(), stderr: lines, code: Code::Syntax }
    }

    /// A failure that prints nothing more (e.g. the user answered N to a prompt).
    pub(crate) fn silent(hresult: u32) -> Fail {
        Fail { stdout: Vec::new(), stderr: Vec::new(), code: Code::Runtime(hresult) }
    }
}

pub(crate) type Res<T = ()> = Result<T, Fail>;

/// Maps a 32-bit Windows exit code to what this platform can carry.
///
/// On Windows the process exit code is the full 32-bit value (0x80004005 reads back as
/// 2147500037 unsigned / -2147467259 signed). A Unix exit status has only 8 bits, so on
/// Unix the fake exits with the low byte: 0x80004005 becomes 5, 0x80070002 becomes 2.
pub(crate) fn platform_exit_code(code: u32) -> i32 {
    if cfg!(windows) { code as i32 } else { (code & 0xFF) as i32 }
}

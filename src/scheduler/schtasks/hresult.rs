//! Why a schtasks call failed, decided from its HRESULT first and its (localized) text only
//! as a fallback.
//!
//! orc passes `/HRESULT` to every verb (all six accept it: `schtasks.md` §1.1, §2.1, §3.1 —
//! "process exit code will be in the HRESULT format"), so a failure exits with the HRESULT
//! instead of `1`, whatever the display language. The codes are Microsoft's
//! (`task-scheduler-error-and-success-constants.md`, Win32 error codes as
//! `HRESULT_FROM_WIN32`). Text matching remains for a schtasks that ignores `/HRESULT` and
//! for messages whose code says nothing specific.

/// What a failure means for orc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Not elevated, or the task's ACL refuses the caller (exit 4 with the elevated-shell hint).
    AccessDenied,
    /// No such task (a deletion of it is already done).
    NotFound,
    /// The Task Scheduler service or the remote machine cannot be reached.
    Unavailable,
    /// The definition was refused (a value out of range, an unexpected node…).
    BadDefinition,
    /// The run-as account's name or password is wrong, or it lacks the logon right.
    LogonFailure,
    /// The task is disabled (`/Run`).
    Disabled,
    /// schtasks did not understand its command line (E_FAIL).
    Syntax,
    /// Anything else.
    Other,
}

/// A known HRESULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub code: u32,
    pub name: &'static str,
    pub kind: Kind,
    pub meaning: &'static str,
}

/// The HRESULTs orc recognizes (the table in `docs/guide/scheduler-internals.md`).
pub const KNOWN: &[Known] = &[
    Known {
        code: 0x8007_0005,
        name: "E_ACCESSDENIED",
        kind: Kind::AccessDenied,
        meaning: "access is denied",
    },
    Known {
        code: 0x8007_0002,
        name: "ERROR_FILE_NOT_FOUND",
        kind: Kind::NotFound,
        meaning: "no such task",
    },
    Known {
        code: 0x8007_0003,
        name: "ERROR_PATH_NOT_FOUND",
        kind: Kind::NotFound,
        meaning: "no such task folder",
    },
    Known {
        code: 0x8004_1318,
        name: "SCHED_E_INVALIDVALUE",
        kind: Kind::BadDefinition,
        meaning: "the task XML contains a value which is incorrectly formatted or out of range",
    },
    Known {
        code: 0x8004_1316,
        name: "SCHED_E_UNEXPECTEDNODE",
        kind: Kind::BadDefinition,
        meaning: "the task XML contains an unexpected node",
    },
    Known {
        code: 0x8004_1317,
        name: "SCHED_E_NAMESPACE",
        kind: Kind::BadDefinition,
        meaning: "the task XML contains an element or attribute from an unexpected namespace",
    },
    Known {
        code: 0x8004_1319,
        name: "SCHED_E_MISSINGNODE",
        kind: Kind::BadDefinition,
        meaning: "the task XML is missing a required element or attribute",
    },
    Known {
        code: 0x8004_131A,
        name: "SCHED_E_MALFORMEDXML",
        kind: Kind::BadDefinition,
        meaning: "the task XML is malformed",
    },
    Known {
        code: 0x8004_131D,
        name: "SCHED_E_TOO_MANY_NODES",
        kind: Kind::BadDefinition,
        meaning: "the task XML contains too many nodes of the same type",
    },
    Known {
        code: 0x8007_052E,
        name: "ERROR_LOGON_FAILURE",
        kind: Kind::LogonFailure,
        meaning: "the user name or password of the run-as account is incorrect",
    },
    Known {
        code: 0x8007_0569,
        name: "ERROR_LOGON_TYPE_NOT_GRANTED",
        kind: Kind::LogonFailure,
        meaning: "the run-as account lacks the \"Log on as a batch job\" right",
    },
    Known {
        code: 0x8004_1315,
        name: "SCHED_E_SERVICE_NOT_RUNNING",
        kind: Kind::Unavailable,
        meaning: "the Task Scheduler service is not running",
    },
    Known {
        code: 0x8007_06BA,
        name: "RPC_S_SERVER_UNAVAILABLE",
        kind: Kind::Unavailable,
        meaning: "the RPC server is unavailable",
    },
    Known {
        code: 0x8004_1326,
        name: "SCHED_E_TASK_DISABLED",
        kind: Kind::Disabled,
        meaning: "the task is disabled",
    },
    Known {
        code: 0x8007_007B,
        name: "ERROR_INVALID_NAME",
        kind: Kind::Other,
        meaning: "the task name is not valid",
    },
    Known {
        code: 0x8007_00B7,
        name: "ERROR_ALREADY_EXISTS",
        kind: Kind::Other,
        meaning: "a task or folder of that name already exists",
    },
    Known {
        code: 0x8000_4005,
        name: "E_FAIL",
        kind: Kind::Syntax,
        meaning: "schtasks did not accept its command line",
    },
];

/// The entry for a code, if orc knows it.
pub fn lookup(code: u32) -> Option<&'static Known> {
    KNOWN.iter().find(|k| k.code == code)
}

/// `0x8007052E` as text.
pub fn hex(code: u32) -> String {
    format!("0x{code:08X}")
}

/// The HRESULT carried by a schtasks exit code, if it is one.
///
/// On Windows the exit code is the full 32-bit value: an HRESULT failure has its top bit set
/// (`0x80070005` reads back as -2147024891). No schtasks exists on other systems: there
/// `ORC_SCHTASKS` names a stand-in (the test fake), and a Unix exit status keeps only the low
/// 8 bits of the HRESULT; such a byte is read as the known HRESULT with that low byte when
/// exactly one has it (`5` is both E_ACCESSDENIED and E_FAIL: left to the text).
pub fn from_exit(code: i64) -> Option<u32> {
    from_exit_on(code, cfg!(windows))
}

fn from_exit_on(code: i64, windows: bool) -> Option<u32> {
    let value = code as u32;
    if value & 0x8000_0000 != 0 {
        return Some(value);
    }
    if windows || !(2..=255).contains(&code) {
        return None;
    }
    let mut same = KNOWN.iter().filter(|k| k.code & 0xFF == value);
    match (same.next(), same.next()) {
        (Some(k), None) => Some(k.code),
        _ => None,
    }
}

/// Messages (in the languages seen in the field) meaning "Access is denied".
const ACCESS_DENIED: &[&str] = &[
    "access is denied",
    "accès refusé",
    "acces refuse",
    "zugriff verweigert",
    "acceso denegado",
    "accesso negato",
    "acesso negado",
    "odmowa dostępu",
    "toegang geweigerd",
    "отказано в доступе",
    "アクセスが拒否されました",
    "拒绝访问",
    "存取被拒",
];

/// Messages meaning the Task Scheduler service (or the remote machine) cannot be reached.
const UNAVAILABLE: &[&str] = &[
    "service is not available",
    "service is not running",
    "rpc server is unavailable",
    "network path was not found",
    "service n'est pas disponible",
];

/// Messages meaning "no such task".
const NOT_FOUND: &[&str] = &[
    "cannot find the file specified",
    "cannot find the path specified",
    "does not exist in the system",
    "le fichier spécifié est introuvable",
    "no puede encontrar el archivo especificado",
    "kann die angegebene datei nicht finden",
];

/// The kind of a failure: from its HRESULT when orc knows it, else from its text.
pub fn classify(hresult: Option<u32>, text: &str) -> Kind {
    if let Some(k) = hresult.and_then(lookup)
        && k.kind != Kind::Syntax
    {
        return k.kind;
    }
    let lower = text.to_lowercase();
    let any = |list: &[&str]| list.iter().any(|m| lower.contains(m));
    if any(ACCESS_DENIED) {
        Kind::AccessDenied
    } else if any(UNAVAILABLE) {
        Kind::Unavailable
    } else if any(NOT_FOUND) {
        Kind::NotFound
    } else if hresult == Some(0x8000_4005) {
        Kind::Syntax
    } else {
        Kind::Other
    }
}

/// Task Scheduler's "Last Result": hex for HRESULT/NTSTATUS/SCHED_S codes, and what the
/// well-known values mean.
pub fn describe_result(code: i64) -> (Option<String>, Option<&'static str>) {
    let unsigned = code as u32;
    let meaning = match unsigned {
        0 => Some("success"),
        7 => Some("orc: dependencies not met"),
        124 => Some("orc: timed out"),
        0x0004_1300 => Some("ready"),
        0x0004_1301 => Some("running"),
        0x0004_1302 => Some("disabled"),
        0x0004_1303 => Some("has not run yet"),
        0x0004_1304 => Some("no more runs scheduled"),
        0x0004_1306 => Some("terminated"),
        0x0004_1325 => Some("queued"),
        0x8007_0002 => Some("file not found"),
        0x8007_0005 => Some("access denied"),
        // ERROR_DIRECTORY (267): "The directory name is invalid" — the Start In directory.
        0x8007_010B => Some("the Start In directory is invalid"),
        0x8004_131F => Some("an instance is already running"),
        0x8007_10E0 => Some("refused by the operator or administrator"),
        0xC000_013A => Some("interrupted (Ctrl-C or console closed)"),
        0xC000_0005 => Some("crashed (access violation)"),
        0xC000_0135 => Some("a DLL was not found"),
        0xC000_00FD => Some("crashed (stack overflow)"),
        0xC000_0409 => Some("crashed (buffer overrun)"),
        _ => None,
    };
    let hex = (code < 0 || unsigned >= 0x0004_0000).then(|| format!("0x{unsigned:08X}"));
    (hex, meaning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_win_over_text_in_any_language() {
        let fr_logon = "ERREUR : Le nom d'utilisateur ou le mot de passe est incorrect.";
        assert_eq!(classify(Some(0x8007_052E), fr_logon), Kind::LogonFailure);
        assert_eq!(classify(Some(0x8007_0569), ""), Kind::LogonFailure);
        assert_eq!(classify(Some(0x8007_0005), "ОШИБКА: что-то"), Kind::AccessDenied);
        assert_eq!(classify(Some(0x8007_0002), "エラー: 見つかりません"), Kind::NotFound);
        assert_eq!(classify(Some(0x8007_0003), ""), Kind::NotFound);
        assert_eq!(classify(Some(0x8004_1318), "ERREUR : valeur"), Kind::BadDefinition);
        assert_eq!(classify(Some(0x8004_131A), ""), Kind::BadDefinition);
        assert_eq!(classify(Some(0x8004_1315), "ERREUR : service arrêté"), Kind::Unavailable);
        assert_eq!(classify(Some(0x8007_06BA), ""), Kind::Unavailable);
        assert_eq!(classify(Some(0x8004_1326), ""), Kind::Disabled);
        // A code that says what happened wins over misleading text.
        assert_eq!(classify(Some(0x8007_0002), "Access is denied."), Kind::NotFound);
    }

    #[test]
    fn text_is_the_fallback() {
        assert_eq!(classify(None, "ERROR: Access is denied.\r\n"), Kind::AccessDenied);
        assert_eq!(classify(Some(1), "ERREUR : Accès refusé."), Kind::AccessDenied);
        assert_eq!(classify(None, "ОШИБКА: отказано в доступе."), Kind::AccessDenied);
        assert_eq!(
            classify(None, "ERROR: The system cannot find the file specified."),
            Kind::NotFound
        );
        assert_eq!(
            classify(None, "ERROR: The specified task name \"\\x\" does not exist in the system."),
            Kind::NotFound
        );
        assert_eq!(classify(None, "ERROR: The RPC server is unavailable."), Kind::Unavailable);
        assert_eq!(classify(None, "ERROR: The task XML is malformed."), Kind::Other);
        // E_FAIL (a usage error) is only a syntax error when the text says nothing more.
        assert_eq!(classify(Some(0x8000_4005), "ERROR: Invalid syntax."), Kind::Syntax);
        assert_eq!(classify(Some(0x8000_4005), "ERROR: Access is denied."), Kind::AccessDenied);
        assert_eq!(classify(Some(0x8123_4567), "ERROR: whatever"), Kind::Other);
    }

    #[test]
    fn exit_codes_carry_the_hresult() {
        // Windows: the full value, read back signed.
        assert_eq!(from_exit_on(-2_147_024_891, true), Some(0x8007_0005));
        assert_eq!(from_exit_on(i64::from(0x8007_052E_u32), true), Some(0x8007_052E));
        assert_eq!(from_exit_on(1, true), None);
        assert_eq!(from_exit_on(2, true), None);
        assert_eq!(from_exit_on(0, true), None);
        // A Unix stand-in: the low byte, when it names exactly one known HRESULT.
        assert_eq!(from_exit_on(2, false), Some(0x8007_0002));
        assert_eq!(from_exit_on(0x2E, false), Some(0x8007_052E));
        assert_eq!(from_exit_on(0x18, false), Some(0x8004_1318));
        assert_eq!(from_exit_on(0x15, false), Some(0x8004_1315));
        assert_eq!(from_exit_on(5, false), None, "E_ACCESSDENIED or E_FAIL");
        assert_eq!(from_exit_on(1, false), None);
        assert_eq!(from_exit_on(0x42, false), None);
        assert_eq!(from_exit_on(-2_147_024_891, false), Some(0x8007_0005));
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, k) in KNOWN.iter().enumerate() {
            assert!(k.code & 0x8000_0000 != 0, "{}", k.name);
            assert!(KNOWN[i + 1..].iter().all(|o| o.code != k.code), "duplicate {}", k.name);
            assert_eq!(lookup(k.code), Some(k));
        }
        assert_eq!(hex(0x8007_052E), "0x8007052E");
    }
}

//! Every environment variable orc reads, declared once.
//!
//! `docs/reference/environment.md` is generated from [`ALL`] and a test fails when the two
//! differ, so a variable cannot be added here without being documented there.

/// The data directory (database, logs, run output). Same as `--home`.
pub const ORC_HOME: &str = "ORC_HOME";
/// Which OS scheduler backend to use: `schtasks` or `crontab` (default by platform).
pub const ORC_BACKEND: &str = "ORC_BACKEND";
/// Path of the `schtasks` program to call (tests point it at the fake).
pub const ORC_SCHTASKS: &str = "ORC_SCHTASKS";
/// Path of the `wevtutil` program (Windows event logs; tests point it at the fake).
pub const ORC_WEVTUTIL: &str = "ORC_WEVTUTIL";
/// Path of the `crontab` program to call (default: `crontab` found on `PATH`).
pub const ORC_CRONTAB: &str = "ORC_CRONTAB";
/// Path of the vault key file (default: outside the data directory, see `docs/guide/secrets.md`).
pub const ORC_KEY_FILE: &str = "ORC_KEY_FILE";
/// Passphrase that unlocks a passphrase-protected vault in non-interactive runs.
/// orc removes it from the environment of every child it starts.
pub const ORC_VAULT_PASSPHRASE: &str = "ORC_VAULT_PASSPHRASE";
/// `tracing` filter for orc's own diagnostics on stderr (e.g. `debug`, `orc=trace`).
pub const ORC_LOG: &str = "ORC_LOG";
/// Absolute path of the orc executable to register with the OS scheduler
/// (default: the running executable).
pub const ORC_EXE: &str = "ORC_EXE";
/// For tests and drills only: the local wall-clock time orc should believe it is
/// (`YYYY-MM-DDTHH:MM:SS`). Used to exercise slot computation and clock jumps.
pub const ORC_NOW: &str = "ORC_NOW";
/// Tests and national clouds: base URL of the Microsoft identity platform token endpoint
/// (default `https://login.microsoftonline.com`).
pub const ORC_GRAPH_LOGIN_URL: &str = "ORC_GRAPH_LOGIN_URL";
/// Tests and national clouds: base URL of Microsoft Graph (default
/// `https://graph.microsoft.com/v1.0`).
pub const ORC_GRAPH_URL: &str = "ORC_GRAPH_URL";
/// Unix: the syslog datagram socket the `eventlog` notification channel writes to
/// (default `/dev/log`); tests point it at a socket they listen on.
pub const ORC_SYSLOG_SOCKET: &str = "ORC_SYSLOG_SOCKET";

/// This host's name in a fleet (default: the computer name). Tests and drills simulate
/// several hosts sharing one home with it.
pub const ORC_HOSTNAME: &str = "ORC_HOSTNAME";
/// The database: `sqlite` (the home's `orc.db`, the default) or a PostgreSQL URL shared by a
/// fleet (`postgres://user@host/database?sslmode=require`). Same as `--store`; overrides the
/// home's `store.conf`.
pub const ORC_STORE: &str = "ORC_STORE";

/// `(name, meaning)` for every variable above: the documented table.
pub const ALL: &[(&str, &str)] = &[
    (
        ORC_HOME,
        "data directory (same as `--home`); default `%ProgramData%\\orc` on Windows, \
         `$XDG_STATE_HOME/orc` (else `~/.local/state/orc`) on Unix",
    ),
    (ORC_BACKEND, "scheduler backend: `schtasks` or `crontab` (default by platform)"),
    (
        ORC_SCHTASKS,
        "path of the schtasks program (default `%SystemRoot%\\System32\\schtasks.exe`; tests \
         point it at the fake)",
    ),
    (
        ORC_WEVTUTIL,
        "path of the wevtutil program read by `orc doctor` and `orc why` (default \
         `%SystemRoot%\\System32\\wevtutil.exe`; tests point it at the fake)",
    ),
    (ORC_CRONTAB, "path of the crontab program (default: `crontab` on `PATH`)"),
    (
        ORC_KEY_FILE,
        "vault key file (default: outside the data directory, see `docs/guide/secrets.md`)",
    ),
    (
        ORC_VAULT_PASSPHRASE,
        "passphrase for a passphrase-protected vault in non-interactive runs; removed from \
         every child's environment",
    ),
    (ORC_LOG, "filter for orc's own diagnostics on stderr (e.g. `debug`)"),
    (ORC_EXE, "orc executable to register with the scheduler (default: the running one)"),
    (ORC_NOW, "tests and drills only: pretend the local time is `YYYY-MM-DDTHH:MM:SS`"),
    (
        ORC_GRAPH_LOGIN_URL,
        "tests and national clouds: token endpoint base for `mail.transport graph` and \
         XOAUTH2 (default `https://login.microsoftonline.com`; https, or http to loopback only)",
    ),
    (
        ORC_GRAPH_URL,
        "tests and national clouds: Microsoft Graph base for `mail.transport graph` (default \
         `https://graph.microsoft.com/v1.0`; https, or http to loopback only)",
    ),
    (
        ORC_SYSLOG_SOCKET,
        "Unix: syslog socket of the `eventlog` notification channel (default `/dev/log`)",
    ),
    (
        ORC_HOSTNAME,
        "this host's name in a fleet (default: the computer name); tests and drills simulate \
         several hosts sharing one home with it",
    ),
    (
        ORC_STORE,
        "the database: `sqlite` (the home's `orc.db`, default) or a PostgreSQL URL shared by a \
         fleet (`postgres://user@host/db?sslmode=require`); same as `--store`, overrides the \
         home's `store.conf`",
    ),
];

/// Reads a variable, treating an empty value as unset.
pub fn get(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

//! The Windows Task Scheduler backend, driving `schtasks.exe`.
//!
//! * The program is `%SystemRoot%\System32\schtasks.exe` by absolute path (never looked up
//!   on `PATH`), or `ORC_SCHTASKS`.
//! * stdout and stderr are drained at the same time (one thread each), the call is bounded by
//!   a timeout, and output is decoded as UTF-8 when valid, else with the OEM code page on
//!   Windows (`MultiByteToWideChar(CP_OEMCP)`), else lossily.
//! * Tasks are registered with `/Create /TN <path> /XML <file> /F`, the file written as
//!   UTF-16LE with a BOM under `<home>/tmp` and removed afterwards.
//! * What Windows holds is read with **one** `/Query /FO CSV /V /NH` (see [`csv`]); only
//!   tasks directly in orc's folder whose name starts with orc's prefix are considered —
//!   nothing else is ever changed.

mod backend;
pub mod csv;
mod folder;
pub mod hresult;
pub mod logon;
pub mod readback;
mod runner;

pub use backend::{PARALLELISM, SchtasksBackend};
pub use folder::{DEFAULT_FOLDER, DEFAULT_PREFIX, TaskFolder};
pub use runner::{CALL_TIMEOUT, CallOutput, Remote, Schtasks, decode};

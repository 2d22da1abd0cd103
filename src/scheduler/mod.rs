//! OS scheduler backends: Windows Task Scheduler (through schtasks.exe) and crontab.

pub mod cronblock;

/// Errors from the OS scheduler, with the program, its arguments, its exit code and stderr.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{program} {args} was refused: Access is denied. Run orc from an elevated \
         (Administrator) shell"
    )]
    AccessDenied { program: String, args: String },
    #[error("{program} {args} failed (exit code {code}): {stderr}")]
    Failed { program: String, args: String, code: i64, stderr: String },
    #[error("{program} is not available: {reason}")]
    Unavailable { program: String, reason: String },
    #[error("unexpected output from {program}: {detail}")]
    Parse { program: String, detail: String },
}

//! "Run now" from the dashboard: starts `orc execute --task NAME` (trigger manual) as a
//! detached process of its own and waits until its run row exists, so the caller can answer
//! with the run id. The run then goes on without the dashboard: stopping the dashboard does
//! not stop it (its own process group on Unix; a new process group without a console on
//! Windows, so Ctrl+C in the dashboard's console does not reach it).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::store::sql::{Connection, OptionalExtension};

use crate::error::{Error, Result};

/// How long [`run_now`] waits for the run row.
pub const ROW_WAIT: Duration = Duration::from_secs(8);

/// The run started by the process `pid` for `task`, if its row exists yet.
pub fn run_of_process(
    conn: &Connection,
    task: &str,
    pid: u32,
) -> crate::store::sql::Result<Option<i64>> {
    conn.query_row(
        "SELECT id FROM runs WHERE pid = ?1 AND task COLLATE NOCASE = ?2 \
         AND status IN ('RUNNING','SUCCESS','FAILED','TIMEOUT','SKIPPED','ABANDONED') \
         ORDER BY id DESC LIMIT 1",
        crate::store::sql::params![i64::from(pid), task],
        |r| r.get(0),
    )
    .optional()
}

/// Starts `orc execute --task NAME` for the data directory `home` and returns the id of its
/// run once the row exists (a fresh read connection from `db` for each look).
pub fn run_now(orc_exe: &Path, home: &Path, task: &str, db: &crate::store::Opener) -> Result<i64> {
    let open = || db.reader().map_err(Error::Store);
    let mut cmd = Command::new(orc_exe);
    cmd.arg("--home").arg(home).args(["--quiet", "execute", "--task", task]);
    db.pass_to(&mut cmd);
    cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    detach(&mut cmd);
    let mut child = super::execute::spawn_with_retry(|| cmd.spawn()).map_err(|e| {
        Error::Failed(format!("cannot start {} execute --task {task}: {e}", orc_exe.display()))
    })?;
    let pid = child.id();
    let started = Instant::now();
    let found = loop {
        let conn = open()?;
        let id = run_of_process(&conn, task, pid).map_err(|e| {
            Error::Store(crate::store::classify(
                Path::new(conn.path().unwrap_or("")),
                "read run",
                e,
            ))
        })?;
        if let Some(id) = id {
            break Ok(id);
        }
        if let Ok(Some(status)) = child.try_wait() {
            // It may have written its row just before ending.
            if let Ok(Some(id)) = run_of_process(&open()?, task, pid) {
                break Ok(id);
            }
            break Err(Error::Failed(format!(
                "orc execute --task {task} ended ({status}) without recording a run; see the \
                 log of orc"
            )));
        }
        if started.elapsed() > ROW_WAIT {
            break Err(Error::Failed(format!(
                "orc execute --task {task} (pid {pid}) recorded no run within {}s",
                ROW_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    // Reap it when it ends (no zombie on Unix); the run itself does not depend on this.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    found
}

#[cfg(unix)]
fn detach(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(windows)]
fn detach(cmd: &mut Command) {
    use std::os::windows::process::CommandExt;
    use windows_sys::Win32::System::Threading::{CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW};
    // CREATE_NEW_PROCESS_GROUP: Ctrl+C in the dashboard's console is not sent to the run
    // (https://learn.microsoft.com/windows/win32/procthread/process-creation-flags).
    cmd.creation_flags(CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
}

//! Starting a process, tried again when the machine is briefly short of resources: the
//! task's process, and every program orc starts itself (schtasks, crontab, wevtutil, the
//! dashboard's `orc execute` and `orc schedule`).

/// Process creation can fail for a moment when the machine is short of resources (Windows:
/// `ERROR_NO_SYSTEM_RESOURCES`, `ERROR_NOT_ENOUGH_MEMORY`, `ERROR_OUTOFMEMORY`,
/// `ERROR_INTERNAL_ERROR` — the desktop heap of a busy service session, or a loaded Wine
/// server; Unix: `EAGAIN`, `ENOMEM`). Those are tried again twice, after 100 and 300 ms; any
/// other error (missing program, access denied, refused arguments) is returned at once.
/// The test harness starts orc through it too: a loaded Wine server fails `CreateProcess` the same way.
pub fn spawn_with_retry<T>(mut spawn: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut delays = [100u64, 300].into_iter();
    loop {
        match spawn() {
            Err(e) if is_transient_spawn_error(&e) => match delays.next() {
                Some(ms) => {
                    tracing::warn!(error = %e, "starting a process failed; trying again");
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                }
                None => return Err(e),
            },
            other => return other,
        }
    }
}

fn is_transient_spawn_error(e: &std::io::Error) -> bool {
    let transient: &[i32] = if cfg!(windows) {
        &[8, 14, 1359, 1450] // NOT_ENOUGH_MEMORY, OUTOFMEMORY, INTERNAL_ERROR, NO_SYSTEM_RESOURCES
    } else {
        &[11, 12] // EAGAIN, ENOMEM
    };
    e.raw_os_error().is_some_and(|code| transient.contains(&code))
}

#[cfg(test)]
mod spawn_retry_tests {
    use super::*;

    fn os(code: i32) -> std::io::Error {
        std::io::Error::from_raw_os_error(code)
    }

    #[test]
    fn transient_failures_are_retried_then_reported() {
        let code = if cfg!(windows) { 1359 } else { 11 };
        let mut calls = 0;
        let r: std::io::Result<()> = spawn_with_retry(|| {
            calls += 1;
            Err(os(code))
        });
        assert_eq!(calls, 3);
        assert_eq!(r.unwrap_err().raw_os_error(), Some(code));
        let mut calls = 0;
        let r = spawn_with_retry(|| {
            calls += 1;
            if calls < 2 { Err(os(code)) } else { Ok(7) }
        });
        assert_eq!((r.unwrap(), calls), (7, 2));
    }

    #[test]
    fn other_failures_are_not_retried() {
        let mut calls = 0;
        let r: std::io::Result<()> = spawn_with_retry(|| {
            calls += 1;
            Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such program"))
        });
        assert!(r.is_err());
        assert_eq!(calls, 1);
    }
}

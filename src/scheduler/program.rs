//! Running the OS scheduler's programs (schtasks, crontab): feed stdin, drain stdout and
//! stderr on their own threads (so neither pipe can fill up and block the program), and give
//! up after a deadline.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a finished program left behind.
#[derive(Debug)]
pub(crate) struct Finished {
    /// The exit code (32-bit on Windows, kept signed); -1 when killed by a signal.
    pub code: i64,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// How writing stdin went (`None` when there was no input).
    pub stdin: Option<std::io::Result<()>>,
}

/// Why a program produced no [`Finished`].
#[derive(Debug)]
pub(crate) enum Failure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It was still running at the deadline and was killed.
    TimedOut,
    /// Waiting for it failed.
    Wait(std::io::Error),
}

impl Failure {
    /// The scheduler error for this failure of `program ARGS`.
    pub(crate) fn into_error(
        self,
        program: String,
        args: String,
        timeout: Duration,
    ) -> super::SchedulerError {
        use super::SchedulerError;
        match self {
            Failure::TimedOut => SchedulerError::Timeout { program, args, secs: timeout.as_secs() },
            Failure::Spawn(source) | Failure::Wait(source) => {
                SchedulerError::Spawn { program, source }
            }
        }
    }
}

/// Runs `cmd` (whose arguments and environment are set) with `stdin` as its input, within
/// `timeout`.
pub(crate) fn run(
    mut cmd: Command,
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Finished, Failure> {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child =
        crate::exec::execute::spawn_with_retry(|| cmd.spawn()).map_err(Failure::Spawn)?;
    let writer = match (stdin, child.stdin.take()) {
        (Some(data), Some(mut pipe)) => {
            let data = data.to_vec();
            Some(std::thread::spawn(move || {
                let r = pipe.write_all(&data);
                drop(pipe); // EOF
                r
            }))
        }
        _ => None,
    };
    let out_thread = child.stdout.take().map(drain);
    let err_thread = child.stderr.take().map(drain);
    let code = wait(&mut child, timeout)?;
    let join = |t: Option<JoinHandle<Vec<u8>>>| t.and_then(|t| t.join().ok()).unwrap_or_default();
    Ok(Finished {
        code,
        stdout: join(out_thread),
        stderr: join(err_thread),
        stdin: writer.map(|w| w.join().unwrap_or_else(|_| Err(std::io::Error::other("panicked")))),
    })
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

fn wait(child: &mut Child, timeout: Duration) -> Result<i64, Failure> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status.code().map(i64::from).unwrap_or(-1)),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::TimedOut);
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(Failure::Wait(e)),
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn feeds_stdin_and_drains_both_streams() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "cat; echo oops >&2; exit 3"]);
        let f = run(cmd, Some(b"hello"), Duration::from_secs(10)).unwrap();
        assert_eq!(f.code, 3);
        assert_eq!(f.stdout, b"hello");
        assert_eq!(f.stderr, b"oops\n");
        assert!(matches!(f.stdin, Some(Ok(()))));
    }

    #[test]
    fn large_output_on_both_streams_does_not_block() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"]);
        let f = run(cmd, None, Duration::from_secs(10)).unwrap();
        assert_eq!((f.stdout.len(), f.stderr.len()), (300_000, 300_000));
        assert!(f.stdin.is_none());
    }

    #[test]
    fn a_hung_program_is_killed_at_the_deadline() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exec sleep 30"]);
        let started = Instant::now();
        assert!(matches!(run(cmd, None, Duration::from_millis(200)), Err(Failure::TimedOut)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn a_missing_program_is_a_spawn_failure() {
        let cmd = Command::new("/nonexistent/orc-test-program");
        assert!(matches!(run(cmd, None, Duration::from_secs(1)), Err(Failure::Spawn(_))));
    }
}

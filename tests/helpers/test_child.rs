//! `orc_test_child`: a portable stand-in for the programs tasks run, so the executor tests work
//! the same on Linux and under Wine. Its arguments are a little program run left to right:
//!
//! | action | effect |
//! |---|---|
//! | `out N` / `err N` | write N bytes of text (lines of 79 chars) to stdout / stderr |
//! | `flood N` | write N bytes to **each** of stdout and stderr, interleaved in 32 KiB chunks, no newlines |
//! | `hex HEX` / `hexerr HEX` | write raw bytes to stdout / stderr |
//! | `print TEXT` | write TEXT and a newline to stdout |
//! | `sleep MS` | sleep |
//! | `pidfile PATH` | write this process's id to PATH |
//! | `grandchild PIDFILE MS` | start a copy of itself that writes its pid to PIDFILE and sleeps MS, holding stdout and stderr; do not wait for it |
//! | `breakaway PIDFILE MS` | Windows: like `grandchild`, but created with `CREATE_BREAKAWAY_FROM_JOB`; prints `breakaway: started` or `breakaway: refused (os error N)` |
//! | `count PATH` | append one line to PATH (atomic append; the line count is the counter) |
//! | `fail-until PATH N CODE` | count (as above); exit CODE unless the counter has reached N |
//! | `touch PATH` | create PATH |
//! | `ignore-term` | Unix: ignore SIGTERM (so only SIGKILL stops it) |
//! | `signal N` | Unix: kill itself with signal N |
//! | `cwd` | print the current directory |
//! | `args …` | print the remaining arguments as a JSON array (and stop) |
//! | `env NAME…` | print `{NAME: value or null}` for the remaining names as JSON (and stop) |
//! | `exit CODE` | exit with CODE (decimal or 0x hex; the full 32 bits on Windows) |

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::exit)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    let next = |i: &mut usize| -> String {
        *i += 1;
        args.get(*i - 1).cloned().unwrap_or_else(|| {
            eprintln!("orc_test_child: missing argument");
            std::process::exit(90)
        })
    };
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    while i < args.len() {
        let action = next(&mut i);
        match action.as_str() {
            "out" => text(&mut stdout, next(&mut i).parse().unwrap()),
            "err" => text(&mut stderr, next(&mut i).parse().unwrap()),
            "flood" => {
                let n: u64 = next(&mut i).parse().unwrap();
                let chunk = vec![b'x'; 32 * 1024];
                let echunk = vec![b'y'; 32 * 1024];
                let mut left = n;
                while left > 0 {
                    let k = left.min(chunk.len() as u64) as usize;
                    if stdout.write_all(&chunk[..k]).is_err()
                        || stderr.write_all(&echunk[..k]).is_err()
                    {
                        std::process::exit(91);
                    }
                    left -= k as u64;
                }
            }
            "hex" => stdout.write_all(&hex(&next(&mut i))).unwrap(),
            "hexerr" => stderr.write_all(&hex(&next(&mut i))).unwrap(),
            "print" => {
                let t = next(&mut i);
                writeln!(stdout, "{t}").unwrap();
            }
            "sleep" => {
                stdout.flush().unwrap();
                std::thread::sleep(Duration::from_millis(next(&mut i).parse().unwrap()));
            }
            "pidfile" => {
                let path = next(&mut i);
                let tmp = format!("{path}.tmp");
                std::fs::write(&tmp, std::process::id().to_string()).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            }
            "grandchild" => {
                let pidfile = next(&mut i);
                let ms = next(&mut i);
                stdout.flush().unwrap();
                // Deliberately not waited for: it must outlive this process.
                #[allow(clippy::zombie_processes)]
                let _grandchild = Command::new(std::env::current_exe().unwrap())
                    .args(["pidfile", &pidfile, "sleep", &ms])
                    .stdin(Stdio::null())
                    .spawn()
                    .unwrap();
                // Wait until the grandchild is up, so tests can rely on its pid file.
                for _ in 0..500 {
                    if std::path::Path::new(&pidfile).exists() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            "breakaway" => {
                let pidfile = next(&mut i);
                let ms = next(&mut i);
                let mut cmd = Command::new(std::env::current_exe().unwrap());
                cmd.args(["pidfile", &pidfile, "sleep", &ms]).stdin(Stdio::null());
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
                #[cfg(windows)]
                {
                    use std::os::windows::process::CommandExt;
                    // CREATE_BREAKAWAY_FROM_JOB
                    cmd.creation_flags(0x0100_0000);
                }
                // Deliberately not waited for: it must outlive this process.
                #[allow(clippy::zombie_processes)]
                match cmd.spawn() {
                    Ok(_) => {
                        for _ in 0..500 {
                            if std::path::Path::new(&pidfile).exists() {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        writeln!(stdout, "breakaway: started").unwrap();
                    }
                    Err(e) => writeln!(stdout, "breakaway: refused ({e})").unwrap(),
                }
                stdout.flush().unwrap();
            }
            "count" => {
                let path = next(&mut i);
                let mut f =
                    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
                // Wine's append is seek-then-write (real Windows and Linux append atomically):
                // the lock keeps concurrent children from overwriting each other's line.
                f.lock().unwrap();
                f.write_all(b"1\n").unwrap();
            }
            "fail-until" => {
                let path = next(&mut i);
                let n: usize = next(&mut i).parse().unwrap();
                let code: i32 = next(&mut i).parse().unwrap();
                let mut f =
                    std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
                f.lock().unwrap();
                f.write_all(b"1\n").unwrap();
                drop(f);
                let count = std::fs::read_to_string(&path).unwrap().lines().count();
                if count < n {
                    stdout.flush().unwrap();
                    std::process::exit(code);
                }
            }
            "touch" => {
                std::fs::write(next(&mut i), b"").unwrap();
            }
            "ignore-term" => {
                #[cfg(unix)]
                // SAFETY: installing SIG_IGN for SIGTERM has no preconditions.
                unsafe {
                    libc::signal(libc::SIGTERM, libc::SIG_IGN);
                }
            }
            "signal" => {
                let n: i32 = next(&mut i).parse().unwrap();
                stdout.flush().unwrap();
                #[cfg(unix)]
                // SAFETY: sending a signal to ourselves.
                unsafe {
                    libc::kill(libc::getpid(), n);
                }
                #[cfg(not(unix))]
                let _ = n;
                std::thread::sleep(Duration::from_secs(5));
            }
            "cwd" => {
                writeln!(stdout, "{}", std::env::current_dir().unwrap().display()).unwrap();
            }
            "args" => {
                let rest = &args[i..];
                writeln!(stdout, "{}", serde_json::to_string(rest).unwrap()).unwrap();
                break;
            }
            "env" => {
                let mut map = serde_json::Map::new();
                for name in &args[i..] {
                    let v = std::env::var(name).ok().map(serde_json::Value::String);
                    map.insert(name.clone(), v.unwrap_or(serde_json::Value::Null));
                }
                writeln!(stdout, "{}", serde_json::Value::Object(map)).unwrap();
                break;
            }
            "exit" => {
                let raw = next(&mut i);
                let code: i64 = match raw.strip_prefix("0x") {
                    Some(h) => i64::from_str_radix(h, 16).unwrap(),
                    None => raw.parse().unwrap(),
                };
                stdout.flush().unwrap();
                std::process::exit(code as u32 as i32);
            }
            other => {
                eprintln!("orc_test_child: unknown action {other:?}");
                std::process::exit(92);
            }
        }
    }
    stdout.flush().unwrap();
}

fn text(w: &mut dyn Write, n: usize) {
    let line: Vec<u8> = (0..79).map(|k| b'a' + (k % 26) as u8).chain(Some(b'\n')).collect();
    let mut left = n;
    while left > 0 {
        let k = left.min(line.len());
        w.write_all(&line[..k]).unwrap();
        left -= k;
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|k| u8::from_str_radix(&s[k..k + 2], 16).unwrap()).collect()
}

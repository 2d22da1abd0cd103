//! A tiny plaintext SMTP server on 127.0.0.1 that records AUTH PLAIN logins — enough for
//! `orc configure --test-smtp` (connect, EHLO, AUTH, NOOP, QUIT). It never accepts a message.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

pub struct SmtpProbe {
    pub port: u16,
    /// `(user, password)` of every AUTH PLAIN seen.
    pub logins: Arc<Mutex<Vec<(String, String)>>>,
    /// Every command line received (AUTH lines are replaced by "AUTH ...").
    pub commands: Arc<Mutex<Vec<String>>>,
}

impl SmtpProbe {
    /// Starts the server; `greeting_delay` holds each session before the 220 greeting (so a
    /// test can look at the client while it waits).
    pub fn start(greeting_delay: Duration) -> SmtpProbe {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let logins = Arc::new(Mutex::new(Vec::new()));
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (l, c) = (logins.clone(), commands.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (l, c) = (l.clone(), c.clone());
                std::thread::spawn(move || session(stream, greeting_delay, &l, &c));
            }
        });
        SmtpProbe { port, logins, commands }
    }

    /// True if a client greeted the probe and then tried to send a message.
    pub fn sent_mail(&self) -> bool {
        let commands = self.commands.lock().unwrap();
        assert!(
            commands.iter().any(|c| c.to_ascii_uppercase().starts_with("EHLO")),
            "{commands:?}"
        );
        commands.iter().any(|c| {
            let c = c.to_ascii_uppercase();
            c.starts_with("MAIL") || c.starts_with("RCPT") || c.starts_with("DATA")
        })
    }

    pub fn logins(&self) -> Vec<(String, String)> {
        self.logins.lock().unwrap().clone()
    }
}

fn session(
    stream: TcpStream,
    delay: Duration,
    logins: &Mutex<Vec<(String, String)>>,
    commands: &Mutex<Vec<String>>,
) {
    std::thread::sleep(delay);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut w = stream.try_clone().unwrap();
    let mut r = BufReader::new(stream);
    let _ = w.write_all(b"220 probe ESMTP\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-probe\r\n250 AUTH PLAIN LOGIN\r\n"
        } else if upper.starts_with("HELO") {
            b"250 probe\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            let b64 = cmd.split_whitespace().nth(2).unwrap_or("");
            let raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap_or_default();
            let parts: Vec<String> =
                raw.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
            if parts.len() == 3 {
                logins.lock().unwrap().push((parts[1].clone(), parts[2].clone()));
            }
            commands.lock().unwrap().push("AUTH ...".into());
            let _ = w.write_all(b"235 2.7.0 accepted\r\n");
            continue;
        } else if upper.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n");
            commands.lock().unwrap().push(cmd);
            return;
        } else if upper.starts_with("MAIL")
            || upper.starts_with("RCPT")
            || upper.starts_with("DATA")
        {
            b"554 this probe accepts no mail\r\n"
        } else {
            b"250 ok\r\n"
        };
        commands.lock().unwrap().push(cmd);
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

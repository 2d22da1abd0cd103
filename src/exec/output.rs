//! Capturing a task's output with flat memory, whatever it prints.
//!
//! stdout and stderr are read at the same time on two threads (reading one then the other
//! deadlocks once the child fills the other pipe). Each chunk is first **redacted** (the task's
//! secret values become `******`, also when a value is split across two reads), then kept as a
//! bounded **head** (first [`HEAD_CAP`] bytes) and **tail** (last [`TAIL_CAP`] bytes, a ring),
//! and appended to the run's **spill file** (both streams interleaved as they arrive, capped at
//! [`SPILL_CAP`], then a marker line). The raw byte count of each stream is exact.
//!
//! Readers have a deadline: a grandchild that escaped the kill may hold a pipe open forever, so
//! [`Collector::finish`] stops waiting at the deadline and keeps what was read.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// Bytes kept from the start of each stream.
pub const HEAD_CAP: usize = 64 * 1024;
/// Bytes kept from the end of each stream.
pub const TAIL_CAP: usize = 64 * 1024;
/// Size cap of one run's spill file.
pub const SPILL_CAP: u64 = 50 * 1024 * 1024;
/// What replaces a secret value in stored output.
pub const MASK: &[u8] = b"******";

const READ_BUF: usize = 64 * 1024;

/// The bounded record of one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first bytes (up to [`HEAD_CAP`]).
    pub head: Vec<u8>,
    /// The last bytes after the head (up to [`TAIL_CAP`]); empty when everything fit the head.
    pub tail: Vec<u8>,
    /// Bytes the child wrote to this stream (before redaction).
    pub total: u64,
    /// Bytes between head and tail that were not kept.
    pub omitted: u64,
}

/// Head + tail ring for one stream.
#[derive(Debug)]
pub struct Capture {
    head: Vec<u8>,
    tail: Ring,
    kept_total: u64,
    raw_total: u64,
}

impl Default for Capture {
    fn default() -> Self {
        Capture::new(HEAD_CAP, TAIL_CAP)
    }
}

impl Capture {
    /// A capture with the given caps.
    pub fn new(head_cap: usize, tail_cap: usize) -> Capture {
        Capture {
            head: Vec::with_capacity(head_cap.min(8192)),
            tail: Ring::new(tail_cap, head_cap),
            kept_total: 0,
            raw_total: 0,
        }
    }

    /// Counts `n` bytes as written by the child (before redaction).
    pub fn count_raw(&mut self, n: usize) {
        self.raw_total += n as u64;
    }

    /// Adds (already redacted) bytes.
    pub fn push(&mut self, mut data: &[u8]) {
        self.kept_total += data.len() as u64;
        let room = self.tail.head_cap.saturating_sub(self.head.len());
        if room > 0 {
            let n = room.min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if !data.is_empty() {
            self.tail.push(data);
        }
    }

    /// A copy of what is kept so far.
    pub fn snapshot(&self) -> Captured {
        let tail = self.tail.to_vec();
        let omitted = self.kept_total - self.head.len() as u64 - tail.len() as u64;
        Captured { head: self.head.clone(), tail, total: self.raw_total, omitted }
    }
}

/// A fixed-size ring of the most recent bytes.
#[derive(Debug)]
struct Ring {
    buf: Vec<u8>,
    start: usize,
    len: usize,
    cap: usize,
    head_cap: usize,
}

impl Ring {
    fn new(cap: usize, head_cap: usize) -> Ring {
        Ring { buf: Vec::new(), start: 0, len: 0, cap, head_cap }
    }

    fn push(&mut self, data: &[u8]) {
        if self.cap == 0 {
            return;
        }
        if self.buf.len() < self.cap {
            self.buf.resize(self.cap, 0);
        }
        if data.len() >= self.cap {
            self.buf.copy_from_slice(&data[data.len() - self.cap..]);
            self.start = 0;
            self.len = self.cap;
            return;
        }
        let pos = (self.start + self.len) % self.cap;
        let first = data.len().min(self.cap - pos);
        self.buf[pos..pos + first].copy_from_slice(&data[..first]);
        let rest = data.len() - first;
        self.buf[..rest].copy_from_slice(&data[first..]);
        let new_len = self.len + data.len();
        if new_len > self.cap {
            self.start = (self.start + new_len - self.cap) % self.cap;
            self.len = self.cap;
        } else {
            self.len = new_len;
        }
    }

    fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        let first = self.len.min(self.cap - self.start);
        if self.len > 0 {
            out.extend_from_slice(&self.buf[self.start..self.start + first]);
            out.extend_from_slice(&self.buf[..self.len - first]);
        }
        out
    }
}

/// Replaces secret values by [`MASK`] in a stream of chunks. A value split across chunks is
/// still found: up to `longest - 1` bytes are held back until the next chunk (or the end).
///
/// Each value is looked for in every encoding display decoding reads
/// ([`super::decode::encodings`]: UTF-8, UTF-16LE, UTF-16BE, the OEM code page on Windows),
/// and replaced by the mask **in the same encoding**, so the masked bytes still decode as
/// the text around them (a UTF-16 mask matched one byte off, as in `x\0s\0e\0…`, stays
/// aligned because both UTF-16 masks are the same bytes shifted by one).
#[derive(Debug)]
pub struct Redactor {
    /// (encoded value, encoded mask), longest value first.
    secrets: Vec<(Vec<u8>, Vec<u8>)>,
    first_bytes: [bool; 256],
    longest: usize,
    pending: Vec<u8>,
}

impl Redactor {
    /// A redactor for these values (empty values are ignored; longer values win).
    pub fn new(secrets: &[Vec<u8>]) -> Redactor {
        let masks = super::decode::encodings(std::str::from_utf8(MASK).expect("ASCII mask"));
        let mut list: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for s in secrets.iter().filter(|s| !s.is_empty()) {
            match std::str::from_utf8(s) {
                Ok(text) => {
                    for (form, mask) in super::decode::encodings(text).into_iter().zip(&masks) {
                        if let (Some(form), Some(mask)) = (form, mask) {
                            list.push((form, mask.clone()));
                        }
                    }
                }
                Err(_) => list.push((s.clone(), MASK.to_vec())),
            }
        }
        // Stable: among equal lengths the UTF-8, then UTF-16LE form is tried first.
        list.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        let mut seen = std::collections::HashSet::new();
        list.retain(|(s, _)| seen.insert(s.clone()));
        let mut first_bytes = [false; 256];
        for (s, _) in &list {
            first_bytes[s[0] as usize] = true;
        }
        let longest = list.first().map_or(0, |(s, _)| s.len());
        Redactor { secrets: list, first_bytes, longest, pending: Vec::new() }
    }

    /// Whether there is anything to redact.
    pub fn is_active(&self) -> bool {
        !self.secrets.is_empty()
    }

    /// Feeds a chunk; appends what is safe to release to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if !self.is_active() {
            out.extend_from_slice(chunk);
            return;
        }
        self.pending.extend_from_slice(chunk);
        let consumed = self.scan(self.hold_from(), out);
        self.pending.drain(..consumed);
    }

    /// Where the bytes that may begin a secret not yet complete start: the first of the last
    /// `longest - 1` pending positions from which the rest is a proper prefix of a secret form.
    /// Everything before it is released now, so the end of a stream (`\r\n` after a masked
    /// value) is not held back until end-of-file and written after the other stream's output.
    /// A secret starting earlier is complete in `pending` and is masked by [`Self::scan`].
    fn hold_from(&self) -> usize {
        let p = &self.pending;
        let start = p.len().saturating_sub(self.longest - 1);
        (start..p.len())
            .find(|&j| {
                self.first_bytes[p[j] as usize]
                    && self
                        .secrets
                        .iter()
                        .any(|(s, _)| s.len() > p.len() - j && s.starts_with(&p[j..]))
            })
            .unwrap_or(p.len())
    }

    /// Releases everything held back (end of stream).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.is_active() {
            return;
        }
        let end = self.pending.len();
        let consumed = self.scan(end, out);
        self.pending.drain(..consumed);
        out.append(&mut self.pending);
    }

    /// Emits `pending[..]` from 0 while the position is below `limit`; a match starting below
    /// `limit` is replaced whole. Returns how many pending bytes were consumed.
    fn scan(&self, limit: usize, out: &mut Vec<u8>) -> usize {
        let p = &self.pending;
        let mut i = 0;
        let mut run_start = 0;
        while i < limit {
            if self.first_bytes[p[i] as usize]
                && let Some((s, mask)) = self.secrets.iter().find(|(s, _)| p[i..].starts_with(s))
            {
                out.extend_from_slice(&p[run_start..i]);
                out.extend_from_slice(mask);
                i += s.len();
                run_start = i;
                continue;
            }
            i += 1;
        }
        let end = i.min(p.len());
        out.extend_from_slice(&p[run_start..end]);
        end
    }
}

/// The run's spill file: every byte of both streams, interleaved, up to a cap.
#[derive(Debug)]
pub struct Spill {
    path: Option<PathBuf>,
    file: Option<BufWriter<File>>,
    created: bool,
    written: u64,
    cap: u64,
    capped: bool,
    failed: bool,
}

impl Spill {
    /// A spill to `path` (created on the first byte), capped at `cap` bytes.
    pub fn to(path: PathBuf, cap: u64) -> Spill {
        Spill {
            path: Some(path),
            file: None,
            created: false,
            written: 0,
            cap,
            capped: false,
            failed: false,
        }
    }

    /// No spill file.
    pub fn none() -> Spill {
        Spill {
            path: None,
            file: None,
            created: false,
            written: 0,
            cap: 0,
            capped: true,
            failed: false,
        }
    }

    fn write(&mut self, data: &[u8]) {
        if self.capped || self.failed || data.is_empty() {
            return;
        }
        if self.file.is_none() {
            let Some(path) = &self.path else { return };
            let opened = path
                .parent()
                .map_or(Ok(false), crate::fsx::ensure_private_dir)
                .and_then(|_| crate::fsx::create_private_file(path));
            match opened {
                Ok(f) => {
                    self.file = Some(BufWriter::with_capacity(64 * 1024, f));
                    self.created = true;
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot create the output spill file");
                    self.failed = true;
                    return;
                }
            }
        }
        let room = self.cap - self.written;
        let n = (data.len() as u64).min(room) as usize;
        let marker = format!(
            "\n[orc: output file capped at {} MiB; the rest was not saved here]\n",
            self.cap / (1024 * 1024)
        );
        let result = (|| -> std::io::Result<()> {
            let f = self.file.as_mut().expect("opened above");
            f.write_all(&data[..n])?;
            if n < data.len() {
                f.write_all(marker.as_bytes())?;
            }
            Ok(())
        })();
        self.written += n as u64;
        if n < data.len() {
            self.capped = true;
        }
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot write the output spill file");
            self.failed = true;
        }
    }

    /// Flushes and returns the file's path when one was written.
    pub fn finish(&mut self) -> Option<PathBuf> {
        if let Some(mut f) = self.file.take()
            && let Err(e) = f.flush()
        {
            tracing::warn!(error = %e, "cannot write the output spill file");
        }
        if self.created { self.path.clone() } else { None }
    }

    /// The path a run's spill file gets.
    pub fn path_for(runs_dir: &Path, run_id: i64) -> PathBuf {
        runs_dir.join(format!("{run_id}.log"))
    }
}

/// Both streams of a run after collection.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub stdout: Captured,
    pub stderr: Captured,
    /// The spill file, when anything was written to it.
    pub spill_file: Option<PathBuf>,
    /// A reader was still blocked at the deadline (a process outside the tree holds the pipe).
    pub readers_abandoned: bool,
}

/// The two reader threads of a run.
#[derive(Debug)]
pub struct Collector {
    stdout: Arc<Mutex<Capture>>,
    stderr: Arc<Mutex<Capture>>,
    spill: Arc<Mutex<Spill>>,
    done: Receiver<()>,
    readers: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Collector {
    /// Starts one reader thread per stream given.
    pub fn start(
        stdout: Option<Box<dyn Read + Send>>,
        stderr: Option<Box<dyn Read + Send>>,
        secrets: &[Vec<u8>],
        spill: Spill,
    ) -> std::io::Result<Collector> {
        let spill = Arc::new(Mutex::new(spill));
        let (tx, done) = channel();
        let out_cap = Arc::new(Mutex::new(Capture::default()));
        let err_cap = Arc::new(Mutex::new(Capture::default()));
        let mut readers = 0;
        for (name, stream, cap) in [("stdout", stdout, &out_cap), ("stderr", stderr, &err_cap)] {
            let Some(mut stream) = stream else { continue };
            let cap = Arc::clone(cap);
            let spill = Arc::clone(&spill);
            let tx = tx.clone();
            let mut redactor = Redactor::new(secrets);
            std::thread::Builder::new().name(format!("orc-{name}")).spawn(move || {
                let mut buf = vec![0u8; READ_BUF];
                let mut clean = Vec::with_capacity(READ_BUF + 2 * MASK.len());
                loop {
                    let n = match stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(_) => break,
                    };
                    clean.clear();
                    redactor.push(&buf[..n], &mut clean);
                    {
                        let mut c = lock(&cap);
                        c.count_raw(n);
                        c.push(&clean);
                    }
                    lock(&spill).write(&clean);
                }
                clean.clear();
                redactor.finish(&mut clean);
                lock(&cap).push(&clean);
                lock(&spill).write(&clean);
                let _ = tx.send(());
            })?;
            readers += 1;
        }
        Ok(Collector { stdout: out_cap, stderr: err_cap, spill, done, readers })
    }

    /// Waits for both readers to reach end-of-file, at most until `deadline`, and returns what
    /// was captured. A reader still blocked at the deadline is left behind (it ends with orc).
    pub fn finish(self, deadline: Instant) -> Collected {
        let mut finished = 0;
        while finished < self.readers {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.done.recv_timeout(left) {
                Ok(()) => finished += 1,
                Err(_) => break,
            }
        }
        let readers_abandoned = finished < self.readers;
        let spill_file = lock(&self.spill).finish();
        Collected {
            stdout: lock(&self.stdout).snapshot(),
            stderr: lock(&self.stderr).snapshot(),
            spill_file,
            readers_abandoned,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_keeps_head_and_tail_and_counts() {
        let mut c = Capture::new(4, 3);
        for chunk in [&b"ab"[..], b"cdef", b"g", b"hijklm", b"n"] {
            c.count_raw(chunk.len());
            c.push(chunk);
        }
        let s = c.snapshot();
        assert_eq!(s.head, b"abcd");
        assert_eq!(s.tail, b"lmn");
        assert_eq!(s.total, 14);
        assert_eq!(s.omitted, 7);
    }

    #[test]
    fn capture_small_output_is_complete() {
        let mut c = Capture::new(4, 8);
        c.push(b"abcdefg");
        let s = c.snapshot();
        assert_eq!([s.head, s.tail].concat(), b"abcdefg");
        assert_eq!(s.omitted, 0);
    }

    #[test]
    fn ring_matches_a_naive_model() {
        // Deterministic pseudo-random chunk sizes.
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for cap in [1usize, 2, 7, 64] {
            let mut ring = Ring::new(cap, 0);
            let mut all = Vec::new();
            for _ in 0..200 {
                let len = next() % (cap * 2 + 2);
                let chunk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
                ring.push(&chunk);
                all.extend_from_slice(&chunk);
                let want = &all[all.len().saturating_sub(cap)..];
                assert_eq!(ring.to_vec(), want, "cap {cap}");
            }
        }
    }

    fn redact_in_chunks(secrets: &[&str], input: &[u8], chunk: usize) -> Vec<u8> {
        let secrets: Vec<Vec<u8>> = secrets.iter().map(|s| s.as_bytes().to_vec()).collect();
        let mut r = Redactor::new(&secrets);
        let mut out = Vec::new();
        for c in input.chunks(chunk.max(1)) {
            r.push(c, &mut out);
        }
        r.finish(&mut out);
        out
    }

    #[test]
    fn redactor_masks_across_chunk_boundaries() {
        let input = b"user=admin pass=hunter2; again:hunter2hunter2 end";
        let want = b"user=admin pass=******; again:************ end".to_vec();
        for chunk in 1..input.len() + 2 {
            assert_eq!(redact_in_chunks(&["hunter2"], input, chunk), want, "chunk {chunk}");
        }
        // Overlapping values: the longer one wins; a prefix of a secret at the end is kept.
        let out = redact_in_chunks(&["abc", "abcdef"], b"xxabcdefyyabczzab", 2);
        assert_eq!(out, b"xx******yy******zzab");
        // No secrets: bytes pass through untouched.
        assert_eq!(redact_in_chunks(&[], b"\xff\x00abc", 1), b"\xff\x00abc");
    }

    /// Only bytes that may begin a secret are held back before end-of-file: the rest of a
    /// chunk is released at once (the spill keeps the streams in arrival order).
    #[test]
    fn redactor_holds_back_only_a_possible_secret_start() {
        let mut r = Redactor::new(&[b"hunter2".to_vec()]);
        let mut out = Vec::new();
        r.push(b"pw=hunter2\r\n", &mut out);
        assert_eq!(out, b"pw=******\r\n");
        out.clear();
        r.push(b"next hun", &mut out);
        assert_eq!(out, b"next ", "`hun` may begin the secret");
        out.clear();
        r.push(b"gry", &mut out);
        assert_eq!(out, b"hungry");
        let mut le = Redactor::new(&[b"ab".to_vec()]);
        out.clear();
        le.push(&utf16("x=ab\r\n", false), &mut out);
        let mut want = utf16("x=******\r\n", false);
        want.pop(); // the final NUL may begin the UTF-16BE form ("\0a\0b")
        assert_eq!(out, want, "UTF-16LE: the mask and CRLF released");
    }

    fn utf16(text: &str, be: bool) -> Vec<u8> {
        text.encode_utf16()
            .flat_map(|u| if be { u.to_be_bytes() } else { u.to_le_bytes() })
            .collect()
    }

    /// issue 12 finding 2: a secret printed as UTF-16LE or UTF-16BE is masked (with the mask
    /// in the same encoding), wherever the chunks are cut, and display shows the mask.
    #[test]
    fn redactor_masks_utf16_forms_across_chunk_boundaries() {
        for be in [false, true] {
            let mut input = if be { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            input.extend(utf16("pw=hunter2; x hunter2", be));
            let mut want = if be { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            want.extend(utf16("pw=******; x ******", be));
            for chunk in 1..input.len() + 2 {
                assert_eq!(
                    redact_in_chunks(&["hunter2"], &input, chunk),
                    want,
                    "be {be} chunk {chunk}"
                );
            }
            assert_eq!(super::super::decode::decode(&want), "pw=******; x ******");
        }
        // No BOM, odd offset (an LE stream where a BE match comes first): still masked and
        // still decodes as the surrounding text.
        let input = utf16("Xhunter2Y", false);
        let out = redact_in_chunks(&["hunter2"], &input, 3);
        assert_eq!(super::super::decode::decode(&out), "X******Y");
        // Non-ASCII secret in UTF-16LE.
        let input = utf16("k=pässwörd", false);
        let out = redact_in_chunks(&["pässwörd"], &input, 5);
        assert_eq!(out, utf16("k=******", false));
    }

    #[test]
    fn collector_reads_both_streams_and_spills() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs").join("7.log");
        let out: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(b"out-secret-1\n".to_vec()));
        let err: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(vec![b'e'; 200_000]));
        let c =
            Collector::start(Some(out), Some(err), &[b"secret".to_vec()], Spill::to(path, 1000))
                .unwrap();
        let got = c.finish(Instant::now() + std::time::Duration::from_secs(5));
        assert!(!got.readers_abandoned);
        assert_eq!(got.stdout.head, b"out-******-1\n");
        assert_eq!(got.stdout.total, 13);
        assert_eq!(got.stderr.total, 200_000);
        assert_eq!(got.stderr.head.len(), HEAD_CAP);
        assert_eq!(got.stderr.tail.len(), TAIL_CAP);
        assert_eq!(got.stderr.omitted, 200_000 - (HEAD_CAP + TAIL_CAP) as u64);
        let spilled = std::fs::read(got.spill_file.unwrap()).unwrap();
        assert!(spilled.len() > 1000 && spilled.len() < 1200, "{}", spilled.len());
        assert!(String::from_utf8_lossy(&spilled).contains("[orc: output file capped"));
        assert!(!String::from_utf8_lossy(&spilled).contains("secret"));
    }

    #[test]
    fn collector_deadline_abandons_a_blocked_reader() {
        struct Forever;
        impl Read for Forever {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                std::thread::sleep(std::time::Duration::from_secs(3600));
                Ok(0)
            }
        }
        let c = Collector::start(Some(Box::new(Forever)), None, &[], Spill::none()).unwrap();
        let t = Instant::now();
        let got = c.finish(Instant::now() + std::time::Duration::from_millis(100));
        assert!(got.readers_abandoned);
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}

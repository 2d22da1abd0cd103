//! Masking known secret values in captured output before it is stored, shown or mailed.
//!
//! [`Redactor::redact`] works on a whole buffer; [`StreamRedactor`] works on output as it
//! arrives in chunks and still catches a secret split across two chunks (it holds back at most
//! `longest secret - 1` bytes). A child that transforms the secret (base64, reversed, split
//! over lines) defeats any redactor; `docs/guide/secrets.md` says so.

use std::borrow::Cow;

use zeroize::Zeroizing;

use super::Secret;

/// What a secret value is replaced with.
pub const MASK: &[u8] = b"***";

/// A set of secret byte strings to mask.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, so that when one secret contains another the longer one is masked whole.
    needles: Vec<Zeroizing<Vec<u8>>>,
    /// `first[b]`: some needle starts with byte `b`.
    first: Vec<bool>,
    longest: usize,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.needles.len())
    }
}

impl Redactor {
    /// A redactor for these secrets (empty values are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Redactor {
        Redactor::from_bytes(secrets.into_iter().map(|s| s.expose()))
    }

    /// A redactor for raw byte strings.
    pub fn from_bytes<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Redactor {
        let mut needles: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        for v in values {
            if !v.is_empty() && !needles.iter().any(|n| n.as_slice() == v) {
                needles.push(Zeroizing::new(v.to_vec()));
            }
            // Windows children often print with CRLF; a secret never contains it, but a
            // secret that ends in '\r' would: nothing special to do.
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut first = vec![false; 256];
        for n in &needles {
            first[n[0] as usize] = true;
        }
        let longest = needles.first().map_or(0, |n| n.len());
        Redactor { needles, first, longest }
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// The length of the longest secret.
    pub fn longest(&self) -> usize {
        self.longest
    }

    fn match_at(&self, buf: &[u8], i: usize) -> Option<usize> {
        if !self.first[buf[i] as usize] {
            return None;
        }
        self.needles.iter().find(|n| buf[i..].starts_with(n)).map(|n| n.len())
    }

    /// True when `buf[i..]` (shorter than some secret) could be the start of a secret.
    fn partial_at(&self, buf: &[u8], i: usize) -> bool {
        let tail = &buf[i..];
        self.first[buf[i] as usize]
            && self.needles.iter().any(|n| n.len() > tail.len() && n.starts_with(tail))
    }

    /// Masks every occurrence of every secret in `buf`.
    pub fn redact<'b>(&self, buf: &'b [u8]) -> Cow<'b, [u8]> {
        if self.needles.is_empty() || !(0..buf.len()).any(|i| self.match_at(buf, i).is_some()) {
            return Cow::Borrowed(buf);
        }
        let (out, _) = self.scan(buf, true);
        Cow::Owned(out)
    }

    /// Masks every secret in a string (for error messages and the like).
    pub fn redact_str<'s>(&self, s: &'s str) -> Cow<'s, str> {
        match self.redact(s.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(s),
            Cow::Owned(v) => Cow::Owned(String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// Scans `buf`; returns the masked output and how many bytes of `buf` it consumed.
    /// With `finish == false` it stops before a tail that could still become a secret.
    fn scan(&self, buf: &[u8], finish: bool) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        while i < buf.len() {
            // Wait for more input while a (longer) secret could still start here.
            if !finish && buf.len() - i < self.longest && self.partial_at(buf, i) {
                break;
            }
            if let Some(len) = self.match_at(buf, i) {
                out.extend_from_slice(MASK);
                i += len;
                continue;
            }
            out.push(buf[i]);
            i += 1;
        }
        (out, i)
    }

    /// A streaming redactor over this set of secrets.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor { redactor: self.clone(), pending: Zeroizing::new(Vec::new()) }
    }
}

/// Redacts output that arrives in chunks.
#[derive(Debug)]
pub struct StreamRedactor {
    redactor: Redactor,
    pending: Zeroizing<Vec<u8>>,
}

impl StreamRedactor {
    /// Feeds a chunk; returns the bytes that are now safe to emit.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.redactor.is_empty() {
            return chunk.to_vec();
        }
        self.pending.extend_from_slice(chunk);
        let (out, used) = self.redactor.scan(&self.pending, false);
        self.pending.drain(..used);
        out
    }

    /// Ends the stream; returns what was held back.
    pub fn finish(&mut self) -> Vec<u8> {
        let (out, _) = self.redactor.scan(&self.pending, true);
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(values: &[&str]) -> Redactor {
        Redactor::from_bytes(values.iter().map(|v| v.as_bytes()))
    }

    #[test]
    fn masks_every_occurrence() {
        let red = r(&["hunter2", "CANARY-xyz"]);
        assert_eq!(
            red.redact(b"pw=hunter2 and hunter2, CANARY-xyz!").as_ref(),
            b"pw=*** and ***, ***!"
        );
        assert!(matches!(red.redact(b"nothing here"), Cow::Borrowed(_)));
        assert_eq!(red.redact_str("x hunter2"), "x ***");
    }

    #[test]
    fn longer_secret_wins_over_contained_one() {
        let red = r(&["abc", "abcdef"]);
        assert_eq!(red.redact(b"-abcdef-abc-").as_ref(), b"-***-***-");
    }

    #[test]
    fn empty_set_and_empty_values() {
        let red = r(&["", ""]);
        assert!(red.is_empty());
        assert_eq!(red.redact(b"abc").as_ref(), b"abc");
        let mut s = red.stream();
        assert_eq!(s.push(b"abc"), b"abc");
    }

    #[test]
    fn stream_catches_secret_split_across_chunks() {
        let red = r(&["CANARY-123"]);
        let mut s = red.stream();
        let mut out = s.push(b"start CANA");
        out.extend(s.push(b"RY-1"));
        out.extend(s.push(b"23 end CAN"));
        out.extend(s.finish());
        assert_eq!(out, b"start *** end CAN");
    }

    proptest! {
        /// Chunked redaction equals whole-buffer redaction, wherever the chunks are cut.
        #[test]
        fn stream_equals_whole(
            text in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), Just(b'c')], 0..200),
            cuts in proptest::collection::vec(0usize..200, 0..10),
        ) {
            let red = r(&["abca", "bb", "cab"]);
            let whole = red.redact(&text).into_owned();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c <= text.len()).collect();
            cuts.sort();
            let mut s = red.stream();
            let mut out = Vec::new();
            let mut prev = 0;
            for c in cuts.into_iter().chain(Some(text.len())) {
                out.extend(s.push(&text[prev..c]));
                prev = c;
            }
            out.extend(s.finish());
            prop_assert_eq!(out, whole);
        }
    }
}

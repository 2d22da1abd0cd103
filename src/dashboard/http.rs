//! A deliberately small HTTP/1.1 subset: one request per connection (`Connection: close`),
//! GET and HEAD only, the request line and headers capped at [`MAX_HEAD`] bytes, no bodies.
//!
//! Parsing is pure ([`parse_head`] over bytes) so every limit and refusal is unit-tested;
//! [`read_head`] only collects bytes from the socket up to the limit.

use std::io::{self, Read, Write};

/// The most bytes of request line plus headers accepted.
pub const MAX_HEAD: usize = 8 * 1024;
/// The most header lines accepted.
pub const MAX_HEADERS: usize = 64;

/// A request method this server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
}

/// A parsed request: method, decoded path segments and query pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The raw target as sent (for logs).
    pub target: String,
    /// The path split on `/`, each segment percent-decoded; `/` is an empty list.
    pub segments: Vec<String>,
    /// `key=value` pairs of the query string, decoded (`+` is a space).
    pub query: Query,
}

impl Request {
    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Why a request was refused before routing; each maps to one status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 400: malformed request line, header, target or encoding.
    BadRequest(&'static str),
    /// 405: a well-formed request with a method other than GET and HEAD.
    MethodNotAllowed,
    /// 431: request line plus headers larger than [`MAX_HEAD`] or too many headers.
    HeadTooLarge,
    /// 505: not HTTP/1.0 or HTTP/1.1.
    VersionNotSupported,
}

impl Refusal {
    /// The status code and reason phrase.
    pub fn status(&self) -> (u16, &'static str) {
        match self {
            Refusal::BadRequest(_) => (400, "Bad Request"),
            Refusal::MethodNotAllowed => (405, "Method Not Allowed"),
            Refusal::HeadTooLarge => (431, "Request Header Fields Too Large"),
            Refusal::VersionNotSupported => (505, "HTTP Version Not Supported"),
        }
    }

    /// A one-line explanation for the response body.
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::BadRequest(why) => why,
            Refusal::MethodNotAllowed => {
                "only GET and HEAD are allowed: the dashboard is read-only"
            }
            Refusal::HeadTooLarge => "request line and headers must fit in 8 KiB",
            Refusal::VersionNotSupported => "only HTTP/1.0 and HTTP/1.1 are supported",
        }
    }
}

/// Reads from `r` until the blank line that ends the headers, at most [`MAX_HEAD`] bytes.
/// Returns the bytes up to and including the blank line.
pub fn read_head(r: &mut impl Read) -> Result<Vec<u8>, ReadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = head_end(&buf) {
            buf.truncate(end);
            return Ok(buf);
        }
        if buf.len() >= MAX_HEAD {
            return Err(ReadError::TooLarge);
        }
        let want = chunk.len().min(MAX_HEAD + 4 - buf.len());
        let n = match r.read(&mut chunk[..want]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        if n == 0 {
            return Err(if buf.is_empty() { ReadError::Closed } else { ReadError::Incomplete });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Why [`read_head`] produced no head.
#[derive(Debug)]
pub enum ReadError {
    /// The client closed the connection before sending anything.
    Closed,
    /// The client closed the connection in the middle of the head.
    Incomplete,
    /// More than [`MAX_HEAD`] bytes without a blank line.
    TooLarge,
    /// A socket error (including the read timeout).
    Io(io::Error),
}

/// The end of the head (index after `\r\n\r\n` or `\n\n`), if the buffer holds one.
fn head_end(buf: &[u8]) -> Option<usize> {
    for i in 0..buf.len() {
        if buf[i..].starts_with(b"\r\n\r\n") {
            return Some(i + 4);
        }
        if buf[i..].starts_with(b"\n\n") {
            return Some(i + 2);
        }
    }
    None
}

/// Parses a request head (request line and headers).
pub fn parse_head(head: &[u8]) -> Result<Request, Refusal> {
    if head.len() > MAX_HEAD {
        return Err(Refusal::HeadTooLarge);
    }
    let text =
        std::str::from_utf8(head).map_err(|_| Refusal::BadRequest("request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest("request line must be METHOD TARGET HTTP/1.1"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Refusal::BadRequest("method must be an upper-case token"));
    }
    if !version.starts_with("HTTP/") {
        return Err(Refusal::BadRequest("request line must end with the HTTP version"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Refusal::VersionNotSupported);
    }
    let mut headers = 0;
    for line in lines {
        if line.is_empty() {
            break;
        }
        headers += 1;
        if headers > MAX_HEADERS {
            return Err(Refusal::HeadTooLarge);
        }
        let Some((name, _value)) = line.split_once(':') else {
            return Err(Refusal::BadRequest("header line without a colon"));
        };
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(Refusal::BadRequest("malformed header name"));
        }
        if line.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(Refusal::BadRequest("control character in a header"));
        }
    }
    let (segments, query) = parse_target(target)?;
    let method = match method {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        _ => return Err(Refusal::MethodNotAllowed),
    };
    Ok(Request { method, target: target.to_string(), segments, query })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Decoded query pairs, in order.
pub type Query = Vec<(String, String)>;

/// Splits an origin-form target into decoded path segments and query pairs. Refuses
/// anything that is not an absolute path, empty or dot segments (path traversal), encoded
/// slashes, backslashes and control characters.
pub fn parse_target(target: &str) -> Result<(Vec<String>, Query), Refusal> {
    if !target.starts_with('/') {
        return Err(Refusal::BadRequest("request target must be an absolute path"));
    }
    if target.bytes().any(|b| b.is_ascii_control() || b == b'\\' || b == b' ' || b >= 0x80) {
        return Err(Refusal::BadRequest("request target holds a forbidden character"));
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let path = path.split('#').next().unwrap_or("");
    let mut segments = Vec::new();
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if !trimmed.is_empty() {
        for raw in trimmed.split('/') {
            let seg = percent_decode(raw, false)?;
            if seg.is_empty() && raw.is_empty() {
                return Err(Refusal::BadRequest("empty path segment"));
            }
            if seg == "." || seg == ".." {
                return Err(Refusal::BadRequest("dot segments are not allowed in paths"));
            }
            if seg.contains(['/', '\\']) || seg.chars().any(char::is_control) {
                return Err(Refusal::BadRequest("encoded separator in a path segment"));
            }
            segments.push(seg);
        }
    }
    let mut pairs = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((percent_decode(k, true)?, percent_decode(v, true)?));
    }
    Ok((segments, pairs))
}

/// Decodes `%XX` escapes (and `+` as space in query strings); the result must be UTF-8.
fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, Refusal> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(Refusal::BadRequest("bad % escape"))?;
                let hex =
                    std::str::from_utf8(hex).map_err(|_| Refusal::BadRequest("bad % escape"))?;
                let b =
                    u8::from_str_radix(hex, 16).map_err(|_| Refusal::BadRequest("bad % escape"))?;
                out.push(b);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| Refusal::BadRequest("escaped bytes are not UTF-8"))
}

/// A response: status, content type and body. Always sent with `Connection: close`.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
    /// Extra headers (name, value).
    pub headers: Vec<(&'static str, String)>,
}

/// `text/html; charset=utf-8`.
pub const HTML: &str = "text/html; charset=utf-8";
/// `application/json`.
pub const JSON: &str = "application/json";
/// `text/plain; charset=utf-8`.
pub const TEXT: &str = "text/plain; charset=utf-8";

impl Response {
    pub fn new(
        status: u16,
        reason: &'static str,
        content_type: &'static str,
        body: Vec<u8>,
    ) -> Self {
        Response { status, reason, content_type, body, headers: Vec::new() }
    }

    /// The response for a refused request, as plain text.
    pub fn refusal(r: &Refusal) -> Response {
        let (status, reason) = r.status();
        let mut resp =
            Response::new(status, reason, TEXT, format!("{}\n", r.message()).into_bytes());
        if *r == Refusal::MethodNotAllowed {
            resp.headers.push(("Allow", "GET, HEAD".into()));
        }
        resp
    }

    /// Writes status line, headers and (unless `head_only`) the body.
    pub fn write_to(&self, w: &mut impl Write, head_only: bool) -> io::Result<()> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\
             Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\
             X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n\
             Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; img-src data:\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        w.write_all(head.as_bytes())?;
        if !head_only {
            w.write_all(&self.body)?;
        }
        w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Request, Refusal> {
        parse_head(s.as_bytes())
    }

    #[test]
    fn parses_get_with_path_and_query() {
        let r =
            parse("GET /api/history?task=backup%2Ddb&limit=5&x=a+b HTTP/1.1\r\nHost: x\r\n\r\n")
                .unwrap();
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.segments, vec!["api", "history"]);
        assert_eq!(r.param("task"), Some("backup-db"));
        assert_eq!(r.param("limit"), Some("5"));
        assert_eq!(r.param("x"), Some("a b"));
        assert_eq!(r.param("nope"), None);
    }

    #[test]
    fn root_has_no_segments_and_head_is_accepted() {
        let r = parse("HEAD / HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!(r.method, Method::Head);
        assert!(r.segments.is_empty());
        // bare LF line ends are tolerated
        assert!(parse("GET /healthz HTTP/1.1\nHost: a\n\n").is_ok());
    }

    #[test]
    fn other_methods_are_405() {
        for m in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"] {
            let r = parse(&format!("{m} / HTTP/1.1\r\n\r\n"));
            assert_eq!(r, Err(Refusal::MethodNotAllowed), "{m}");
        }
        assert_eq!(Refusal::MethodNotAllowed.status().0, 405);
        let resp = Response::refusal(&Refusal::MethodNotAllowed);
        assert!(resp.headers.iter().any(|(n, v)| *n == "Allow" && v == "GET, HEAD"));
    }

    #[test]
    fn malformed_requests_are_400() {
        for bad in [
            "",
            "GET\r\n\r\n",
            "GET /\r\n\r\n",
            "GET / HTTP/1.1 extra\r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "get / HTTP/1.1\r\n\r\n",
            "GET / FTP/1.0\r\n\r\n",
            "GET http://example.com/ HTTP/1.1\r\n\r\n",
            "GET * HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
            "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            "GET / HTTP/1.1\r\n: empty\r\n\r\n",
            "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",
            "GET /%zz HTTP/1.1\r\n\r\n",
            "GET /% HTTP/1.1\r\n\r\n",
            "GET /%ff%fe HTTP/1.1\r\n\r\n",
            "GET /a\\b HTTP/1.1\r\n\r\n",
            "GET /task//x HTTP/1.1\r\n\r\n",
        ] {
            let r = parse(bad);
            assert!(matches!(r, Err(Refusal::BadRequest(_))), "{bad:?} gave {r:?}");
        }
        assert!(matches!(parse_head(b"GET /\xff HTTP/1.1\r\n\r\n"), Err(Refusal::BadRequest(_))));
    }

    #[test]
    fn unknown_http_version_is_505() {
        assert_eq!(parse("GET / HTTP/2.0\r\n\r\n"), Err(Refusal::VersionNotSupported));
        assert_eq!(Refusal::VersionNotSupported.status().0, 505);
    }

    #[test]
    fn path_traversal_is_refused() {
        for bad in [
            "/../etc/passwd",
            "/task/..",
            "/task/.",
            "/task/%2e%2e",
            "/task/%2E%2E/secret",
            "/task/a%2Fb",
            "/task/a%5Cb",
            "/task/%00",
            "/run/..%2f..%2fetc",
        ] {
            let r = parse(&format!("GET {bad} HTTP/1.1\r\n\r\n"));
            assert!(matches!(r, Err(Refusal::BadRequest(_))), "{bad:?} gave {r:?}");
        }
        // dots inside a name are fine (task names allow them)
        let r = parse("GET /task/nightly.backup HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(r.segments, vec!["task", "nightly.backup"]);
    }

    #[test]
    fn head_limits() {
        let long_target = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(parse(&long_target), Err(Refusal::HeadTooLarge));
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(MAX_HEADERS + 1));
        assert_eq!(parse(&many), Err(Refusal::HeadTooLarge));
        let ok = format!("GET / HTTP/1.1\r\n{}\r\n", "X-A: b\r\n".repeat(MAX_HEADERS));
        assert!(parse(&ok).is_ok());
    }

    #[test]
    fn read_head_stops_at_blank_line_and_at_the_limit() {
        let mut input: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
        assert_eq!(read_head(&mut input).unwrap(), b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        // a very long line with no end: refused after MAX_HEAD bytes, not read to the end
        let endless = vec![b'a'; MAX_HEAD * 4];
        let mut r = &endless[..];
        assert!(matches!(read_head(&mut r), Err(ReadError::TooLarge)));
        assert!(r.len() >= MAX_HEAD * 2, "stopped reading early");
        // a head that just fits
        let mut fits = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD - 100)).into_bytes();
        fits.extend_from_slice(b"\r\n");
        let mut r = &fits[..];
        assert!(read_head(&mut r).is_ok());
        let mut empty: &[u8] = b"";
        assert!(matches!(read_head(&mut empty), Err(ReadError::Closed)));
        let mut cut: &[u8] = b"GET / HTTP/1.1\r\nHost";
        assert!(matches!(read_head(&mut cut), Err(ReadError::Incomplete)));
    }

    #[test]
    fn response_has_length_and_close_and_head_has_no_body() {
        let r = Response::new(200, "OK", TEXT, b"hello".to_vec());
        let mut out = Vec::new();
        r.write_to(&mut out, false).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\n"), "{s}");
        assert!(s.contains("Content-Length: 5\r\n"));
        assert!(s.contains("Connection: close\r\n"));
        assert!(s.ends_with("\r\n\r\nhello"));
        let mut out = Vec::new();
        r.write_to(&mut out, true).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("Content-Length: 5\r\n") && s.ends_with("\r\n\r\n"));
    }
}

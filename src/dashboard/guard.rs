//! The rules every request passes before routing, as pure functions over the request's
//! parts (the router's guard applies them; they are unit-tested here).
//!
//! **Host allow-list (DNS rebinding).** A web page the admin visits can re-point its own
//! name to 127.0.0.1 and then read the dashboard with the browser's help; the browser then
//! sends the attacker's name in `Host`. So only these `Host` values are answered:
//! - `localhost` or a loopback IP literal (`127.0.0.1`, `[::1]`), with any port or none
//!   (an SSH tunnel such as `ssh -L 8080:localhost:5000` sends `localhost:8080`);
//! - the bound address itself, `IP:PORT` (with `--allow-remote` on a specific address);
//! - when bound to all interfaces (`0.0.0.0` / `[::]`, only with `--allow-remote`): any IP
//!   literal with the bound port. An IP literal cannot be rebound, so this admits only
//!   clients that really connect to one of this machine's addresses.
//!
//! A request without `Host` is answered: every browser sends one, so a rebinding attack
//! always carries the foreign name. More than one `Host` is refused.
//!
//! **Targets.** The path must be origin-form (`/…`, no scheme or authority), every segment
//! non-empty, percent-decoded (by `percent-encoding`) to UTF-8, not `.` or `..`, and free of
//! encoded `/`, `\` and control characters: no path traversal in any spelling.

use std::net::{IpAddr, SocketAddr};

use axum::http::uri::Authority;
use percent_encoding::percent_decode_str;

/// Whether a `Host` header value may be answered by a dashboard bound to `bound`.
pub fn host_allowed(host: &str, bound: SocketAddr) -> bool {
    let Ok(authority) = host.parse::<Authority>() else {
        return false;
    };
    let name = authority.host();
    // `Authority` also accepts `user@host` and a port that is not a number; a Host header
    // has neither.
    let has_port = authority.as_str().len() > name.len();
    if authority.as_str().contains('@') || (has_port && authority.port_u16().is_none()) {
        return false;
    }
    let ip: Option<IpAddr> =
        name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).unwrap_or(name).parse().ok();
    if name.eq_ignore_ascii_case("localhost") || ip.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    let Some(ip) = ip else { return false };
    let port_matches = authority.port_u16() == Some(bound.port());
    if bound.ip().is_unspecified() {
        return port_matches;
    }
    port_matches && ip == bound.ip()
}

/// The one-line reason a request's `Host` is refused (the 421 body).
pub fn host_refusal(bound: SocketAddr) -> String {
    format!(
        "this dashboard answers only requests for localhost, 127.0.0.1, [::1] or {bound} \
         (the Host header names another server)"
    )
}

/// Checks a request path (without the query). `Err` is the one-line reason for a 400.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err("request target must be an absolute path");
    };
    if rest.is_empty() {
        return Ok(());
    }
    for raw in rest.split('/') {
        if raw.is_empty() {
            return Err("empty path segment");
        }
        let seg =
            percent_decode_str(raw).decode_utf8().map_err(|_| "escaped bytes are not UTF-8")?;
        if seg == "." || seg == ".." {
            return Err("dot segments are not allowed in paths");
        }
        if seg.contains(['/', '\\']) || seg.chars().any(char::is_control) {
            return Err("encoded separator or control character in a path segment");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn loopback_names_are_allowed_with_any_port() {
        let bound = addr("127.0.0.1:5000");
        for ok in [
            "localhost",
            "LOCALHOST:5000",
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:5000",
            "[::1]",
            "[::1]:5000",
            "127.0.0.2:9",
        ] {
            assert!(host_allowed(ok, bound), "{ok}");
        }
    }

    #[test]
    fn foreign_names_are_refused() {
        let bound = addr("127.0.0.1:5000");
        for bad in [
            "",
            "evil.example",
            "evil.example:5000",
            "localhost.evil.example",
            "127.0.0.1.nip.io:5000",
            "192.168.1.5:5000",
            "user@localhost",
            "localhost:notaport",
            "[::1",
            "local host",
        ] {
            assert!(!host_allowed(bad, bound), "{bad:?}");
        }
    }

    #[test]
    fn bound_address_is_allowed_with_its_port() {
        let bound = addr("192.168.1.5:5000");
        assert!(host_allowed("192.168.1.5:5000", bound));
        assert!(!host_allowed("192.168.1.5", bound), "port required");
        assert!(!host_allowed("192.168.1.5:80", bound));
        assert!(!host_allowed("192.168.1.6:5000", bound));
        assert!(!host_allowed("nas.lan:5000", bound), "names can be rebound");
        assert!(host_allowed("localhost:5000", bound));
    }

    #[test]
    fn all_interfaces_allow_ip_literals_with_the_port() {
        let bound = addr("0.0.0.0:5000");
        assert!(host_allowed("10.0.0.7:5000", bound));
        assert!(host_allowed("[fe80::1]:5000", bound));
        assert!(!host_allowed("10.0.0.7:80", bound));
        assert!(!host_allowed("10.0.0.7", bound));
        assert!(!host_allowed("evil.example:5000", bound));
        let bound = addr("[::]:5000");
        assert!(host_allowed("10.0.0.7:5000", bound));
    }

    #[test]
    fn paths() {
        for ok in ["/", "/task/nightly.backup", "/api/history", "/task/a%20b", "/run/12"] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "*",
            "task",
            "/task//x",
            "/task/",
            "/../etc/passwd",
            "/task/..",
            "/task/.",
            "/task/%2e%2e",
            "/task/%2E%2E/secret",
            "/task/a%2Fb",
            "/task/a%5Cb",
            "/task/a\\b",
            "/task/%00",
            "/run/..%2f..%2fetc",
            "/%ff%fe",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }
}

//! The PostgreSQL store over TCP with TLS (issue 18): orc verifies the server certificate.
//! With the test server's self-signed certificate as `sslrootcert` a home joins the store and
//! works; without it (the certificate is in no public root store) and with a wrong password
//! the connection is refused with exit code 5, a message naming the cause, and no password
//! in the output.
//!
//! Ignored by default: it needs the test server's TLS URL `ORC_TEST_PG_TLS` (and `ORC_TEST_PG`,
//! whose socket directory holds the certificate `tls/server.crt`, unless the TLS URL already
//! names it with `sslrootcert=`). By hand:
//!
//! ```text
//! D=$(mktemp -d); while read -r v; do export "$v"; done < <(bash scripts/pg/start.sh "$D")
//! cargo test --test integration store_pg_tls -- --ignored
//! bash scripts/pg/stop.sh "$D"; rm -rf "$D"
//! ```

use std::path::PathBuf;

use crate::support::Env;
use crate::support::pg::with_search_path;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: this test needs the TLS test server (start one with \
             `bash scripts/pg/start.sh DIR` and export the ORC_TEST_PG and ORC_TEST_PG_TLS \
             lines it prints)"
        )
    })
}

/// The TLS URL without any `sslrootcert`, and the certificate to verify the server with.
fn tls_url_and_root() -> (String, PathBuf) {
    let url = required("ORC_TEST_PG_TLS");
    let (base, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut root = None;
    let mut kept = Vec::new();
    for kv in query.split('&').filter(|kv| !kv.is_empty()) {
        match kv.strip_prefix("sslrootcert=") {
            Some(v) => root = Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy()),
            None => kept.push(kv),
        }
    }
    assert!(kept.contains(&"sslmode=require"), "ORC_TEST_PG_TLS has no sslmode=require: {url}");
    let root = match root {
        Some(r) => PathBuf::from(r.into_owned()),
        None => certificate_next_to_socket(),
    };
    assert!(root.is_file(), "no server certificate at {}", root.display());
    (format!("{base}?{}", kept.join("&")), root)
}

/// scripts/pg/start.sh: the socket directory DIR of `ORC_TEST_PG` holds `tls/server.crt`.
#[cfg(unix)]
fn certificate_next_to_socket() -> PathBuf {
    let socket: postgres::Config = required("ORC_TEST_PG").parse().expect("ORC_TEST_PG");
    let [postgres::config::Host::Unix(dir)] = socket.get_hosts() else {
        panic!("ORC_TEST_PG is not one Unix socket: {:?}", socket.get_hosts())
    };
    dir.join("tls").join("server.crt")
}

#[cfg(not(unix))]
fn certificate_next_to_socket() -> PathBuf {
    panic!("ORC_TEST_PG_TLS names no sslrootcert=PATH (the server's certificate)")
}

/// `url` with `sslrootcert=PATH` (percent-encoded).
fn with_root(url: &str, root: &std::path::Path) -> String {
    let path = root.to_str().expect("a UTF-8 certificate path");
    let encoded = percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC);
    format!("{url}&sslrootcert={encoded}")
}

/// The password in `url`.
fn password_of(url: &str) -> String {
    let config: postgres::Config = url.parse().expect("ORC_TEST_PG_TLS parses");
    let password = config.get_password().expect("ORC_TEST_PG_TLS has a password");
    String::from_utf8(password.to_vec()).unwrap()
}

/// A schema of its own on the test server, reached over TLS, dropped at the end.
struct TlsSchema {
    /// The verified URL (with `sslrootcert`) whose sessions use the schema.
    url: String,
    admin: orc::store::sql::Connection,
    name: String,
}

impl TlsSchema {
    fn new(verified: &str) -> TlsSchema {
        let admin = orc::store::sql::Connection::connect_postgres(verified)
            .unwrap_or_else(|e| panic!("connect with the server certificate: {e}"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("tls_{}_{nanos}", std::process::id());
        admin.execute_batch(&format!("CREATE SCHEMA {name}")).unwrap();
        TlsSchema { url: with_search_path(verified, &name), admin, name }
    }

    fn tasks(&self) -> Vec<String> {
        let mut stmt = self
            .admin
            .prepare(&format!("SELECT name FROM {}.tasks ORDER BY name", self.name))
            .unwrap();
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    }
}

impl Drop for TlsSchema {
    fn drop(&mut self) {
        let dropped = self.admin.execute_batch(&format!("DROP SCHEMA {} CASCADE", self.name));
        if let Err(e) = dropped {
            assert!(std::thread::panicking(), "could not drop schema {}: {e}", self.name);
        }
    }
}

/// The bootstrap file's text, if any (a refused `home init` must leave it as it was).
fn bootstrap(env: &Env) -> Option<String> {
    std::fs::read_to_string(env.home().join(orc::store::location::BOOTSTRAP_FILE)).ok()
}

#[test]
#[ignore = "needs a PostgreSQL server: ORC_TEST_PG_TLS and ORC_TEST_PG (scripts/pg/start.sh; scripts/test.sh starts one)"]
fn a_home_joins_the_store_over_verified_tls() {
    let (tls, root) = tls_url_and_root();
    let password = password_of(&tls);
    let schema = TlsSchema::new(&with_root(&tls, &root));
    let env = Env::new();

    let init = env.orc(["--json", "--store", &schema.url, "home", "init"]).ok();
    let info = init.json();
    let store = info["store"].as_str().expect("home init reports its store");
    assert!(store.starts_with("postgres://orc:***@127.0.0.1:"), "{store}");
    assert!(store.contains("sslmode=require&sslrootcert="), "{store}");
    for out in [&init.stdout, &init.stderr] {
        assert!(!out.contains(&password), "the password leaked: {out}");
    }

    // Every later orc of the home reads store.conf: TLS and verification each time.
    env.orc(["task", "add", "nightly", "--command", "echo hi", "--schedule", "@daily"]).ok();
    let list = env.orc(["--json", "task", "list"]).ok().json();
    let names: Vec<&str> =
        list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["nightly"]);
    assert_eq!(schema.tasks(), ["nightly"], "the task is in the server's schema");
    assert!(!env.db().exists(), "no SQLite database was created");
}

#[test]
#[ignore = "needs a PostgreSQL server: ORC_TEST_PG_TLS and ORC_TEST_PG (scripts/pg/start.sh; scripts/test.sh starts one)"]
fn an_unverifiable_certificate_is_refused() {
    let (tls, _root) = tls_url_and_root();
    let password = password_of(&tls);
    let env = Env::new();
    let before = bootstrap(&env);

    // The self-signed certificate is in no public root store: refused, not used unverified.
    let out = env.orc(["--store", &tls, "home", "init"]).code(5);
    assert_eq!(out.stdout, "");
    let shown = tls.replace(&format!(":{password}@"), ":***@");
    out.assert_stderr_line(&format!(
        "error: database {shown} cannot be reached: cannot connect to {shown}: \
         error performing TLS handshake: invalid peer certificate: UnknownIssuer"
    ));
    assert_eq!(bootstrap(&env), before, "store.conf unchanged");
}

#[test]
#[ignore = "needs a PostgreSQL server: ORC_TEST_PG_TLS and ORC_TEST_PG (scripts/pg/start.sh; scripts/test.sh starts one)"]
fn a_wrong_password_is_refused_without_showing_it() {
    let (tls, root) = tls_url_and_root();
    let password = password_of(&tls);
    let wrong = "wrong-Pa55word-for-orc";
    let url = with_root(&tls, &root).replace(&format!(":{password}@"), &format!(":{wrong}@"));
    assert!(url.contains(wrong), "the password is in the URL's authority: {tls}");
    let env = Env::new();
    let before = bootstrap(&env);

    let out = env.orc(["--store", &url, "home", "init"]).code(5);
    assert_eq!(out.stdout, "");
    let shown = url.replace(&format!(":{wrong}@"), ":***@");
    out.assert_stderr_line(&format!(
        "error: database {shown} cannot be reached: cannot connect to {shown}: \
         password authentication failed for user \"orc\""
    ));
    for secret in [wrong, password.as_str()] {
        assert!(!out.stderr.contains(secret), "a password leaked: {}", out.stderr);
    }
    assert_eq!(bootstrap(&env), before, "store.conf unchanged");
}

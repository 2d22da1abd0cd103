//! The suite against PostgreSQL (issue 18): with `ORC_TEST_STORE=postgres` and `ORC_TEST_PG`
//! (the throwaway server `scripts/pg/start.sh` prints; `scripts/test.sh` sets both for its
//! PostgreSQL pass), every [`super::Env`] gets a schema of its own on that server and every
//! orc it runs, and every store a test opens in-process, uses it. Tests that read the SQLite
//! file itself do not apply there and are skipped by the test script, by name.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// True when the suite runs against PostgreSQL.
pub fn suite_on_postgres() -> bool {
    std::env::var("ORC_TEST_STORE").is_ok_and(|v| v == "postgres")
}

/// The test server's URL (`ORC_TEST_PG`).
pub fn server_url() -> String {
    std::env::var("ORC_TEST_PG")
        .expect("ORC_TEST_PG is not set: start a server with scripts/pg/start.sh DIR (see scripts/pg/README.md)")
}

/// Creates an empty schema on the test server and returns a URL whose sessions use it.
pub fn fresh_schema_url() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!("t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let base = server_url();
    let conn =
        orc::store::sql::Connection::connect_postgres(&base).expect("connect to ORC_TEST_PG");
    conn.execute_batch(&format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"))
        .expect("create the test schema");
    with_search_path(&base, &name)
}

/// `url` with its sessions' `search_path` set to `schema`.
pub fn with_search_path(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Every row of every table of the schema `url` uses, as JSON lines in a fixed order: what a
/// "nothing changed" check compares (the SQLite pass compares the database file's bytes).
pub fn dump(url: &str) -> Vec<u8> {
    let conn = orc::store::sql::Connection::connect_postgres(url).expect("connect");
    let mut stmt = conn
        .prepare(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY 1",
        )
        .unwrap();
    let tables: Vec<String> =
        stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
    let mut out = Vec::new();
    for table in tables {
        let sql = format!(
            "SELECT j FROM (SELECT row_to_json(t)::text AS j FROM {table} t) s ORDER BY j COLLATE \"C\""
        );
        let mut stmt = conn.prepare(&sql).unwrap();
        for row in stmt.query_map([], |r| r.get::<_, String>(0)).unwrap() {
            out.extend_from_slice(format!("{table} {}\n", row.unwrap()).as_bytes());
        }
    }
    out
}

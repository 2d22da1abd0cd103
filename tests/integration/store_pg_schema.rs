//! Drift between the two stores' schemas (issue 18): `PG_MIGRATIONS` applied to a fresh
//! PostgreSQL schema must give the tables, columns, keys, indexes, foreign keys and triggers
//! that `MIGRATIONS` gives SQLite, and the `run_counts` triggers must count as SQLite's do.
//!
//! Ignored by default: it needs a PostgreSQL server, named by `ORC_TEST_PG` (scripts/pg/start.sh
//! starts one and prints it; scripts/test.sh does both). By hand:
//!
//! ```text
//! D=$(mktemp -d); while read -r v; do export "$v"; done < <(bash scripts/pg/start.sh "$D")
//! cargo test --test integration store_pg_schema -- --ignored
//! bash scripts/pg/stop.sh "$D"; rm -rf "$D"
//! ```

use std::collections::{BTreeMap, BTreeSet};

use orc::store::{MIGRATIONS, PG_MIGRATIONS, Store};

/// One index, as both sides can describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    unique: bool,
    partial: bool,
    /// `column/COLLATION`, in key order (`BINARY` for PostgreSQL's default collation).
    columns: Vec<String>,
}

/// A foreign key: local columns, referenced table and columns, ON DELETE action (SQLite's words).
type ForeignKey = (Vec<String>, String, Vec<String>, String);

#[derive(Debug, Default)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    /// Unique indexes other than the primary key's (UNIQUE constraints and CREATE UNIQUE INDEX).
    unique: BTreeSet<Index>,
    /// Indexes made by CREATE INDEX, by name.
    named: BTreeMap<String, Index>,
    foreign_keys: BTreeSet<ForeignKey>,
    triggers: BTreeSet<String>,
}

#[derive(Debug, PartialEq)]
struct Column {
    /// In SQLite's words.
    ty: String,
    /// Declared NOT NULL or part of the primary key (SQLite lets a non-integer key hold NULL
    /// unless declared NOT NULL; orc never stores one, PostgreSQL forbids it).
    not_null: bool,
    /// The DEFAULT expression, as SQLite prints it (`''`, `0`).
    default: Option<String>,
}

type Schema = BTreeMap<String, Table>;

fn pg_url() -> String {
    std::env::var("ORC_TEST_PG").unwrap_or_else(|_| {
        panic!(
            "ORC_TEST_PG is not set: this test needs a PostgreSQL server \
             (start one with `bash scripts/pg/start.sh DIR` and export the ORC_TEST_PG line it prints)"
        )
    })
}

/// A schema of its own on the test server, dropped when the test ends (also on failure).
struct PgSchema {
    client: postgres::Client,
    name: String,
}

impl PgSchema {
    fn new() -> PgSchema {
        let url = pg_url();
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to ORC_TEST_PG={url}: {e}"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("t_{}_{nanos}", std::process::id());
        client.batch_execute(&format!("CREATE SCHEMA {name}; SET search_path TO {name}")).unwrap();
        PgSchema { client, name }
    }

    /// Applies `PG_MIGRATIONS[range]` and records each in `schema_log`, as the store does.
    fn migrate(&mut self, range: std::ops::Range<usize>) {
        for i in range {
            let mut tx = self.client.transaction().unwrap();
            tx.batch_execute(PG_MIGRATIONS[i])
                .unwrap_or_else(|e| panic!("PostgreSQL migration {}: {e}", i + 1));
            tx.execute(
                "INSERT INTO schema_log (version, applied_at, applied_by) VALUES ($1, $2, $3)",
                &[&(i as i64 + 1), &"2026-01-01T00:00:00.000Z", &"store_pg_schema test"],
            )
            .unwrap();
            tx.commit().unwrap();
        }
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let dropped = self.client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name));
        if let Err(e) = dropped {
            assert!(std::thread::panicking(), "could not drop schema {}: {e}", self.name);
        }
    }
}

fn sqlite_type(t: &str) -> String {
    match t {
        "INTEGER" | "TEXT" | "BLOB" | "REAL" => t.to_string(),
        other => panic!("SQLite column type {other} has no PostgreSQL mapping in this test"),
    }
}

fn pg_type(t: &str) -> String {
    match t {
        "bigint" => "INTEGER",
        "text" => "TEXT",
        "bytea" => "BLOB",
        "double precision" => "REAL",
        other => panic!("PostgreSQL column type {other} has no SQLite counterpart"),
    }
    .to_string()
}

fn pg_collation(c: &str) -> &str {
    match c {
        "" | "default" => "BINARY",
        "nocase" => "NOCASE",
        other => other,
    }
}

fn pg_on_delete(c: &str) -> String {
    match c {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => panic!("unknown confdeltype {other}"),
    }
    .to_string()
}

fn sqlite_schema(c: &rusqlite::Connection) -> Schema {
    let strings = |sql: &str, arg: &str| -> Vec<String> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([arg], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let mut schema = Schema::new();
    let tables = strings(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE ?1 ESCAPE '\\'",
        "sqlite\\_%",
    );
    for t in tables {
        let mut table = Table::default();
        let mut st = c
            .prepare(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) \
                 ORDER BY pk",
            )
            .unwrap();
        let cols: Vec<(String, String, bool, Option<String>, i64)> = st
            .query_map([&t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (name, ty, not_null, default, pk) in cols {
            if pk > 0 {
                table.primary_key.push(name.clone());
            }
            let column = Column { ty: sqlite_type(&ty), not_null: not_null || pk > 0, default };
            table.columns.insert(name, column);
        }
        let mut st = c
            .prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)")
            .unwrap();
        let indexes: Vec<(String, bool, String, bool)> = st
            .query_map([&t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (name, unique, origin, partial) in indexes {
            let mut st = c
                .prepare(
                    "SELECT name, coll FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno",
                )
                .unwrap();
            let columns = st
                .query_map([&name], |r| {
                    let col: Option<String> = r.get(0)?;
                    let coll: String = r.get(1)?;
                    Ok(format!("{}/{coll}", col.expect("an index on a column, not an expression")))
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            let index = Index { unique, partial, columns };
            if unique && origin != "pk" {
                table.unique.insert(index.clone());
            }
            if origin == "c" {
                table.named.insert(name, index);
            }
        }
        let mut st = c
            .prepare(
                "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list(?1) \
                 ORDER BY id, seq",
            )
            .unwrap();
        let fk_rows: Vec<(i64, String, String, Option<String>, String)> = st
            .query_map([&t], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for (id, parent, from, to, on_delete) in fk_rows {
            let fk = fks.entry(id).or_insert_with(|| (vec![], parent, vec![], on_delete));
            fk.0.push(from);
            fk.2.push(to.expect("foreign keys name their referenced column"));
        }
        table.foreign_keys = fks.into_values().collect();
        table.triggers =
            strings("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1", &t)
                .into_iter()
                .collect();
        schema.insert(t, table);
    }
    schema
}

fn pg_schema(c: &mut postgres::Client) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<String> = c
        .query(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for t in tables {
        let mut table = Table::default();
        for r in c
            .query(
                "SELECT column_name::text, data_type::text, is_nullable::text, column_default::text \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
                &[&t],
            )
            .unwrap()
        {
            let nullable: String = r.get(2);
            // `''::text` → `''`: the cast PostgreSQL adds to a literal.
            let default = r.get::<_, Option<String>>(3).map(|d| d.split("::").next().unwrap().into());
            let column = Column { ty: pg_type(r.get(1)), not_null: nullable == "NO", default };
            table.columns.insert(r.get(0), column);
        }
        let rows = c
            .query(
                "SELECT i.relname::text, x.indisunique, x.indisprimary, x.indpred IS NOT NULL,
                        EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
                                AND k.contype IN ('p', 'u')),
                        array(SELECT coalesce(a.attname::text, '(expression)')
                              FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                              LEFT JOIN pg_attribute a
                                ON a.attrelid = x.indrelid AND a.attnum = k.attnum
                              ORDER BY k.ord),
                        array(SELECT coalesce(co.collname::text, '')
                              FROM unnest(x.indcollation::oid[]) WITH ORDINALITY k(coll, ord)
                              LEFT JOIN pg_collation co ON co.oid = k.coll
                              ORDER BY k.ord)
                 FROM pg_index x
                 JOIN pg_class i ON i.oid = x.indexrelid
                 JOIN pg_class t ON t.oid = x.indrelid
                 WHERE t.relname = $1 AND t.relnamespace = to_regnamespace(current_schema())",
                &[&t],
            )
            .unwrap();
        for r in rows {
            let name: String = r.get(0);
            let (unique, primary, partial, backs_constraint): (bool, bool, bool, bool) =
                (r.get(1), r.get(2), r.get(3), r.get(4));
            let cols: Vec<String> = r.get(5);
            let colls: Vec<String> = r.get(6);
            if primary {
                table.primary_key = cols.clone();
            }
            let columns =
                cols.iter().zip(&colls).map(|(c, k)| format!("{c}/{}", pg_collation(k))).collect();
            let index = Index { unique, partial, columns };
            if unique && !primary {
                table.unique.insert(index.clone());
            }
            if !backs_constraint {
                table.named.insert(name, index);
            }
        }
        for r in c
            .query(
                "SELECT p.relname::text,
                        array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
                              JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n
                              ORDER BY u.o),
                        array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
                              JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n
                              ORDER BY u.o),
                        k.confdeltype::text
                 FROM pg_constraint k
                 JOIN pg_class t ON t.oid = k.conrelid
                 JOIN pg_class p ON p.oid = k.confrelid
                 WHERE k.contype = 'f' AND t.relname = $1
                   AND t.relnamespace = to_regnamespace(current_schema())",
                &[&t],
            )
            .unwrap()
        {
            table.foreign_keys.insert((r.get(1), r.get(0), r.get(2), pg_on_delete(r.get(3))));
        }
        table.triggers = c
            .query(
                "SELECT g.tgname::text FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
                 WHERE NOT g.tgisinternal AND t.relname = $1
                   AND t.relnamespace = to_regnamespace(current_schema())",
                &[&t],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        schema.insert(t, table);
    }
    schema
}

#[test]
#[ignore = "needs a PostgreSQL server: ORC_TEST_PG (scripts/pg/start.sh; scripts/test.sh starts one)"]
fn pg_migrations_build_the_sqlite_schema() {
    assert_eq!(PG_MIGRATIONS.len(), MIGRATIONS.len(), "one PostgreSQL migration per SQLite one");
    let home = tempfile::tempdir().unwrap();
    let store = Store::open(home.path()).unwrap();
    let lite = sqlite_schema(store.conn().sqlite().expect("a SQLite store"));

    let mut pg = PgSchema::new();
    pg.migrate(0..PG_MIGRATIONS.len());
    let (max, count): (Option<i64>, i64) = {
        let r = pg.client.query_one("SELECT max(version), count(*) FROM schema_log", &[]).unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((max, count), (Some(MIGRATIONS.len() as i64), MIGRATIONS.len() as i64));
    let post = pg_schema(&mut pg.client);

    let lite_tables: BTreeSet<&String> = lite.keys().collect();
    let pg_tables: BTreeSet<&String> = post.keys().collect();
    assert_eq!(lite_tables, pg_tables, "tables (SQLite left, PostgreSQL right)");
    assert!(lite.contains_key("runs") && lite.contains_key("run_counts"), "{lite_tables:?}");
    for (name, l) in &lite {
        let p = &post[name];
        let side = "SQLite left, PostgreSQL right";
        assert_eq!(l.columns, p.columns, "{name}: columns ({side})");
        assert_eq!(l.primary_key, p.primary_key, "{name}: primary key ({side})");
        assert_eq!(l.unique, p.unique, "{name}: unique indexes ({side})");
        assert_eq!(l.named, p.named, "{name}: named indexes ({side})");
        assert_eq!(l.foreign_keys, p.foreign_keys, "{name}: foreign keys ({side})");
        assert_eq!(l.triggers, p.triggers, "{name}: triggers ({side})");
    }
    // Spot checks that the comparison sees what it compares.
    assert_eq!(lite["slot_claims"].primary_key, ["task", "slot", "scope"]);
    assert!(lite["runs"].named["runs_task_start"].columns == ["task/NOCASE", "start/BINARY"]);
    assert!(lite["tasks"].unique.iter().any(|i| i.columns == ["name/NOCASE"]));
    assert_eq!(lite["runs"].triggers.len(), 3);
}

/// The rows of `run_counts`, in a fixed order.
type Counts = Vec<(String, String, i64)>;

fn lite_counts(c: &rusqlite::Connection) -> Counts {
    let mut st = c.prepare("SELECT task, status, n FROM run_counts").unwrap();
    let mut rows: Counts = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.sort_by(|a, b| (a.0.to_lowercase(), &a.1).cmp(&(b.0.to_lowercase(), &b.1)));
    rows
}

fn pg_counts(c: &mut postgres::Client) -> Counts {
    let mut rows: Counts = c
        .query("SELECT task, status, n FROM run_counts", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    rows.sort_by(|a, b| (a.0.to_lowercase(), &a.1).cmp(&(b.0.to_lowercase(), &b.1)));
    rows
}

/// An expected `run_counts` row: task, status, n.
type Row<'a> = (&'a str, &'a str, i64);

fn counts(rows: &[Row<'_>]) -> Counts {
    rows.iter().map(|&(t, s, n)| (t.to_string(), s.to_string(), n)).collect()
}

#[test]
#[ignore = "needs a PostgreSQL server: ORC_TEST_PG (scripts/pg/start.sh; scripts/test.sh starts one)"]
fn pg_run_counts_triggers_count_as_sqlite_does() {
    let at = MIGRATIONS
        .iter()
        .position(|m| m.contains("CREATE TABLE run_counts"))
        .expect("a migration creates run_counts");
    // Both stores just before run_counts existed, with history; then its migration (backfill).
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    for sql in &MIGRATIONS[..at] {
        lite.execute_batch(sql).unwrap();
    }
    let mut pg = PgSchema::new();
    pg.migrate(0..at);
    let history = "INSERT INTO runs (task, trigger, status, start, host, orc_version) VALUES
        ('Backup', 'manual', 'SUCCESS', 'a', 'h', 'v'), ('backup', 'manual', 'FAILED', 'b', 'h', 'v'),
        ('BACKUP', 'manual', 'SUCCESS', 'c', 'h', 'v'), ('other', 'manual', 'RUNNING', 'd', 'h', 'v')";
    lite.execute_batch(history).unwrap();
    pg.client.batch_execute(history).unwrap();
    for sql in &MIGRATIONS[at..] {
        lite.execute_batch(sql).unwrap();
    }
    pg.migrate(at..PG_MIGRATIONS.len());
    let backfilled =
        counts(&[("backup", "FAILED", 1), ("BACKUP", "SUCCESS", 2), ("other", "RUNNING", 1)]);
    assert_eq!(lite_counts(&lite), backfilled, "SQLite backfill");
    assert_eq!(pg_counts(&mut pg.client), backfilled, "PostgreSQL backfill");

    // Then (with any later migrations applied) the same writes on both; after each, the same counts (and the expected ones).
    let steps: &[(&str, Option<&[Row<'_>]>)] = &[
        (
            "INSERT INTO runs (task, trigger, status, start, host, orc_version)
             VALUES ('Other', 'scheduled', 'RUNNING', 'e', 'h', 'v')",
            Some(&[("backup", "FAILED", 1), ("BACKUP", "SUCCESS", 2), ("other", "RUNNING", 2)]),
        ),
        (
            "UPDATE runs SET status = 'SUCCESS' WHERE start = 'e'",
            Some(&[
                ("backup", "FAILED", 1),
                ("BACKUP", "SUCCESS", 2),
                ("other", "RUNNING", 1),
                ("Other", "SUCCESS", 1),
            ]),
        ),
        // Neither really changes task or status: nothing moves.
        ("UPDATE runs SET task = 'OTHER' WHERE start = 'e'", None),
        ("UPDATE runs SET status = 'SUCCESS', exit_code = 0 WHERE start = 'e'", None),
        (
            "UPDATE runs SET task = 'report' WHERE start = 'a'",
            Some(&[
                ("backup", "FAILED", 1),
                ("BACKUP", "SUCCESS", 1),
                ("other", "RUNNING", 1),
                ("Other", "SUCCESS", 1),
                ("report", "SUCCESS", 1),
            ]),
        ),
        (
            "DELETE FROM runs WHERE status = 'FAILED' OR task = 'report'",
            Some(&[
                ("backup", "FAILED", 0),
                ("BACKUP", "SUCCESS", 1),
                ("other", "RUNNING", 1),
                ("Other", "SUCCESS", 1),
                ("report", "SUCCESS", 0),
            ]),
        ),
    ];
    let mut expected = lite_counts(&lite);
    for (sql, after) in steps {
        lite.execute_batch(sql).unwrap();
        pg.client.batch_execute(sql).unwrap();
        if let Some(after) = after {
            expected = counts(after);
        }
        assert_eq!(lite_counts(&lite), expected, "SQLite after {sql}");
        assert_eq!(pg_counts(&mut pg.client), expected, "PostgreSQL after {sql}");
    }
}

/// What scripts/pg/start.sh prints is what the `postgres` crate reads: the socket URL names the
/// socket directory and port (the socket is DIR/.s.PGSQL.PORT), the TLS URL 127.0.0.1 with
/// `sslmode=require` and the password.
#[cfg(unix)]
#[test]
#[ignore = "needs a PostgreSQL server: ORC_TEST_PG (scripts/pg/start.sh; scripts/test.sh starts one)"]
fn pg_test_server_urls_parse() {
    use postgres::config::{Host, SslMode};
    let socket: postgres::Config = pg_url().parse().expect("ORC_TEST_PG parses");
    let [Host::Unix(dir)] = socket.get_hosts() else {
        panic!("ORC_TEST_PG is not one Unix socket: {:?}", socket.get_hosts())
    };
    let [port] = socket.get_ports() else { panic!("ORC_TEST_PG names no port") };
    assert!(dir.join(format!(".s.PGSQL.{port}")).exists(), "no socket in {}", dir.display());
    assert_eq!((socket.get_user(), socket.get_dbname()), (Some("orc"), Some("orc")));

    let tls_url =
        std::env::var("ORC_TEST_PG_TLS").expect("ORC_TEST_PG_TLS is set next to ORC_TEST_PG");
    let tls: postgres::Config = tls_url.parse().expect("ORC_TEST_PG_TLS parses");
    assert!(matches!(tls.get_hosts(), [Host::Tcp(h)] if h == "127.0.0.1"), "{:?}", tls.get_hosts());
    assert_eq!(tls.get_ports(), [*port]);
    assert!(matches!(tls.get_ssl_mode(), SslMode::Require));
    assert!(tls.get_password().is_some_and(|p| !p.is_empty()));
    // The server takes no unencrypted TCP connection (pg_hba: hostnossl ... reject).
    let plain = tls_url.replace("sslmode=require", "sslmode=disable");
    let err = postgres::Client::connect(&plain, postgres::NoTls).err().expect("plain TCP refused");
    let refusal = err.as_db_error().map(|e| e.message().to_string());
    assert!(refusal.as_deref().is_some_and(|m| m.ends_with("no encryption")), "{err:?}");
    // And the socket URL connects.
    let mut c = socket.connect(postgres::NoTls).expect("connect over the socket");
    assert_eq!(c.query_one("SELECT current_database()", &[]).unwrap().get::<_, String>(0), "orc");
}

//! The `hosts`, `host_groups` and `host_group_members` tables: the only SQL on them.
//!
//! Writers take a connection inside [`crate::store::Store::write`] and write an audit row
//! (object `host` or `group`) with every change. Removing a host or a group that a task names
//! in its `hosts` is refused (exit 2, nothing changed, the message names the tasks).

use crate::store::sql::{Connection, OptionalExtension, params};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::names::{self, HostRef};
use crate::error::{Error, Result};
use crate::store::{classify, from_db_time, to_db_time};

fn db(conn: &Connection, context: &'static str) -> impl Fn(crate::store::sql::Error) -> Error {
    let path = std::path::PathBuf::from(conn.path().unwrap_or(""));
    move |e| Error::Store(classify(&path, context, e))
}

/// A host as listed by `orc host list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostRow {
    pub name: String,
    /// When it was added (local ISO time).
    pub added_at: String,
    /// The last heartbeat: when an `orc execute` on it last took a lease (local ISO time).
    pub last_seen_at: Option<String>,
    /// The groups it belongs to, by name.
    pub groups: Vec<String>,
}

/// A group as listed by `orc group list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    pub name: String,
    pub hosts: Vec<String>,
}

fn local(db_time: Option<String>) -> Option<String> {
    db_time.map(|t| from_db_time(&t).map(crate::clock::to_local_iso).unwrap_or(t))
}

/// The stored spelling of a host, if it is known.
pub fn host(conn: &Connection, name: &str) -> Result<Option<String>> {
    conn.query_row("SELECT name FROM hosts WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(db(conn, "read hosts"))
}

/// The stored spelling of a group, if it exists.
pub fn group(conn: &Connection, name: &str) -> Result<Option<String>> {
    conn.query_row("SELECT name FROM host_groups WHERE name = ?1", [name], |r| r.get(0))
        .optional()
        .map_err(db(conn, "read host groups"))
}

/// The members of a group, by name.
pub fn members(conn: &Connection, group: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT host FROM host_group_members WHERE grp = ?1 ORDER BY host COLLATE NOCASE")
        .map_err(db(conn, "read host groups"))?;
    let rows = stmt
        .query_map([group], |r| r.get(0))
        .map_err(db(conn, "read host groups"))?
        .collect::<crate::store::sql::Result<Vec<String>>>();
    rows.map_err(db(conn, "read host groups"))
}

/// Every host, by name, with its groups.
pub fn list_hosts(conn: &Connection) -> Result<Vec<HostRow>> {
    let mut stmt = conn
        .prepare(
            "SELECT h.name, h.added_at, h.last_seen_at, \
                    (SELECT string_agg(grp, ',' ORDER BY grp COLLATE NOCASE) \
                       FROM host_group_members m WHERE m.host = h.name) \
             FROM hosts h ORDER BY h.name COLLATE NOCASE",
        )
        .map_err(db(conn, "list hosts"))?;
    let rows = stmt
        .query_map([], |r| {
            let groups: Option<String> = r.get(3)?;
            Ok(HostRow {
                name: r.get(0)?,
                added_at: local(Some(r.get(1)?)).unwrap_or_default(),
                last_seen_at: local(r.get(2)?),
                groups: groups.map(|g| names::split_list(&g)).unwrap_or_default(),
            })
        })
        .map_err(db(conn, "list hosts"))?
        .collect::<crate::store::sql::Result<Vec<_>>>();
    rows.map_err(db(conn, "list hosts"))
}

/// Every group, by name, with its members.
pub fn list_groups(conn: &Connection) -> Result<Vec<GroupRow>> {
    let mut stmt = conn
        .prepare("SELECT name FROM host_groups ORDER BY name COLLATE NOCASE")
        .map_err(db(conn, "list host groups"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(db(conn, "list host groups"))?
        .collect::<crate::store::sql::Result<Vec<_>>>()
        .map_err(db(conn, "list host groups"))?;
    names.into_iter().map(|name| Ok(GroupRow { hosts: members(conn, &name)?, name })).collect()
}

/// A host's heartbeat as the silence rule reads it ([`super::silence`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    pub name: String,
    pub added_at: DateTime<Utc>,
    /// `None`: never seen (no `orc execute` on it wrote the heartbeat yet).
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// Every host's heartbeat, by name.
pub fn heartbeats(conn: &Connection) -> Result<Vec<Heartbeat>> {
    let mut stmt = conn
        .prepare("SELECT name, added_at, last_seen_at FROM hosts ORDER BY name COLLATE NOCASE")
        .map_err(db(conn, "read hosts"))?;
    let rows = stmt
        .query_map([], |r| {
            let added: String = r.get(1)?;
            let seen: Option<String> = r.get(2)?;
            Ok(Heartbeat {
                name: r.get(0)?,
                added_at: from_db_time(&added).unwrap_or_default(),
                last_seen_at: seen.as_deref().and_then(from_db_time),
            })
        })
        .map_err(db(conn, "read hosts"))?
        .collect::<crate::store::sql::Result<Vec<_>>>();
    rows.map_err(db(conn, "read hosts"))
}

/// The heartbeat: records that `host` is alive at `at`. A host nobody added is not recorded
/// (a single machine's database gains nothing).
pub fn touch(conn: &Connection, host: &str, at: &str) -> crate::store::sql::Result<()> {
    let mut stmt = conn.prepare("SELECT name FROM hosts")?;
    let known = stmt.query_map([], |r| r.get::<_, String>(0))?;
    for name in known {
        let name = name?;
        if super::same_host(&name, host) {
            conn.execute("UPDATE hosts SET last_seen_at = ?2 WHERE name = ?1", params![name, at])?;
        }
    }
    Ok(())
}

fn audit(
    conn: &Connection,
    command_line: &str,
    object: &str,
    name: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    crate::audit::record(conn, command_line, object, Some(name), before.as_ref(), after.as_ref())
        .map_err(Error::Store)
}

/// `orc host add NAME`.
pub fn add_host(conn: &Connection, name: &str, command_line: &str) -> Result<()> {
    names::validate_host("host name", name)?;
    if let Some(existing) = host(conn, name)? {
        return Err(Error::invalid(
            "host name",
            name,
            format!("host {existing:?} is already known (names are case-insensitive)"),
        ));
    }
    conn.execute(
        "INSERT INTO hosts (name, added_at) VALUES (?1, ?2)",
        params![name, to_db_time(crate::clock::now_utc())],
    )
    .map_err(db(conn, "add host"))?;
    audit(conn, command_line, "host", name, None, Some(serde_json::json!({ "name": name })))
}

/// `orc host rm NAME`: refused while a task names it; leaves its groups.
pub fn remove_host(conn: &Connection, name: &str, command_line: &str) -> Result<String> {
    let stored = host(conn, name)?
        .ok_or_else(|| Error::NotFound { what: "host", name: name.to_string() })?;
    refuse_if_used(conn, "host name", name, HostRef::Host(&stored))?;
    let groups = list_hosts(conn)?
        .into_iter()
        .find(|h| h.name.eq_ignore_ascii_case(&stored))
        .map(|h| h.groups)
        .unwrap_or_default();
    conn.execute("DELETE FROM host_group_members WHERE host = ?1", [&stored])
        .map_err(db(conn, "remove host"))?;
    conn.execute("DELETE FROM hosts WHERE name = ?1", [&stored])
        .map_err(db(conn, "remove host"))?;
    refuse_if_stranded(conn, "host name", name)?;
    let before = serde_json::json!({ "name": stored, "groups": groups });
    audit(conn, command_line, "host", &stored, Some(before), None)?;
    Ok(stored)
}

/// The stored spellings of `hosts`, each of which must be known.
fn require_hosts(conn: &Connection, field: &str, hosts: &[String]) -> Result<Vec<String>> {
    names::validate_refs(field, hosts)?;
    hosts
        .iter()
        .map(|h| {
            if h.starts_with('@') {
                return Err(Error::invalid(field, h, "a group's members are hosts, not groups"));
            }
            host(conn, h)?.ok_or_else(|| {
                Error::invalid(field, h, "no such host; add it first with `orc host add`")
            })
        })
        .collect()
}

/// `orc group add NAME --hosts h1,h2`. Returns its members as stored.
pub fn add_group(
    conn: &Connection,
    name: &str,
    hosts: &[String],
    command_line: &str,
) -> Result<Vec<String>> {
    names::validate_group("group name", name)?;
    if let Some(existing) = group(conn, name)? {
        return Err(Error::invalid(
            "group name",
            name,
            format!("group {existing:?} already exists (names are case-insensitive)"),
        ));
    }
    let hosts = require_hosts(conn, "--hosts", hosts)?;
    conn.execute(
        "INSERT INTO host_groups (name, created_at) VALUES (?1, ?2)",
        params![name, to_db_time(crate::clock::now_utc())],
    )
    .map_err(db(conn, "add group"))?;
    insert_members(conn, name, &hosts)?;
    let after = serde_json::json!({ "name": name, "hosts": hosts });
    audit(conn, command_line, "group", name, None, Some(after))?;
    Ok(hosts)
}

fn insert_members(conn: &Connection, group: &str, hosts: &[String]) -> Result<()> {
    for h in hosts {
        conn.execute(
            "INSERT INTO host_group_members (grp, host) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![group, h],
        )
        .map_err(db(conn, "change group"))?;
    }
    Ok(())
}

/// `orc group add-host` / `rm-host`: changes the members of a group. Returns the members
/// after the change.
pub fn change_members(
    conn: &Connection,
    name: &str,
    add: &[String],
    remove: &[String],
    command_line: &str,
) -> Result<Vec<String>> {
    let stored = group(conn, name)?
        .ok_or_else(|| Error::NotFound { what: "group", name: name.to_string() })?;
    let before = members(conn, &stored)?;
    let add = require_hosts(conn, "--hosts", add)?;
    names::validate_refs("--hosts", remove)?;
    for h in remove {
        if !before.iter().any(|m| m.eq_ignore_ascii_case(h)) {
            return Err(Error::invalid("--hosts", h, format!("not a member of group {stored:?}")));
        }
        conn.execute("DELETE FROM host_group_members WHERE grp = ?1 AND host = ?2", [&stored, h])
            .map_err(db(conn, "change group"))?;
    }
    insert_members(conn, &stored, &add)?;
    refuse_if_stranded(conn, "--hosts", &remove.join(","))?;
    let after = members(conn, &stored)?;
    audit(
        conn,
        command_line,
        "group",
        &stored,
        Some(serde_json::json!({ "name": stored, "hosts": before })),
        Some(serde_json::json!({ "name": stored, "hosts": after })),
    )?;
    Ok(after)
}

/// `orc group rm NAME`: refused while a task names `@NAME`.
pub fn remove_group(conn: &Connection, name: &str, command_line: &str) -> Result<String> {
    let stored = group(conn, name)?
        .ok_or_else(|| Error::NotFound { what: "group", name: name.to_string() })?;
    refuse_if_used(conn, "group name", name, HostRef::Group(&stored))?;
    let hosts = members(conn, &stored)?;
    conn.execute("DELETE FROM host_group_members WHERE grp = ?1", [&stored])
        .map_err(db(conn, "remove group"))?;
    conn.execute("DELETE FROM host_groups WHERE name = ?1", [&stored])
        .map_err(db(conn, "remove group"))?;
    let before = serde_json::json!({ "name": stored, "hosts": hosts });
    audit(conn, command_line, "group", &stored, Some(before), None)?;
    Ok(stored)
}

/// The tasks whose `hosts` name `target`, by name.
pub fn tasks_naming(conn: &Connection, target: HostRef<'_>) -> Result<Vec<String>> {
    Ok(crate::task::repo::list(conn)?
        .into_iter()
        .filter(|t| {
            t.spec.hosts.iter().any(|r| match (HostRef::of(r), target) {
                (HostRef::Host(a), HostRef::Host(b)) | (HostRef::Group(a), HostRef::Group(b)) => {
                    a.eq_ignore_ascii_case(b)
                }
                _ => false,
            })
        })
        .map(|t| t.spec.name)
        .collect())
}

/// Refuses a change (its transaction rolls back) that leaves a task with hosts but no host to
/// run on: its groups lost their last members. Such a task would silently leave every host's
/// Task Scheduler at the next `orc schedule --all`.
fn refuse_if_stranded(conn: &Connection, field: &str, name: &str) -> Result<()> {
    let mut stranded = Vec::new();
    for t in crate::task::repo::list(conn)? {
        if super::assign::hosts_of(conn, &t.spec)?.is_some_and(|hs| hs.is_empty()) {
            stranded.push(t.spec.name);
        }
    }
    let why = "with no host to run on (the groups it names would be empty)";
    refuse_for_tasks(field, name, &stranded, "would leave", why)
}

fn refuse_if_used(conn: &Connection, field: &str, name: &str, target: HostRef<'_>) -> Result<()> {
    let users = tasks_naming(conn, target)?;
    refuse_for_tasks(field, name, &users, "still named by the --hosts of", "")
}

/// The one refusal of a host or group change for the sake of `tasks` (none: accepted):
/// `{before} task(s) A, B {after}; change that first`.
fn refuse_for_tasks(
    field: &str,
    name: &str,
    tasks: &[String],
    before: &str,
    after: &str,
) -> Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let plural = if tasks.len() == 1 { "" } else { "s" };
    let after = if after.is_empty() { String::new() } else { format!(" {after}") };
    let message = format!("{before} task{plural} {}{after}; change that first", tasks.join(", "));
    Err(Error::invalid(field, name, message))
}

/// A task's `hosts` must name known hosts and existing groups (checked with add, edit and
/// import, inside their transaction).
pub fn check_exist(conn: &Connection, refs: &[String]) -> Result<()> {
    for r in refs {
        let (found, what) = match HostRef::of(r) {
            HostRef::Host(h) => {
                (host(conn, h)?.is_some(), "no such host; add it first with `orc host add`")
            }
            HostRef::Group(g) => {
                (group(conn, g)?.is_some(), "no such group; add it first with `orc group add`")
            }
        };
        if !found {
            return Err(Error::invalid("--hosts", r, what));
        }
    }
    Ok(())
}

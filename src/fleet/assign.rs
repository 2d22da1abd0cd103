//! Which hosts a task runs on, and how its slots are claimed across them.
//!
//! - A task with no `hosts` runs on every host that schedules it.
//! - Otherwise it runs on the hosts it names and the members of the groups it names (`@g`).
//! - `run-on any`: one claim per slot for the whole fleet (claim scope `''`): the first host's
//!   claim wins, the others record nothing (as a second start on one machine always did).
//! - `run-on all`: the claim scope is the host, so each host runs each slot once.

use crate::store::sql::Connection;

use super::names::HostRef;
use super::table;
use crate::error::{Error, Result};
use crate::task::{RunOn, TaskSpec};

/// The hosts `spec` runs on, by name, each once (ignoring case); `None`: every host.
pub fn hosts_of(conn: &Connection, spec: &TaskSpec) -> Result<Option<Vec<String>>> {
    if spec.hosts.is_empty() {
        return Ok(None);
    }
    let mut out: Vec<String> = Vec::new();
    for r in &spec.hosts {
        let found = match HostRef::of(r) {
            HostRef::Host(h) => vec![table::host(conn, h)?.unwrap_or_else(|| h.to_string())],
            HostRef::Group(g) => table::members(conn, g)?,
        };
        for h in found {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&h)) {
                out.push(h);
            }
        }
    }
    Ok(Some(out))
}

/// Whether `spec` runs on `host`.
pub fn runs_on(conn: &Connection, spec: &TaskSpec, host: &str) -> Result<bool> {
    Ok(hosts_of(conn, spec)?.is_none_or(|hs| hs.iter().any(|h| super::same_host(h, host))))
}

/// Refuses (exit 2) to run `spec` on a host it is not assigned to: its registration there is
/// stale (the next `orc schedule --all` on that host removes it), or someone ran it by hand
/// on the wrong machine. Nothing is recorded.
pub fn require_here(conn: &Connection, spec: &TaskSpec, host: &str) -> Result<()> {
    if runs_on(conn, spec, host)? { Ok(()) } else { Err(not_assigned(spec, host)) }
}

/// The refusal of a task on a host it is not assigned to (exit 2).
pub fn not_assigned(spec: &TaskSpec, host: &str) -> Error {
    Error::invalid(
        "--task",
        &spec.name,
        format!(
            "assigned to --hosts {}, not to host {host}; `orc schedule --all` on {host} \
             removes a registration left there",
            spec.hosts.join(",")
        ),
    )
}

/// Splits `tasks` into those `host` registers (assigned to it, or to no host) and the others.
pub fn split_for_host(
    conn: &Connection,
    tasks: Vec<TaskSpec>,
    host: &str,
) -> Result<(Vec<TaskSpec>, Vec<TaskSpec>)> {
    let mut here = Vec::new();
    let mut elsewhere = Vec::new();
    for t in tasks {
        if runs_on(conn, &t, host)? { here.push(t) } else { elsewhere.push(t) }
    }
    Ok((here, elsewhere))
}

/// Checks the host a schedule plans for, before anything is planned. Tasks are assigned to
/// hosts by name, so a target the fleet does not know would silently lose every assigned
/// task's registration there: `--host` (`explicit`) naming no known host is refused (exit 2)
/// while any task is assigned; this machine's own name answers a warning to show.
pub fn check_target(
    conn: &Connection,
    tasks: &[TaskSpec],
    host: &str,
    explicit: bool,
) -> Result<Option<String>> {
    if tasks.iter().all(|t| t.hosts.is_empty())
        || table::list_hosts(conn)?.iter().any(|h| super::same_host(&h.name, host))
    {
        return Ok(None);
    }
    if explicit {
        return Err(Error::invalid(
            "--host",
            host,
            "is not a host of the fleet (`orc host list`) and tasks are assigned to hosts by \
             name: give the name it was added with, or add it with `orc host add`",
        ));
    }
    Ok(Some(format!(
        "this host ({host}) is not in `orc host list`: only the tasks assigned to no host are \
         registered here (set ORC_HOSTNAME or add the host if that is not what you want)"
    )))
}

/// The scope of a slot claim by `host` (part of the `slot_claims` key).
pub fn claim_scope(run_on: RunOn, host: &str) -> String {
    match run_on {
        RunOn::Any => String::new(),
        RunOn::All => host.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn hosts_expand_groups_and_unassigned_runs_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store
            .write(|tx| {
                for h in ["h1", "H2", "h3"] {
                    table::add_host(tx, h, "orc host add")?;
                }
                table::add_group(tx, "web", &["h2".into(), "h3".into()], "orc group add")?;
                Ok::<_, crate::error::Error>(())
            })
            .unwrap();
        let mut spec = TaskSpec::new("t", "x", "@daily");
        assert_eq!(hosts_of(store.conn(), &spec).unwrap(), None);
        assert!(runs_on(store.conn(), &spec, "anything").unwrap());
        spec.hosts = vec!["H1".into(), "@WEB".into(), "h2".into()];
        assert_eq!(hosts_of(store.conn(), &spec).unwrap().unwrap(), ["h1", "H2", "h3"]);
        assert!(runs_on(store.conn(), &spec, "h2").unwrap());
        assert!(!runs_on(store.conn(), &spec, "h4").unwrap());
        assert_eq!(claim_scope(RunOn::Any, "H1"), "");
        assert_eq!(claim_scope(RunOn::All, "H1"), "h1");
    }
}

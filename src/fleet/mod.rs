//! Fleet mode, first slice (issue 18): many hosts sharing one store.
//!
//! - [`this_host`]: the one host identity (the computer name, `ORC_HOSTNAME` overrides it);
//! - [`names`]: host and group name rules, `--hosts h1,h2|@group` references, and the wider
//!   rule of a remote scheduler address (`schedule --host`) (pure);
//! - [`table`]: the `hosts`, `host_groups` and `host_group_members` tables (the only SQL on
//!   them), with the heartbeat (`last_seen_at`) and the "still used by a task" refusals;
//! - [`assign`]: which hosts a task runs on, and the slot-claim scope of `--run-on`;
//! - [`silence`]: when a host is silent (its heartbeat missed a slot of its own tasks) and
//!   when a `RUNNING` row it left may be abandoned (the watch pass and `orc status`).
//!
//! A task without hosts runs on every host that schedules it, so a single machine sees no
//! change. The PostgreSQL store is a later change: everything here is plain tables, claims by
//! unique constraints and short transactions (see `docs/guide/fleet.md`).

pub mod assign;
pub mod names;
pub mod silence;
pub mod table;

/// Whether two host names name the same machine: equal ignoring case, or one is a bare name
/// and the other's first DNS label (`srv-app02` and `srv-app02.corp.example.com`): Windows'
/// computer name is the short one, while an admin may add a host by its full name.
pub fn same_host(a: &str, b: &str) -> bool {
    let first = |s: &str| s.split('.').next().unwrap_or(s).to_string();
    match (a.contains('.'), b.contains('.')) {
        (true, false) => first(a).eq_ignore_ascii_case(b),
        (false, true) => a.eq_ignore_ascii_case(&first(b)),
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// This machine's name, as recorded in `runs.host`, matched against task assignments and
/// shown by the dashboard: `ORC_HOSTNAME` when set (tests and drills simulate several hosts
/// with it), else the computer name (`GetComputerNameExW` / `gethostname`, through the
/// `hostname` crate lettre already uses), `localhost` when the system gives none.
pub fn this_host() -> String {
    if let Some(name) = crate::env_vars::get(crate::env_vars::ORC_HOSTNAME) {
        let name = name.to_string_lossy().trim().to_string();
        if !name.is_empty() {
            return name;
        }
    }
    hostname::get()
        .ok()
        .map(|h| h.to_string_lossy().trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

//! Fleet mode, first slice (issue 18): hosts and groups, task assignment, per-host
//! registration plans, and exactly-once slots across simulated hosts (`ORC_HOSTNAME`) that
//! share one home.

use std::process::Stdio;

use crate::schedule::{calls_during, env as schedule_env};
use crate::support::Env;
use crate::support::exec::*;

/// `orc ARGS` as host `host`.
pub(crate) fn orc_on(env: &Env, host: &str, args: &[&str]) -> crate::support::Output {
    let out = env.command().env("ORC_HOSTNAME", host).args(args).stdin(Stdio::null()).output();
    let out = out.expect("run orc");
    crate::support::Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

fn fleet(env: &Env) {
    for h in ["h1", "h2", "h3"] {
        env.orc(["host", "add", h]).ok();
    }
    env.orc(["group", "add", "web", "--hosts", "h2,h3"]).ok();
}

#[test]
fn hosts_and_groups_are_managed_and_guarded() {
    let env = Env::new();
    env.orc(["host", "list"]).ok().assert_stdout("No hosts. Add one with `orc host add NAME`.\n");
    env.orc(["host", "add", "h1"]).ok().assert_stdout("added host h1\n");
    env.orc(["host", "add", "H1"]).code(2).assert_stderr_line(
        "error: invalid host name \"H1\": host \"h1\" is already known (names are case-insensitive)",
    );
    let bad = env.orc(["host", "add", "bad_host"]).code(2);
    assert!(bad.stderr.starts_with("error: invalid host name \"bad_host\": a host name is"));
    env.orc(["host", "add", "h2.corp.example.com"]).ok();
    env.orc(["group", "add", "web", "--hosts", "h1,h9"]).code(2).assert_stderr_line(
        "error: invalid --hosts \"h9\": no such host; add it first with `orc host add`",
    );
    env.orc(["group", "add", "web", "--hosts", "h1,H2.corp.example.com"])
        .ok()
        .assert_stdout("added group web: h1, h2.corp.example.com\n");
    env.orc(["group", "rm-host", "web", "--hosts", "h1"])
        .ok()
        .assert_stdout("group web: h2.corp.example.com\n");
    env.orc(["group", "add-host", "web", "--hosts", "h1"])
        .ok()
        .assert_stdout("group web: h1, h2.corp.example.com\n");
    env.orc(["host", "list"]).ok().assert_stdout(
        "HOST                 GROUPS  LAST SEEN\n\
         -------------------  ------  ---------\n\
         h1                   web     never\n\
         h2.corp.example.com  web     never\n",
    );
    let json = env.orc(["group", "list", "--json"]).ok().json();
    assert_eq!(
        json,
        serde_json::json!([{ "name": "web", "hosts": ["h1", "h2.corp.example.com"] }])
    );

    // A host or group a task names cannot be removed: exit 2, nothing changed.
    env.orc(["task", "add", "t", "--command", "echo", "--schedule", "@daily", "--hosts", "h1"])
        .ok();
    env.orc(["task", "add", "u", "--command", "echo", "--schedule", "@daily", "--hosts", "@web"])
        .ok();
    let before = env.db_bytes();
    env.orc(["host", "rm", "h1"]).code(2).assert_stderr_line(
        "error: invalid host name \"h1\": still named by the --hosts of task t; change that first",
    );
    env.orc(["group", "rm", "WEB"]).code(2).assert_stderr_line(
        "error: invalid group name \"WEB\": still named by the --hosts of task u; change that first",
    );
    assert!(env.db_bytes() == before, "a refused removal changes nothing");
    env.orc(["host", "rm", "nope"]).code(3);
    // Removing a host leaves its groups.
    env.orc(["task", "edit", "t", "--clear-hosts"]).ok();
    env.orc(["host", "rm", "H1"]).ok().assert_stdout("removed host h1\n");
    env.orc(["group", "list"])
        .ok()
        .assert_stdout("GROUP  HOSTS\n-----  -------------------\nweb    h2.corp.example.com\n");
    env.orc(["task", "rm", "u"]).ok();
    env.orc(["group", "rm", "web"]).ok().assert_stdout("removed group web\n");
}

#[test]
fn task_hosts_are_validated_shown_and_carried_by_export() {
    let env = Env::new();
    fleet(&env);
    let add = |extra: &[&str]| {
        let mut args = vec!["task", "add", "t", "--command", "echo", "--schedule", "@daily"];
        args.extend_from_slice(extra);
        env.orc(args)
    };
    add(&["--hosts", "h1,@nope"]).code(2).assert_stderr_line(
        "error: invalid --hosts \"@nope\": no such group; add it first with `orc group add`",
    );
    add(&["--hosts", "h1,H1"])
        .code(2)
        .assert_stderr_line("error: invalid --hosts \"H1\": listed twice");
    add(&["--run-on", "each"]).code(2);
    add(&["--hosts", "h1,@web", "--run-on", "all"]).ok();
    let shown = env.orc(["task", "show", "t"]).ok();
    shown.assert_stdout_has_line("hosts:        h1, @web");
    shown.assert_stdout_has_line("run on:       all");
    let json = env.orc(["task", "show", "t", "--json"]).ok().json();
    assert_eq!(json["hosts"], serde_json::json!(["h1", "@web"]));
    assert_eq!(json["run_on"], "all");
    let list = env.orc(["task", "list"]).ok();
    assert_eq!(
        list.stdout.lines().next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["NAME", "ENABLED", "SCHEDULE", "HOSTS", "COMMAND", "LAST", "RUN"]
    );
    assert!(list.stdout.lines().nth(2).unwrap().contains("h1, @web"), "{}", list.stdout);

    // Export → import into another home with the same hosts: the assignment is kept; into a
    // home without them: refused, nothing imported.
    let file = env.root().join("tasks.json");
    env.orc(["task", "export", "--output", file.to_str().unwrap()]).ok();
    let other = Env::new();
    other.orc(["task", "import", file.to_str().unwrap()]).code(2).assert_stderr_line(
        "error: invalid --hosts \"h1\": no such host; add it first with `orc host add`",
    );
    assert_eq!(other.orc(["task", "list", "--json"]).ok().json(), serde_json::json!([]));
    fleet(&other);
    other.orc(["task", "import", file.to_str().unwrap()]).ok();
    let json = other.orc(["task", "show", "t", "--json"]).ok().json();
    assert_eq!(
        (json["hosts"].clone(), json["run_on"].clone()),
        (serde_json::json!(["h1", "@web"]), serde_json::json!("all"))
    );

    // Edit replaces the list; --clear-hosts empties it.
    env.orc(["task", "edit", "t", "--hosts", "h3", "--run-on", "any"]).ok();
    let json = env.orc(["task", "show", "t", "--json"]).ok().json();
    assert_eq!(
        (json["hosts"].clone(), json["run_on"].clone()),
        (serde_json::json!(["h3"]), serde_json::json!("any"))
    );
    env.orc(["task", "edit", "t", "--clear-hosts"]).ok();
    let shown = env.orc(["task", "show", "t"]).ok();
    assert!(!shown.stdout.contains("hosts:"), "an unassigned task shows no hosts line");
    assert_eq!(
        env.orc(["task", "show", "t", "--json"]).ok().json()["hosts"],
        serde_json::json!([])
    );
}

/// The tasks of the per-host plans: `a` on h1, `b` on @web (h2, h3), `c` on h2 and h1, `d`
/// everywhere.
fn assigned(env: &Env) {
    fleet(env);
    for (name, hosts) in [("a", "h1"), ("b", "@web"), ("c", "h2,h1"), ("d", "")] {
        let mut args = vec!["task", "add", name, "--command", "echo", "--schedule", "0 6 * * *"];
        if !hosts.is_empty() {
            args.extend(["--hosts", hosts]);
        }
        env.orc(args).ok();
    }
}

fn plan(env: &Env, host: &str, extra: &[&str]) -> Vec<(String, String)> {
    let mut args = vec!["schedule", "--all", "--dry-run", "--json"];
    args.extend_from_slice(extra);
    let rows = orc_on(env, host, &args).ok().json();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (r["task"].as_str().unwrap().to_string(), r["action"].as_str().unwrap().into()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn each_host_registers_its_own_tasks_and_drops_unassigned_ones() {
    let env = schedule_env();
    assigned(&env);
    assert_eq!(plan(&env, "h1", &[]), pairs(&[("a", "create"), ("c", "create"), ("d", "create")]));
    assert_eq!(plan(&env, "H2", &[]), pairs(&[("b", "create"), ("c", "create"), ("d", "create")]));
    assert_eq!(plan(&env, "h3", &[]), pairs(&[("b", "create"), ("d", "create")]));
    // From an admin shell on h1: h3's plan, on h3 (schtasks /S h3).
    assert_eq!(plan(&env, "h1", &["--host", "h3"]), pairs(&[("b", "create"), ("d", "create")]));
    orc_on(&env, "h1", &["schedule", "--all"]).ok().assert_stdout(
        "TASK  ACTION  RESULT  REGISTRATION         NOTE\n\
         ----  ------  ------  -------------------  ----\n\
         a     create  ok      \\Orchestrator\\Orc_a\n\
         c     create  ok      \\Orchestrator\\Orc_c\n\
         d     create  ok      \\Orchestrator\\Orc_d\n\
         Task Scheduler on this computer: 3 created, 0 updated, 0 deleted, 0 unchanged\n",
    );
    let made = calls_during(&env, || {
        let out = orc_on(&env, "h1", &["schedule", "--all", "--host", "h3"]).ok();
        assert_eq!(
            out.stdout.lines().last(),
            Some("Task Scheduler on h3: 2 created, 0 updated, 0 deleted, 0 unchanged")
        );
    });
    assert!(made.iter().all(|c| c.contains("/S\th3")), "{made:#?}");
    assert!(made.iter().any(|c| c.contains("Orc_b")), "{made:#?}");
    assert!(!made.iter().any(|c| c.contains("Orc_a")), "{made:#?}");

    // `a` moves to h2: the next schedule --all on h1 deletes it there, leaves the others.
    env.orc(["task", "edit", "a", "--hosts", "h2"]).ok();
    assert_eq!(
        plan(&env, "h1", &[]),
        pairs(&[("a", "delete"), ("c", "unchanged"), ("d", "unchanged")])
    );
    orc_on(&env, "h1", &["schedule", "--all"]).ok().assert_stdout(
        "TASK  ACTION  RESULT  REGISTRATION         NOTE\n\
         ----  ------  ------  -------------------  ----\n\
         a     delete  ok      \\Orchestrator\\Orc_a\n\
         Task Scheduler on this computer: 0 created, 0 updated, 1 deleted, 2 unchanged\n",
    );
    // h3's registrations are its own.
    assert_eq!(
        plan(&env, "h1", &["--host", "h3"]),
        pairs(&[("b", "unchanged"), ("d", "unchanged")])
    );
    // One task asked for on a host it is not assigned to.
    orc_on(&env, "h3", &["schedule", "--task", "a"]).code(2).assert_stderr_line(
        "error: invalid --task \"a\": assigned to --hosts h2, not to host h3; `orc schedule --all` \
         on h3 removes a registration left there",
    );
}

/// Starts `per_host` concurrent `orc execute --task NAME --scheduled` on each of h1, h2, h3,
/// all at one slot (ORC_NOW), and waits for them; returns how many said "already claimed".
fn storm(env: &Env, name: &str, per_host: usize) -> usize {
    let children: Vec<_> = ["h1", "h2", "h3"]
        .iter()
        .flat_map(|h| std::iter::repeat_n(*h, per_host))
        .map(|h| start_scheduled(env, name, Some(h)))
        .collect();
    count_claimed(children, "already claimed by h")
}

fn hosts_of_runs(env: &Env, task: &str) -> Vec<String> {
    let c = db(env);
    let mut stmt = c.prepare("SELECT host FROM runs WHERE task = ?1 ORDER BY host").unwrap();
    stmt.query_map([task], |r| r.get(0)).unwrap().collect::<orc::store::sql::Result<_>>().unwrap()
}

#[test]
fn a_storm_of_three_hosts_runs_a_run_on_any_slot_once_and_run_on_all_once_per_host() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T09:00:20");
    fleet(&env);
    let any = scratch(&env, "any");
    add_task(&env, "any", &child(&["count", &any, "sleep", "200"]), |s| {
        s.schedule = "0 9 * * *".into();
        s.hosts = vec!["h1".into(), "@web".into()];
    });
    let all = scratch(&env, "all");
    add_task(&env, "all", &child(&["count", &all, "sleep", "200"]), |s| {
        s.schedule = "0 9 * * *".into();
        s.hosts = vec!["h1".into(), "@web".into()];
        s.run_on = orc::task::RunOn::All;
    });
    assert_eq!(storm(&env, "any", 20), 59, "every loser names the winning host");
    assert_eq!(count(&any), 1, "the command ran exactly once across the fleet");
    let r = rows(&env);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].1.as_str(), r[0].3.as_str()), ("SUCCESS", "scheduled"));
    assert_eq!(storm(&env, "all", 20), 57);
    assert_eq!(count(&all), 3, "once per host");
    assert_eq!(hosts_of_runs(&env, "all"), ["h1", "h2", "h3"]);
    let claims: Vec<(String, String)> = {
        let c = db(&env);
        let mut stmt = c
            .prepare("SELECT scope, host FROM slot_claims WHERE task = 'all' ORDER BY scope")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<orc::store::sql::Result<_>>()
            .unwrap()
    };
    assert_eq!(claims, pairs(&[("h1", "h1"), ("h2", "h2"), ("h3", "h3")]));
    // The heartbeat: every host that executed shows when.
    let hosts = env.orc(["host", "list", "--json"]).ok().json();
    for h in hosts.as_array().unwrap() {
        assert!(h["last_seen_at"].as_str().unwrap().starts_with("2026-03-02T09:00:20"), "{h}");
    }
}

#[test]
fn a_task_refuses_to_run_on_a_host_it_is_not_assigned_to() {
    let mut env = Env::new();
    env.set_env("ORC_NOW", "2026-03-02T09:00:20");
    fleet(&env);
    let c = scratch(&env, "c");
    add_task(&env, "web-only", &child(&["count", &c]), |s| s.hosts = vec!["@web".into()]);
    for args in
        [&["execute", "--task", "web-only"][..], &["execute", "--task", "web-only", "--scheduled"]]
    {
        orc_on(&env, "h1", args).code(2).assert_stderr_line(
            "error: invalid --task \"web-only\": assigned to --hosts @web, not to host h1; \
             `orc schedule --all` on h1 removes a registration left there",
        );
    }
    assert_eq!(count(&c), 0);
    assert!(rows(&env).is_empty(), "nothing recorded");
    orc_on(&env, "h3", &["execute", "--task", "web-only"]).ok();
    assert_eq!(count(&c), 1);
    assert_eq!(hosts_of_runs(&env, "web-only"), ["h3"]);
}

#[test]
fn a_host_added_by_its_full_name_is_the_machine_of_that_short_name() {
    let env = schedule_env();
    env.orc(["host", "add", "srv-app02.corp.example.com"]).ok();
    env.orc(["host", "add", "srv-app03"]).ok();
    let c = scratch(&env, "c");
    add_task(&env, "etl", &child(&["count", &c]), |s| {
        s.hosts = vec!["srv-app02.corp.example.com".into()];
    });
    // Windows' computer name is the short name: it is the host the task was assigned to.
    assert_eq!(plan(&env, "SRV-APP02", &[]), pairs(&[("etl", "create")]));
    assert_eq!(plan(&env, "srv-app03", &[]), pairs(&[]));
    orc_on(&env, "srv-app02", &["execute", "--task", "etl"]).ok();
    assert_eq!(count(&c), 1);
    let hosts = env.orc(["host", "list", "--json"]).ok().json();
    assert!(hosts[0]["last_seen_at"].is_string(), "the heartbeat found the host: {hosts}");
    assert!(hosts[1]["last_seen_at"].is_null(), "{hosts}");
}

#[test]
fn a_schedule_target_the_fleet_does_not_know_is_refused_while_tasks_are_assigned() {
    let env = schedule_env();
    fleet(&env);
    add_task(&env, "a", "echo a", |s| s.hosts = vec!["h1".into()]);
    add_task(&env, "every", "echo every", |_| {});
    let made = calls_during(&env, || {
        orc_on(&env, "h1", &["schedule", "--all", "--host", "10.0.0.5"]).code(2).assert_stderr_line(
            "error: invalid --host \"10.0.0.5\": is not a host of the fleet (`orc host list`) and \
             tasks are assigned to hosts by name: give the name it was added with, or add it \
             with `orc host add`",
        );
    });
    assert!(made.is_empty(), "nothing was asked of the scheduler: {made:#?}");
    // This machine unknown to the fleet: a warning, and only the unassigned task.
    let out = orc_on(&env, "h9", &["schedule", "--all", "--dry-run", "--json"]).ok();
    assert!(
        out.stderr.contains(
            "this host (h9) is not in `orc host list`: only the tasks assigned to no host are \
             registered here"
        ),
        "{}",
        out.stderr
    );
    let rows = out.json();
    let tasks: Vec<&str> =
        rows.as_array().unwrap().iter().map(|r| r["task"].as_str().unwrap()).collect();
    assert_eq!(tasks, ["every"]);
}

#[test]
fn emptying_the_groups_a_task_runs_on_is_refused() {
    let env = Env::new();
    fleet(&env);
    env.orc(["group", "add", "solo", "--hosts", "h1"]).ok();
    env.orc(["task", "add", "t", "--command", "echo", "--schedule", "@daily", "--hosts", "@solo"])
        .ok();
    let before = env.db_bytes();
    env.orc(["group", "rm-host", "solo", "--hosts", "h1"]).code(2).assert_stderr_line(
        "error: invalid --hosts \"h1\": would leave task t with no host to run on (the groups it \
         names would be empty); change that first",
    );
    env.orc(["host", "rm", "h1"]).code(2).assert_stderr_line(
        "error: invalid host name \"h1\": would leave task t with no host to run on (the groups \
         it names would be empty); change that first",
    );
    assert!(env.db_bytes() == before, "a refused change changes nothing");
    // A group that keeps a member is fine.
    env.orc(["group", "rm-host", "web", "--hosts", "h2"]).ok().assert_stdout("group web: h3\n");
}

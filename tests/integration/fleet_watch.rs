//! Fleet watch (issue 18): a silent host is one incident until it executes again; the
//! `RUNNING` row of a silent host is ABANDONED and alerted while a live host's long run is left
//! alone; `orc status` shows the fleet. Hosts are simulated with `ORC_HOSTNAME`, time with
//! `ORC_NOW`; the watch and the admin commands run as host `admin`.

use chrono::SecondsFormat;
use orc::store::to_db_time;
use serde_json::json;

use crate::fleet::orc_on;
use crate::support::Env;
use crate::support::mail_seed::{Run, add_run, outbox, store};
use crate::watch::{alerts, at, local, setup, slot, utc};

fn iso(h: u32, m: u32) -> String {
    local(h, m).to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// The watch test setup (fake schtasks, mail queued in the outbox) with hosts h1, h2, h3.
fn fleet_env() -> Env {
    let mut env = setup();
    env.set_env("ORC_HOSTNAME", "admin");
    at(&mut env, 9, 0);
    for h in ["h1", "h2", "h3"] {
        env.orc(["host", "add", h]).ok();
    }
    env
}

/// Sets `host`'s heartbeat to `h`:`m` (as its `orc execute` at that time would).
fn seen(env: &Env, host: &str, h: u32, m: u32) {
    let mut s = store(env);
    s.write(|tx| {
        tx.execute(
            "UPDATE hosts SET last_seen_at = ?2 WHERE name = ?1",
            orc::store::sql::params![host, to_db_time(utc(h, m))],
        )
        .map_err(|e| orc::store::classify(std::path::Path::new("db"), "seed", e))
    })
    .unwrap();
}

#[test]
fn a_silent_host_is_one_incident_until_it_executes_again() {
    let mut env = fleet_env();
    let job = ["task", "add", "job", "--command", "echo hi", "--schedule", "0 * * * *"];
    env.orc([&job[..], &["--hosts", "h1"]].concat()).ok();
    // h2 and h3 have no task of their own (a run-on any task they share, and a task of every
    // host): nothing is expected of them, h3 was never even seen.
    let every5 = ["--command", "echo hi", "--schedule", "*/5 * * * *"];
    env.orc([&["task", "add", "shared"][..], &every5, &["--hosts", "h2,h3"]].concat()).ok();
    env.orc([&["task", "add", "everywhere"][..], &every5].concat()).ok();
    at(&mut env, 10, 0);
    orc_on(&env, "h1", &["execute", "--task", "job"]).ok();

    // The 11:00 slot plus the 10-minute grace: not yet.
    at(&mut env, 11, 10);
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    at(&mut env, 11, 11);
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open:#}");
    assert_eq!((&open[0]["kind"], &open[0]["subject"]), (&json!("host_silent"), &json!("h1")));
    let summary = format!(
        "host h1: the slot {} of task job passed without it; its last heartbeat was {}",
        slot(11, 0),
        iso(10, 0)
    );
    assert_eq!(open[0]["summary"], summary.as_str());

    // Later passes: the same incident, no second alert.
    at(&mut env, 12, 30);
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open:#}");
    assert_eq!((&open[0]["count"], &open[0]["summary"]), (&json!(1), &json!(summary)));
    assert_eq!(alerts(&env), ["[orc] HOST SILENT h1 on admin"]);

    // h1 executes again: the incident closes with one recovery.
    at(&mut env, 12, 40);
    orc_on(&env, "h1", &["execute", "--task", "job"]).ok();
    at(&mut env, 12, 45);
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    assert_eq!(
        alerts(&env),
        ["[orc] HOST SILENT h1 on admin", "[orc] RESOLVED HOST SILENT h1 on admin"]
    );
}

#[test]
fn a_silent_hosts_run_is_abandoned_and_alerted_but_a_live_long_run_is_left_alone() {
    let mut env = fleet_env();
    let hourly = ["--command", "x", "--schedule", "0 * * * *"];
    env.orc(
        [&["task", "add", "job"][..], &hourly, &["--hosts", "h1", "--timeout", "10m"]].concat(),
    )
    .ok();
    // No timeout, overlap skip: Task Scheduler starts nothing on h2 while the run lasts, so h2
    // writes no heartbeat either.
    env.orc([&["task", "add", "long"][..], &hourly, &["--hosts", "h2", "--no-timeout"]].concat())
        .ok();
    let mut run = Run::new("job", "RUNNING", None, utc(10, 0));
    run.host = "h1";
    let job = add_run(&env, &run);
    let mut run = Run::new("long", "RUNNING", None, utc(10, 0));
    run.host = "h2";
    let long = add_run(&env, &run);
    seen(&env, "h1", 10, 0);
    seen(&env, "h2", 10, 0);

    // `orc status` shows the fleet before the watch acts.
    at(&mut env, 11, 11);
    env.orc(["status"]).ok().assert_stdout(&format!(
        "TASK  ENABLED  SCHEDULE   LAST     LAST RUN             NEXT RUN          RUNNING\n\
         ----  -------  ---------  -------  -------------------  ----------------  -------\n\
         job   yes      0 * * * *  RUNNING  2026-03-02 10:00:00  2026-03-02 12:00  run {job}\n\
         long  yes      0 * * * *  RUNNING  2026-03-02 10:00:00  2026-03-02 12:00  run {long}\n\
         \n\
         FLEET\n\
         HOST  LAST SEEN            RUNNING       SILENT\n\
         ----  -------------------  ------------  ------\n\
         h1    2026-03-02 10:00:00  run {job} (job)   yes\n\
         h2    2026-03-02 10:00:00  run {long} (long)  no\n\
         h3    never                -             -\n"
    ));
    let status = env.orc(["--json", "status"]).ok().json();
    crate::json_schemas::assert_valid("status.schema.json", &status);
    assert_eq!(status.as_array().unwrap().len(), 2, "the array of tasks, hosts or not");
    let hosts = env.orc(["--json", "status", "--fleet"]).ok().json();
    crate::json_schemas::assert_valid("status-fleet.schema.json", &hosts);
    assert_eq!(
        hosts,
        json!([
            { "name": "h1", "last_seen_at": iso(10, 0), "running": [{ "id": job, "task": "job" }],
              "silent": true, "missed": { "task": "job", "slot": slot(11, 0) } },
            { "name": "h2", "last_seen_at": iso(10, 0),
              "running": [{ "id": long, "task": "long" }], "silent": false, "missed": null },
            { "name": "h3", "last_seen_at": null, "running": [], "silent": false, "missed": null },
        ])
    );

    // The watch: h1 is silent and job's run is past its timeout plus grace → ABANDONED, with
    // the failure notification of any run; h2's long run is left alone, h2 is not silent.
    let out = env.orc(["watch"]).code(1);
    assert_eq!(
        out.stdout.lines().next(),
        Some(
            format!(
                "run {job} of job was still marked RUNNING on host h1, which is silent: marked \
                 ABANDONED"
            )
            .as_str()
        )
    );
    let rows = env.orc(["--json", "history"]).ok().json();
    let by_id = |id: i64| rows.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by_id(job)["status"], "ABANDONED");
    assert_eq!(
        by_id(job)["error"],
        format!(
            "abandoned: host h1 stopped running its slots (the slot {} of task job passed \
             without it; its last heartbeat was {}); the orc process that ran this attempt \
             there cannot record a result",
            slot(11, 0),
            iso(10, 0)
        )
        .as_str()
    );
    assert_eq!(by_id(long)["status"], "RUNNING");
    let failures: Vec<String> =
        outbox(&env).into_iter().filter(|m| m.0 == "failure").map(|m| m.1).collect();
    assert_eq!(failures, ["[orc] ABANDONED job on h1 (orc stopped during the run)"]);
    let open = env.orc(["--json", "watch"]).code(1).json();
    let kinds: Vec<(&str, &str)> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("host_silent", "h1")]);

    // Hours later h2 is still busy with its long run: still left alone.
    at(&mut env, 15, 0);
    env.orc(["watch"]).code(1);
    let rows = env.orc(["--json", "history", "--task", "long"]).ok().json();
    assert_eq!(rows[0]["status"], "RUNNING");
    assert_eq!(outbox(&env).iter().filter(|m| m.0 == "failure").count(), 1, "alerted once");
}

//! `orc watch` with the test clock (`ORC_NOW`) and the fake schtasks: missed slots, late and
//! runaway runs, registrations disabled or deleted by hand, the scheduler down, recovery, no
//! duplicate alerts across passes, reminders; the metrics textfile, parsed by a Prometheus
//! text-format parser; the built-in `orc-watch` task.

use chrono::{DateTime, Local, NaiveDate, TimeZone, Utc};

use crate::schedule::{fake, fake_tasks, stored_xml};
use crate::support::Env;
use crate::support::mail_seed::{Run, add_run, outbox, set_config, store};

pub(crate) fn local(h: u32, m: u32) -> DateTime<Local> {
    let naive = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap().and_hms_opt(h, m, 0).unwrap();
    Local.from_local_datetime(&naive).earliest().unwrap()
}

pub(crate) fn utc(h: u32, m: u32) -> DateTime<Utc> {
    local(h, m).with_timezone(&Utc)
}

pub(crate) fn slot(h: u32, m: u32) -> String {
    local(h, m).format("%Y-%m-%dT%H:%M%:z").to_string()
}

/// Sets the test clock to 2026-03-02 `h`:`m` local time.
pub(crate) fn at(env: &mut Env, h: u32, m: u32) {
    env.set_env("ORC_NOW", format!("2026-03-02T{h:02}:{m:02}:00"));
}

/// The fake schtasks, mail to a relay that refuses connections (messages stay queued in the
/// outbox, where the test reads them), and the built-in watch task off.
pub(crate) fn setup() -> Env {
    let env = crate::schedule::env();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    set_config(
        &env,
        &[
            ("smtp.host", "127.0.0.1"),
            ("smtp.port", &port.to_string()),
            ("smtp.tls", "none"),
            ("smtp.timeout", "2s"),
            ("mail.from", "orc@example.com"),
            ("mail.to", "ops@example.com"),
        ],
    );
    env
}

/// Adds a task at 09:50 and registers it at 09:55.
fn add_and_schedule(env: &mut Env, name: &str, schedule: &str) {
    at(env, 9, 50);
    env.orc(["task", "add", name, "--command", "echo hi", "--schedule", schedule]).ok();
    at(env, 9, 55);
    env.orc(["schedule", "--all"]).ok();
}

/// Subjects of the messages the watch queued, oldest first.
pub(crate) fn alerts(env: &Env) -> Vec<String> {
    outbox(env).into_iter().filter(|m| m.0 == "watch").map(|m| m.1).collect()
}

fn host() -> String {
    orc::exec::runs::hostname()
}

fn served(env: &Env, task: &str, h: u32, m: u32) {
    let mut r = Run::new(task, "SUCCESS", Some(0), utc(h, m) + chrono::Duration::seconds(2));
    r.slot = Some(slot(h, m));
    add_run(env, &r);
}

#[test]
fn a_missed_slot_alerts_once_and_recovers_once() {
    let mut env = setup();
    add_and_schedule(&mut env, "sync", "*/15 * * * *");
    served(&env, "sync", 10, 0);

    // 10:15 never ran; 10:30 is younger than the 10-minute grace.
    at(&mut env, 10, 40);
    let open = env.orc(["--json", "watch"]).code(1).json();
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["kind"], "missed");
    assert_eq!(open[0]["subject"], "sync");
    assert_eq!(
        open[0]["summary"],
        format!("sync: the run of {} did not start", slot(10, 15)).as_str()
    );
    assert_eq!(open[0]["count"], 1);
    assert_eq!(alerts(&env), vec![format!("[orc] MISSED RUN sync on {}", host())]);

    // A minute later 10:30 is missed too: the same incident, no second alert.
    at(&mut env, 10, 41);
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["count"], 2);
    assert_eq!(
        open[0]["summary"],
        format!("sync: the run of {} did not start", slot(10, 30)).as_str()
    );
    assert_eq!(alerts(&env).len(), 1, "no duplicate alert");

    // 10:45 ran: the task is back; one recovery, then silence.
    served(&env, "sync", 10, 45);
    at(&mut env, 10, 56);
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    at(&mut env, 10, 57);
    env.orc(["watch"]).ok();
    assert_eq!(
        alerts(&env),
        vec![
            format!("[orc] MISSED RUN sync on {}", host()),
            format!("[orc] RESOLVED MISSED RUN sync on {}", host()),
        ]
    );
    assert_eq!(env.orc(["--json", "watch"]).ok().json(), serde_json::json!([]));
}

#[test]
fn slots_before_the_registration_and_disabled_tasks_are_not_missed() {
    let mut env = setup();
    // Registered at 09:55: the 09:45 slot was never the scheduler's to start.
    add_and_schedule(&mut env, "sync", "*/15 * * * *");
    served(&env, "sync", 10, 0);
    at(&mut env, 10, 10);
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    // Disabled: nothing is expected of it.
    env.orc(["task", "disable", "sync"]).ok();
    at(&mut env, 12, 0);
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    assert!(alerts(&env).is_empty());
}

#[test]
fn an_open_incident_is_reminded_at_the_reminder_interval() {
    let mut env = setup();
    set_config(&env, &[("notify.reminder_interval", "1h")]);
    add_and_schedule(&mut env, "daily", "0 10 * * *");
    at(&mut env, 10, 20);
    env.orc(["watch"]).code(1);
    at(&mut env, 10, 50);
    env.orc(["watch"]).code(1);
    assert_eq!(alerts(&env).len(), 1, "30 minutes: no reminder yet");
    at(&mut env, 11, 21);
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open[0]["alerts"], 2);
    at(&mut env, 11, 30);
    env.orc(["watch"]).code(1);
    assert_eq!(
        alerts(&env),
        vec![
            format!("[orc] MISSED RUN daily on {}", host()),
            format!("[orc] STILL MISSED RUN daily on {}", host()),
        ]
    );
}

#[test]
fn late_and_runaway_runs() {
    let mut env = setup();
    at(&mut env, 9, 0);
    env.orc(["task", "add", "slow", "--command", "x", "--schedule", "@daily", "--timeout", "10m"])
        .ok();
    env.orc(["task", "add", "varies", "--command", "x", "--schedule", "@daily", "--timeout", "2h"])
        .ok();
    for m in 0..5 {
        let mut r = Run::new("varies", "SUCCESS", Some(0), utc(8, m * 10));
        r.duration_ms = 60_000;
        add_run(&env, &r);
    }
    // Host TESTHOST: not this machine's, so never reaped as stale.
    let slow = add_run(&env, &Run::new("slow", "RUNNING", None, utc(10, 0)));
    let varies = add_run(&env, &Run::new("varies", "RUNNING", None, utc(10, 17)));

    at(&mut env, 10, 20);
    assert_eq!(env.orc(["--json", "watch"]).ok().json(), serde_json::json!([]), "in time");
    at(&mut env, 10, 21);
    let open = env.orc(["--json", "watch"]).code(1).json();
    let kinds: Vec<(&str, &str)> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["kind"].as_str().unwrap(), i["subject"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, vec![("late", "slow"), ("runaway", "varies")]);
    assert_eq!(
        open[0]["summary"],
        format!(
            "slow: run {slow} has been running for 21m, past its timeout of 10m plus 10m grace"
        )
        .as_str()
    );
    assert_eq!(
        open[1]["summary"],
        format!(
            "varies: run {varies} has been running for 4m, more than 3 × its usual 1m00s (p95 of \
             the last 5 successful runs)"
        )
        .as_str()
    );

    // The slow run ends: its incident recovers; the runaway stays.
    let s = store(&env);
    s.conn().execute("UPDATE runs SET status = 'SUCCESS' WHERE id = ?1", [slow]).unwrap();
    at(&mut env, 10, 22);
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["kind"], "runaway");
    let h = host();
    assert_eq!(
        alerts(&env),
        vec![
            format!("[orc] LATE slow on {h}"),
            format!("[orc] RUNAWAY varies on {h}"),
            format!("[orc] RESOLVED LATE slow on {h}"),
        ]
    );
}

#[test]
fn registrations_disabled_or_deleted_by_hand_and_the_scheduler_down() {
    let mut env = setup();
    add_and_schedule(&mut env, "nightly", "0 2 * * *");
    at(&mut env, 10, 0);
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");

    fake(&env, &["/Change", "/TN", "\\Orchestrator\\Orc_nightly", "/DISABLE"]).ok();
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open[0]["kind"], "registration");
    assert_eq!(
        open[0]["summary"],
        "nightly: the registration \\Orchestrator\\Orc_nightly is disabled in the scheduler; \
         `orc schedule --all` restores it"
    );
    assert_eq!(open[0]["detail"]["problem"], "disabled");
    env.orc(["schedule", "--all"]).ok();
    env.orc(["watch"]).ok();

    fake(&env, &["/Delete", "/TN", "\\Orchestrator\\Orc_nightly", "/F"]).ok();
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open[0]["detail"]["problem"], "missing");

    // The scheduler cannot be read: that is an incident of its own, and the registration
    // incident stays as it is (not recovered: nothing could be checked).
    env.set_env("FAKE_SCHTASKS_MODE", "service-unavailable");
    let open = env.orc(["--json", "watch"]).code(1).json();
    let kinds: Vec<&str> =
        open.as_array().unwrap().iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["registration", "scheduler"]);
    env.set_env("FAKE_SCHTASKS_MODE", "normal");
    env.orc(["schedule", "--all"]).ok();
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    let h = host();
    assert_eq!(
        alerts(&env),
        vec![
            format!("[orc] REGISTRATION nightly on {h}"),
            format!("[orc] RESOLVED REGISTRATION nightly on {h}"),
            format!("[orc] REGISTRATION nightly on {h}"),
            format!("[orc] SCHEDULER DOWN on {h}"),
            format!("[orc] RESOLVED REGISTRATION nightly on {h}"),
            format!("[orc] RESOLVED SCHEDULER DOWN on {h}"),
        ]
    );
}

#[test]
fn messages_the_outbox_gave_up_on_are_an_incident_until_retried() {
    let mut env = setup();
    set_config(&env, &[("watch.channels", "none")]);
    at(&mut env, 10, 0);
    let s = store(&env);
    s.conn()
        .execute(
            "INSERT INTO outbox (created_at, kind, recipients, subject, body_text, tries, \
             next_attempt_at, gave_up_at) VALUES ('2026-03-01T00:00:00.000Z', 'failure', \
             'ops@example.com', 's', 't', 24, '2026-03-01T00:00:00.000Z', \
             '2026-03-02T00:00:00.000Z')",
            [],
        )
        .unwrap();
    let open = env.orc(["--json", "watch"]).code(1).json();
    assert_eq!(open[0]["kind"], "outbox");
    assert_eq!(
        open[0]["summary"],
        "1 notification could not be delivered and was given up (`orc notify status`; \
         `orc notify flush --retry-given-up`)"
    );
    s.conn().execute("UPDATE outbox SET sent_at = gave_up_at, gave_up_at = NULL", []).unwrap();
    env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
    assert!(alerts(&env).is_empty(), "watch.channels none sends nothing");
}

fn scrape(path: &std::path::Path) -> prometheus_parse::Scrape {
    let text = std::fs::read_to_string(path).unwrap();
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

/// The value of `metric` whose labels include every pair of `labels`.
fn value(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = s
        .samples
        .iter()
        .filter(|x| x.metric == metric)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(found.len(), 1, "{metric} {labels:?}: {found:?}");
    found[0]
}

#[test]
fn the_metrics_textfile_after_a_watch_pass_and_a_run() {
    let mut env = setup();
    let file = env.root().join("orc.prom");
    env.orc(["config", "set", "metrics.textfile", file.to_str().unwrap()]).ok();
    env.orc(["config", "set", "metrics.textfile", "relative.prom"]).code(2);
    add_and_schedule(&mut env, "a", "*/15 * * * *");
    served(&env, "a", 10, 0);
    let mut failed = Run::new("a", "FAILED", Some(2), utc(10, 30));
    failed.slot = Some(slot(10, 30));
    failed.duration_ms = 2_250;
    add_run(&env, &failed);
    let running = add_run(&env, &Run::new("a", "RUNNING", None, utc(10, 45)));

    at(&mut env, 10, 50); // 10:15 missed
    env.orc(["watch"]).code(1);
    let s = scrape(&file);
    let h = host();
    let a = [("task", "a"), ("host", h.as_str())];
    let ts = |h, m| utc(h, m).timestamp() as f64;
    assert_eq!(value(&s, "orc_task_last_run_timestamp_seconds", &a), ts(10, 45));
    assert_eq!(value(&s, "orc_task_last_success_timestamp_seconds", &a), ts(10, 0) + 2.0);
    assert_eq!(value(&s, "orc_task_last_failure_timestamp_seconds", &a), ts(10, 30));
    assert_eq!(value(&s, "orc_task_last_duration_seconds", &a), 2.25);
    assert_eq!(value(&s, "orc_task_last_exit_code", &a), 2.0);
    let by = |st: &str| value(&s, "orc_task_runs_total", &[a[0], a[1], ("status", st)]);
    assert_eq!((by("success"), by("failed"), by("running"), by("timeout")), (1.0, 1.0, 1.0, 0.0));
    assert_eq!(value(&s, "orc_task_missed_runs_total", &a), 1.0);
    assert_eq!(value(&s, "orc_task_running", &a), 1.0);
    assert_eq!(value(&s, "orc_incidents_open", &[("kind", "missed")]), 1.0);
    assert_eq!(value(&s, "orc_incidents_open", &[("kind", "late")]), 0.0);
    assert_eq!(value(&s, "orc_outbox_messages", &[("state", "pending")]), 1.0);
    assert_eq!(value(&s, "orc_outbox_messages", &[("state", "given_up")]), 0.0);

    // The running run ends, and a manual run rewrites the file.
    store(&env)
        .conn()
        .execute("UPDATE runs SET status = 'SUCCESS', \"end\" = start WHERE id = ?1", [running])
        .unwrap();
    at(&mut env, 11, 0);
    env.orc(["execute", "--task", "a"]).ok();
    let s = scrape(&file);
    assert_eq!(by_status(&s, &a, "success"), 3.0);
    assert_eq!(by_status(&s, &a, "running"), 0.0);
    assert_eq!(value(&s, "orc_task_last_run_timestamp_seconds", &a), ts(11, 0));
    assert_eq!(value(&s, "orc_task_last_exit_code", &a), 0.0);
    let leftovers: Vec<_> = std::fs::read_dir(env.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("orc-metrics"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn by_status(s: &prometheus_parse::Scrape, a: &[(&str, &str); 2], st: &str) -> f64 {
    value(s, "orc_task_runs_total", &[a[0], a[1], ("status", st)])
}

#[test]
fn the_built_in_watch_task_follows_watch_interval() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    env.orc(["config", "set", "watch.interval", "7m"]).code(2);
    env.orc(["config", "set", "watch.interval", "10m"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let t = env.orc(["--json", "task", "show", "orc-watch"]).ok().json();
    assert_eq!(t["schedule"], "*/10 * * * *");
    assert_eq!(t["catch_up"], "once");
    assert!(t["command"].as_str().unwrap().ends_with("watch --exit-zero"), "{t}");
    let xml = stored_xml(&env, "orc-watch");
    assert!(xml.contains("execute --task orc-watch --scheduled"), "{xml}");
    assert!(xml.contains("<StartWhenAvailable>true</StartWhenAvailable>"), "{xml}");
    env.orc(["config", "set", "watch.interval", "none"]).ok();
    env.orc(["schedule", "--all"]).ok();
    env.orc(["task", "show", "orc-watch"]).code(3);
    assert!(!fake_tasks(&env).iter().any(|p| p.ends_with("Orc_orc-watch")));
}

/// `watch.channels` names notification channels: a missed slot posts a `missed` event to a
/// webhook (once), and its recovery a `recovery` event; the built-in mail is not used.
#[test]
fn incidents_go_to_the_channels_watch_channels_names() {
    use crate::support::http_receiver::Receiver;
    let mut env = setup();
    let rx = Receiver::start();
    env.orc(["channel", "add", "ops-hook", "--kind", "webhook", "--url", &rx.url("/hook")]).ok();
    env.orc(["config", "set", "watch.channels", "ops-hook"]).ok();
    add_and_schedule(&mut env, "sync", "*/15 * * * *");
    served(&env, "sync", 10, 0);
    at(&mut env, 10, 40);
    env.orc(["watch"]).code(1);
    at(&mut env, 10, 41);
    env.orc(["watch"]).code(1);
    let reqs = rx.wait_for(1);
    assert_eq!(reqs.len(), 1, "one event for one incident: {reqs:?}");
    let ev = reqs[0].json();
    assert_eq!(ev["kind"], "missed");
    assert_eq!(ev["task"], "sync");
    assert_eq!(ev["summary"], format!("[orc] MISSED RUN sync on {}", host()).as_str());
    served(&env, "sync", 10, 45);
    at(&mut env, 10, 56);
    env.orc(["watch"]).ok();
    let reqs = rx.wait_for(2);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].json()["kind"], "recovery");
    assert_eq!(alerts(&env), Vec::<String>::new(), "no mail: watch.channels names only the hook");
    env.orc(["config", "set", "watch.channels", "-x"]).code(2);
    assert_eq!(env.orc(["config", "get", "watch.channels"]).ok().stdout, "ops-hook\n");
}

/// Europe/Berlin's DST nights of 2026 with daily 02:30 tasks, under orc's DST policy
/// (`cron::dst`: a fixed-time slot in the spring-forward gap runs once at the first instant
/// after it; in the autumn overlap once, at the earlier instant). Spring (29 March, 02:00 →
/// 03:00): the nonexistent 02:30 is never reported, the night's one slot is 03:00+02:00.
/// Autumn (25 October, 03:00 → 02:00): 02:30 is one slot (02:30+02:00), not two. A task whose
/// run served that slot has no incident; one that did not run has one incident counting one
/// slot, alerted once. Unix only: there `TZ` names the zone (on Windows the zone is the
/// system's, as in `cron_cli`'s DST tests).
#[cfg(unix)]
#[test]
fn a_daily_task_across_the_dst_nights_is_neither_missed_nor_reported_twice() {
    use chrono::DateTime;
    let serve = |env: &Env, task: &str, slot: &str| {
        // `2026-03-29T03:00+02:00` → `2026-03-29T03:00:00+02:00`.
        let at = format!("{}:00{}", &slot[..16], &slot[16..]);
        let start = DateTime::parse_from_rfc3339(&at).unwrap().with_timezone(&Utc);
        let mut r = Run::new(task, "SUCCESS", Some(0), start + chrono::Duration::seconds(2));
        r.slot = Some(slot.to_string());
        add_run(env, &r);
    };
    // (night, registered at, the night's one slot, passes: inside the grace, then twice after)
    let nights = [
        (
            "spring",
            "2026-03-28T12:00:00",
            "2026-03-29T03:00+02:00",
            ["2026-03-29T03:05:00", "2026-03-29T05:00:00", "2026-03-29T05:01:00"],
        ),
        (
            "autumn",
            "2026-10-24T12:00:00",
            "2026-10-25T02:30+02:00",
            // 02:35 is an ambiguous ORC_NOW: its earlier instant, inside the grace.
            ["2026-10-25T02:35:00", "2026-10-25T04:00:00", "2026-10-25T04:01:00"],
        ),
    ];
    for (day, registered, night_slot, after) in nights {
        let mut env = setup();
        env.set_env("TZ", "Europe/Berlin");
        env.set_env("ORC_NOW", registered);
        for task in ["served", "skipped"] {
            env.orc(["task", "add", task, "--command", "echo hi", "--schedule", "30 2 * * *"]).ok();
        }
        env.orc(["schedule", "--all"]).ok();
        serve(&env, "served", night_slot);
        // Right after the slot (inside the grace): nothing, and no 02:30 of the gap.
        env.set_env("ORC_NOW", after[0]);
        env.orc(["watch"]).ok().assert_stdout("no open incidents\n");
        // Later: only the task that did not run, for its one slot.
        env.set_env("ORC_NOW", after[1]);
        let open = env.orc(["--json", "watch"]).code(1).json();
        assert_eq!(open.as_array().unwrap().len(), 1, "{day}: {open}");
        assert_eq!(open[0]["subject"], "skipped", "{day}");
        assert_eq!(
            open[0]["summary"],
            format!("skipped: the run of {night_slot} did not start").as_str(),
            "{day}"
        );
        env.set_env("ORC_NOW", after[2]);
        let open = env.orc(["--json", "watch"]).code(1).json();
        assert_eq!(open.as_array().unwrap().len(), 1, "{day}: {open}");
        assert_eq!(open[0]["count"], 1, "{day}: one slot, not two: {open}");
        assert_eq!(alerts(&env).len(), 1, "{day}: alerted once");
    }
}

//! `orc cron explain|next|triggers` from the command line.

use crate::support::Env;

/// Runs with a fixed clock, and on Unix a fixed time zone, so output is stable.
fn env_at(now: &str) -> Env {
    let mut env = Env::new();
    env.set_env("ORC_NOW", now);
    #[cfg(unix)]
    env.set_env("TZ", "UTC");
    env
}

#[test]
fn next_prints_local_times_one_per_line() {
    let env = env_at("2027-01-01T00:00:00");
    let out = env
        .orc(["cron", "next", "0 0 */2 * 1", "--from", "2027-01-01T00:00:00", "--count", "4"])
        .ok();
    // The day rule: */2 starts with '*', so the day fields are ANDed: odd-dated Mondays.
    assert_eq!(
        out.stdout,
        "2027-01-11T00:00:00\n2027-01-25T00:00:00\n2027-02-01T00:00:00\n2027-02-15T00:00:00\n"
    );
    let out = env
        .orc(["cron", "next", "0 0 1-31 * 4", "--from", "2027-01-01T00:00", "--count", "3"])
        .ok();
    assert_eq!(out.stdout, "2027-01-02T00:00:00\n2027-01-03T00:00:00\n2027-01-04T00:00:00\n");
}

#[test]
fn feb_29_on_a_monday_is_found_decades_ahead() {
    let env = env_at("2027-01-01T00:00:00");
    let out =
        env.orc(["cron", "next", "0 0 29 2 1", "--from", "2029-01-01T00:00", "--count", "2"]).ok();
    // OR rule (both day fields restricted): every Monday plus Feb 29; with the month
    // restricted to February only February days qualify.
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines, ["2029-02-05T00:00:00", "2029-02-12T00:00:00"]);
    let out =
        env.orc(["cron", "next", "0 0 29 2 *", "--from", "2097-03-01T00:00", "--count", "1"]).ok();
    assert_eq!(out.stdout, "2104-02-29T00:00:00\n", "2100 is not a leap year");
}

#[test]
fn explain_json_has_the_contract_fields() {
    let env = env_at("2027-01-04T08:00:00");
    let v = env.orc(["--json", "cron", "explain", "*/15 8-18 * * MON-FRI"]).ok().json();
    assert_eq!(v["description"], "Every 15 minutes, 08:00 through 18:59, Monday through Friday");
    assert_eq!(v["triggers"], 1);
    assert_eq!(v["exact"], true);
    assert!(v["warnings"].as_array().unwrap().is_empty());
    let next = v["next"].as_array().unwrap();
    assert_eq!(next.len(), 5);
    #[cfg(unix)]
    assert_eq!(next[0], "2027-01-04T08:15:00+00:00");

    let v = env.orc(["--json", "cron", "explain", "0 12 */2 * 0,6"]).ok().json();
    assert_eq!(v["exact"], false);
    assert!(v["warnings"][0].as_str().unwrap().contains("superset"));

    let v = env.orc(["--json", "cron", "explain", "0 0 1,15 * 1"]).ok().json();
    assert_eq!(v["triggers"], 2);
    assert_eq!(v["may_duplicate"], true);
}

#[test]
fn explain_of_a_many_trigger_expression_says_how_it_is_handled() {
    let env = env_at("2027-01-04T08:00:00");
    let expr = "1,2,4,8,11,16,19,23,29,31,32,37,41,43,47,53,58 0,1,3,4,6,9,12,13,15,17,20,22 * * *";
    let v = env.orc(["--json", "cron", "explain", expr]).ok().json();
    assert!(v["triggers"].as_u64().unwrap() <= 48);
    assert_eq!(v["exact"], false);
    let out = env.orc(["cron", "explain", expr]).ok();
    out.assert_stdout_has_line(
        "task scheduler  34 triggers, superset (orc execute --scheduled filters)",
    );
    out.assert_stdout_has_line(
        "note            The exact schedule needs 55 triggers, more than Task Scheduler's limit \
         of 48; orc registers 34 triggers that start 340 times a day instead of 204, and \
         `orc execute --scheduled` skips the starts that are not in the expression.",
    );
}

#[test]
fn never_firing_expressions_are_warned_about_and_refused_for_tasks() {
    let env = env_at("2027-01-04T08:00:00");
    let v = env.orc(["--json", "cron", "explain", "0 0 31 2 *"]).ok().json();
    assert!(v["next"].as_array().unwrap().is_empty());
    assert!(v["warnings"][0].as_str().unwrap().contains("never fires"));
    let out =
        env.orc(["task", "add", "x", "--command", "echo", "--schedule", "0 0 30 2 *"]).code(2);
    out.assert_stderr_line("error: invalid --schedule \"0 0 30 2 *\": this schedule never fires (At 00:00 on February 30 (no such date exists, so this never runs))");
}

#[test]
fn bad_input_exits_two_naming_the_rule() {
    let env = env_at("2027-01-04T08:00:00");
    for (args, needle) in [
        (vec!["cron", "explain", "0 0 ? * *"], "day-of-month"),
        (vec!["cron", "explain", "5/15 * * * *"], "minute"),
        (vec!["cron", "explain", "@reboot"], "reboot"),
        (vec!["cron", "next", "* * * * *", "--from", "yesterday"], "--from"),
        (vec!["cron", "next", "* * * * *", "--count", "0"], "--count"),
        (vec!["cron", "triggers", "* * * * *", "--start", "2027-13-01T00:00"], "--start"),
        (vec!["cron", "next", "0 0 * * * *"], "field"),
    ] {
        let out = env.orc(&args).code(2);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn triggers_prints_the_task_scheduler_fragment() {
    let env = env_at("2027-01-04T08:00:00");
    let out = env.orc(["cron", "triggers", "*/7 * * * *", "--start", "2027-01-01T00:00:00"]).ok();
    assert!(
        out.stdout.starts_with(
            "<Triggers xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">"
        )
    );
    assert_eq!(out.stdout.matches("<CalendarTrigger>").count(), 9, "{}", out.stdout);
    assert!(out.stdout.contains("<StartBoundary>2027-01-01T00:56:00</StartBoundary>"));
    let v = env.orc(["--json", "cron", "triggers", "*/7 * * * *"]).ok().json();
    assert_eq!(v["triggers"], 9);
}

#[cfg(unix)]
#[test]
fn explain_snapshots_for_business_shapes() {
    let env = env_at("2027-01-04T06:00:00");
    let mut all = String::new();
    for expr in
        ["0 9-17 * * 1-5", "*/15 8-18 * * MON-FRI", "0 0 1,15 * *", "30 2 * * 0", "*/7 * * * *"]
    {
        let out = env.orc(["cron", "explain", expr, "--count", "3"]).ok();
        all.push_str(&out.stdout);
        all.push('\n');
    }
    insta::assert_snapshot!(all);
}

#[cfg(unix)]
#[test]
fn dst_spring_forward_runs_fixed_time_jobs_once_after_the_gap() {
    let mut env = Env::new();
    env.set_env("TZ", "America/New_York");
    env.set_env("ORC_NOW", "2024-03-01T00:00:00");
    let out =
        env.orc(["cron", "next", "30 2 * * *", "--from", "2024-03-09T12:00", "--count", "3"]).ok();
    assert_eq!(out.stdout, "2024-03-10T03:00:00\n2024-03-11T02:30:00\n2024-03-12T02:30:00\n");
    let out = env.orc(["cron", "explain", "30 2 * * *"]).ok();
    assert!(out.stdout.contains("2024-03-10"), "DST warning expected:\n{}", out.stdout);
}

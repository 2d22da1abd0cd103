//! How orc reads Task Scheduler back, against the fake schtasks: Windows' normalized storage
//! compared semantically, a hand disable undone with `/Change`, failures classified by HRESULT
//! in French, the per-registration fallback when the machine-wide query fails, and foreign
//! tasks whose Description forges rows of orc's registrations (issue 12 finding 4).

use crate::schedule::{
    calls, calls_during, edit_stored_xml, entry, env, fake, put_task, stored_xml, task,
};

const QUERY_ALL: &str = "/Query\t/FO\tCSV\t/V\t/NH\t/HRESULT";

fn query_one(task: &str) -> String {
    format!("/Query\t/TN\t\\Orchestrator\\Orc_{task}\t/FO\tCSV\t/V\t/NH\t/HRESULT")
}

fn query_xml(task: &str) -> String {
    format!("/Query\t/TN\t\\Orchestrator\\Orc_{task}\t/XML\t/HRESULT")
}

#[test]
fn what_windows_stores_is_unchanged_and_a_hand_edit_is_repaired() {
    let env = env();
    put_task(&env, &task("a", "*/15 8-18 * * 1-5"));
    let mut b = task("b", "0 6 * * *");
    b.description = Some("two\nlines".into());
    put_task(&env, &b);
    env.orc(["schedule", "--all"]).ok();
    let rows = env.orc(["schedule", "--all", "--dry-run", "--json"]).ok().json();
    let registered = entry(&rows, "a")["xml"].as_str().unwrap().to_string();
    let stored = stored_xml(&env, "a");
    // The fake keeps what Windows keeps, not orc's bytes…
    assert_ne!(stored, registered);
    for added in [
        "<URI>\\Orchestrator\\Orc_a</URI>",
        "<StopAtDurationEnd>false</StopAtDurationEnd>",
        "<IdleSettings>",
        "<Enabled>true</Enabled>\r\n      <ScheduleByWeek>",
    ] {
        assert!(stored.contains(added), "{added}\n{stored}");
    }
    // …which is the same definition.
    assert_eq!(
        orc::scheduler::taskxml::normalize::compare(&registered, &stored),
        Vec::<String>::new()
    );
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("0 updated, 0 deleted, 2 unchanged"), "{}", out.stdout);
    });
    assert_eq!(made, vec![QUERY_ALL.to_string()]);

    // A real hand edit (the repetition interval) is still seen, named and repaired.
    edit_stored_xml(&env, "a", |x| {
        x.replace("<Interval>PT15M</Interval>", "<Interval>PT20M</Interval>")
    });
    let made = calls_during(&env, || {
        let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
        let e = entry(&rows, "a");
        assert_eq!(
            (e["action"].as_str(), e["drift"].as_bool()),
            (Some("update"), Some(true)),
            "{e}"
        );
        assert_eq!(
            e["details"],
            serde_json::json!([
                "Triggers/CalendarTrigger/Repetition/Interval: Task Scheduler has \"PT20M\", orc registers \"PT15M\""
            ])
        );
        assert_eq!(entry(&rows, "b")["action"], "unchanged");
    });
    assert_eq!(made.len(), 3, "{made:#?}");
    assert_eq!(made[..2], [QUERY_ALL.to_string(), query_xml("a")]);
    assert!(made[2].starts_with("/Create\t/TN\t\\Orchestrator\\Orc_a\t/XML\t"), "{made:#?}");
    assert_eq!(
        stored_xml(&env, "a"),
        stored,
        "repaired to what Windows stores for orc's definition"
    );
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all"]).ok();
    });
    assert_eq!(made, vec![QUERY_ALL.to_string()]);
}

#[test]
fn a_task_only_disabled_by_hand_is_re_enabled_with_change() {
    let env = env();
    put_task(&env, &task("t", "*/30 * * * *"));
    env.orc(["schedule", "--all"]).ok();
    env.orc(["schedule", "--all"]).ok();
    let stored = stored_xml(&env, "t");
    fake(&env, &["/Change", "/TN", "\\Orchestrator\\Orc_t", "/DISABLE"]).ok();
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        assert!(out.stdout.contains("1 updated (1 changed outside orc)"), "{}", out.stdout);
    });
    assert_eq!(
        made,
        vec![
            QUERY_ALL.to_string(),
            query_xml("t"),
            "/Change\t/TN\t\\Orchestrator\\Orc_t\t/ENABLE\t/HRESULT".to_string(),
        ]
    );
    assert_eq!(stored_xml(&env, "t"), stored);
}

#[test]
fn failures_are_classified_by_hresult_in_french() {
    // The fake's French logon-failure text is in no table of orc's: only the code tells.
    let mut env = env();
    env.set_env("FAKE_SCHTASKS_LOCALE", "fr-FR");
    env.set_env("FAKE_SCHTASKS_ACCOUNTS", "svc_orc:Right-pass1");
    let mut t = task("acct", "0 6 * * *");
    t.run_as = Some("CORP\\svc_orc".into());
    put_task(&env, &t);
    env.orc_with_stdin(
        ["credential", "set", "run-as-CORP-svc_orc", "--from-stdin", "--kind", "account_password"],
        Some(b"Wrong-pass1"),
    )
    .ok();
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).code(4);
        assert!(out.stderr.contains("0x8007052E ERROR_LOGON_FAILURE"), "{}", out.stderr);
        assert!(out.stderr.contains("password"), "{}", out.stderr);
        assert!(!out.stderr.contains("Wrong-pass1"), "{}", out.stderr);
    });
    assert!(made.iter().all(|c| c.ends_with("\t/HRESULT")), "{made:#?}");

    // The service is stopped: French text orc does not know, the code says "unavailable".
    env.set_env("FAKE_SCHTASKS_MODE", "service-unavailable");
    let out = env.orc(["schedule", "--all"]).code(4);
    assert!(out.stderr.contains("is not available"), "{}", out.stderr);
    assert!(out.stderr.contains("SCHED_E_SERVICE_NOT_RUNNING"), "{}", out.stderr);

    // Access denied: exit 4 with the elevated-shell hint.
    env.set_env("FAKE_SCHTASKS_MODE", "access-denied");
    put_task(&env, &task("acct", "0 6 * * *"));
    let out = env.orc(["schedule", "--all"]).code(4);
    assert!(out.stderr.contains("elevated"), "{}", out.stderr);
}

#[test]
fn a_broken_machine_wide_query_falls_back_to_one_query_per_registration() {
    let mut env = env();
    put_task(&env, &task("a", "0 6 * * *"));
    put_task(&env, &task("b", "0 7 * * *"));
    env.orc(["schedule", "--all"]).ok();
    env.set_env("FAKE_SCHTASKS_CORRUPT_TASK", "\\Vendor\\Broken");
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).ok();
        let first = out.stdout.lines().next().unwrap_or_default();
        assert!(first.starts_with("warning: the machine-wide schtasks query failed: "), "{first}");
        // The HRESULT exit code: its low byte on Unix, the whole value under Wine.
        assert!(
            first.contains(
                "/Query /FO CSV /V /NH /HRESULT failed (exit code 33): ERROR: The task image is \
                 corrupt or has been tampered with."
            ) || first.contains("failed (exit code -2147216607)"),
            "{first}"
        );
        assert!(
            out.stdout.contains("read orc's 2 known registration(s) one by one"),
            "{}",
            out.stdout
        );
        assert!(
            out.stdout.contains("0 created, 0 updated, 0 deleted, 2 unchanged"),
            "{}",
            out.stdout
        );
    });
    assert_eq!(made, vec![QUERY_ALL.to_string(), query_one("a"), query_one("b")]);

    // Deleted by hand meanwhile: still seen as missing, and re-created.
    fake(&env, &["/Delete", "/TN", "\\Orchestrator\\Orc_b", "/F"]).ok();
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    let b = entry(&rows, "b");
    assert_eq!((b["action"].as_str(), b["drift"].as_bool()), (Some("create"), Some(true)));
    assert_eq!(entry(&rows, "a")["action"], "unchanged");
    for r in rows.as_array().unwrap() {
        let w = r["read_back_warning"].as_str().unwrap_or_default();
        assert!(w.contains("query failed") && w.contains("one by one"), "{r}");
    }
    let out = env.orc(["schedule", "--list"]).ok();
    assert!(
        out.stdout.starts_with("warning: the machine-wide schtasks query failed"),
        "{}",
        out.stdout
    );

    // Without the fault: one query again, and no warning.
    env.set_env("FAKE_SCHTASKS_CORRUPT_TASK", "");
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    assert!(rows.as_array().unwrap().iter().all(|r| r["read_back_warning"].is_null()));
}

/// A foreign task whose Description is a line break and a well-formed row for a deleted
/// registration of orc's (issue 12 finding 4), with and without a line break after it.
#[test]
fn a_foreign_description_cannot_fake_a_deleted_registration() {
    for tail in ["", "\n"] {
        let env = env();
        put_task(&env, &task("victim", "0 6 * * *"));
        put_task(&env, &task("other", "0 7 * * *"));
        env.orc(["schedule", "--all"]).ok();
        env.orc(["schedule", "--all"]).ok();
        let row =
            fake(&env, &["/Query", "/TN", "\\Orchestrator\\Orc_victim", "/FO", "CSV", "/V", "/NH"])
                .ok()
                .stdout
                .trim()
                .to_string();
        assert!(row.starts_with('"') && row.contains("orc-hash: "), "{row}");
        fake(&env, &["/Delete", "/TN", "\\Orchestrator\\Orc_victim", "/F"]).ok();
        let forged = format!("Nightly report\n{row}{tail}");
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n  <RegistrationInfo><Description>{}</Description></RegistrationInfo>\n  <Triggers><CalendarTrigger><StartBoundary>2024-01-01T05:00:00</StartBoundary><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger></Triggers>\n  <Actions><Exec><Command>C:\\Vendor\\report.exe</Command></Exec></Actions>\n</Task>\n",
            forged.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
        );
        let file = env.root().join("evil.xml");
        std::fs::write(&file, orc::scheduler::taskxml::encode_utf16le_bom(&xml)).unwrap();
        fake(&env, &["/Create", "/TN", "\\Evil", "/XML", file.to_str().unwrap()]).ok();
        // The fake prints the Description raw, line break and all (§2.5).
        let all = fake(&env, &["/Query", "/FO", "CSV", "/V", "/NH"]).ok().stdout;
        assert!(all.contains(&format!("Nightly report\r\n{row}")), "{all}");

        let before = calls(&env).len();
        let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
        let v = entry(&rows, "victim");
        assert_eq!(
            (v["action"].as_str(), v["drift"].as_bool()),
            (Some("create"), Some(true)),
            "{tail:?} {v}"
        );
        assert_eq!(v["differences"], serde_json::json!(["missing"]));
        assert_eq!(entry(&rows, "other")["action"], "unchanged");
        let w = v["read_back_warning"].as_str().unwrap_or_default();
        assert!(w.contains("\\Evil") && w.contains("orc's folder"), "{w}");
        let made = calls(&env)[before..].to_vec();
        assert_eq!(made[..3], [QUERY_ALL.to_string(), query_one("other"), query_one("victim")]);
        assert!(made[3].starts_with("/Create\t/TN\t\\Orchestrator\\Orc_victim\t"), "{made:#?}");
        assert_eq!(made.len(), 4, "{made:#?}");
        // The foreign task is never touched.
        assert!(made.iter().all(|c| !c.contains("Evil")));
    }
}

fn csv_row(env: &crate::support::Env, tn: &str) -> Vec<String> {
    let out = fake(env, &["/Query", "/TN", tn, "/FO", "CSV", "/V", "/NH"]).ok().stdout;
    let parsed = orc::scheduler::schtasks::csv::parse(&out);
    assert_eq!(parsed.rows.len(), 1, "{out}");
    parsed.rows[0].fields().map(str::to_string).collect()
}

fn quoted(fields: &[String]) -> String {
    format!("\"{}\"", fields.join("\",\""))
}

fn create_foreign(env: &crate::support::Env, tn: &str, description: &str) {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\n  <RegistrationInfo><Description>{}</Description></RegistrationInfo>\n  <Triggers><CalendarTrigger><StartBoundary>2024-01-01T05:00:00</StartBoundary><ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger></Triggers>\n  <Actions><Exec><Command>C:\\Vendor\\report.exe</Command></Exec></Actions>\n</Task>\n",
        description.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
    );
    let file = env.root().join("foreign.xml");
    std::fs::write(&file, orc::scheduler::taskxml::encode_utf16le_bom(&xml)).unwrap();
    fake(env, &["/Create", "/TN", tn, "/XML", file.to_str().unwrap(), "/F"]).ok();
}

/// A foreign Description that also closes its own row, so that the forged row of orc's
/// folder parses as a row of its own: `migrate --cleanup` must not take orc's registration
/// for a legacy one and delete it.
#[test]
fn a_foreign_description_cannot_steer_migrate_cleanup() {
    let env = env();
    let mine = "\\Orchestrator\\Orc_mine";
    let action = r#"C:\orc\orc.exe --home "C:\h" execute --task mine --scheduled"#;
    fake(&env, &["/Create", "/TN", mine, "/SC", "DAILY", "/ST", "07:00", "/TR", action]).ok();
    create_foreign(&env, "\\Zzz", "a real task after the forger");
    create_foreign(&env, "\\Evil", "x");
    let evil = csv_row(&env, "\\Evil");
    let mut forged = csv_row(&env, mine);
    forged[orc::scheduler::schtasks::csv::col::TASK_TO_RUN] =
        r"python.exe C:\orc\orc.py --task mine".to_string();
    let description = format!(
        "x\",\"{}\"\n{}\n\"{}\",\"\\Zed\",\"N/A\",\"Ready\",\"Interactive only\",\"x\",\"0\",\"a\",\"b\",\"c\",\"y",
        evil[11..].join("\",\""),
        quoted(&forged),
        evil[0],
    );
    create_foreign(&env, "\\Evil", &description);
    // The machine-wide output now holds a well-formed legacy-looking row for orc's task.
    let all = fake(&env, &["/Query", "/FO", "CSV", "/V", "/NH"]).ok().stdout;
    let parsed = orc::scheduler::schtasks::csv::parse(&all);
    let names: Vec<&str> = parsed.rows.iter().map(|r| r.task_name()).collect();
    assert_eq!(names, ["\\Evil", mine, "\\Zed", "\\Zzz", mine], "{all}");

    let out = env.orc(["migrate", "--cleanup", "--yes", "--json"]).ok().json();
    assert_eq!(out["removed"], serde_json::json!([]), "{out}");
    let row = csv_row(&env, mine);
    assert_eq!(row[orc::scheduler::schtasks::csv::col::TASK_TO_RUN].trim(), action);
}

/// What the one query shows changed (the display language), the definition did not: no
/// drift, no re-registration, and the next run is one call again.
#[test]
fn a_new_display_language_is_not_drift() {
    let mut env = env();
    put_task(&env, &task("a", "*/15 8-18 * * 1-5"));
    env.orc(["schedule", "--all"]).ok();
    env.orc(["schedule", "--all"]).ok();
    env.set_env("FAKE_SCHTASKS_LOCALE", "fr-FR");
    let made = calls_during(&env, || {
        let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
        let e = entry(&rows, "a");
        assert_eq!(
            (e["action"].as_str(), e["drift"].as_bool()),
            (Some("unchanged"), Some(false)),
            "{e}"
        );
    });
    assert_eq!(made, vec![QUERY_ALL.to_string(), query_xml("a")]);
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all"]).ok();
    });
    assert_eq!(made, vec![QUERY_ALL.to_string()]);
}

/// A one-off trigger marked `OrcFirstWindow` (derived from the registration instant) is not
/// part of the definition: not drift, nothing re-registered.
#[test]
fn a_first_window_trigger_is_not_drift() {
    let env = env();
    put_task(&env, &task("a", "*/15 8-18 * * 1-5"));
    env.orc(["schedule", "--all"]).ok();
    env.orc(["schedule", "--all"]).ok();
    edit_stored_xml(&env, "a", |x| {
        x.replace(
            "</Triggers>",
            "<TimeTrigger id=\"OrcFirstWindow\"><StartBoundary>2026-12-03T10:07:00</StartBoundary><EndBoundary>2026-12-03T18:00:00</EndBoundary><Enabled>true</Enabled></TimeTrigger></Triggers>",
        )
    });
    let made = calls_during(&env, || {
        let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
        assert_eq!(entry(&rows, "a")["action"], "unchanged", "{rows}");
    });
    assert_eq!(made, vec![QUERY_ALL.to_string(), query_xml("a")]);
    // The same trigger without the mark is a hand edit. (Removing only the `id` of a trigger
    // already there is invisible in the verbose query, which does not show ids: a trigger
    // added without the mark changes what the query shows and is found.)
    edit_stored_xml(&env, "a", |x| {
        x.replace(
            "</Triggers>",
            "<TimeTrigger><StartBoundary>2026-12-04T10:07:00</StartBoundary><Enabled>true</Enabled></TimeTrigger></Triggers>",
        )
    });
    let rows = env.orc(["schedule", "--all", "--json"]).ok().json();
    let e = entry(&rows, "a");
    assert_eq!((e["action"].as_str(), e["drift"].as_bool()), (Some("update"), Some(true)), "{e}");
}

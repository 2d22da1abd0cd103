//! Each check's ok / warn / fail on facts built by hand.

use chrono::{Duration, Local, TimeZone, Utc};

use super::*;
use crate::doctor::{DriftEntry, Facts};
use crate::store::maint::CheckReport;

fn healthy() -> Facts {
    let now = Local.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    Facts {
        backend: "schtasks",
        now,
        scheduler: Ok(2),
        cron_daemon: None,
        home: "/h".into(),
        home_problems: Vec::new(),
        db: Ok(CheckReport {
            ok: true,
            problems: Vec::new(),
            schema_version: 5,
            tasks: 2,
            runs: 10,
            running: 0,
            db_bytes: 2048,
            wal_bytes: 0,
        }),
        schema_expected: 5,
        vault: VaultFacts::Empty,
        mail: MailFacts {
            relay: Some("smtp.example.com:587".into()),
            has_recipients: true,
            tasks_notifying: 2,
            online: None,
        },
        drift: Ok(vec![DriftEntry { task: "a".into(), action: "unchanged".into(), drift: false }]),
        schedules: vec![("a".into(), NextRun::At(now + Duration::hours(1)))],
        streaks: vec![("a".into(), 1)],
        disk: Some((50 << 30, 100 << 30)),
        newest_record: Some(Utc.with_ymd_and_hms(2026, 3, 1, 11, 0, 0).unwrap()),
        clock_overridden: false,
        this_exe: "/opt/orc".into(),
        this_version: "orc 1.2.3".into(),
        registered_exes: vec![ExeSeen {
            path: "/opt/orc".into(),
            tasks: vec!["a".into()],
            exists: true,
            version: Some("orc 1.2.3".into()),
        }],
        history_log: Some(Ok(true)),
    }
}

fn find(f: &Facts, name: &str) -> Check {
    all(f).into_iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name}"))
}

fn status(f: &Facts, name: &str) -> (Status, String) {
    let c = find(f, name);
    (c.status, c.detail)
}

#[test]
fn a_healthy_installation_passes_every_check() {
    let checks = all(&healthy());
    assert!(checks.len() >= 12);
    let bad: Vec<_> = checks.iter().filter(|c| c.status != Status::Ok).collect();
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(crate::doctor::exit_code(&checks), 0);
    assert_eq!(summary(&checks), "13 ok, 0 warn, 0 fail");
}

#[test]
fn scheduler_and_service() {
    let mut f = healthy();
    f.scheduler = Err(SchedulerProblem::AccessDenied("Access is denied".into()));
    let c = find(&f, "scheduler");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.fix, "run orc from an elevated (Administrator) shell");
    assert_eq!(status(&f, "service").0, Status::Warn);
    f.scheduler = Err(SchedulerProblem::Unavailable("the service is not running".into()));
    assert_eq!(
        status(&f, "service"),
        (
            Status::Fail,
            "the Task Scheduler service is not reachable: the service is not running".into()
        )
    );
    assert_eq!(crate::doctor::exit_code(&all(&f)), 1);
    let mut f = healthy();
    f.backend = "crontab";
    f.cron_daemon = Some(false);
    assert_eq!(status(&f, "service").0, Status::Fail);
    f.cron_daemon = Some(true);
    assert_eq!(status(&f, "service"), (Status::Ok, "the cron daemon is running".into()));
}

#[test]
fn home_permissions_fail_and_are_fixable() {
    let mut f = healthy();
    f.home_problems = vec!["home is 0755, orc sets 0700".into()];
    let c = find(&f, "home permissions");
    assert_eq!(c.status, Status::Fail);
    assert_eq!(c.detail, "/h: home is 0755, orc sets 0700");
    assert_eq!(c.auto_fix, Some(Fix::Permissions));
}

#[test]
fn database_integrity_schema_and_wal() {
    let mut f = healthy();
    assert_eq!(
        status(&f, "database").1,
        "integrity ok, schema 5, 2 task(s), 10 run(s), 2.0 KiB (WAL 0 B)"
    );
    f.schema_expected = 6;
    assert_eq!(status(&f, "database").0, Status::Fail);
    let mut f = healthy();
    if let Ok(r) = f.db.as_mut() {
        r.wal_bytes = WAL_WARN_BYTES + 1;
    }
    assert_eq!(status(&f, "database").0, Status::Warn);
    if let Ok(r) = f.db.as_mut() {
        r.ok = false;
        r.problems = vec!["row 3 missing from index".into()];
    }
    assert_eq!(
        status(&f, "database"),
        (Status::Fail, "integrity check failed: row 3 missing from index".into())
    );
}

#[test]
fn vault_states() {
    let mut f = healthy();
    f.vault = VaultFacts::Unlocked { method: "keyfile".into(), advice: None };
    assert_eq!(status(&f, "vault"), (Status::Ok, "unlocks without a prompt (keyfile)".into()));
    f.vault = VaultFacts::Unlocked { method: "dpapi".into(), advice: Some("SYSTEM cannot".into()) };
    assert_eq!(status(&f, "vault").0, Status::Warn);
    f.vault = VaultFacts::Locked("passphrase needed".into());
    assert_eq!(
        status(&f, "vault"),
        (Status::Fail, "cannot be unlocked without a prompt: passphrase needed".into())
    );
}

#[test]
fn mail_configuration_and_online_probe() {
    let mut f = healthy();
    assert_eq!(
        status(&f, "mail").1,
        "relay smtp.example.com:587 configured (not contacted; use --online)"
    );
    f.mail.online = Some(Ok(()));
    assert_eq!(status(&f, "mail"), (Status::Ok, "relay smtp.example.com:587 answers".into()));
    f.mail.online = Some(Err("connection refused".into()));
    assert_eq!(status(&f, "mail").0, Status::Fail);
    f.mail = MailFacts { relay: None, has_recipients: false, tasks_notifying: 1, online: None };
    assert_eq!(status(&f, "mail").0, Status::Warn);
    f.mail.tasks_notifying = 0;
    assert_eq!(status(&f, "mail"), (Status::Ok, "mail is off and no task sends mail".into()));
}

#[test]
fn drift_is_a_fixable_warning() {
    let mut f = healthy();
    f.drift = Ok(vec![DriftEntry { task: "a".into(), action: "update".into(), drift: true }]);
    let c = find(&f, "drift");
    assert_eq!(c.status, Status::Warn);
    assert_eq!(
        c.detail,
        "the scheduler differs from the database: a (update, changed outside orc)"
    );
    assert_eq!(c.auto_fix, Some(Fix::Reregister));
}

#[test]
fn schedules_that_never_fire_or_fire_far_away() {
    let mut f = healthy();
    f.schedules = vec![("leap".into(), NextRun::At(f.now + Duration::days(900)))];
    assert_eq!(status(&f, "schedules").0, Status::Warn);
    f.schedules.push(("feb30".into(), NextRun::Never));
    assert_eq!(status(&f, "schedules"), (Status::Warn, "never fire(s): feb30".into()));
}

#[test]
fn failing_streaks() {
    let mut f = healthy();
    f.streaks = vec![("a".into(), 4)];
    assert_eq!(
        status(&f, "failing tasks"),
        (Status::Warn, "failing repeatedly: a (4 in a row)".into())
    );
}

#[test]
fn disk_space_thresholds() {
    let mut f = healthy();
    f.disk = Some((DISK_WARN_BYTES - 1, 100 << 30));
    assert_eq!(status(&f, "disk space").0, Status::Warn);
    f.disk = Some((DISK_FAIL_BYTES - 1, 100 << 30));
    assert_eq!(status(&f, "disk space").0, Status::Fail);
}

#[test]
fn clock_going_back_and_pretended_time() {
    let mut f = healthy();
    f.newest_record = Some(f.now.to_utc() + Duration::hours(2));
    assert_eq!(status(&f, "clock").0, Status::Fail);
    f.newest_record = None;
    f.clock_overridden = true;
    assert_eq!(status(&f, "clock").0, Status::Warn);
}

#[test]
fn registered_executable_missing_old_or_elsewhere() {
    let mut f = healthy();
    f.registered_exes[0].version = Some("orc 1.0.0".into());
    assert_eq!(
        status(&f, "executable"),
        (Status::Warn, "this is orc 1.2.3; /opt/orc is orc 1.0.0".into())
    );
    f.registered_exes[0].exists = false;
    let c = find(&f, "executable");
    assert_eq!((c.status, c.auto_fix), (Status::Fail, Some(Fix::Reregister)));
    let mut f = healthy();
    f.this_exe = "/usr/bin/orc".into();
    assert_eq!(status(&f, "executable").0, Status::Warn);
}

#[test]
fn history_log_disabled_is_fixable() {
    let mut f = healthy();
    f.history_log = Some(Ok(false));
    let c = find(&f, "history log");
    assert_eq!((c.status, c.auto_fix), (Status::Warn, Some(Fix::HistoryLog)));
    f.history_log = None;
    assert_eq!(status(&f, "history log").0, Status::Ok);
}

#[test]
fn registered_command_lines_name_their_executable() {
    assert_eq!(
        exe_of_command("\"C:\\Program Files\\orc\\orc.exe\" --home x"),
        "C:\\Program Files\\orc\\orc.exe"
    );
    assert_eq!(exe_of_command("'/opt/my orc/orc' --home '/h' execute"), "/opt/my orc/orc");
    assert_eq!(exe_of_command("C:\\orc\\orc.exe --home \"C:\\h\""), "C:\\orc\\orc.exe");
}

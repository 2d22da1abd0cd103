//! Who registered tasks run as (issue 11 item 2) against the fake schtasks: the principal
//! for each kind of account, the schtasks arguments (no `/RU /RP` without a password),
//! `run_as.default`, service accounts with no credential anywhere, the gMSA refusal, the
//! interactive logon through `orcw`, and `--logon` on the task commands.

use crate::schedule::{calls_during, env, fake_tasks, put_task, stored_xml, task};

fn leaf(xml: &str, path: &str) -> Option<String> {
    let leaves = orc::scheduler::taskxml::flatten(xml).unwrap();
    leaves.iter().find(|(p, _)| p == path).map(|(_, v)| v.clone())
}

fn create_call<'a>(calls: &'a [String], task: &str) -> &'a String {
    calls
        .iter()
        .find(|c| c.starts_with("/Create") && c.contains(&format!("Orc_{task}\t")))
        .unwrap_or_else(|| panic!("no /Create for {task}: {calls:#?}"))
}

#[test]
fn the_registering_user_is_s4u_without_ru_or_rp() {
    let env = env();
    put_task(&env, &task("mine", "0 6 * * *"));
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all"]).ok();
    });
    let create = create_call(&made, "mine");
    assert!(!create.contains("/RU") && !create.contains("/RP"), "{create}");
    let xml = stored_xml(&env, "mine");
    assert_eq!(leaf(&xml, "Principals/Principal/LogonType").as_deref(), Some("S4U"));
    let user = leaf(&xml, "Principals/Principal/UserId").unwrap();
    assert_eq!(Some(user), orc::scheduler::current_user(), "{xml}");
    assert_eq!(leaf(&xml, "Settings/Priority").as_deref(), Some("4"));
    assert_eq!(
        leaf(&xml, "Actions/Exec/WorkingDirectory").as_deref(),
        Some(env.home().to_string_lossy().as_ref())
    );
}

#[test]
fn service_accounts_register_by_sid_with_no_credential_anywhere() {
    let env = env();
    for (name, account) in
        [("sys", "NT AUTHORITY\\SYSTEM"), ("local", "LOCAL SERVICE"), ("net", "S-1-5-20")]
    {
        let mut t = task(name, "0 6 * * *");
        t.run_as = Some(account.into());
        put_task(&env, &t);
    }
    // No vault exists: nothing may ask for a password.
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all"]).ok();
    });
    for (name, sid, level) in [
        ("sys", "S-1-5-18", "HighestAvailable"),
        ("local", "S-1-5-19", "LeastPrivilege"),
        ("net", "S-1-5-20", "LeastPrivilege"),
    ] {
        let create = create_call(&made, name);
        assert!(!create.contains("/RU") && !create.contains("/RP"), "{create}");
        let xml = stored_xml(&env, name);
        assert_eq!(leaf(&xml, "Principals/Principal/UserId").as_deref(), Some(sid), "{xml}");
        assert_eq!(leaf(&xml, "Principals/Principal/LogonType"), None, "{xml}");
        assert_eq!(leaf(&xml, "Principals/Principal/RunLevel").as_deref(), Some(level));
    }
    let store = env.store();
    let count = |table: &str| -> i64 {
        store.conn().query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).unwrap()
    };
    assert_eq!((count("credentials"), count("vault_keys")), (0, 0), "the vault was never used");
}

#[test]
fn run_as_default_applies_to_tasks_that_name_no_account() {
    let env = env();
    env.orc(["config", "set", "run_as.default", "NT AUTHORITY\\Network Service"]).ok();
    let shown = env.orc(["config", "get", "run_as.default"]).ok();
    assert_eq!(shown.stdout.trim(), "NETWORK SERVICE");
    put_task(&env, &task("plain", "0 6 * * *"));
    let mut own = task("own", "0 7 * * *");
    own.run_as = Some("SYSTEM".into());
    put_task(&env, &own);
    env.orc(["schedule", "--all"]).ok();
    let plain = stored_xml(&env, "plain");
    assert_eq!(leaf(&plain, "Principals/Principal/UserId").as_deref(), Some("S-1-5-20"));
    let own = stored_xml(&env, "own");
    assert_eq!(leaf(&own, "Principals/Principal/UserId").as_deref(), Some("S-1-5-18"));
    let report = env.orc(["--json", "schedule", "--validate", "plain"]).ok().json();
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "run_as");
    assert_eq!(check.unwrap()["detail"][0], "NETWORK SERVICE (S-1-5-20), no password");
}

#[test]
fn a_named_account_gets_its_vault_password_or_s4u_without_one() {
    let env = env();
    let mut pw = task("pw", "0 6 * * *");
    pw.run_as = Some("CORP\\etl".into());
    put_task(&env, &pw);
    let out = env.orc(["schedule", "--all"]).code(3);
    assert!(out.stderr.contains("run-as-CORP-etl"), "names the credential: {}", out.stderr);
    assert!(fake_tasks(&env).is_empty(), "nothing registered");
    let secret = "Etl-P@ss-canary";
    env.orc_with_stdin(
        ["credential", "set", "run-as-CORP-etl", "--from-stdin", "--kind", "account_password"],
        Some(secret.as_bytes()),
    )
    .ok();
    let mut s4u = task("s4u", "0 7 * * *");
    s4u.run_as = Some("CORP\\etl".into());
    s4u.logon = Some(orc::task::runas::Logon::S4u);
    put_task(&env, &s4u);
    let made = calls_during(&env, || {
        env.orc(["schedule", "--all"]).ok();
    });
    let create = create_call(&made, "pw");
    assert!(create.ends_with(&format!("/RU\tCORP\\etl\t/RP\t{secret}\t/HRESULT")), "{create}");
    let create = create_call(&made, "s4u");
    assert!(!create.contains("/RU") && !create.contains("/RP"), "{create}");
    let xml = stored_xml(&env, "s4u");
    assert_eq!(leaf(&xml, "Principals/Principal/LogonType").as_deref(), Some("S4U"));
    assert!(!stored_xml(&env, "pw").contains(secret));
}

#[test]
fn a_gmsa_is_refused_with_the_powershell_to_run_and_nothing_changes() {
    let env = env();
    put_task(&env, &task("other", "0 6 * * *"));
    let mut g = task("gm", "0 6 * * *");
    g.run_as = Some("CORP\\svc_orc$".into());
    put_task(&env, &g);
    let made = calls_during(&env, || {
        let out = env.orc(["schedule", "--all"]).code(2);
        assert!(
            out.stderr.contains("group managed service account CORP\\svc_orc$"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains(
                "Set-ScheduledTask -TaskPath '\\Orchestrator\\' -TaskName 'Orc_gm' -Principal \
                 (New-ScheduledTaskPrincipal -UserId 'CORP\\svc_orc$' -LogonType Password)"
            ),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("Register-ScheduledTask"), "{}", out.stderr);
    });
    assert!(made.iter().all(|c| !c.starts_with("/Create")), "{made:#?}");
    assert!(fake_tasks(&env).is_empty());
    // `--validate` gives the definition the PowerShell registers, and exits 0.
    let report = env.orc(["--json", "schedule", "--validate", "gm"]).ok().json();
    let xml = report["definition"].as_str().unwrap();
    assert_eq!(leaf(xml, "Principals/Principal/UserId").as_deref(), Some("CORP\\svc_orc$"));
    assert_eq!(leaf(xml, "Principals/Principal/LogonType").as_deref(), Some("Password"));
}

#[test]
fn interactive_tasks_start_the_windowless_orcw() {
    let env = env();
    let mut t = task("desk", "0 6 * * *");
    t.logon = Some(orc::task::runas::Logon::Interactive);
    put_task(&env, &t);
    env.orc(["schedule", "--all"]).ok();
    let xml = stored_xml(&env, "desk");
    assert_eq!(leaf(&xml, "Principals/Principal/LogonType").as_deref(), Some("InteractiveToken"));
    let command = leaf(&xml, "Actions/Exec/Command").unwrap();
    let gui = orc::scheduler::gui_exe(&crate::support::orc_exe());
    assert_eq!(std::path::Path::new(command.trim_matches('"')).file_name(), gui.file_name());
    // Without orcw next to orc, registration is refused (exit 2), not silently console-bound.
    let mut env = env;
    let lone = env.root().join("lone").join(crate::support::orc_exe().file_name().unwrap());
    std::fs::create_dir_all(lone.parent().unwrap()).unwrap();
    std::fs::copy(crate::support::orc_exe(), &lone).unwrap();
    env.set_env("ORC_EXE", &lone);
    let out = env.orc(["schedule", "--all", "--force"]).code(2);
    assert!(out.stderr.contains("windowless build of orc"), "{}", out.stderr);
}

#[test]
fn logon_is_a_task_field_in_add_edit_show_and_export() {
    let env = env();
    env.orc([
        "task",
        "add",
        "l",
        "--command",
        "echo hi",
        "--schedule",
        "0 6 * * *",
        "--run-as",
        "CORP\\etl",
        "--logon",
        "s4u",
    ])
    .ok();
    let shown = env.orc(["--json", "task", "show", "l"]).ok().json();
    assert_eq!(shown["logon"], "s4u");
    assert_eq!(shown["run_as"], "CORP\\etl");
    let out = env.orc(["task", "edit", "l", "--logon", "batch"]).code(2);
    assert!(out.stderr.contains("interactive, s4u or password"), "{}", out.stderr);
    let out = env.orc(["task", "edit", "l", "--run-as", "SYSTEM"]).code(2);
    assert!(out.stderr.contains("built-in service account"), "{}", out.stderr);
    env.orc(["task", "edit", "l", "--run-as", "SYSTEM", "--clear-logon"]).ok();
    let shown = env.orc(["--json", "task", "show", "l"]).ok().json();
    assert_eq!(shown["logon"], serde_json::Value::Null);
    env.orc(["task", "edit", "l", "--clear-run-as", "--logon", "interactive"]).ok();
    let export = env.orc(["task", "export"]).ok().stdout;
    assert!(export.contains("\"logon\": \"interactive\""), "{export}");
}

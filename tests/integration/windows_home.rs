//! The home's DACL on real Windows (issue 11 item 3). Wine accepts the calls but does not keep
//! a file's DACL, so these run only in the windows-latest workflow:
//! `cargo test --test integration -- --ignored windows_home`.
#![cfg(windows)]

use std::path::Path;

use orc::fsx::acl::win::read_dacl_sddl;

use crate::support::Env;
use crate::support::exec::*;

fn icacls(path: &Path) -> String {
    let out = std::process::Command::new("icacls").arg(path).output().unwrap();
    assert!(out.status.success(), "icacls {}: {:?}", path.display(), out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "real Windows only (the windows-latest workflow)"]
fn windows_home_a_new_home_gets_a_protected_dacl_without_users() {
    let env = Env::new();
    env.orc(["task", "list"]).ok();
    let sddl = read_dacl_sddl(&env.home()).unwrap();
    assert!(sddl.starts_with("D:P"), "protected (nothing inherited from the parent): {sddl}");
    assert!(sddl.contains("(A;OICI;FA;;;SY)") && sddl.contains("(A;OICI;FA;;;BA)"), "{sddl}");
    for who in [";;;BU)", ";;;WD)", ";;;AU)"] {
        assert!(!sddl.contains(who), "{who} in {sddl}");
    }
    let text = icacls(&env.home());
    assert!(!text.contains("BUILTIN\\Users"), "{text}");
}

#[test]
#[ignore = "real Windows only (the windows-latest workflow)"]
fn windows_home_schedule_grants_run_as_accounts_modify_and_users_nothing() {
    let mut env = Env::new();
    env.with_fake_schtasks();
    add_task(&env, "svc", &child(&[]), |s| s.run_as = Some("LOCAL SERVICE".into()));
    env.orc(["execute", "--task", "svc"]).ok(); // a run log and WAL exist before schedule
    env.orc(["schedule", "--all"]).ok();
    let sddl = read_dacl_sddl(&env.home()).unwrap();
    assert!(sddl.starts_with("D:P"), "{sddl}");
    assert!(sddl.contains("(A;OICI;0x1301bf;;;LS)"), "LOCAL SERVICE has Modify: {sddl}");
    let home = icacls(&env.home());
    assert!(home.contains("NT AUTHORITY\\LOCAL SERVICE:(OI)(CI)(M)"), "{home}");
    assert!(home.contains("NT AUTHORITY\\SYSTEM:(OI)(CI)(F)"), "{home}");
    assert!(home.contains("BUILTIN\\Administrators:(OI)(CI)(F)"), "{home}");
    assert!(!home.contains("BUILTIN\\Users"), "{home}");
    // Files that existed before inherit it (SetNamedSecurityInfoW propagates).
    let db = icacls(&env.db());
    assert!(db.contains("NT AUTHORITY\\LOCAL SERVICE:(I)(M)"), "{db}");
    assert!(!db.contains("BUILTIN\\Users"), "{db}");
}

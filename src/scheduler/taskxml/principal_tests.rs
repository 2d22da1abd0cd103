//! The `Principals` block and the Exec command for each kind of account (exact XML).

use super::build::tests::built;
use super::*;
use crate::task::TaskSpec;
use crate::task::runas::Logon;

fn principals(run_as: Option<&str>, logon: Option<Logon>) -> (String, Built) {
    let mut spec = TaskSpec::new("nightly", "backup.cmd", "30 2 * * *");
    spec.run_as = run_as.map(str::to_string);
    spec.logon = logon;
    let b = built(&spec).unwrap();
    assert!(validate_document(&b.xml).is_empty(), "{:?}\n{}", validate_document(&b.xml), b.xml);
    let start = b.xml.find("  <Principals>").unwrap();
    let end = b.xml.find("</Principals>").unwrap() + "</Principals>".len();
    (b.xml[start..end].to_string(), b)
}

fn block(inner: &str) -> String {
    format!(
        "  <Principals>\n    <Principal id=\"Author\">\n{inner}    </Principal>\n  </Principals>"
    )
}

#[test]
fn registering_user_defaults_to_s4u() {
    let (xml, b) = principals(None, None);
    assert_eq!(
        xml,
        block(
            "      <UserId>HOST\\admin</UserId>\n      <LogonType>S4U</LogonType>\n      \
             <RunLevel>LeastPrivilege</RunLevel>\n"
        )
    );
    assert_eq!(b.command, "\"C:\\Program Files\\orc\\orc.exe\"");
}

#[test]
fn interactive_runs_the_gui_build() {
    let (xml, b) = principals(None, Some(Logon::Interactive));
    assert_eq!(
        xml,
        block(
            "      <LogonType>InteractiveToken</LogonType>\n      \
             <RunLevel>LeastPrivilege</RunLevel>\n"
        )
    );
    // The caller (the schtasks backend) passes orcw.exe as `exe` for interactive tasks.
    assert!(b.principal.interactive());
}

#[test]
fn builtin_service_accounts_by_sid_without_logon_type() {
    for (name, sid, level) in [
        ("NT AUTHORITY\\SYSTEM", "S-1-5-18", "HighestAvailable"),
        ("LOCAL SERVICE", "S-1-5-19", "LeastPrivilege"),
        ("S-1-5-20", "S-1-5-20", "LeastPrivilege"),
    ] {
        let (xml, b) = principals(Some(name), None);
        assert_eq!(
            xml,
            block(&format!("      <UserId>{sid}</UserId>\n      <RunLevel>{level}</RunLevel>\n")),
            "{name}"
        );
        assert_eq!(b.principal.password_account(), None, "{name}");
    }
}

#[test]
fn gmsa_has_password_logon_and_no_password() {
    let (xml, b) = principals(Some("CORP\\svc_orc$"), None);
    assert_eq!(
        xml,
        block(
            "      <UserId>CORP\\svc_orc$</UserId>\n      <LogonType>Password</LogonType>\n      \
             <RunLevel>LeastPrivilege</RunLevel>\n"
        )
    );
    assert_eq!(b.principal.password_account(), None);
}

#[test]
fn named_account_with_password_or_s4u() {
    let (xml, b) = principals(Some("CORP\\etl"), None);
    assert_eq!(
        xml,
        block(
            "      <UserId>CORP\\etl</UserId>\n      <LogonType>Password</LogonType>\n      \
             <RunLevel>LeastPrivilege</RunLevel>\n"
        )
    );
    assert_eq!(b.principal.password_account(), Some("CORP\\etl"));
    assert!(!b.xml.contains("hunter"), "no password in the XML");
    let (xml, b) = principals(Some("CORP\\etl"), Some(Logon::S4u));
    assert_eq!(
        xml,
        block(
            "      <UserId>CORP\\etl</UserId>\n      <LogonType>S4U</LogonType>\n      \
             <RunLevel>LeastPrivilege</RunLevel>\n"
        )
    );
    assert_eq!(b.principal.password_account(), None);
}

//! Who a task runs as, and how it logs on: the one owner of the run-as rules.
//!
//! A task's `run_as` text, the `run_as.default` setting, the task XML's `Principal` and the
//! schtasks arguments all go through [`Account::parse`] and [`Principal::resolve`]. Pure.
//!
//! Accounts ([`Account`]):
//! * empty: the user who runs `orc schedule` ([`Account::CurrentUser`]);
//! * LocalSystem: `SYSTEM`, `NT AUTHORITY\SYSTEM`, `LocalSystem`, `S-1-5-18`;
//! * LocalService: `LOCAL SERVICE`, `NT AUTHORITY\LOCAL SERVICE`, `LocalService`, `S-1-5-19`;
//! * NetworkService: `NETWORK SERVICE`, `NT AUTHORITY\NETWORK SERVICE`, `NetworkService`,
//!   `S-1-5-20`;
//!
//!   plus the German and French names of these three ([`LOCALIZED`]); the SIDs work in every
//!   display language and are what orc registers ([MS-TSCH] §2.5 lists them as
//!   computer-reserved accounts that take no password);
//! * a group managed service account `DOMAIN\name$` ([`Account::Gmsa`]);
//! * any other account: `user`, `DOMAIN\user`, `.\user`, `user@domain` ([`Account::User`]).
//!
//! Logon types ([`Logon`], `--logon`): `s4u` (default for users: runs whether the user is
//! logged on or not, no stored password, no network credentials), `password` (default for a
//! named account: `/RU` + `/RP` from the vault) and `interactive` (only while the user is
//! logged on, in that user's session). Built-in service accounts and gMSAs take no logon
//! choice.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The well-known SID of LocalSystem.
pub const SYSTEM_SID: &str = "S-1-5-18";
/// The well-known SID of LocalService.
pub const LOCAL_SERVICE_SID: &str = "S-1-5-19";
/// The well-known SID of NetworkService.
pub const NETWORK_SERVICE_SID: &str = "S-1-5-20";

/// The rule shown when an account name is refused.
pub const RULE: &str = "run-as is SYSTEM, LOCAL SERVICE, NETWORK SERVICE (or their SIDs \
     S-1-5-18/19/20), a group managed service account DOMAIN\\name$, or an account as user, \
     DOMAIN\\user, .\\user or user@domain: at most 256 characters, no quotes, control characters \
     or / [ ] : ; | = , + * ? < >, no leading or trailing spaces";

/// Localized names of the built-in accounts orc recognises besides the English ones and the
/// SIDs (German and French Windows; the domain part is `NT-AUTORITÄT` / `AUTORITE NT`).
pub const LOCALIZED: &[(&str, Account)] = &[
    ("nt-autorität\\system", Account::System),
    ("nt-autorität\\lokaler dienst", Account::LocalService),
    ("lokaler dienst", Account::LocalService),
    ("nt-autorität\\netzwerkdienst", Account::NetworkService),
    ("netzwerkdienst", Account::NetworkService),
    ("autorite nt\\système", Account::System),
    ("autorite nt\\systeme", Account::System),
    ("système", Account::System),
    ("autorite nt\\service local", Account::LocalService),
    ("service local", Account::LocalService),
    ("autorite nt\\service réseau", Account::NetworkService),
    ("autorite nt\\service reseau", Account::NetworkService),
    ("service réseau", Account::NetworkService),
];

/// Who a task runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// The user who registers it (`orc schedule`).
    CurrentUser,
    /// LocalSystem (`S-1-5-18`).
    System,
    /// LocalService (`S-1-5-19`).
    LocalService,
    /// NetworkService (`S-1-5-20`).
    NetworkService,
    /// A group managed service account, `DOMAIN\name$` (Windows fetches its password).
    Gmsa(String),
    /// A named account (`user`, `DOMAIN\user`, `.\user`, `user@domain`).
    User(String),
}

impl Account {
    /// Parses an account as a task's `--run-as` or `run_as.default` gives it; empty is the
    /// registering user. The error is [`RULE`].
    pub fn parse(text: &str) -> std::result::Result<Account, &'static str> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(Account::CurrentUser);
        }
        let lower = t.to_lowercase();
        let builtin = match lower.as_str() {
            "system" | "nt authority\\system" | "localsystem" | "s-1-5-18" => Some(Account::System),
            "local service" | "nt authority\\local service" | "localservice" | "s-1-5-19" => {
                Some(Account::LocalService)
            }
            "network service" | "nt authority\\network service" | "networkservice" | "s-1-5-20" => {
                Some(Account::NetworkService)
            }
            _ => LOCALIZED.iter().find(|(n, _)| *n == lower).map(|(_, a)| a.clone()),
        };
        if let Some(a) = builtin {
            return Ok(a);
        }
        if !account_text_ok(text) {
            return Err(RULE);
        }
        if t.ends_with('$') {
            return Ok(Account::Gmsa(t.to_string()));
        }
        Ok(Account::User(t.to_string()))
    }

    /// [`Account::parse`] with the error naming `field` (`--run-as`, `run_as.default`).
    pub fn check(field: &str, text: &str) -> Result<Account> {
        Account::parse(text).map_err(|rule| Error::invalid(field, text, rule))
    }

    /// The account a task runs as: its own `run_as`, else `default` (`run_as.default`).
    pub fn effective(run_as: Option<&str>, default: &Account) -> Result<Account> {
        match run_as.map(str::trim).filter(|s| !s.is_empty()) {
            Some(r) => Account::check("--run-as", r),
            None => Ok(default.clone()),
        }
    }

    /// The stored spelling: empty, `SYSTEM`, `LOCAL SERVICE`, `NETWORK SERVICE`, or the name.
    pub fn canonical(&self) -> String {
        match self {
            Account::CurrentUser => String::new(),
            Account::System => "SYSTEM".into(),
            Account::LocalService => "LOCAL SERVICE".into(),
            Account::NetworkService => "NETWORK SERVICE".into(),
            Account::Gmsa(n) | Account::User(n) => n.clone(),
        }
    }

    /// The well-known SID of a built-in service account.
    pub fn sid(&self) -> Option<&'static str> {
        match self {
            Account::System => Some(SYSTEM_SID),
            Account::LocalService => Some(LOCAL_SERVICE_SID),
            Account::NetworkService => Some(NETWORK_SERVICE_SID),
            _ => None,
        }
    }
}

/// The characters rule of a user or gMSA name (the built-in names are matched before it).
fn account_text_ok(account: &str) -> bool {
    if account.is_empty() || account.chars().count() > 256 || account.trim() != account {
        return false;
    }
    if account.chars().any(|c| c.is_control() || matches!(c, '"' | '\'' | '`')) {
        return false;
    }
    let forbidden = |c: char| {
        matches!(
            c,
            '/' | '\\'
                | '['
                | ']'
                | ':'
                | ';'
                | '|'
                | '='
                | ','
                | '+'
                | '*'
                | '?'
                | '<'
                | '>'
                | '@'
        )
    };
    let user_ok = |u: &str| {
        let name = u.strip_suffix('$').unwrap_or(u);
        !name.is_empty()
            && name.trim() == name
            && name.chars().count() <= 104
            && !name.ends_with('.')
            && !name.chars().any(forbidden)
            && !name.contains('$')
    };
    let domain_ok = |d: &str| !d.is_empty() && d.trim() == d && !d.chars().any(forbidden);
    if let Some((domain, user)) = account.split_once('\\') {
        (domain == "." || domain_ok(domain)) && user_ok(user)
    } else if let Some((user, domain)) = account.split_once('@') {
        user_ok(user)
            && !user.ends_with('$')
            && !domain.is_empty()
            && domain
                .split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    } else {
        user_ok(account)
    }
}

/// How a task logs on (`--logon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Logon {
    /// Only while the account is logged on, in its session (`InteractiveToken`).
    Interactive,
    /// Whether logged on or not, no stored password, no network credentials (`S4U`).
    S4u,
    /// Whether logged on or not, with the account's password from the vault (`Password`).
    Password,
}

impl Logon {
    pub const RULE: &'static str = "interactive, s4u or password";

    /// Parses `--logon`.
    pub fn parse(text: &str) -> Result<Logon> {
        match text.trim().to_ascii_lowercase().as_str() {
            "interactive" => Ok(Logon::Interactive),
            "s4u" => Ok(Logon::S4u),
            "password" => Ok(Logon::Password),
            _ => Err(Error::invalid("--logon", text, Logon::RULE)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Logon::Interactive => "interactive",
            Logon::S4u => "s4u",
            Logon::Password => "password",
        }
    }
}

/// Whether a task's own `logon` fits its own `run_as` (the part [`Principal::resolve`] can
/// check without the `run_as.default` setting and the registering user). Used by task
/// validation.
pub fn check_task(run_as: Option<&str>, logon: Option<Logon>) -> Result<()> {
    let account = match run_as.map(str::trim).filter(|s| !s.is_empty()) {
        Some(r) => Account::check("--run-as", r)?,
        None => return Ok(()),
    };
    logon_fits(&account, logon)
}

fn logon_fits(account: &Account, logon: Option<Logon>) -> Result<()> {
    let Some(l) = logon else { return Ok(()) };
    let refuse = |why: &str| Err(Error::invalid("--logon", l.as_str(), why.to_string()));
    match account {
        Account::System | Account::LocalService | Account::NetworkService => refuse(&format!(
            "{} is a built-in service account: it is registered by its SID and takes no logon \
             type (drop --logon)",
            account.canonical()
        )),
        Account::Gmsa(n) => refuse(&format!(
            "{n} is a group managed service account: Windows logs it on with the password it \
             manages itself (drop --logon)"
        )),
        Account::CurrentUser if l == Logon::Password => refuse(
            "password logon needs a named account (--run-as DOMAIN\\user) whose password is in \
             the vault",
        ),
        _ => Ok(()),
    }
}

/// How a registration's principal is written, fully resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: Account,
    /// `None` for the built-in service accounts and gMSAs.
    pub logon: Option<Logon>,
    /// `Principal/UserId` (`None`: the registering user, implied).
    pub user_id: Option<String>,
}

impl Principal {
    /// Resolves an account and an optional logon choice. `registering_user` is who runs
    /// `orc schedule` (needed for S4U of the current user, whose principal names the user).
    pub fn resolve(
        account: Account,
        logon: Option<Logon>,
        registering_user: Option<&str>,
    ) -> Result<Principal> {
        logon_fits(&account, logon)?;
        let (logon, user_id) = match &account {
            Account::System | Account::LocalService | Account::NetworkService => {
                (None, account.sid().map(str::to_string))
            }
            Account::Gmsa(n) => (None, Some(n.clone())),
            Account::CurrentUser => match logon.unwrap_or(Logon::S4u) {
                Logon::Interactive => (Some(Logon::Interactive), None),
                l => {
                    let user = registering_user.map(str::trim).filter(|u| !u.is_empty());
                    let Some(user) = user else {
                        return Err(Error::Usage(
                            "cannot tell which account runs `orc schedule` (USERNAME is not \
                             set), so an S4U task cannot name it: give the task --run-as \
                             ACCOUNT or --logon interactive"
                                .into(),
                        ));
                    };
                    (Some(l), Some(user.to_string()))
                }
            },
            Account::User(n) => (Some(logon.unwrap_or(Logon::Password)), Some(n.clone())),
        };
        Ok(Principal { account, logon, user_id })
    }

    /// `Principal/LogonType`, absent for the built-in service accounts (what Windows exports
    /// for SYSTEM tasks, schtasks.md §4.8).
    pub fn logon_type(&self) -> Option<&'static str> {
        match (&self.account, self.logon) {
            (Account::Gmsa(_), _) => Some("Password"),
            (_, Some(Logon::Interactive)) => Some("InteractiveToken"),
            (_, Some(Logon::S4u)) => Some("S4U"),
            (_, Some(Logon::Password)) => Some("Password"),
            (_, None) => None,
        }
    }

    /// `Principal/RunLevel`: SYSTEM gets `HighestAvailable` (as Windows exports it), every
    /// other principal `LeastPrivilege`.
    pub fn run_level(&self) -> &'static str {
        if self.account == Account::System { "HighestAvailable" } else { "LeastPrivilege" }
    }

    /// The account whose password (from the vault) goes to schtasks as `/RU` + `/RP`; only a
    /// named account with password logon.
    pub fn password_account(&self) -> Option<&str> {
        match (&self.account, self.logon) {
            (Account::User(n), Some(Logon::Password)) => Some(n),
            _ => None,
        }
    }

    /// Runs in the account's interactive session: the scheduled command must be the GUI
    /// build (`orcw.exe`) so that no console window opens.
    pub fn interactive(&self) -> bool {
        self.logon == Some(Logon::Interactive)
    }

    /// One line for `orc schedule --validate`.
    pub fn describe(&self) -> String {
        let who = match (&self.account, &self.user_id) {
            (Account::CurrentUser, Some(u)) => format!("the registering user {u}"),
            (Account::CurrentUser, None) => "the registering user".to_string(),
            (a, Some(id)) if a.sid().is_some() => format!("{} ({id})", a.canonical()),
            (a, _) => a.canonical(),
        };
        match (&self.account, self.logon) {
            (Account::Gmsa(_), _) => format!("{who}, group managed service account"),
            (_, None) => format!("{who}, no password"),
            (_, Some(Logon::Interactive)) => format!("{who}, only while logged on (interactive)"),
            (_, Some(Logon::S4u)) => {
                format!("{who}, logged on or not (S4U: no password, no network credentials)")
            }
            (_, Some(Logon::Password)) => {
                format!("{who}, logged on or not, password from the vault")
            }
        }
    }
}

/// The PowerShell an administrator runs to register a task for a gMSA, which schtasks.exe
/// cannot do: `/RP` cannot say "no password", and an empty one is refused with 0x8007052E
/// (dahall/TaskScheduler#190); Task Scheduler accepts `LogonType Password` with no password
/// for a gMSA only through the API, which `New-ScheduledTaskPrincipal -LogonType Password` +
/// `Set-ScheduledTask` use (ansible/ansible#60989, dsccommunity/ComputerManagementDsc#111).
pub fn gmsa_powershell(
    account: &str,
    orc_exe: &str,
    home: &str,
    task: &str,
    folder: &str,
    name: &str,
) -> String {
    let q = crate::quote::powershell;
    format!(
        "$xml = (& {exe} --home {home} schedule --validate {task} --json | ConvertFrom-Json).definition\n\
         Register-ScheduledTask -TaskPath {folder} -TaskName {name} -Xml $xml -User {acct} -Force\n\
         Set-ScheduledTask -TaskPath {folder} -TaskName {name} -Principal (New-ScheduledTaskPrincipal -UserId {acct} -LogonType Password)",
        exe = q(orc_exe),
        home = q(home),
        folder = q(folder),
        name = q(name),
        acct = q(account),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_accounts_by_name_localized_name_and_sid() {
        for s in ["SYSTEM", "system", "NT AUTHORITY\\SYSTEM", "LocalSystem", "S-1-5-18"] {
            assert_eq!(Account::parse(s), Ok(Account::System), "{s}");
        }
        for s in ["LOCAL SERVICE", "NT AUTHORITY\\LOCAL SERVICE", "LocalService", "s-1-5-19"] {
            assert_eq!(Account::parse(s), Ok(Account::LocalService), "{s}");
        }
        for s in ["NETWORK SERVICE", "nt authority\\network service", "NetworkService", "S-1-5-20"]
        {
            assert_eq!(Account::parse(s), Ok(Account::NetworkService), "{s}");
        }
        assert_eq!(Account::parse("AUTORITE NT\\Système"), Ok(Account::System));
        assert_eq!(Account::parse("NT-AUTORITÄT\\NETZWERKDIENST"), Ok(Account::NetworkService));
        assert_eq!(Account::parse("AUTORITE NT\\SERVICE LOCAL"), Ok(Account::LocalService));
        assert_eq!(Account::parse(""), Ok(Account::CurrentUser));
        assert_eq!(Account::System.canonical(), "SYSTEM");
        assert_eq!(Account::LocalService.sid(), Some("S-1-5-19"));
    }

    #[test]
    fn gmsa_and_user_accounts() {
        assert_eq!(Account::parse("CORP\\svc_orc$"), Ok(Account::Gmsa("CORP\\svc_orc$".into())));
        assert_eq!(Account::parse("svc_orc$"), Ok(Account::Gmsa("svc_orc$".into())));
        for ok in ["CONTOSO\\svc_etl", ".\\backup", "svc@contoso.local", "backup", "John Smith"] {
            assert_eq!(Account::parse(ok), Ok(Account::User(ok.into())), "{ok}");
        }
        for bad in [
            "a\"b",
            "x'y",
            "A\\B\\C",
            "a@",
            "@b",
            "u@d@e",
            " lead",
            "a\tb",
            "d\\",
            "x:y",
            "u@bad domain",
            "bad[user]",
            "CORP\\$",
            "CORP\\a$b",
            "svc$@corp.local",
            "dot.",
        ] {
            assert_eq!(Account::parse(bad), Err(RULE), "{bad:?}");
        }
        let e = Account::check("run_as.default", "a@b@c").unwrap_err();
        assert!(matches!(e, Error::Invalid { ref field, .. } if field == "run_as.default"));
    }

    #[test]
    fn principals_per_account_kind() {
        let p = |a: &str, l: Option<Logon>| {
            Principal::resolve(Account::parse(a).unwrap(), l, Some("HOST\\admin"))
        };
        let me = p("", None).unwrap();
        assert_eq!(
            (me.user_id.as_deref(), me.logon_type(), me.run_level()),
            (Some("HOST\\admin"), Some("S4U"), "LeastPrivilege")
        );
        assert_eq!(me.password_account(), None);
        let it = p("", Some(Logon::Interactive)).unwrap();
        assert_eq!((it.user_id.as_deref(), it.logon_type()), (None, Some("InteractiveToken")));
        assert!(it.interactive());
        let sys = p("NT AUTHORITY\\SYSTEM", None).unwrap();
        assert_eq!(
            (sys.user_id.as_deref(), sys.logon_type(), sys.run_level()),
            (Some("S-1-5-18"), None, "HighestAvailable")
        );
        let ls = p("LOCAL SERVICE", None).unwrap();
        assert_eq!((ls.user_id.as_deref(), ls.logon_type()), (Some("S-1-5-19"), None));
        assert_eq!(ls.password_account(), None);
        let g = p("CORP\\svc$", None).unwrap();
        assert_eq!((g.user_id.as_deref(), g.logon_type()), (Some("CORP\\svc$"), Some("Password")));
        assert_eq!(g.password_account(), None);
        let u = p("CORP\\etl", None).unwrap();
        assert_eq!(u.password_account(), Some("CORP\\etl"));
        let s4u = p("CORP\\etl", Some(Logon::S4u)).unwrap();
        assert_eq!((s4u.logon_type(), s4u.password_account()), (Some("S4U"), None));
        for (a, l) in [
            ("SYSTEM", Logon::S4u),
            ("NETWORK SERVICE", Logon::Password),
            ("CORP\\svc$", Logon::Interactive),
            ("", Logon::Password),
        ] {
            let e = p(a, Some(l)).unwrap_err();
            assert!(matches!(e, Error::Invalid { ref field, .. } if field == "--logon"), "{a}");
        }
        let e = Principal::resolve(Account::CurrentUser, None, None).unwrap_err();
        assert_eq!(e.exit_code(), crate::error::exit::USAGE);
    }

    #[test]
    fn logon_parse_and_task_check() {
        assert_eq!(Logon::parse("S4U").unwrap(), Logon::S4u);
        assert!(Logon::parse("batch").is_err());
        assert!(check_task(Some("SYSTEM"), Some(Logon::S4u)).is_err());
        assert!(check_task(Some("CORP\\u"), Some(Logon::S4u)).is_ok());
        assert!(check_task(None, Some(Logon::Password)).is_ok(), "the default may name one");
    }

    #[test]
    fn gmsa_powershell_is_exact() {
        assert_eq!(
            gmsa_powershell(
                "CORP\\svc$",
                "C:\\orc\\orc.exe",
                "C:\\ProgramData\\orc",
                "nightly",
                "\\Orchestrator\\",
                "Orc_nightly"
            ),
            "$xml = (& 'C:\\orc\\orc.exe' --home 'C:\\ProgramData\\orc' schedule --validate nightly --json | ConvertFrom-Json).definition\n\
             Register-ScheduledTask -TaskPath '\\Orchestrator\\' -TaskName 'Orc_nightly' -Xml $xml -User 'CORP\\svc$' -Force\n\
             Set-ScheduledTask -TaskPath '\\Orchestrator\\' -TaskName 'Orc_nightly' -Principal (New-ScheduledTaskPrincipal -UserId 'CORP\\svc$' -LogonType Password)"
        );
    }
}

//! `orc configure`: the setup wizard (interactive on a terminal), or the same settings from
//! flags for scripts. Everything it writes goes through the validated settings API
//! ([`crate::config::apply`]) and the vault; passwords are only ever read from a hidden prompt
//! or standard input.

use dialoguer::console::Term;
use dialoguer::{Confirm, Input};

use super::Context;
use super::credential::{prompt_secret, read_secret_stdin};
use crate::config::{self, Change, Settings};
use crate::error::{Error, Result};
use crate::notify::settings::MailSettings;
use crate::notify::smtp::{SmtpRelay, is_loopback};
use crate::vault::{self, Actor, CredentialKind, Purpose, Secret};

/// The flags that make `orc configure` run without prompting.
const FLAGS: &str = "--smtp-host, --smtp-port, --smtp-tls, --smtp-user, --smtp-password-stdin, \
     --mail-from, --mail-to, --notify-default, --daily-report-time, --run-as, \
     --run-as-password-stdin, --test-smtp, --non-interactive";

#[derive(Debug, Default, clap::Args)]
pub struct ConfigureArgs {
    /// SMTP relay host name or IP address (empty string: no e-mail)
    #[arg(long, value_name = "HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (587, 465, 25…)
    #[arg(long, value_name = "PORT")]
    pub smtp_port: Option<String>,
    /// starttls, tls or none (none only for a loopback relay)
    #[arg(long, value_name = "MODE")]
    pub smtp_tls: Option<String>,
    /// SMTP login (empty string: no authentication)
    #[arg(long, value_name = "USER")]
    pub smtp_user: Option<String>,
    /// Read the SMTP password from standard input into the vault (credential smtp-password)
    #[arg(long)]
    pub smtp_password_stdin: bool,
    /// Sender address (e.g. "orc <orc@example.com>")
    #[arg(long, value_name = "ADDRESS")]
    pub mail_from: Option<String>,
    /// Default recipients, comma-separated
    #[arg(long, value_name = "ADDRESSES")]
    pub mail_to: Option<String>,
    /// failure, always or never
    #[arg(long, value_name = "POLICY")]
    pub notify_default: Option<String>,
    /// Daily report time HH:MM (empty string: no daily report)
    #[arg(long, value_name = "HH:MM")]
    pub daily_report_time: Option<String>,
    /// Default run-as account: empty string (you), SYSTEM, or DOMAIN\user
    #[arg(long, value_name = "ACCOUNT")]
    pub run_as: Option<String>,
    /// Read the run-as account's password from standard input into the vault
    #[arg(long, conflicts_with = "smtp_password_stdin", requires = "run_as")]
    pub run_as_password_stdin: bool,
    /// Log in to the SMTP server to check the settings (sends no mail)
    #[arg(long)]
    pub test_smtp: bool,
    /// Never prompt (also implied by any of the other flags)
    #[arg(long)]
    pub non_interactive: bool,
}

impl ConfigureArgs {
    fn any_flag(&self) -> bool {
        self.smtp_host.is_some()
            || self.smtp_port.is_some()
            || self.smtp_tls.is_some()
            || self.smtp_user.is_some()
            || self.smtp_password_stdin
            || self.mail_from.is_some()
            || self.mail_to.is_some()
            || self.notify_default.is_some()
            || self.daily_report_time.is_some()
            || self.run_as.is_some()
            || self.run_as_password_stdin
            || self.test_smtp
            || self.non_interactive
    }
}

pub fn run(args: ConfigureArgs, ctx: &mut Context<'_>) -> Result<i32> {
    if args.any_flag() {
        return non_interactive(args, ctx);
    }
    let stdout_tty = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let term = if ctx.interactive && stdout_tty && !ctx.json {
        super::terminal::prompt_term()
    } else {
        None
    };
    match term {
        Some(term) => wizard(ctx, &term),
        None => Err(Error::Usage(format!(
            "orc configure needs a terminal to ask questions (stdin and stdout); for scripts \
             pass the settings as flags: {FLAGS}"
        ))),
    }
}

/// A password to store as a credential once the settings are known to be valid.
struct PendingSecret {
    name: String,
    kind: CredentialKind,
    value: Secret,
}

fn store_pending(
    ctx: &mut Context<'_>,
    pending: &[PendingSecret],
    interactive: bool,
) -> Result<()> {
    let command = ctx.command_line.clone();
    let paths = ctx.paths()?.clone();
    for p in pending {
        vault::set(
            ctx.store()?,
            &paths,
            interactive,
            &p.name,
            Some(p.kind),
            &p.value,
            Actor { command: &command },
        )?;
    }
    Ok(())
}

fn non_interactive(args: ConfigureArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let mut changes = Vec::new();
    let mut push = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            changes.push(Change::Set(key.to_string(), v.clone()));
        }
    };
    push("smtp.host", &args.smtp_host);
    push("smtp.port", &args.smtp_port);
    push("smtp.tls", &args.smtp_tls);
    push("smtp.user", &args.smtp_user);
    push("mail.from", &args.mail_from);
    push("mail.to", &args.mail_to);
    push("notify.default", &args.notify_default);
    push("report.daily_time", &args.daily_report_time);
    push("run_as.default", &args.run_as);

    let mut pending = Vec::new();
    if args.smtp_password_stdin {
        let value = read_secret_stdin("SMTP password")?;
        vault::validate_value(&value)?;
        pending.push(PendingSecret {
            name: vault::SMTP_PASSWORD_CREDENTIAL.to_string(),
            kind: CredentialKind::SmtpPassword,
            value,
        });
        changes.push(Change::Set(
            "smtp.password_credential".into(),
            vault::SMTP_PASSWORD_CREDENTIAL.into(),
        ));
    }
    if args.run_as_password_stdin {
        let account = config::normalize("run_as.default", args.run_as.as_deref().unwrap_or(""))?;
        if !matches!(
            crate::task::runas::Account::parse(&account),
            Ok(crate::task::runas::Account::User(_))
        ) {
            return Err(Error::invalid(
                "--run-as-password-stdin",
                &account,
                "a password is only stored for a named user account (not empty, a built-in \
                 service account or a gMSA)",
            ));
        }
        let value = read_secret_stdin("run-as password")?;
        vault::validate_value(&value)?;
        pending.push(PendingSecret {
            name: vault::run_as_credential_name(&account),
            kind: CredentialKind::AccountPassword,
            value,
        });
    }
    // Everything is validated before anything is written.
    let assumed: Vec<&str> = pending.iter().map(|p| p.name.as_str()).collect();
    config::check(ctx.store()?, &changes, &assumed)?;
    store_pending(ctx, &pending, false)?;
    let command = ctx.command_line.clone();
    let applied = config::apply(ctx.store()?, &changes, &command)?;

    let mut test = None;
    if args.test_smtp {
        let settings = Settings::load(ctx.store()?)?;
        let paths = ctx.paths()?.clone();
        let password = settings.smtp_password(ctx.store()?, &paths, false)?;
        test = Some(test_smtp(&settings, password.as_ref()));
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "changed": applied.iter().filter(|a| a.changed).map(|a| a.key).collect::<Vec<_>>(),
            "credentials": pending.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            "smtp_test": test.as_ref().map(|t| match t {
                Ok(()) => serde_json::json!({ "ok": true }),
                Err(e) => serde_json::json!({ "ok": false, "error": e }),
            }),
        }))?;
    } else if ctx.verbosity >= 0 {
        for a in applied.iter().filter(|a| a.changed) {
            ctx.print(&format!("{} = {}", a.key, a.after.as_deref().unwrap_or("(default)")))?;
        }
        for p in &pending {
            ctx.print(&format!("credential {} stored in the vault", p.name))?;
        }
        if applied.iter().all(|a| !a.changed) && pending.is_empty() {
            ctx.print("nothing to change")?;
        }
        match &test {
            Some(Ok(())) => ctx.print("SMTP test: connected and logged in (no mail was sent)")?,
            Some(Err(e)) => ctx.print(&format!("SMTP test failed: {e}"))?,
            None => {}
        }
    }
    match test {
        Some(Err(e)) => {
            Err(Error::Failed(format!("SMTP test failed: {e} (the settings were saved)")))
        }
        _ => Ok(0),
    }
}

/// Connects to the configured SMTP server, negotiates TLS and logs in, then quits. Sends no
/// mail. Returns a one-line reason on failure. The relay is the one notifications use
/// ([`crate::notify::smtp::SmtpRelay`]: same port, TLS mode, CA file and loopback rule).
pub fn test_smtp(
    settings: &Settings,
    password: Option<&Secret>,
) -> std::result::Result<(), String> {
    let mail = MailSettings::from_settings(settings);
    let smtp = mail.smtp.as_ref().ok_or("smtp.host is not set")?;
    if smtp.auth == crate::notify::settings::SmtpAuth::Xoauth2 {
        return Err("the login test does not cover smtp.auth xoauth2; use `orc notify test`".into());
    }
    let password = password.map(|p| zeroize::Zeroizing::new(p.expose_str().to_string()));
    SmtpRelay::new(smtp, password).map_err(|e| e.to_string())?.test_connection()
}

// ---------------------------------------------------------------------------------------------
// The interactive wizard.

fn ask(
    term: &Term,
    prompt: &str,
    key: &'static str,
    current: &str,
    optional: bool,
) -> Result<String> {
    let mut input = Input::<String>::new()
        .with_prompt(if optional && !current.is_empty() {
            format!("{prompt} (- to clear)")
        } else {
            prompt.to_string()
        })
        .allow_empty(optional);
    if !current.is_empty() {
        input = input.default(current.to_string());
    }
    let answer = input
        .validate_with(move |v: &String| -> std::result::Result<(), String> {
            if optional && v == "-" {
                return Ok(());
            }
            config::normalize(key, v).map(|_| ()).map_err(|e| e.to_string())
        })
        .interact_text_on(term)
        .map_err(prompt_error)?;
    if optional && answer == "-" {
        return Ok(String::new());
    }
    config::normalize(key, &answer)
}

fn confirm(term: &Term, prompt: &str, default: bool) -> Result<bool> {
    Confirm::new().with_prompt(prompt).default(default).interact_on(term).map_err(prompt_error)
}

fn prompt_error(e: dialoguer::Error) -> Error {
    Error::Failed(format!("could not read from the terminal: {e}"))
}

fn say(term: &Term, text: &str) -> Result<()> {
    term.write_line(text).map_err(|e| Error::io("write", "terminal", e))
}

fn wizard(ctx: &mut Context<'_>, term: &Term) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let current = Settings::load(ctx.store()?)?;
    let cur = |k: &str| current.value(k).map(|(v, _)| v).unwrap_or_default();
    say(term, "orc setup — answers are checked as you type; nothing is saved until the end.")?;
    say(term, &format!("Data directory: {}", paths.home.display()))?;
    say(term, "  (another one: `orc --home DIR configure`, or set ORC_HOME)")?;
    let keys = vault::key_methods(ctx.store()?, &paths)?;
    if keys.is_empty() {
        let method = vault::KeyMethod::platform_default();
        let where_ = match method {
            vault::KeyMethod::Dpapi => "Windows DPAPI for your user".to_string(),
            _ => format!(
                "the key file {}",
                paths.key_file().map(|p| p.display().to_string()).unwrap_or_default()
            ),
        };
        say(term, &format!("Secrets will be encrypted; the vault key is protected by {where_}."))?;
    } else {
        for k in &keys {
            say(term, &format!("Vault key protected by {}: {}", k.method.as_str(), k.detail))?;
        }
    }

    let mut changes: Vec<Change> = Vec::new();
    let mut pending: Vec<PendingSecret> = Vec::new();
    fn set(changes: &mut Vec<Change>, key: &str, value: String) {
        changes.push(Change::Set(key.to_string(), value));
    }

    say(term, "")?;
    say(term, "E-mail notifications")?;
    let host = ask(term, "SMTP server (empty: no e-mail)", "smtp.host", &cur("smtp.host"), true)?;
    set(&mut changes, "smtp.host", host.clone());
    let mut smtp_password: Option<Secret> = None;
    if !host.is_empty() {
        let port = ask(term, "SMTP port", "smtp.port", &cur("smtp.port"), false)?;
        set(&mut changes, "smtp.port", port);
        let host_for_tls = host.clone();
        let tls = Input::<String>::new()
            .with_prompt("Encryption: starttls, tls or none (loopback relay only)")
            .default(cur("smtp.tls"))
            .validate_with(move |v: &String| -> std::result::Result<(), String> {
                let t = config::normalize("smtp.tls", v).map_err(|e| e.to_string())?;
                if t == "none" && !is_loopback(&host_for_tls) {
                    return Err(format!(
                        "none is only allowed for a loopback relay; {host_for_tls} is not one"
                    ));
                }
                Ok(())
            })
            .interact_text_on(term)
            .map_err(prompt_error)?;
        set(&mut changes, "smtp.tls", config::normalize("smtp.tls", &tls)?);
        let user = ask(term, "SMTP login (empty: none)", "smtp.user", &cur("smtp.user"), true)?;
        set(&mut changes, "smtp.user", user.clone());
        if !user.is_empty() {
            let stored = current.smtp_password_credential.clone();
            let keep = match &stored {
                Some(name) => {
                    confirm(term, &format!("Keep the stored SMTP password ({name})?"), true)?
                }
                None => false,
            };
            if let (true, Some(name)) = (keep, stored.as_deref()) {
                // Only needed for the connection test; a locked vault just skips the login.
                smtp_password = vault::get(ctx.store()?, &paths, true, name, Purpose::Smtp).ok();
            } else {
                let value = prompt_secret("SMTP password (hidden)")?
                    .ok_or_else(|| Error::Usage("no terminal for the password prompt".into()))?;
                vault::validate_value(&value)?;
                smtp_password = Some(Secret::new(value.expose().to_vec()));
                pending.push(PendingSecret {
                    name: vault::SMTP_PASSWORD_CREDENTIAL.to_string(),
                    kind: CredentialKind::SmtpPassword,
                    value,
                });
                set(
                    &mut changes,
                    "smtp.password_credential",
                    vault::SMTP_PASSWORD_CREDENTIAL.into(),
                );
            }
        } else {
            set(&mut changes, "smtp.password_credential", String::new());
        }
        let from = ask(
            term,
            "Sender address (e.g. orc <orc@example.com>)",
            "mail.from",
            &cur("mail.from"),
            false,
        )?;
        set(&mut changes, "mail.from", from);
        let to =
            ask(term, "Default recipients (comma-separated)", "mail.to", &cur("mail.to"), true)?;
        set(&mut changes, "mail.to", to);
        if confirm(term, "Test the SMTP connection now (logs in, sends nothing)?", true)? {
            let mut raw = std::collections::BTreeMap::new();
            for c in &changes {
                if let Change::Set(k, v) = c {
                    raw.insert(k.clone(), v.clone());
                }
            }
            raw.remove("smtp.password_credential");
            match Settings::from_raw(&raw).map(|s| test_smtp(&s, smtp_password.as_ref())) {
                Ok(Ok(())) => say(term, "  connected and logged in — no mail was sent")?,
                Ok(Err(e)) | Err(Error::Failed(e)) => {
                    say(term, &format!("  the test failed: {e}"))?;
                    if !confirm(term, "Keep these SMTP settings anyway?", false)? {
                        say(term, "Nothing was saved. Run `orc configure` again.")?;
                        return Ok(crate::error::exit::FAILURE);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    say(term, "")?;
    say(term, "Notifications and reports")?;
    let notify = ask(
        term,
        "Mail by default on: failure, always or never",
        "notify.default",
        &cur("notify.default"),
        false,
    )?;
    set(&mut changes, "notify.default", notify);
    let daily = ask(
        term,
        "Daily report time HH:MM (empty: none)",
        "report.daily_time",
        &cur("report.daily_time"),
        true,
    )?;
    set(&mut changes, "report.daily_time", daily);

    say(term, "")?;
    say(term, "Run-as account")?;
    let run_as = ask(
        term,
        "Tasks run as (empty: the user who runs `orc schedule`; SYSTEM; LOCAL SERVICE; NETWORK \
         SERVICE; DOMAIN\\gmsa$; or DOMAIN\\user)",
        "run_as.default",
        &cur("run_as.default"),
        true,
    )?;
    set(&mut changes, "run_as.default", run_as.clone());
    if matches!(
        crate::task::runas::Account::parse(&run_as),
        Ok(crate::task::runas::Account::User(_))
    ) {
        let name = vault::run_as_credential_name(&run_as);
        let exists = vault::credential_exists(ctx.store()?, &name)?.is_some();
        let question = if exists {
            format!("Replace the stored password of {run_as}?")
        } else {
            format!("Store the password of {run_as} in the vault?")
        };
        if confirm(term, &question, !exists)? {
            let value = prompt_secret(&format!("Password of {run_as} (hidden)"))?
                .ok_or_else(|| Error::Usage("no terminal for the password prompt".into()))?;
            vault::validate_value(&value)?;
            pending.push(PendingSecret { name, kind: CredentialKind::AccountPassword, value });
        }
    }

    say(term, "")?;
    let assumed: Vec<&str> = pending.iter().map(|p| p.name.as_str()).collect();
    config::check(ctx.store()?, &changes, &assumed)?;
    if !confirm(term, "Save these settings?", true)? {
        say(term, "Nothing was saved.")?;
        return Ok(crate::error::exit::FAILURE);
    }
    store_pending(ctx, &pending, true)?;
    let command = ctx.command_line.clone();
    let applied = config::apply(ctx.store()?, &changes, &command)?;
    let changed = applied.iter().filter(|a| a.changed).count();
    say(
        term,
        &format!(
            "Saved: {changed} setting(s) changed, {} secret(s) stored in the vault.",
            pending.len()
        ),
    )?;
    say(term, "Review them with `orc config list` and `orc credential list`.")?;
    if confirm(term, "Register your tasks with the OS scheduler now?", false)? {
        let args = super::schedule::ScheduleArgs {
            task: None,
            all: true,
            dry_run: false,
            force: false,
            list: false,
            validate: None,
            remote: super::schedule::RemoteArgs::default(),
        };
        return super::schedule::run(args, ctx);
    }
    say(term, "Register them later with: orc schedule --all")?;
    Ok(0)
}

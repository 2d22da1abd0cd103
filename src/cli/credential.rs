//! `orc credential set|list|rm|keys|add-key|remove-key|rotate-key`.

use std::io::Read;

use zeroize::Zeroizing;

use super::Context;
use crate::error::{Error, Result};
use crate::vault::{self, Actor, CredentialKind, KeyMethod, PassphraseSource, Secret, SetOutcome};

#[derive(Debug, clap::Subcommand)]
pub enum CredentialCommand {
    /// Store a secret (hidden prompt, or read from stdin); replaces an existing value
    Set {
        /// Credential name (same rule as task names)
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Read the value from standard input (all of it, without the trailing newline)
        #[arg(long)]
        from_stdin: bool,
        /// What it is for: secret (tasks may use it), smtp_password, account_password
        /// [default: secret, or the existing credential's kind]
        #[arg(long, value_enum)]
        kind: Option<CredentialKind>,
    },
    /// List credential names, kinds and times (never values)
    List,
    /// Remove a credential (refused while a setting or task uses it, unless --force)
    Rm {
        #[arg(allow_hyphen_values = true)]
        name: String,
        /// Remove even if a setting or task still refers to it
        #[arg(long)]
        force: bool,
    },
    /// Show how the vault key is protected (DPAPI, key file, passphrase) and on which host
    Keys,
    /// Protect the vault key one more way
    AddKey {
        /// dpapi (Windows, this user), dpapi-machine (Windows, every account the home admits),
        /// key-file, or passphrase
        #[arg(value_enum)]
        method: KeyMethod,
        /// Read the new passphrase from standard input (one line) instead of prompting
        #[arg(long)]
        passphrase_stdin: bool,
    },
    /// Stop protecting the vault key one way (the last way cannot be removed)
    RemoveKey {
        #[arg(value_enum)]
        method: KeyMethod,
    },
    /// New data key: re-encrypt every credential and re-protect it (new key file too)
    RotateKey {
        /// Read the vault passphrase from standard input (one line), if one protects the vault
        #[arg(long)]
        passphrase_stdin: bool,
    },
}

pub fn run(args: CredentialCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        CredentialCommand::Set { name, from_stdin, kind } => set(ctx, &name, from_stdin, kind),
        CredentialCommand::List => list(ctx),
        CredentialCommand::Rm { name, force } => rm(ctx, &name, force),
        CredentialCommand::Keys => keys(ctx),
        CredentialCommand::AddKey { method, passphrase_stdin } => {
            add_key(ctx, method, passphrase_stdin)
        }
        CredentialCommand::RemoveKey { method } => remove_key(ctx, method),
        CredentialCommand::RotateKey { passphrase_stdin } => rotate_key(ctx, passphrase_stdin),
    }
}

/// Reads a secret from standard input: everything, without one trailing newline (`\n` or
/// `\r\n`), at most [`vault::MAX_SECRET_BYTES`]. The buffer never reallocates, so no stray
/// copy of the value is left in freed memory.
pub fn read_secret_stdin(what: &str) -> Result<Secret> {
    let limit = vault::MAX_SECRET_BYTES;
    let mut buf = Zeroizing::new(Vec::with_capacity(limit + 2));
    std::io::stdin()
        .lock()
        .take(limit as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("read", "standard input", e))?;
    if buf.len() > limit {
        return Err(Error::invalid(what, "(hidden)", "the value is longer than 64 KiB"));
    }
    if buf.ends_with(b"\n") {
        buf.pop();
        if buf.ends_with(b"\r") {
            buf.pop();
        }
    }
    Ok(Secret::new(std::mem::take(&mut *buf)))
}

/// Reads one line from standard input (for a passphrase), without its newline.
fn read_line_stdin(what: &str) -> Result<Zeroizing<String>> {
    let mut line = Zeroizing::new(String::with_capacity(1024));
    std::io::stdin()
        .lock()
        .take(1024)
        .read_to_string(&mut line)
        .map_err(|e| Error::io("read", "standard input", e))?;
    let first = line.split(['\r', '\n']).next().unwrap_or("");
    if first.is_empty() {
        return Err(Error::invalid(what, "(hidden)", "nothing was read from standard input"));
    }
    Ok(Zeroizing::new(first.to_string()))
}

/// Asks for a secret twice on the terminal, hidden.
pub fn prompt_secret(prompt: &str) -> Result<Option<Secret>> {
    let Some(term) = super::terminal::prompt_term() else {
        return Ok(None);
    };
    let value = dialoguer::Password::new()
        .with_prompt(prompt)
        .with_confirmation("Repeat to confirm", "the two entries differ; try again")
        .interact_on(&term)
        .map_err(|e| Error::Failed(format!("could not read from the terminal: {e}")))?;
    Ok(Some(Secret::from_string(value)))
}

fn set(
    ctx: &mut Context<'_>,
    name: &str,
    from_stdin: bool,
    kind: Option<CredentialKind>,
) -> Result<i32> {
    vault::validate_credential_name(name)?;
    let value = if from_stdin {
        read_secret_stdin("credential value")?
    } else {
        match ctx.interactive.then(|| prompt_secret(&format!("Value for {name}"))).transpose()? {
            Some(Some(v)) => v,
            _ => {
                return Err(Error::Usage(format!(
                    "there is no terminal to ask for the value of credential {name:?}; pipe it \
                     in instead: `... | orc credential set {name} --from-stdin` (never put a \
                     secret on the command line)"
                )));
            }
        }
    };
    vault::validate_value(&value)?;
    let interactive = ctx.interactive && !from_stdin;
    let command = ctx.command_line.clone();
    let paths = ctx.paths()?.clone();
    let store = ctx.store()?;
    let outcome =
        vault::set(store, &paths, interactive, name, kind, &value, Actor { command: &command })?;
    drop(value);
    let kind = vault::credential_exists(ctx.store()?, name)?.unwrap_or(CredentialKind::Secret);
    let action = match outcome {
        SetOutcome::Created => "created",
        SetOutcome::Replaced => "replaced",
    };
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "name": name, "kind": kind, "action": action }))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!("credential {name} {action} (kind {})", kind.as_str()))?;
    }
    Ok(0)
}

fn list(ctx: &mut Context<'_>) -> Result<i32> {
    let items = vault::list(ctx.store()?)?;
    let time = |s: &str, human: bool| {
        crate::store::from_db_time(s)
            .map(|t| {
                if human { crate::clock::to_local_human(t) } else { crate::clock::to_local_iso(t) }
            })
            .unwrap_or_else(|| s.to_string())
    };
    if ctx.json {
        let doc: Vec<serde_json::Value> = items
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "kind": c.kind,
                    "created_at": time(&c.created_at, false),
                    "updated_at": time(&c.updated_at, false),
                })
            })
            .collect();
        return ctx.print_json(&doc).map(|_| 0);
    }
    if items.is_empty() {
        ctx.print("no credentials (store one with `orc credential set NAME`)")?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.kind.as_str().to_string(),
                time(&c.created_at, true),
                time(&c.updated_at, true),
            ]
        })
        .collect();
    ctx.print_raw(&crate::render::table(&["NAME", "KIND", "CREATED", "UPDATED"], &rows))?;
    Ok(0)
}

fn rm(ctx: &mut Context<'_>, name: &str, force: bool) -> Result<i32> {
    let command = ctx.command_line.clone();
    vault::remove(ctx.store()?, name, force, Actor { command: &command })?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "name": name, "action": "removed" }))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!("credential {name} removed"))?;
    }
    Ok(0)
}

fn keys(ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let items = vault::key_methods(ctx.store()?, &paths)?;
    if ctx.json {
        return ctx.print_json(&items).map(|_| 0);
    }
    if items.is_empty() {
        ctx.print("no vault yet: it is created when the first credential is stored")?;
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|k| {
            let created = crate::store::from_db_time(&k.created_at)
                .map(crate::clock::to_local_human)
                .unwrap_or_else(|| k.created_at.clone());
            let host = k.host.clone().unwrap_or_else(|| "-".into());
            vec![
                k.method.as_str().to_string(),
                k.key_id.to_string(),
                host,
                created,
                k.detail.clone(),
            ]
        })
        .collect();
    let header = ["METHOD", "KEY", "HOST", "CREATED", "DETAIL"];
    ctx.print_raw(&crate::render::table(&header, &rows))?;
    Ok(0)
}

fn new_passphrase(ctx: &Context<'_>, from_stdin: bool) -> Result<Zeroizing<String>> {
    if from_stdin {
        return read_line_stdin("passphrase");
    }
    match ctx
        .interactive
        .then(|| prompt_secret("New vault passphrase (at least 12 characters)"))
        .transpose()?
    {
        Some(Some(s)) => Ok(Zeroizing::new(s.expose_str().to_string())),
        _ => Err(Error::Usage(
            "there is no terminal to ask for the passphrase; pipe it in with --passphrase-stdin"
                .into(),
        )),
    }
}

fn add_key(ctx: &mut Context<'_>, method: KeyMethod, passphrase_stdin: bool) -> Result<i32> {
    let passphrase = match method {
        KeyMethod::Passphrase => {
            let p = new_passphrase(ctx, passphrase_stdin)?;
            vault::validate_new_passphrase(&p)?;
            Some(p)
        }
        _ => None,
    };
    let command = ctx.command_line.clone();
    let interactive = ctx.interactive && !passphrase_stdin;
    let paths = ctx.paths()?.clone();
    vault::add_key(
        ctx.store()?,
        &paths,
        interactive,
        method,
        passphrase.as_deref().map(|s| s.as_str()),
        Actor { command: &command },
    )?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "method": method, "action": "added" }))?;
    } else if ctx.verbosity >= 0 {
        let extra = match method {
            KeyMethod::KeyFile => paths
                .key_file()
                .map(|p| {
                    format!(" ({}; back it up separately from the data directory)", p.display())
                })
                .unwrap_or_default(),
            KeyMethod::Passphrase => {
                " (scheduled runs unlock with it only through ORC_VAULT_PASSPHRASE)".to_string()
            }
            KeyMethod::Dpapi => " (for this Windows user on this machine)".to_string(),
            KeyMethod::DpapiMachine => {
                " (for every account the home's permissions admit, on this machine)".to_string()
            }
        };
        ctx.print(&format!("the vault key is now also protected by {}{extra}", method.as_str()))?;
    }
    Ok(0)
}

fn remove_key(ctx: &mut Context<'_>, method: KeyMethod) -> Result<i32> {
    let command = ctx.command_line.clone();
    let interactive = ctx.interactive;
    let paths = ctx.paths()?.clone();
    vault::remove_key(ctx.store()?, &paths, interactive, method, Actor { command: &command })?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "method": method, "action": "removed" }))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!("the vault key is no longer protected by {}", method.as_str()))?;
        if method == KeyMethod::KeyFile
            && let Some(p) = paths.key_file()
        {
            ctx.print(&format!(
                "note: {} still exists; delete it (and its backups) if it should no longer open \
                 old database backups, or run `orc credential rotate-key`",
                p.display()
            ))?;
        }
    }
    Ok(0)
}

fn rotate_key(ctx: &mut Context<'_>, passphrase_stdin: bool) -> Result<i32> {
    let source = if passphrase_stdin {
        PassphraseSource::Given(read_line_stdin("passphrase")?)
    } else {
        PassphraseSource::Ambient { interactive: ctx.interactive }
    };
    let command = ctx.command_line.clone();
    let paths = ctx.paths()?.clone();
    let report = vault::rotate_key(ctx.store()?, &paths, source, Actor { command: &command })?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "old_key_id": report.old_key_id,
            "new_key_id": report.new_key_id,
            "credentials": report.credentials,
            "methods": report.methods,
            "key_file": report.key_file.as_ref().map(|p| p.display().to_string()),
            "dropped_hosts": report.dropped_hosts,
        }))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!(
            "new data key {} (was {}): {} credential(s) re-encrypted, protected by {}",
            report.new_key_id,
            report.old_key_id,
            report.credentials,
            report.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
        ))?;
        if let Some(p) = &report.key_file {
            ctx.print(&format!("the key file {} was replaced: back it up again", p.display()))?;
        }
        if !report.dropped_hosts.is_empty() {
            ctx.print(&format!(
                "the wraps of host {} were dropped: run `orc host enroll` on each",
                report.dropped_hosts.join(", ")
            ))?;
        }
    }
    Ok(0)
}

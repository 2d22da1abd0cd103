//! `orc migrate`: from the legacy Python orchestrator.

use std::io::BufRead;

use super::Context;
use crate::error::{Error, Result};
use crate::migrate::{self, Plan, Target, legacy};

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["from_legacy", "cleanup", "rollback"])))]
pub struct MigrateArgs {
    /// The legacy database (usually <folder>\data\orchestrator.db); read, never written
    #[arg(long, value_name = "PATH")]
    pub from_legacy: Option<std::path::PathBuf>,
    /// Show the full plan and change nothing
    #[arg(long, requires = "from_legacy")]
    pub dry_run: bool,
    /// Read the legacy master password from the first line of standard input
    #[arg(long, requires = "from_legacy")]
    pub legacy_password_stdin: bool,
    /// Stop the legacy polling loop and remove its Task Scheduler registrations
    #[arg(long)]
    pub cleanup: bool,
    /// Re-create the legacy registrations that --cleanup removed
    #[arg(long)]
    pub rollback: bool,
}

pub fn run(args: MigrateArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let Some(path) = args.from_legacy.clone() else {
        let which = if args.cleanup { "--cleanup" } else { "--rollback" };
        return Err(Error::Failed(format!(
            "orc migrate {which} is not part of this build yet; remove the legacy \\Orchestrator\\Orc_* \
             registrations and stop `python main.py` by hand (see README, \"Migrating from the \
             legacy orchestrator\")"
        )));
    };
    let scratch = ctx.paths()?.tmp_dir();
    let db = legacy::read(&path, &scratch)?;
    let password = read_password(&args, ctx, !db.secrets.is_empty())?;
    // Decrypt before anything is written: a wrong password stops the whole import.
    let decrypted = match &password {
        Some(p) => migrate::decrypt_all(&db, p.as_bytes())?,
        None => Vec::new(),
    };
    let store = ctx.store()?;
    let existing = migrate::existing(store.conn())?;
    let mut plan = migrate::plan::build(&db, &existing, Target::native(), password.is_some());
    if args.dry_run {
        if password.is_some() {
            for s in &mut plan.secrets {
                s.note = Some("decrypts with the given password".into());
            }
        }
        return show(ctx, &plan, None, true);
    }
    let line = ctx.command_line.clone();
    let outcome = migrate::apply(ctx.store()?, &plan, &decrypted, &line)?;
    for s in &mut plan.secrets {
        if outcome.secrets_not_stored.contains(&s.credential) {
            s.action = "not_stored";
            s.note = Some(
                "decrypted but not stored: this build has no vault library API yet; set it with \
                 `orc credential set`"
                    .into(),
            );
        }
    }
    if !outcome.secrets_not_stored.is_empty() {
        for s in plan.settings.iter_mut().filter(|s| s.legacy_key == "smtp_password") {
            s.action = "skip";
            s.note = Some("the SMTP password was not stored in the vault".into());
        }
    }
    show(ctx, &plan, Some(&outcome), false)
}

fn read_password(
    args: &MigrateArgs,
    ctx: &Context<'_>,
    needed: bool,
) -> Result<Option<zeroize::Zeroizing<String>>> {
    if args.legacy_password_stdin {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("read", "standard input", e))?;
        let trimmed = zeroize::Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
        if trimmed.is_empty() {
            return Err(Error::invalid(
                "--legacy-password-stdin",
                "",
                "standard input must carry the legacy master password on its first line",
            ));
        }
        return Ok(Some(trimmed));
    }
    if needed && ctx.interactive && !ctx.json {
        let pw = dialoguer::Password::new()
            .with_prompt("Legacy master password (empty: leave the secrets behind)")
            .allow_empty_password(true)
            .interact()
            .map_err(|e| Error::Failed(format!("cannot read the password: {e}")))?;
        return Ok((!pw.is_empty()).then(|| zeroize::Zeroizing::new(pw)));
    }
    Ok(None)
}

fn show(
    ctx: &mut Context<'_>,
    plan: &Plan,
    outcome: Option<&migrate::Outcome>,
    dry_run: bool,
) -> Result<i32> {
    if ctx.json {
        let doc = serde_json::json!({
            "dry_run": dry_run,
            "tasks": plan.tasks,
            "history": plan.history,
            "settings": plan.settings,
            "secrets": plan.secrets,
            "result": outcome,
        });
        ctx.print_json(&doc)?;
        return Ok(0);
    }
    let mut out = String::new();
    out.push_str(if dry_run { "Plan (dry run, nothing changed):\n" } else { "Migration:\n" });
    out.push_str("\nTasks:\n");
    for t in &plan.tasks {
        let state = if t.enabled { "enabled" } else { "disabled" };
        let rename =
            if t.renamed { format!(" (renamed from {:?})", t.legacy_name) } else { String::new() };
        out.push_str(&format!(
            "  {:<17} {}{rename}  [{state}]  {}\n",
            t.action, t.name, t.schedule
        ));
        for r in &t.disabled_reasons {
            out.push_str(&format!("      disabled: {r}\n"));
        }
        for n in &t.notes {
            out.push_str(&format!("      note: {n}\n"));
        }
    }
    let h = &plan.history;
    out.push_str(&format!(
        "\nHistory: {} legacy results: {} to import, {} already imported, {} skipped\n",
        h.total,
        h.to_import,
        h.already_imported,
        h.skipped.len()
    ));
    for s in &h.skipped {
        out.push_str(&format!("  skipped: {s}\n"));
    }
    out.push_str("\nSettings:\n");
    for s in &plan.settings {
        let target = match (&s.key, &s.value) {
            (Some(k), Some(v)) => format!("{k} = {v}"),
            _ => String::new(),
        };
        let note = s.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        out.push_str(&format!("  {:<9} {:<18} {target}{note}\n", s.action, s.legacy_key));
    }
    out.push_str("\nSecrets:\n");
    for s in &plan.secrets {
        let note = s.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        out.push_str(&format!(
            "  {:<12} {} → credential {}{note}\n",
            s.action, s.legacy, s.credential
        ));
    }
    if let Some(o) = outcome {
        out.push_str(&format!(
            "\nDone: {} tasks created, {} runs imported, {} settings set, {} secrets stored.\n\
             Next: `orc schedule --all`, then `orc migrate --cleanup` once orc runs the jobs.\n",
            o.tasks_created,
            o.runs_imported,
            o.settings_set,
            o.secrets_stored.len()
        ));
    }
    ctx.print_raw(&out)?;
    Ok(0)
}

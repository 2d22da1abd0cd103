//! `orc migrate`: from the legacy Python orchestrator.

use std::io::BufRead;

use super::Context;
use crate::error::{Error, Result};
use crate::migrate::{self, Plan, Target, legacy};
use crate::render::printable as p;

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
    /// Re-create the legacy registrations that --cleanup removed (and unschedule orc's own)
    #[arg(long)]
    pub rollback: bool,
    /// Do not ask for confirmation (--cleanup)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub fn run(args: MigrateArgs, ctx: &mut Context<'_>) -> Result<i32> {
    if args.cleanup {
        return cleanup(&args, ctx);
    }
    if args.rollback {
        return rollback(ctx);
    }
    let Some(path) = args.from_legacy.clone() else {
        return Err(Error::Usage("give --from-legacy PATH, --cleanup or --rollback".into()));
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
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let store = ctx.store()?;
    // The vault is opened (created on first use) before the import transaction starts.
    let vault = if decrypted.is_empty() {
        None
    } else {
        Some(crate::vault::Vault::open_or_create(
            store,
            &paths,
            interactive,
            crate::vault::Actor { command: &line },
        )?)
    };
    let outcome = migrate::apply(store, &plan, &decrypted, vault.as_ref(), &line)?;
    if vault.is_some() {
        crate::vault::checkpoint(store);
    }
    for s in &mut plan.secrets {
        if outcome.secrets_not_stored.contains(&s.credential) {
            s.action = "not_stored";
            s.note = Some("decrypted but not stored; set it with `orc credential set`".into());
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
            "  {:<17} {}{}  [{state}]  {}\n",
            t.action,
            p(&t.name),
            p(&rename),
            p(&t.schedule)
        ));
        for r in &t.disabled_reasons {
            out.push_str(&format!("      disabled: {}\n", p(r)));
        }
        for n in &t.notes {
            out.push_str(&format!("      note: {}\n", p(n)));
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
        out.push_str(&format!("  skipped: {}\n", p(s)));
    }
    out.push_str("\nSettings:\n");
    for s in &plan.settings {
        let target = match (&s.key, &s.value) {
            (Some(k), Some(v)) => format!("{k} = {v}"),
            _ => String::new(),
        };
        let note = s.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        let (key, line) = (p(&s.legacy_key), p(&format!("{target}{note}")).into_owned());
        out.push_str(&format!("  {:<9} {key:<18} {line}\n", s.action));
    }
    out.push_str("\nSecrets:\n");
    for s in &plan.secrets {
        let note = s.note.as_deref().map(|n| format!("  ({n})")).unwrap_or_default();
        out.push_str(&format!(
            "  {:<12} {} → credential {}{}\n",
            s.action,
            p(&s.legacy),
            p(&s.credential),
            p(&note)
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

/// One saved legacy registration (the manifest that `--rollback` reads).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Saved {
    path: String,
    action: String,
    file: String,
}

fn saved_dir(ctx: &mut Context<'_>) -> Result<std::path::PathBuf> {
    Ok(ctx.paths()?.home.join("migrate").join("legacy-tasks"))
}

/// Unschedules orc's own registrations through the scheduler backend (`orc unschedule --all`),
/// returning the paths removed.
fn unschedule_orc(ctx: &mut Context<'_>) -> Result<Vec<String>> {
    let home = ctx.paths()?.home.clone();
    let mut buf: Vec<u8> = Vec::new();
    let result = {
        let mut sub = Context::new(&mut buf, Some(home), true);
        sub.command_line = ctx.command_line.clone();
        let args = super::unschedule::UnscheduleArgs {
            task: None,
            all: true,
            dry_run: false,
            remote: super::schedule::RemoteArgs::default(),
        };
        super::unschedule::run(args, &mut sub)
    };
    result?;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&buf).unwrap_or_default();
    Ok(rows
        .iter()
        .filter(|r| r["result"] == "ok")
        .filter_map(|r| r["path"].as_str().map(str::to_string))
        .collect())
}

fn folder(ctx: &mut Context<'_>) -> Result<crate::scheduler::schtasks::TaskFolder> {
    crate::scheduler::schtasks::TaskFolder::from_config(ctx.store()?.conn())
}

fn cleanup(args: &MigrateArgs, ctx: &mut Context<'_>) -> Result<i32> {
    use crate::migrate::legacy_tasks as lt;
    let folder = folder(ctx)?;
    let runner = lt::runner()?;
    let legacy: Vec<lt::Registration> =
        lt::list(&runner, &folder)?.into_iter().filter(|r| lt::is_legacy(r, &folder)).collect();
    if !legacy.is_empty() && !args.yes {
        let question = format!(
            "Remove {} legacy registration(s) (their XML is saved for --rollback)?",
            legacy.len()
        );
        if !super::terminal::confirm(ctx, &question)? {
            return Err(Error::Usage(format!(
                "--cleanup would remove {} legacy registration(s) ({}); confirm interactively or \
                 add --yes — nothing was changed",
                legacy.len(),
                legacy.iter().map(|r| r.path.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let dir = saved_dir(ctx)?;
    let manifest_path = dir.join("manifest.json");
    let mut manifest: Vec<Saved> = match std::fs::read(&manifest_path) {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let mut removed = Vec::new();
    for r in &legacy {
        let xml = lt::export_xml(&runner, &r.path)?;
        let file = format!("{}.xml", crate::migrate::plan::orc_name(r.leaf()));
        lt::write_utf16(&dir.join(&file), &xml)?;
        manifest.retain(|m| !m.path.eq_ignore_ascii_case(&r.path));
        manifest.push(Saved { path: r.path.clone(), action: r.action.clone(), file });
        let text = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| Error::Failed(format!("cannot encode the manifest: {e}")))?;
        crate::fsx::create_private_file(&manifest_path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, &text))
            .map_err(|e| Error::io("write", &manifest_path, e))?;
        lt::delete(&runner, &r.path)?;
        removed.push(r.path.clone());
    }
    let loop_note = "the legacy polling loop (`python main.py`) is not stopped by this build: end \
                     it in Task Manager or with `Stop-Process` once orc runs the jobs";
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "removed": removed,
            "saved_to": dir.display().to_string(),
            "notes": [loop_note],
        }))?;
    } else {
        let mut out = String::new();
        if removed.is_empty() {
            out.push_str("No legacy registrations found.\n");
        }
        for r in &removed {
            out.push_str(&format!("removed  {r}\n"));
        }
        if !removed.is_empty() {
            out.push_str(&format!(
                "Saved their XML in {} (orc migrate --rollback restores them).\n",
                dir.display()
            ));
        }
        out.push_str(&format!("Note: {loop_note}.\n"));
        ctx.print_raw(&out)?;
    }
    Ok(0)
}

fn rollback(ctx: &mut Context<'_>) -> Result<i32> {
    use crate::migrate::legacy_tasks as lt;
    let dir = saved_dir(ctx)?;
    let manifest_path = dir.join("manifest.json");
    let manifest: Vec<Saved> = match std::fs::read(&manifest_path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            Error::Failed(format!("{} is unreadable: {e}", manifest_path.display()))
        })?,
        Err(_) => {
            return Err(Error::Usage(format!(
                "nothing to roll back: no legacy registrations were saved in {}",
                dir.display()
            )));
        }
    };
    // Check every saved file first, so that a missing one changes nothing.
    for m in &manifest {
        let f = dir.join(&m.file);
        if !f.is_file() {
            return Err(Error::Failed(format!(
                "saved registration {} is missing: {}",
                m.path,
                f.display()
            )));
        }
    }
    let unscheduled = unschedule_orc(ctx)?;
    let runner = lt::runner()?;
    let mut restored = Vec::new();
    for m in &manifest {
        lt::create_from_xml(&runner, &m.path, &dir.join(&m.file))?;
        restored.push(m.path.clone());
    }
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "unscheduled": unscheduled, "restored": restored }))?;
    } else {
        let mut out = String::new();
        for p in &unscheduled {
            out.push_str(&format!("unscheduled  {p}\n"));
        }
        for p in &restored {
            out.push_str(&format!("restored     {p}\n"));
        }
        ctx.print_raw(&out)?;
    }
    Ok(0)
}

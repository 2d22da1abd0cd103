//! `orc task …`: add, edit, remove, show, list, enable, disable, export, import.
//!
//! Thin: flags are copied into a [`TaskPatch`]; parsing, validation, the dependency graph,
//! storage and the export format live in [`crate::task`].

use std::path::{Path, PathBuf};

use super::Context;

mod show;
use crate::error::{Error, Result};
use crate::exec::runs;
use crate::notify::channels as notify_channels;
use crate::task::patch::TaskPatch;
use crate::task::repo::{self, StoredTask};
use crate::task::transfer::{self, ExportDocument, ImportAction};
use crate::task::{deps, ops};
use show::{LIST_COMMAND_WIDTH, truncate, view, yes_no};
pub use show::{LastRun, TaskView};

#[derive(Debug, clap::Subcommand)]
pub enum TaskCommand {
    /// Add a task
    Add(AddArgs),
    /// Change a task: only the flags given change (lists append; see --clear-*)
    Edit(EditArgs),
    /// Remove a task (refused while other tasks depend on it)
    Rm { name: String },
    /// Show one task
    Show { name: String },
    /// List tasks
    List,
    /// Enable a task
    Enable { name: String },
    /// Disable a task (its registration stays; scheduled runs are skipped)
    Disable { name: String },
    /// Write every task as a versioned JSON document (stdout, or --output FILE)
    Export {
        /// Write the document to this file (replaced atomically) instead of stdout
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Read tasks from an export document (all or nothing)
    Import {
        /// The export document (`-` for standard input); UTF-8 or UTF-16 with a BOM
        file: PathBuf,
        /// Overwrite tasks that already exist (otherwise an existing name is an error)
        #[arg(long)]
        replace: bool,
        /// Show the plan (create / replace / unchanged) and change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Task name: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit
    pub name: String,
    /// The command line to run
    #[arg(long, value_name = "STR")]
    pub command: String,
    /// Cron expression (5 fields or @daily …), in local time
    #[arg(long, value_name = "CRON")]
    pub schedule: String,
    #[command(flatten)]
    pub fields: TaskFields,
}

#[derive(Debug, clap::Args)]
pub struct EditArgs {
    /// The task to change
    pub name: String,
    /// The command line to run
    #[arg(long, value_name = "STR")]
    pub command: Option<String>,
    /// Cron expression (5 fields or @daily …), in local time
    #[arg(long, value_name = "CRON")]
    pub schedule: Option<String>,
    #[command(flatten)]
    pub fields: TaskFields,
    /// Enable the task
    #[arg(long, conflicts_with = "disabled")]
    pub enabled: bool,
    /// Remove the working directory (run in the orc home)
    #[arg(long, conflicts_with = "workdir")]
    pub clear_workdir: bool,
    /// Remove every --env variable (before adding the --env given)
    #[arg(long)]
    pub clear_env: bool,
    /// Remove one --env variable
    #[arg(long, value_name = "KEY")]
    pub unset_env: Vec<String>,
    /// Remove every --secret-env variable (before adding the ones given)
    #[arg(long)]
    pub clear_secret_env: bool,
    /// Remove one --secret-env variable
    #[arg(long, value_name = "KEY")]
    pub unset_secret_env: Vec<String>,
    /// Remove every dependency (before adding the --depends-on given)
    #[arg(long)]
    pub clear_deps: bool,
    /// Remove every mail recipient (before adding the --email given)
    #[arg(long)]
    pub clear_email: bool,
    /// Remove every notification channel (before adding the --notify-channel given)
    #[arg(long)]
    pub clear_notify_channel: bool,
    /// Remove every --retry-on code (retry any failure)
    #[arg(long)]
    pub clear_retry_on: bool,
    /// Remove the owner
    #[arg(long, conflicts_with = "owner")]
    pub clear_owner: bool,
    /// Remove the description
    #[arg(long, conflicts_with = "description")]
    pub clear_description: bool,
    /// Run as the registering user again
    #[arg(long, conflicts_with = "run_as")]
    pub clear_run_as: bool,
    /// Use the account's default logon type again
    #[arg(long, conflicts_with = "logon")]
    pub clear_logon: bool,
    /// Run on every host that schedules the task again (no host assignment)
    #[arg(long, conflicts_with = "hosts")]
    pub clear_hosts: bool,
    /// Let --env no longer override protected variables
    #[arg(long, conflicts_with = "allow_env_override")]
    pub no_allow_env_override: bool,
    /// Do not wake the computer to run the task
    #[arg(long, conflicts_with = "wake_to_run")]
    pub no_wake_to_run: bool,
    /// Do not start the task when the machine boots
    #[arg(long, conflicts_with = "at_boot")]
    pub no_at_boot: bool,
    /// Kill children started with CREATE_BREAKAWAY_FROM_JOB with the task again
    #[arg(long, conflicts_with = "allow_breakaway")]
    pub no_allow_breakaway: bool,
}

/// The optional fields shared by `add` and `edit`.
#[derive(Debug, Default, clap::Args)]
pub struct TaskFields {
    /// How the command runs [default: cmd on Windows, sh elsewhere]
    #[arg(long, value_name = "cmd|powershell|pwsh|sh|none")]
    pub shell: Option<String>,
    /// Absolute working directory [default: the orc home]
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Kill the whole process tree after this long: 1s..7d, or none / 0 [default: 1h]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub timeout: Option<String>,
    /// Same as --timeout none
    #[arg(long, conflicts_with = "timeout")]
    pub no_timeout: bool,
    /// Retries after a failure, 0..20 [default: 0]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub retries: Option<String>,
    /// Delay before a retry, 0s..24h [default: 60s]
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub retry_delay: Option<String>,
    /// Delay growth between retries [default: fixed]
    #[arg(long, value_name = "fixed|exponential")]
    pub backoff: Option<String>,
    /// Retry only these exit codes (repeatable, comma-separated, 0x hex allowed)
    #[arg(long, value_name = "CODES", allow_negative_numbers = true)]
    pub retry_on: Vec<String>,
    /// Environment variable for the command (repeatable)
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Environment variable filled from a vault credential at run time (repeatable)
    #[arg(long = "secret-env", value_name = "KEY=CREDENTIAL")]
    pub secret_env: Vec<String>,
    /// Allow --env to set PATH, SystemRoot, ComSpec, LD_PRELOAD and similar
    #[arg(long)]
    pub allow_env_override: bool,
    /// Dependency: file:PATH[?max_age=1h] url:URL tcp:HOST:PORT cmd:CMD[?timeout=30s] task:NAME[?within=24h]
    #[arg(long = "depends-on", value_name = "SPEC")]
    pub depends_on: Vec<String>,
    /// When a dependency is not met: skip (exit 0) or fail (exit 7) [default: skip]
    #[arg(long, value_name = "skip|fail")]
    pub on_unmet: Option<String>,
    /// When to send mail [default: the notify.default setting]
    #[arg(long, value_name = "failure|always|never|recovery|default")]
    pub notify: Option<String>,
    /// Mail only after this many consecutive failures, 1..1000 [default: 1]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub notify_after: Option<String>,
    /// Mail recipient (repeatable, at most 50) [default: the mail.to setting]
    #[arg(long = "email", value_name = "ADDR")]
    pub email: Vec<String>,
    /// Notification channel to alert (repeatable; `email` = the built-in mail) [default: the
    /// notify.channels setting]
    #[arg(long = "notify-channel", value_name = "NAME")]
    pub notify_channel: Vec<String>,
    /// Who owns the task (free text, 128 characters)
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// Description (1024 characters; shown in Task Scheduler)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Create the task disabled
    #[arg(long)]
    pub disabled: bool,
    /// A run due while the previous one runs [default: skip]
    #[arg(long, value_name = "skip|queue|parallel")]
    pub overlap: Option<String>,
    /// Starts missed while the machine was off [default: none]
    #[arg(long, value_name = "none|once")]
    pub catch_up: Option<String>,
    /// Account Task Scheduler runs the task as: SYSTEM, LOCAL SERVICE, NETWORK SERVICE,
    /// DOMAIN\gmsa$, DOMAIN\user, user@domain, user [default: run_as.default, else the
    /// registering user]
    #[arg(long, value_name = "USER|SYSTEM")]
    pub run_as: Option<String>,
    /// How the account logs on [default: s4u for the registering user, password for a named
    /// account]
    #[arg(long, value_name = "interactive|s4u|password")]
    pub logon: Option<String>,
    /// Wake the computer to run the task
    #[arg(long)]
    pub wake_to_run: bool,
    /// Also start the task when the machine boots, to run the latest slot missed while it was
    /// off (needs --catch-up once; registering it needs an administrator on Windows)
    #[arg(long)]
    pub at_boot: bool,
    /// Windows: let children started with CREATE_BREAKAWAY_FROM_JOB outlive the task's process
    /// tree (see docs/guide/running.md)
    #[arg(long)]
    pub allow_breakaway: bool,
    /// Fleet: the hosts and host groups the task runs on, comma-separated (`h1,h2,@group`;
    /// replaces the list) [default: every host that schedules it]
    #[arg(long, value_name = "HOSTS")]
    pub hosts: Option<String>,
    /// Fleet: run each slot once on any one of its hosts, or once on every one [default: any]
    #[arg(long, value_name = "any|all")]
    pub run_on: Option<String>,
}

impl TaskFields {
    fn into_patch(self, command: Option<String>, schedule: Option<String>) -> TaskPatch {
        let flag = |b: bool| b.then_some(true);
        TaskPatch {
            command,
            schedule,
            shell: self.shell,
            workdir: self.workdir,
            timeout: if self.no_timeout { Some("none".into()) } else { self.timeout },
            retries: self.retries,
            retry_delay: self.retry_delay,
            backoff: self.backoff,
            retry_on: self.retry_on,
            env: self.env,
            secret_env: self.secret_env,
            depends_on: self.depends_on,
            on_unmet: self.on_unmet,
            notify: self.notify,
            notify_after: self.notify_after,
            email: self.email,
            notify_channels: self.notify_channel,
            owner: self.owner,
            description: self.description,
            overlap: self.overlap,
            catch_up: self.catch_up,
            run_as: self.run_as,
            logon: self.logon,
            enabled: self.disabled.then_some(false),
            allow_env_override: flag(self.allow_env_override),
            wake_to_run: flag(self.wake_to_run),
            at_boot: flag(self.at_boot),
            allow_breakaway: flag(self.allow_breakaway),
            hosts: self.hosts,
            run_on: self.run_on,
            ..TaskPatch::default()
        }
    }
}

impl EditArgs {
    fn into_patch(self) -> (String, TaskPatch) {
        let mut p = self.fields.into_patch(self.command, self.schedule);
        if self.enabled {
            p.enabled = Some(true);
        }
        if self.no_allow_env_override {
            p.allow_env_override = Some(false);
        }
        if self.no_wake_to_run {
            p.wake_to_run = Some(false);
        }
        if self.no_at_boot {
            p.at_boot = Some(false);
        }
        if self.no_allow_breakaway {
            p.allow_breakaway = Some(false);
        }
        p.clear_workdir = self.clear_workdir;
        p.clear_env = self.clear_env;
        p.unset_env = self.unset_env;
        p.clear_secret_env = self.clear_secret_env;
        p.unset_secret_env = self.unset_secret_env;
        p.clear_deps = self.clear_deps;
        p.clear_email = self.clear_email;
        p.clear_notify_channels = self.clear_notify_channel;
        p.clear_retry_on = self.clear_retry_on;
        p.clear_owner = self.clear_owner;
        p.clear_description = self.clear_description;
        p.clear_run_as = self.clear_run_as;
        p.clear_logon = self.clear_logon;
        p.clear_hosts = self.clear_hosts;
        (self.name, p)
    }
}

fn last_run_of(ctx: &mut Context<'_>, name: &str) -> Result<Option<LastRun>> {
    let store = ctx.store()?;
    let runs = runs::last_per_task(store.conn()).map_err(|e| store.err("read last runs", e))?;
    Ok(crate::task::view::last_run_in(&runs, name))
}

pub fn run(args: TaskCommand, ctx: &mut Context<'_>) -> Result<i32> {
    match args {
        TaskCommand::Add(a) => add(a, ctx),
        TaskCommand::Edit(a) => edit(a, ctx),
        TaskCommand::Rm { name } => rm(&name, ctx),
        TaskCommand::Show { name } => show(&name, ctx),
        TaskCommand::List => list(ctx),
        TaskCommand::Enable { name } => set_enabled(&name, true, ctx),
        TaskCommand::Disable { name } => set_enabled(&name, false, ctx),
        TaskCommand::Export { output } => export(output.as_deref(), ctx),
        TaskCommand::Import { file, replace, dry_run } => import(&file, replace, dry_run, ctx),
    }
}

/// Prints the task object (with --json) or a one-line confirmation, plus a hint when the OS
/// scheduler holds an older copy of the task.
fn report_change(ctx: &mut Context<'_>, task: &StoredTask, message: &str) -> Result<i32> {
    if ctx.json {
        let last = last_run_of(ctx, &task.spec.name)?;
        ctx.print_json(&view(task, last))?;
        return Ok(0);
    }
    if ctx.verbosity >= 0 {
        ctx.print(message)?;
        let name = task.spec.name.clone();
        if repo::is_registered(ctx.store()?.conn(), &name)? {
            ctx.print(&format!(
                "note: {name} is registered with the OS scheduler; run `orc schedule --task {name}` to apply the change"
            ))?;
        }
    }
    Ok(0)
}

fn add(args: AddArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let name = args.name.clone();
    let spec = args.fields.into_patch(Some(args.command), Some(args.schedule)).build(&name)?;
    let command_line = ctx.command_line.clone();
    let stored = ctx.store()?.write(|tx| ops::add(tx, &spec, &command_line))?;
    if ctx.json {
        ctx.print_json(&view(&stored, None))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!(
            "added task {name}; run `orc schedule --task {name}` to register it with the OS scheduler"
        ))?;
    }
    Ok(0)
}

fn edit(args: EditArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let (name, patch) = args.into_patch();
    if patch.is_empty() {
        return Err(Error::Usage(
            "nothing to change: give at least one flag (see `orc task edit --help`)".into(),
        ));
    }
    let command_line = ctx.command_line.clone();
    let (task, changed) = ctx.store()?.write(|tx| ops::edit(tx, &name, &patch, &command_line))?;
    let message = if changed.is_empty() {
        format!("task {} unchanged", task.spec.name)
    } else {
        format!("updated task {} ({})", task.spec.name, changed.join(", "))
    };
    if changed.is_empty() && !ctx.json {
        if ctx.verbosity >= 0 {
            ctx.print(&message)?;
        }
        return Ok(0);
    }
    report_change(ctx, &task, &message)
}

fn rm(name: &str, ctx: &mut Context<'_>) -> Result<i32> {
    let command_line = ctx.command_line.clone();
    let (removed, registered) = ctx.store()?.write(|tx| ops::remove(tx, name, &command_line))?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "removed": removed.spec.name }))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!("removed task {}", removed.spec.name))?;
        if registered {
            ctx.print(&format!(
                "note: {} is still registered with the OS scheduler; run `orc schedule --all` to remove the registration",
                removed.spec.name
            ))?;
        }
    }
    Ok(0)
}

fn set_enabled(name: &str, enabled: bool, ctx: &mut Context<'_>) -> Result<i32> {
    let command_line = ctx.command_line.clone();
    let word = if enabled { "enabled" } else { "disabled" };
    let (task, changed) =
        ctx.store()?.write(|tx| ops::set_enabled(tx, name, enabled, &command_line))?;
    if !changed && !ctx.json {
        if ctx.verbosity >= 0 {
            ctx.print(&format!("task {} is already {word}", task.spec.name))?;
        }
        return Ok(0);
    }
    report_change(ctx, &task, &format!("{word} task {}", task.spec.name))
}

fn show(name: &str, ctx: &mut Context<'_>) -> Result<i32> {
    let task = repo::require(ctx.store()?.conn(), name)?;
    let last = last_run_of(ctx, &task.spec.name)?;
    if ctx.json {
        ctx.print_json(&view(&task, last))?;
        return Ok(0);
    }
    ctx.print_raw(&show::show_text(&task, last.as_ref()))?;
    Ok(0)
}

fn list(ctx: &mut Context<'_>) -> Result<i32> {
    let store = ctx.store()?;
    let conn = store.conn();
    let tasks = repo::list(conn)?;
    let runs = runs::last_per_task(conn).map_err(|e| store.err("read last runs", e))?;
    let last = |t: &StoredTask| crate::task::view::last_run_in(&runs, &t.spec.name);
    if ctx.json {
        let views: Vec<TaskView<'_>> = tasks.iter().map(|t| view(t, last(t))).collect();
        ctx.print_json(&views)?;
        return Ok(0);
    }
    if tasks.is_empty() {
        if ctx.verbosity >= 0 {
            ctx.print("no tasks (add one with `orc task add NAME --command … --schedule …`)")?;
        }
        return Ok(0);
    }
    // The HOSTS column appears once a task is assigned to hosts (fleet mode).
    let fleet = tasks.iter().any(|t| !t.spec.hosts.is_empty());
    let rows: Vec<Vec<String>> = tasks
        .iter()
        .map(|t| {
            let last_run = runs
                .get(&t.spec.name.to_ascii_lowercase())
                .map(|(status, start)| format!("{status} {}", crate::clock::to_local_human(*start)))
                .unwrap_or_else(|| "-".into());
            let mut row = vec![
                t.spec.name.clone(),
                yes_no(t.spec.enabled).into(),
                t.spec.schedule.clone(),
                truncate(&t.spec.command, LIST_COMMAND_WIDTH),
                last_run,
            ];
            if fleet {
                row.insert(3, show::hosts_label(&t.spec).unwrap_or_else(|| "*".into()));
            }
            row
        })
        .collect();
    let head: &[&str] = if fleet {
        &["NAME", "ENABLED", "SCHEDULE", "HOSTS", "COMMAND", "LAST RUN"]
    } else {
        &["NAME", "ENABLED", "SCHEDULE", "COMMAND", "LAST RUN"]
    };
    ctx.print_raw(&crate::render::table(head, &rows))?;
    Ok(0)
}

fn export(output: Option<&Path>, ctx: &mut Context<'_>) -> Result<i32> {
    let target = output.map(crate::fsx::output::target).transpose()?;
    let tasks = repo::list(ctx.store()?.conn())?;
    let doc = ExportDocument::new(tasks.iter().map(|t| &t.spec), crate::clock::now_utc());
    let (Some(path), Some(target)) = (output, target) else {
        ctx.print_json(&doc)?;
        return Ok(0);
    };
    if target == crate::fsx::output::OutputTarget::Stdout {
        ctx.print_json(&doc)?;
        return Ok(0);
    }
    let mut text = serde_json::to_string_pretty(&doc)
        .map_err(|e| Error::Failed(format!("cannot encode the export: {e}")))?;
    text.push('\n');
    ctx.write_output(&target, &text)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "exported": tasks.len(),
            "output": path.display().to_string(),
        }))?;
    } else if ctx.verbosity >= 0 {
        ctx.print(&format!("exported {} task(s) to {}", tasks.len(), path.display()))?;
    }
    Ok(0)
}

fn read_document(file: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let limit = transfer::MAX_DOCUMENT_BYTES as u64;
    let mut bytes = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io("read", "standard input", e))?;
    } else {
        if file.is_dir() {
            return Err(Error::invalid(
                "import file",
                file.display().to_string(),
                "is a directory; give a JSON document",
            ));
        }
        let f = std::fs::File::open(file).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::invalid("import file", file.display().to_string(), "no such file")
            } else {
                Error::io("read", file, e)
            }
        })?;
        f.take(limit + 1).read_to_end(&mut bytes).map_err(|e| Error::io("read", file, e))?;
    }
    if bytes.len() as u64 > limit {
        return Err(Error::invalid(
            "import file",
            file.display().to_string(),
            format!("larger than {} MiB", limit / (1024 * 1024)),
        ));
    }
    Ok(bytes)
}

fn import(file: &Path, replace: bool, dry_run: bool, ctx: &mut Context<'_>) -> Result<i32> {
    let source = file.display().to_string();
    let bytes = read_document(file)?;
    let text = transfer::decode_text(&bytes, &source)?;
    let incoming = transfer::parse_document(&text, &source)?;
    let command_line = ctx.command_line.clone();
    let check = |existing: &[StoredTask]| -> Result<Vec<transfer::PlanEntry>> {
        let plan = transfer::plan(existing, &incoming, replace)?;
        let changed: Vec<&str> = incoming.iter().map(|t| t.name.as_str()).collect();
        deps::check_graph(transfer::merged(existing, &incoming), &changed)?;
        Ok(plan)
    };
    let plan = if dry_run {
        let conn = ctx.store()?.conn();
        let existing = repo::list(conn)?;
        incoming.iter().try_for_each(|s| notify_channels::check_exist(conn, &s.notify_channels))?;
        incoming.iter().try_for_each(|s| crate::fleet::table::check_exist(conn, &s.hosts))?;
        check(&existing)?
    } else {
        ctx.store()?.write(|tx| {
            let existing = repo::list(tx)?;
            incoming
                .iter()
                .try_for_each(|s| notify_channels::check_exist(tx, &s.notify_channels))?;
            incoming.iter().try_for_each(|s| crate::fleet::table::check_exist(tx, &s.hosts))?;
            let plan = check(&existing)?;
            for (entry, spec) in plan.iter().zip(&incoming) {
                match entry.action {
                    ImportAction::Create => {
                        repo::insert(tx, spec, &command_line)?;
                    }
                    ImportAction::Replace => {
                        let current = repo::require(tx, &spec.name)?;
                        repo::update(tx, &current, spec, &command_line)?;
                    }
                    ImportAction::Unchanged => {}
                }
            }
            Ok::<_, Error>(plan)
        })?
    };
    let count = |a: ImportAction| plan.iter().filter(|e| e.action == a).count();
    let (created, replaced, unchanged) =
        (count(ImportAction::Create), count(ImportAction::Replace), count(ImportAction::Unchanged));
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "dry_run": dry_run,
            "plan": plan,
            "created": created,
            "replaced": replaced,
            "unchanged": unchanged,
        }))?;
        return Ok(0);
    }
    if ctx.verbosity >= 0 {
        let rows: Vec<Vec<String>> =
            plan.iter().map(|e| vec![e.action.as_str().to_string(), e.name.clone()]).collect();
        if !rows.is_empty() {
            ctx.print_raw(&crate::render::table(&["ACTION", "NAME"], &rows))?;
        }
        let summary = format!("{created} to create, {replaced} to replace, {unchanged} unchanged");
        if dry_run {
            ctx.print(&format!("dry run: {summary}; nothing was changed"))?;
        } else {
            ctx.print(&format!(
                "imported: {created} created, {replaced} replaced, {unchanged} unchanged; run \
                 `orc schedule --all` to register the changes"
            ))?;
        }
    }
    Ok(0)
}

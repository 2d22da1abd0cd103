//! `orc schedule`: reconcile the OS scheduler with the database; list; validate.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;

use serde::Serialize;
use zeroize::Zeroizing;

mod builtins;
mod list_out;
mod render;

use list_out::{ListRow, time_cell};

use crate::scheduler::schtasks::hresult::describe_result;

use super::Context;
use crate::error::{Error, Result};
use crate::fleet::assign;
use crate::paths::Paths;
use crate::scheduler::crontab::{Crontab, CrontabBackend};
use crate::scheduler::reconcile::{self, Action, EntryReport};
use crate::scheduler::registrations;
use crate::scheduler::schtasks::{Remote, Schtasks, SchtasksBackend, TaskFolder};
use crate::scheduler::{Backend, RenderEnv};
use crate::store::Store;
use crate::task::TaskSpec;

#[derive(Debug, clap::Args)]
#[command(group(
    clap::ArgGroup::new("mode").required(true).args(["task", "all", "list", "validate"])
))]
pub struct ScheduleArgs {
    /// Register (or update, or remove) one task's registration
    #[arg(long, value_name = "NAME")]
    pub task: Option<String>,
    /// Make the OS scheduler hold exactly the tasks of the database
    #[arg(long)]
    pub all: bool,
    /// Show the plan (with the full task XML under --json) and change nothing
    #[arg(long, conflicts_with_all = ["list", "validate"])]
    pub dry_run: bool,
    /// Re-register even registrations that look unchanged (e.g. after a run-as password change)
    #[arg(long, conflicts_with_all = ["list", "validate"])]
    pub force: bool,
    /// Show the database and the OS scheduler side by side
    #[arg(long)]
    pub list: bool,
    /// Check a task (definition, cron, dependencies, command, registration) without registering
    #[arg(long, value_name = "NAME")]
    pub validate: Option<String>,
    #[command(flatten)]
    pub remote: RemoteArgs,
}

/// Remote Task Scheduler (`schtasks /S /U /P`).
#[derive(Debug, Default, Clone, clap::Args)]
pub struct RemoteArgs {
    /// Work on the Task Scheduler of another Windows machine (schtasks /S)
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// Account to connect to --host as (schtasks /U); its password comes from the vault
    #[arg(long, value_name = "USER", requires = "host")]
    pub user: Option<String>,
    /// Vault credential holding the --user password
    #[arg(long, value_name = "CREDENTIAL", requires = "user")]
    pub credential: Option<String>,
}

pub fn run(args: ScheduleArgs, ctx: &mut Context<'_>) -> Result<i32> {
    if args.list {
        return list(&args.remote, ctx);
    }
    if let Some(name) = &args.validate {
        return validate(name, &args.remote, ctx);
    }
    let scope = match (&args.task, args.all) {
        (Some(name), false) => {
            crate::task::validate_name(name)?;
            Scope::Task(name.clone())
        }
        (None, true) => Scope::All,
        _ => return Err(Error::Usage("give either --task NAME or --all".into())),
    };
    reconcile_cmd(scope, args.dry_run, args.force, &args.remote, ctx)
}

/// Which tasks a reconcile covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Task(String),
}

impl Scope {
    fn covers(&self, task: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Task(n) => n.eq_ignore_ascii_case(task),
        }
    }
}

/// The one place orc gets a secret from the vault for scheduling (run-as passwords and
/// `--user` passwords). The value lives in a zeroizing buffer and is only ever passed to
/// schtasks as `/RP` or `/P`, never written to the task XML.
pub(crate) fn vault_secret(
    paths: &Paths,
    store: &Store,
    interactive: bool,
    name: &str,
) -> Result<Zeroizing<String>> {
    let secret = crate::vault::get(store, paths, interactive, name, crate::vault::Purpose::RunAs)?;
    Ok(Zeroizing::new(secret.expose_str().to_string()))
}

/// Builds the backend for this command: `ORC_BACKEND` else the platform's, local or `--host`.
pub(crate) fn open_backend(
    remote: &RemoteArgs,
    paths: &Paths,
    store: &Store,
    interactive: bool,
) -> Result<Box<dyn Backend>> {
    let kind = crate::scheduler::backend_kind()?;
    if kind == "crontab" {
        if remote.host.is_some() {
            return Err(Error::Usage(format!(
                "--host works only with the schtasks backend (this run uses {kind})"
            )));
        }
        let runner = Crontab::new(Crontab::locate()?);
        return Ok(Box::new(CrontabBackend::new(runner, &paths.home)));
    }
    let remote = match &remote.host {
        None => None,
        Some(host) => {
            crate::fleet::names::validate_target("--host", host)?;
            let password = match (&remote.user, &remote.credential) {
                (Some(_), Some(cred)) => Some(vault_secret(paths, store, interactive, cred)?),
                (Some(user), None) => {
                    return Err(Error::Usage(format!(
                        "--user {user} needs --credential NAME: the vault credential holding its \
                         password (orc never prompts for it or takes it on the command line)"
                    )));
                }
                _ => None,
            };
            Some(Remote { host: host.clone(), user: remote.user.clone(), password })
        }
    };
    let folder = TaskFolder::from_config(store.conn())?;
    let runner = Schtasks::new(Schtasks::locate()?, remote);
    Ok(Box::new(SchtasksBackend::new(runner, folder, paths.tmp_dir())))
}

/// `run_as.default` applies to every task that names no account; with `--host --user` the
/// tasks are registered by that user.
fn render_env<'a>(
    paths: &Paths,
    store: &Store,
    remote: &RemoteArgs,
    password_for: &'a dyn Fn(&str) -> Result<Zeroizing<String>>,
) -> Result<RenderEnv<'a>> {
    let mut env = RenderEnv::new(crate::scheduler::orc_exe()?, paths.home.clone(), password_for);
    env.run_as_default = crate::scheduler::run_as_default(store.conn())?;
    if let Some(u) = &remote.user {
        env.registering_user = Some(u.clone());
    }
    Ok(env)
}

fn reconcile_cmd(
    scope: Scope,
    dry_run: bool,
    force: bool,
    remote: &RemoteArgs,
    ctx: &mut Context<'_>,
) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let command_line = ctx.command_line.clone();
    if !dry_run && remote.host.is_none() {
        crate::store::location::check_registrable(&paths.home, ctx.store_arg.as_deref())?;
    }
    let store = ctx.store()?;
    if !dry_run && remote.host.is_none() {
        crate::notify::channels::eventlog::ensure_source(store.conn());
    }
    // The daily report (report.daily_time) and the watch (watch.interval) are built-in tasks
    // registered with the others; they are written to the database once the scheduler has
    // taken the plan (`sync_builtins` below), so a refused schedule changes nothing.
    let wanted = builtins::sync(store, &paths.home, &command_line, false)?;
    let all_tasks = builtins::with_builtins(registrations::load_tasks(store)?, wanted);
    // Fleet: the target host's tasks and the unassigned ones; the others are removed there.
    let on_host = remote.host.clone().unwrap_or_else(crate::fleet::this_host);
    let unknown = assign::check_target(store.conn(), &all_tasks, &on_host, remote.host.is_some())?;
    if let Some(w) = unknown {
        tracing::warn!("{w}");
    }
    let (all_tasks, elsewhere) = assign::split_for_host(store.conn(), all_tasks, &on_host)?;
    let in_scope: Vec<TaskSpec> = all_tasks.into_iter().filter(|t| scope.covers(&t.name)).collect();
    let mut backend = open_backend(remote, &paths, store, interactive)?;
    let (kind, host) = (backend.kind(), backend.host().to_string());

    let store_ref: &Store = store;
    let secrets = |name: &str| vault_secret(&paths, store_ref, interactive, name);
    let env = render_env(&paths, store_ref, remote, &secrets)?;
    let mut rendered = render::render_all(backend.as_ref(), &in_scope, &env);
    if rendered.desired.is_empty()
        && let Some(e) = rendered.take_error()
    {
        // No task in scope can be built (the task asked for, or a cause shared by all, such as
        // the orc executable's path): nothing is asked of the OS scheduler.
        return Err(e);
    }
    let desired = std::mem::take(&mut rendered.desired);

    let history: Vec<_> = registrations::load_history(store, kind, &host)?
        .into_iter()
        .filter(|h| scope.covers(&h.task))
        .collect();
    let known =
        in_scope.iter().map(|t| t.name.clone()).chain(history.iter().map(|h| h.task.clone()));
    let (all_registered, warning) = registrations::read_back(backend.as_mut(), known)?;
    let (failed_registered, registered): (Vec<_>, Vec<_>) = all_registered
        .into_iter()
        .filter(|r| scope.covers(&r.task))
        .partition(|r| rendered.is_failed(&r.task));
    let failed_rows = rendered.failed_rows(backend.as_ref(), &failed_registered);
    if let Scope::Task(name) = &scope
        && in_scope.is_empty()
        && registered.is_empty()
    {
        return Err(match elsewhere.iter().find(|t| t.name.eq_ignore_ascii_case(name)) {
            Some(t) => assign::not_assigned(t, &on_host),
            None => Error::NotFound { what: "task", name: name.clone() },
        });
    }
    let history: Vec<_> = history.into_iter().filter(|h| !rendered.is_failed(&h.task)).collect();
    let mut plan = crate::scheduler::plan(desired, registered, history);
    if force {
        for e in plan.entries.iter_mut().filter(|e| e.action == Action::Unchanged) {
            e.action = Action::Update;
            e.differences.push("forced".into());
        }
    }
    for e in plan.entries.iter_mut().filter(|e| e.drift && e.action == Action::Update) {
        let details = backend.drift_details(e);
        reconcile::settle_drift(e, details, backend.details_are_semantic());
    }
    let target = reconcile::target_name(kind, &host);
    // What schtasks cannot register (a gMSA): refuse before changing anything.
    if let Some(text) = (plan.changes())
        .filter(|(_, e)| e.action != Action::Delete)
        .find_map(|(_, e)| e.desired.as_ref().and_then(|d| d.manual.clone()))
        .filter(|_| !dry_run)
    {
        return Err(Error::Usage(text));
    }

    print_warning(ctx, &warning)?;
    if dry_run {
        let mut rows = reconcile::with_read_back(reconcile::report(&plan, None), &warning);
        rows.extend(failed_rows);
        if ctx.json {
            ctx.print_json(&rows)?;
        } else if ctx.verbosity >= 0 {
            print_rows(ctx, &rows, true)?;
            ctx.print(&format!(
                "dry run: {} — nothing was changed",
                reconcile::summary(&rows, &target)
            ))?;
        }
        return rendered.take_error().map_or(Ok(0), Err);
    }

    // The home admits the tasks' run-as accounts (issue 11 items 3 and 4).
    crate::fsx::acl::secure_home_for_tasks(&paths.home, ctx.store()?)?;
    if let Some(advice) = crate::vault::machine::store_schedule_advice(ctx.store()?, &paths)? {
        tracing::warn!("{advice}");
    }
    let total = plan.changes().count();
    let bar = progress_bar(total, ctx);
    let mut on_progress = |done: usize, _total: usize| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    };
    let report = backend.apply(&plan, &mut on_progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let command_line = ctx.command_line.clone();
    let store = ctx.store()?;
    registrations::record(store, kind, &host, &plan, &report.outcomes, &command_line)?;
    if builtins::NAMES.iter().any(|n| scope.covers(n)) {
        builtins::sync(store, &paths.home, &command_line, true)?;
    }
    let mut rows =
        reconcile::with_read_back(reconcile::report(&plan, Some(&report.outcomes)), &warning);
    rows.extend(failed_rows);
    let mut outcomes = report.outcomes;
    let failure = reconcile::first_failure(&mut outcomes);
    if ctx.json {
        ctx.print_json(&rows)?;
    } else if ctx.verbosity >= 0 {
        print_rows(ctx, &rows, ctx.verbosity > 0)?;
        ctx.print(&reconcile::summary(&rows, &target))?;
    }
    // An OS scheduler failure first; else the tasks that could not be built (the others were
    // registered).
    match (failure, rendered.take_error()) {
        (Some(e), _) => Err(Error::Scheduler(e)),
        (None, Some(e)) => Err(e),
        (None, None) => Ok(0),
    }
}

/// The read-back warning, as a line of the human output.
fn print_warning(ctx: &mut Context<'_>, warning: &Option<String>) -> Result<()> {
    match warning {
        Some(w) if !ctx.json => ctx.print(&format!("warning: {w}")),
        _ => Ok(()),
    }
}

fn print_rows(ctx: &mut Context<'_>, rows: &[EntryReport], show_unchanged: bool) -> Result<()> {
    let shown: Vec<&EntryReport> =
        rows.iter().filter(|r| show_unchanged || r.action != Action::Unchanged).collect();
    if shown.is_empty() {
        return Ok(());
    }
    let table: Vec<Vec<String>> = shown
        .iter()
        .map(|r| {
            let mut note = Vec::new();
            if r.drift {
                note.push(format!("DRIFT: {} changed outside orc", r.differences.join(", ")));
            } else if r.action == Action::Update {
                note.push(r.differences.join(", "));
            }
            if r.exact == Some(false) {
                note.push("inexact: orc execute filters extra slots".into());
            }
            if r.enabled == Some(false) {
                note.push("disabled".into());
            }
            if let Some(e) = &r.error {
                note.push(e.clone());
            }
            vec![
                r.task.clone(),
                r.action.as_str().into(),
                r.result.into(),
                r.path.clone(),
                note.join("; "),
            ]
        })
        .collect();
    ctx.print_raw(&crate::render::table(
        &["TASK", "ACTION", "RESULT", "REGISTRATION", "NOTE"],
        &table,
    ))?;
    for r in shown.iter().filter(|r| !r.details.is_empty()) {
        ctx.print(&format!("{} was changed outside orc:", r.task))?;
        for d in &r.details {
            ctx.print(&format!("  {d}"))?;
        }
    }
    Ok(())
}

fn progress_bar(total: usize, ctx: &Context<'_>) -> Option<indicatif::ProgressBar> {
    const LONG_RUN: usize = 20;
    if total < LONG_RUN || ctx.json || ctx.verbosity < 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} registering {pos}/{len} {wide_bar} {eta}",
    ) {
        bar.set_style(style);
    }
    Some(bar)
}

/// The schtasks columns of a `schedule --list` row.
#[derive(Debug, Serialize)]
struct SchtasksColumns {
    enabled: Option<bool>,
    /// State as Windows prints it (localized words passed through).
    state: Option<String>,
    /// Next run from orc's cron engine (ISO 8601 with offset).
    next_run: Option<String>,
    /// Last run time exactly as Windows prints it (locale format; never parsed).
    last_run: Option<String>,
    last_result: Option<i64>,
    last_result_hex: Option<String>,
    last_result_meaning: Option<&'static str>,
}

fn list(remote: &RemoteArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let store = ctx.store()?;
    let tasks = registrations::load_tasks(store)?;
    let last_runs = last_runs(store)?;
    let mut backend = open_backend(remote, &paths, store, interactive)?;
    // The password is not part of what is compared: do not touch the vault to list.
    let no_secret = |_: &str| -> Result<Zeroizing<String>> { Ok(Zeroizing::new(String::new())) };
    let env = render_env(&paths, store, remote, &no_secret)?;
    if backend.kind() == "crontab" {
        return list_crontab(backend.as_mut(), &env, &tasks, &last_runs, ctx);
    }
    let (registered, warning) =
        registrations::read_back(backend.as_mut(), tasks.iter().map(|t| t.name.clone()))?;
    print_warning(ctx, &warning)?;
    let now = crate::clock::now();
    let (regs, names) = by_task(&registered, &tasks);

    let mut rows = Vec::new();
    for spec in &tasks {
        let reg = regs.get(&spec.name.to_ascii_lowercase()).copied();
        let desired = backend.render(spec, &env).ok().flatten();
        let in_sync = list_out::in_sync(reg, desired.as_ref());
        let next_run = if reg.is_some() {
            spec.next_run(&now)
                .at()
                .map(|t| crate::clock::to_local_iso(t.with_timezone(&chrono::Utc)))
        } else {
            None
        };
        let last = last_of(&last_runs, &spec.name);
        let path = backend.path_of(&spec.name);
        rows.push(list_row(
            &spec.name,
            true,
            reg,
            in_sync,
            path,
            Some(spec.enabled),
            next_run,
            last,
        ));
    }
    for r in registered.iter().filter(|r| !names.contains(&r.task.to_ascii_lowercase())) {
        let path = r.path.clone();
        rows.push(list_row(&r.task, false, Some(r), Some(false), path, None, None, (None, None)));
    }

    let headers = [
        "TASK",
        "REGISTERED",
        "STATE",
        "NEXT RUN",
        "LAST RUN (Windows)",
        "LAST RESULT",
        "ORC LAST RUN",
    ];
    list_out::print(ctx, &rows, &headers, "no tasks in the database and none registered", |r| {
        let r = &r.columns;
        let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        let result = match (r.last_result, &r.last_result_hex, r.last_result_meaning) {
            (None, _, _) => "-".to_string(),
            (Some(v), Some(h), Some(m)) => format!("{v} ({h}: {m})"),
            (Some(v), Some(h), None) => format!("{v} ({h})"),
            (Some(v), None, Some(m)) => format!("{v} ({m})"),
            (Some(v), None, None) => v.to_string(),
        };
        vec![dash(&r.state), time_cell(r.next_run.as_deref()), dash(&r.last_run), result]
    })
}

/// A schtasks row of `schedule --list`: the registration as read back, if any, next to the
/// database.
#[allow(clippy::too_many_arguments)]
fn list_row(
    task: &str,
    in_database: bool,
    reg: Option<&crate::scheduler::Registered>,
    in_sync: Option<bool>,
    path: String,
    enabled: Option<bool>,
    next_run: Option<String>,
    orc_last: (Option<String>, Option<String>),
) -> ListRow<SchtasksColumns> {
    let last_result = reg.and_then(|r| r.last_result);
    let (hex, meaning) = last_result.map(describe_result).unwrap_or((None, None));
    let path = reg.map(|r| r.path.clone()).unwrap_or(path);
    let columns = SchtasksColumns {
        enabled,
        state: reg.and_then(|r| r.status.clone()),
        next_run,
        last_run: reg.and_then(|r| r.last_run.clone()),
        last_result,
        last_result_hex: hex,
        last_result_meaning: meaning,
    };
    ListRow::new(task, in_database, reg.is_some(), in_sync, path, orc_last, columns)
}

/// (task, status, start ISO) of each task's latest run.
/// The last run's status and start of each task, keyed by lower-case name.
type LastRuns = HashMap<String, (String, String)>;

fn last_runs(store: &Store) -> Result<LastRuns> {
    Ok(crate::exec::runs::last_per_task(store.conn())
        .map_err(|e| store.err("read last runs", e))?
        .into_iter()
        .map(|(task, (status, start))| {
            (task.to_ascii_lowercase(), (status, crate::clock::to_local_iso(start)))
        })
        .collect())
}

fn last_of(last_runs: &LastRuns, task: &str) -> (Option<String>, Option<String>) {
    last_runs
        .get(&task.to_ascii_lowercase())
        .map_or((None, None), |(s, st)| (Some(s.clone()), Some(st.clone())))
}

/// The registrations by lower-case task name, and the lower-case names of the tasks: the
/// list joins thousands of tasks with one lookup each, not a scan.
fn by_task<'a>(
    registered: &'a [crate::scheduler::Registered],
    tasks: &[TaskSpec],
) -> (HashMap<String, &'a crate::scheduler::Registered>, HashSet<String>) {
    let regs = registered.iter().map(|r| (r.task.to_ascii_lowercase(), r)).collect();
    (regs, tasks.iter().map(|t| t.name.to_ascii_lowercase()).collect())
}

fn validate(name: &str, remote: &RemoteArgs, ctx: &mut Context<'_>) -> Result<i32> {
    crate::task::validate_name(name)?;
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let store = ctx.store()?;
    let tasks = registrations::load_tasks(store)?;
    let spec = tasks
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| Error::NotFound { what: "task", name: name.to_string() })?;
    let names: Vec<String> = tasks.iter().map(|t| t.name.clone()).collect();
    let backend = open_backend(remote, &paths, store, interactive)?;
    let store_ref: &Store = store;
    let secrets = |c: &str| vault_secret(&paths, store_ref, interactive, c);
    let env = render_env(&paths, store_ref, remote, &secrets)?;
    let now = crate::clock::now().naive_local();
    let report = crate::scheduler::validate::validate(&spec, &names, backend.as_ref(), &env, now);

    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        ctx.print(&format!("task {} → {} ({})", report.task, report.path, report.backend))?;
        for c in &report.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            let mut lines = c.detail.iter();
            ctx.print(&format!(
                "  {mark} {:<13} {}",
                c.check,
                lines.next().map(String::as_str).unwrap_or("")
            ))?;
            for l in lines {
                ctx.print(&format!("       {:<13} {l}", ""))?;
            }
        }
        for w in &report.warnings {
            ctx.print(&format!("  note: {w}"))?;
        }
        if ctx.verbosity > 0
            && let Some(d) = &report.definition
        {
            ctx.print(d)?;
        }
    }
    if report.ok {
        if !ctx.json {
            ctx.print("valid: ready to schedule")?;
        }
        Ok(0)
    } else {
        Err(Error::Usage(format!(
            "task {} has {} problem(s): {}",
            report.task,
            report.problems.len(),
            report.problems.join("; ")
        )))
    }
}

/// The crontab columns of a `schedule --list` row.
#[derive(Debug, Serialize)]
struct CrontabColumns {
    /// As registered when registered (a live line, or a `# disabled:` comment), else as in
    /// the database.
    enabled: Option<bool>,
    enabled_in_database: Option<bool>,
    /// The schedule as it stands in the crontab.
    schedule: Option<String>,
    schedule_in_database: Option<String>,
    /// Next run from orc's cron engine for the registered schedule (ISO 8601 with offset).
    next_run: Option<String>,
}

/// `orc schedule --list` for the crontab backend: the block's lines next to the database.
fn list_crontab(
    backend: &mut dyn Backend,
    env: &RenderEnv<'_>,
    tasks: &[TaskSpec],
    last_runs: &LastRuns,
    ctx: &mut Context<'_>,
) -> Result<i32> {
    let registered = backend.registered()?;
    let (regs, names) = by_task(&registered, tasks);
    let now = crate::clock::now();
    let next_of = |schedule: &str| {
        crate::cron::CronExpr::parse(schedule)
            .ok()
            .and_then(|e| e.next_runs(&now, 1).into_iter().next())
            .map(|t| crate::clock::to_local_iso(t.with_timezone(&chrono::Utc)))
    };
    let mut rows = Vec::new();
    for spec in tasks {
        let reg = regs.get(&spec.name.to_ascii_lowercase()).copied();
        let desired = backend.render(spec, env).ok().flatten();
        let in_sync = list_out::in_sync(reg, desired.as_ref());
        let enabled = reg.and_then(|r| r.seen.enabled).unwrap_or(spec.enabled);
        let schedule = reg.and_then(|r| r.schedule.clone());
        let next_run = match (&schedule, enabled && reg.is_some()) {
            (Some(s), true) => next_of(s),
            _ => None,
        };
        let columns = CrontabColumns {
            enabled: Some(enabled),
            enabled_in_database: Some(spec.enabled),
            schedule,
            schedule_in_database: Some(spec.schedule.clone()),
            next_run,
        };
        let (path, last) = (backend.path_of(&spec.name), last_of(last_runs, &spec.name));
        rows.push(ListRow::new(&spec.name, true, reg.is_some(), in_sync, path, last, columns));
    }
    for r in registered.iter().filter(|r| !names.contains(&r.task.to_ascii_lowercase())) {
        let enabled = r.seen.enabled.unwrap_or(true);
        let columns = CrontabColumns {
            enabled: Some(enabled),
            enabled_in_database: None,
            schedule: r.schedule.clone(),
            schedule_in_database: None,
            next_run: if enabled { r.schedule.as_deref().and_then(next_of) } else { None },
        };
        let (path, last) = (r.path.clone(), last_of(last_runs, &r.task));
        rows.push(ListRow::new(&r.task, false, true, Some(false), path, last, columns));
    }
    let headers =
        ["TASK", "REGISTERED", "ENABLED", "SCHEDULE (crontab)", "NEXT RUN", "LAST RUN (orc)"];
    let none = "no tasks in the database and none in this home's crontab block";
    list_out::print(ctx, &rows, &headers, none, |r| {
        let (registered, r) = (r.registered, &r.columns);
        let enabled = match (r.enabled, registered) {
            (Some(true), _) => "yes",
            (Some(false), true) => "no (commented out)",
            (Some(false), false) => "no",
            (None, _) => "-",
        };
        vec![
            enabled.to_string(),
            r.schedule.clone().unwrap_or_else(|| "-".into()),
            time_cell(r.next_run.as_deref()),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_results_are_explained() {
        assert_eq!(describe_result(0), (None, Some("success")));
        assert_eq!(describe_result(1), (None, None));
        assert_eq!(describe_result(267_011), (Some("0x00041303".into()), Some("has not run yet")));
        assert_eq!(
            describe_result(-2_147_024_894),
            (Some("0x80070002".into()), Some("file not found"))
        );
        assert_eq!(
            describe_result(-1_073_741_510),
            (Some("0xC000013A".into()), Some("interrupted (Ctrl-C or console closed)"))
        );
        assert_eq!(describe_result(3_221_225_786), describe_result(-1_073_741_510));
    }
}

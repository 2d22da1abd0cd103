//! The command line: argument definitions, dispatch, and the single place errors are
//! rendered and turned into exit codes. One file per subcommand.

pub mod channel;
pub mod completions;
pub mod config;
pub mod configure;
pub mod credential;
pub mod cron;
pub mod dashboard;
pub mod db;
pub mod doctor;
pub mod execute;
pub mod group;
pub mod history;
pub mod home;
pub mod host;
pub mod migrate;
pub mod notify;
pub mod report;
pub mod schedule;
pub mod status;
pub mod task;
mod terminal;
pub mod token;
pub mod uninstall;
pub mod unschedule;
pub mod version;
pub mod watch;
pub mod why;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde::Serialize;

use crate::error::{Error, Result, exit};
use crate::paths::Paths;
use crate::store::Store;

/// orc: cron-scheduled jobs on Windows Task Scheduler (and crontab), with dependencies,
/// retries, timeouts, history, secrets and mail — and no resident daemon.
#[derive(Debug, Parser)]
#[command(name = "orc", version, about, max_term_width = 100)]
pub struct Cli {
    /// Data directory (database, logs, run output) [env: ORC_HOME]
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// The database: `sqlite` (the home's orc.db) or a PostgreSQL URL shared by a fleet;
    /// default: the home's store.conf, else sqlite [env: ORC_STORE]
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,
    /// Print exactly one JSON document on stdout (errors as JSON on stderr)
    #[arg(long, global = true)]
    pub json: bool,
    /// More diagnostics on stderr (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum Command {
    /// Add, change, remove, list, export and import tasks
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Register tasks with the OS scheduler (reconcile), list or validate registrations
    Schedule(schedule::ScheduleArgs),
    /// Remove tasks from the OS scheduler
    Unschedule(unschedule::UnscheduleArgs),
    /// Run a task now (what Task Scheduler and cron start with --scheduled)
    Execute(execute::ExecuteArgs),
    /// Past runs, newest first
    History(history::HistoryArgs),
    /// One row per task: state, last run, next run
    Status(status::StatusArgs),
    /// Explain cron expressions, list their next runs, show their Task Scheduler triggers
    #[command(subcommand)]
    Cron(cron::CronCommand),
    /// Interactive setup wizard (or non-interactive with flags)
    Configure(configure::ConfigureArgs),
    /// Read and change settings
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Store, list and remove secrets in the encrypted vault
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// Bring tasks, history and settings over from the legacy Python orchestrator
    Migrate(migrate::MigrateArgs),
    /// Reports (daily HTML summary)
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Mail and notification outbox, test messages
    #[command(subcommand)]
    Notify(notify::NotifyCommand),
    /// Notification channels: webhook, Teams, Slack, email, event log
    #[command(subcommand)]
    Channel(channel::ChannelCommand),
    /// Fleet: the hosts tasks can be assigned to (--hosts) and their heartbeats
    #[command(subcommand)]
    Host(host::HostCommand),
    /// Fleet: host groups, named by tasks as --hosts @GROUP
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Database maintenance: backup, restore, check, prune
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Web dashboard and REST API
    ///
    /// Serves the dashboard and the REST API (/api/v1) on http://127.0.0.1:5000/. On loopback
    /// anyone local may read unless dashboard.require_login is set; every change needs a token
    /// (orc token create) or a signed-in browser session. Beyond loopback (--allow-remote)
    /// everything needs a token, over TLS or with --insecure-http. Stop it with Ctrl+C.
    Dashboard(dashboard::DashboardArgs),
    /// API tokens for the dashboard's REST API and sign-in
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Shell completion scripts
    Completions(completions::CompletionsArgs),
    /// Check the installation: scheduler, service, permissions, database, vault, mail, drift…
    ///
    /// Each check is ok, warn or fail with a one-line detail and its fix. Exit code 0 when
    /// nothing fails, 1 when something does.
    Doctor(doctor::DoctorArgs),
    /// Explain a task's last run, or the run that did not happen, from every source
    Why(why::WhyArgs),
    /// The dead-man's switch: find missed, late and runaway runs and scheduler problems,
    /// alert once, remind, and send one recovery (exit 1 while incidents are open)
    Watch(watch::WatchArgs),
    /// The data directory: create and secure it
    #[command(subcommand)]
    Home(home::HomeCommand),
    /// Remove every registration of this home from the OS scheduler, then the home itself
    Uninstall(uninstall::UninstallArgs),
}

/// What every command gets: resolved options, the output stream and lazy access to the store.
pub struct Context<'a> {
    /// `--json` was given.
    pub json: bool,
    /// -1 quiet, 0 normal, 1+ verbose.
    pub verbosity: i8,
    /// Standard output (tests capture it).
    pub out: &'a mut dyn Write,
    /// Standard input is a terminal (interactive prompts allowed).
    pub interactive: bool,
    /// The full command line, for the audit log.
    pub command_line: String,
    home_arg: Option<PathBuf>,
    /// `--store`, if given.
    pub store_arg: Option<String>,
    paths: Option<Paths>,
    store: Option<Store>,
}

impl<'a> Context<'a> {
    /// A context for running commands programmatically.
    pub fn new(out: &'a mut dyn Write, home: Option<PathBuf>, json: bool) -> Context<'a> {
        Context {
            json,
            verbosity: 0,
            out,
            interactive: false,
            command_line: String::new(),
            home_arg: home,
            store_arg: None,
            paths: None,
            store: None,
        }
    }

    /// The resolved data directory.
    pub fn paths(&mut self) -> Result<&Paths> {
        if self.paths.is_none() {
            self.paths = Some(Paths::resolve(self.home_arg.as_deref())?);
        }
        Ok(self.paths.as_ref().expect("set above"))
    }

    /// The store, opened (and migrated) on first use.
    pub fn store(&mut self) -> Result<&mut Store> {
        if self.store.is_none() {
            let home = self.paths()?.home.clone();
            self.store = Some(Store::open_with(&home, self.store_arg.as_deref())?);
        }
        Ok(self.store.as_mut().expect("set above"))
    }

    /// Writes one JSON document to stdout.
    pub fn print_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::Failed(format!("cannot encode JSON output: {e}")))?;
        self.print(&text)
    }

    /// Prints a list the way the `list` commands do: with `--json` the items as they are;
    /// none → the `empty` line (how to add one); else a table of `headers`, a row per item.
    pub fn print_list<T: Serialize>(
        &mut self,
        items: &[T],
        empty: &str,
        headers: &[&str],
        row: impl Fn(&T) -> Vec<String>,
    ) -> Result<()> {
        if self.json {
            return self.print_json(items);
        }
        if items.is_empty() {
            return self.print(empty);
        }
        let rows: Vec<Vec<String>> = items.iter().map(row).collect();
        self.print_raw(&crate::render::table(headers, &rows))
    }

    /// Writes text to stdout followed by a newline.
    pub fn print(&mut self, text: &str) -> Result<()> {
        writeln!(self.out, "{text}").map_err(|e| Error::io("write", "standard output", e))
    }

    /// Writes text to stdout as is.
    pub fn print_raw(&mut self, text: &str) -> Result<()> {
        write!(self.out, "{text}").map_err(|e| Error::io("write", "standard output", e))
    }

    /// Writes a document to an `--output` target (classified first with
    /// [`crate::fsx::output::target`]): `-` is standard output, files follow its rules.
    pub fn write_output(
        &mut self,
        target: &crate::fsx::output::OutputTarget,
        text: &str,
    ) -> Result<()> {
        match target {
            crate::fsx::output::OutputTarget::Stdout => self.print_raw(text),
            t => crate::fsx::output::write_file(t, text.as_bytes()),
        }
    }
}

/// Runs orc with these arguments and returns the process exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> i32 {
    let args: Vec<OsString> = args.into_iter().collect();
    let json_requested = args.iter().any(|a| a == "--json");
    let colour = terminal::Colour::from_env();
    let cli = match terminal::parse(&args, colour) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e, json_requested),
    };
    init_tracing(&cli, colour);
    crate::vault::install_prompt(Box::new(terminal::TerminalPrompt));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut ctx = Context {
        json: cli.json,
        verbosity: if cli.quiet { -1 } else { cli.verbose.min(3) as i8 },
        out: &mut out,
        interactive: std::io::stdin().is_terminal(),
        command_line: args.iter().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
        home_arg: cli.home.clone(),
        store_arg: cli.store.clone(),
        paths: None,
        store: None,
    };
    let result = dispatch(cli.command, &mut ctx);
    let _ = ctx.out.flush();
    match result {
        Ok(code) => code,
        Err(e) => render_error(&e, cli.json),
    }
}

/// Runs one parsed command.
pub fn dispatch(command: Command, ctx: &mut Context<'_>) -> Result<i32> {
    match command {
        Command::Task(c) => task::run(c, ctx),
        Command::Schedule(a) => schedule::run(a, ctx),
        Command::Unschedule(a) => unschedule::run(a, ctx),
        Command::Execute(a) => execute::run(a, ctx),
        Command::History(a) => history::run(a, ctx),
        Command::Status(a) => status::run(a, ctx),
        Command::Cron(c) => cron::run(c, ctx),
        Command::Configure(a) => configure::run(a, ctx),
        Command::Config(c) => config::run(c, ctx),
        Command::Credential(c) => credential::run(c, ctx),
        Command::Migrate(a) => migrate::run(a, ctx),
        Command::Report(c) => report::run(c, ctx),
        Command::Notify(c) => notify::run(c, ctx),
        Command::Channel(c) => channel::run(c, ctx),
        Command::Host(c) => host::run(c, ctx),
        Command::Group(c) => group::run(c, ctx),
        Command::Db(c) => db::run(c, ctx),
        Command::Dashboard(a) => dashboard::run(a, ctx),
        Command::Token(c) => token::run(c, ctx),
        Command::Completions(a) => completions::run(a, ctx),
        Command::Doctor(a) => doctor::run(a, ctx),
        Command::Why(a) => why::run(a, ctx),
        Command::Watch(a) => watch::run(a, ctx),
        Command::Home(c) => home::run(c, ctx),
        Command::Uninstall(a) => uninstall::run(a, ctx),
    }
}

/// Renders an error on stderr (one line, or one JSON object) and returns its exit code.
#[allow(clippy::print_stderr)]
pub fn render_error(e: &Error, json: bool) -> i32 {
    if let Error::Io(crate::error::IoFailure { source, .. }) = e
        && source.kind() == std::io::ErrorKind::BrokenPipe
    {
        return exit::SUCCESS;
    }
    let message = one_line(&e.to_string());
    if json {
        let doc = serde_json::json!({ "error": { "kind": e.kind(), "message": message } });
        eprintln!("{doc}");
    } else {
        eprintln!("error: {message}");
    }
    e.exit_code()
}

fn one_line(s: &str) -> String {
    s.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

#[allow(clippy::print_stderr, clippy::print_stdout)]
fn clap_error(e: clap::Error, json: bool) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            if json && e.kind() == ErrorKind::DisplayVersion {
                let doc = serde_json::to_string_pretty(&version::info()).unwrap_or_default();
                println!("{doc}");
                return exit::SUCCESS;
            }
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                exit::USAGE
            } else {
                exit::SUCCESS
            }
        }
        _ => {
            let message = terminal::usage_message(&e);
            if json {
                let doc = serde_json::json!({ "error": { "kind": "usage", "message": message } });
                eprintln!("{doc}");
            } else {
                eprintln!("error: {message} (see `orc --help` or `orc <command> --help`)");
            }
            exit::USAGE
        }
    }
}

fn init_tracing(cli: &Cli, colour: terminal::Colour) {
    use tracing_subscriber::EnvFilter;
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = crate::env_vars::get(crate::env_vars::ORC_LOG)
        .and_then(|v| EnvFilter::try_new(v.to_string_lossy()).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour.stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

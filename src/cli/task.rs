//! `orc task …`: add, edit, remove, show, list, enable, disable, export, import.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum TaskCommand {
    /// Add a task
    Add(AddArgs),
    /// Change a task (only the flags given change)
    Edit(EditArgs),
    /// Remove a task
    Rm { name: String },
    /// Show one task
    Show { name: String },
    /// List tasks
    List,
    /// Enable a task
    Enable { name: String },
    /// Disable a task
    Disable { name: String },
    /// Write every task as a versioned JSON document
    Export {
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Read tasks from an export document
    Import {
        file: std::path::PathBuf,
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct AddArgs {
    pub name: String,
    #[arg(long)]
    pub command: String,
    #[arg(long)]
    pub schedule: String,
    #[command(flatten)]
    pub fields: TaskFields,
}

#[derive(Debug, clap::Args)]
pub struct EditArgs {
    pub name: String,
    #[arg(long)]
    pub command: Option<String>,
    #[arg(long)]
    pub schedule: Option<String>,
    #[command(flatten)]
    pub fields: TaskFields,
}

/// The optional fields shared by `add` and `edit`.
#[derive(Debug, Default, clap::Args)]
pub struct TaskFields {
    #[arg(long)]
    pub shell: Option<String>,
    #[arg(long)]
    pub workdir: Option<String>,
    #[arg(long)]
    pub timeout: Option<String>,
    #[arg(long)]
    pub retries: Option<String>,
    #[arg(long)]
    pub retry_delay: Option<String>,
    #[arg(long)]
    pub backoff: Option<String>,
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    #[arg(long = "secret-env", value_name = "KEY=CREDENTIAL")]
    pub secret_env: Vec<String>,
    #[arg(long = "depends-on", value_name = "SPEC")]
    pub depends_on: Vec<String>,
    #[arg(long)]
    pub notify: Option<String>,
    #[arg(long = "email", value_name = "ADDR")]
    pub email: Vec<String>,
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long)]
    pub disabled: bool,
    #[arg(long)]
    pub overlap: Option<String>,
    #[arg(long)]
    pub catch_up: Option<String>,
    #[arg(long)]
    pub run_as: Option<String>,
    #[arg(long)]
    pub allow_env_override: bool,
}

pub fn run(args: TaskCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc task: pending".into()))
}

//! `orc migrate`: from the legacy Python orchestrator.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[arg(long, value_name = "PATH")]
    pub from_legacy: Option<std::path::PathBuf>,
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub cleanup: bool,
    #[arg(long)]
    pub rollback: bool,
}

pub fn run(args: MigrateArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc migrate: pending".into()))
}

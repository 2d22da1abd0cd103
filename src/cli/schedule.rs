//! `orc schedule`: reconcile the OS scheduler with the database; list; validate.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long)]
    pub all: bool,
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long)]
    pub list: bool,
    #[arg(long, value_name = "NAME")]
    pub validate: Option<String>,
}

pub fn run(args: ScheduleArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc schedule: pending".into()))
}

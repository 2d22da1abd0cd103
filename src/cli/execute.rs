//! `orc execute`: run a task (manually, or as started by the OS scheduler).

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct ExecuteArgs {
    #[arg(long)]
    pub task: String,
    #[arg(long)]
    pub scheduled: bool,
    #[arg(long)]
    pub check_deps: bool,
}

pub fn run(args: ExecuteArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc execute: pending".into()))
}

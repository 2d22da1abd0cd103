//! `orc history`: past runs, newest first.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

pub fn run(args: HistoryArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc history: pending".into()))
}

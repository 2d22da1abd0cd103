//! `orc unschedule`: remove registrations from the OS scheduler.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct UnscheduleArgs {
    #[arg(long)]
    pub task: Option<String>,
    #[arg(long)]
    pub all: bool,
}

pub fn run(args: UnscheduleArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc unschedule: pending".into()))
}

//! `orc status`: one row per task.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {}

pub fn run(args: StatusArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc status: pending".into()))
}

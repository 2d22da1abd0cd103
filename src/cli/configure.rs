//! `orc configure`: the setup wizard.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct ConfigureArgs {}

pub fn run(args: ConfigureArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc configure: pending".into()))
}

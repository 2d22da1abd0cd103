//! `orc config get|set|list`.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum ConfigCommand {
    /// Print one setting
    Get { key: String },
    /// Change one setting
    Set { key: String, value: String },
    /// Print every setting
    List,
}

pub fn run(args: ConfigCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc config: pending".into()))
}

//! `orc notify flush`: retry queued mail.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum NotifyCommand {
    /// Try to send every queued message now
    Flush,
}

pub fn run(args: NotifyCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc notify: pending".into()))
}

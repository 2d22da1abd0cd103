//! `orc cron explain|next|triggers`.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum CronCommand {
    /// Describe an expression: plain English, next runs, trigger mapping, warnings
    Explain { expr: String },
    /// The next fire times (local wall-clock)
    Next {
        expr: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long, default_value_t = 5)]
        count: usize,
    },
    /// The <Triggers> XML orc would register
    Triggers {
        expr: String,
        #[arg(long)]
        start: Option<String>,
    },
}

pub fn run(args: CronCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc cron: pending".into()))
}

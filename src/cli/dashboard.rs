//! `orc dashboard`: local web dashboard.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub bind: String,
}

pub fn run(args: DashboardArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc dashboard: pending".into()))
}

//! `orc report daily`.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// The daily HTML report
    Daily {
        #[arg(long)]
        send: bool,
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

pub fn run(args: ReportCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc report: pending".into()))
}

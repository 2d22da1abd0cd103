//! `orc db backup|restore|check|prune`.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum DbCommand {
    /// Consistent online backup
    Backup { file: std::path::PathBuf },
    /// Replace the database with a backup
    Restore { file: std::path::PathBuf },
    /// Integrity check
    Check,
    /// Delete old run history
    Prune {
        #[arg(long)]
        older_than: String,
    },
}

pub fn run(args: DbCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc db: pending".into()))
}

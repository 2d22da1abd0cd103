//! `orc credential set|list|rm`.

use super::Context;
use crate::error::Result;

#[derive(Debug, clap::Subcommand)]
pub enum CredentialCommand {
    /// Store a secret (prompted, or read from stdin)
    Set {
        name: String,
        #[arg(long)]
        from_stdin: bool,
    },
    /// List credential names (never values)
    List,
    /// Remove a credential
    Rm { name: String },
}

pub fn run(args: CredentialCommand, ctx: &mut Context<'_>) -> Result<i32> {
    let _ = (args, ctx);
    Err(crate::error::Error::Failed("orc credential: pending".into()))
}

//! `orc completions SHELL`: print a completion script.

use clap::CommandFactory;

use super::{Cli, Context};
use crate::error::Result;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for
    pub shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "orc", &mut buf);
    ctx.print_raw(&String::from_utf8_lossy(&buf))?;
    Ok(0)
}

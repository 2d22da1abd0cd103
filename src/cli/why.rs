//! `orc why TASK [--run ID | --at TIME]`: explains the last run, or the run that did not
//! happen. The logic is in `crate::why`.

use super::Context;
use super::schedule::RemoteArgs;
use crate::error::Result;
use crate::why;

#[derive(Debug, clap::Args)]
pub struct WhyArgs {
    /// The task
    pub task: String,
    /// Explain this run (an id from `orc history`) instead of the latest
    #[arg(long, value_name = "ID", conflicts_with = "at")]
    pub run: Option<i64>,
    /// Explain the slot (or a start) at this local time, YYYY-MM-DDTHH:MM[:SS]: the run that
    /// served it, or why none did
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

pub fn run(args: WhyArgs, ctx: &mut Context<'_>) -> Result<i32> {
    crate::task::validate_name(&args.task)?;
    let at = args.at.as_deref().map(why::gather::parse_at).transpose()?;
    let paths = ctx.paths()?.clone();
    let interactive = ctx.interactive;
    let kind = crate::scheduler::backend_kind()?;
    let store = ctx.store()?;
    let mut backend =
        super::schedule::open_backend(&RemoteArgs::default(), &paths, store, interactive)
            .map_err(|e| e.to_string());
    let backend_ref: std::result::Result<&mut dyn crate::scheduler::Backend, String> =
        match backend.as_mut() {
            Ok(b) => Ok(b.as_mut()),
            Err(e) => Err(e.clone()),
        };
    let req = why::gather::Request { task: args.task, run: args.run, at };
    let facts = why::gather::gather(store, backend_ref, kind, &req)?;
    let x = why::explain(&facts);
    if ctx.json {
        ctx.print_json(&x)?;
    } else {
        ctx.print(&why::render(&x))?;
    }
    Ok(0)
}

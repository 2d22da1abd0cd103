//! `orc dashboard`: local, read-only web dashboard (see [`crate::dashboard`]).

use super::Context;
use crate::dashboard::{self, Server};
use crate::error::{Error, Result};

// The help text (with the no-authentication warning) is on `Command::Dashboard`.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Address to listen on, IP:PORT on loopback (127.0.0.1, [::1], localhost); port 0 picks
    /// a free port. The first line printed is the URL.
    #[arg(long, default_value = "127.0.0.1:5000", value_name = "ADDR")]
    pub bind: String,
    /// Allow a non-loopback --bind address. There is no authentication: anyone who can reach
    /// it can read task definitions and run output.
    #[arg(long)]
    pub allow_remote: bool,
}

pub fn run(args: DashboardArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let addr = dashboard::parse_bind(&args.bind, args.allow_remote)?;
    if ctx.json {
        return Err(Error::Usage(
            "orc dashboard serves until stopped and has no JSON output; use /api/status and \
             /api/history instead of --json"
                .into(),
        ));
    }
    let db = ctx.store()?.path().to_path_buf();
    let server = Server::bind(addr, &db)?;
    let url = server.url()?;
    // The URL is the first line (scripts and tests read it); stdout is flushed at once.
    // Later lines are informational: a closed stdout must not stop the server.
    ctx.print(&url)?;
    ctx.out.flush().map_err(|e| Error::io("write", "standard output", e))?;
    if ctx.verbosity >= 0 {
        let mut note =
            format!("orc dashboard: read-only view of {} — press Ctrl+C to stop", db.display());
        if !addr.ip().is_loopback() {
            note.push_str(
                "\nwarning: listening on a non-loopback address; the dashboard has no \
                 authentication",
            );
        }
        if let Err(e) = ctx
            .print(&note)
            .and_then(|()| ctx.out.flush().map_err(|e| Error::io("write", "standard output", e)))
        {
            tracing::debug!(error = %e, "standard output closed; serving anyway");
        }
    }
    server.run()?;
    Ok(0)
}

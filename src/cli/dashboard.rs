//! `orc dashboard`: the web dashboard and REST API (see [`crate::dashboard`]).

use super::Context;
use crate::dashboard::{self, Options, Server};
use crate::error::{Error, Result};

// The help text (with the no-authentication warning) is on `Command::Dashboard`.
#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    /// Address to listen on, IP:PORT on loopback (127.0.0.1, [::1], localhost); port 0 picks
    /// a free port. The first line printed is the URL.
    #[arg(long, default_value = "127.0.0.1:5000", value_name = "ADDR")]
    pub bind: String,
    /// Allow a non-loopback --bind address. Everyone must then sign in with a token, also
    /// to read, and TLS is required unless --insecure-http
    #[arg(long)]
    pub allow_remote: bool,
    /// Serve plain HTTP on a non-loopback address (tokens and cookies cross the network
    /// unencrypted; only behind a TLS-terminating reverse proxy)
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure_http: bool,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

pub fn run(args: DashboardArgs, ctx: &mut Context<'_>) -> Result<i32> {
    let addr = dashboard::parse_bind(&args.bind, args.allow_remote)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(dashboard::tls::server_config(c, k)?),
        _ => None,
    };
    if !addr.ip().is_loopback() && !args.insecure_http && tls.is_none() {
        return Err(Error::invalid("--bind", &args.bind, dashboard::INSECURE_RULE));
    }
    if ctx.json {
        return Err(Error::Usage(
            "orc dashboard serves until stopped and has no JSON output; use its REST API \
             (/api/v1/…) instead of --json"
                .into(),
        ));
    }
    let home = ctx.paths()?.home.clone();
    let db = ctx.store()?.opener(&home);
    let settings = crate::config::Settings::read(ctx.store()?.conn())?;
    let require_login = settings.value("dashboard.require_login")?.0 == "true";
    let opts = Options {
        home,
        db: db.clone(),
        require_login,
        tls,
        orc_exe: std::env::current_exe()
            .map_err(|e| Error::Failed(format!("cannot find the running orc executable: {e}")))?,
    };
    let server = Server::bind(addr, &opts)?;
    let url = server.url()?;
    // The URL is the first line (scripts and tests read it); stdout is flushed at once.
    // Later lines are informational: a closed stdout must not stop the server.
    ctx.print(&url)?;
    ctx.out.flush().map_err(|e| Error::io("write", "standard output", e))?;
    if ctx.verbosity >= 0 {
        let access = if !addr.ip().is_loopback() || require_login {
            "sign in with a token (orc token create NAME) to read or change"
        } else {
            "reads open on loopback; changes need a token (orc token create NAME)"
        };
        let mut note =
            format!("orc dashboard: {} — {access}; press Ctrl+C to stop", db.path().display());
        if !addr.ip().is_loopback() && args.insecure_http {
            note.push_str(
                "\nwarning: --insecure-http: tokens and session cookies cross the network \
                 unencrypted",
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

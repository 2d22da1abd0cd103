//! orc's one HTTP client policy (`ureq`), for webhooks and chat channels, Microsoft 365
//! tokens and mail, and `url:` dependencies: every exchange is bounded as a whole, an HTTP
//! status is an answer to read (not an error), requests name orc and its version, and
//! redirects are not followed unless the caller asks — a token, a secret URL or a signed body
//! is never re-sent to another place.

use std::time::Duration;

use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;

/// The agent configuration with the policy above, `total` bounding each whole exchange;
/// callers may add to it (e.g. a connect timeout, redirects).
pub fn config(total: Duration) -> ConfigBuilder<AgentScope> {
    ureq::Agent::config_builder()
        .timeout_global(Some(total))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(format!("orc/{}", env!("CARGO_PKG_VERSION")))
}

/// An agent with the policy above.
pub fn agent(total: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(config(total).build())
}

//! Hooks the executor calls at fixed points of a run, for other subsystems to fill.

use crate::exec::runs::RunRecord;
use crate::store::Store;

/// Called once per execution, after the final attempt has been recorded (never for a slot
/// that was not due or already claimed). The run result is committed before this runs, so
/// nothing done here can lose it. Notification (mail) hooks in here.
pub fn after_final_attempt(store: &mut Store, run: &RunRecord) {
    tracing::debug!(
        run = run.id,
        task = %run.task,
        status = run.status.as_str(),
        attempt = run.attempt,
        "final attempt recorded"
    );
    // Mail: decides by the task's policy, queues in the outbox, sends bounded by smtp.timeout,
    // then retries a few older queued messages. Never fails and never changes the run.
    let outcome = crate::notify::after_final_attempt(store, run);
    if let Some(e) = &outcome.error {
        tracing::warn!(run = run.id, "mail: {e}");
    }
}

//! Writing the crontab: under the user's crontab lock ([`super::lock`]), read back and
//! verified, retried a bounded number of times (issue 12 finding 5).

use super::cronblock::{self, BlockState};
use super::lock;
use super::{CrontabBackend, SResult, SchedulerError};
use crate::error::IoFailure;
use crate::scheduler::reconcile::Plan;

/// How many times a crontab write is tried when reading it back shows another block.
pub const WRITE_ATTEMPTS: u32 = 5;

/// This home's block in a crontab text (`None`: there is none, or it is damaged).
fn block_of<'a>(text: &'a [u8], id: &str) -> Option<&'a [u8]> {
    match cronblock::locate(text, id) {
        BlockState::Found(a, b) => Some(&text[a..b]),
        _ => None,
    }
}

impl CrontabBackend {
    fn install(&mut self, current: &[u8], next: &[u8]) -> SResult<()> {
        if next == current {
            return Ok(());
        }
        if self.has_live_line(next) {
            let logs = self.home.join("logs");
            crate::fsx::ensure_private_dir(&logs).map_err(|source| {
                SchedulerError::Io(IoFailure::new(
                    "create the directory for cron's output",
                    logs,
                    source,
                ))
            })?;
        }
        self.calls += 1;
        if next.is_empty() { self.runner.remove() } else { self.runner.write(next) }
    }

    /// Applies `plan` to the crontab under the user's crontab lock, then reads it back: when
    /// the block is not what was written (a writer that takes no lock, such as `crontab -e`,
    /// came in between), it starts over from the fresh text, at most [`WRITE_ATTEMPTS`]
    /// times. Reading again right before writing also keeps a line added since the query;
    /// the plan's changes are per task, so they apply to the fresh text.
    pub(super) fn write_verified(&mut self, plan: &Plan) -> SResult<()> {
        let _lock = lock::acquire(lock::LOCK_WAIT)?;
        for attempt in 1..=WRITE_ATTEMPTS {
            let (current, state) = self.read()?;
            let next = self.next_crontab(&current, state, plan);
            if next == current {
                self.current = Some(next);
                return Ok(());
            }
            self.install(&current, &next)?;
            let (after, _) = self.read()?;
            if block_of(&after, &self.id) == block_of(&next, &self.id) {
                self.current = Some(after);
                return Ok(());
            }
            tracing::info!(attempt, "the crontab changed while orc wrote it; writing again");
        }
        Err(SchedulerError::Failed {
            program: self.runner.program_name(),
            args: "-".into(),
            code: 0,
            stderr: format!(
                "after {WRITE_ATTEMPTS} writes `crontab -l` still did not show orc's block as                  written (something else keeps rewriting this user's crontab); nothing is                  known to be registered until `orc schedule` succeeds"
            ),
        })
    }

    fn has_live_line(&self, text: &[u8]) -> bool {
        match cronblock::locate(text, &self.id) {
            BlockState::Found(a, b) => {
                cronblock::parse_block(&String::from_utf8_lossy(&text[a..b]))
                    .iter()
                    .any(|f| f.enabled)
            }
            _ => false,
        }
    }
}

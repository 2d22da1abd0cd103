//! The executor: what `orc execute` does, and the run records `history` and `status` read.
//!
//! * [`process`]: spawning a command as a killable process tree (Job Object / process group),
//!   liveness of recorded processes, command-line splitting;
//! * [`output`] and [`decode`]: bounded, redacted capture of stdout/stderr and display decoding;
//! * [`env`]: the child's working directory and environment (and the secrets hook);
//! * [`deps`]: dependency checks; [`slot`]: scheduled slots and claims;
//! * [`execute`]: running a task (the orchestration); [`runs`]: the run records, the only
//!   reader and writer of the `runs` table;
//! * [`retention`]: spill-file retention; [`hooks`]: points other subsystems fill.

pub mod decode;
pub mod deps;
pub mod env;
pub mod execute;
pub mod hooks;
pub mod launch;
pub mod output;
pub mod process;
pub mod retention;
pub mod runs;
pub mod slot;

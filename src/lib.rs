//! orc: turns the Windows Task Scheduler (and cron) into a job orchestrator.
//!
//! Pure logic (cron, triggers, task XML, validation, planning) is kept apart from I/O
//! (SQLite, processes, schtasks, SMTP) so it can be tested without them. The library never
//! prints or exits: [`cli`] writes to the stream it is given and returns an exit code.

pub mod audit;
pub mod choice;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cron;
pub mod dashboard;
pub mod docgen;
pub mod doctor;
pub mod duration;
pub mod env_vars;
pub mod error;
pub mod exec;
pub mod fleet;
pub mod fsx;
pub mod home;
pub mod http_client;
pub mod metrics;
pub mod migrate;
pub mod notify;
pub mod paths;
pub mod quote;
pub mod render;
pub mod report;
pub mod scheduler;
pub mod store;
pub mod task;
pub mod token;
pub mod vault;
pub mod watch;
pub mod why;

pub use error::{Error, Result};

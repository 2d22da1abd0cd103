//! orc's integration tests: one test binary, driving the real `orc` executable.

#![allow(unreachable_pub)] // test-support items are shared between test modules

mod support;

mod cli_basics;
mod config;
mod configure;
mod cron_cli;
mod dashboard;
mod migrate;
mod schedule;
mod schtasks_real;
mod secrets;
mod smtp_probe;
mod store;
mod task_commands;
mod task_input;

//! orc's integration tests: one test binary, driving the real `orc` executable.

#![allow(unreachable_pub)] // test-support items are shared between test modules

mod support;

mod cli_basics;
mod config;
mod configure;
mod cron_cli;
mod crontab;
mod crontab_real;
mod dashboard;
mod exec_db;
mod exec_deps;
mod exec_faults;
mod exec_history;
mod exec_support;
mod execute;
mod mail_seed;
mod mailserver;
mod migrate;
mod notify;
mod notify_exec;
mod report;
mod schedule;
mod schtasks_readback;
mod schtasks_real;
mod secrets;
mod smtp_probe;
mod store;
mod task_commands;
mod task_input;

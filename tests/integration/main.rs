//! orc's integration tests: one test binary, driving the real `orc` executable.

#![allow(unreachable_pub)] // test-support items are shared between test modules

mod support;

mod boot_trigger;
mod breakaway;
mod channels;
mod cli_basics;
mod config;
mod configure;
mod corpus;
mod cron_cli;
mod crontab;
mod crontab_real;
mod dashboard;
mod dashboard_api;
#[cfg(unix)]
mod dashboard_browser;
mod definition_text;
mod docs_links;
mod doctor;
mod exec_db;
mod exec_deps;
mod exec_faults;
mod exec_history;
mod execute;
mod first_window;
mod fleet;
// Simulated hosts share one machine: on Windows its DPAPI user-scope wrap opens the vault on
// every simulated host, which real separate machines do not allow. The Windows behaviour is
// proven by vault::hosts::windows_tests (real DPAPI machine scope).
#[cfg(unix)]
mod fleet_secrets;
mod fleet_watch;
mod hardening;
mod home_security;
mod install;
mod json_schemas;
mod long_paths;
mod mail_graph;
mod migrate;
mod notify;
mod notify_exec;
mod orcw;
mod report;
mod schedule;
mod schedule_principals;
mod schtasks_readback;
mod schtasks_real;
mod secrets;
mod store;
mod store_pg_schema;
mod store_pg_tls;
mod task_commands;
mod task_input;
mod watch;
mod why;
mod windows_home;
mod windows_real;

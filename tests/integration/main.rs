//! orc's integration tests: one test binary, driving the real `orc` executable.

#![allow(unreachable_pub)] // test-support items are shared between test modules

mod support;

mod cli_basics;
mod config;
mod configure;
mod mail_seed;
mod mailserver;
mod notify;
mod report;
mod secrets;
mod smtp_probe;

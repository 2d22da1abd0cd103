//! The test harness, one file per concern:
//! - `env`: a temporary orc home with a clean environment, running orc ([`Env`], [`Output`]);
//! - `programs`: where orc and the test-helper binaries are;
//! - `redact`: the one redactor and the insta settings built on it;
//! - `exec`: tasks and runs for the executor tests (database seeding and inspection);
//! - `mail_seed`, `mailserver`, `smtp_probe`: seeding and real/fake SMTP servers for mail tests;
//! - `fake_m365`: a local Microsoft 365 token endpoint and Graph sendMail;
//! - `chromium`: headless Chromium (DOM dumps and screenshots under target/test-output);
//! - `adaptive_card`: the Teams card as HTML for Chromium;
//! - `http_receiver`: a real local HTTP server recording requests (notification channels).

#![allow(dead_code)]

pub mod adaptive_card;
pub mod chromium;
mod env;
pub mod exec;
pub mod fake_m365;
pub mod http_receiver;
pub mod mail_seed;
pub mod mailserver;
pub mod pg;
mod programs;
pub mod redact;
pub mod smtp_probe;

pub use env::{Env, Output};
pub use programs::{helper_exe, orc_exe, spawn};
pub use redact::{Redactor, redact, snapshot_settings};

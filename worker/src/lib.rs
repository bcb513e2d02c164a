//! The transcript-migrator's configuration and wiring; `main.rs` is its command line.

pub mod check;
pub mod config;
pub mod run;

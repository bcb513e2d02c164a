//! The transcript-migrator's configuration and wiring; `cli` is its command line.

pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod run;

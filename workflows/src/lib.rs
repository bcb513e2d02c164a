//! Deterministic orchestration of the transcript migration: no I/O, no clocks, no randomness.
//!
//! It also owns the domain vocabulary shared with `activities`: course keys, usage keys and
//! branches, so that both sides speak of the same things in the same words.

pub mod ids;
pub mod keys;
pub mod migrate_course;
pub mod migrate_courses;
pub mod migrate_video;
pub mod operate;
pub mod plan;
pub mod steps;
pub mod video;

pub use keys::{Branch, CourseKey, CourseKeyError, UsageKey};

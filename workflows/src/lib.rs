//! Deterministic orchestration of the transcript migration: no I/O, no clocks, no randomness.
//! The words it speaks (keys, the video unit, the plan, the activity contracts) are in `model`;
//! the activities that do the I/O are in `activities`.
//!
//! # Layout
//!
//! - [`migrate_courses`]: `MigrateCourses`, a batch: one `MigrateCourse` child per course.
//! - [`migrate_course`]: `MigrateCourse`, a course run: one `MigrateVideo` child per video, a
//!   page at a time, then validation and the course's flag.
//! - [`migrate_video`]: `MigrateVideo`, one video's transaction: diff, upload, commit, and the
//!   rollback that deletes what it wrote.
//! - [`controller`]: what the two parents share: pause, resume and tune, the `MigrationState`
//!   they show, continue-as-new and the options of their children.
//! - [`lanes`]: running a page of children side by side, paced.
//! - [`retry`]: the retry rules and the one way the workflows call an activity.
//! - [`input`]: reading what operators give: workflow inputs and signal payloads.

pub mod controller;
pub mod input;
pub mod lanes;
pub mod migrate_course;
pub mod migrate_courses;
pub mod migrate_video;
pub mod retry;
pub mod window;

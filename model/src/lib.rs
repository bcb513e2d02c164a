//! The shared vocabulary of the transcript migration, at the bottom of the house: the words
//! the workflows, the activities, the seed tool and the worker all speak.
//!
//! # Layout
//!
//! - [`keys`]: course keys, usage keys and branches, in both styles real installations hold.
//! - [`ids`]: the ids the migration fixes: storage keys of transcripts, external `edx_video_id`s.
//! - [`video`]: a video block as the migration sees it: its settings fields in each branch.
//! - [`plan`]: what to do with one video, and edx-val's rules for an `edx_video_id`.
//! - [`contract`]: each activity's name, request and outcome, by the role of its caller
//!   (a video's transaction, a course run, a batch).

pub mod contract;
pub mod ids;
pub mod keys;
pub mod plan;
pub mod video;

pub use keys::{Branch, CourseKey, CourseKeyError, UsageKey};

//! All I/O of the transcript migration: one module per external system (modulestore,
//! contentstore, edx-val, S3) and the transcript formats and lookups built on them.

pub mod commit;
pub mod compensate;
pub mod contentstore;
pub mod course_log;
pub mod diff;
pub mod discover;
pub mod edxval;
mod error;
pub mod migration;
pub mod modulestore;
pub mod planned_reads;
pub mod s3;
pub mod select_courses;
pub mod settings;
pub mod sjson;
pub mod split_course_index;
pub mod srt;
pub mod throttle;
pub mod transcript_source;
pub mod upload;
pub mod validate;
pub mod write_back;

pub use error::{FormatError, Problem, TranscriptError};

/// edx-val refuses transcripts above this size, and so does the migration.
pub const MAX_TRANSCRIPT_BYTES: u64 = 3 * 1024 * 1024;

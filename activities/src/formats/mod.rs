//! Transcripts as files: SRT and SJSON, where a video's transcript is in the contentstore, and
//! what can be wrong with one.

mod error;
pub mod sjson;
pub mod srt;
pub mod transcript_source;

pub use error::{FormatError, Problem, TranscriptError};

/// edx-val refuses transcripts above this size, and so does the migration.
pub const MAX_TRANSCRIPT_BYTES: u64 = 3 * 1024 * 1024;

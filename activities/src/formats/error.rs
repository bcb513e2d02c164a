//! What can be wrong with a transcript, in words that name its course, video, language and file.

use std::fmt;

use model::UsageKey;
use serde::{Deserialize, Serialize};

/// Why a transcript file's content is not a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FormatError {
    #[error("invalid UTF-8 at byte {offset}")]
    InvalidUtf8 { offset: usize },
    #[error("unparsable SRT at line {line}: {reason}")]
    UnparsableSrt { line: usize, reason: String },
    #[error("unparsable SJSON: {detail}")]
    UnparsableSjson { detail: String },
}

/// What is wrong with a video's transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    /// No file holds the transcript; `tried` lists the asset names looked up, in order.
    Missing {
        tried: Vec<String>,
    },
    Empty,
    TooLarge {
        bytes: u64,
        limit: u64,
    },
    Format(FormatError),
    /// The block's `transcripts` field is not a mapping of language codes to file names.
    BadTranscriptsField {
        found: String,
    },
    /// The file's GridFS chunks do not add up to the file (one missing, one of the wrong size,
    /// fewer bytes than its `length`).
    BrokenFile {
        detail: String,
    },
    /// A store could not be read; worth retrying, unlike every other problem.
    Store {
        detail: String,
    },
}

impl Problem {
    /// A stable name for reports and tests.
    pub fn kind(&self) -> &'static str {
        match self {
            Problem::Missing { .. } => "missing",
            Problem::Empty => "empty",
            Problem::TooLarge { .. } => "too_large",
            Problem::Format(FormatError::InvalidUtf8 { .. }) => "invalid_utf8",
            Problem::Format(FormatError::UnparsableSrt { .. }) => "unparsable_srt",
            Problem::Format(FormatError::UnparsableSjson { .. }) => "unparsable_sjson",
            Problem::BadTranscriptsField { .. } => "bad_transcripts_field",
            Problem::BrokenFile { .. } => "broken_file",
            Problem::Store { .. } => "store",
        }
    }

    /// Bad data stays bad however often it is read again; only store failures are retried.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Problem::Store { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { tried } => {
                write!(f, "no source file (looked for {})", tried.join(", "))
            }
            Problem::Empty => f.write_str("empty file"),
            Problem::TooLarge { bytes, limit } => {
                write!(f, "the transcript is {bytes} bytes, over edx-val's limit of {limit} bytes")
            }
            Problem::Format(error) => error.fmt(f),
            Problem::BadTranscriptsField { found } => {
                write!(f, "the `transcripts` field is {found}, not a mapping of language codes to file names")
            }
            Problem::BrokenFile { detail } => write!(f, "the file's GridFS chunks do not add up: {detail}"),
            Problem::Store { detail } => write!(f, "could not read the store: {detail}"),
        }
    }
}

/// A problem with one transcript, named by course, video, language and file so that an
/// operator can find and fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct TranscriptError {
    pub usage_key: UsageKey,
    /// Absent when the problem is the video's, not one language's.
    pub language: Option<String>,
    pub file: Option<String>,
    pub problem: Problem,
}

impl fmt::Display for TranscriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "course {}, video {}", self.usage_key.course, self.usage_key)?;
        if let Some(language) = &self.language {
            write!(f, ", language {language}")?;
        }
        if let Some(file) = &self.file {
            write!(f, ", file {file}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_course_video_language_file_and_cause() {
        let error = TranscriptError {
            usage_key: "course-v1:edX+DemoX+2018".parse::<model::CourseKey>().unwrap().usage_key("video", "a1b2"),
            language: Some("fr".into()),
            file: Some("intro_fr.srt".into()),
            problem: Problem::Format(FormatError::UnparsableSrt { line: 7, reason: "expected \"START --> END\"".into() }),
        };
        assert_eq!(
            error.to_string(),
            "course course-v1:edX+DemoX+2018, video block-v1:edX+DemoX+2018+type@video+block@a1b2, \
             language fr, file intro_fr.srt: unparsable SRT at line 7: expected \"START --> END\""
        );
        assert_eq!(error.problem.kind(), "unparsable_srt");
        assert!(!error.problem.is_retryable());
    }
}

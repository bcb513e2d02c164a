//! The upload step: one transcript to the transcripts bucket under the key the workflow fixed,
//! never over anything that is there.

pub use model::contract::video::Uploaded;
use model::plan::TranscriptRef;
use model::video::VideoUnit;

use super::planned_reads::PlannedReads;
use crate::formats::transcript_source::read_copy;
use crate::stores::contentstore::Contentstore;
use crate::stores::s3::{PutOutcome, TranscriptBucket};

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// A store could not be reached: worth retrying.
    #[error("{0}")]
    Store(String),
    /// The transcript is no longer what the diff read, or no longer readable: the video's
    /// transaction must stop (a new run diffs again).
    #[error("{0}")]
    Changed(String),
    /// Someone else's object holds the key: nothing is overwritten, the video fails.
    #[error("{0}")]
    Conflict(String),
}

impl UploadError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, UploadError::Store(_))
    }
}

/// Sends the bytes this worker's diff kept in `reads`, else reads the file again and checks that
/// it is still what the diff planned.
pub async fn upload_transcript(
    contentstore: &Contentstore,
    bucket: &TranscriptBucket,
    reads: &PlannedReads,
    unit: &VideoUnit,
    language: &str,
    planned: &TranscriptRef,
    key: &str,
) -> Result<Uploaded, UploadError> {
    if !bucket.is_ours(key) {
        return Err(UploadError::Conflict(format!(
            "course {}, video {}, language {language}: {key:?} is not a key the migration makes; nothing was written",
            unit.usage_key.course, unit.usage_key
        )));
    }
    let body = match reads.take(&unit.usage_key, language, &planned.sha256) {
        Some(kept) => kept,
        None => read_planned(contentstore, unit, language, planned).await?,
    };
    match bucket.put_if_absent(key, body.clone()).await.map_err(|e| UploadError::Store(e.to_string()))? {
        PutOutcome::Created => Ok(Uploaded::Created),
        PutOutcome::AlreadyExists => match bucket.get(key).await.map_err(|e| UploadError::Store(e.to_string()))? {
            Some(existing) if existing == body => Ok(Uploaded::AlreadyOurs),
            _ => Err(UploadError::Conflict(format!(
                "course {}, video {}, language {language}: s3://{}/{} already holds another object; it was left as it is",
                unit.usage_key.course,
                unit.usage_key,
                bucket.bucket(),
                bucket.object_key(key)
            ))),
        },
    }
}

/// The planned transcript read from the contentstore again, refused if it changed since the diff.
async fn read_planned(contentstore: &Contentstore, unit: &VideoUnit, language: &str, planned: &TranscriptRef) -> Result<Vec<u8>, UploadError> {
    let copy = unit
        .copies
        .iter()
        .find(|c| c.branch == planned.branch)
        .ok_or_else(|| UploadError::Changed(format!("video {}: no {} copy any more", unit.usage_key, planned.branch)))?;
    let (read, body) = match read_copy(contentstore, &unit.usage_key, copy, language).await {
        Ok(read) => read,
        Err(error) if error.problem.is_retryable() => {
            return Err(UploadError::Store(error.to_string()));
        }
        Err(error) => return Err(UploadError::Changed(error.to_string())),
    };
    if read.sha256 != planned.sha256 || read.file != planned.file {
        return Err(UploadError::Changed(format!(
            "course {}, video {}, language {language}, file {}: changed since the diff read {} (sha256 {} → {})",
            unit.usage_key.course, unit.usage_key, read.file, planned.file, planned.sha256, read.sha256
        )));
    }
    Ok(body)
}

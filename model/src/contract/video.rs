//! What the steps of a video's transaction exchange with `MigrateVideo`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::UsageKey;
use crate::plan::TranscriptRef;
use crate::video::VideoUnit;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadRequest {
    pub unit: VideoUnit,
    pub language: String,
    pub planned: TranscriptRef,
    /// The storage key the workflow fixed for this transcript.
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uploaded {
    /// This call wrote the object.
    Created,
    /// The key already held these very bytes: an earlier attempt of this same upload.
    AlreadyOurs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitRequest {
    /// The video block whose transcripts these are (its course is the course key).
    pub usage_key: UsageKey,
    /// The video the transcripts go to (`VideoPlan::edx_video_id`). When edx-val does not know
    /// it, the commit creates it as an external video under this very id, so a retried commit
    /// finds the video its first attempt created.
    pub edx_video_id: String,
    /// Storage key of each uploaded transcript, by language code.
    pub transcripts: BTreeMap<String, String>,
    /// Where each of them came from, with the SHA-256 and size of what was uploaded: the
    /// ledger keeps them, for `report`, `verify` and `rollback`.
    pub sources: BTreeMap<String, TranscriptRef>,
    /// The course run in the course log (0 for a video migrated on its own).
    pub run_number: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CommitOutcome {
    /// The edx-val video the transcripts belong to.
    pub edx_video_id: String,
    /// Whether this commit created the video, as an external video.
    pub external_video_created: bool,
    /// Languages recorded with our object.
    pub recorded: BTreeSet<String>,
    /// Languages a user recorded meanwhile: their row stands, our object is garbage.
    pub kept_users: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompensateRequest {
    /// The keys this transaction wrote.
    pub keys: Vec<String>,
}

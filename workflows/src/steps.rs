//! What the steps of a video's transaction exchange with the workflow, and the contract of
//! each activity: its name and its types. `activities` implements each under the same name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use temporalio_common::ActivityDefinition;

use crate::plan::{TranscriptRef, VideoPlan};
use crate::video::VideoUnit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Uploaded {
    /// This call wrote the object.
    Created,
    /// The key already held these very bytes: an earlier attempt of this same upload.
    AlreadyOurs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadRequest {
    pub unit: VideoUnit,
    pub language: String,
    pub planned: TranscriptRef,
    /// The storage key the workflow fixed for this transcript.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommitRequest {
    pub course_key: String,
    /// The block's `edx_video_id`; empty when it has none.
    pub edx_video_id: String,
    /// The id an external video gets if edx-val does not know the block's video (fixed by the
    /// workflow, so that a retried commit finds the video its first attempt created).
    pub external_edx_video_id: String,
    /// Storage key of each uploaded transcript, by language code.
    pub transcripts: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CommitOutcome {
    /// The edx-val video the transcripts belong to.
    pub edx_video_id: String,
    /// Whether an external video was created (its id must then be written back to the block).
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

macro_rules! activity {
    ($(#[$doc:meta])* $marker:ident, $name:literal, $input:ty => $output:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $marker;

        impl ActivityDefinition for $marker {
            type Input = $input;
            type Output = $output;
            fn name(&self) -> &str {
                $name
            }
        }
    };
}

activity!(
    /// Plans a video: its languages in both branches against edx-val.
    Diff, "diff_video", VideoUnit => VideoPlan
);
activity!(
    /// Uploads one planned transcript under the key the workflow fixed.
    Upload, "upload_transcript", UploadRequest => Uploaded
);
activity!(
    /// Records the uploaded transcripts in edx-val, in one SQL transaction.
    Commit, "commit_video", CommitRequest => CommitOutcome
);
activity!(
    /// Deletes the objects of a failed transaction that edx-val does not reference; returns them.
    Compensate, "compensate_delete", CompensateRequest => Vec<String>
);

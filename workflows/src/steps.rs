//! What the steps of a video's transaction exchange with the workflow, and the contract of
//! each activity: its name and its types. `activities` implements each under the same name.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use temporalio_common::ActivityDefinition;

use crate::plan::{TranscriptRef, VideoPlan};
use crate::video::VideoUnit;
use crate::{Branch, CourseKey, UsageKey};

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
    /// The video the transcripts go to (`VideoPlan::edx_video_id`). When edx-val does not know
    /// it, the commit creates it as an external video under this very id, so a retried commit
    /// finds the video its first attempt created.
    pub edx_video_id: String,
    /// Storage key of each uploaded transcript, by language code.
    pub transcripts: BTreeMap<String, String>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBackRequest {
    pub usage_key: UsageKey,
    pub edx_video_id: String,
    /// The branches whose copy had no `edx_video_id` when the diff read it.
    pub branches: BTreeSet<Branch>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WriteBackOutcome {
    /// Branches whose block now names the video because this step wrote it.
    pub written: BTreeSet<Branch>,
    /// Branches whose block already named the video (an earlier attempt wrote it).
    pub already: BTreeSet<Branch>,
    /// Branches that no longer have the block (an author deleted it meanwhile).
    pub gone: BTreeSet<Branch>,
}

/// The write-backs of one page of a course's videos: each split branch gets one new structure
/// version for all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBackPage {
    pub course_key: CourseKey,
    pub videos: Vec<WriteBackRequest>,
}

/// What one video's write-back in a page found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoWriteBack {
    Done(WriteBackOutcome),
    /// A copy of the block names another video now (an author set it since the diff); why.
    Conflict(String),
}

/// One page of a course's videos, in usage key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRequest {
    pub course_key: CourseKey,
    /// The page starts after this video; `None` for the first page.
    pub after: Option<UsageKey>,
    pub page_size: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscoveredPage {
    /// Whether the modulestore has the course at all.
    pub course_exists: bool,
    /// Videos in the whole course.
    #[serde(default)]
    pub total_videos: u32,
    pub units: Vec<VideoUnit>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<UsageKey>,
}

/// A video that failed, in the words of its failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFailure {
    pub usage_key: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ValidatedPage {
    pub videos: u32,
    /// edx-val transcripts read back from S3.
    pub transcripts: u32,
    pub failures: Vec<VideoFailure>,
    pub next: Option<UsageKey>,
}

/// What a course run has done so far; carried from page to page.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CourseCounts {
    pub videos: u32,
    pub migrated: u32,
    pub nothing_to_migrate: u32,
    /// Dry runs: videos with transcripts to migrate.
    pub planned: u32,
    pub failed: u32,
    /// Transcripts recorded in edx-val by this run (dry runs: that would be).
    pub transcripts_migrated: u32,
    pub transcripts_already_in_edxval: u32,
    /// Languages whose draft and published copies differ (the published one is migrated).
    pub conflicts: u32,
    pub validated_videos: u32,
    pub validated_transcripts: u32,
    pub validation_failures: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeginCourseRun {
    pub course_key: CourseKey,
    pub workflow_id: String,
    /// The run id of the course workflow's first run (it stays the same across continue-as-new).
    pub first_run_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordFailures {
    pub course_key: CourseKey,
    pub run_number: u32,
    pub failures: Vec<VideoFailure>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishCourseRun {
    pub course_key: CourseKey,
    pub run_number: u32,
    pub counts: CourseCounts,
    /// Every video migrated and validated: the course's flag may be switched on.
    pub passed: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlagOutcome {
    /// Whether the course's newest `CourseVideoTranscriptEnabledFlag` row is enabled now.
    pub enabled: bool,
    /// Whether this run appended that row (false when it was already enabled).
    pub appended: bool,
}

/// One page of the courses a batch migrates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseSelection {
    /// The batch's own list (this page of it), or `None` for every course in the modulestore.
    pub listed: Option<Vec<String>>,
    /// Every course: the page starts after this course key.
    pub after: Option<String>,
    /// Every course: at most this many course keys on the page.
    pub limit: u32,
    /// Leave out courses whose `CourseVideoTranscriptEnabledFlag` is on already.
    pub skip_migrated: bool,
}

/// A course the batch cannot migrate, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseFailure {
    pub course_key: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SelectedCourses {
    /// The courses to migrate, in order.
    pub courses: Vec<CourseKey>,
    /// Courses left out because their flag is on already.
    pub already_migrated: Vec<CourseKey>,
    /// Entries that are not course keys.
    pub invalid: Vec<CourseFailure>,
    /// Every course: where the next page starts; `None` after the last.
    pub next_after: Option<String>,
    /// Every course: how many courses the modulestore has.
    pub total: u32,
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
    /// Picks one page of a batch's courses.
    SelectCourses, "select_courses", CourseSelection => SelectedCourses
);
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
activity!(
    /// Writes the video's `edx_video_id` into the branches of the block that have none.
    WriteBack, "write_back_edx_video_id", WriteBackRequest => WriteBackOutcome
);
activity!(
    /// Writes the `edx_video_id`s of a page's videos into the branches of their blocks that have
    /// none; answers in the order of the request.
    WriteBackPageIds, "write_back_page_edx_video_ids", WriteBackPage => Vec<VideoWriteBack>
);
activity!(
    /// Reads one page of a course's videos, both branches merged into units.
    Discover, "discover_videos", PageRequest => DiscoveredPage
);
activity!(
    /// Checks one page of a course's videos against edx-val and S3.
    Validate, "validate_videos", PageRequest => ValidatedPage
);
activity!(
    /// Opens a course run in the course log; returns its run number.
    BeginRun, "begin_course_run", BeginCourseRun => u32
);
activity!(
    /// Records the failed videos of a course run in the course log.
    RecordRunFailures, "record_course_run_failures", RecordFailures => ()
);
activity!(
    /// Closes a course run in the course log and, when it passed, switches the course's flag on.
    FinishRun, "finish_course_run", FinishCourseRun => FlagOutcome
);

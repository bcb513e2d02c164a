//! What a course run (`MigrateCourse`) exchanges with discovery, the write-back, validation
//! and the course log.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::plan::PlannedUnit;
use crate::{Branch, CourseKey, UsageKey};

/// One page of a course's videos, in usage key order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRequest {
    pub course_key: CourseKey,
    /// The page starts after this video; `None` for the first page.
    pub after: Option<UsageKey>,
    pub page_size: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DiscoveredPage {
    /// Whether the modulestore has the course at all.
    pub course_exists: bool,
    /// Videos in the whole course.
    pub total_videos: u32,
    /// The page's videos, each with its plan: the page's diff, done before any of its videos
    /// starts, so that the plan is in the history before anything is written.
    pub videos: Vec<PlannedUnit>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<UsageKey>,
    /// Video blocks in this page's range that no branch reaches from the course root: invisible
    /// to learners, so not migrated; reported as skipped.
    pub orphans: Vec<UsageKey>,
}

/// A video's write-back: the branches whose copy of the block had no `edx_video_id` when the
/// diff read it get `edx_video_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBackRequest {
    pub usage_key: UsageKey,
    pub edx_video_id: String,
    pub branches: BTreeSet<Branch>,
    /// The id a copy must show to be written: empty (no id) for a write-back; the migration's
    /// own id when a rollback takes it out again (`edx_video_id` is then empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub replaces: String,
}

/// Videos per write-back page at a cut-over (or a rollback's undo): each split branch gets one
/// structure version per page, and a version is a copy of the whole course.
pub const WRITE_BACK_CHUNK: usize = 1_000;

/// The write-backs of one page of a course's videos: each split branch gets one new structure
/// version for all of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBackPage {
    pub course_key: CourseKey,
    /// The course run in the course log, for the ledger (0 for a page written on its own).
    pub run_number: u32,
    pub videos: Vec<WriteBackRequest>,
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

/// What one video's write-back in a page found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoWriteBack {
    Done(WriteBackOutcome),
    /// A copy of the block names another video now (an author set it since the diff); why.
    Conflict(String),
}

/// A video that failed, in the words of its failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoFailure {
    pub usage_key: UsageKey,
    pub message: String,
}

/// When a course's learners switch to edx-val. Today's LMS serves edx-val's transcript as soon
/// as the published block names an `edx_video_id` that edx-val has the language for, so the
/// switch is the write-back into the published branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CutOver {
    /// The whole course at one moment: the ids are written into the blocks only after every
    /// video of the course validated.
    #[default]
    Course,
    /// Each video as soon as its page has migrated: the ids are written page by page.
    Video,
    /// Not in this run (`"cut_over": false`): the course is migrated and validated, and its
    /// learners switch when an operator runs `cut-over` on it, which validates it again.
    Later,
}

/// `"course"`, `"video"`, `"later"`, or `false` (later) and `true` (course).
impl<'de> Deserialize<'de> for CutOver {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Switch(bool),
            Name(String),
        }
        match Given::deserialize(deserializer)? {
            Given::Switch(true) => Ok(CutOver::Course),
            Given::Switch(false) => Ok(CutOver::Later),
            Given::Name(name) => match name.as_str() {
                "course" => Ok(CutOver::Course),
                "video" => Ok(CutOver::Video),
                "later" => Ok(CutOver::Later),
                other => Err(serde::de::Error::custom(format!("cut_over {other:?}: expected \"course\", \"video\", \"later\" or false"))),
            },
        }
    }
}

/// One page of a course's validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateRequest {
    pub page: PageRequest,
    pub cut_over: CutOver,
    /// A language with no source file (or an empty one) fails its video.
    pub strict: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ValidatedPage {
    pub videos: u32,
    /// Languages that have a source in the contentstore, checked against edx-val and S3.
    pub transcripts: u32,
    pub failures: Vec<VideoFailure>,
    /// Course cut-over: the videos that validated and whose blocks do not name their edx-val
    /// video yet; written once the whole course has validated.
    pub write_backs: Vec<WriteBackRequest>,
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
    /// Languages with no source file, or an empty one: not migrated, reported.
    #[serde(default)]
    pub transcripts_without_source: u32,
    /// Video blocks no branch reaches from the course root: not migrated, reported.
    #[serde(default)]
    pub orphans: u32,
    /// Migrated videos whose published block already named their edx-val video: their
    /// learners switched at the commit, not at the cut-over.
    #[serde(default)]
    pub switched_at_commit: u32,
    /// Videos whose blocks got their `edx_video_id` at the course's cut-over.
    #[serde(default)]
    pub switched_at_cut_over: u32,
    /// `"cut_over": false`: videos that validated and whose blocks wait for the `cut-over`.
    #[serde(default)]
    pub awaiting_cut_over: u32,
    pub validated_videos: u32,
    pub validated_transcripts: u32,
    pub validation_failures: u32,
}

impl CourseCounts {
    /// Every video migrated and validated: the course's flag may be switched on.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.validation_failures == 0
    }
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
    /// The course's learners were switched in this run: false with `"cut_over": false`, whose
    /// run ends `validated`, its flag left as it is.
    #[serde(default = "switched_by_default")]
    pub switched: bool,
}

fn switched_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlagOutcome {
    /// Whether the course's newest `CourseVideoTranscriptEnabledFlag` row is enabled now.
    pub enabled: bool,
    /// Whether this run appended that row (false when it was already enabled).
    pub appended: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_over_reads_its_names_and_false() {
        let read = |json: &str| serde_json::from_str::<CutOver>(json);
        assert_eq!(read("\"course\"").unwrap(), CutOver::Course);
        assert_eq!(read("\"video\"").unwrap(), CutOver::Video);
        assert_eq!(read("false").unwrap(), CutOver::Later);
        assert_eq!(read("\"later\"").unwrap(), CutOver::Later);
        assert_eq!(read("true").unwrap(), CutOver::Course);
        assert!(read("\"never\"").unwrap_err().to_string().contains("expected"));
        assert_eq!(serde_json::to_string(&CutOver::Later).unwrap(), "\"later\"");
    }
}

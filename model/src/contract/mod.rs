//! The contract of every activity: its name, its request and its outcome. The workflows call
//! the activities by these markers; `activities` implements each under the same name.
//!
//! The types are grouped by who calls the activity: a video's transaction ([`video`]), a
//! course run ([`course`]) or a batch ([`batch`]).

pub mod batch;
pub mod course;
pub mod video;

use temporalio_common::ActivityDefinition;

use self::batch::{CourseSelection, SelectedCourses};
use self::course::{
    BeginCourseRun, DiscoveredPage, FinishCourseRun, FlagOutcome, PageRequest, RecordFailures, ValidateRequest, ValidatedPage, VideoWriteBack,
    WriteBackPage,
};
use self::video::{CommitOutcome, CommitRequest, CompensateRequest, UploadRequest, Uploaded};
use crate::plan::VideoPlan;
use crate::video::VideoUnit;

macro_rules! activities {
    ($($(#[$doc:meta])* $marker:ident, $name:literal, $input:ty => $output:ty;)*) => {
        $(
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
        )*

        /// The name of every activity, so that a test can check the worker implements them all.
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

activities! {
    /// Plans a video: its languages in both branches against edx-val.
    Diff, "diff_video", VideoUnit => VideoPlan;
    /// Uploads one planned transcript under the key the workflow fixed.
    Upload, "upload_transcript", UploadRequest => Uploaded;
    /// Records the uploaded transcripts in edx-val, in one SQL transaction.
    Commit, "commit_video", CommitRequest => CommitOutcome;
    /// Deletes the objects of a transaction that edx-val does not reference; returns them.
    Compensate, "compensate_delete", CompensateRequest => Vec<String>;
    /// Reads one page of a course's videos, both branches merged into units, and diffs each.
    Discover, "discover_videos", PageRequest => DiscoveredPage;
    /// Writes the `edx_video_id`s of a page's videos into the copies of their blocks that have
    /// none; answers in the order of the request.
    WriteBack, "write_back_edx_video_ids", WriteBackPage => Vec<VideoWriteBack>;
    /// Checks one page of a course's videos against edx-val and S3.
    Validate, "validate_videos", ValidateRequest => ValidatedPage;
    /// Opens a course run in the course log; returns its run number.
    BeginRun, "begin_course_run", BeginCourseRun => u32;
    /// Records the failed videos of a course run in the course log.
    RecordRunFailures, "record_course_run_failures", RecordFailures => ();
    /// Closes a course run in the course log and, when it passed, switches the course's flag on.
    FinishRun, "finish_course_run", FinishCourseRun => FlagOutcome;
    /// Picks one page of a batch's courses.
    SelectCourses, "select_courses", CourseSelection => SelectedCourses;
}

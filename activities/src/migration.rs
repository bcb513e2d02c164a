//! The steps as Temporal activities, under the names `workflows::steps` declares. Bad data
//! fails without retry; a store that cannot be reached fails so that Temporal retries.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::AnyPool;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::{ActivityContext, ActivityError, activities};
use workflows::plan::VideoPlan;
use workflows::steps::{
    BeginCourseRun, CommitOutcome, CommitRequest, CompensateRequest, CourseSelection, DiscoveredPage, FinishCourseRun, FlagOutcome, PageRequest,
    RecordFailures, SelectedCourses, UploadRequest, Uploaded, ValidatedPage, VideoWriteBack, WriteBackOutcome, WriteBackPage, WriteBackRequest,
};
use workflows::video::VideoUnit;

use crate::contentstore::Contentstore;
use crate::modulestore::Modulestore;
use crate::planned_reads::PlannedReads;
use crate::s3::TranscriptBucket;
use crate::upload::UploadError;
use crate::write_back::{SplitWrites, WriteBackError};

/// The stores every activity uses, shared by all the activities a worker runs.
pub struct MigrationActivities {
    pub modulestore: Modulestore,
    pub contentstore: Contentstore,
    pub edxval: AnyPool,
    pub bucket: TranscriptBucket,
    pub split_writes: SplitWrites,
    pub planned_reads: PlannedReads,
}

/// A failure Temporal retries with the configured policy.
fn retryable(kind: &str, message: impl std::fmt::Display) -> ActivityError {
    ActivityError::application(ApplicationFailure::builder(message.to_string()).type_name(kind.to_string()).build())
}

/// Runs an activity's work until shortly before Temporal gives up on it (its start-to-close
/// deadline), then fails it so that Temporal retries: a call that a network black hole
/// swallowed would otherwise hold one of the worker's activity slots for ever.
async fn before_deadline<T>(ctx: &ActivityContext, work: impl Future<Output = Result<T, ActivityError>>) -> Result<T, ActivityError> {
    let info = ctx.info();
    let Some(deadline) = info.deadline else { return work.await };
    let left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
    let limit = left.saturating_sub((left / 10).min(Duration::from_secs(5)));
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => {
            // A local step's retries never reach the history: this line is how an operator (and
            // the network-fault test) sees a call given up.
            tracing::warn!(activity = %info.activity_type, attempt = info.attempt, seconds = limit.as_secs(), "gave up waiting for the stores; the step will be retried");
            Err(retryable(
                "StoreTimeout",
                format!("{} (attempt {}): no answer from the stores within {} s", info.activity_type, info.attempt, limit.as_secs()),
            ))
        }
    }
}

/// A failure no retry can fix.
fn final_failure(kind: &str, message: impl std::fmt::Display) -> ActivityError {
    ActivityError::application(ApplicationFailure::builder(message.to_string()).type_name(kind.to_string()).non_retryable(true).build())
}

#[activities]
impl MigrationActivities {
    #[activity(name = "select_courses")]
    pub async fn select_courses(self: Arc<Self>, ctx: ActivityContext, selection: CourseSelection) -> Result<SelectedCourses, ActivityError> {
        before_deadline(&ctx, async {
            crate::select_courses::select_courses(&self.modulestore, &self.edxval, &selection).await.map_err(|e| retryable("StoreUnavailable", e))
        })
        .await
    }

    #[activity(name = "diff_video")]
    pub async fn diff(self: Arc<Self>, ctx: ActivityContext, unit: VideoUnit) -> Result<VideoPlan, ActivityError> {
        before_deadline(&ctx, async {
            crate::diff::diff_video(&self.contentstore, &self.edxval, &unit, &self.planned_reads).await.map_err(|e| retryable("StoreUnavailable", e))
        })
        .await
    }

    #[activity(name = "upload_transcript")]
    pub async fn upload(self: Arc<Self>, ctx: ActivityContext, request: UploadRequest) -> Result<Uploaded, ActivityError> {
        before_deadline(&ctx, async {
            let UploadRequest { unit, language, planned, key } = &request;
            crate::upload::upload_transcript(&self.contentstore, &self.bucket, &self.planned_reads, unit, language, planned, key).await.map_err(|e| {
                match e {
                    UploadError::Store(m) => retryable("StoreUnavailable", m),
                    UploadError::Changed(m) => final_failure("TranscriptChanged", m),
                    UploadError::Conflict(m) => final_failure("ObjectConflict", m),
                }
            })
        })
        .await
    }

    #[activity(name = "commit_video")]
    pub async fn commit(self: Arc<Self>, ctx: ActivityContext, request: CommitRequest) -> Result<CommitOutcome, ActivityError> {
        before_deadline(&ctx, async {
            crate::commit::commit_video(&self.edxval, &request)
                .await
                .map_err(|e| retryable("CommitFailed", format!("course {}: edx-val transaction rolled back: {e}", request.course_key)))
        })
        .await
    }

    #[activity(name = "compensate_delete")]
    pub async fn compensate(self: Arc<Self>, ctx: ActivityContext, request: CompensateRequest) -> Result<Vec<String>, ActivityError> {
        before_deadline(&ctx, async {
            crate::compensate::compensate(&self.bucket, &self.edxval, &request.keys).await.map_err(|e| retryable("StoreUnavailable", e))
        })
        .await
    }

    #[activity(name = "write_back_edx_video_id")]
    pub async fn write_back(self: Arc<Self>, ctx: ActivityContext, request: WriteBackRequest) -> Result<WriteBackOutcome, ActivityError> {
        before_deadline(&ctx, async {
            crate::write_back::write_back(&self.modulestore, &self.edxval, &self.split_writes, &request).await.map_err(|e| match e {
                WriteBackError::Store(m) => retryable("StoreUnavailable", m),
                WriteBackError::Conflict(m) => final_failure("WriteBackConflict", m),
            })
        })
        .await
    }

    #[activity(name = "write_back_page_edx_video_ids")]
    pub async fn write_back_page(self: Arc<Self>, ctx: ActivityContext, page: WriteBackPage) -> Result<Vec<VideoWriteBack>, ActivityError> {
        before_deadline(&ctx, async {
            crate::write_back::write_back_page(&self.modulestore, &self.edxval, &page).await.map_err(|e| retryable("StoreUnavailable", e.to_string()))
        })
        .await
    }

    #[activity(name = "discover_videos")]
    pub async fn discover(self: Arc<Self>, ctx: ActivityContext, request: PageRequest) -> Result<DiscoveredPage, ActivityError> {
        before_deadline(&ctx, async {
            crate::discover::discover(&self.modulestore, &request)
                .await
                .map_err(|e| retryable("StoreUnavailable", format!("course {}: modulestore: {e}", request.course_key)))
        })
        .await
    }

    #[activity(name = "validate_videos")]
    pub async fn validate(self: Arc<Self>, ctx: ActivityContext, request: PageRequest) -> Result<ValidatedPage, ActivityError> {
        before_deadline(&ctx, async {
            crate::validate::validate(&self.modulestore, &self.edxval, &self.bucket, &request)
                .await
                .map_err(|e| retryable("StoreUnavailable", format!("course {}: {e}", request.course_key)))
        })
        .await
    }

    #[activity(name = "begin_course_run")]
    pub async fn begin_course_run(self: Arc<Self>, ctx: ActivityContext, run: BeginCourseRun) -> Result<u32, ActivityError> {
        before_deadline(&ctx, async {
            crate::course_log::begin(&self.edxval, &run)
                .await
                .map_err(|e| retryable("StoreUnavailable", format!("course {}: course log: {e}", run.course_key)))
        })
        .await
    }

    #[activity(name = "record_course_run_failures")]
    pub async fn record_failures(self: Arc<Self>, ctx: ActivityContext, record: RecordFailures) -> Result<(), ActivityError> {
        before_deadline(&ctx, async {
            crate::course_log::record_failures(&self.edxval, &record)
                .await
                .map_err(|e| retryable("StoreUnavailable", format!("course {}: course log: {e}", record.course_key)))
        })
        .await
    }

    #[activity(name = "finish_course_run")]
    pub async fn finish_course_run(self: Arc<Self>, ctx: ActivityContext, finish: FinishCourseRun) -> Result<FlagOutcome, ActivityError> {
        before_deadline(&ctx, async {
            crate::course_log::finish(&self.edxval, &finish)
                .await
                .map_err(|e| retryable("StoreUnavailable", format!("course {}: course log: {e}", finish.course_key)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use temporalio_common::ActivityDefinition;
    use workflows::steps::{BeginRun, Commit, Compensate, Diff, Discover, FinishRun, RecordRunFailures, SelectCourses, Upload, Validate, WriteBack};

    use super::MigrationActivities;

    #[test]
    fn implemented_under_the_names_the_workflows_call() {
        assert_eq!(MigrationActivities::select_courses.name(), SelectCourses.name());
        assert_eq!(MigrationActivities::diff.name(), Diff.name());
        assert_eq!(MigrationActivities::upload.name(), Upload.name());
        assert_eq!(MigrationActivities::commit.name(), Commit.name());
        assert_eq!(MigrationActivities::compensate.name(), Compensate.name());
        assert_eq!(MigrationActivities::write_back.name(), WriteBack.name());
        assert_eq!(MigrationActivities::discover.name(), Discover.name());
        assert_eq!(MigrationActivities::validate.name(), Validate.name());
        assert_eq!(MigrationActivities::begin_course_run.name(), BeginRun.name());
        assert_eq!(MigrationActivities::record_failures.name(), RecordRunFailures.name());
        assert_eq!(MigrationActivities::finish_course_run.name(), FinishRun.name());
    }
}

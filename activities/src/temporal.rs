//! The steps registered as Temporal activities, under the names of `model::contract`. Each
//! wrapper runs its step through [`step`]: bad data fails without retry, a store that cannot
//! be reached fails so that Temporal retries, and no call outlives the activity's deadline.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use model::contract::batch::{CourseSelection, SelectedCourses};
use model::contract::course::{
    BeginCourseRun, DiscoveredPage, FinishCourseRun, FlagOutcome, PageRequest, RecordFailures, ValidateRequest, ValidatedPage, VideoWriteBack,
    WriteBackPage,
};
use model::contract::video::{CommitOutcome, CommitRequest, CompensateRequest, UploadRequest, Uploaded};
use model::plan::VideoPlan;
use model::video::VideoUnit;
use sqlx::AnyPool;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::{ActivityContext, ActivityError, activities};

use crate::metrics::MigrationMetrics;
use crate::steps::Stores;
use crate::steps::planned_reads::PlannedReads;
use crate::steps::shared_videos::OtherCourses;
use crate::steps::upload::UploadError;
use crate::steps::{commit, compensate, diff, discover, select_courses, upload, validate, write_back};
use crate::stores::contentstore::Contentstore;
use crate::stores::course_log;
use crate::stores::modulestore::Modulestore;
use crate::stores::s3::TranscriptBucket;

/// The stores every activity uses, shared by all the activities a worker runs.
pub struct MigrationActivities {
    pub modulestore: Modulestore,
    pub contentstore: Contentstore,
    pub edxval: AnyPool,
    pub bucket: TranscriptBucket,
    pub planned_reads: PlannedReads,
    pub other_courses: OtherCourses,
    /// Set once this worker has made sure the migration's own tables exist.
    pub tables: tokio::sync::OnceCell<()>,
    pub metrics: Arc<MigrationMetrics>,
}

impl MigrationActivities {
    /// The migration's own tables, created where missing, once per worker: a video migrated on
    /// its own commits into the ledger before any course run has created it.
    async fn own_tables(&self) -> Result<(), sqlx::Error> {
        self.tables.get_or_try_init(|| course_log::ensure_tables(&self.edxval)).await.map(|_| ())
    }

    /// Runs a step (see `run_step`), counted as running meanwhile.
    async fn step<T>(&self, ctx: &ActivityContext, work: impl Future<Output = Result<T, StepFailure>>) -> Result<T, ActivityError> {
        let _running = self.metrics.step_running(&ctx.info().activity_type);
        run_step(ctx, work).await
    }

    /// Counts a plan's problems; logs a video with nothing to migrate.
    fn planned(&self, unit: &VideoUnit, plan: &VideoPlan) {
        plan.failures.iter().chain(&plan.skipped).for_each(|problem| self.metrics.problem(&problem.kind));
        if plan.failures.is_empty() && plan.migrate.is_empty() {
            let video = &unit.usage_key;
            tracing::info!(course_key = %video.course, usage_key = %video, edx_video_id = %plan.edx_video_id, "video has nothing to migrate");
        }
    }

    pub fn stores(&self) -> Stores<'_> {
        Stores { modulestore: &self.modulestore, contentstore: &self.contentstore, edxval: &self.edxval, bucket: &self.bucket }
    }
}

/// Why a step failed, as Temporal is told: its type name, and whether a retry can help.
pub struct StepFailure {
    kind: &'static str,
    message: String,
    retryable: bool,
}

impl StepFailure {
    /// A store could not be reached: Temporal retries with the configured policy.
    pub fn store(message: impl std::fmt::Display) -> Self {
        Self::retryable("StoreUnavailable", message)
    }

    /// A retry may help.
    pub fn retryable(kind: &'static str, message: impl std::fmt::Display) -> Self {
        Self { kind, message: message.to_string(), retryable: true }
    }

    /// No retry can fix it.
    pub fn fatal(kind: &'static str, message: impl std::fmt::Display) -> Self {
        Self { kind, message: message.to_string(), retryable: false }
    }
}

impl From<StepFailure> for ActivityError {
    fn from(failure: StepFailure) -> Self {
        let StepFailure { kind, message, retryable } = failure;
        ActivityError::application(ApplicationFailure::builder(message).type_name(kind.to_string()).non_retryable(!retryable).build())
    }
}

impl From<UploadError> for StepFailure {
    fn from(error: UploadError) -> Self {
        match error {
            UploadError::Store(m) => StepFailure::store(m),
            UploadError::Changed(m) => StepFailure::fatal("TranscriptChanged", m),
            UploadError::Conflict(m) => StepFailure::fatal("ObjectConflict", m),
        }
    }
}

/// Runs a step's work until shortly before Temporal gives up on the activity (its start-to-close
/// deadline), then fails it so that Temporal retries: a call that a network black hole
/// swallowed would otherwise hold one of the worker's activity slots for ever.
async fn run_step<T>(ctx: &ActivityContext, work: impl Future<Output = Result<T, StepFailure>>) -> Result<T, ActivityError> {
    let info = ctx.info();
    let Some(deadline) = info.deadline else { return Ok(work.await?) };
    let left = deadline.duration_since(SystemTime::now()).unwrap_or_default();
    let limit = left.saturating_sub((left / 10).min(Duration::from_secs(5)));
    match tokio::time::timeout(limit, work).await {
        Ok(result) => Ok(result?),
        Err(_) => {
            // A local step's retries never reach the history: this line is how an operator (and
            // the network-fault test) sees a call given up.
            tracing::warn!(activity = %info.activity_type, attempt = info.attempt, seconds = limit.as_secs(), "gave up waiting for the stores; the step will be retried");
            let message = format!("{} (attempt {}): no answer from the stores within {} s", info.activity_type, info.attempt, limit.as_secs());
            Err(StepFailure::retryable("StoreTimeout", message).into())
        }
    }
}

#[activities]
impl MigrationActivities {
    #[activity(name = "diff_video")]
    pub async fn diff(self: Arc<Self>, ctx: ActivityContext, unit: VideoUnit) -> Result<VideoPlan, ActivityError> {
        let plan = self
            .step(&ctx, async { diff::diff_video(&self.stores(), &self.other_courses, &unit, &self.planned_reads).await.map_err(StepFailure::store) })
            .await?;
        self.planned(&unit, &plan);
        Ok(plan)
    }

    #[activity(name = "upload_transcript")]
    pub async fn upload(self: Arc<Self>, ctx: ActivityContext, request: UploadRequest) -> Result<Uploaded, ActivityError> {
        let UploadRequest { unit, language, planned, key } = &request;
        self.step(&ctx, async {
            Ok(upload::upload_transcript(&self.contentstore, &self.bucket, &self.planned_reads, unit, language, planned, key).await?)
        })
        .await
    }

    #[activity(name = "commit_video")]
    pub async fn commit(self: Arc<Self>, ctx: ActivityContext, request: CommitRequest) -> Result<CommitOutcome, ActivityError> {
        let video = &request.usage_key;
        let (committed, created) = self
            .step(&ctx, async {
                let committed = async {
                    self.own_tables().await?;
                    commit::commit_video(&self.edxval, &request).await
                };
                committed.await.map_err(|e| {
                    StepFailure::retryable("CommitFailed", format!("course {}, video {video}: edx-val transaction rolled back: {e}", video.course))
                })
            })
            .await?;
        tracing::info!(
            course_key = %video.course,
            usage_key = %video,
            edx_video_id = %committed.edx_video_id,
            recorded = committed.recorded.len(),
            kept_users = committed.kept_users.len(),
            "video migrated"
        );
        if created.transcripts > 0 {
            self.metrics.committed(created.transcripts, created.bytes);
        }
        Ok(committed)
    }

    #[activity(name = "compensate_delete")]
    pub async fn compensate(self: Arc<Self>, ctx: ActivityContext, request: CompensateRequest) -> Result<Vec<String>, ActivityError> {
        self.step(&ctx, async { compensate::compensate(&self.bucket, &self.edxval, &request.keys).await.map_err(StepFailure::store) }).await
    }

    #[activity(name = "discover_videos")]
    pub async fn discover(self: Arc<Self>, ctx: ActivityContext, request: PageRequest) -> Result<DiscoveredPage, ActivityError> {
        let page = self
            .step(&ctx, async {
                discover::discover(&self.stores(), &self.other_courses, &self.planned_reads, &request).await.map_err(StepFailure::store)
            })
            .await?;
        page.videos.iter().for_each(|video| self.planned(&video.unit, &video.plan));
        Ok(page)
    }

    #[activity(name = "write_back_edx_video_ids")]
    pub async fn write_back(self: Arc<Self>, ctx: ActivityContext, page: WriteBackPage) -> Result<Vec<VideoWriteBack>, ActivityError> {
        self.step(&ctx, async {
            self.own_tables().await.map_err(|e| StepFailure::store(format!("course {}: the ledger: {e}", page.course_key)))?;
            write_back::write_back_page(&self.modulestore, &self.edxval, &page).await.map_err(StepFailure::store)
        })
        .await
    }

    #[activity(name = "validate_videos")]
    pub async fn validate(self: Arc<Self>, ctx: ActivityContext, request: ValidateRequest) -> Result<ValidatedPage, ActivityError> {
        self.step(&ctx, async {
            let course = &request.page.course_key;
            validate::validate(&self.stores(), &request).await.map_err(|e| StepFailure::store(format!("course {course}: {e}")))
        })
        .await
    }

    #[activity(name = "begin_course_run")]
    pub async fn begin_course_run(self: Arc<Self>, ctx: ActivityContext, run: BeginCourseRun) -> Result<u32, ActivityError> {
        self.step(&ctx, async { course_log::begin(&self.edxval, &run).await.map_err(|e| course_log_failure(&run.course_key, e)) }).await
    }

    #[activity(name = "record_course_run_failures")]
    pub async fn record_failures(self: Arc<Self>, ctx: ActivityContext, record: RecordFailures) -> Result<(), ActivityError> {
        self.step(&ctx, async { course_log::record_failures(&self.edxval, &record).await.map_err(|e| course_log_failure(&record.course_key, e)) })
            .await?;
        self.metrics.videos_failed(record.failures.len() as u64);
        for failure in &record.failures {
            tracing::warn!(course_key = %record.course_key, usage_key = %failure.usage_key, run_number = record.run_number, reason = %failure.message, "video failed");
        }
        Ok(())
    }

    #[activity(name = "finish_course_run")]
    pub async fn finish_course_run(self: Arc<Self>, ctx: ActivityContext, finish: FinishCourseRun) -> Result<FlagOutcome, ActivityError> {
        let flag =
            self.step(&ctx, async { course_log::finish(&self.edxval, &finish).await.map_err(|e| course_log_failure(&finish.course_key, e)) }).await?;
        let counts = &finish.counts;
        tracing::info!(
            course_key = %finish.course_key,
            run_number = finish.run_number,
            passed = finish.passed,
            videos = counts.videos,
            migrated = counts.migrated,
            failed = counts.failed,
            transcripts_migrated = counts.transcripts_migrated,
            flag_enabled = flag.enabled,
            "course run finished"
        );
        Ok(flag)
    }

    #[activity(name = "select_courses")]
    pub async fn select_courses(self: Arc<Self>, ctx: ActivityContext, selection: CourseSelection) -> Result<SelectedCourses, ActivityError> {
        self.step(&ctx, async { select_courses::select_courses(&self.modulestore, &self.edxval, &selection).await.map_err(StepFailure::store) }).await
    }
}

fn course_log_failure(course: &model::CourseKey, error: sqlx::Error) -> StepFailure {
    StepFailure::store(format!("course {course}: course log: {error}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use model::contract::*;
    use temporalio_common::ActivityDefinition;

    use super::MigrationActivities;

    /// The names of an implementation and of the contract it must implement; it compiles only
    /// where their request and outcome types are the same.
    fn pair<I: ActivityDefinition, C: ActivityDefinition<Input = I::Input, Output = I::Output>>(implemented: I, contract: C) -> (String, String) {
        (implemented.name().to_string(), contract.name().to_string())
    }

    #[test]
    fn every_activity_of_the_contract_is_implemented_under_its_name() {
        let pairs = [
            pair(MigrationActivities::diff, Diff),
            pair(MigrationActivities::upload, Upload),
            pair(MigrationActivities::commit, Commit),
            pair(MigrationActivities::compensate, Compensate),
            pair(MigrationActivities::discover, Discover),
            pair(MigrationActivities::write_back, WriteBack),
            pair(MigrationActivities::validate, Validate),
            pair(MigrationActivities::begin_course_run, BeginRun),
            pair(MigrationActivities::record_failures, RecordRunFailures),
            pair(MigrationActivities::finish_course_run, FinishRun),
            pair(MigrationActivities::select_courses, SelectCourses),
        ];
        for (implemented, contract) in &pairs {
            assert_eq!(implemented, contract);
        }
        let implemented: BTreeSet<&str> = pairs.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(implemented, NAMES.iter().copied().collect::<BTreeSet<_>>(), "every activity of the contract");
    }
}

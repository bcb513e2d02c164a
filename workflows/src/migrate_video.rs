//! `MigrateVideo`: the atomic unit. One video's transaction: diff, upload each missing
//! language, commit them to edx-val in one SQL transaction; on any failure after the first
//! upload, compensate-delete what this transaction wrote, so S3 is as it was before it.
//! Once edx-val holds the transcripts, the video's `edx_video_id` is written into the copies
//! of the block that have none: by the course run, for its whole page at once (see
//! `MigrateCourse`), or by this workflow in runs started before the `page-write-back` patch.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::error::IncomingError;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityExecutionError, ActivityOptions, ApplicationFailure, LocalActivityOptions, WorkflowContext, WorkflowContextView, WorkflowResult,
};

use crate::UsageKey;
use crate::ids;
use crate::operate::read_input;
use crate::plan::VideoPlan;
use crate::steps::{
    Commit, CommitOutcome, CommitRequest, Compensate, CompensateRequest, Diff, Upload, UploadRequest, WriteBack, WriteBackOutcome, WriteBackRequest,
};
use crate::video::VideoUnit;

/// How activities are retried: the seeds' policy is 2 s between attempts, 3 attempts at most.
/// An attempt that has not finished after `activity_timeout_seconds` (its worker died, say) is
/// retried on another worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrySettings {
    pub initial_interval_ms: u64,
    pub maximum_attempts: u32,
    #[serde(default = "default_activity_timeout")]
    pub activity_timeout_seconds: u64,
}

fn default_activity_timeout() -> u64 {
    300
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self { initial_interval_ms: 2000, maximum_attempts: 6, activity_timeout_seconds: default_activity_timeout() }
    }
}

/// How often a step is attempted: `maximum_attempts` (0: no limit), at most `maximum_interval`
/// apart.
#[derive(Debug, Clone, Copy)]
struct Attempts {
    maximum_attempts: u32,
    maximum_interval: Duration,
}

impl RetrySettings {
    pub fn activity_options(&self) -> ActivityOptions {
        self.options(self.step_attempts())
    }

    /// Temporal's own default for the longest wait: 100 times the first.
    fn step_attempts(&self) -> Attempts {
        Attempts { maximum_attempts: self.maximum_attempts, maximum_interval: Duration::from_millis(self.initial_interval_ms.saturating_mul(100)) }
    }

    /// A rollback is retried until it succeeds (at most a minute apart), so an outage of S3
    /// delays it but never leaves the objects of a failed transaction behind.
    fn rollback_attempts(&self) -> Attempts {
        Attempts { maximum_attempts: 0, maximum_interval: Duration::from_secs(60) }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.activity_timeout_seconds.max(1))
    }

    fn retry_policy(&self, attempts: Attempts) -> RetryPolicy {
        RetryPolicy::builder()
            .initial_interval(Duration::from_millis(self.initial_interval_ms))
            .backoff_coefficient(2.0)
            .maximum_interval(attempts.maximum_interval)
            .maximum_attempts(attempts.maximum_attempts)
            .build()
    }

    fn options(&self, attempts: Attempts) -> ActivityOptions {
        ActivityOptions::with_start_to_close_timeout(self.timeout()).retry_policy(self.retry_policy(attempts)).build()
    }

    fn local_options(&self, attempts: Attempts, summary: String) -> LocalActivityOptions {
        LocalActivityOptions::builder().start_to_close_timeout(self.timeout()).retry_policy(self.retry_policy(attempts)).summary(summary).build()
    }
}

/// Runs since this patch take their steps as local activities.
pub const LOCAL_STEPS: &str = "local-steps";

/// Runs since this patch diff in an ordinary activity, so that the plan is in the history before
/// anything is written, and take their other steps as local activities. Runs between
/// `local-steps` and this patch recorded the plan with a timer.
pub const RECORDED_DIFF: &str = "recorded-diff";

/// How a video's steps run. Since the `local-steps` patch they are local activities: the worker
/// that runs the video's workflow task runs them, and each leaves one marker in the history
/// instead of three events and a trip through the task queue. The retry policy and timeout are
/// the same either way. Runs started before the patch replay with the activities they scheduled.
struct Steps {
    local: bool,
    retry: RetrySettings,
}

impl Steps {
    async fn run<AD>(
        &self,
        ctx: &WorkflowContext<MigrateVideo>,
        activity: AD,
        input: AD::Input,
        summary: String,
    ) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        self.call(ctx, activity, input, self.retry.step_attempts(), summary).await
    }

    /// A rollback: retried until it succeeds.
    async fn rollback(
        &self,
        ctx: &WorkflowContext<MigrateVideo>,
        request: CompensateRequest,
        summary: String,
    ) -> Result<Vec<String>, ActivityExecutionError> {
        self.call(ctx, Compensate, request, self.retry.rollback_attempts(), summary).await
    }

    async fn call<AD>(
        &self,
        ctx: &WorkflowContext<MigrateVideo>,
        activity: AD,
        input: AD::Input,
        attempts: Attempts,
        summary: String,
    ) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        match self.local {
            true => ctx.execute_local_activity(activity, input, self.retry.local_options(attempts, summary)).await,
            false => ctx.execute_activity(activity, input, summarized(&self.retry.options(attempts), summary)).await,
        }
    }
}

/// `options` with a summary, the line the Temporal UI shows for the activity.
pub fn summarized(options: &ActivityOptions, summary: String) -> ActivityOptions {
    let mut options = options.clone();
    options.summary = Some(summary);
    options
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrateVideoInput {
    pub unit: VideoUnit,
    /// Plan only: nothing is written anywhere.
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub retry: RetrySettings,
    /// The course run writes the video's id back, with the rest of its page, after this
    /// workflow ends (since `page-write-back`): this workflow leaves it to the course run.
    #[serde(default)]
    pub write_back_by_course: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoOutcome {
    Migrated,
    NothingToMigrate,
    /// A dry run: the plan says what would be migrated.
    Planned,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoResult {
    pub usage_key: String,
    pub outcome: VideoOutcome,
    pub plan: VideoPlan,
    pub commit: Option<CommitOutcome>,
    /// Objects deleted again: ours for languages a user recorded meanwhile.
    pub compensated: Vec<String>,
    /// Where the video's `edx_video_id` was written into the block.
    #[serde(default)]
    pub write_back: Option<WriteBackOutcome>,
}

impl VideoResult {
    /// The write-back the video needs: its transcripts are in edx-val and copies of its block
    /// have no `edx_video_id`. A video with nothing to migrate needs it only when edx-val holds
    /// transcripts (an earlier run may have recorded them and failed to write the id back).
    pub fn write_back_request(&self, usage_key: &UsageKey) -> Option<WriteBackRequest> {
        let recorded = match self.outcome {
            VideoOutcome::Migrated => true,
            VideoOutcome::NothingToMigrate => !self.plan.already_in_edxval.is_empty(),
            VideoOutcome::Planned => false,
        };
        (recorded && !self.plan.write_back.is_empty()).then(|| WriteBackRequest {
            usage_key: usage_key.clone(),
            edx_video_id: self.plan.edx_video_id.clone(),
            branches: self.plan.write_back.clone(),
        })
    }
}

/// Why a video failed whose transcripts edx-val holds but whose block does not name them.
pub fn write_back_failed(usage_key: &UsageKey, edx_video_id: &str, reason: &str) -> String {
    format!("video {usage_key}: edx-val holds its transcripts under {edx_video_id}, but writing that edx_video_id into the block failed: {reason}")
}

/// What the transaction is doing, for `temporal workflow query --type stage`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    pub step: String,
    pub uploaded: usize,
    pub to_upload: usize,
}

#[workflow]
#[derive(Default)]
pub struct MigrateVideo {
    stage: Stage,
}

/// The type and message of an activity's failure (the SDK's own message says only that an
/// activity failed).
pub fn describe(error: &ActivityExecutionError) -> String {
    match error.cause() {
        Some(IncomingError::Application(app)) => {
            format!("{}: {app}", app.type_name().unwrap_or("Error"))
        }
        Some(other) => other.to_string(),
        None => error.to_string(),
    }
}

fn is_type(error: &ActivityExecutionError, type_name: &str) -> bool {
    matches!(error.cause(), Some(IncomingError::Application(app)) if app.type_name() == Some(type_name))
}

fn video_failed(message: String) -> temporalio_sdk::WorkflowTermination {
    ApplicationFailure::builder(message).type_name("VideoFailed".to_string()).non_retryable(true).build().into()
}

#[workflow_methods]
impl MigrateVideo {
    #[run(name = "MigrateVideo")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, raw: serde_json::Value) -> WorkflowResult<VideoResult> {
        let input: MigrateVideoInput = read_input("MigrateVideo", raw)?;
        let usage_key = input.unit.usage_key.to_string();
        // Each patch costs a marker and a search attribute update per video: a run since
        // `recorded-diff` takes local steps without asking for `local-steps` too. The history of
        // an earlier run has no `recorded-diff` marker, so `patched` says false and it goes on
        // with the patch it was started under.
        let recorded_diff = ctx.patched(RECORDED_DIFF);
        let steps = Steps { local: recorded_diff || ctx.patched(LOCAL_STEPS), retry: input.retry.clone() };
        let set_step = |ctx: &mut WorkflowContext<Self>, step: &str| ctx.state_mut(|s| s.stage.step = step.into());

        set_step(ctx, "diff");
        // Local steps reach the history only when the workflow task completes. The plan must be
        // there before anything is written: a worker that dies later leaves a run that replays
        // this plan, instead of diffing again and taking its own commit for an earlier one. So
        // the diff is an ordinary activity: scheduling it ends the workflow task.
        let diff_step = Steps { local: steps.local && !recorded_diff, retry: input.retry.clone() };
        let plan = diff_step
            .run(ctx, Diff, input.unit.clone(), format!("diff {usage_key}"))
            .await
            .map_err(|e| video_failed(format!("video {usage_key}: the diff failed: {}", describe(&e))))?;
        if !plan.failures.is_empty() {
            let reasons: Vec<&str> = plan.failures.iter().map(|f| f.message.as_str()).collect();
            return Err(video_failed(reasons.join("\n")));
        }
        if steps.local && !recorded_diff && !input.dry_run && !plan.migrate.is_empty() {
            // How runs before `recorded-diff` recorded the plan: a wait ends the workflow task.
            ctx.timer(Duration::from_millis(1)).await;
        }
        let result =
            |outcome, plan, commit, compensated| VideoResult { usage_key: usage_key.clone(), outcome, plan, commit, compensated, write_back: None };
        if input.dry_run {
            return Ok(result(VideoOutcome::Planned, plan, None, vec![]));
        }
        if plan.migrate.is_empty() {
            let mut video = result(VideoOutcome::NothingToMigrate, plan, None, vec![]);
            video.write_back = Self::write_back(ctx, &steps, &input, &video).await?;
            return Ok(video);
        }

        let run_id = ctx.run_id().to_string();
        ctx.state_mut(|s| s.stage.to_upload = plan.migrate.len());
        set_step(ctx, "upload");
        let mut written: Vec<String> = Vec::new();
        let mut uploaded: BTreeMap<String, String> = BTreeMap::new();
        for (language, planned) in &plan.migrate {
            let key = ids::transcript_key(&run_id, &usage_key, language);
            let request = UploadRequest { unit: input.unit.clone(), language: language.clone(), planned: planned.clone(), key: key.clone() };
            match steps.run(ctx, Upload, request, format!("upload {language} of {usage_key}")).await {
                Ok(_) => {
                    written.push(key.clone());
                    uploaded.insert(language.clone(), key);
                    ctx.state_mut(|s| s.stage.uploaded += 1);
                }
                Err(error) => {
                    // Only a conflict proves the key holds someone else's object; after any other
                    // failure the object may be ours, written before the answer was lost.
                    if !is_type(&error, "ObjectConflict") {
                        written.push(key);
                    }
                    let undone = Self::compensate(ctx, &steps, written).await;
                    return Err(video_failed(format!("video {usage_key}, language {language}: the upload failed: {}; {undone}", describe(&error))));
                }
            }
        }

        set_step(ctx, "commit");
        let request = CommitRequest {
            course_key: input.unit.usage_key.course.to_string(),
            edx_video_id: plan.edx_video_id.clone(),
            transcripts: uploaded.clone(),
        };
        let summary =
            format!("commit {} to edx-val video {}", request.transcripts.keys().cloned().collect::<Vec<_>>().join(", "), request.edx_video_id);
        let commit = match steps.run(ctx, Commit, request, summary).await {
            Ok(commit) => commit,
            Err(error) => {
                let undone = Self::compensate(ctx, &steps, written).await;
                return Err(video_failed(format!("video {usage_key}: the commit failed: {}; {undone}", describe(&error))));
            }
        };
        // Our objects for languages a user recorded meanwhile are garbage now.
        let garbage: Vec<String> = commit.kept_users.iter().filter_map(|l| uploaded.get(l).cloned()).collect();
        let mut compensated = Vec::new();
        if !garbage.is_empty() {
            set_step(ctx, "compensate");
            compensated = steps
                .rollback(ctx, CompensateRequest { keys: garbage }, "delete the objects users' rows made unused".into())
                .await
                .map_err(|e| video_failed(format!("video {usage_key}: removing unused objects failed: {}", describe(&e))))?;
        }
        let mut video = result(VideoOutcome::Migrated, plan, Some(commit), compensated);
        video.write_back = Self::write_back(ctx, &steps, &input, &video).await?;
        set_step(ctx, "done");
        Ok(video)
    }

    #[query]
    pub fn stage(&self, _ctx: &WorkflowContextView) -> Stage {
        self.stage.clone()
    }
}

impl MigrateVideo {
    /// Writes the video's id into the copies of the block that have none, unless the course run
    /// does. edx-val keeps the transcripts if this fails: the video fails, and its next run
    /// writes the id again.
    async fn write_back(
        ctx: &mut WorkflowContext<Self>,
        steps: &Steps,
        input: &MigrateVideoInput,
        video: &VideoResult,
    ) -> WorkflowResult<Option<WriteBackOutcome>> {
        let Some(request) = video.write_back_request(&input.unit.usage_key).filter(|_| !input.write_back_by_course) else {
            return Ok(None);
        };
        ctx.state_mut(|s| s.stage.step = "write back".into());
        let summary = format!("write {} back into {}", request.edx_video_id, request.usage_key);
        let edx_video_id = request.edx_video_id.clone();
        let outcome = steps
            .run(ctx, WriteBack, request, summary)
            .await
            .map_err(|e| video_failed(write_back_failed(&input.unit.usage_key, &edx_video_id, &describe(&e))))?;
        Ok(Some(outcome))
    }

    /// Deletes what the transaction wrote and edx-val does not reference; says what happened.
    async fn compensate(ctx: &mut WorkflowContext<Self>, steps: &Steps, keys: Vec<String>) -> String {
        ctx.state_mut(|s| s.stage.step = "compensate".into());
        let summary = format!("roll back: delete {} objects", keys.len());
        match steps.rollback(ctx, CompensateRequest { keys: keys.clone() }, summary).await {
            Ok(deleted) => format!("rolled back: deleted {} object(s) this transaction wrote", deleted.len()),
            Err(error) => format!("rolling back FAILED, these objects may remain: {} ({})", keys.join(", "), describe(&error)),
        }
    }
}

//! `MigrateVideo`: the atomic unit. One video's transaction: diff, upload each missing
//! language, commit them to edx-val in one SQL transaction; on any failure after the first
//! upload, compensate-delete what this transaction wrote, so S3 is as it was before it.
//! Once edx-val holds the transcripts, the video's `edx_video_id` is written into the copies
//! of the block that have none.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use temporalio_common::RetryPolicy;
use temporalio_common::error::IncomingError;
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{ActivityExecutionError, ActivityOptions, ApplicationFailure, WorkflowContext, WorkflowContextView, WorkflowResult};

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

impl RetrySettings {
    pub fn activity_options(&self) -> ActivityOptions {
        // Temporal's own default for the longest wait: 100 times the first.
        self.options(self.maximum_attempts, Duration::from_millis(self.initial_interval_ms.saturating_mul(100)))
    }

    /// A rollback is retried until it succeeds (at most a minute apart), so an outage of S3
    /// delays it but never leaves the objects of a failed transaction behind.
    pub fn rollback_options(&self) -> ActivityOptions {
        self.options(0, Duration::from_secs(60))
    }

    /// `maximum_attempts` 0: no limit.
    fn options(&self, maximum_attempts: u32, maximum_interval: Duration) -> ActivityOptions {
        ActivityOptions::with_start_to_close_timeout(Duration::from_secs(self.activity_timeout_seconds.max(1)))
            .retry_policy(
                RetryPolicy::builder()
                    .initial_interval(Duration::from_millis(self.initial_interval_ms))
                    .backoff_coefficient(2.0)
                    .maximum_interval(maximum_interval)
                    .maximum_attempts(maximum_attempts)
                    .build(),
            )
            .build()
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
        let options = input.retry.activity_options();
        let rollback = input.retry.rollback_options();
        let set_step = |ctx: &mut WorkflowContext<Self>, step: &str| ctx.state_mut(|s| s.stage.step = step.into());

        set_step(ctx, "diff");
        let plan = ctx
            .execute_activity(Diff, input.unit.clone(), summarized(&options, format!("diff {usage_key}")))
            .await
            .map_err(|e| video_failed(format!("video {usage_key}: the diff failed: {}", describe(&e))))?;
        if !plan.failures.is_empty() {
            let reasons: Vec<&str> = plan.failures.iter().map(|f| f.message.as_str()).collect();
            return Err(video_failed(reasons.join("\n")));
        }
        let result =
            |outcome, plan, commit, compensated| VideoResult { usage_key: usage_key.clone(), outcome, plan, commit, compensated, write_back: None };
        if input.dry_run {
            return Ok(result(VideoOutcome::Planned, plan, None, vec![]));
        }
        if plan.migrate.is_empty() {
            // An earlier run may have recorded the transcripts and failed to write the id back.
            let write_back = match plan.already_in_edxval.is_empty() {
                true => None,
                false => Self::write_back(ctx, &input, &plan, options.clone()).await?,
            };
            return Ok(VideoResult { write_back, ..result(VideoOutcome::NothingToMigrate, plan, None, vec![]) });
        }

        let run_id = ctx.run_id().to_string();
        ctx.state_mut(|s| s.stage.to_upload = plan.migrate.len());
        set_step(ctx, "upload");
        let mut written: Vec<String> = Vec::new();
        let mut uploaded: BTreeMap<String, String> = BTreeMap::new();
        for (language, planned) in &plan.migrate {
            let key = ids::transcript_key(&run_id, &usage_key, language);
            let request = UploadRequest { unit: input.unit.clone(), language: language.clone(), planned: planned.clone(), key: key.clone() };
            match ctx.execute_activity(Upload, request, summarized(&options, format!("upload {language} of {usage_key}"))).await {
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
                    let undone = Self::compensate(ctx, written, rollback.clone()).await;
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
        let commit = match ctx.execute_activity(Commit, request, summarized(&options, summary)).await {
            Ok(commit) => commit,
            Err(error) => {
                let undone = Self::compensate(ctx, written, rollback.clone()).await;
                return Err(video_failed(format!("video {usage_key}: the commit failed: {}; {undone}", describe(&error))));
            }
        };
        // Our objects for languages a user recorded meanwhile are garbage now.
        let garbage: Vec<String> = commit.kept_users.iter().filter_map(|l| uploaded.get(l).cloned()).collect();
        let mut compensated = Vec::new();
        if !garbage.is_empty() {
            set_step(ctx, "compensate");
            compensated = ctx
                .execute_activity(
                    Compensate,
                    CompensateRequest { keys: garbage },
                    summarized(&rollback, "delete the objects users' rows made unused".into()),
                )
                .await
                .map_err(|e| video_failed(format!("video {usage_key}: removing unused objects failed: {}", describe(&e))))?;
        }
        let write_back = Self::write_back(ctx, &input, &plan, options.clone()).await?;
        set_step(ctx, "done");
        Ok(VideoResult { write_back, ..result(VideoOutcome::Migrated, plan, Some(commit), compensated) })
    }

    #[query]
    pub fn stage(&self, _ctx: &WorkflowContextView) -> Stage {
        self.stage.clone()
    }
}

impl MigrateVideo {
    /// Writes the video's id into the copies of the block that have none. edx-val keeps the
    /// transcripts if this fails: the video fails, and its next run writes the id again.
    async fn write_back(
        ctx: &mut WorkflowContext<Self>,
        input: &MigrateVideoInput,
        plan: &VideoPlan,
        options: ActivityOptions,
    ) -> WorkflowResult<Option<WriteBackOutcome>> {
        if plan.write_back.is_empty() {
            return Ok(None);
        }
        ctx.state_mut(|s| s.stage.step = "write back".into());
        let request =
            WriteBackRequest { usage_key: input.unit.usage_key.clone(), edx_video_id: plan.edx_video_id.clone(), branches: plan.write_back.clone() };
        let summary = format!("write {} back into {}", request.edx_video_id, request.usage_key);
        let outcome = ctx.execute_activity(WriteBack, request, summarized(&options, summary)).await.map_err(|e| {
            video_failed(format!(
                "video {}: edx-val holds its transcripts under {}, but writing that edx_video_id into the block failed: {}",
                input.unit.usage_key,
                plan.edx_video_id,
                describe(&e)
            ))
        })?;
        Ok(Some(outcome))
    }

    /// Deletes what the transaction wrote and edx-val does not reference; says what happened.
    async fn compensate(ctx: &mut WorkflowContext<Self>, keys: Vec<String>, options: ActivityOptions) -> String {
        ctx.state_mut(|s| s.stage.step = "compensate".into());
        match ctx
            .execute_activity(
                Compensate,
                CompensateRequest { keys: keys.clone() },
                summarized(&options, format!("roll back: delete {} objects", keys.len())),
            )
            .await
        {
            Ok(deleted) => format!("rolled back: deleted {} object(s) this transaction wrote", deleted.len()),
            Err(error) => format!("rolling back FAILED, these objects may remain: {} ({})", keys.join(", "), describe(&error)),
        }
    }
}

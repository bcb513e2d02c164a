//! `MigrateVideo`: the atomic unit, one video's transaction, as the seeds' pseudo-code has it.
//! Diff the video's transcripts in both branches against edx-val; upload each language edx-val
//! lacks; commit them to edx-val in one SQL transaction. If a step fails for good once an
//! upload may have happened, the transaction is rolled back: the objects it wrote are deleted,
//! so that S3 is as it was before it. After the commit, the objects that a user's row made
//! unused are deleted too. The course run then writes the video's `edx_video_id` into the
//! copies of the block that have none, with the rest of its page (see `MigrateCourse`).
//!
//! The plan is in the history before anything is written, so a worker that dies later leaves
//! a run that replays this plan instead of diffing again and taking its own commit for an
//! earlier one. A course run diffs each page of videos at once and hands every video its plan
//! in the child's input; the child then runs all its steps in one workflow task. A video
//! migrated on its own diffs itself first, in an ordinary activity: scheduling it ends the
//! workflow task. The other steps are local activities (see `retry::Steps`).

use std::collections::BTreeMap;

use model::contract::course::WriteBackRequest;
use model::contract::video::{CommitOutcome, CommitRequest, CompensateRequest, UploadRequest};
use model::contract::{Commit, Compensate, Diff, Upload};
use model::plan::{TranscriptRef, VideoPlan};
use model::video::VideoUnit;
use model::{UsageKey, ids};
use serde::{Deserialize, Serialize};
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowContextView, WorkflowResult, WorkflowTermination};

use crate::input::read_input;
use crate::retry::{RetrySettings, Steps, failed_with, failure_text};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateVideoInput {
    pub unit: VideoUnit,
    /// The plan of the course's page diff; without one, the video diffs itself first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<VideoPlan>,
    /// Plan only: nothing is written anywhere.
    #[serde(default)]
    pub dry_run: bool,
    /// A language with no source file, or an empty one, fails the video.
    #[serde(default)]
    pub strict: bool,
    #[serde(default)]
    pub retry: RetrySettings,
    /// The course run in the course log, for the ledger (0 for a video migrated on its own).
    #[serde(default)]
    pub run_number: u32,
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
    pub usage_key: UsageKey,
    pub outcome: VideoOutcome,
    pub plan: VideoPlan,
    pub commit: Option<CommitOutcome>,
    /// Objects deleted again: ours for languages a user recorded meanwhile.
    pub compensated: Vec<String>,
}

impl VideoResult {
    /// The write-back the video needs: its transcripts are in edx-val and copies of its block
    /// have no `edx_video_id`. A video with nothing to migrate needs it only when edx-val holds
    /// transcripts (an earlier run may have recorded them and failed to write the id back).
    pub fn write_back_request(&self) -> Option<WriteBackRequest> {
        let recorded = match self.outcome {
            VideoOutcome::Migrated => true,
            VideoOutcome::NothingToMigrate => !self.plan.already_in_edxval.is_empty(),
            VideoOutcome::Planned => false,
        };
        (recorded && !self.plan.write_back.is_empty()).then(|| WriteBackRequest {
            usage_key: self.usage_key.clone(),
            edx_video_id: self.plan.edx_video_id.clone(),
            branches: self.plan.write_back.clone(),
            replaces: String::new(),
        })
    }
}

/// What a video's plan leaves to do.
pub enum Settled {
    /// Nothing to write: the video's result (or why it failed), with no transaction.
    Done(Box<Result<VideoResult, String>>),
    /// Languages to upload and commit.
    Migrate(VideoPlan),
}

/// Bad data fails the video (and so does a language with nothing to read, when strict); a dry
/// run and a video with nothing to migrate end with their plan.
pub fn settled_by_plan(usage_key: &UsageKey, plan: VideoPlan, dry_run: bool, strict: bool) -> Settled {
    let failures = plan.failures.iter().chain(plan.skipped.iter().filter(|_| strict));
    let reasons: Vec<&str> = failures.map(|f| f.message.as_str()).collect();
    if !reasons.is_empty() {
        return Settled::Done(Box::new(Err(reasons.join("\n"))));
    }
    let outcome = match (dry_run, plan.migrate.is_empty()) {
        (true, _) => VideoOutcome::Planned,
        (false, true) => VideoOutcome::NothingToMigrate,
        (false, false) => return Settled::Migrate(plan),
    };
    Settled::Done(Box::new(Ok(VideoResult { usage_key: usage_key.clone(), outcome, plan, commit: None, compensated: vec![] })))
}

/// Why a video failed whose transcripts edx-val holds but whose block does not name them.
pub fn write_back_failed(usage_key: &UsageKey, edx_video_id: &str, reason: &str) -> String {
    format!("video {usage_key}: edx-val holds its transcripts under {edx_video_id}, but writing that edx_video_id into the block failed: {reason}")
}

/// What the transaction is doing, for `temporal workflow query --name stage`.
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

fn video_failed(message: String) -> WorkflowTermination {
    ApplicationFailure::builder(message).type_name("VideoFailed".to_string()).non_retryable(true).build().into()
}

#[workflow_methods]
impl MigrateVideo {
    #[run(name = "MigrateVideo")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, raw: serde_json::Value) -> WorkflowResult<VideoResult> {
        let input: MigrateVideoInput = read_input("MigrateVideo", raw)?;
        let (unit, usage_key) = (&input.unit, input.unit.usage_key.clone());
        let steps = Steps::new(ctx, &input.retry);

        let plan = match input.plan.clone() {
            Some(plan) => plan,
            None => {
                step(ctx, "diff");
                steps
                    .activity(Diff, unit.clone(), format!("diff {usage_key}"))
                    .await
                    .map_err(|e| video_failed(format!("video {usage_key}: the diff failed: {}", failure_text(&e))))?
            }
        };
        let plan = match settled_by_plan(&usage_key, plan, input.dry_run, input.strict) {
            Settled::Done(done) => return (*done).map_err(video_failed),
            Settled::Migrate(plan) => plan,
        };

        // Upload each language edx-val lacks, then commit them all; a failure rolls back what
        // the transaction wrote.
        let mut transaction = Transaction {
            ctx,
            steps: &steps,
            run_id: ctx.run_id().to_string(),
            directory_prefix: &plan.directory_prefix,
            unit,
            plan: &plan,
            run_number: input.run_number,
            written: Vec::new(),
            uploaded: BTreeMap::new(),
        };
        ctx.state_mut(|s| s.stage.to_upload = plan.migrate.len());
        step(ctx, "upload");
        let committed = async {
            for (language, planned) in &plan.migrate {
                transaction.upload(language, planned).await?;
            }
            transaction.commit(&plan.edx_video_id).await
        }
        .await;
        let commit = match committed {
            Ok(commit) => commit,
            Err(failure) => return Err(video_failed(format!("{failure}; {}", transaction.roll_back().await))),
        };
        let compensated = transaction.drop_unused(&commit).await?;
        step(ctx, "done");
        Ok(VideoResult { usage_key, outcome: VideoOutcome::Migrated, plan, commit: Some(commit), compensated })
    }

    #[query]
    pub fn stage(&self, _ctx: &WorkflowContextView) -> Stage {
        self.stage.clone()
    }
}

fn step(ctx: &WorkflowContext<MigrateVideo>, name: &str) {
    ctx.state_mut(|s| s.stage.step = name.into());
}

/// A video's transaction: the keys it wrote to S3 are kept here, so that one rollback undoes
/// all of it.
struct Transaction<'a> {
    ctx: &'a WorkflowContext<MigrateVideo>,
    steps: &'a Steps<'a, MigrateVideo>,
    /// Storage keys derive from it: the same on every retry and replay, new for every run.
    run_id: String,
    /// edx-val's `DIRECTORY_PREFIX`, as the plan recorded it.
    directory_prefix: &'a str,
    unit: &'a VideoUnit,
    plan: &'a VideoPlan,
    run_number: u32,
    /// Keys an upload may have written.
    written: Vec<String>,
    /// The key of each language uploaded.
    uploaded: BTreeMap<String, String>,
}

impl Transaction<'_> {
    /// One language, under the key this run fixed for it. Its compensation goes on record
    /// beside it: the key, unless the upload proved that it holds someone else's object.
    async fn upload(&mut self, language: &str, planned: &TranscriptRef) -> Result<(), String> {
        let usage_key = &self.unit.usage_key;
        let key = ids::transcript_key(self.directory_prefix, &self.run_id, usage_key, language);
        let request = UploadRequest { unit: self.unit.clone(), language: language.into(), planned: planned.clone(), key: key.clone() };
        let uploaded = self.steps.local(Upload, request, format!("upload {language} of {usage_key}")).await;
        // After any failure but a conflict, the object may be ours, written before the answer
        // was lost.
        if !matches!(&uploaded, Err(error) if failed_with(error, "ObjectConflict")) {
            self.written.push(key.clone());
        }
        uploaded.map_err(|e| format!("video {usage_key}, language {language}: the upload failed: {}", failure_text(&e)))?;
        self.uploaded.insert(language.into(), key);
        self.ctx.state_mut(|s| s.stage.uploaded += 1);
        Ok(())
    }

    /// Records the uploaded languages in edx-val, in one SQL transaction.
    async fn commit(&self, edx_video_id: &str) -> Result<CommitOutcome, String> {
        step(self.ctx, "commit");
        let usage_key = &self.unit.usage_key;
        let sources = self.uploaded.keys().filter_map(|language| Some((language.clone(), self.plan.migrate.get(language)?.clone()))).collect();
        let request = CommitRequest {
            usage_key: usage_key.clone(),
            edx_video_id: edx_video_id.into(),
            transcripts: self.uploaded.clone(),
            sources,
            run_number: self.run_number,
        };
        let languages: Vec<&str> = self.uploaded.keys().map(String::as_str).collect();
        let summary = format!("commit {} to edx-val video {edx_video_id}", languages.join(", "));
        self.steps.local(Commit, request, summary).await.map_err(|e| format!("video {usage_key}: the commit failed: {}", failure_text(&e)))
    }

    /// Deletes what the transaction wrote that edx-val does not reference, so that S3 is as it
    /// was before it; says what happened.
    async fn roll_back(self) -> String {
        step(self.ctx, "compensate");
        let summary = format!("roll back: delete {} objects", self.written.len());
        match self.steps.rollback(Compensate, CompensateRequest { keys: self.written.clone() }, summary).await {
            Ok(deleted) => format!("rolled back: deleted {} object(s) this transaction wrote", deleted.len()),
            Err(error) => format!("rolling back FAILED, these objects may remain: {} ({})", self.written.join(", "), failure_text(&error)),
        }
    }

    /// After the commit: our objects for languages a user recorded meanwhile are garbage.
    async fn drop_unused(&self, commit: &CommitOutcome) -> WorkflowResult<Vec<String>> {
        let unused: Vec<String> = commit.kept_users.iter().filter_map(|language| self.uploaded.get(language).cloned()).collect();
        if unused.is_empty() {
            return Ok(Vec::new());
        }
        step(self.ctx, "compensate");
        let summary = "delete the objects users' rows made unused".to_string();
        self.steps
            .rollback(Compensate, CompensateRequest { keys: unused }, summary)
            .await
            .map_err(|e| video_failed(format!("video {}: removing unused objects failed: {}", self.unit.usage_key, failure_text(&e))))
    }
}

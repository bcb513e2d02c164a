//! `MigrateCourse`: one course run. It pages through the course's videos, runs one
//! `MigrateVideo` child per video with at most `max_videos_in_flight` at a time, writes the ids
//! of the page's migrated videos back into their blocks in one step (a split branch's new
//! structure version copies the whole course, so one per page rather than one per video), and
//! continues as new after each page so that its history stays small whatever the course's
//! size. After the last page it validates every video against edx-val and S3, and switches the
//! course's `CourseVideoTranscriptEnabledFlag` on only when every video migrated and validated.
//! Every real run is recorded in the course log; a dry run writes nothing anywhere.
//!
//! Operators steer it with the `pause`, `resume` and `tune` signals (see `operate`); pausing
//! lets the videos in flight finish and starts no new one until `resume`, across worker
//! restarts and continue-as-new alike.

use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::RawValue;
use temporalio_common::error::IncomingError;
use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributes};
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ApplicationFailure, ChildWorkflowExecutionError, ChildWorkflowOptions, ContinueAsNewOptions, ParentClosePolicy,
    SyncWorkflowContext, WorkflowContext, WorkflowContextView, WorkflowResult, WorkflowTermination,
};

use crate::migrate_video::{MigrateVideo, MigrateVideoInput, RetrySettings, VideoOutcome, VideoResult, describe, summarized, write_back_failed};
use crate::operate::{MIGRATION_STATE, MigrationState, Throughput, Tuning, bad_input, in_lanes, millis, pace, read_input};
use crate::steps::{
    BeginCourseRun, BeginRun, CourseCounts, Discover, FinishCourseRun, FinishRun, FlagOutcome, PageRequest, RecordFailures, RecordRunFailures,
    Validate, VideoFailure, VideoWriteBack, WriteBackPage, WriteBackPageIds, WriteBackRequest,
};
use crate::video::VideoUnit;
use crate::{CourseKey, UsageKey};

/// Search attributes the workflows set, so that runs can be found in the UI and with
/// `temporal workflow list --query "CourseKey='…'"`.
pub const COURSE_KEY: SearchAttributeKey<String> = SearchAttributeKey::keyword("CourseKey");
pub const DRY_RUN: SearchAttributeKey<bool> = SearchAttributeKey::bool("DryRun");

/// Runs since this patch write the ids of a page's videos back in one activity after the
/// page's transactions, one structure version per branch for the page instead of one per video.
/// Runs before it let each video write its own.
pub const PAGE_WRITE_BACK: &str = "page-write-back";

/// How many failures the workflow's result lists; the course log has all of them.
pub const FAILURES_SHOWN: usize = 50;
/// How many videos a dry run's result lists with their plan; each child's result has its own.
pub const PLANS_SHOWN: usize = 50;

/// The workflow id of a course's migration. Starting the same id twice while it runs is refused
/// by Temporal, so one course is never migrated twice at once.
pub fn course_workflow_id(course_key: &CourseKey, dry_run: bool) -> String {
    match dry_run {
        false => format!("migrate-transcripts:{course_key}"),
        true => format!("dry-run-transcripts:{course_key}"),
    }
}

fn video_workflow_id(usage_key: &UsageKey, dry_run: bool) -> String {
    match dry_run {
        false => format!("migrate-transcripts:{usage_key}"),
        true => format!("dry-run-transcripts:{usage_key}"),
    }
}

fn default_in_flight() -> u32 {
    8
}

fn default_page_size() -> u32 {
    200
}

/// The input, as given to `temporal workflow start --input '{…}'`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrateCourseInput {
    pub course_key: String,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default = "default_in_flight")]
    pub max_videos_in_flight: u32,
    /// At most this many videos start per minute (0: no limit).
    #[serde(default)]
    pub videos_per_minute: u32,
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default)]
    pub retry: RetrySettings,
    /// Set by the workflow itself when it continues as new; never given by a caller.
    #[serde(default)]
    pub carried: Option<Carried>,
}

impl MigrateCourseInput {
    pub fn new(course_key: &CourseKey, dry_run: bool) -> Self {
        Self {
            course_key: course_key.to_string(),
            dry_run,
            max_videos_in_flight: default_in_flight(),
            videos_per_minute: 0,
            page_size: default_page_size(),
            retry: RetrySettings::default(),
            carried: None,
        }
    }
}

/// What a run has done so far, handed from one page's run to the next.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Carried {
    /// The run's number in the course log (0 for dry runs, which are not logged).
    pub run_number: u32,
    pub after: Option<UsageKey>,
    pub counts: CourseCounts,
    pub failures: Vec<VideoFailure>,
    pub plans: Vec<PlannedVideo>,
    /// Whether an operator paused the run (a signal the previous run received).
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub videos_started: u32,
}

/// A dry run's finding for one video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedVideo {
    pub usage_key: String,
    pub edx_video_id: String,
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseResult {
    pub course_key: String,
    pub dry_run: bool,
    pub run_number: u32,
    pub counts: CourseCounts,
    pub flag: FlagOutcome,
    /// The first failures (migration, then validation); `more_failures` says how many are not
    /// listed here. The course log (`transcript_migrator_video_failure`) has them all.
    pub failures: Vec<VideoFailure>,
    pub more_failures: u32,
    /// Dry runs: the first videos that would be migrated, with their languages.
    pub plans: Vec<PlannedVideo>,
    pub more_plans: u32,
}

/// Progress, for `temporal workflow query --workflow-id … --name progress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub course_key: String,
    pub state: MigrationState,
    /// `discover`, `migrate`, `write back`, `validate`, `finish` or `done`.
    pub stage: String,
    pub paused: bool,
    /// The limits in force (changed with the `tune` signal).
    pub max_videos_in_flight: u32,
    pub videos_per_minute: u32,
    /// Videos in the course (known once the first page is read).
    pub total: Option<u32>,
    pub started: u32,
    pub done: u32,
    pub failed: u32,
    /// Videos with nothing to migrate.
    pub skipped: u32,
    pub in_flight: Vec<String>,
    /// Videos per minute lately, and the time left at that rate.
    pub throughput: Throughput,
    pub counts: CourseCounts,
    /// Why the last `tune` signal was not applied.
    pub tuning_error: Option<String>,
}

impl Progress {
    fn show_counts(&mut self, carried: &Carried) {
        let counts = &carried.counts;
        (self.done, self.failed, self.skipped, self.started) = (counts.videos, counts.failed, counts.nothing_to_migrate, carried.videos_started);
        self.counts = counts.clone();
    }

    /// The state the run is in now; `Some` when it changed, to be upserted.
    fn refresh_state(&mut self) -> Option<MigrationState> {
        let state = match (self.paused, self.stage.as_str()) {
            (true, _) => MigrationState::Paused,
            (false, "validate" | "finish") => MigrationState::Validating,
            (false, _) => MigrationState::Running,
        };
        (state != self.state).then(|| {
            self.state = state;
            state
        })
    }
}

#[workflow]
#[derive(Default)]
pub struct MigrateCourse {
    progress: Progress,
    /// Videos whose child workflow is running or about to start.
    running: u32,
    /// When the next video may start under `videos_per_minute` (workflow time, ms).
    next_start_ms: u64,
}

fn course_failed(message: String) -> WorkflowTermination {
    ApplicationFailure::builder(message).type_name("CourseFailed".to_string()).non_retryable(true).build().into()
}

/// The message of the innermost application failure of a child: the video's own reason.
pub(crate) fn child_failure(error: &ChildWorkflowExecutionError) -> String {
    let mut found = None;
    let mut cause = error.cause();
    while let Some(incoming) = cause {
        if let IncomingError::Application(app) = incoming {
            found = Some(app.to_string());
            break;
        }
        cause = incoming.cause();
    }
    found.unwrap_or_else(|| error.to_string())
}

/// Adds one video's result to the run's counts (and its plan, on dry runs).
fn tally(carried: &mut Carried, result: &Result<VideoResult, VideoFailure>) {
    let counts = &mut carried.counts;
    counts.videos += 1;
    match result {
        Err(failure) => {
            counts.failed += 1;
            carried.failures.push(failure.clone());
        }
        Ok(video) => {
            counts.transcripts_already_in_edxval += video.plan.already_in_edxval.len() as u32;
            counts.conflicts += video.plan.conflicts.len() as u32;
            match video.outcome {
                VideoOutcome::Migrated => {
                    counts.migrated += 1;
                    counts.transcripts_migrated += video.commit.as_ref().map_or(0, |c| c.recorded.len() as u32);
                }
                VideoOutcome::NothingToMigrate => counts.nothing_to_migrate += 1,
                VideoOutcome::Planned if video.plan.migrate.is_empty() => counts.nothing_to_migrate += 1,
                VideoOutcome::Planned => {
                    counts.planned += 1;
                    counts.transcripts_migrated += video.plan.migrate.len() as u32;
                    carried.plans.push(PlannedVideo {
                        usage_key: video.usage_key.clone(),
                        edx_video_id: video.plan.edx_video_id.clone(),
                        languages: video.plan.migrate.keys().cloned().collect(),
                    });
                }
            }
        }
    }
}

#[workflow_methods]
impl MigrateCourse {
    /// Takes its input as JSON and parses it itself, so that a mistyped `--input` fails the
    /// workflow with a readable message instead of retrying its first task forever.
    #[run(name = "MigrateCourse")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, raw: serde_json::Value) -> WorkflowResult<CourseResult> {
        let input: MigrateCourseInput = read_input("MigrateCourse", raw)?;
        let course: CourseKey =
            input.course_key.parse().map_err(|e| bad_input(format!("invalid MigrateCourse input: course_key {:?}: {e}", input.course_key)))?;
        let expected_id = course_workflow_id(&course, input.dry_run);
        if ctx.workflow_id() != expected_id {
            return Err(bad_input(format!(
                "course {course}: start this migration with --workflow-id {expected_id:?}, so that the course cannot run twice at once"
            )));
        }
        ctx.state_mut(|s| {
            s.progress.course_key = course.to_string();
            s.progress.max_videos_in_flight = input.max_videos_in_flight.max(1);
            s.progress.videos_per_minute = input.videos_per_minute;
            // A pause may have come with the start, before this line ran.
            s.progress.paused |= input.carried.as_ref().is_some_and(|c| c.paused);
            s.progress.refresh_state();
        });
        let result = Self::run_page(ctx, input, course, expected_id).await;
        if let Err(WorkflowTermination::Failed(_)) = &result {
            ctx.upsert_search_attributes([MIGRATION_STATE.value_set(MigrationState::Failed.as_str().to_string())]);
        }
        result
    }

    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> Progress {
        self.progress.clone()
    }

    /// Starts no new video (nor page, nor validation) until `resume`; videos in flight finish.
    #[signal]
    pub fn pause(&mut self, ctx: &mut SyncWorkflowContext<Self>, _input: RawValue) {
        self.progress.paused = true;
        self.show_state(ctx);
    }

    #[signal]
    pub fn resume(&mut self, ctx: &mut SyncWorkflowContext<Self>, _input: RawValue) {
        self.progress.paused = false;
        self.show_state(ctx);
    }

    /// Changes `max_videos_in_flight` and `videos_per_minute` of the running migration.
    #[signal]
    pub fn tune(&mut self, _ctx: &mut SyncWorkflowContext<Self>, input: RawValue) {
        match Tuning::from_signal(&input) {
            Err(error) => self.progress.tuning_error = Some(error),
            Ok(tuning) => {
                self.progress.tuning_error = None;
                if let Some(max) = tuning.max_videos_in_flight {
                    self.progress.max_videos_in_flight = max;
                }
                if let Some(per_minute) = tuning.videos_per_minute {
                    self.progress.videos_per_minute = per_minute;
                }
            }
        }
    }
}

impl MigrateCourse {
    fn show_state(&mut self, ctx: &SyncWorkflowContext<Self>) {
        if let Some(state) = self.progress.refresh_state() {
            ctx.upsert_search_attributes([MIGRATION_STATE.value_set(state.as_str().to_string())]);
        }
    }

    fn set_stage(ctx: &mut WorkflowContext<Self>, stage: &str) {
        let changed = ctx.state_mut(|s| {
            s.progress.stage = stage.into();
            s.progress.refresh_state()
        });
        if let Some(state) = changed {
            ctx.upsert_search_attributes([MIGRATION_STATE.value_set(state.as_str().to_string())]);
        }
    }

    /// Waits while the run is paused.
    async fn while_paused(ctx: &WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_condition(|s| !s.progress.paused).await.map_err(|_| WorkflowTermination::cancelled())
    }

    /// One page: discover, migrate its videos, then continue as new, or validate and finish
    /// after the last page.
    async fn run_page(
        ctx: &mut WorkflowContext<Self>,
        input: MigrateCourseInput,
        course: CourseKey,
        workflow_id: String,
    ) -> WorkflowResult<CourseResult> {
        let activity = input.retry.activity_options();
        let mut carried = match input.carried.clone() {
            Some(carried) => carried,
            None => {
                ctx.upsert_search_attributes([
                    COURSE_KEY.value_set(course.to_string()),
                    DRY_RUN.value_set(input.dry_run),
                    MIGRATION_STATE.value_set(ctx.state(|s| s.progress.state).as_str().to_string()),
                ]);
                let run_number = match input.dry_run {
                    true => 0,
                    false => {
                        let begin = BeginCourseRun { course_key: course.clone(), workflow_id, first_run_id: ctx.run_id().to_string() };
                        ctx.execute_activity(BeginRun, begin, summarized(&activity, format!("open the course log of {course}")))
                            .await
                            .map_err(|e| course_failed(format!("course {course}: opening the course log failed: {}", describe(&e))))?
                    }
                };
                Carried { run_number, ..Carried::default() }
            }
        };
        ctx.state_mut(|s| s.progress.show_counts(&carried));

        Self::set_stage(ctx, "discover");
        Self::while_paused(ctx).await?;
        let page = PageRequest { course_key: course.clone(), after: carried.after.clone(), page_size: input.page_size.max(1) };
        let discovered = ctx
            .execute_activity(Discover, page, summarized(&activity, format!("discover the videos of {course}")))
            .await
            .map_err(|e| course_failed(format!("course {course}: reading its videos failed: {}", describe(&e))))?;
        if !discovered.course_exists {
            return Err(course_failed(format!("course {course}: the modulestore has no such course")));
        }
        ctx.state_mut(|s| s.progress.total = Some(discovered.total_videos));

        Self::set_stage(ctx, "migrate");
        let write_back_by_course = !input.dry_run && ctx.patched(PAGE_WRITE_BACK);
        let usage_keys: Vec<UsageKey> = discovered.units.iter().map(|u| u.usage_key.clone()).collect();
        let mut results = Self::migrate_videos(ctx, &input, discovered.units, write_back_by_course).await?;
        if write_back_by_course {
            Self::set_stage(ctx, "write back");
            Self::write_back(ctx, &course, &activity, &usage_keys, &mut results).await;
        }
        let failures_before = carried.failures.len();
        carried.videos_started += results.len() as u32;
        for result in &results {
            tally(&mut carried, result);
        }
        ctx.state_mut(|s| s.progress.show_counts(&carried));
        if !input.dry_run {
            let failures = carried.failures[failures_before..].to_vec();
            Self::record_failures(ctx, &course, carried.run_number, failures, &activity).await?;
        }
        // Only the first failures and plans travel on; the counts keep the totals.
        carried.failures.truncate(FAILURES_SHOWN);
        carried.plans.truncate(PLANS_SHOWN);

        if let Some(next) = discovered.next {
            carried.after = Some(next);
            // The next run keeps what operators changed meanwhile.
            let (paused, max_videos_in_flight, videos_per_minute) =
                ctx.state(|s| (s.progress.paused, s.progress.max_videos_in_flight, s.progress.videos_per_minute));
            carried.paused = paused;
            let next_input = MigrateCourseInput { carried: Some(carried), max_videos_in_flight, videos_per_minute, ..input };
            let raw = serde_json::to_value(&next_input).map_err(|e| course_failed(format!("course {course}: {e}")))?;
            return match ctx.continue_as_new(raw, ContinueAsNewOptions::default()) {
                Err(continued) => Err(continued),
                Ok(never) => match never {},
            };
        }
        let flag = match input.dry_run {
            true => FlagOutcome::default(),
            false => Self::validate_and_finish(ctx, &course, &activity, &mut carried, input.page_size.max(1)).await?,
        };
        Self::set_stage(ctx, "done");
        let passed = carried.counts.failed == 0 && carried.counts.validation_failures == 0;
        let state = match (input.dry_run, passed) {
            (true, _) => MigrationState::Planned,
            (false, true) => MigrationState::Passed,
            (false, false) => MigrationState::Failed,
        };
        ctx.state_mut(|s| s.progress.state = state);
        ctx.upsert_search_attributes([MIGRATION_STATE.value_set(state.as_str().to_string())]);
        let failures_total = carried.counts.failed + carried.counts.validation_failures;
        let plans_total = if input.dry_run { carried.counts.planned } else { 0 };
        Ok(CourseResult {
            course_key: course.to_string(),
            dry_run: input.dry_run,
            run_number: carried.run_number,
            more_failures: failures_total.saturating_sub(carried.failures.len() as u32),
            more_plans: plans_total.saturating_sub(carried.plans.len() as u32),
            counts: carried.counts,
            flag,
            failures: carried.failures,
            plans: carried.plans,
        })
    }
}

impl MigrateCourse {
    /// One child per video, at most `max_videos_in_flight` at a time and `videos_per_minute`
    /// started per minute (both read live, so `tune` takes effect at once), none while paused.
    /// Results come in the units' order.
    async fn migrate_videos(
        ctx: &WorkflowContext<Self>,
        input: &MigrateCourseInput,
        units: Vec<VideoUnit>,
        write_back_by_course: bool,
    ) -> WorkflowResult<Vec<Result<VideoResult, VideoFailure>>> {
        let may_start = |s: &Self| !s.progress.paused && s.running < s.progress.max_videos_in_flight;
        in_lanes(ctx, units, may_start, |unit| async move {
            let now = millis(ctx.workflow_time());
            let wait = ctx.state_mut(|s| {
                s.running += 1;
                s.progress.started += 1;
                let per_minute = s.progress.videos_per_minute;
                pace(&mut s.next_start_ms, now, per_minute)
            });
            if let Some(wait) = wait {
                ctx.timer(wait).await;
            }
            let result = Self::migrate_video(ctx, input, unit, write_back_by_course).await;
            let now = millis(ctx.workflow_time());
            ctx.state_mut(|s| {
                s.running -= 1;
                s.progress.done += 1;
                let remaining = s.progress.total.map(|total| total.saturating_sub(s.progress.done));
                s.progress.throughput.completed(now, remaining);
            });
            result
        })
        .await
    }

    async fn migrate_video(
        ctx: &WorkflowContext<Self>,
        input: &MigrateCourseInput,
        unit: VideoUnit,
        write_back_by_course: bool,
    ) -> Result<VideoResult, VideoFailure> {
        let usage_key = unit.usage_key.clone();
        let failure = |message: String| VideoFailure { usage_key: usage_key.to_string(), message };
        let options = ChildWorkflowOptions::builder()
            .workflow_id(video_workflow_id(&usage_key, input.dry_run))
            // A video's transaction finishes (or rolls back) even if its course run is stopped.
            .parent_close_policy(ParentClosePolicy::Abandon)
            .static_summary(usage_key.to_string())
            .search_attributes(SearchAttributes::new([COURSE_KEY.value_set(usage_key.course.to_string()), DRY_RUN.value_set(input.dry_run)]))
            .build();
        let child_input = MigrateVideoInput { unit, dry_run: input.dry_run, retry: input.retry.clone(), write_back_by_course };
        let child_input = serde_json::to_value(child_input).expect("video input serializes");
        ctx.state_mut(|s| s.progress.in_flight.push(usage_key.to_string()));
        let result = match ctx.start_child_workflow(MigrateVideo::run, child_input, options).await {
            Err(error) => Err(failure(format!("video {usage_key}: its migration could not start: {error}"))),
            Ok(started) => started.result().await.map_err(|error| failure(child_failure(&error))),
        };
        ctx.state_mut(|s| s.progress.in_flight.retain(|k| k != &usage_key.to_string()));
        result
    }

    /// Writes the ids of the page's videos back into their blocks, in one activity: one new
    /// structure version per split branch. A video whose write-back fails fails: edx-val keeps
    /// its transcripts, and its next run writes the id again.
    async fn write_back(
        ctx: &mut WorkflowContext<Self>,
        course: &CourseKey,
        activity: &ActivityOptions,
        usage_keys: &[UsageKey],
        results: &mut [Result<VideoResult, VideoFailure>],
    ) {
        let writers: Vec<(usize, WriteBackRequest)> = results
            .iter()
            .zip(usage_keys)
            .enumerate()
            .filter_map(|(i, (result, usage_key))| Some((i, result.as_ref().ok()?.write_back_request(usage_key)?)))
            .collect();
        if writers.is_empty() {
            return;
        }
        let page = WriteBackPage { course_key: course.clone(), videos: writers.iter().map(|(_, request)| request.clone()).collect() };
        let summary = format!("write {} edx_video_ids back into {course}", writers.len());
        let answers = ctx.execute_activity(WriteBackPageIds, page, summarized(activity, summary)).await;
        for (at, (i, request)) in writers.into_iter().enumerate() {
            let reason = match &answers {
                Ok(answers) => match answers.get(at) {
                    Some(VideoWriteBack::Done(_)) => continue,
                    Some(VideoWriteBack::Conflict(why)) => why.clone(),
                    None => "the write-back gave no answer for it".to_string(),
                },
                Err(error) => describe(error),
            };
            let message = write_back_failed(&request.usage_key, &request.edx_video_id, &reason);
            results[i] = Err(VideoFailure { usage_key: request.usage_key.to_string(), message });
        }
    }

    /// Appends failed videos to the course log.
    async fn record_failures(
        ctx: &mut WorkflowContext<Self>,
        course: &CourseKey,
        run_number: u32,
        failures: Vec<VideoFailure>,
        activity: &ActivityOptions,
    ) -> WorkflowResult<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let record = RecordFailures { course_key: course.clone(), run_number, failures };
        ctx.execute_activity(RecordRunFailures, record, summarized(activity, format!("record failures of {course}")))
            .await
            .map_err(|e| course_failed(format!("course {course}: recording failures in the course log failed: {}", describe(&e))))
    }

    /// Validates every video, records the run's end in the course log and, when nothing
    /// failed, switches the course's flag on.
    async fn validate_and_finish(
        ctx: &mut WorkflowContext<Self>,
        course: &CourseKey,
        activity: &ActivityOptions,
        carried: &mut Carried,
        page_size: u32,
    ) -> WorkflowResult<FlagOutcome> {
        Self::set_stage(ctx, "validate");
        let mut after = None;
        loop {
            Self::while_paused(ctx).await?;
            let page = PageRequest { course_key: course.clone(), after, page_size };
            let validated = ctx
                .execute_activity(Validate, page, summarized(activity, format!("validate the videos of {course}")))
                .await
                .map_err(|e| course_failed(format!("course {course}: validation failed to run: {}", describe(&e))))?;
            carried.counts.validated_videos += validated.videos;
            carried.counts.validated_transcripts += validated.transcripts;
            carried.counts.validation_failures += validated.failures.len() as u32;
            Self::record_failures(ctx, course, carried.run_number, validated.failures.clone(), activity).await?;
            let room = FAILURES_SHOWN.saturating_sub(carried.failures.len());
            carried.failures.extend(validated.failures.into_iter().take(room));
            ctx.state_mut(|s| s.progress.show_counts(carried));
            after = validated.next;
            if after.is_none() {
                break;
            }
        }
        Self::set_stage(ctx, "finish");
        let passed = carried.counts.failed == 0 && carried.counts.validation_failures == 0;
        let finish = FinishCourseRun { course_key: course.clone(), run_number: carried.run_number, counts: carried.counts.clone(), passed };
        ctx.execute_activity(FinishRun, finish, summarized(activity, format!("close the course log of {course}")))
            .await
            .map_err(|e| course_failed(format!("course {course}: closing the course log failed: {}", describe(&e))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_derive_from_the_course_key() {
        let course: CourseKey = "course-v1:edX+DemoX+2018".parse().unwrap();
        assert_eq!(course_workflow_id(&course, false), "migrate-transcripts:course-v1:edX+DemoX+2018");
        assert_ne!(course_workflow_id(&course, true), course_workflow_id(&course, false));
    }

    #[test]
    fn the_cli_input_needs_only_the_course_key() {
        let input: MigrateCourseInput = serde_json::from_str(r#"{"course_key":"edX/DemoX/2013"}"#).unwrap();
        assert_eq!((input.dry_run, input.max_videos_in_flight, input.page_size, input.carried), (false, 8, 200, None));
        assert_eq!(input.retry, RetrySettings::default());
    }
}

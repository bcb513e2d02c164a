//! `MigrateCourse`: one course run. It pages through the course's videos, diffs each page at
//! once, runs one `MigrateVideo` child, with its plan, per video that has something to migrate,
//! with at most `max_videos_in_flight` at a time, and continues
//! as new after each page so that its history stays small whatever the course's size. After the
//! last page it validates every video against the contentstore, edx-val and S3. Then comes the
//! cut-over: the `edx_video_id`s are written into the blocks that lack them (a split branch's new
//! structure version copies the whole course, so one per chunk of videos rather than one per
//! video), which is when today's LMS switches those videos to edx-val, and the course's
//! `CourseVideoTranscriptEnabledFlag` goes on (older releases read it) only when every video
//! migrated and validated. With `cut_over: video` the ids are written page by page instead.
//! Every real run is recorded in the course log; a dry run writes nothing anywhere.
//!
//! Operators steer it with the `pause`, `resume` and `tune` signals (see `controller`).

use model::contract::course::{
    BeginCourseRun, CourseCounts, CutOver, FinishCourseRun, FlagOutcome, PageRequest, RecordFailures, ValidateRequest, VideoFailure, VideoWriteBack,
    WRITE_BACK_CHUNK, WriteBackPage, WriteBackRequest,
};
use model::contract::{BeginRun, Discover, FinishRun, RecordRunFailures, Validate, WriteBack};
use model::plan::{PlannedUnit, VideoPlan};
use model::video::VideoUnit;
use model::{CourseKey, UsageKey};
use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::workflows::{workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowContextView, WorkflowResult, WorkflowTermination};

use crate::controller::{self, Control, MigrationState, Phase, Steered, Steering, Tuning, child_failure, child_options, keep_first};
use crate::input::{bad_input, read_input};
use crate::lanes::{in_lanes, millis, pace};
use crate::migrate_video::{MigrateVideo, MigrateVideoInput, Settled, VideoOutcome, VideoResult, settled_by_plan, write_back_failed};
use crate::retry::{RetrySettings, Steps, failure_text};
use crate::window::Window;

/// How many failures the workflow's result lists; the course log has all of them.
pub const FAILURES_SHOWN: usize = 50;
/// How many videos a dry run's result lists with their plan; each child's result has its own.
pub const PLANS_SHOWN: usize = 50;
/// How many orphans and skipped languages the result lists; the counts have them all.
pub const SKIPPED_SHOWN: usize = 50;

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
#[serde(deny_unknown_fields)]
pub struct MigrateCourseInput {
    pub course_key: CourseKey,
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
    /// `course` (the default): learners switch when the whole course has validated. `video`:
    /// each video's ids are written as soon as its page has migrated.
    #[serde(default)]
    pub cut_over: CutOver,
    /// A language with no source file, or an empty one, fails its video (as a broken file
    /// does) instead of being skipped and reported.
    #[serde(default)]
    pub strict: bool,
    /// Start videos only within this maintenance window (see `window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Set by the workflow itself when it continues as new; never given by a caller.
    #[serde(default)]
    pub carried: Option<Carried>,
}

impl MigrateCourseInput {
    pub fn new(course_key: &CourseKey, dry_run: bool) -> Self {
        Self {
            course_key: course_key.clone(),
            dry_run,
            max_videos_in_flight: default_in_flight(),
            videos_per_minute: 0,
            page_size: default_page_size(),
            retry: RetrySettings::default(),
            cut_over: CutOver::default(),
            strict: false,
            window: None,
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
    /// The first orphans and skipped languages (the counts have them all).
    #[serde(default)]
    pub orphans: Vec<UsageKey>,
    #[serde(default)]
    pub skipped: Vec<SkippedLanguage>,
    /// Whether the run was paused (an operator's signal, or its window), and by whom.
    #[serde(flatten)]
    pub steering: Steering,
    pub videos_started: u32,
}

/// A language that was not migrated because it has nothing to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedLanguage {
    pub usage_key: UsageKey,
    pub language: String,
    /// `missing` (no source file) or `empty` (an empty file).
    pub kind: String,
    pub message: String,
}

/// A dry run's finding for one video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedVideo {
    pub usage_key: UsageKey,
    pub edx_video_id: String,
    pub languages: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseResult {
    pub course_key: CourseKey,
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
    /// The first orphan video blocks (not migrated; `counts.orphans` has them all).
    pub orphans: Vec<UsageKey>,
    /// The first languages skipped for want of a source (`counts.transcripts_without_source`).
    pub skipped: Vec<SkippedLanguage>,
}

/// Progress, for `temporal workflow query --workflow-id … --name progress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub course_key: Option<CourseKey>,
    /// Videos are shown by their usage keys as Studio writes them (`block-v1:…`, `i4x://…`).
    #[serde(flatten)]
    pub control: Control<String>,
    /// `discover`, `migrate`, `write back` (cut-over by video), `validate`, `cut over`,
    /// `finish` or `done`.
    pub stage: String,
    /// The limits in force (changed with the `tune` signal).
    pub max_videos_in_flight: u32,
    pub videos_per_minute: u32,
    pub started: u32,
    pub counts: CourseCounts,
}

impl Progress {
    fn show_counts(&mut self, carried: &Carried) {
        let counts = &carried.counts;
        (self.control.done, self.control.failed, self.control.skipped) = (counts.videos, counts.failed, counts.nothing_to_migrate);
        self.started = carried.videos_started;
        self.counts = counts.clone();
    }
}

#[workflow]
#[derive(Default)]
pub struct MigrateCourse {
    progress: Progress,
    /// When the next video may start under `videos_per_minute` (workflow time, ms).
    next_start_ms: u64,
    /// The run's number in the course log, which the ledger records with what it creates.
    run_number: u32,
}

impl Steered for MigrateCourse {
    type Child = String;

    fn control(&self) -> &Control<String> {
        &self.progress.control
    }

    fn control_mut(&mut self) -> &mut Control<String> {
        &mut self.progress.control
    }

    fn apply(&mut self, tuning: &Tuning) {
        self.progress.max_videos_in_flight = tuning.max_videos_in_flight.unwrap_or(self.progress.max_videos_in_flight);
        self.progress.videos_per_minute = tuning.videos_per_minute.unwrap_or(self.progress.videos_per_minute);
    }
}

fn course_failed(message: String) -> WorkflowTermination {
    ApplicationFailure::builder(message).type_name("CourseFailed".to_string()).non_retryable(true).build().into()
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
            counts.transcripts_without_source += video.plan.skipped.len() as u32;
            for skipped in &video.plan.skipped {
                carried.skipped.push(SkippedLanguage {
                    usage_key: video.usage_key.clone(),
                    language: skipped.language.clone().unwrap_or_default(),
                    kind: skipped.kind.clone(),
                    message: skipped.message.clone(),
                });
            }
            match video.outcome {
                VideoOutcome::Migrated => {
                    counts.migrated += 1;
                    counts.switched_at_commit += u32::from(video.plan.live_at_commit);
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
        let course = input.course_key.clone();
        let workflow_id = course_workflow_id(&course, input.dry_run);
        if ctx.workflow_id() != workflow_id {
            return Err(bad_input(format!(
                "course {course}: start this migration with --workflow-id {workflow_id:?}, so that the course cannot run twice at once"
            )));
        }
        ctx.state_mut(|s| {
            s.progress.course_key = Some(course.clone());
            s.progress.max_videos_in_flight = input.max_videos_in_flight.max(1);
            s.progress.videos_per_minute = input.videos_per_minute;
        });
        let steering = input.carried.as_ref().map(|c| c.steering).unwrap_or_default();
        controller::begin(ctx, steering, input.carried.is_none(), Some(&course), input.dry_run);
        let window = input.window.clone();
        let result = controller::within_window(ctx, window.as_ref(), Self::run_page(ctx, input, workflow_id)).await;
        controller::failed_if_failing(ctx, result)
    }

    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> Progress {
        self.progress.clone()
    }

    /// Starts no new video (nor page, nor validation) until `resume`; videos in flight finish.
    #[signal]
    pub async fn pause(ctx: &mut WorkflowContext<Self>, _input: RawValue) {
        controller::set_paused(ctx, true).await;
    }

    #[signal]
    pub async fn resume(ctx: &mut WorkflowContext<Self>, _input: RawValue) {
        controller::set_paused(ctx, false).await;
    }

    /// Changes `max_videos_in_flight` and `videos_per_minute` of the running migration.
    #[signal]
    pub async fn tune(ctx: &mut WorkflowContext<Self>, input: RawValue) {
        controller::tune(ctx, &input).await;
    }
}

impl MigrateCourse {
    fn set_stage(ctx: &WorkflowContext<Self>, stage: &str) {
        ctx.state_mut(|s| s.progress.stage = stage.into());
        let phase = if matches!(stage, "validate" | "cut over" | "finish") { Phase::Validating } else { Phase::Working };
        controller::set_phase(ctx, phase);
    }

    /// One page: discover, migrate its videos, write their ids back, then continue as new, or
    /// validate and finish after the last page.
    async fn run_page(ctx: &WorkflowContext<Self>, input: MigrateCourseInput, workflow_id: String) -> WorkflowResult<CourseResult> {
        let course = &input.course_key;
        let steps = Steps::new(ctx, &input.retry);
        let mut carried = match input.carried.clone() {
            Some(carried) => carried,
            None => {
                let run_number = match input.dry_run {
                    true => 0,
                    false => {
                        let begin = BeginCourseRun { course_key: course.clone(), workflow_id, first_run_id: ctx.run_id().to_string() };
                        steps
                            .activity(BeginRun, begin, format!("open the course log of {course}"))
                            .await
                            .map_err(|e| course_failed(format!("course {course}: opening the course log failed: {}", failure_text(&e))))?
                    }
                };
                Carried { run_number, ..Carried::default() }
            }
        };
        ctx.state_mut(|s| {
            s.progress.show_counts(&carried);
            s.run_number = carried.run_number;
        });

        Self::set_stage(ctx, "discover");
        controller::while_paused(ctx).await?;
        let page = PageRequest { course_key: course.clone(), after: carried.after.clone(), page_size: input.page_size.max(1) };
        let discovered = steps
            .activity(Discover, page, format!("discover the videos of {course}"))
            .await
            .map_err(|e| course_failed(format!("course {course}: reading its videos failed: {}", failure_text(&e))))?;
        if !discovered.course_exists {
            return Err(course_failed(format!("course {course}: the modulestore has no such course")));
        }
        ctx.state_mut(|s| s.progress.control.total = Some(discovered.total_videos));

        carried.counts.orphans += discovered.orphans.len() as u32;
        keep_first(&mut carried.orphans, discovered.orphans, SKIPPED_SHOWN);

        Self::set_stage(ctx, "migrate");
        let mut results = Self::migrate_videos(ctx, &input, discovered.videos).await?;
        if !input.dry_run && input.cut_over == CutOver::Video {
            Self::set_stage(ctx, "write back");
            let writers: Vec<(usize, WriteBackRequest)> =
                results.iter().enumerate().filter_map(|(i, result)| Some((i, result.as_ref().ok()?.write_back_request()?))).collect();
            for (i, failure) in Self::write_back(&steps, course, carried.run_number, writers).await {
                results[i] = Err(failure);
            }
        }
        let failures_before = carried.failures.len();
        carried.videos_started += results.len() as u32;
        for result in &results {
            tally(&mut carried, result);
        }
        ctx.state_mut(|s| s.progress.show_counts(&carried));
        if !input.dry_run {
            let failures = carried.failures[failures_before..].to_vec();
            Self::record_failures(&steps, course, carried.run_number, failures).await?;
        }
        // Only the first failures, plans and skipped languages travel on; the counts keep the
        // totals.
        carried.failures.truncate(FAILURES_SHOWN);
        carried.plans.truncate(PLANS_SHOWN);
        carried.skipped.truncate(SKIPPED_SHOWN);

        if let Some(next) = discovered.next {
            carried.after = Some(next);
            // The next run keeps what operators changed meanwhile.
            let (max_videos_in_flight, videos_per_minute) = ctx.state(|s| (s.progress.max_videos_in_flight, s.progress.videos_per_minute));
            carried.steering = Steering::now(ctx);
            let next_input = MigrateCourseInput { carried: Some(carried), max_videos_in_flight, videos_per_minute, ..input.clone() };
            return controller::continue_as_new(ctx, &next_input);
        }
        let flag = match input.dry_run {
            true => FlagOutcome::default(),
            false => Self::validate_and_finish(ctx, &steps, &input, &mut carried).await?,
        };
        ctx.state_mut(|s| s.progress.stage = "done".into());
        let state = match (input.dry_run, carried.counts.passed()) {
            (true, _) => MigrationState::Planned,
            (false, true) => MigrationState::Passed,
            (false, false) => MigrationState::Failed,
        };
        controller::set_phase(ctx, Phase::Ended(state));
        let failures_total = carried.counts.failed + carried.counts.validation_failures;
        let plans_total = if input.dry_run { carried.counts.planned } else { 0 };
        Ok(CourseResult {
            course_key: course.clone(),
            dry_run: input.dry_run,
            run_number: carried.run_number,
            more_failures: failures_total.saturating_sub(carried.failures.len() as u32),
            more_plans: plans_total.saturating_sub(carried.plans.len() as u32),
            counts: carried.counts,
            flag,
            failures: carried.failures,
            plans: carried.plans,
            orphans: carried.orphans,
            skipped: carried.skipped,
        })
    }

    /// One child per video with something to migrate, at most `max_videos_in_flight` at a time
    /// and `videos_per_minute` started per minute (both read live, so `tune` takes effect at
    /// once), none while paused. A video whose plan leaves nothing to write (bad data, nothing
    /// to migrate, a dry run) needs no child. Results come in the page's order.
    async fn migrate_videos(
        ctx: &WorkflowContext<Self>,
        input: &MigrateCourseInput,
        videos: Vec<PlannedUnit>,
    ) -> WorkflowResult<Vec<Result<VideoResult, VideoFailure>>> {
        let mut results = Vec::with_capacity(videos.len());
        let mut to_migrate = Vec::new();
        for PlannedUnit { unit, plan } in videos {
            match settled_by_plan(&unit.usage_key, plan, input.dry_run, input.strict) {
                Settled::Done(done) => results.push(Some((*done).map_err(|message| VideoFailure { usage_key: unit.usage_key, message }))),
                Settled::Migrate(plan) => {
                    to_migrate.push((results.len(), unit, plan));
                    results.push(None);
                }
            }
        }
        let settled = (results.len() - to_migrate.len()) as u32;
        ctx.state_mut(|s| {
            s.progress.started += settled;
            s.progress.control.done += settled;
        });
        let room = |s: &Self| s.progress.control.running < s.progress.max_videos_in_flight;
        let migrated = in_lanes(ctx, to_migrate, room, |(at, unit, plan)| async move {
            let now = millis(ctx.workflow_time());
            let wait = ctx.state_mut(|s| {
                s.progress.started += 1;
                let per_minute = s.progress.videos_per_minute;
                pace(&mut s.next_start_ms, now, per_minute)
            });
            if let Some(wait) = wait {
                ctx.timer(wait).await;
            }
            (at, Self::migrate_video(ctx, input, unit, plan).await)
        })
        .await?;
        for (at, result) in migrated {
            results[at] = Some(result);
        }
        Ok(results.into_iter().flatten().collect())
    }

    async fn migrate_video(
        ctx: &WorkflowContext<Self>,
        input: &MigrateCourseInput,
        unit: VideoUnit,
        plan: VideoPlan,
    ) -> Result<VideoResult, VideoFailure> {
        let usage_key = unit.usage_key.clone();
        let failure = |message: String| VideoFailure { usage_key: usage_key.clone(), message };
        let options = child_options(video_workflow_id(&usage_key, input.dry_run), &usage_key.course, usage_key.to_string(), input.dry_run, None);
        let run_number = ctx.state(|s| s.run_number);
        let child_input =
            MigrateVideoInput { unit, plan: Some(plan), dry_run: input.dry_run, strict: input.strict, retry: input.retry.clone(), run_number };
        let child_input = serde_json::to_value(child_input).expect("video input serializes");
        ctx.state_mut(|s| s.progress.control.entered(usage_key.to_string()));
        let result = match ctx.start_child_workflow(MigrateVideo::run, child_input, options).await {
            Err(error) => Err(failure(format!("video {usage_key}: its migration could not start: {error}"))),
            Ok(started) => started.result().await.map_err(|error| failure(child_failure(&error))),
        };
        ctx.state_mut(|s| s.progress.control.left(&usage_key.to_string()));
        result
    }

    /// Writes the ids of videos back into their blocks, in one activity: one new structure
    /// version per split branch. Answers the videos whose write-back failed: edx-val keeps their
    /// transcripts, and their next run writes the id again.
    async fn write_back(
        steps: &Steps<'_, Self>,
        course: &CourseKey,
        run_number: u32,
        writers: Vec<(usize, WriteBackRequest)>,
    ) -> Vec<(usize, VideoFailure)> {
        if writers.is_empty() {
            return Vec::new();
        }
        let page = WriteBackPage { course_key: course.clone(), run_number, videos: writers.iter().map(|(_, request)| request.clone()).collect() };
        let answers = steps.activity(WriteBack, page, format!("write {} edx_video_ids back into {course}", writers.len())).await;
        let mut failed = Vec::new();
        for (at, (i, request)) in writers.into_iter().enumerate() {
            let reason = match &answers {
                Ok(answers) => match answers.get(at) {
                    Some(VideoWriteBack::Done(_)) => continue,
                    Some(VideoWriteBack::Conflict(why)) => why.clone(),
                    None => "the write-back gave no answer for it".to_string(),
                },
                Err(error) => failure_text(error),
            };
            let message = write_back_failed(&request.usage_key, &request.edx_video_id, &reason);
            failed.push((i, VideoFailure { usage_key: request.usage_key, message }));
        }
        failed
    }

    /// Appends failed videos to the course log.
    async fn record_failures(steps: &Steps<'_, Self>, course: &CourseKey, run_number: u32, failures: Vec<VideoFailure>) -> WorkflowResult<()> {
        if failures.is_empty() {
            return Ok(());
        }
        let record = RecordFailures { course_key: course.clone(), run_number, failures };
        steps
            .activity(RecordRunFailures, record, format!("record failures of {course}"))
            .await
            .map_err(|e| course_failed(format!("course {course}: recording failures in the course log failed: {}", failure_text(&e))))
    }

    /// Validates every video; at the course cut-over, once all passed, writes the ids into the
    /// blocks that lack them; records the run's end in the course log and, when nothing failed,
    /// switches the course's flag on.
    async fn validate_and_finish(
        ctx: &WorkflowContext<Self>,
        steps: &Steps<'_, Self>,
        input: &MigrateCourseInput,
        carried: &mut Carried,
    ) -> WorkflowResult<FlagOutcome> {
        let course = &input.course_key;
        Self::set_stage(ctx, "validate");
        let mut after = None;
        let mut write_backs = Vec::new();
        loop {
            controller::while_paused(ctx).await?;
            let page = PageRequest { course_key: course.clone(), after, page_size: input.page_size.max(1) };
            let request = ValidateRequest { page, cut_over: input.cut_over, strict: input.strict };
            let validated = steps
                .activity(Validate, request, format!("validate the videos of {course}"))
                .await
                .map_err(|e| course_failed(format!("course {course}: validation failed to run: {}", failure_text(&e))))?;
            carried.counts.validated_videos += validated.videos;
            carried.counts.validated_transcripts += validated.transcripts;
            carried.counts.validation_failures += validated.failures.len() as u32;
            write_backs.extend(validated.write_backs);
            Self::record_failures(steps, course, carried.run_number, validated.failures.clone()).await?;
            keep_first(&mut carried.failures, validated.failures, FAILURES_SHOWN);
            ctx.state_mut(|s| s.progress.show_counts(carried));
            after = validated.next;
            if after.is_none() {
                break;
            }
        }
        if input.cut_over == CutOver::Later {
            carried.counts.awaiting_cut_over = write_backs.len() as u32;
        } else if carried.counts.passed() && !write_backs.is_empty() {
            Self::set_stage(ctx, "cut over");
            let mut failures = Vec::new();
            let mut rest = write_backs.into_iter().enumerate().peekable();
            while rest.peek().is_some() {
                controller::while_paused(ctx).await?;
                let chunk: Vec<(usize, WriteBackRequest)> = rest.by_ref().take(WRITE_BACK_CHUNK).collect();
                let written = chunk.len() as u32;
                let failed = Self::write_back(steps, course, carried.run_number, chunk).await;
                carried.counts.switched_at_cut_over += written - failed.len() as u32;
                failures.extend(failed.into_iter().map(|(_, failure)| failure));
            }
            carried.counts.failed += failures.len() as u32;
            Self::record_failures(steps, course, carried.run_number, failures.clone()).await?;
            keep_first(&mut carried.failures, failures, FAILURES_SHOWN);
            ctx.state_mut(|s| s.progress.show_counts(carried));
        }
        Self::set_stage(ctx, "finish");
        let finish = FinishCourseRun {
            course_key: course.clone(),
            run_number: carried.run_number,
            counts: carried.counts.clone(),
            passed: carried.counts.passed(),
            switched: input.cut_over != CutOver::Later,
        };
        steps
            .activity(FinishRun, finish, format!("close the course log of {course}"))
            .await
            .map_err(|e| course_failed(format!("course {course}: closing the course log failed: {}", failure_text(&e))))
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

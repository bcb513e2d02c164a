//! `MigrateCourses`: a batch of course runs, the way the 2018 management command offered
//! `--course-id` (a list), `--all-courses` and `--from-settings`. It picks the courses a page at
//! a time, runs one `MigrateCourse` child per course with at most `max_courses_in_flight` at
//! once (and at most `max_videos_in_flight` videos across them), and continues as new after
//! each page, so that a batch of any size keeps every run's history small.
//!
//! `pause`, `resume` and `tune` act on the batch and are handed on to its running courses.

use std::collections::BTreeMap;

use model::CourseKey;
use model::contract::SelectCourses;
use model::contract::batch::{CourseFailure, CourseSelection};
use model::contract::course::{CourseCounts, CutOver};
use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::workflows::{join_all, workflow, workflow_methods};
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowContextView, WorkflowResult};

use crate::controller::{self, Control, DRY_RUN, Handed, MigrationState, Phase, Steered, Steering, Tuning, child_failure, child_options, keep_first};
use crate::input::{bad_input, read_input};
use crate::lanes::in_lanes;
use crate::migrate_course::{CourseResult, MigrateCourse, MigrateCourseInput, course_workflow_id};
use crate::retry::{RetrySettings, Steps, failure_text};
use crate::window::Window;

/// How many failed courses the result and the progress list; the course workflows (state
/// `failed`) and the course log have them all.
pub const FAILED_COURSES_SHOWN: usize = 100;

fn default_courses_in_flight() -> u32 {
    4
}

fn default_videos_per_course() -> u32 {
    8
}

fn default_videos_in_flight() -> u32 {
    32
}

fn default_page_size() -> u32 {
    200
}

fn default_courses_per_run() -> u32 {
    100
}

/// The input, as given to `temporal workflow start --input '{…}'`: either `course_keys` or
/// `"all_courses": true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MigrateCoursesInput {
    /// As the operator gave them: an entry that is not a course key is reported by its text.
    #[serde(default)]
    pub course_keys: Vec<String>,
    #[serde(default)]
    pub all_courses: bool,
    /// Leave out courses whose `CourseVideoTranscriptEnabledFlag` is on already.
    #[serde(default)]
    pub skip_migrated: bool,
    /// Start at most this many courses in this batch.
    #[serde(default)]
    pub max_courses: Option<u32>,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default = "default_courses_in_flight")]
    pub max_courses_in_flight: u32,
    #[serde(default = "default_videos_per_course")]
    pub max_videos_in_flight_per_course: u32,
    /// Videos in flight across the batch's running courses.
    #[serde(default = "default_videos_in_flight")]
    pub max_videos_in_flight: u32,
    /// Each course starts at most this many videos per minute (0: no limit).
    #[serde(default)]
    pub videos_per_minute: u32,
    /// Videos per page of each course run.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Courses per run of this workflow; it continues as new after each.
    #[serde(default = "default_courses_per_run")]
    pub courses_per_run: u32,
    #[serde(default)]
    pub retry: RetrySettings,
    /// When each course's learners switch (see `MigrateCourseInput::cut_over`).
    #[serde(default)]
    pub cut_over: CutOver,
    /// A language with no source file, or an empty one, fails its video.
    #[serde(default)]
    pub strict: bool,
    /// Start courses only within this maintenance window; each course is given it too, so
    /// that its videos keep to it (see `window`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Set by the workflow itself when it continues as new; never given by a caller.
    #[serde(default)]
    pub carried: Option<BatchCarried>,
}

/// What a batch has done so far, handed from one run to the next.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BatchCarried {
    /// `course_keys`: how many of them earlier runs took.
    pub offset: u32,
    /// Every course: the next page starts after this course; `None` when done.
    pub after: Option<CourseKey>,
    pub total: Option<u32>,
    pub counts: BatchCounts,
    pub failed_courses: Vec<CourseFailure>,
    #[serde(flatten)]
    pub steering: Steering,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchCounts {
    /// Course runs started.
    pub courses: u32,
    /// Courses whose every video migrated and validated (flag on).
    pub passed: u32,
    /// Courses with a failed video or validation problem, that could not run, or that are not
    /// course keys.
    pub failed: u32,
    /// Dry runs: courses planned.
    pub planned: u32,
    /// Courses left out because their flag was on already.
    pub already_migrated: u32,
    /// Entries that are not course keys (counted in `failed` too).
    pub invalid: u32,
    pub videos: u32,
    pub videos_migrated: u32,
    pub videos_failed: u32,
    pub transcripts_migrated: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResult {
    pub dry_run: bool,
    pub counts: BatchCounts,
    pub failed_courses: Vec<CourseFailure>,
    pub more_failed_courses: u32,
}

/// Progress, for `temporal workflow query --workflow-id … --name progress`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BatchProgress {
    #[serde(flatten)]
    pub control: Control<CourseKey>,
    /// The limits in force (changed with the `tune` signal).
    pub max_courses_in_flight: u32,
    pub max_videos_in_flight_per_course: u32,
    pub max_videos_in_flight: u32,
    pub videos_per_minute: u32,
    pub counts: BatchCounts,
    /// The state of each course of this run's page: `running`, `passed`, `failed`, `planned`,
    /// `already migrated`.
    pub courses: BTreeMap<CourseKey, String>,
    pub failed_courses: Vec<CourseFailure>,
}

impl BatchProgress {
    fn show_counts(&mut self, carried: &BatchCarried) {
        let counts = &carried.counts;
        let control = &mut self.control;
        (control.done, control.failed, control.skipped) = (counts.passed + counts.failed + counts.planned, counts.failed, counts.already_migrated);
        self.counts = counts.clone();
        self.failed_courses = carried.failed_courses.clone();
    }

    /// Whether one more course may start now.
    fn room_for_a_course(&self) -> bool {
        let running = self.control.running;
        let per_course = self.max_videos_in_flight_per_course.min(self.max_videos_in_flight);
        running < self.max_courses_in_flight && (running == 0 || (running + 1) * per_course <= self.max_videos_in_flight)
    }

    /// What a course started now is given, and what `tune` hands on to running courses.
    fn course_tuning(&self) -> Tuning {
        Tuning {
            max_videos_in_flight: Some(self.max_videos_in_flight_per_course.min(self.max_videos_in_flight)),
            videos_per_minute: Some(self.videos_per_minute),
            ..Tuning::default()
        }
    }
}

#[workflow]
#[derive(Default)]
pub struct MigrateCourses {
    progress: BatchProgress,
    /// Bumped by every applied `tune`, so a course started meanwhile can be told.
    tuning_version: u32,
}

impl Steered for MigrateCourses {
    type Child = CourseKey;

    fn control(&self) -> &Control<CourseKey> {
        &self.progress.control
    }

    fn control_mut(&mut self) -> &mut Control<CourseKey> {
        &mut self.progress.control
    }

    fn apply(&mut self, tuning: &Tuning) {
        let p = &mut self.progress;
        p.max_courses_in_flight = tuning.max_courses_in_flight.unwrap_or(p.max_courses_in_flight);
        p.max_videos_in_flight_per_course = tuning.max_videos_in_flight_per_course.unwrap_or(p.max_videos_in_flight_per_course);
        p.max_videos_in_flight = tuning.max_videos_in_flight.unwrap_or(p.max_videos_in_flight);
        p.videos_per_minute = tuning.videos_per_minute.unwrap_or(p.videos_per_minute);
        self.tuning_version += 1;
    }

    /// Courses the batch has not counted yet: those it left out count as handled.
    fn remaining(&self) -> Option<u32> {
        let control = &self.progress.control;
        control.total.map(|total| total.saturating_sub(control.done + control.skipped))
    }

    async fn hand_on(ctx: &WorkflowContext<Self>, handed: Handed) {
        let courses = ctx.state(|s| s.progress.control.in_flight.clone());
        join_all(courses.iter().map(|course| Self::tell_course(ctx, course, handed)).collect::<Vec<_>>()).await;
    }
}

/// A finished course run, as the batch counts it.
struct CourseRun {
    course_key: CourseKey,
    /// The run's counts, when it ran to its end.
    counts: Option<CourseCounts>,
    /// Passed or planned; or why the course failed.
    outcome: Result<MigrationState, String>,
}

/// How many courses the batch goes through, of `total`: with `max_courses`, it ends after that
/// many started courses, besides those it left out or could not read.
fn batch_total(total: u32, max_courses: Option<u32>, counts: &BatchCounts) -> u32 {
    max_courses.map_or(total, |max| total.min(max + counts.already_migrated + counts.invalid))
}

/// What a finished course run means for the batch.
fn course_outcome(result: &CourseResult) -> Result<MigrationState, String> {
    let counts = &result.counts;
    if result.dry_run {
        return Ok(MigrationState::Planned);
    }
    if counts.passed() {
        return Ok(MigrationState::Passed);
    }
    let first = result.failures.first().map(|f| format!("; first: {}", f.message)).unwrap_or_default();
    Err(format!(
        "course {}: {} of {} videos failed, {} validation problems{first}",
        result.course_key, counts.failed, counts.videos, counts.validation_failures
    ))
}

#[workflow_methods]
impl MigrateCourses {
    #[run(name = "MigrateCourses")]
    pub async fn run(ctx: &mut WorkflowContext<Self>, raw: serde_json::Value) -> WorkflowResult<BatchResult> {
        let input: MigrateCoursesInput = read_input("MigrateCourses", raw)?;
        if input.course_keys.is_empty() != input.all_courses {
            return Err(bad_input("invalid MigrateCourses input: give either \"course_keys\": [...] or \"all_courses\": true".into()));
        }
        let carried = input.carried.clone().unwrap_or_default();
        ctx.state_mut(|s| {
            let p = &mut s.progress;
            p.max_courses_in_flight = input.max_courses_in_flight.max(1);
            p.max_videos_in_flight_per_course = input.max_videos_in_flight_per_course.max(1);
            p.max_videos_in_flight = input.max_videos_in_flight.max(1);
            p.videos_per_minute = input.videos_per_minute;
            p.control.total = carried.total;
            p.show_counts(&carried);
        });
        controller::begin(ctx, carried.steering, input.carried.is_none(), None, input.dry_run);
        let window = input.window.clone();
        let result = controller::within_window(ctx, window.as_ref(), Self::run_page(ctx, input, carried)).await;
        controller::failed_if_failing(ctx, result)
    }

    #[query]
    pub fn progress(&self, _ctx: &WorkflowContextView) -> BatchProgress {
        self.progress.clone()
    }

    /// Starts no new course until `resume`, and pauses the running courses (their videos in
    /// flight finish).
    #[signal]
    pub async fn pause(ctx: &mut WorkflowContext<Self>, _input: RawValue) {
        controller::set_paused(ctx, true).await;
    }

    #[signal]
    pub async fn resume(ctx: &mut WorkflowContext<Self>, _input: RawValue) {
        controller::set_paused(ctx, false).await;
    }

    /// Changes the batch's limits; the per-course ones (`max_videos_in_flight_per_course`,
    /// `videos_per_minute`) also reach the courses running now.
    #[signal]
    pub async fn tune(ctx: &mut WorkflowContext<Self>, input: RawValue) {
        controller::tune(ctx, &input).await;
    }
}

impl MigrateCourses {
    /// One page of courses: select them, run them, then continue as new or finish.
    async fn run_page(ctx: &WorkflowContext<Self>, input: MigrateCoursesInput, mut carried: BatchCarried) -> WorkflowResult<BatchResult> {
        controller::while_paused(ctx).await?;
        let started = carried.counts.courses;
        let room = input.max_courses.map_or(u32::MAX, |max| max.saturating_sub(started));
        let page_size = input.courses_per_run.max(1).min(room);
        let listed_end = (carried.offset as usize + page_size as usize).min(input.course_keys.len());
        let selection = CourseSelection {
            listed: (!input.all_courses).then(|| input.course_keys[carried.offset as usize..listed_end].to_vec()),
            after: carried.after.clone().filter(|_| input.all_courses),
            limit: page_size,
            skip_migrated: input.skip_migrated,
        };
        let selected = match page_size {
            0 => Default::default(),
            _ => Steps::new(ctx, &input.retry)
                .activity(SelectCourses, selection, "select the batch's next courses".into())
                .await
                .map_err(|e| ApplicationFailure::builder(format!("selecting the batch's courses failed: {}", failure_text(&e))).build())?,
        };
        let total = match input.all_courses {
            true => selected.total,
            false => input.course_keys.len() as u32,
        };
        carried.counts.already_migrated += selected.already_migrated.len() as u32;
        carried.counts.invalid += selected.invalid.len() as u32;
        carried.counts.failed += selected.invalid.len() as u32;
        carried.total = Some(batch_total(total, input.max_courses, &carried.counts));
        keep_first(&mut carried.failed_courses, selected.invalid, FAILED_COURSES_SHOWN);
        ctx.state_mut(|s| {
            s.progress.control.total = carried.total;
            s.progress.courses = selected.already_migrated.iter().map(|c| (c.clone(), "already migrated".to_string())).collect();
            s.progress.show_counts(&carried);
        });

        for run in Self::run_courses(ctx, &input, selected.courses).await? {
            carried.counts.courses += 1;
            if let Some(counts) = &run.counts {
                carried.counts.videos += counts.videos;
                carried.counts.videos_migrated += counts.migrated;
                carried.counts.videos_failed += counts.failed;
                carried.counts.transcripts_migrated += counts.transcripts_migrated;
            }
            match run.outcome {
                Ok(MigrationState::Planned) => carried.counts.planned += 1,
                Ok(_) => carried.counts.passed += 1,
                Err(message) => {
                    carried.counts.failed += 1;
                    keep_first(
                        &mut carried.failed_courses,
                        [CourseFailure { course_key: run.course_key.to_string(), message }],
                        FAILED_COURSES_SHOWN,
                    );
                }
            }
        }
        ctx.state_mut(|s| s.progress.show_counts(&carried));

        carried.offset = listed_end as u32;
        carried.after = selected.next_after;
        let more = match input.all_courses {
            true => carried.after.is_some(),
            false => listed_end < input.course_keys.len(),
        };
        if more && input.max_courses.is_none_or(|max| carried.counts.courses < max) {
            // The next run keeps what operators changed meanwhile.
            let progress = ctx.state(|s| s.progress.clone());
            carried.steering = Steering::now(ctx);
            let next_input = MigrateCoursesInput {
                carried: Some(carried),
                max_courses_in_flight: progress.max_courses_in_flight,
                max_videos_in_flight_per_course: progress.max_videos_in_flight_per_course,
                max_videos_in_flight: progress.max_videos_in_flight,
                videos_per_minute: progress.videos_per_minute,
                ..input
            };
            return controller::continue_as_new(ctx, &next_input);
        }

        let state = match (input.dry_run, carried.counts.failed) {
            (_, 1..) => MigrationState::Failed,
            (true, 0) => MigrationState::Planned,
            (false, 0) => MigrationState::Passed,
        };
        controller::set_phase(ctx, Phase::Ended(state));
        Ok(BatchResult {
            dry_run: input.dry_run,
            more_failed_courses: carried.counts.failed.saturating_sub(carried.failed_courses.len() as u32),
            counts: carried.counts,
            failed_courses: carried.failed_courses,
        })
    }

    /// Hands a `tune`, `pause` or `resume` on to a running course. A course that has just
    /// finished no longer needs it, so a failed signal is not an error.
    async fn tell_course(ctx: &WorkflowContext<Self>, course: &CourseKey, handed: Handed) {
        let dry_run = ctx.search_attributes().get(&DRY_RUN).unwrap_or(false);
        let handle = ctx.external_workflow(course_workflow_id(course, dry_run), None);
        let _ = match handed {
            Handed::Tune => {
                let tuning = ctx.state(|s| s.progress.course_tuning());
                handle.signal(MigrateCourse::tune, tuning.to_signal(), Default::default()).await
            }
            Handed::Pause => handle.signal(MigrateCourse::pause, RawValue::new(vec![]), Default::default()).await,
            Handed::Resume => handle.signal(MigrateCourse::resume, RawValue::new(vec![]), Default::default()).await,
        };
    }

    /// Runs the page's courses, as many at a time as the limits allow; results in their order.
    async fn run_courses(ctx: &WorkflowContext<Self>, input: &MigrateCoursesInput, courses: Vec<CourseKey>) -> WorkflowResult<Vec<CourseRun>> {
        in_lanes(
            ctx,
            courses,
            |s: &Self| s.progress.room_for_a_course(),
            |course| async move {
                let result = Self::run_course(ctx, input, &course).await;
                let outcome = result.as_ref().map_err(Clone::clone).and_then(course_outcome);
                ctx.state_mut(|s| {
                    let state = outcome.as_ref().map_or(MigrationState::Failed, |state| *state);
                    s.progress.courses.insert(course.clone(), state.as_str().to_string());
                    s.progress.control.failed += outcome.is_err() as u32;
                });
                CourseRun { course_key: course, counts: result.ok().map(|result| result.counts), outcome }
            },
        )
        .await
    }

    /// One course run as a child. It is given the limits in force when it starts; a `pause` or
    /// `tune` that came while it was starting is handed on once it runs.
    async fn run_course(ctx: &WorkflowContext<Self>, input: &MigrateCoursesInput, course: &CourseKey) -> Result<CourseResult, String> {
        let (tuning, version) = ctx.state_mut(|s| {
            s.progress.courses.insert(course.clone(), MigrationState::Running.as_str().to_string());
            (s.progress.course_tuning(), s.tuning_version)
        });
        let mut child_input = MigrateCourseInput::new(course, input.dry_run);
        child_input.max_videos_in_flight = tuning.max_videos_in_flight.unwrap_or(child_input.max_videos_in_flight);
        child_input.videos_per_minute = tuning.videos_per_minute.unwrap_or(0);
        child_input.page_size = input.page_size;
        child_input.retry = input.retry.clone();
        child_input.cut_over = input.cut_over;
        child_input.strict = input.strict;
        child_input.window = input.window.clone();
        let options =
            child_options(course_workflow_id(course, input.dry_run), course, course.to_string(), input.dry_run, Some(MigrationState::Running));
        let raw = serde_json::to_value(&child_input).expect("course input serializes");
        let started = ctx.start_child_workflow(MigrateCourse::run, raw, options).await;
        let (paused, tuned) = ctx.state_mut(|s| {
            if started.is_ok() {
                s.progress.control.entered(course.clone());
            }
            (s.progress.control.paused, s.tuning_version != version)
        });
        let started = started.map_err(|error| format!("course {course}: its migration could not start (is it running elsewhere?): {error}"))?;
        if tuned {
            Self::tell_course(ctx, course, Handed::Tune).await;
        }
        if paused {
            Self::tell_course(ctx, course, Handed::Pause).await;
        }
        let result = started.result().await.map_err(|error| child_failure(&error));
        ctx.state_mut(|s| s.progress.control.left(course));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lanes::may_start;

    #[test]
    fn the_cli_input_needs_only_the_courses() {
        let input: MigrateCoursesInput = serde_json::from_str(r#"{"all_courses": true, "skip_migrated": true}"#).unwrap();
        assert_eq!((input.max_courses_in_flight, input.max_videos_in_flight_per_course, input.max_videos_in_flight), (4, 8, 32));
        assert_eq!((input.courses_per_run, input.max_courses, input.carried), (100, None, None));
        assert!(serde_json::from_str::<MigrateCoursesInput>(r#"{"all_course": true}"#).is_err(), "a misspelt field is refused");
    }

    #[test]
    fn the_batch_bounds_courses_and_videos_in_flight() {
        let mut progress =
            BatchProgress { max_courses_in_flight: 4, max_videos_in_flight_per_course: 8, max_videos_in_flight: 20, ..BatchProgress::default() };
        let mut started = 0;
        while progress.room_for_a_course() {
            progress.control.running += 1;
            started += 1;
        }
        assert_eq!(started, 2, "two courses of 8 videos fit in 20, a third would not");
        progress.max_videos_in_flight = 4;
        progress.control.running = 0;
        assert!(progress.room_for_a_course(), "one course always may run");
        assert_eq!(progress.course_tuning().max_videos_in_flight, Some(4), "a course never gets more than the batch allows");
        let mut batch = MigrateCourses { progress, tuning_version: 0 };
        let room = |s: &MigrateCourses| s.progress.room_for_a_course();
        assert!(may_start(&batch, room));
        batch.progress.control.paused = true;
        assert!(!may_start(&batch, room), "no course starts while the batch is paused");
    }

    #[test]
    fn at_most_max_courses_are_counted_in_the_total() {
        let mut counts = BatchCounts { courses: 100, already_migrated: 30, invalid: 2, ..BatchCounts::default() };
        assert_eq!(batch_total(10_000, None, &counts), 10_000);
        assert_eq!(batch_total(10_000, Some(500), &counts), 532, "500 started, and the 32 left out or unreadable so far");
        counts.courses = 400;
        assert_eq!(batch_total(10_000, Some(500), &counts), 532, "the total does not grow as courses start");
        assert_eq!(batch_total(300, Some(500), &counts), 300);
    }

    #[test]
    fn a_course_with_failures_fails_the_batch_entry() {
        let mut result = CourseResult {
            course_key: "course-v1:a+b+c".parse().unwrap(),
            dry_run: false,
            run_number: 1,
            counts: Default::default(),
            flag: Default::default(),
            failures: vec![],
            more_failures: 0,
            plans: vec![],
            more_plans: 0,
            orphans: vec![],
            skipped: vec![],
        };
        assert_eq!(course_outcome(&result), Ok(MigrationState::Passed));
        result.counts.validation_failures = 1;
        assert!(course_outcome(&result).unwrap_err().contains("1 validation problems"));
        result.dry_run = true;
        assert_eq!(course_outcome(&result), Ok(MigrationState::Planned));
    }
}

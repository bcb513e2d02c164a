//! What a course run and a batch share as controllers of their children, written once for
//! both: the `pause`, `resume` and `tune` signals, the maintenance window, waiting while paused, the state shown in the
//! Temporal UI (`MigrationState`) and the rate in `progress`, the search attributes,
//! continuing as new, and the options and failures of the children they start.

use std::collections::VecDeque;
use std::time::Duration;

use futures::future::Either;

use model::CourseKey;
use serde::{Deserialize, Serialize};
use temporalio_common::WorkflowDefinition;
use temporalio_common::data_converters::RawValue;
use temporalio_common::error::IncomingError;
use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;
use temporalio_common::search_attributes::{SearchAttributeKey, SearchAttributes};
use temporalio_sdk::{
    ApplicationFailure, ChildWorkflowExecutionError, ChildWorkflowOptions, ContinueAsNewOptions, ParentClosePolicy, WorkflowContext, WorkflowResult,
    WorkflowTermination,
};
use temporalio_workflow::workflows::WorkflowImplementation;

use crate::input::{bad_input, json_payload, signal_json};
use crate::lanes::millis;
use crate::window::{Schedule, Window, WindowState};

/// Search attributes the workflows set, so that runs can be found in the UI and with
/// `temporal workflow list --query "CourseKey='…'"`.
pub const COURSE_KEY: SearchAttributeKey<String> = SearchAttributeKey::keyword("CourseKey");
pub const DRY_RUN: SearchAttributeKey<bool> = SearchAttributeKey::bool("DryRun");
/// Where a run stands: `running`, `paused`, `validating`, then `passed`, `failed` or (dry runs)
/// `planned`. Lists every failed course with
/// `temporal workflow list --query "WorkflowType='MigrateCourse' AND MigrationState='failed'"`.
pub const MIGRATION_STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("MigrationState");

/// Every search attribute the workflows set, by name and type: a namespace must have them all
/// registered, or each run's first task fails for ever (`check` says so).
pub fn search_attributes() -> [(&'static str, IndexedValueType); 3] {
    [
        (COURSE_KEY.name(), COURSE_KEY.indexed_value_type()),
        (DRY_RUN.name(), DRY_RUN.indexed_value_type()),
        (MIGRATION_STATE.name(), MIGRATION_STATE.indexed_value_type()),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    #[default]
    Running,
    Paused,
    Validating,
    Passed,
    Failed,
    Planned,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Validating => "validating",
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Planned => "planned",
        }
    }
}

/// What a run is doing, from which (with the pause) its `MigrationState` follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Working,
    Validating,
    Ended(MigrationState),
}

/// The steering of a run and what it has done, shown in its `progress` query. `K` names the
/// children: usage keys for a course run, course keys for a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Control<K> {
    pub state: MigrationState,
    pub paused: bool,
    /// Children in the run (known once the first page is read).
    pub total: Option<u32>,
    pub done: u32,
    pub failed: u32,
    /// Children left alone: videos with nothing to migrate, courses migrated already.
    pub skipped: u32,
    /// Children running now.
    pub in_flight: Vec<K>,
    /// Children done per minute lately, and the time left at that rate.
    pub throughput: Throughput,
    /// The maintenance window, where the run has one: open or not, and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowState>,
    /// An operator's `pause` or `resume` decides instead of the window until its next edge.
    #[serde(default)]
    pub window_overridden: bool,
    /// Why the last `tune` signal was not applied.
    pub tuning_error: Option<String>,
    #[serde(skip)]
    phase: Phase,
    /// Lanes working on a child, including those still waiting to start it.
    #[serde(skip)]
    pub(crate) running: u32,
}

impl<K> Default for Control<K> {
    fn default() -> Self {
        Self {
            state: MigrationState::default(),
            paused: false,
            total: None,
            done: 0,
            failed: 0,
            skipped: 0,
            in_flight: Vec::new(),
            throughput: Throughput::default(),
            window: None,
            window_overridden: false,
            tuning_error: None,
            phase: Phase::default(),
            running: 0,
        }
    }
}

impl<K: PartialEq> Control<K> {
    /// The state the run is in now.
    fn derived_state(&self) -> MigrationState {
        match self.phase {
            Phase::Ended(state) => state,
            _ if self.paused => MigrationState::Paused,
            Phase::Validating => MigrationState::Validating,
            Phase::Working => MigrationState::Running,
        }
    }

    /// A child has started.
    pub fn entered(&mut self, child: K) {
        self.in_flight.push(child);
    }

    /// A child has ended.
    pub fn left(&mut self, child: &K) {
        self.in_flight.retain(|k| k != child);
    }
}

/// A workflow that controls children: a course run (its videos) or a batch (its courses).
pub trait Steered: Sized + 'static {
    type Child: Clone + PartialEq;

    fn control(&self) -> &Control<Self::Child>;
    fn control_mut(&mut self) -> &mut Control<Self::Child>;

    /// Takes the limits a `tune` changes.
    fn apply(&mut self, tuning: &Tuning);

    /// Children still to do, for the time left.
    fn remaining(&self) -> Option<u32> {
        let control = self.control();
        control.total.map(|total| total.saturating_sub(control.done))
    }

    /// Hands a pause, resume or tune on to the children running now; only a batch has
    /// children that are steered themselves.
    fn hand_on(_ctx: &WorkflowContext<Self>, _handed: Handed) -> impl Future<Output = ()> {
        async {}
    }
}

/// A signal a batch hands on to its running courses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handed {
    Pause,
    Resume,
    Tune,
}

/// Starts a run's steering: a pause the previous run carried (or that came with the start)
/// holds, and the state follows from it. The first run shows its search attributes; runs after
/// a continue-as-new inherit them.
pub fn begin<W: Steered>(ctx: &WorkflowContext<W>, carried: Steering, first_run: bool, course: Option<&CourseKey>, dry_run: bool) {
    let state = ctx.state_mut(|s| {
        let control = s.control_mut();
        control.paused |= carried.paused;
        control.window_overridden = carried.window_overridden;
        control.state = control.derived_state();
        control.state
    });
    if first_run {
        let mut attributes = vec![DRY_RUN.value_set(dry_run), MIGRATION_STATE.value_set(state.as_str().to_string())];
        attributes.extend(course.map(|course| COURSE_KEY.value_set(course.to_string())));
        ctx.upsert_search_attributes(attributes);
    }
}

/// The pause a run hands on to the next when it continues as new: the operator's (or the
/// window's), and whether an operator's decides until the window's next edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Steering {
    pub paused: bool,
    #[serde(default)]
    pub window_overridden: bool,
}

impl Steering {
    pub fn now<W: Steered>(ctx: &WorkflowContext<W>) -> Self {
        ctx.state(|s| {
            let control = s.control();
            Steering { paused: control.paused, window_overridden: control.window_overridden }
        })
    }
}

/// Runs `work` within the run's maintenance window, if it has one: outside the window the run
/// is held as a pause holds it (children in flight finish), and it goes on at the next opening,
/// on a workflow timer. A window that cannot be read fails the run as bad input.
pub async fn within_window<W: Steered, T>(
    ctx: &WorkflowContext<W>,
    window: Option<&Window>,
    work: impl Future<Output = WorkflowResult<T>>,
) -> WorkflowResult<T> {
    let schedule = match window.map(Window::schedule).transpose() {
        Ok(schedule) => schedule,
        Err(why) => return Err(bad_input(why)),
    };
    let Some(schedule) = schedule else { return work.await };
    let (work, follow) = (std::pin::pin!(work), std::pin::pin!(follow_window(ctx, schedule)));
    match futures::future::select(work, follow).await {
        Either::Left((result, _)) | Either::Right((result, _)) => result,
    }
}

/// Holds or frees the run at each edge of its window; an operator's override lasts until the
/// next edge. Never ends (the work it runs beside does).
async fn follow_window<W: Steered, T>(ctx: &WorkflowContext<W>, schedule: Schedule) -> WorkflowResult<T> {
    loop {
        let now = millis(ctx.workflow_time()) as i64;
        let window = schedule.at_time(now);
        ctx.state_mut(|s| {
            let control = s.control_mut();
            control.window = Some(window);
            if !control.window_overridden {
                control.paused = !window.open;
            }
        });
        show_state(ctx);
        ctx.timer(Duration::from_millis((window.until_ms - now).max(1_000) as u64)).await;
        ctx.state_mut(|s| s.control_mut().window_overridden = false);
    }
}

/// Moves the run to `phase`, and shows its new state where it changed.
pub fn set_phase<W: Steered>(ctx: &WorkflowContext<W>, phase: Phase) {
    ctx.state_mut(|s| s.control_mut().phase = phase);
    show_state(ctx);
}

fn show_state<W: Steered>(ctx: &WorkflowContext<W>) {
    let changed = ctx.state_mut(|s| {
        let control = s.control_mut();
        let state = control.derived_state();
        (state != control.state).then(|| {
            control.state = state;
            state
        })
    });
    if let Some(state) = changed {
        ctx.upsert_search_attributes([MIGRATION_STATE.value_set(state.as_str().to_string())]);
    }
}

/// A run that ends by failing shows `failed`.
pub fn failed_if_failing<W: Steered, T>(ctx: &WorkflowContext<W>, result: WorkflowResult<T>) -> WorkflowResult<T> {
    if let Err(WorkflowTermination::Failed(_)) = &result {
        set_phase(ctx, Phase::Ended(MigrationState::Failed));
    }
    result
}

/// `pause` and `resume`: a paused run starts no new child (nor page, nor validation) until it
/// is resumed; children in flight finish. The pause is part of the workflow's state, so it
/// survives worker restarts and continue-as-new.
pub async fn set_paused<W: Steered>(ctx: &WorkflowContext<W>, paused: bool) {
    ctx.state_mut(|s| {
        let control = s.control_mut();
        control.paused = paused;
        control.window_overridden = control.window.is_some();
    });
    show_state(ctx);
    W::hand_on(ctx, if paused { Handed::Pause } else { Handed::Resume }).await;
}

/// `tune`: changes the run's limits. Bad input must not fail the workflow: it becomes the
/// `tuning_error` of the `progress` query.
pub async fn tune<W: Steered>(ctx: &WorkflowContext<W>, raw: &RawValue) {
    match Tuning::from_signal(raw) {
        Err(error) => ctx.state_mut(|s| s.control_mut().tuning_error = Some(error)),
        Ok(tuning) => {
            ctx.state_mut(|s| {
                s.control_mut().tuning_error = None;
                s.apply(&tuning);
            });
            W::hand_on(ctx, Handed::Tune).await;
        }
    }
}

/// Waits while the run is paused.
pub async fn while_paused<W: Steered>(ctx: &WorkflowContext<W>) -> WorkflowResult<()> {
    ctx.wait_condition(|s| !s.control().paused).await.map_err(|_| WorkflowTermination::cancelled())
}

/// Ends this run and starts the next with `input`, keeping the history of each run small.
pub fn continue_as_new<W, T>(ctx: &WorkflowContext<W>, input: &impl Serialize) -> WorkflowResult<T>
where
    W: WorkflowImplementation,
    W::Run: WorkflowDefinition<Input = serde_json::Value>,
{
    let raw = serde_json::to_value(input).map_err(|e| ApplicationFailure::builder(e.to_string()).non_retryable(true).build())?;
    match ctx.continue_as_new(raw, ContinueAsNewOptions::default()) {
        Err(continued) => Err(continued),
        Ok(never) => match never {},
    }
}

/// A child's options: its id, the line the UI shows for it, and its search attributes. A child
/// runs to its end even if its parent is stopped, so that no video is left half-migrated.
pub fn child_options(workflow_id: String, course: &CourseKey, summary: String, dry_run: bool, state: Option<MigrationState>) -> ChildWorkflowOptions {
    let mut attributes = vec![COURSE_KEY.value_set(course.to_string()), DRY_RUN.value_set(dry_run)];
    attributes.extend(state.map(|state| MIGRATION_STATE.value_set(state.as_str().to_string())));
    ChildWorkflowOptions::builder()
        .workflow_id(workflow_id)
        .parent_close_policy(ParentClosePolicy::Abandon)
        .static_summary(summary)
        .search_attributes(SearchAttributes::new(attributes))
        .build()
}

/// The message of the innermost application failure of a child: the child's own reason.
pub fn child_failure(error: &ChildWorkflowExecutionError) -> String {
    let mut cause = error.cause();
    while let Some(incoming) = cause {
        if let IncomingError::Application(app) = incoming {
            return app.to_string();
        }
        cause = incoming.cause();
    }
    error.to_string()
}

/// Adds `more` to the failures shown, keeping at most `max` of them; the course log and the
/// counts have them all.
pub fn keep_first<T>(shown: &mut Vec<T>, more: impl IntoIterator<Item = T>, max: usize) {
    let room = max.saturating_sub(shown.len());
    shown.extend(more.into_iter().take(room));
}

/// How many recent completions the current rate is measured over.
const RATE_WINDOW: usize = 20;

/// The current rate of completions (over the last few) and the time left at that rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    #[serde(skip)]
    recent: VecDeque<u64>,
    pub per_minute: f64,
    pub eta_seconds: Option<u64>,
}

impl Throughput {
    /// Records a completion at `now_ms`, with `remaining` still to do (`None`: not known yet).
    pub fn completed(&mut self, now_ms: u64, remaining: Option<u32>) {
        if self.recent.len() == RATE_WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(now_ms);
        let span = self.recent.back().unwrap() - self.recent.front().unwrap();
        self.per_minute = match (self.recent.len(), span) {
            (n, span) if n > 1 && span > 0 => (n - 1) as f64 * 60_000.0 / span as f64,
            _ => 0.0,
        };
        self.eta_seconds = match remaining {
            Some(0) => Some(0),
            Some(left) if self.per_minute > 0.0 => Some((left as f64 * 60.0 / self.per_minute).ceil() as u64),
            _ => None,
        };
    }
}

/// The `tune` signal's input: the limits to change; those left out stay as they are.
/// `MigrateCourse` reads `max_videos_in_flight` (per course) and `videos_per_minute`;
/// `MigrateCourses` reads all four and hands the per-course ones on to its running courses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_videos_in_flight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub videos_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_courses_in_flight: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_videos_in_flight_per_course: Option<u32>,
}

impl Tuning {
    /// Reads a signal's input.
    pub fn from_signal(raw: &RawValue) -> Result<Self, String> {
        let tuning: Self = match signal_json(raw)? {
            None => return Err("tune needs --input, for example '{\"max_videos_in_flight\": 4}'".into()),
            Some(json) => serde_json::from_value(json).map_err(|e| format!("tune: {e}"))?,
        };
        let limits = [tuning.max_videos_in_flight, tuning.max_courses_in_flight, tuning.max_videos_in_flight_per_course];
        if limits.contains(&Some(0)) {
            return Err("tune: a maximum in flight must be at least 1 (pause the migration to stop it)".into());
        }
        Ok(tuning)
    }

    pub fn to_signal(&self) -> RawValue {
        json_payload(self)
    }
}

#[cfg(test)]
mod tests {
    use temporalio_common::protos::temporal::api::common::v1::Payload;

    use super::*;

    fn payload(text: &str) -> RawValue {
        RawValue::new(vec![Payload { data: text.as_bytes().to_vec(), ..Payload::default() }])
    }

    #[test]
    fn tuning_reads_what_the_cli_sends() {
        let tuning = Tuning::from_signal(&payload(r#"{"max_videos_in_flight": 2, "videos_per_minute": 30}"#)).unwrap();
        assert_eq!((tuning.max_videos_in_flight, tuning.videos_per_minute, tuning.max_courses_in_flight), (Some(2), Some(30), None));
        assert_eq!(Tuning::from_signal(&tuning.to_signal()).unwrap(), tuning);
    }

    #[test]
    fn bad_tuning_is_an_error_not_a_panic() {
        assert!(Tuning::from_signal(&RawValue::new(vec![])).unwrap_err().contains("needs --input"));
        assert!(Tuning::from_signal(&payload("{\"max_video_in_flight\": 2}")).unwrap_err().contains("unknown field"));
        assert!(Tuning::from_signal(&payload("{\"max_videos_in_flight\": 0}")).unwrap_err().contains("at least 1"));
        assert!(Tuning::from_signal(&payload("nope")).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn the_state_follows_the_phase_and_the_pause() {
        let mut control = Control::<String>::default();
        assert_eq!(control.derived_state(), MigrationState::Running);
        control.paused = true;
        assert_eq!(control.derived_state(), MigrationState::Paused);
        control.phase = Phase::Validating;
        assert_eq!(control.derived_state(), MigrationState::Paused, "a paused validation is paused");
        control.paused = false;
        assert_eq!(control.derived_state(), MigrationState::Validating);
        control.phase = Phase::Ended(MigrationState::Passed);
        control.paused = true;
        assert_eq!(control.derived_state(), MigrationState::Passed, "a pause after the end changes nothing");
    }

    #[test]
    fn throughput_measures_recent_completions() {
        let mut throughput = Throughput::default();
        throughput.completed(0, Some(10));
        assert_eq!((throughput.per_minute, throughput.eta_seconds), (0.0, None));
        throughput.completed(1_000, Some(9));
        throughput.completed(2_000, Some(8));
        assert_eq!(throughput.per_minute, 60.0);
        assert_eq!(throughput.eta_seconds, Some(8));
        for second in 3..100 {
            throughput.completed(second * 10_000, None);
        }
        assert_eq!(throughput.per_minute, 6.0, "only the recent completions count");
        assert_eq!(throughput.eta_seconds, None, "unknown remaining, unknown time");
    }

    #[test]
    fn only_the_first_failures_are_kept() {
        let mut shown = vec![1, 2];
        keep_first(&mut shown, 3..10, 4);
        assert_eq!(shown, [1, 2, 3, 4]);
        keep_first(&mut shown, [5], 4);
        assert_eq!(shown, [1, 2, 3, 4]);
    }
}

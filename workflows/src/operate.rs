//! What operators steer a running migration with, shared by `MigrateCourse` and
//! `MigrateCourses`: the `pause`, `resume` and `tune` signals, the pacing of new videos, the
//! throughput shown by the `progress` query, and the `MigrationState` search attribute.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_common::search_attributes::SearchAttributeKey;
use temporalio_sdk::workflows::join_all;
use temporalio_sdk::{ApplicationFailure, WorkflowContext, WorkflowResult, WorkflowTermination};

/// Fails the run, without retries, for input an operator got wrong.
pub fn bad_input(message: String) -> WorkflowTermination {
    ApplicationFailure::builder(message).type_name("BadInput".to_string()).non_retryable(true).build().into()
}

/// A workflow's input, read from raw JSON so that input which cannot be read fails the run with
/// a message instead of failing its first task over and over.
pub fn read_input<T: serde::de::DeserializeOwned>(workflow_type: &str, raw: serde_json::Value) -> Result<T, WorkflowTermination> {
    serde_json::from_value(raw).map_err(|e| bad_input(format!("invalid {workflow_type} input: {e}")))
}

/// Where a run stands: `running`, `paused`, `validating`, then `passed`, `failed` or (dry runs)
/// `planned`. Lists every failed course with
/// `temporal workflow list --query "WorkflowType='MigrateCourse' AND MigrationState='failed'"`.
pub const MIGRATION_STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("MigrationState");

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
    /// Reads a signal's input. A signal that cannot be read must not fail the workflow, so
    /// bad input becomes an error the `progress` query shows.
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

/// `value` as one JSON payload, the way `temporal … --input '…'` sends it.
pub fn json_payload(value: &impl Serialize) -> RawValue {
    let data = serde_json::to_vec(value).expect("serializes as JSON");
    RawValue::new(vec![Payload { metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(), data, ..Payload::default() }])
}

/// The JSON of a signal sent with `temporal workflow signal [--input '…']`: `None` without input.
fn signal_json(raw: &RawValue) -> Result<Option<serde_json::Value>, String> {
    match raw.payloads.as_slice() {
        [] => Ok(None),
        [payload] if payload.data.is_empty() => Ok(None),
        [payload] => serde_json::from_slice(&payload.data).map(Some).map_err(|e| format!("the signal's input is not JSON: {e}")),
        _ => Err("the signal takes at most one input".into()),
    }
}

/// Runs `work` on every item, in the items' order, starting the next one whenever `may_start`
/// holds on the workflow's state. The condition is read live, so a `pause` or `tune` signal
/// takes effect at once. `work` runs synchronously up to its first await right after the
/// condition held, so it can take its slot (count itself as running) before any other item is
/// considered. Results come in the items' order.
pub async fn in_lanes<W: 'static, T, R, Fut>(
    ctx: &WorkflowContext<W>,
    items: Vec<T>,
    may_start: impl Fn(&W) -> bool + Copy,
    work: impl Fn(T) -> Fut,
) -> WorkflowResult<Vec<R>>
where
    Fut: Future<Output = R>,
{
    let count = items.len();
    let queue = RefCell::new(items.into_iter().enumerate());
    let results: Rc<RefCell<Vec<Option<R>>>> = Rc::new(RefCell::new((0..count).map(|_| None).collect()));
    let lanes = (0..count).map(|_| {
        let (queue, results, work) = (&queue, results.clone(), &work);
        async move {
            loop {
                ctx.wait_condition(may_start).await.map_err(|_| WorkflowTermination::cancelled())?;
                let next = queue.borrow_mut().next();
                let Some((index, item)) = next else { return WorkflowResult::Ok(()) };
                let result = work(item).await;
                results.borrow_mut()[index] = Some(result);
            }
        }
    });
    for lane in join_all(lanes.collect::<Vec<_>>()).await {
        lane?;
    }
    let results = results.take();
    Ok(results.into_iter().flatten().collect())
}

/// Milliseconds since the epoch of a workflow time (which is deterministic, not the clock).
pub fn millis(time: Option<SystemTime>) -> u64 {
    time.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).map_or(0, |d| d.as_millis() as u64)
}

/// Spaces out starts so that at most `per_minute` happen per minute (0: no limit). Returns how
/// long the start reserved now must wait, and moves `next_free` past it.
pub fn pace(next_free: &mut u64, now_ms: u64, per_minute: u32) -> Option<Duration> {
    if per_minute == 0 {
        return None;
    }
    let slot = (*next_free).max(now_ms);
    *next_free = slot + 60_000 / per_minute as u64;
    (slot > now_ms).then(|| Duration::from_millis(slot - now_ms))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn json_payload(text: &str) -> RawValue {
        RawValue::new(vec![Payload { data: text.as_bytes().to_vec(), ..Payload::default() }])
    }

    #[test]
    fn tuning_reads_what_the_cli_sends() {
        let tuning = Tuning::from_signal(&json_payload(r#"{"max_videos_in_flight": 2, "videos_per_minute": 30}"#)).unwrap();
        assert_eq!((tuning.max_videos_in_flight, tuning.videos_per_minute, tuning.max_courses_in_flight), (Some(2), Some(30), None));
        assert_eq!(Tuning::from_signal(&tuning.to_signal()).unwrap(), tuning);
    }

    #[test]
    fn bad_tuning_is_an_error_not_a_panic() {
        assert!(Tuning::from_signal(&RawValue::new(vec![])).unwrap_err().contains("needs --input"));
        assert!(Tuning::from_signal(&json_payload("{\"max_video_in_flight\": 2}")).unwrap_err().contains("unknown field"));
        assert!(Tuning::from_signal(&json_payload("{\"max_videos_in_flight\": 0}")).unwrap_err().contains("at least 1"));
        assert!(Tuning::from_signal(&json_payload("nope")).unwrap_err().contains("not JSON"));
    }

    #[test]
    fn pacing_spaces_starts_evenly() {
        let mut next = 0;
        assert_eq!(pace(&mut next, 1_000, 0), None, "no limit, no wait");
        assert_eq!(pace(&mut next, 1_000, 60), None);
        assert_eq!(pace(&mut next, 1_000, 60), Some(Duration::from_secs(1)));
        assert_eq!(pace(&mut next, 1_500, 60), Some(Duration::from_millis(1_500)));
        assert_eq!(pace(&mut next, 10_000, 60), None, "an idle spell does not bank starts");
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
}

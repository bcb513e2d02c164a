//! Running a page of children side by side: the lanes, the pacing of starts, and the rate of
//! completions that `progress` shows.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use temporalio_sdk::workflows::join_all;
use temporalio_sdk::{WorkflowContext, WorkflowResult, WorkflowTermination};

use crate::controller::Steered;

/// Runs `work` on every item, in the items' order, starting the next one whenever the run is
/// not paused and `room` holds. Both are read live, so a `pause` or `tune` takes effect at once.
/// A lane counts itself as running (`Control::running`) from the moment it takes an item, before
/// any other item is considered, and the item as done when `work` ends. Results come in the
/// items' order.
pub async fn in_lanes<W: Steered, T, R, Fut>(
    ctx: &WorkflowContext<W>,
    items: Vec<T>,
    room: impl Fn(&W) -> bool + Copy,
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
                ctx.wait_condition(|s: &W| !s.control().paused && room(s)).await.map_err(|_| WorkflowTermination::cancelled())?;
                let next = queue.borrow_mut().next();
                let Some((index, item)) = next else { return WorkflowResult::Ok(()) };
                ctx.state_mut(|s| s.control_mut().running += 1);
                let result = work(item).await;
                let now = millis(ctx.workflow_time());
                ctx.state_mut(|s| {
                    let control = s.control_mut();
                    control.running -= 1;
                    control.done += 1;
                    let remaining = s.remaining();
                    s.control_mut().throughput.completed(now, remaining);
                });
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

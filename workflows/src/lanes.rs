//! Running a page of children side by side: the lanes, and the pacing of their starts.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

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
                ctx.wait_condition(|s: &W| may_start(s, room)).await.map_err(|_| WorkflowTermination::cancelled())?;
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

/// Whether a lane may start its next item: the run is not paused and `room` holds.
pub fn may_start<W: Steered>(state: &W, room: impl Fn(&W) -> bool) -> bool {
    !state.control().paused && room(state)
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
}

//! Per-worker rate limits that protect production stores: `MONGO_READS_PER_SECOND` (queries
//! of the modulestore and contentstore) and `S3_REQUESTS_PER_SECOND`. Every activity of the
//! worker shares them; with several workers, the installation sees the sum.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces out calls so that at most `per_second` begin per second; unlimited by default.
#[derive(Clone, Default)]
pub struct Throttle {
    slots: Option<(Duration, Arc<Mutex<Instant>>)>,
    /// Told of every call held back (the worker's metrics).
    held_back: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Throttle {
    pub fn per_second(per_second: Option<f64>) -> Self {
        let slots = per_second.filter(|rate| *rate > 0.0).map(|rate| (Duration::from_secs_f64(1.0 / rate), Arc::new(Mutex::new(Instant::now()))));
        Self { slots, held_back: None }
    }

    /// Calls `held_back` for every call that had to wait.
    pub fn counted(self, held_back: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self { held_back: Some(held_back), ..self }
    }

    /// Waits for this call's turn.
    pub async fn wait(&self) {
        let Some((interval, next)) = &self.slots else { return };
        let slot = {
            let mut next = next.lock().expect("throttle lock");
            let slot = (*next).max(Instant::now());
            *next = slot + *interval;
            slot
        };
        if slot > Instant::now()
            && let Some(held_back) = &self.held_back
        {
            held_back();
        }
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn calls_are_spaced_out() {
        let throttle = Throttle::per_second(Some(10.0));
        let start = Instant::now();
        for _ in 0..21 {
            throttle.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2), "21 calls at 10/s take 2 s after the first");
        let unlimited = Throttle::per_second(None);
        let start = Instant::now();
        for _ in 0..1000 {
            unlimited.wait().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}

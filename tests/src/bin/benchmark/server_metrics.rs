//! The Temporal server's own figures, read from the dev server's Prometheus endpoint
//! (`TEMPORAL_METRICS_URL` in the stack's env file) before and after the orchestrated run.

use std::path::Path;

use anyhow::Context;
use integration_tests::prometheus::{metric, metric_where, scrape};

/// Persistence operations that write a workflow's mutable state.
const STATE_WRITES: &[&str] = &["CreateWorkflowExecution", "UpdateWorkflowExecution", "ConflictResolveWorkflowExecution"];

/// Counters as the server reports them; `since` gives a run's share.
#[derive(Debug, Clone, Copy, Default)]
pub struct TemporalFigures {
    pub state_transitions: f64,
    pub state_writes: f64,
    pub persistence_requests: f64,
    pub persistence_seconds: f64,
    pub persistence_timed: f64,
    /// Task polls on the run's queue (its normal and sticky partitions) that got a task, and
    /// those handed one directly by matching (no database).
    pub polls: f64,
    pub polls_matched_directly: f64,
}

impl TemporalFigures {
    /// The counters now; the polls are those of `queue`'s series, which the server labels with
    /// the queue's name, `-` written `_`.
    pub async fn read(port: u16, queue: &str) -> anyhow::Result<Self> {
        let scraped = scrape(port).await?;
        let state_write = |labels: &str| STATE_WRITES.iter().any(|op| labels.contains(&format!("operation=\"{op}\"")));
        let label = format!("taskqueue=\"{}\"", queue.replace('-', "_"));
        let on_queue = |labels: &str| labels.contains(&label);
        Ok(Self {
            // The histogram samples a run's running total once per transaction: its count is the
            // number of transactions, each one state transition.
            state_transitions: metric(&scraped, "state_transition_count_count"),
            state_writes: metric_where(&scraped, "persistence_requests", state_write),
            persistence_requests: metric(&scraped, "persistence_requests"),
            persistence_seconds: metric(&scraped, "persistence_latency_sum"),
            persistence_timed: metric(&scraped, "persistence_latency_count"),
            polls: metric_where(&scraped, "poll_success", on_queue),
            polls_matched_directly: metric_where(&scraped, "poll_success_sync", on_queue),
        })
    }

    /// `read` once the counters have stopped moving: the server exports some of them a while
    /// after the tasks they count (a queue's direct matches were seen ahead of its polls).
    pub async fn read_settled(port: u16, queue: &str) -> anyhow::Result<Self> {
        let mut last = Self::read(port, queue).await?;
        for _ in 0..30 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let now = Self::read(port, queue).await?;
            let moving =
                [(now.polls, last.polls), (now.polls_matched_directly, last.polls_matched_directly), (now.state_transitions, last.state_transitions)];
            if moving.iter().all(|(a, b)| a == b) {
                return Ok(now);
            }
            last = now;
        }
        anyhow::bail!("the Temporal server's counters for {queue} kept moving for 30 s after the run")
    }

    pub fn since(&self, before: &Self) -> Self {
        Self {
            state_transitions: self.state_transitions - before.state_transitions,
            state_writes: self.state_writes - before.state_writes,
            persistence_requests: self.persistence_requests - before.persistence_requests,
            persistence_seconds: self.persistence_seconds - before.persistence_seconds,
            persistence_timed: self.persistence_timed - before.persistence_timed,
            polls: self.polls - before.polls,
            polls_matched_directly: self.polls_matched_directly - before.polls_matched_directly,
        }
    }

    /// Two lines: per video, and the persistence latency and direct matches.
    pub fn lines(&self, videos: usize) -> [String; 2] {
        let per_video = |n: f64| n / videos.max(1) as f64;
        [
            format!(
                "Temporal per video: {:.1} state transitions, {:.1} state writes, {:.1} persistence requests",
                per_video(self.state_transitions),
                per_video(self.state_writes),
                per_video(self.persistence_requests)
            ),
            format!(
                "Temporal persistence latency: {:.2} ms mean; tasks matched directly: {:.0}% of {:.0}",
                self.persistence_seconds * 1000.0 / self.persistence_timed.max(1.0),
                self.polls_matched_directly * 100.0 / self.polls.max(1.0),
                self.polls
            ),
        ]
    }
}

/// The metrics port `scripts/stack` gave the dev server.
pub fn metrics_port(stack_dir: &Path) -> anyhow::Result<u16> {
    let env = std::fs::read_to_string(stack_dir.join("stack.env")).context("the stack's env file")?;
    let url = env
        .lines()
        .find_map(|line| line.strip_prefix("TEMPORAL_METRICS_URL="))
        .context("TEMPORAL_METRICS_URL in the stack's env file (restart the stack)")?;
    let port = url.trim().trim_start_matches("http://127.0.0.1:").trim_end_matches("/metrics");
    port.parse().with_context(|| format!("TEMPORAL_METRICS_URL={url}"))
}

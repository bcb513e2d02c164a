//! What the benchmark reads off the machine and off Temporal: CPU time and peak memory of the
//! processes from `/proc`, and each workflow run's times and history length from visibility.

use std::path::Path;
use std::time::Duration;

use futures::TryStreamExt;
use temporalio_client::{Client, WorkflowListOptions};

/// User plus system CPU time of a process so far (`/proc/<pid>/stat`), `None` when it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / CLOCK_TICKS_PER_SECOND)
}

/// sysconf(_SC_CLK_TCK): 100 on every Linux architecture Rust targets.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// A process's peak resident set (`VmHWM`), in MiB.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The stack's servers by name, with their pids (`scripts/stack` keeps them in `.stack/pids`).
pub fn stack_servers(stack_dir: &Path) -> Vec<(String, u32)> {
    ["temporal", "mongo", "s3", "mariadb"]
        .iter()
        .filter_map(|name| {
            let pid = std::fs::read_to_string(stack_dir.join("pids").join(format!("{name}.pid"))).ok()?.trim().parse().ok()?;
            cpu_seconds(pid).map(|_| (name.to_string(), pid))
        })
        .collect()
}

/// CPU seconds each of `processes` spends between `start` and `stop`.
pub struct CpuMeter {
    processes: Vec<(String, u32, f64)>,
}

impl CpuMeter {
    pub fn start(processes: &[(String, u32)]) -> Self {
        Self { processes: processes.iter().map(|(name, pid)| (name.clone(), *pid, cpu_seconds(*pid).unwrap_or(0.0))).collect() }
    }

    pub fn stop(&self) -> Vec<(String, f64)> {
        self.processes.iter().map(|(name, pid, before)| (name.clone(), cpu_seconds(*pid).map_or(0.0, |now| now - before))).collect()
    }
}

/// What visibility says of the runs on a task queue.
#[derive(Debug, Default)]
pub struct QueueRuns {
    /// Start to close of each `MigrateVideo` run, sorted.
    pub video_latencies: Vec<Duration>,
    /// History events of every run (batch, course and video runs).
    pub history_events: u64,
    pub longest_history: u64,
    pub runs: usize,
}

impl QueueRuns {
    pub fn percentile(&self, percent: usize) -> Duration {
        match self.video_latencies.len() {
            0 => Duration::ZERO,
            n => self.video_latencies[(n - 1) * percent / 100],
        }
    }
}

/// Reads the runs on `queue` once visibility has every one of the `videos` video runs closed.
pub async fn queue_runs(client: &Client, queue: &str, videos: usize) -> anyhow::Result<QueueRuns> {
    let closed = format!("TaskQueue='{queue}' AND WorkflowType='MigrateVideo' AND ExecutionStatus!='Running'");
    for _ in 0..600 {
        let count = client.count_workflows(closed.clone(), Default::default()).await?.count();
        if count >= videos {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut result = QueueRuns::default();
    let mut runs = client.list_workflows(format!("TaskQueue='{queue}'"), WorkflowListOptions::default());
    while let Some(run) = runs.try_next().await? {
        let events = run.history_length().max(0) as u64;
        result.runs += 1;
        result.history_events += events;
        result.longest_history = result.longest_history.max(events);
        if run.workflow_type() == "MigrateVideo"
            && let (Some(start), Some(close)) = (run.start_time(), run.close_time())
        {
            result.video_latencies.push(close.duration_since(start).unwrap_or_default());
        }
    }
    result.video_latencies.sort();
    Ok(result)
}

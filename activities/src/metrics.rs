//! The migration's own metrics, served with the SDK's on the worker's Prometheus endpoint
//! (`METRICS_ADDRESS`): what was migrated, what failed and why, how often a throttle held a
//! call back, and which steps are running. Without an endpoint they cost nothing (a no-op meter).
//! `ops/grafana/transcript-migrator.json` charts them.

use std::sync::Arc;

use temporalio_common::telemetry::metrics::{
    CoreMeter, Counter, MetricAttributes, MetricKeyValue, MetricParameters, NewAttributes, NoOpCoreMeter, UpDownCounter,
};

/// The names, as the endpoint serves them (counters get `_total`).
pub const VIDEOS_MIGRATED: &str = "transcript_migrator_videos_migrated";
pub const TRANSCRIPTS_MIGRATED: &str = "transcript_migrator_transcripts_migrated";
pub const BYTES_MIGRATED: &str = "transcript_migrator_transcript_bytes_migrated";
pub const VIDEOS_FAILED: &str = "transcript_migrator_videos_failed";
pub const PROBLEMS: &str = "transcript_migrator_transcript_problems";
pub const THROTTLE_WAITS: &str = "transcript_migrator_throttle_waits";
pub const STEPS_IN_FLIGHT: &str = "transcript_migrator_steps_in_flight";

pub struct MigrationMetrics {
    meter: Arc<dyn CoreMeter>,
    none: MetricAttributes,
    videos_migrated: Counter,
    transcripts_migrated: Counter,
    bytes_migrated: Counter,
    videos_failed: Counter,
    problems: Counter,
    throttle_waits: Counter,
    steps_in_flight: UpDownCounter,
}

impl Default for MigrationMetrics {
    fn default() -> Self {
        Self::new(Arc::new(NoOpCoreMeter))
    }
}

fn parameters(name: &'static str, description: &'static str) -> MetricParameters {
    MetricParameters::builder().name(name).description(description).build()
}

impl MigrationMetrics {
    pub fn new(meter: Arc<dyn CoreMeter>) -> Self {
        let metrics = Self::instruments(meter);
        // Served from the start, at 0, so that a dashboard shows them before the first event.
        let none = &metrics.none;
        for counter in [&metrics.videos_migrated, &metrics.transcripts_migrated, &metrics.bytes_migrated, &metrics.videos_failed] {
            counter.add(0, none);
        }
        for kind in model::plan::NO_SOURCE_KINDS {
            metrics.problems.add(0, &metrics.labelled("kind", kind));
        }
        for store in ["mongo", "s3"] {
            metrics.throttle_waits.add(0, &metrics.labelled("store", store));
        }
        metrics
    }

    fn instruments(meter: Arc<dyn CoreMeter>) -> Self {
        Self {
            none: meter.new_attributes(NewAttributes { attributes: Vec::new() }),
            videos_migrated: meter.counter(parameters(VIDEOS_MIGRATED, "videos whose transcripts a commit recorded in edx-val")),
            transcripts_migrated: meter.counter(parameters(TRANSCRIPTS_MIGRATED, "edx-val transcript rows the migration created")),
            bytes_migrated: meter.counter(parameters(BYTES_MIGRATED, "SJSON bytes of the transcripts the migration recorded")),
            videos_failed: meter.counter(parameters(VIDEOS_FAILED, "failed videos recorded in the course log")),
            problems: meter.counter(parameters(PROBLEMS, "transcripts a diff found broken or without a source, by kind")),
            throttle_waits: meter.counter(parameters(THROTTLE_WAITS, "calls a per-worker throttle held back, by store")),
            steps_in_flight: meter.up_down_counter(parameters(STEPS_IN_FLIGHT, "steps (activities) running on this worker, by step")),
            meter,
        }
    }

    fn labelled(&self, key: &str, value: &str) -> MetricAttributes {
        self.meter.new_attributes(NewAttributes { attributes: vec![MetricKeyValue::new(key, value.to_string())] })
    }

    /// A commit that recorded `transcripts` new rows holding `bytes` of SJSON.
    pub fn committed(&self, transcripts: u64, bytes: u64) {
        self.videos_migrated.add(1, &self.none);
        self.transcripts_migrated.add(transcripts, &self.none);
        self.bytes_migrated.add(bytes, &self.none);
    }

    pub fn videos_failed(&self, videos: u64) {
        self.videos_failed.add(videos, &self.none);
    }

    /// A problem a diff found (`missing`, `unparsable_srt`, …).
    pub fn problem(&self, kind: &str) {
        self.problems.add(1, &self.labelled("kind", kind));
    }

    /// A counter of the calls a throttle of `store` held back, for `Throttle::counted`.
    pub fn throttle_waits(self: &Arc<Self>, store: &'static str) -> Arc<dyn Fn() + Send + Sync> {
        let (metrics, attributes) = (self.clone(), self.labelled("store", store));
        Arc::new(move || metrics.throttle_waits.add(1, &attributes))
    }

    /// Counts the step as running until the guard is dropped.
    pub fn step_running(&self, step: &str) -> StepRunning<'_> {
        let attributes = self.labelled("step", step);
        self.steps_in_flight.add(1, &attributes);
        StepRunning { metrics: self, attributes }
    }
}

pub struct StepRunning<'a> {
    metrics: &'a MigrationMetrics,
    attributes: MetricAttributes,
}

impl Drop for StepRunning<'_> {
    fn drop(&mut self) {
        self.metrics.steps_in_flight.add(-1, &self.attributes);
    }
}

//! How the workflows run their steps: the retry rules of the seeds, and the one way a workflow
//! calls an activity ([`Steps`]), as an ordinary activity, a local one, or a rollback.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use temporalio_common::data_converters::TemporalDeserializable;
use temporalio_common::error::IncomingError;
use temporalio_common::{ActivityDefinition, RetryPolicy};
use temporalio_sdk::{ActivityExecutionError, ActivityOptions, LocalActivityOptions, WorkflowContext};

/// How activities are retried: the seeds' policy is 2 s between attempts, 3 attempts at most;
/// 6 attempts here, so that a store may be away for about a minute. An attempt that has not
/// finished after `activity_timeout_seconds` (its worker died, say) is retried on another
/// worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    pub initial_interval_ms: u64,
    pub maximum_attempts: u32,
    #[serde(default = "default_activity_timeout")]
    pub activity_timeout_seconds: u64,
}

fn default_activity_timeout() -> u64 {
    300
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self { initial_interval_ms: 2000, maximum_attempts: 6, activity_timeout_seconds: default_activity_timeout() }
    }
}

/// How often a step is attempted: `maximum_attempts` (0: no limit), at most `maximum_interval`
/// apart.
#[derive(Debug, Clone, Copy)]
struct Attempts {
    maximum_attempts: u32,
    maximum_interval: Duration,
}

impl RetrySettings {
    /// A step: Temporal's own default for the longest wait, 100 times the first.
    fn step(&self) -> Attempts {
        Attempts { maximum_attempts: self.maximum_attempts, maximum_interval: Duration::from_millis(self.initial_interval_ms.saturating_mul(100)) }
    }

    /// A rollback is retried until it succeeds (at most a minute apart), so an outage of S3
    /// delays it but never leaves the objects of a failed transaction behind.
    fn rollback(&self) -> Attempts {
        Attempts { maximum_attempts: 0, maximum_interval: Duration::from_secs(60) }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.activity_timeout_seconds.max(1))
    }

    fn policy(&self, attempts: Attempts) -> RetryPolicy {
        RetryPolicy::builder()
            .initial_interval(Duration::from_millis(self.initial_interval_ms))
            .backoff_coefficient(2.0)
            .maximum_interval(attempts.maximum_interval)
            .maximum_attempts(attempts.maximum_attempts)
            .build()
    }
}

/// Runs a workflow's steps as activities, under its retry settings. Each call names the step in
/// a summary, the line the Temporal UI shows for it.
pub struct Steps<'a, W> {
    ctx: &'a WorkflowContext<W>,
    retry: &'a RetrySettings,
}

impl<'a, W> Steps<'a, W> {
    pub fn new(ctx: &'a WorkflowContext<W>, retry: &'a RetrySettings) -> Self {
        Self { ctx, retry }
    }

    /// An ordinary activity. Scheduling it ends the workflow task, so the history holds what
    /// came before it once the activity runs.
    pub async fn activity<AD>(&self, activity: AD, input: AD::Input, summary: String) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        let options = ActivityOptions::with_start_to_close_timeout(self.retry.timeout())
            .retry_policy(self.retry.policy(self.retry.step()))
            .summary(summary)
            .build();
        self.ctx.execute_activity(activity, input, options).await
    }

    /// A local activity: the worker running the workflow task runs it, and it leaves one
    /// marker in the history instead of three events and a trip through the task queue.
    pub async fn local<AD>(&self, activity: AD, input: AD::Input, summary: String) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        self.local_with(activity, input, summary, self.retry.step()).await
    }

    /// A local activity that undoes a step: retried until it succeeds.
    pub async fn rollback<AD>(&self, activity: AD, input: AD::Input, summary: String) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        self.local_with(activity, input, summary, self.retry.rollback()).await
    }

    async fn local_with<AD>(&self, activity: AD, input: AD::Input, summary: String, attempts: Attempts) -> Result<AD::Output, ActivityExecutionError>
    where
        AD: ActivityDefinition,
        AD::Output: TemporalDeserializable,
    {
        let options = LocalActivityOptions::builder()
            .start_to_close_timeout(self.retry.timeout())
            .retry_policy(self.retry.policy(attempts))
            .summary(summary)
            .build();
        self.ctx.execute_local_activity(activity, input, options).await
    }
}

/// The type and message of an activity's failure (the SDK's own message says only that an
/// activity failed).
pub fn failure_text(error: &ActivityExecutionError) -> String {
    match error.cause() {
        Some(IncomingError::Application(app)) => format!("{}: {app}", app.type_name().unwrap_or("Error")),
        Some(other) => other.to_string(),
        None => error.to_string(),
    }
}

/// Whether the activity failed with an application failure of this type.
pub fn failed_with(error: &ActivityExecutionError, type_name: &str) -> bool {
    matches!(error.cause(), Some(IncomingError::Application(app)) if app.type_name() == Some(type_name))
}

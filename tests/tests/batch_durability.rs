//! A batch survives its worker: the worker process is killed with SIGKILL twice in the middle of
//! a batch and started again, and the batch ends in the same state (S3 objects, edx-val
//! transcripts, flags) as the same batch on the same data run undisturbed.

use std::time::Duration;

use integration_tests::faults::WorkerProcess;
use integration_tests::{clean_up, final_state, seed_isolated, stack_client, unique_tag, with_worker, workflow_status};
use seed::Plan;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::migrate_courses::{BatchResult, MigrateCourses, MigrateCoursesInput};
use workflows::retry::RetrySettings;

fn plan() -> Plan {
    Plan { seed: 11, bulk_courses: 6, videos_per_course: 4, languages_per_video: 2, cues_per_transcript: 10, ..Plan::default() }
}

fn batch_input() -> serde_json::Value {
    let mut input: MigrateCoursesInput = serde_json::from_value(serde_json::json!({ "all_courses": true, "courses_per_run": 3 })).unwrap();
    // A killed worker's activities are retried elsewhere once this timeout passes.
    input.retry = RetrySettings { initial_interval_ms: 200, maximum_attempts: 5, activity_timeout_seconds: 10 };
    serde_json::to_value(input).unwrap()
}

async fn start_batch(client: &Client, queue: &str, id: &str) {
    let options = WorkflowStartOptions::new(queue.to_string(), id.to_string()).build();
    client.start_workflow(MigrateCourses::run, batch_input(), options).await.unwrap();
}

async fn batch_result(client: &Client, id: &str) -> BatchResult {
    let handle = client.get_workflow_handle::<MigrateCourses>(id);
    handle.get_result(WorkflowGetResultOptions::default()).await.unwrap_or_else(|e| panic!("batch {id}: {e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_killed_twice_ends_as_an_undisturbed_one() {
    let (calm, _, calm_manifest) = seed_isolated("calm", plan()).await;
    let (crash, _, crash_manifest) = seed_isolated("crash", plan()).await;

    let calm_batch = format!("batch-{}", unique_tag("calm"));
    let calm_result = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = calm_result.clone();
    with_worker(&calm, |client, queue| async move {
        start_batch(&client, &queue, &calm_batch).await;
        *slot.lock().unwrap() = Some(batch_result(&client, &calm_batch).await);
    })
    .await;
    let calm_result = calm_result.lock().unwrap().take().unwrap();
    let expected = final_state(&calm, &calm_manifest).await;

    let client = stack_client().await;
    let queue = format!("test-{}", unique_tag("kill"));
    let batch = format!("batch-{}", unique_tag("crash"));
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("batch-durability-{queue}.log"));
    let mut worker = WorkerProcess::start(env!("CARGO_BIN_EXE_test-worker").as_ref(), &crash, &queue, &log);
    start_batch(&client, &queue, &batch).await;
    for pause in [Duration::from_secs(4), Duration::from_secs(6)] {
        tokio::time::sleep(pause).await;
        assert_eq!(workflow_status(&client, &batch).await.as_deref(), Some("Running"), "killed mid-batch");
        worker.kill_and_restart(Duration::from_secs(1)).await;
    }
    let crash_result = batch_result(&client, &batch).await;
    worker.stop();
    let actual = final_state(&crash, &crash_manifest).await;

    assert_eq!(crash_result.counts, calm_result.counts);
    assert!(!expected.transcripts.is_empty() && expected.flags.values().any(|f| *f == Some(true)));
    assert_eq!(actual, expected, "the same S3 objects, edx-val transcripts and flags");
    clean_up(&calm).await;
    clean_up(&crash).await;
}

//! Records the workflow histories that `tests/tests/replay.rs` replays, so that a change to the
//! workflows that would break the runs in flight at an upgrade fails the tests.
//!
//! On the local stack (`scripts/stack start`): `cargo run -p integration-tests --bin record-histories`.
//! It seeds a small dataset (the showcase courses, broken ones included, and two generated
//! ones), runs a batch through pause, tune, resume and continue-as-new, a dry run and a re-run
//! of one course, two videos on their own (one broken), and writes one history (the SDK's JSON)
//! of each shape to `tests/histories/`, replacing the files there. Until the first tagged
//! release, record them again after any change of a workflow's shape; after it, a history that
//! no longer replays means running workflows would break, and the change must go through
//! patching or worker versioning instead.

use std::path::Path;
use std::time::Duration;

use integration_tests::{OperatorCli, clean_up, course_units, queue_histories, repo_root, seed_isolated, unique_tag, with_worker};
use seed::Plan;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::migrate_course::{CourseResult, MigrateCourse, course_workflow_id};
use workflows::migrate_courses::{BatchResult, MigrateCourses};
use workflows::migrate_video::MigrateVideo;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // The worker's warnings (a workflow task that fails, say) go to stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let plan = Plan { seed: 5, bulk_courses: 2, videos_per_course: 3, languages_per_video: 2, cues_per_transcript: 5, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("hist", plan).await;
    let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
    let sound = manifest.courses.iter().find(|c| c.flag_expected).expect("a sound course").course_key.clone();
    let out = repo_root().join("tests/histories");
    let modulestore = activities::stores::modulestore::Modulestore::connect(&settings.modulestore).await.unwrap();
    let broken = manifest.courses.iter().find(|c| c.course_key.contains("+BrokenX+")).expect("the broken course").course_key.parse().unwrap();
    let units = course_units(&modulestore, &broken).await;

    with_worker(&settings, |client, queue| async move {
        let batch = format!("batch-{}", unique_tag("hist"));
        let input = serde_json::json!({
            "course_keys": courses,
            "courses_per_run": 3,
            "page_size": 2,
            "max_courses_in_flight": 2,
            "max_videos_in_flight_per_course": 2,
            "retry": {"initial_interval_ms": 200, "maximum_attempts": 2, "activity_timeout_seconds": 60},
        });
        let options = WorkflowStartOptions::new(queue.clone(), batch.clone()).build();
        client.start_workflow(MigrateCourses::run, input, options).await.expect("starting the batch");

        let cli = OperatorCli::new(&[("QUEUE", &queue), ("BATCH", &batch), ("COURSE", &sound)]);
        tokio::time::sleep(Duration::from_secs(2)).await;
        cli.run("pause", "", &[]);
        tokio::time::sleep(Duration::from_secs(std::env::var("TUNE_AFTER").ok().and_then(|v| v.parse().ok()).unwrap_or(3))).await;
        cli.run("tune", "", &[]);
        cli.run("resume", "", &[]);
        let handle = client.get_workflow_handle::<MigrateCourses>(&batch);
        let result: BatchResult = handle.get_result(WorkflowGetResultOptions::default()).await.expect("the batch's result");
        println!("batch: {:?}", result.counts);

        cli.run("dry-run-course", "", &[]);
        cli.run("start-course", "", &[]);
        let course: model::CourseKey = sound.parse().unwrap();
        for dry_run in [true, false] {
            let handle = client.get_workflow_handle::<MigrateCourse>(course_workflow_id(&course, dry_run));
            let result: CourseResult = handle.get_result(WorkflowGetResultOptions::default()).await.expect("the course's result");
            println!("{sound} (dry run {dry_run}): {:?}", result.counts);
        }

        // A video migrated on its own diffs itself: one of a broken course fails.
        for block_id in ["unparsable_srt", "good"] {
            let Some(unit) = units.iter().find(|u| u.usage_key.block_id.contains(block_id)) else { continue };
            let input = serde_json::json!({ "unit": unit, "retry": {"initial_interval_ms": 200, "maximum_attempts": 2} });
            let options = WorkflowStartOptions::new(queue.clone(), format!("video-{}", unique_tag("hist"))).build();
            let handle = client.start_workflow(MigrateVideo::run, input, options).await.expect("starting a video");
            let result = handle.get_result(WorkflowGetResultOptions::default()).await;
            println!("{} on its own: {}", unit.usage_key, result.map(|r| format!("{:?}", r.outcome)).unwrap_or_else(|e| format!("failed: {e}")));
        }

        write_histories(&client, &queue, &out).await;
    })
    .await;
    clean_up(&settings).await;
}

/// Every run of every workflow on `queue` of a shape not seen yet, one file each, named by type
/// and order of start.
async fn write_histories(client: &Client, queue: &str, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let histories = queue_histories(client, queue).await;
    let mut shapes = std::collections::BTreeSet::new();
    let mut numbers = std::collections::BTreeMap::<String, usize>::new();
    let mut bytes = 0;
    for (workflow_type, json) in &histories {
        if !shapes.insert(shape(json)) {
            continue;
        }
        let number = numbers.entry(workflow_type.clone()).or_default();
        *number += 1;
        std::fs::write(out.join(format!("{workflow_type}-{number:03}.json")), json).unwrap();
        bytes += json.len();
    }
    println!("wrote {} of {} histories ({} KiB) to {}: {numbers:?}", shapes.len(), histories.len(), bytes / 1024, out.display());
}

/// A history's events by kind (and activity type), without their data: runs of the same shape
/// replay the same code paths, so one of each is kept.
fn shape(json: &[u8]) -> Vec<String> {
    let history: serde_json::Value = serde_json::from_slice(json).unwrap();
    let events = history["events"].as_array().expect("a history has events");
    let kinds = events.iter().filter_map(|event| event["attributes"].as_object()?.iter().next());
    kinds.map(|(kind, attributes)| format!("{kind} {}", attributes["activity_type"]["name"])).collect()
}

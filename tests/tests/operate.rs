//! Operating a migration the way `docs/operating.md` tells operators to: every step is a
//! command of `docs/`, run with the `temporal` CLI, and every command there is run. A batch of
//! 22 courses is started, paused (no video starts for 6 s, seen through `progress` queries),
//! tuned, resumed and finished; the failed-state query lists exactly the courses seeded with
//! broken input; a sound course is dry-run and run again, and a batch of every course not yet
//! migrated runs only the broken ones.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use integration_tests::{OperatorCli, clean_up, seed_isolated, unique_tag, with_worker};
use seed::Plan;
use serde_json::Value;

/// A `progress` query's answer (the CLI wraps it in `queryResult` in some versions).
fn progress(cli: &OperatorCli, workflow_id: &str) -> Value {
    let value = cli.json("progress", &[("BATCH", workflow_id)]);
    match value.get("queryResult") {
        Some(Value::Array(results)) => results[0].clone(),
        Some(result) => result.clone(),
        None => value,
    }
}

fn object<'a>(value: &'a Value, field: &str) -> &'a Value {
    value.get(field).unwrap_or_else(|| panic!("no {field} in {value}"))
}

/// A list of strings from the CLI's JSON, which prints an empty list as `null`.
fn strings(value: &Value, field: &str) -> Vec<String> {
    match object(value, field) {
        Value::Null => Vec::new(),
        list => list.as_array().unwrap_or_else(|| panic!("{field} is not a list: {value}")).iter().map(|v| v.as_str().unwrap().to_string()).collect(),
    }
}

fn course_workflow_id(course: &str) -> String {
    format!("migrate-transcripts:{course}")
}

/// What must not move while the batch is paused: the courses it has started, and for each
/// running course the videos it has started.
fn started(cli: &OperatorCli, batch: &str) -> (Vec<String>, Vec<(String, u64)>) {
    let progress = progress(cli, batch);
    let courses: Vec<String> = object(&progress, "courses").as_object().unwrap().keys().cloned().collect();
    let videos = strings(&progress, "in_flight").into_iter().map(|course| {
        let started = self::progress(cli, &course_workflow_id(&course))["started"].as_u64().unwrap();
        (course, started)
    });
    (courses, videos.collect())
}

/// Whether the batch and every course it runs are paused with no video in flight.
fn settled(cli: &OperatorCli, batch: &str) -> bool {
    let progress = progress(cli, batch);
    progress["paused"] == true
        && strings(&progress, "in_flight").iter().all(|course| {
            let course = self::progress(cli, &course_workflow_id(course));
            course["paused"] == true && strings(&course, "in_flight").is_empty()
        })
}

fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_paused_tuned_resumed_and_lists_its_failed_courses() {
    let plan = Plan { bulk_courses: 16, videos_per_course: 3, languages_per_video: 2, cues_per_transcript: 10, ..Plan::default() };
    let (settings, _dataset, manifest) = seed_isolated("operate", plan).await;
    let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
    assert!(courses.len() >= 20, "a batch of at least 20 courses: {}", courses.len());
    let broken: BTreeSet<String> = manifest.courses.iter().filter(|c| !c.flag_expected).map(|c| c.course_key.clone()).collect();
    assert!(!broken.is_empty() && broken.len() < courses.len(), "the seed has broken and sound courses");
    let sound = manifest.courses.iter().find(|c| c.flag_expected).unwrap().course_key.clone();

    with_worker(&settings, |_client, queue| async move {
        let batch = format!("batch-{}", unique_tag("op"));
        let list = serde_json::to_string(&courses).unwrap();
        let cli = OperatorCli::new(&[("QUEUE", &queue), ("BATCH", &batch), ("COURSES", &list), ("COURSE", &sound)]);
        let task = tokio::task::spawn_blocking(move || {
            cli.run("start-list", "", &[]);
            wait_for("a video to start", Duration::from_secs(120), || started(&cli, &batch).1.iter().any(|(_, videos)| *videos > 0));

            cli.run("pause", "", &[]);
            wait_for("the videos in flight to finish", Duration::from_secs(120), || settled(&cli, &batch));
            let frozen = started(&cli, &batch);
            assert!(!frozen.1.is_empty(), "paused with courses still to finish");
            for _ in 0..6 {
                std::thread::sleep(Duration::from_secs(1));
                assert_eq!(started(&cli, &batch), frozen, "nothing starts while paused");
                assert!(settled(&cli, &batch));
            }
            assert_eq!(progress(&cli, &batch)["state"], "paused");

            cli.run("tune", "", &[]);
            wait_for("the tuning to reach the running courses", Duration::from_secs(30), || {
                let batch = progress(&cli, &batch);
                batch["max_courses_in_flight"] == 4
                    && strings(&batch, "in_flight").iter().all(|course| {
                        let course = progress(&cli, &course_workflow_id(course));
                        course["max_videos_in_flight"] == 4 && course["videos_per_minute"] == 600
                    })
            });

            cli.run("resume", "", &[]);
            let result = cli.json("batch-result", &[]);
            assert_eq!(result["status"], "COMPLETED", "{result}");
            let counts = &result["result"]["counts"];
            assert_eq!(counts["courses"], courses.len(), "{result}");
            assert_eq!(counts["failed"], broken.len(), "{result}");
            assert_eq!(counts["passed"], courses.len() - broken.len(), "{result}");
            let reported: BTreeSet<String> =
                result["result"]["failed_courses"].as_array().unwrap().iter().map(|f| f["course_key"].as_str().unwrap().to_string()).collect();
            assert_eq!(reported, broken, "the batch names every failed course");
            let batch_progress = progress(&cli, &batch);
            assert_eq!((batch_progress["state"].as_str(), batch_progress["done"].as_u64()), (Some("failed"), Some(courses.len() as u64)));

            let listed = cli.json("list-failed", &[]);
            let failed: BTreeSet<String> = listed
                .as_array()
                .unwrap_or_else(|| panic!("list prints an array: {listed}"))
                .iter()
                .map(|w| w["execution"]["workflowId"].as_str().unwrap().trim_start_matches("migrate-transcripts:").to_string())
                .collect();
            assert_eq!(failed, broken, "MigrationState='failed' lists exactly the courses seeded with broken input");

            // A sound course again, on its own: a dry run plans nothing, the re-run creates nothing.
            cli.run("dry-run-course", "", &[]);
            cli.run("start-course", "", &[]);
            let rerun = cli.json("course-result", &[]);
            assert_eq!(rerun["status"], "COMPLETED", "{rerun}");
            assert_eq!((rerun["result"]["counts"]["migrated"].as_u64(), rerun["result"]["flag"]["enabled"].as_bool()), (Some(0), Some(true)));

            // Every course not migrated yet: the broken ones run (and fail) again, the others are left out.
            let again = format!("{batch}-again");
            cli.run("start-all", "", &[("BATCH", &again)]);
            let result = cli.json("batch-result", &[("BATCH", &again)]);
            let counts = &result["result"]["counts"];
            assert_eq!(
                (counts["already_migrated"].as_u64(), counts["failed"].as_u64()),
                (Some((courses.len() - broken.len()) as u64), Some(broken.len() as u64)),
                "{result}"
            );
            assert_eq!(cli.not_run(), Vec::<String>::new(), "every command of docs/ runs in this test");
        });
        task.await.unwrap();
    })
    .await;
    clean_up(&settings).await;
}

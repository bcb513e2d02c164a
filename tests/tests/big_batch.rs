//! A batch of many small courses completes, and no run of any of its workflows (batch, course
//! or video) has a history over 10,000 events: the batch continues as new every
//! `courses_per_run` courses, each course every page. `BIG_BATCH_COURSES` courses (default 300:
//! three of the batch's runs, one short cycle for CI); `scripts/big-batch` runs 2,000.

use integration_tests::{clean_up, seed_isolated, unique_tag, with_worker_of};
use seed::Plan;
use temporalio_client::{WorkflowCountOptions, WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::migrate_courses::{BatchResult, MigrateCourses};

fn course_count() -> usize {
    std::env::var("BIG_BATCH_COURSES").ok().and_then(|n| n.parse().ok()).unwrap_or(300)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_courses_keep_every_history_small() {
    let courses = course_count();
    let plan = Plan {
        showcase: false,
        bulk_courses: courses,
        videos_per_course: 1,
        languages_per_video: 1,
        cues_per_transcript: 3,
        lean_manifest: true,
        ..Plan::default()
    };
    let (settings, _dataset, manifest) = seed_isolated("big", plan).await;
    assert_eq!(manifest.courses.len(), courses);
    with_worker_of(&settings, 16, |client, queue| async move {
        let batch = format!("batch-{}", unique_tag("big"));
        // SQLite answers "database is locked" when 16 writers meet (a transaction upgrading to a
        // write lock does not wait); more attempts ride that out. MySQL/MariaDB does not do this.
        let input = serde_json::json!({
            "all_courses": true, "max_courses_in_flight": 16, "max_videos_in_flight_per_course": 1, "max_videos_in_flight": 16,
            "retry": { "initial_interval_ms": 500, "maximum_attempts": 10 },
        });
        let options = WorkflowStartOptions::new(queue.clone(), batch.clone()).build();
        let handle = client.start_workflow(MigrateCourses::run, input, options).await.unwrap();
        let result: BatchResult = handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
        assert_eq!((result.counts.courses, result.counts.passed, result.counts.failed), (courses as u32, courses as u32, 0), "{result:?}");

        let count = |query: String| {
            let client = client.clone();
            async move { client.count_workflows(query, WorkflowCountOptions::default()).await.unwrap().count() }
        };
        let all = count(format!("TaskQueue='{queue}'")).await;
        assert!(all >= 2 * courses, "every course and video is a workflow run: {all}");
        // Visibility is updated after a run closes, not with it: the last runs may take a moment.
        let mut known = 0;
        for _ in 0..40 {
            known = count(format!("TaskQueue='{queue}' AND HistoryLength > 0")).await;
            if known == all {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert_eq!(known, all, "visibility knows every run's history length");
        assert_eq!(count(format!("TaskQueue='{queue}' AND HistoryLength > 10000")).await, 0, "no run's history is over 10,000 events");
        let batch_runs = count(format!("WorkflowId='{batch}'")).await;
        assert!(batch_runs >= courses / 100, "the batch continued as new every 100 courses: {batch_runs} runs");
    })
    .await;
    clean_up(&settings).await;
}

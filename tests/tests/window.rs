//! A batch with a maintenance window a few seconds wide: it runs while the window is open,
//! starts no video while it is closed (the courses keep to the batch's window), and goes on by
//! itself when it opens again, on workflow timers.

use std::time::{Duration, Instant, SystemTime};

use integration_tests::{clean_up, seed_isolated, unique_tag, with_worker};
use seed::Plan;
use temporalio_client::{WorkflowGetResultOptions, WorkflowQueryOptions, WorkflowStartOptions};
use workflows::migrate_course::{MigrateCourse, course_workflow_id};
use workflows::migrate_courses::{BatchResult, MigrateCourses};

/// `HH:MM:SS` in UTC, `seconds` from now.
fn clock_in(seconds: u64) -> String {
    let at = (SystemTime::now() + Duration::from_secs(seconds)).duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
    format!("{:02}:{:02}:{:02}", at / 3600 % 24, at / 60 % 60, at % 60)
}

#[tokio::test]
async fn a_window_that_closes_mid_run_holds_the_batch_and_opens_again() {
    let plan = Plan { showcase: false, bulk_courses: 2, videos_per_course: 8, languages_per_video: 1, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("window", plan).await;
    let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
    with_worker(&settings, |client, queue| async move {
        // Open now (since "yesterday"), closed from 6 s to 12 s from now, then open again.
        let began = Instant::now();
        let window = serde_json::json!({"days": "*", "from": clock_in(12), "to": clock_in(6), "tz": "UTC"});
        let input = serde_json::json!({
            "course_keys": courses, "max_courses_in_flight": 2, "max_videos_in_flight_per_course": 1,
            "videos_per_minute": 40, "window": window,
        });
        let batch = format!("window-{}", unique_tag("b"));
        let handle =
            client.start_workflow(MigrateCourses::run, input, WorkflowStartOptions::new(queue.clone(), batch.clone()).build()).await.unwrap();

        // Every quarter second: the seconds since the start, whether the batch is held, and how
        // many videos the courses have started.
        let mut seen = Vec::new();
        while began.elapsed() < Duration::from_secs(60) {
            let progress = handle.query(MigrateCourses::progress, (), WorkflowQueryOptions::default()).await.unwrap();
            let mut started = 0;
            for course in &courses {
                let course = client.get_workflow_handle::<MigrateCourse>(course_workflow_id(&course.parse().unwrap(), false));
                if let Ok(course) = course.query(MigrateCourse::progress, (), WorkflowQueryOptions::default()).await {
                    started += course.started;
                }
            }
            let done = progress.control.state.as_str() == "passed" || progress.counts.courses == 2 && progress.control.in_flight.is_empty();
            seen.push((began.elapsed().as_secs_f64(), progress.control.paused, progress.control.window, started));
            if done {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let result: BatchResult = handle.get_result(WorkflowGetResultOptions::default()).await.unwrap();
        assert_eq!((result.counts.passed, result.counts.failed), (2, 0), "{result:?}");

        let open_before: Vec<_> = seen.iter().filter(|(t, ..)| *t < 5.0).collect();
        assert!(open_before.iter().all(|(_, paused, window, _)| !paused && window.is_some_and(|w| w.open)), "open at first: {seen:?}");
        assert!(open_before.last().unwrap().3 > 0, "videos started while it was open: {seen:?}");
        let closed: Vec<_> = seen.iter().filter(|(t, ..)| (7.0..11.0).contains(t)).collect();
        assert!(!closed.is_empty() && closed.iter().all(|(_, paused, window, _)| *paused && window.is_some_and(|w| !w.open)), "held: {seen:?}");
        // Videos in flight at the closing finish; none starts while it is closed.
        let (first, last) = (closed.first().unwrap().3, closed.last().unwrap().3);
        assert_eq!(first, last, "no video started while the window was closed: {seen:?}");
        let reopened: Vec<_> = seen.iter().filter(|(t, ..)| *t > 13.0).collect();
        assert!(reopened.iter().any(|(_, paused, _, started)| !paused && *started > last), "it went on by itself: {seen:?}");
        assert_eq!(seen.last().unwrap().3, 16, "every video ran");
    })
    .await;
    clean_up(&settings).await;
}

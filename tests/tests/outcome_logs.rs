//! The worker's log has one line per video outcome ("video migrated", "video has nothing to
//! migrate", "video failed") and one per course run ("course run finished"), each naming the
//! course key and the usage key (and the `edx_video_id` where the video has one), as the JSON
//! a log pipeline reads.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::{clean_up, run_course, seed_isolated, with_worker};
use model::CourseKey;
use seed::Plan;
use seed::manifest::Outcome;
use workflows::migrate_course::MigrateCourseInput;

/// What the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn every_video_and_course_outcome_is_one_log_line() {
    let captured = Captured::default();
    let filter = tracing_subscriber::EnvFilter::new("info,temporalio_sdk_core=warn,temporalio_client=warn");
    tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(captured.clone()).init();
    let (settings, _, manifest) = seed_isolated("logs", Plan { bulk_courses: 0, ..Plan::default() }).await;
    let courses: Vec<_> = manifest.courses.iter().filter(|c| c.course_key.contains("DemoX") || c.course_key.contains("BrokenX")).collect();
    let keys: Vec<CourseKey> = courses.iter().map(|c| c.course_key.parse().unwrap()).collect();
    with_worker(&settings, |client, queue| async move {
        for course in &keys {
            run_course(&client, &queue, &MigrateCourseInput::new(course, false)).await;
        }
    })
    .await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect();
    let field = |line: &serde_json::Value, name: &str| line["fields"][name].as_str().unwrap_or_default().to_string();
    let with = |message: &str, usage_key: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|line| field(line, "message") == message && field(line, "usage_key") == usage_key).collect()
    };
    let mut seen = 0;
    for course in &courses {
        for video in course.videos.iter().filter(|v| !v.orphan) {
            let (message, exactly_once) = match video.expected.outcome {
                Outcome::Migrated => ("video migrated", true),
                Outcome::NothingToMigrate => ("video has nothing to migrate", true),
                // Validation may add its own lines for a video that failed.
                Outcome::Failed => ("video failed", false),
                Outcome::Orphan => unreachable!(),
            };
            let found = with(message, &video.usage_key);
            assert!(!found.is_empty() && (!exactly_once || found.len() == 1), "{}: {message} {} times", video.usage_key, found.len());
            for line in found {
                assert_eq!(field(line, "course_key"), course.course_key, "{line}");
                if video.expected.outcome != Outcome::Failed {
                    assert_eq!(field(line, "edx_video_id"), video.target_edx_video_id, "{line}");
                }
            }
            seen += 1;
        }
        let finished: Vec<_> =
            lines.iter().filter(|l| field(l, "message") == "course run finished" && field(l, "course_key") == course.course_key).collect();
        assert_eq!(finished.len(), 1, "{}: one line for the course run", course.course_key);
        assert_eq!(finished[0]["fields"]["passed"].as_bool(), Some(course.flag_expected), "{}", finished[0]);
    }
    assert!(seen > 20, "the showcase's videos were checked");
    clean_up(&settings).await;
}

//! Malformed input given to the workflows an operator can start (`temporal workflow start
//! --type … --input …`): each run fails at once with a message that names what is wrong, no
//! run is left open retrying its first task, nothing is written, and the same worker then
//! migrates a sound course. Bad data *inside* courses (broken files, fields, ids, keys) is the
//! seed's BrokenX course, migrated by `migrate_course` and by every reliability batch.

use std::time::{Duration, Instant};

use integration_tests::invariants::{audit, snapshot};
use integration_tests::{clean_up, seed_isolated, unique_tag, with_worker, workflow_status};
use seed::Plan;
use serde_json::json;
use temporalio_client::{Client, UntypedWorkflow, WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::input::json_payload;
use workflows::migrate_course::MigrateCourseInput;

/// Starts `workflow_type` with `input` as `temporal workflow start --input` would, and returns
/// how its run ended: the failure's text, once the run has closed.
async fn failure_of(client: &Client, queue: &str, workflow_type: &str, input: &serde_json::Value) -> String {
    let id = format!("bad-input-{}", unique_tag("w"));
    let options = WorkflowStartOptions::new(queue.to_string(), id.clone()).build();
    client.start_workflow(UntypedWorkflow::new(workflow_type), json_payload(input), options).await.unwrap();
    let handle = client.get_workflow_handle::<UntypedWorkflow>(&id);
    // A run whose input cannot be read must close, not retry its first workflow task for ever.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = workflow_status(client, &id).await.expect("the Temporal server answers");
        if status != "Running" {
            assert_eq!(status, "Failed", "{workflow_type} {input}: the run fails");
            break;
        }
        assert!(Instant::now() < deadline, "{workflow_type} {input}: still running after 60 s (wedged)");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    match handle.get_result(WorkflowGetResultOptions::default()).await {
        Ok(_) => panic!("{workflow_type} {input}: a result, not a failure"),
        Err(error) => format!("{error:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_workflow_input_fails_only_its_own_run() {
    let plan = Plan { showcase: false, bulk_courses: 1, videos_per_course: 2, languages_per_video: 2, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("badin", plan).await;
    let before = snapshot(&settings, &manifest).await;
    let sound: model::CourseKey = manifest.courses[0].course_key.parse().unwrap();
    let unit = serde_json::to_value(model::video::VideoUnit { usage_key: sound.usage_key("video", "v"), copies: vec![] }).unwrap();
    let long_key = format!("course-v1:edX+{}+2018", "x".repeat(5_000));
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        ("MigrateCourse", json!({"course_key": "not a course key"}), "\\\"not a course key\\\""),
        ("MigrateCourse", json!({"course_key": "course-v1:edX+Demo X+2018"}), "Demo X"),
        ("MigrateCourse", json!({"course_key": "course-v1:../../etc+passwd+x"}), "../../etc"),
        ("MigrateCourse", json!({"course_key": "course-v1:edX+\u{7}+2018"}), "course_key"),
        ("MigrateCourse", json!({"course_key": long_key}), "longer than 255 characters"),
        ("MigrateCourse", json!({"course_key": 42}), "invalid MigrateCourse input"),
        ("MigrateCourse", json!("course-v1:edX+DemoX+2018"), "invalid MigrateCourse input"),
        // A typo is refused by name, not run at full speed.
        ("MigrateCourse", json!({"course_key": "course-v1:edX+DemoX+2018", "videos_per_min": 1}), "unknown field `videos_per_min`"),
        (
            "MigrateCourse",
            json!({"course_key": "course-v1:edX+DemoX+2018", "retry": {"max_attempts": 2}}),
            "retry.max_attempts: unknown field `max_attempts`",
        ),
        ("MigrateCourses", json!({"course_keys": "course-v1:edX+DemoX+2018"}), "invalid MigrateCourses input"),
        (
            "MigrateCourses",
            json!({"all_courses": true, "window": {"days": "Mon-Fri", "from": "22:00", "to": "06:00", "tz": "Europe/Berln"}}),
            "time zone \\\"Europe/Berln\\\"",
        ),
        ("MigrateCourses", json!({"all_courses": true, "window": {"from": "25:00", "to": "06:00"}}), "not a time of day"),
        ("MigrateCourse", json!({"course_key": "course-v1:edX+DemoX+2018", "window": {"form": "22:00", "to": "06:00"}}), "unknown field `form`"),
        ("MigrateCourses", json!({}), "give either"),
        ("MigrateVideo", json!({}), "unit"),
        ("MigrateVideo", json!({"unit": unit, "dryrun": true}), "unknown field `dryrun`"),
        ("MigrateVideo", json!({"unit": {"usage_key": "block-v1:../x", "copies": []}}), "block-v1:../x"),
    ];
    let outcomes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    with_worker(&settings, |client, queue| async move {
        for (workflow_type, input, named) in &cases {
            let failure = failure_of(&client, &queue, workflow_type, input).await;
            let shown: String = failure.chars().take(400).collect();
            assert!(failure.contains(named), "{workflow_type} {input}: the failure names {named:?}: {shown}");
            println!("{workflow_type} {}: {shown}", input.to_string().chars().take(80).collect::<String>());
        }
        // The worker is still there and sound work still migrates.
        let result = integration_tests::run_course(&client, &queue, &MigrateCourseInput::new(&sound, false)).await;
        seen.lock().unwrap().push((sound.to_string(), result.failures));
    })
    .await;
    let reported = outcomes.lock().unwrap().iter().cloned().collect();
    let audit = audit(&settings, &manifest, &before, &reported).await;
    println!("{}", audit.summary());
    assert!(audit.is_clean(), "{audit:#?}");
    assert!(audit.transcripts_checked > 0);
    clean_up(&settings).await;
}

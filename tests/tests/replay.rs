//! Determinism: the histories recorded by `record-histories` (batch, course and video runs,
//! through pause, tune, resume, continue-as-new, failed videos, a dry run and a re-run) replay
//! on today's workflow code. A change that would break the workflows running at an upgrade
//! fails here. Needs no stack.
//!
//! Until the first tagged release no run of the migrator exists anywhere, so a change of a
//! workflow's shape records the histories again. After it, such a change goes through patching
//! or worker versioning, and the histories of the released code stay (see `docs/architecture.md`).

use std::path::PathBuf;

use integration_tests::repo_root;
use temporalio_client::WorkflowHistory;
use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};
use workflows::migrate_course::MigrateCourse;
use workflows::migrate_courses::MigrateCourses;
use workflows::migrate_video::MigrateVideo;

fn replayer() -> WorkflowReplayer {
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<MigrateCourses>()
        .unwrap()
        .register_workflow::<MigrateCourse>()
        .unwrap()
        .register_workflow::<MigrateVideo>()
        .unwrap()
        .build();
    WorkflowReplayer::new(options).unwrap()
}

/// The histories of today's code (`tests/histories/`).
fn recorded() -> Vec<(PathBuf, serde_json::Value)> {
    let dir = repo_root().join("tests/histories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert!(files.iter().all(|path| path.is_file()), "one generation of histories, no folders of older code: {files:?}");
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files.into_iter().map(|path| (path.clone(), serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap())).collect()
}

fn history(json: &serde_json::Value) -> WorkflowHistory {
    WorkflowHistory::from_json(&serde_json::to_vec(json).unwrap()).unwrap()
}

/// Whether the history has an event of this kind.
fn has(json: &serde_json::Value, kind: &str) -> bool {
    json["events"].as_array().unwrap().iter().any(|e| e["attributes"].get(format!("{kind}EventAttributes")).is_some())
}

#[tokio::test]
async fn every_recorded_history_replays() {
    let recorded = recorded();
    let named = |prefix: &str| recorded.iter().filter(|(path, _)| path.file_name().unwrap().to_string_lossy().starts_with(prefix)).count();
    assert!(named("MigrateCourses-") >= 2, "batch runs, one continued as new");
    assert!(named("MigrateCourse-") >= 4 && named("MigrateVideo-") >= 4, "course and video runs of several shapes");
    let kinds = [
        "WorkflowExecutionSignaled",
        "WorkflowExecutionContinuedAsNew",
        "WorkflowExecutionFailed",
        "TimerFired",
        "SignalExternalWorkflowExecutionInitiated",
        // A video's steps as local activities, its diff and the course's steps as activities.
        "MarkerRecorded",
        "ActivityTaskScheduled",
    ];
    for kind in kinds {
        assert!(recorded.iter().any(|(_, json)| has(json, kind)), "some recorded history has {kind}");
    }
    let schedules = |json: &serde_json::Value, activity: &str| {
        json["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["attributes"]["ActivityTaskScheduledEventAttributes"]["activity_type"]["name"] == activity)
    };
    assert!(recorded.iter().any(|(_, json)| schedules(json, "write_back_edx_video_ids")), "a course run that writes back per page");

    let results = replayer().replay_workflows(recorded.iter().map(|(_, json)| history(json))).await.unwrap();
    assert_eq!(results.len(), recorded.len());
    let broken: Vec<String> = recorded
        .iter()
        .zip(&results)
        .filter_map(|((path, _), result)| result.replay_failure.as_ref().map(|failure| format!("{}: {failure}", path.display())))
        .collect();
    assert!(broken.is_empty(), "histories today's workflows cannot replay:\n{}", broken.join("\n"));
}

/// The check above can fail: a video history whose first activity is not the one the code
/// schedules is refused, and so is one whose local step is another than the code takes.
#[tokio::test]
async fn a_history_the_code_would_not_make_is_refused() {
    let videos: Vec<(PathBuf, serde_json::Value)> =
        recorded().into_iter().filter(|(path, _)| path.to_string_lossy().contains("MigrateVideo-")).collect();

    let (path, mut json) = videos.iter().find(|(_, json)| has(json, "ActivityTaskScheduled")).cloned().expect("a video run that diffs");
    let scheduled =
        json["events"].as_array_mut().unwrap().iter_mut().find_map(|e| e["attributes"].get_mut("ActivityTaskScheduledEventAttributes")).unwrap();
    scheduled["activity_type"]["name"] = "some_other_step".into();
    let result = replayer().replay_workflow(history(&json)).await;
    assert!(result.is_err(), "{} replayed with its first activity renamed", path.display());

    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let marker_data = |e: &serde_json::Value| -> Option<String> {
        let marker = &e["attributes"]["MarkerRecordedEventAttributes"];
        let data = marker["details"]["data"]["payloads"][0]["data"].as_str().filter(|_| marker["marker_name"] == "core_local_activity")?;
        String::from_utf8(engine.decode(data).ok()?).ok()
    };
    let is_upload = |e: &serde_json::Value| marker_data(e).is_some_and(|data| data.contains("\"activity_type\":\"upload_transcript\""));
    let (path, mut json) =
        videos.into_iter().find(|(_, json)| json["events"].as_array().unwrap().iter().any(is_upload)).expect("a video run with a local upload");
    let marker = json["events"].as_array_mut().unwrap().iter_mut().find(|e| is_upload(e)).unwrap();
    let renamed = marker_data(marker).unwrap().replace("\"upload_transcript\"", "\"some_other_step\"");
    marker["attributes"]["MarkerRecordedEventAttributes"]["details"]["data"]["payloads"][0]["data"] = engine.encode(renamed).into();
    let result = replayer().replay_workflow(history(&json)).await;
    assert!(result.is_err(), "{} replayed with its local upload renamed", path.display());
}

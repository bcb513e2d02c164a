//! Determinism: the histories recorded by `record-histories` (batch, course and video runs,
//! through pause, tune, resume, continue-as-new, failed videos, a dry run and a re-run) replay
//! on today's workflow code. A change that would break the workflows running at an upgrade
//! fails here. Needs no stack.

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

fn recorded() -> Vec<(PathBuf, serde_json::Value)> {
    let dir = repo_root().join("tests/histories");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
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
    ];
    for kind in kinds {
        assert!(recorded.iter().any(|(_, json)| has(json, kind)), "some recorded history has {kind}");
    }

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
/// schedules is refused.
#[tokio::test]
async fn a_history_the_code_would_not_make_is_refused() {
    let (path, mut json) = recorded().into_iter().find(|(path, _)| path.to_string_lossy().contains("MigrateVideo-")).unwrap();
    let scheduled = json["events"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find_map(|e| e["attributes"].get_mut("ActivityTaskScheduledEventAttributes"))
        .unwrap_or_else(|| panic!("{} schedules an activity", path.display()));
    scheduled["activity_type"]["name"] = "some_other_step".into();
    let result = replayer().replay_workflow(history(&json)).await;
    assert!(result.is_err(), "{} replayed with its first activity renamed", path.display());
}

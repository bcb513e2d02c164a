//! Reading what operators give the workflows: a workflow's input, and the JSON payloads the
//! `temporal` CLI sends with `--input`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_sdk::{ApplicationFailure, WorkflowTermination};

/// Fails the run, without retries, for input an operator got wrong.
pub fn bad_input(message: String) -> WorkflowTermination {
    ApplicationFailure::builder(message).type_name("BadInput".to_string()).non_retryable(true).build().into()
}

/// A workflow's input, read from raw JSON so that input which cannot be read fails the run with
/// a message naming the field, instead of failing its first task over and over.
pub fn read_input<T: DeserializeOwned>(workflow_type: &str, raw: serde_json::Value) -> Result<T, WorkflowTermination> {
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let at = e.path().to_string();
        let field = if at == "." { String::new() } else { format!("{at}: ") };
        bad_input(format!("invalid {workflow_type} input: {field}{}", e.inner()))
    })
}

/// `value` as one JSON payload, the way `temporal … --input '…'` sends it.
pub fn json_payload(value: &impl Serialize) -> RawValue {
    let data = serde_json::to_vec(value).expect("serializes as JSON");
    RawValue::new(vec![Payload { metadata: [("encoding".to_string(), b"json/plain".to_vec())].into(), data, ..Payload::default() }])
}

/// The JSON of a signal sent with `temporal workflow signal [--input '…']`: `None` without input.
pub fn signal_json(raw: &RawValue) -> Result<Option<serde_json::Value>, String> {
    match raw.payloads.as_slice() {
        [] => Ok(None),
        [payload] if payload.data.is_empty() => Ok(None),
        [payload] => serde_json::from_slice(&payload.data).map(Some).map_err(|e| format!("the signal's input is not JSON: {e}")),
        _ => Err("the signal takes at most one input".into()),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Input {
        course_key: model::CourseKey,
    }

    #[test]
    fn bad_input_names_the_field() {
        let message = |raw| match read_input::<Input>("MigrateCourse", raw) {
            Err(WorkflowTermination::Failed(failure)) => failure.to_string(),
            other => panic!("{other:?}"),
        };
        let named = message(serde_json::json!({"course_key": "course-v1:edX+Demo X+2018"}));
        assert!(named.contains("invalid MigrateCourse input: course_key: invalid course key"), "{named}");
        assert!(message(serde_json::json!("a string")).contains("invalid MigrateCourse input: invalid type"));
    }
}

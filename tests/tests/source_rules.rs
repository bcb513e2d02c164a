//! Rules over the production sources (`activities/`, `workflows/`, `worker/`) that the compiler
//! does not enforce by itself:
//! - all SQL is parameterized: sqlx takes only `&'static str` query texts unless a text is
//!   wrapped in `AssertSqlSafe` (or built as an `SqlStr`); no production code does either, so
//!   every value reaches SQL through a bind;
//! - S3 keys are never built from user strings: only `activities/src/stores/s3.rs` puts a key
//!   into an S3 request, and the steps that write or delete (upload, compensate) take only keys
//!   of `ids::transcript_key`'s shape under the configured prefix, a hash (checked at run time
//!   by `TranscriptBucket::is_ours`);
//! - the workflows and the vocabulary they share do no I/O and read no clock or randomness:
//!   `workflows/` and `model/` name none of the crates or std modules that would.

use std::path::{Path, PathBuf};

use integration_tests::repo_root;

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Each `(file, line)` of the crates' sources that contains one of `needles`, comments aside.
fn lines_naming(crates: &[&str], needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for krate in crates {
        for file in rust_files(&repo_root().join(krate).join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap();
                if needles.iter().any(|needle| code.contains(needle)) {
                    found.push(format!("{}:{}: {}", file.strip_prefix(repo_root()).unwrap().display(), number + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn all_sql_is_parameterized() {
    let unchecked = lines_naming(&["activities", "workflows", "model", "worker"], &["AssertSqlSafe", "SqlStr", "raw_sql"]);
    assert!(unchecked.is_empty(), "SQL text that is not a constant: {unchecked:#?}");
}

#[test]
fn only_the_s3_module_names_keys_in_requests() {
    let requests: Vec<String> = lines_naming(&["activities", "worker"], &[".key("])
        .into_iter()
        .filter(|line| !line.starts_with("activities/src/stores/s3.rs:"))
        .filter(|line| !line.contains("o.key()")) // reading a listed object's key
        .collect();
    assert!(requests.is_empty(), "S3 requests outside activities/src/stores/s3.rs: {requests:#?}");
    let checked = lines_naming(&["activities"], &[".is_ours("]);
    for step in ["activities/src/steps/upload.rs", "activities/src/steps/compensate.rs"] {
        assert!(checked.iter().any(|line| line.starts_with(step)), "{step} checks the shape of its keys: {checked:#?}");
    }
}

#[test]
fn workflows_do_no_io() {
    let forbidden = ["tokio", "std::fs", "std::net", "std::thread", "std::process", "::now()", "rand::", "sqlx", "mongodb", "aws_sdk", "reqwest"];
    let io = lines_naming(&["workflows", "model"], &forbidden);
    assert!(io.is_empty(), "I/O, clocks or randomness in workflows/ or model/: {io:#?}");
}

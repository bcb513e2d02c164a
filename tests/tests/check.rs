//! `transcript-migrator check` against the local stack.

use activities::stores::settings::Env;
use integration_tests::{env_file, stack_env, unique_tag};
use worker::config::Config;

#[tokio::test]
async fn check_reports_every_store_and_names_the_one_that_is_wrong() {
    let config = Config::load(Some(&env_file())).unwrap();
    let findings = worker::check::run(&config).await;
    let stores: Vec<&str> = findings.iter().map(|f| f.store).collect();
    assert_eq!(stores, ["modulestore", "contentstore", "S3", "edx-val", "Temporal"]);
    for finding in &findings {
        assert!(finding.result.is_ok(), "{finding}");
    }

    let mut wrong = config.clone();
    wrong.stores.s3.bucket = "no-such-transcripts-bucket".into();
    let findings = worker::check::run(&wrong).await;
    let failed: Vec<String> = findings.iter().filter(|f| f.result.is_err()).map(ToString::to_string).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("S3") && failed[0].contains("no-such-transcripts-bucket") && failed[0].contains("NoSuchBucket"), "{}", failed[0]);

    // Nothing printed holds a secret.
    let env = Env::from_file_only(&env_file()).unwrap();
    let printed: String = findings.iter().map(|f| format!("{f}\n")).collect();
    let mut secrets = vec![env.require("AWS_SECRET_ACCESS_KEY").unwrap().to_string()];
    if let Some((_, password)) =
        env.require("EDXVAL_DATABASE_URL").unwrap().split_once("://").and_then(|(_, rest)| rest.split_once('@')?.0.split_once(':'))
    {
        secrets.push(password.to_string());
    }
    for secret in secrets {
        assert!(!printed.contains(&secret), "a secret was printed:\n{printed}");
    }
}

/// On a namespace without the workflows' search attributes every run would stall on its first
/// task: `check` fails and prints the commands that fix it.
#[tokio::test]
async fn check_fails_on_a_namespace_without_the_search_attributes_and_says_how_to_fix_it() {
    let env = stack_env();
    let namespace = format!("bare-{}", unique_tag("ns").to_lowercase().replace('_', "-"));
    let temporal = std::path::Path::new(env.require("STACK_VENV").unwrap()).join("bin/temporal");
    let address = env.require("TEMPORAL_ADDRESS").unwrap().trim_start_matches("http://").to_string();
    let created = std::process::Command::new(temporal)
        .args(["operator", "namespace", "create", "--namespace", &namespace, "--address", &address])
        .output()
        .unwrap();
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let mut config = Config::load(Some(&env_file())).unwrap();
    config.temporal.namespace = namespace.clone();
    // A new namespace takes a moment to be known to every part of the server.
    let began = std::time::Instant::now();
    let failure = loop {
        let findings = worker::check::run(&config).await;
        let temporal = findings.into_iter().find(|f| f.store == "Temporal").unwrap();
        let shown = temporal.to_string();
        if shown.contains("search-attribute create") || began.elapsed() > std::time::Duration::from_secs(60) {
            break shown;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    assert!(failure.starts_with("FAIL"), "{failure}");
    for (name, kind) in [("CourseKey", "Keyword"), ("DryRun", "Bool"), ("MigrationState", "Keyword")] {
        let fix = format!("temporal operator search-attribute create --namespace {namespace} --name {name} --type {kind}");
        assert!(failure.contains(&fix), "{failure} does not say {fix:?}");
    }
}

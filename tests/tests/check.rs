//! `transcript-migrator check` against the local stack.

use activities::stores::settings::Env;
use integration_tests::env_file;
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

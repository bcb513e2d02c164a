//! edx-val's SQL over TLS. The local MariaDB serves TLS with the stack's own CA and refuses plain
//! TCP (`require_secure_transport`, as RDS and most managed databases have it). A migration over
//! `ssl-mode=VERIFY_IDENTITY` with the CA file passes; `REQUIRED` encrypts without checking the
//! certificate; a plain connection is refused by the server, and an unknown CA by the migrator.
//! Runs with the stack on MariaDB (scripts/test's second pass); SQLite has no transport.

use activities::stores::edxval;
use activities::stores::settings::Secret;
use integration_tests::{clean_up, run_course, seed_isolated, stack_env, with_worker};
use model::CourseKey;
use seed::Plan;
use workflows::migrate_course::MigrateCourseInput;

/// The stack's URL with its TLS parameters replaced by `tls`.
fn with_tls(url: &str, tls: &str) -> Secret {
    let base = url.split_once('?').map_or(url, |(base, _)| base);
    Secret::new(if tls.is_empty() { base.to_string() } else { format!("{base}?{tls}") })
}

#[tokio::test]
async fn edxval_sql_goes_over_tls_and_plain_tcp_is_refused() {
    let env = stack_env();
    assert_eq!(env.require("STACK_SQL").unwrap(), "mariadb", "this test needs the stack on MariaDB: scripts/stack start --sql mariadb");
    let url = env.require("EDXVAL_DATABASE_URL").unwrap().to_string();
    let ca = env.require("STACK_TLS_CA").unwrap().to_string();
    assert!(url.contains("ssl-mode=VERIFY_IDENTITY") && url.contains(&format!("ssl-ca={ca}")), "the stack's URL checks the certificate");

    for tls in [format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"), format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"), "ssl-mode=REQUIRED".to_string()] {
        let pool = edxval::connect(&with_tls(&url, &tls)).await.unwrap_or_else(|e| panic!("{tls}: {e}"));
        let transport = edxval::transport(&pool).await.unwrap();
        assert!(transport.starts_with("over TLSv1."), "{tls}: {transport}");
    }
    let refused = |tls: &str| {
        let url = with_tls(&url, tls);
        async move { edxval::connect(&url).await.err().map(|e| e.to_string()) }
    };
    // The server refuses a connection in the clear, whatever the credentials.
    let plain = refused("ssl-mode=DISABLED").await.expect("a plain connection is refused");
    assert!(plain.contains("1045") || plain.contains("insecure transport"), "{plain}");
    // Without the CA file the certificate is unknown: the migrator refuses the server.
    let unknown = refused("ssl-mode=VERIFY_IDENTITY").await.expect("a server certificate from an unknown CA is refused");
    assert!(unknown.to_lowercase().contains("certificate") || unknown.to_lowercase().contains("issuer"), "{unknown}");

    // A migration over TLS, the certificate checked: the course passes, flag and all.
    let (mut settings, _, manifest) = seed_isolated("sqltls", Plan { showcase: false, bulk_courses: 1, ..Plan::default() }).await;
    settings.edxval_database_url = with_tls(&url, &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"));
    let course: CourseKey = manifest.courses[0].course_key.parse().unwrap();
    with_worker(&settings, |client, queue| async move {
        let result = run_course(&client, &queue, &MigrateCourseInput::new(&course, false)).await;
        assert!(result.flag.enabled && result.counts.failed == 0, "{result:?}");
        assert_eq!(result.counts.transcripts_migrated as usize, manifest.totals.transcripts_to_migrate);
    })
    .await;
    clean_up(&settings).await;
}

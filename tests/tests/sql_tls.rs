//! edx-val's SQL over TLS. The local MariaDB serves TLS with the stack's own CA and refuses plain
//! TCP (`require_secure_transport`, as RDS and most managed databases have it). A migration over
//! `ssl-mode=VERIFY_IDENTITY` with the CA file passes; `REQUIRED` encrypts without checking the
//! certificate; a plain connection is refused by the server, and an unknown CA by the migrator.
//! Also: `check` names the write a user without the grants may not make. Runs with the stack on
//! MariaDB (scripts/test's second pass); SQLite has no transport or grants.

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

/// A database user without a grant a run needs fails `check`, which names the statement refused,
/// instead of a run whose steps would retry for ever.
#[tokio::test]
async fn check_names_the_write_a_database_user_may_not_make() {
    let env = stack_env();
    assert_eq!(env.require("STACK_SQL").unwrap(), "mariadb", "this test needs the stack on MariaDB: scripts/stack start --sql mariadb");
    let socket = std::path::Path::new(env.require("STACK_DIR").unwrap()).join("mariadb.sock");
    let user = format!("ro_{}", integration_tests::unique_tag("grant").to_lowercase().replace('-', "_"));
    let password = format!("pw{}", uuid_like());
    let root = |sql: String| {
        let client = if std::process::Command::new("mariadb").arg("--version").output().is_ok() { "mariadb" } else { "mysql" };
        let done = std::process::Command::new(client)
            .args(["--no-defaults", &format!("--socket={}", socket.display()), "-uroot", "-e", &sql])
            .output()
            .unwrap();
        assert!(done.status.success(), "{sql}: {}", String::from_utf8_lossy(&done.stderr));
    };
    // Reads, and creates the migrator's own tables, but may not insert.
    root(format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'; GRANT SELECT, CREATE ON `edxval`.* TO '{user}'@'127.0.0.1';"));
    let url = env.require("EDXVAL_DATABASE_URL").unwrap().to_string();
    let (_, rest) = url.split_once('@').unwrap();
    let mut config = worker::config::Config::load(Some(&integration_tests::env_file())).unwrap();
    config.stores.edxval_database_url = Secret::new(format!("mysql://{user}:{password}@{rest}"));
    let findings = worker::check::run(&config).await;
    root(format!("DROP USER '{user}'@'127.0.0.1';"));
    let edxval = findings.iter().find(|f| f.store == "edx-val").unwrap().to_string();
    assert!(edxval.starts_with("FAIL") && edxval.contains("INSERT INTO edxval_video") && edxval.contains("denied"), "{edxval}");
    assert!(!edxval.contains(&password), "the password is not printed: {edxval}");
    assert!(findings.iter().filter(|f| f.store != "edx-val").all(|f| f.result.is_ok()), "only edx-val fails");
}

fn uuid_like() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

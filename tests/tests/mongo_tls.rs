//! The modulestore and contentstore over TLS (`tls=true&tlsCAFile=…`). The stack's SecantusDB
//! serves plain TCP, so this test starts one of its own, TLS only, with the stack's certificate:
//! a course seeded there migrates over TLS; a plain client and a client that does not know the
//! CA are refused.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use activities::stores::settings::{MongoSettings, Secret};
use integration_tests::{clean_up, isolated_settings, own_bucket, run_course, stack_env, unique_tag, with_worker};
use model::CourseKey;
use seed::{Dataset, Plan};
use workflows::migrate_course::MigrateCourseInput;

/// A SecantusDB this test started; stopped when dropped.
struct TlsServer {
    child: Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start_tls_server(tag: &str) -> TlsServer {
    let env = stack_env();
    let dir = std::path::PathBuf::from(env.require("STACK_DIR").unwrap()).join(format!("mongo-tls-{tag}"));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::write(dir.join("secantusd.toml"), "").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(dir.join("secantusd.log")).unwrap();
    let child = Command::new(std::path::Path::new(env.require("STACK_VENV").unwrap()).join("bin/secantusd-py"))
        .arg("--config")
        .arg(dir.join("secantusd.toml"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--storage-path"])
        .arg(dir.join("data"))
        .args(["--tls-cert-file", env.require("STACK_TLS_CERT").unwrap(), "--tls-key-file", env.require("STACK_TLS_KEY").unwrap()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("starting SecantusDB");
    TlsServer { child, dir, port }
}

async fn ping(uri: &str) -> Result<(), String> {
    let client = mongodb::Client::with_uri_str(uri).await.map_err(|e| e.to_string())?;
    client.database("admin").run_command(bson::doc! { "ping": 1 }).await.map(drop).map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_modulestore_and_contentstore_go_over_tls() {
    let tag = unique_tag("mtls");
    let server = start_tls_server(&tag);
    let ca = stack_env().require("STACK_TLS_CA").unwrap().to_string();
    let base = format!("mongodb://127.0.0.1:{}/?directConnection=true&serverSelectionTimeoutMS=3000", server.port);
    let tls = format!("{base}&tls=true&tlsCAFile={ca}");
    let began = Instant::now();
    while let Err(error) = ping(&tls).await {
        assert!(began.elapsed() < Duration::from_secs(60), "SecantusDB with TLS did not come up: {error}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(ping(&base).await.is_err(), "a plain client is refused");
    assert!(ping(&format!("{base}&tls=true")).await.is_err(), "a client that does not know the CA refuses the server");

    let mut settings = isolated_settings(&tag);
    for store in [&mut settings.modulestore, &mut settings.contentstore] {
        *store = MongoSettings { uri: Secret::new(tls.clone()), database: store.database.clone() };
    }
    assert_eq!(settings.modulestore.transport().await.unwrap(), "over TLS");
    settings.s3.bucket = own_bucket(&settings, &tag).await;
    let plan = Plan { tag: tag.clone(), showcase: false, bulk_courses: 1, bulk_old_mongo: false, ..Plan::default() };
    let manifest = seed::write::seed(&Dataset::generate(&plan), &settings).await.expect("seeding over TLS");
    let course: CourseKey = manifest.courses[0].course_key.parse().unwrap();
    with_worker(&settings, |client, queue| async move {
        let result = run_course(&client, &queue, &MigrateCourseInput::new(&course, false)).await;
        assert!(result.flag.enabled && result.counts.failed == 0, "{result:?}");
        assert_eq!(result.counts.transcripts_migrated as usize, manifest.totals.transcripts_to_migrate);
        assert!(result.counts.switched_at_cut_over > 0, "the write-back went over TLS too: {result:?}");
    })
    .await;
    clean_up(&settings).await;
    drop(server);
}

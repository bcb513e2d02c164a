//! Operating a migration only through `transcript-migrator`'s own commands, as a process of its
//! own against a worker process: start, pause, tune (a bad value refused), resume, watch,
//! report, verify (passing, then naming each video whose object, row or source was altered),
//! rollback (previewed, done, done again) and a second migration; and a course migrated with
//! `--cut-over later`, whose learners switch only at its `cut-over`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};

use activities::stores::contentstore::asset_id;
use activities::stores::course_log;
use activities::stores::edxval;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use bson::{Bson, doc};
use integration_tests::faults::WorkerProcess;
use integration_tests::prometheus::metric;
use integration_tests::{clean_up, course_units, env_file, seed_isolated, unique_tag};
use model::CourseKey;
use seed::Plan;
use seed::manifest::{ManifestCourse, Outcome};

const BINARY: &str = env!("CARGO_BIN_EXE_test-worker");

/// The command line with the test's stores and queue.
fn cli(settings: &StoreSettings, queue: &str, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("MIGRATOR_ENV_FILE", env_file())
        .env("TEMPORAL_TASK_QUEUE", queue)
        .env("MODULESTORE_DB", &settings.modulestore.database)
        .env("CONTENTSTORE_DB", &settings.contentstore.database)
        .env("S3_BUCKET", &settings.s3.bucket)
        .env("RUST_LOG", "warn")
        .output()
        .expect("running transcript-migrator")
}

/// Runs a command that must succeed; answers what it printed.
fn ok(settings: &StoreSettings, queue: &str, args: &[&str]) -> String {
    let out = cli(settings, queue, args);
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{args:?} failed: {printed}{}", String::from_utf8_lossy(&out.stderr));
    printed
}

/// What a migration changes, for one course: edx-val's rows of its videos, the bucket, the
/// blocks' ids and the flag.
#[derive(Debug, Clone, PartialEq)]
struct State {
    rows: BTreeMap<String, BTreeMap<String, String>>,
    objects: BTreeSet<String>,
    blocks: BTreeMap<String, Vec<String>>,
    flag: bool,
}

async fn state(settings: &StoreSettings, course: &ManifestCourse) -> State {
    let sql = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let mut conn = sql.acquire().await.unwrap();
    let mut rows = BTreeMap::new();
    for video in &course.videos {
        let id = &video.target_edx_video_id;
        let found = match edxval::video(&mut conn, id).await.unwrap() {
            Some(row) => edxval::transcripts(&mut conn, row.id).await.unwrap().into_iter().map(|(l, t)| (l, t.transcript)).collect(),
            None => BTreeMap::new(),
        };
        rows.insert(id.clone(), found);
    }
    let flag = course_log::flag(&mut conn, &course.course_key).await.unwrap() == Some(true);
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let objects = bucket.list("").await.unwrap().into_iter().collect();
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let units = course_units(&modulestore, &course.course_key.parse().unwrap()).await;
    let blocks = units.into_iter().map(|u| (u.usage_key.to_string(), u.copies.iter().map(|c| c.fields.edx_video_id.clone()).collect())).collect();
    State { rows, objects, blocks, flag }
}

/// Replaces a contentstore file's bytes, as a Studio re-upload under the same name would.
async fn change_asset(settings: &StoreSettings, course: &CourseKey, name: &str, bytes: &[u8]) {
    let client = mongodb::Client::with_uri_str(settings.contentstore.uri.expose()).await.unwrap();
    let db = client.database(&settings.contentstore.database);
    let id = asset_id(course, name);
    let data = Bson::Binary(bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: bytes.to_vec() });
    db.collection::<bson::Document>("fs.chunks").delete_many(doc! { "files_id": id.clone(), "n": { "$gt": 0 } }).await.unwrap();
    let updated = db
        .collection::<bson::Document>("fs.chunks")
        .update_one(doc! { "files_id": id.clone(), "n": 0 }, doc! { "$set": { "data": data } })
        .await
        .unwrap();
    assert_eq!(updated.matched_count, 1, "{name} has a chunk");
    db.collection::<bson::Document>("fs.files").update_one(doc! { "_id": id }, doc! { "$set": { "length": bytes.len() as i64 } }).await.unwrap();
}

/// The worker's `/metrics`, as Prometheus scrapes it.
async fn scrape(port: u16) -> String {
    integration_tests::prometheus::scrape(port).await.expect("the metrics endpoint")
}

/// The metric names a PromQL query reads.
fn metric_names(expr: &str) -> Vec<String> {
    let words = expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    words.filter(|w| w.starts_with("transcript_migrator_") || w.starts_with("temporal_")).map(String::from).collect()
}

#[tokio::test]
async fn a_migration_operated_only_through_the_commands() {
    let plan = Plan { showcase: false, bulk_courses: 4, videos_per_course: 4, languages_per_video: 2, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("console", plan).await;
    let queue = format!("test-{}", unique_tag("cq"));
    let log = std::env::temp_dir().join(format!("{queue}.log"));
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics_env = vec![("METRICS_ADDRESS".to_string(), format!("127.0.0.1:{metrics_port}"))];
    let mut worker = WorkerProcess::start_with_env(BINARY.as_ref(), &settings, &queue, &log, metrics_env);
    let courses: Vec<&ManifestCourse> = manifest.courses.iter().collect();
    assert_eq!(courses.len(), 4);
    let keys: Vec<&str> = courses.iter().map(|c| c.course_key.as_str()).collect();
    let before: Vec<State> = futures::future::join_all(courses.iter().map(|c| state(&settings, c))).await;
    let run = |args: &[&str]| ok(&settings, &queue, args);

    // Start paused-able: one course and one video at a time, so that a pause finds work left.
    let batch = format!("console-{}", unique_tag("b"));
    let mut start = vec!["start", "--id", &batch, "--max-courses-in-flight", "1", "--max-videos-in-flight-per-course", "1"];
    start.extend(&keys[..3]);
    assert!(run(&start).contains(&format!("started batch {batch}")));
    let paused = run(&["pause", &batch]);
    assert!(paused.contains("PAUSED"), "{paused}");
    assert!(run(&["status", &batch]).contains("PAUSED"));

    let refused = cli(&settings, &queue, &["tune", &batch, "--max-videos-in-flight", "0"]);
    assert!(!refused.status.success(), "a maximum of 0 is refused");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("at least 1"), "{}", String::from_utf8_lossy(&refused.stderr));
    run(&["tune", &batch, "--max-videos-in-flight-per-course", "2"]);
    run(&["resume", &batch]);
    let watched = run(&["watch", &batch, "--interval", "1"]);
    let last = watched.lines().last().unwrap();
    assert!(last.contains("workflow completed") && last.contains("courses 3/3 (3 passed, 0 failed"), "{watched}");

    // The report: one row per migrated transcript, with the SHA-256 the manifest expects.
    let report = run(&["report", "--format", "jsonl", keys[0]]);
    let rows: Vec<serde_json::Value> = report.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let expected: BTreeMap<(String, String), String> = courses[0]
        .videos
        .iter()
        .filter(|v| v.expected.outcome == Outcome::Migrated)
        .flat_map(|v| v.expected.migrate.iter().map(|(l, t)| ((v.usage_key.clone(), l.clone()), t.sha256.clone())))
        .collect();
    let reported: BTreeMap<(String, String), String> = rows
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "migrated", "{r}");
            ((r["usage_key"].as_str().unwrap().into(), r["language"].as_str().unwrap().into()), r["sha256"].as_str().unwrap().into())
        })
        .collect();
    assert_eq!(reported, expected, "the report is what the manifest says was migrated");
    let csv = run(&["report", keys[0]]);
    assert!(csv.starts_with("course,run,usage_key,edx_video_id,language,outcome,key,sha256,size,reason"), "{csv}");
    assert_eq!(csv.lines().count(), rows.len() + 1);

    let verified = run(&["verify", keys[0], keys[1], keys[2]]);
    assert_eq!(verified.matches(": verified:").count(), 3, "{verified}");

    // The worker's Prometheus endpoint counts what the report shows, and serves every metric the
    // dashboard charts.
    let all: Vec<serde_json::Value> =
        run(&["report", "--format", "jsonl", keys[0], keys[1], keys[2]]).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let videos: BTreeSet<&str> = all.iter().map(|r| r["usage_key"].as_str().unwrap()).collect();
    let bytes: u64 = all.iter().map(|r| r["size"].as_u64().unwrap()).sum();
    let scraped = scrape(metrics_port).await;
    assert_eq!(metric(&scraped, "transcript_migrator_transcripts_migrated_total"), all.len() as f64, "{scraped}");
    assert_eq!(metric(&scraped, "transcript_migrator_videos_migrated_total"), videos.len() as f64);
    assert_eq!(metric(&scraped, "transcript_migrator_transcript_bytes_migrated_total"), bytes as f64);
    assert_eq!(metric(&scraped, "transcript_migrator_videos_failed_total"), 0.0);
    let dashboard = std::fs::read_to_string(integration_tests::repo_root().join("ops/grafana/transcript-migrator.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut charted = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            for name in metric_names(target["expr"].as_str().unwrap()) {
                assert!(scraped.lines().any(|l| l.starts_with(&name)), "panel {:?} charts {name}, which the endpoint does not serve", panel["title"]);
                charted += 1;
            }
        }
    }
    assert!(charted >= 8, "the dashboard's queries were read");

    // Course 0, altered three ways: verify names each video.
    let course0: CourseKey = keys[0].parse().unwrap();
    let altered = &rows[0];
    let deleted = rows.iter().find(|r| r["usage_key"] != altered["usage_key"]).unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let altered_key = altered["key"].as_str().unwrap();
    bucket.client().put_object().bucket(bucket.bucket()).key(bucket.object_key(altered_key)).body(b"{}".to_vec().into()).send().await.unwrap();
    let sql = edxval::connect(&settings.edxval_database_url).await.unwrap();
    sqlx::query("DELETE FROM edxval_videotranscript WHERE transcript = ?").bind(deleted["key"].as_str().unwrap()).execute(&sql).await.unwrap();
    let changed_video = courses[0]
        .videos
        .iter()
        .find(|v| v.expected.outcome == Outcome::Migrated && v.usage_key != altered["usage_key"] && v.usage_key != deleted["usage_key"])
        .unwrap();
    let (_, changed_source) = changed_video.expected.migrate.iter().next().unwrap();
    change_asset(&settings, &course0, &changed_source.file, b"1\n00:00:01,000 --> 00:00:02,000\nchanged since\n").await;
    let failed = cli(&settings, &queue, &["verify", keys[0]]);
    let printed = String::from_utf8_lossy(&failed.stdout);
    assert!(!failed.status.success(), "{printed}");
    for (video, what) in [
        (altered["usage_key"].as_str().unwrap(), "SHA-256"),
        (deleted["usage_key"].as_str().unwrap(), "has no"),
        (changed_video.usage_key.as_str(), "changed since"),
    ] {
        assert!(printed.lines().any(|l| l.contains(video) && l.contains(what)), "verify does not name {video} ({what}):\n{printed}");
    }

    // Course 1: a user uploads a transcript after the migration; the rollback keeps it.
    let course1 = courses[1];
    let user_video = course1.videos.iter().find(|v| v.expected.outcome == Outcome::Migrated && v.expected.creates_external_video).unwrap();
    let user_key = format!("{}user-upload.sjson", bucket.directory_prefix());
    // As Studio stores it: without the SHA-256 the migration records on its own objects.
    bucket.put_as_edxval(&user_key, br#"{"start":[0],"end":[1],"text":["a user's"]}"#.to_vec()).await.unwrap();
    let mut conn = sql.acquire().await.unwrap();
    let video = edxval::video(&mut conn, &user_video.target_edx_video_id).await.unwrap().unwrap();
    edxval::create_transcript(&mut conn, video.id, &edxval::VideoTranscript::custom_sjson("zz", &user_key)).await.unwrap();
    drop(conn);
    let migrated = state(&settings, course1).await;
    let ours: BTreeSet<String> = run(&["report", "--format", "jsonl", keys[1]])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["key"].as_str().unwrap().to_string())
        .collect();
    assert!(!ours.is_empty() && ours.is_subset(&migrated.objects));
    let preview = run(&["rollback", "--dry-run", keys[1]]);
    assert!(preview.contains("would delete"), "{preview}");
    assert_eq!(state(&settings, course1).await, migrated, "a preview changes nothing");
    let rolled = run(&["rollback", keys[1]]);
    assert!(rolled.contains("kept:") && rolled.contains(&user_video.usage_key), "{rolled}");
    let after = state(&settings, course1).await;
    // The bucket is the three courses': this course's objects are gone, the others' stay.
    let mut expected = State { objects: migrated.objects.difference(&ours).cloned().collect(), ..before[1].clone() };
    expected.rows.get_mut(&user_video.target_edx_video_id).unwrap().insert("zz".into(), user_key.clone());
    // The user's upload is reached only through the id the migration wrote: its blocks keep it.
    expected.blocks.insert(user_video.usage_key.clone(), migrated.blocks[&user_video.usage_key].clone());
    assert_eq!(after, expected, "S3, edx-val, the blocks and the flag are as before, with the user's transcript");
    assert!(run(&["rollback", keys[1]]).contains("nothing to roll back"), "a second rollback does nothing");
    assert_eq!(state(&settings, course1).await, expected);
    assert_eq!(run(&["flags", "show", keys[1]]).trim(), format!("{}: off", keys[1]));
    let verified = run(&["verify", keys[1]]);
    assert!(verified.contains("verified (rolled back): 0 transcripts") && verified.trim().ends_with("flag off"), "{verified}");

    // And it can be migrated again.
    let again = format!("{batch}-again");
    run(&["start", "--id", &again, keys[1]]);
    let watched = run(&["watch", &again, "--interval", "1"]);
    assert!(watched.lines().last().unwrap().contains("(1 passed"), "{watched}");
    let verified = run(&["verify", keys[1], keys[2]]);
    assert_eq!(verified.matches(": verified:").count(), 2, "{verified}");
    assert!(!verified.contains(": verified: 0 transcripts"), "the second migration created what the rollback took back: {verified}");
    assert_eq!(run(&["flags", "show", keys[1]]).trim(), format!("{}: on", keys[1]));

    // Course 3, migrated and validated without switching its learners, then cut over.
    let later = format!("{batch}-later");
    run(&["start", "--id", &later, "--cut-over", "later", keys[3]]);
    let watched = run(&["watch", &later, "--interval", "1"]);
    assert!(watched.lines().last().unwrap().contains("(1 passed"), "{watched}");
    let validated = state(&settings, courses[3]).await;
    assert_eq!((&validated.blocks, validated.flag), (&before[3].blocks, false), "no block and no flag switched yet");
    assert!(validated.rows.values().any(|rows| !rows.is_empty()), "the transcripts are in edx-val");
    let verified = run(&["verify", keys[3]]);
    assert!(verified.contains("awaiting its cut-over: 4 videos") && verified.trim().ends_with("flag unset"), "{verified}");
    let switched = run(&["cut-over", keys[3]]);
    assert!(switched.contains("switched: 4 videos") && switched.contains("flag on"), "{switched}");
    let after = state(&settings, courses[3]).await;
    assert!(after.flag);
    for (video, ids) in &after.blocks {
        let expected = &courses[3].videos.iter().find(|v| &v.usage_key == video).unwrap().target_edx_video_id;
        assert!(ids.iter().all(|id| id == expected), "{video}: {ids:?}");
    }
    assert!(run(&["verify", keys[3]]).contains(": verified: 8 transcripts of 4 videos; flag on"));
    let again = cli(&settings, &queue, &["cut-over", keys[3]]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stdout).contains("ended succeeded"), "a second cut-over is refused");

    worker.stop();
    clean_up(&settings).await;
}

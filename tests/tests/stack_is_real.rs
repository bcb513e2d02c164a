//! Each server of the local stack is the real thing, not a stand-in.

use std::process::Command;

use activities::stores::contentstore::{Contentstore, ReadError};
use activities::stores::s3::{PutOutcome, TranscriptBucket};
use activities::stores::settings::StoreSettings;
use bson::doc;
use futures::AsyncWriteExt;
use integration_tests::{clean_up, isolated_settings, stack_env, unique_tag};
use model::CourseKey;

#[test]
fn the_temporal_cli_lists_the_namespace_and_our_search_attributes() {
    let env = stack_env();
    let temporal = std::path::Path::new(env.require("STACK_VENV").unwrap()).join("bin/temporal");
    let address = env.require("TEMPORAL_ADDRESS").unwrap().trim_start_matches("http://").to_string();
    let namespace = env.require("TEMPORAL_NAMESPACE").unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(&temporal).args(args).args(["--address", &address]).env_remove("TEMPORAL_ADDRESS").output().unwrap();
        assert!(output.status.success(), "temporal {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    let namespaces = run(&["operator", "namespace", "list"]);
    assert!(namespaces.lines().any(|l| l.contains("Name") && l.contains(namespace)), "{namespaces}");
    let attributes = run(&["operator", "search-attribute", "list", "--namespace", namespace]);
    for (name, kind) in [("CourseKey", "Keyword"), ("DryRun", "Bool")] {
        assert!(attributes.lines().any(|l| l.contains(name) && l.contains(kind)), "{name} {kind} in\n{attributes}");
    }
}

#[tokio::test]
async fn s3_refuses_a_second_put_with_if_none_match() {
    let settings = StoreSettings::from_env(&stack_env()).unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let key = format!("tests/conditional-{}.sjson", unique_tag("s3"));
    let put = || bucket.client().put_object().bucket(bucket.bucket()).key(&key).if_none_match("*").body(b"second".to_vec().into()).send();
    assert_eq!(bucket.put_if_absent(&key, b"first".to_vec()).await.unwrap(), PutOutcome::Created);
    let refused = put().await.expect_err("a second conditional PUT must be refused");
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(412));
    assert_eq!(bucket.put_if_absent(&key, b"third".to_vec()).await.unwrap(), PutOutcome::AlreadyExists);
    assert_eq!(bucket.get(&key).await.unwrap().as_deref(), Some(&b"first"[..]), "the object was not overwritten");
    bucket.delete(&key).await.unwrap();
    assert_eq!(bucket.get(&key).await.unwrap(), None);
}

#[tokio::test]
async fn gridfs_round_trips_a_file_with_a_subdocument_id() {
    let tag = unique_tag("gridfs");
    let settings = isolated_settings(&tag);
    let contentstore = Contentstore::connect(&settings.contentstore).await.unwrap();
    let course: CourseKey = "edX/DemoX/2013_Fall".parse().unwrap();
    let id = activities::stores::contentstore::asset_id(&course, "subs_round_trip.srt.sjson");
    assert!(id.as_document().is_some(), "old-style courses key assets by subdocument");
    // Written by the driver's own GridFS, in chunks smaller than the file.
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let bucket = contentstore.database().gridfs_bucket(mongodb::options::GridFsBucketOptions::builder().chunk_size_bytes(64 * 1024).build());
    let mut upload = bucket.open_upload_stream("subs_round_trip.srt.sjson").id(id.clone()).await.unwrap();
    upload.write_all(&content).await.unwrap();
    upload.close().await.unwrap();
    let stored = contentstore.database().collection::<bson::Document>("fs.files").find_one(doc! { "_id": id.clone() }).await.unwrap();
    assert!(stored.is_some(), "found by subdocument equality");
    let chunks = contentstore.database().collection::<bson::Document>("fs.chunks").count_documents(doc! { "files_id": &id }).await.unwrap();
    assert_eq!(chunks, 5);
    let file = contentstore.find(&course, "subs_round_trip.srt.sjson").await.unwrap().expect("found through the contentstore reader");
    assert_eq!(file.length, content.len() as u64);
    assert_eq!(contentstore.read(&file).await.unwrap(), content);
    assert!(contentstore.find(&course, "subs_other.srt.sjson").await.unwrap().is_none());

    // Chunks that do not add up are refused, naming the file and the chunk.
    let chunks = contentstore.database().collection::<bson::Document>("fs.chunks");
    let last = doc! { "files_id": id.clone(), "n": 4 };
    chunks
        .update_one(last.clone(), doc! { "$set": { "data": bson::Binary { subtype: bson::spec::BinarySubtype::Generic, bytes: vec![0; 10] } } })
        .await
        .unwrap();
    let short = contentstore.read(&file).await.unwrap_err();
    assert!(matches!(short, ReadError::Broken { .. }), "a broken file, not a store error: {short:?}");
    let short = short.to_string();
    assert!(short.contains("GridFS file subs_round_trip.srt.sjson: chunk 4 is 10 bytes, not 37856"), "{short}");
    chunks.delete_one(doc! { "files_id": id.clone(), "n": 2 }).await.unwrap();
    let missing = contentstore.read(&file).await.unwrap_err().to_string();
    assert!(missing.contains("chunk 2 is missing (found chunk 3)"), "{missing}");
    clean_up(&settings).await;
}

#[tokio::test]
async fn gridfs_files_of_a_new_style_course_are_read_at_once() {
    let tag = unique_tag("gridfs_batch");
    let settings = isolated_settings(&tag);
    let contentstore = Contentstore::connect(&settings.contentstore).await.unwrap();
    let course: CourseKey = "course-v1:edX+BatchX+2024".parse().unwrap();
    let bucket = contentstore.database().gridfs_bucket(mongodb::options::GridFsBucketOptions::builder().chunk_size_bytes(1024).build());
    let names = ["a_en.srt", "b_fr.srt", "empty.srt"];
    let contents: Vec<Vec<u8>> = vec![(0..5000u32).map(|i| (i % 7) as u8).collect(), (0..300u32).map(|i| (i % 13) as u8).collect(), vec![]];
    for (name, content) in names.iter().zip(&contents) {
        let id = activities::stores::contentstore::asset_id(&course, name);
        let mut upload = bucket.open_upload_stream(*name).id(id).await.unwrap();
        upload.write_all(content).await.unwrap();
        upload.close().await.unwrap();
    }
    let found = contentstore.find_all(&course, &["a_en.srt", "b_fr.srt", "empty.srt", "absent.srt"]).await.unwrap();
    assert_eq!(found.keys().map(String::as_str).collect::<Vec<_>>(), ["a_en.srt", "b_fr.srt", "empty.srt"]);
    // One file named by two languages is read for both.
    let (a, b, empty) = (&found["a_en.srt"], &found["b_fr.srt"], &found["empty.srt"]);
    let read: Vec<Vec<u8>> = contentstore.read_all(&[a, b, a, empty]).await.unwrap().into_iter().map(Result::unwrap).collect();
    assert_eq!(read, [contents[0].clone(), contents[1].clone(), contents[0].clone(), vec![]]);
    clean_up(&settings).await;
}

#[tokio::test]
async fn the_edxval_tables_are_the_ones_django_created() {
    let settings = StoreSettings::from_env(&stack_env()).unwrap();
    let pool = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let applied: Vec<(String, String)> = sqlx::query_as("SELECT app, name FROM django_migrations ORDER BY id").fetch_all(&pool).await.unwrap();
    let mut edxval: Vec<&str> = applied.iter().filter(|(app, _)| app == "edxval").map(|(_, name)| name.as_str()).collect();
    edxval.sort();
    assert_eq!(edxval, shipped_edxval_migrations(), "exactly the migrations of the installed edxval package were applied");
    assert!(applied.iter().any(|(app, _)| app == "video_config"), "the video_config tables came from a migration too");
    for (table, columns) in [
        ("edxval_video", &["id", "created", "edx_video_id", "client_video_id", "duration", "status", "error_description"][..]),
        ("edxval_coursevideo", &["id", "course_id", "video_id", "is_hidden"]),
        ("edxval_videotranscript", &["id", "created", "modified", "transcript", "language_code", "provider", "file_format", "video_id"]),
        ("video_config_coursevideotranscriptenabledflag", &["id", "change_date", "enabled", "changed_by_id", "course_id"]),
        ("video_config_migrationenqueuedcourse", &["created", "modified", "course_id", "command_run"]),
    ] {
        // Selecting every column by name fails if one is missing.
        let sql = format!("SELECT {} FROM {table} WHERE 1 = 0", columns.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&pool).await.unwrap_or_else(|e| panic!("{table}: {e}"));
    }
}

/// The migration files of the edxval package in the stack's venv.
fn shipped_edxval_migrations() -> Vec<String> {
    let venv = std::path::PathBuf::from(stack_env().require("STACK_VENV").unwrap().to_string());
    let lib = std::fs::read_dir(venv.join("lib")).unwrap().next().unwrap().unwrap().path();
    let dir = lib.join("site-packages/edxval/migrations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".py") && name.as_bytes()[0].is_ascii_digit())
        .map(|name| name.trim_end_matches(".py").to_string())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    names
}

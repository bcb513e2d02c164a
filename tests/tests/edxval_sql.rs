//! The project's SQL against edx-val's tables, on whichever database the stack runs (SQLite or
//! MariaDB; `scripts/test` runs this file on both), read back by edx-val's own Python code.

use activities::stores::edxval::{self, NewVideo, VideoTranscript};
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use integration_tests::{edxval_read, stack_env, unique_tag};

#[tokio::test]
async fn rows_written_here_are_read_by_edxval_itself() {
    let settings = StoreSettings::from_env(&stack_env()).unwrap();
    let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let edx_video_id = unique_tag("sql-video");
    let course_id: model::CourseKey = format!("course-v1:SQLx+{}+2026", unique_tag("c")).parse().unwrap();

    let mut tx = edxval::begin_write(&pool).await.unwrap();
    assert_eq!(edxval::video(&mut tx, &edx_video_id).await.unwrap(), None);
    let video = NewVideo { edx_video_id: &edx_video_id, client_video_id: "external video.mp4", status: "external", duration: 0.0 };
    let id = edxval::create_video(&mut tx, &video).await.unwrap();
    assert!(edxval::link_course_video(&mut tx, &course_id, id).await.unwrap());
    assert!(!edxval::link_course_video(&mut tx, &course_id, id).await.unwrap(), "linked only once");
    let key = format!("video-transcripts/{}.sjson", uuid_hex(&edx_video_id));
    let transcript = VideoTranscript { language_code: "zh".into(), transcript: key.clone(), file_format: "sjson".into(), provider: "Custom".into() };
    edxval::create_transcript(&mut tx, id, &transcript).await.unwrap();
    let duplicate = edxval::create_transcript(&mut tx, id, &transcript).await;
    assert!(duplicate.is_err(), "edx-val's unique (video, language_code) holds");
    tx.rollback().await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(edxval::video(&mut conn, &edx_video_id).await.unwrap(), None, "a rolled-back transaction leaves nothing");

    let mut tx = edxval::begin_write(&pool).await.unwrap();
    let id = edxval::create_video(&mut tx, &video).await.unwrap();
    edxval::link_course_video(&mut tx, &course_id, id).await.unwrap();
    edxval::create_transcript(&mut tx, id, &transcript).await.unwrap();
    tx.commit().await.unwrap();

    let found = edxval::video(&mut conn, &edx_video_id).await.unwrap().unwrap();
    assert_eq!((found.id, found.status.as_str()), (id, "external"));
    let transcripts = edxval::transcripts(&mut conn, id).await.unwrap();
    assert_eq!(transcripts.get("zh"), Some(&transcript));

    let sjson = r#"{"start": [0], "end": [1500], "text": ["\u4f60\u597d"]}"#;
    bucket.put_if_absent(&key, sjson.as_bytes().to_vec()).await.unwrap();
    let (file_name, content) = edxval_read(bucket.bucket(), &edx_video_id, "zh").expect("edx-val reads our rows and object");
    assert_eq!(file_name, "external video-zh.sjson");
    assert_eq!(content, sjson);
    assert_eq!(edxval_read(bucket.bucket(), &edx_video_id, "fr").unwrap_err().0, 1, "no French transcript");
}

fn uuid_hex(seed: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    seed.hash(&mut hasher);
    format!("{:016x}{:016x}", hasher.finish(), std::process::id())
}

//! A site's own storage settings: with django-storages' `location`, a non-default edx-val
//! `DIRECTORY_PREFIX` and SSE-S3, the migrated transcripts are objects under the location,
//! encrypted, named in edx-val as a Django `FileField` names them, and readable through
//! edx-val's own API configured the same way; validation reads them under the same rule.

use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::Encryption;
use integration_tests::{clean_up, edxval_read_many_in, final_edx_video_id, isolated_settings, own_bucket, run_course, unique_tag, with_worker};
use model::CourseKey;
use seed::manifest::{Outcome, Read};
use seed::{Dataset, Plan};
use sha2::{Digest, Sha256};
use workflows::migrate_course::MigrateCourseInput;

#[tokio::test]
async fn transcripts_go_where_the_sites_storage_settings_say() {
    let tag = unique_tag("store");
    let mut settings = isolated_settings(&tag);
    settings.s3.bucket = own_bucket(&settings, &tag).await;
    settings.s3.location = "openedx/media".into();
    settings.s3.directory_prefix = "transcripts/vt-".into();
    settings.s3.encryption = Some(Encryption::S3Managed);
    let plan = Plan { tag: tag.clone(), bulk_courses: 0, ..Plan::default() };
    let manifest = seed::write::seed(&Dataset::generate(&plan), &settings).await.expect("seeding the stack");
    let course = manifest.courses.iter().find(|c| c.course_key.contains("DemoX")).unwrap();
    let course_key: CourseKey = course.course_key.parse().unwrap();

    with_worker(&settings, |client, queue| async move {
        let result = run_course(&client, &queue, &MigrateCourseInput::new(&course_key, false)).await;
        assert!(result.flag.enabled, "validation reads under the location: {result:?}");
        assert!(result.counts.transcripts_migrated > 5);
    })
    .await;

    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let mut wanted = Vec::new();
    let mut expected = Vec::new();
    for video in course.videos.iter().filter(|v| v.expected.outcome == Outcome::Migrated) {
        for (language, transcript) in &video.expected.migrate {
            let Read::Transcript { .. } = &video.branches[&transcript.from].languages[language] else { unreachable!() };
            wanted.push((final_edx_video_id(video), language.clone()));
            expected.push(transcript.sha256.clone());
        }
    }
    for ((id, language), (read, sha256)) in wanted.iter().zip(edxval_read_many_in(&settings.s3, &wanted).into_iter().zip(&expected)) {
        let (file_name, content) = read.unwrap_or_else(|e| panic!("{id} {language}: edx-val cannot read it: {e}"));
        assert_eq!(&hex::encode(Sha256::digest(content.as_bytes())), sha256, "{id} {language}");
        assert!(file_name.ends_with(".sjson"), "{file_name}");
    }
    let sql = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let names: Vec<String> =
        sqlx::query_scalar("SELECT t.transcript FROM edxval_videotranscript t JOIN edxval_video v ON v.id = t.video_id WHERE v.edx_video_id = ?")
            .bind(&wanted[0].0)
            .fetch_all(&sql)
            .await
            .unwrap();
    for name in &names {
        assert!(name.starts_with("transcripts/vt-") && !name.starts_with("openedx"), "edx-val keeps the name, not the key: {name}");
        assert_eq!(bucket.encryption_of(name).await.unwrap().as_deref(), Some("AES256"), "{name}");
    }
    // Every object the migration wrote is under the location; nothing at the bucket's root.
    let all = bucket.client().list_objects_v2().bucket(bucket.bucket()).send().await.unwrap();
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.iter().all(|key| key.starts_with("openedx/media/")), "{keys:?}");
    assert!(keys.iter().filter(|key| key.starts_with("openedx/media/transcripts/vt-")).count() >= wanted.len());
    clean_up(&settings).await;
}

//! A course and its rerun share an edx-val video (the rerun's blocks name the same
//! `edx_video_id`, and edx-val links the video to both). With the same files it migrates once
//! and both courses pass; with different files neither course writes to the shared video, and
//! each is reported naming the other. Both pairs run at once, so the courses of a pair race.

use activities::stores::s3::TranscriptBucket;
use integration_tests::{clean_up, edxval_read_many, run_course, seed_isolated, with_worker};
use model::CourseKey;
use seed::Plan;
use seed::manifest::{ManifestVideo, Outcome};
use sha2::{Digest, Sha256};
use workflows::migrate_course::{CourseResult, MigrateCourseInput};

#[tokio::test]
async fn a_shared_video_migrates_once_where_the_copies_agree_and_never_where_they_differ() {
    let plan = Plan { showcase: false, bulk_courses: 0, reruns: true, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("shared", plan).await;
    let sql = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let courses: Vec<CourseKey> = manifest.courses.iter().map(|c| c.course_key.parse().unwrap()).collect();
    assert_eq!(courses.len(), 4, "two courses, each with its rerun");
    let shared = |name: &str| -> Vec<(&String, &ManifestVideo)> {
        let courses = manifest.courses.iter().filter(|c| c.course_key.contains(name));
        courses.flat_map(|c| c.videos.iter().filter(|v| !v.shared_with.is_empty()).map(move |v| (&c.course_key, v))).collect()
    };
    let (agreeing, differing) = (shared("RerunX"), shared("ForkX"));
    assert_eq!((agreeing.len(), differing.len()), (2, 2));
    assert!(agreeing.iter().all(|(_, v)| v.expected.outcome == Outcome::Migrated));
    assert!(
        differing.iter().all(|(_, v)| v.expected.outcome == Outcome::Failed && v.expected.failure.as_ref().unwrap().kind == "shared_video_differs")
    );

    let results: Vec<CourseResult> = with_results(&settings, &courses).await;
    let result = |course: &str| results.iter().find(|r| r.course_key.to_string() == course).unwrap();

    // The same files: both courses pass, and each language is in edx-val once, as the manifest
    // has it, readable through edx-val's own API.
    let id = &agreeing[0].1.target_edx_video_id;
    for (course, _) in &agreeing {
        let result = result(course);
        assert!(result.flag.enabled && result.counts.failed == 0, "{course}: {result:?}");
    }
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT t.language_code FROM edxval_videotranscript t JOIN edxval_video v ON v.id = t.video_id WHERE v.edx_video_id = ? ORDER BY 1",
    )
    .bind(id)
    .fetch_all(&sql)
    .await
    .unwrap();
    assert_eq!(rows, ["de", "en"], "one row per language of the shared video");
    let wanted: Vec<(String, String)> = rows.iter().map(|l| (id.clone(), l.clone())).collect();
    for ((_, language), read) in wanted.iter().zip(edxval_read_many(bucket.bucket(), &wanted)) {
        let (_, content) = read.unwrap_or_else(|e| panic!("{id} {language}: {e}"));
        let sha256 = hex::encode(Sha256::digest(content.as_bytes()));
        for (_, video) in &agreeing {
            assert_eq!(sha256, video.expected.migrate[language].sha256, "{} {language}", video.usage_key);
        }
    }
    let migrated: u32 = results.iter().filter(|r| r.course_key.course == "RerunX").map(|r| r.counts.transcripts_migrated).sum();
    assert_eq!(migrated, 4, "the shared video's two languages once, and each course's own video");

    // Different files: neither course writes to the shared video, and each names the other.
    let id = &differing[0].1.target_edx_video_id;
    for (course, video) in &differing {
        let result = result(course);
        assert!(!result.flag.enabled, "{course} does not pass: {result:?}");
        let message =
            &result.failures.iter().find(|f| f.usage_key.to_string() == video.usage_key && !f.message.starts_with("validation")).unwrap().message;
        let other = &video.shared_with[0];
        for part in [course.as_str(), video.usage_key.as_str(), "language de", "shared_intro_de.srt", other, id] {
            assert!(message.contains(part), "{message:?} does not name {part:?}");
        }
        assert!(!message.contains("language en"), "the English copies agree: {message}");
        assert_eq!(result.counts.migrated, 1, "{course}: its own video migrates");
    }
    let rows: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM edxval_videotranscript t JOIN edxval_video v ON v.id = t.video_id WHERE v.edx_video_id = ?")
            .bind(id)
            .fetch_one(&sql)
            .await
            .unwrap();
    assert_eq!(rows, 0, "nothing was written to the video the copies disagree on");
    // Every object in the bucket is one edx-val names: no upload of the diverging video, and
    // none left by the course that lost the race for the agreeing one.
    let named: Vec<String> = sqlx::query_scalar("SELECT transcript FROM edxval_videotranscript").fetch_all(&sql).await.unwrap();
    for key in bucket.list("").await.unwrap() {
        assert!(named.contains(&key), "{key} is in the bucket, but edx-val does not name it");
    }
    clean_up(&settings).await;
}

async fn with_results(settings: &activities::stores::settings::StoreSettings, courses: &[CourseKey]) -> Vec<CourseResult> {
    let results = std::sync::Mutex::new(Vec::new());
    with_worker(settings, |client, queue| {
        let results = &results;
        async move {
            let runs = courses.iter().map(|course| {
                let (client, queue) = (&client, &queue);
                async move { run_course(client, queue, &MigrateCourseInput::new(course, false)).await }
            });
            let done = futures::future::join_all(runs).await;
            results.lock().unwrap().extend(done);
        }
    })
    .await;
    results.into_inner().unwrap()
}

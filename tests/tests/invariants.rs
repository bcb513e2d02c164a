//! The reliability suite's audit can fail: after a clean migration it finds nothing, and after
//! each kind of damage done by hand (a transcript lost, stored twice, an object left behind, a
//! pre-existing object changed, a flag turned on for a broken course, a failure not reported)
//! it names exactly that damage.

use std::collections::BTreeMap;

use activities::stores::s3::TranscriptBucket;
use integration_tests::invariants::{audit, snapshot};
use integration_tests::{clean_up, seed_isolated, with_worker};
use seed::Plan;
use seed::manifest::Outcome;
use workflows::migrate_course::MigrateCourseInput;

#[tokio::test]
async fn the_audit_names_each_kind_of_damage() {
    let plan = Plan { bulk_courses: 1, videos_per_course: 3, languages_per_video: 2, cues_per_transcript: 5, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("audit", plan).await;
    let before = snapshot(&settings, &manifest).await;
    let reported = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let slot = reported.clone();
    let courses = manifest.courses.clone();
    with_worker(&settings, |client, queue| async move {
        for course in &courses {
            let key = course.course_key.parse().unwrap();
            let result = integration_tests::run_course(&client, &queue, &MigrateCourseInput::new(&key, false)).await;
            slot.lock().unwrap().insert(course.course_key.clone(), result.failures);
        }
    })
    .await;
    let reported = reported.lock().unwrap().clone();
    let clean = audit(&settings, &manifest, &before, &reported).await;
    assert!(clean.is_clean() && clean.transcripts_checked > 10, "{clean:#?}");

    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let after = snapshot(&settings, &manifest).await;
    let migrated: Vec<&String> = after.rows.values().map(|row| &row.transcript).filter(|key| !before.objects.contains_key(*key)).collect();
    let (lost, copied) = (migrated[0].clone(), migrated[1].clone());
    bucket.delete(&lost).await.unwrap();
    let copy = bucket.get(&copied).await.unwrap().unwrap();
    bucket.put_if_absent("video-transcripts/a-second-copy.sjson", copy).await.unwrap();
    let existing = before.objects.keys().next().expect("the seed has transcripts in S3 already").clone();
    bucket.delete(&existing).await.unwrap();
    bucket.put_if_absent(&existing, b"{}".to_vec()).await.unwrap();
    let broken = manifest.courses.iter().find(|c| !c.flag_expected).unwrap();
    let pool = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    sqlx::query("INSERT INTO video_config_coursevideotranscriptenabledflag (change_date, enabled, course_id, changed_by_id) VALUES (?, ?, ?, NULL)")
        .bind(activities::stores::edxval::utc_now())
        .bind(true)
        .bind(&broken.course_key)
        .execute(&pool)
        .await
        .unwrap();
    let failed = broken.videos.iter().find(|v| v.expected.outcome == Outcome::Failed).unwrap();
    let mut unreported = reported.clone();
    unreported.get_mut(&broken.course_key).unwrap().retain(|f| f.usage_key.to_string() != failed.usage_key);

    let damaged = audit(&settings, &manifest, &before, &unreported).await;
    assert_eq!(damaged.lost.len(), 1, "{:?}", damaged.lost);
    assert_eq!(damaged.duplicated.len(), 1, "{:?}", damaged.duplicated);
    assert_eq!(damaged.orphans, ["video-transcripts/a-second-copy.sjson"]);
    assert_eq!(damaged.overwritten, [format!("object {existing}")]);
    assert_eq!(damaged.wrong_flags.len(), 1, "{:?}", damaged.wrong_flags);
    assert!(damaged.wrong_flags[0].starts_with(&broken.course_key));
    assert_eq!(damaged.misreported, [format!("{}: broken but not reported", failed.usage_key)]);
    clean_up(&settings).await;
}

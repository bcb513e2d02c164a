//! `MigrateCourse` on the real stack: the seeded courses are dry-run (nothing written anywhere),
//! migrated (every transcript readable through edx-val's own API and equal to the manifest,
//! the ids written back, flags on exactly where nothing failed), and migrated again (nothing
//! created).

use std::collections::BTreeMap;

use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use bson::Document;
use futures::TryStreamExt;
use integration_tests::{clean_up, course_units, edxval_read_many, final_edx_video_id, seed_isolated, with_worker};
use model::CourseKey;
use seed::manifest::{Outcome, Read};
use seed::{Manifest, Plan};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use temporalio_client::Client;
use workflows::migrate_course::{CourseResult, MigrateCourseInput};
use workflows::retry::RetrySettings;

async fn run_course(client: &Client, queue: &str, course: &CourseKey, dry_run: bool) -> CourseResult {
    let mut input = MigrateCourseInput::new(course, dry_run);
    input.page_size = 3; // several pages, so continue-as-new is exercised
    input.max_videos_in_flight = 3;
    input.retry = RetrySettings { initial_interval_ms: 100, maximum_attempts: 3, ..RetrySettings::default() };
    integration_tests::run_course(client, queue, &input).await
}

async fn run_all(client: &Client, queue: &str, courses: &[CourseKey], dry_run: bool) -> BTreeMap<String, CourseResult> {
    let runs = courses.iter().map(|course| async move { (course.to_string(), run_course(client, queue, course, dry_run).await) });
    futures::future::join_all(runs).await.into_iter().collect()
}

/// Everything the migration may write, for this test's courses: S3 listing, edx-val rows, the
/// flag and log tables, and the modulestore's documents (structures, indexes, old Mongo blocks).
#[derive(Debug, PartialEq)]
struct World {
    objects: Vec<String>,
    sql: Vec<(String, i64)>,
    modulestore: Vec<String>,
}

async fn world(modulestore: &Modulestore, sql: &AnyPool, bucket: &TranscriptBucket, manifest: &Manifest) -> World {
    let courses: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
    let ids: Vec<String> = manifest.courses.iter().flat_map(|c| &c.videos).map(final_edx_video_id).collect();
    let mut counts = Vec::new();
    let count = |query: String, values: Vec<String>| async move {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query));
        for value in values {
            q = q.bind(value);
        }
        q.fetch_one(sql).await.unwrap()
    };
    let marks = |n: usize| vec!["?"; n].join(", ");
    for (name, query, values) in [
        ("videos", format!("SELECT COUNT(*) FROM edxval_video WHERE edx_video_id IN ({})", marks(ids.len())), ids.clone()),
        ("course videos", format!("SELECT COUNT(*) FROM edxval_coursevideo WHERE course_id IN ({})", marks(courses.len())), courses.clone()),
        (
            "transcripts",
            format!(
                "SELECT COUNT(*) FROM edxval_videotranscript t JOIN edxval_video v ON v.id = t.video_id WHERE v.edx_video_id IN ({})",
                marks(ids.len())
            ),
            ids.clone(),
        ),
        (
            "flags",
            format!("SELECT COUNT(*) FROM video_config_coursevideotranscriptenabledflag WHERE course_id IN ({})", marks(courses.len())),
            courses.clone(),
        ),
        (
            "enqueued",
            format!("SELECT COUNT(*) FROM video_config_migrationenqueuedcourse WHERE course_id IN ({})", marks(courses.len())),
            courses.clone(),
        ),
    ] {
        counts.push((name.to_string(), count(query, values).await));
    }
    let marks_courses = marks(courses.len());
    let mut heads = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(format!(
        "SELECT course_id, draft_version, published_version FROM split_modulestore_django_splitmodulestorecourseindex WHERE course_id IN ({marks_courses})"
    )));
    for course in &courses {
        heads = heads.bind(course);
    }
    let mut documents: Vec<String> = heads.fetch_all(sql).await.unwrap().into_iter().map(|h| format!("SQL course index: {h:?}")).collect();
    for collection in
        [activities::stores::modulestore::STRUCTURES, activities::stores::modulestore::ACTIVE_VERSIONS, activities::stores::modulestore::OLD_MONGO]
    {
        let all: Vec<Document> =
            modulestore.database().collection::<Document>(collection).find(bson::doc! {}).await.unwrap().try_collect().await.unwrap();
        documents.extend(all.iter().map(|d| format!("{collection}: {d}")));
    }
    documents.sort();
    World { objects: bucket.list("").await.unwrap(), sql: counts, modulestore: documents }
}

async fn flag_rows(sql: &AnyPool, course: &str) -> Vec<i64> {
    sqlx::query_scalar::<_, i64>(
        "SELECT CASE WHEN enabled THEN 1 ELSE 0 END FROM video_config_coursevideotranscriptenabledflag WHERE course_id = ? ORDER BY id",
    )
    .bind(course)
    .fetch_all(sql)
    .await
    .unwrap()
}

#[tokio::test]
async fn courses_migrate_validate_and_flip_their_flag_once() {
    let plan = Plan { bulk_courses: 1, videos_per_course: 7, languages_per_video: 2, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("mc", plan).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let sql = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let courses: Vec<CourseKey> = manifest.courses.iter().map(|c| c.course_key.parse().unwrap()).collect();
    // Installations without edx-platform's SQL course index keep split heads in MongoDB only.
    let mongo_only = courses.iter().find(|c| !c.old_style && c.org.starts_with("BulkU")).expect("a generated split course");
    sqlx::query("DELETE FROM split_modulestore_django_splitmodulestorecourseindex WHERE course_id = ?")
        .bind(mongo_only.to_string())
        .execute(&sql)
        .await
        .unwrap();

    with_worker(&settings, |client, queue| async move {
        // A dry run reports what would be migrated and writes nothing anywhere.
        let before = world(&modulestore, &sql, &bucket, &manifest).await;
        let dry = run_all(&client, &queue, &courses, true).await;
        assert_eq!(world(&modulestore, &sql, &bucket, &manifest).await, before, "a dry run writes nothing");
        for course in &manifest.courses {
            let result = &dry[&course.course_key];
            let expect = |outcome| course.videos.iter().filter(|v| v.expected.outcome == outcome).count() as u32;
            assert_eq!((result.counts.planned, result.counts.failed), (expect(Outcome::Migrated), expect(Outcome::Failed)), "{}", course.course_key);
            let languages: u32 = course.videos.iter().map(|v| v.expected.migrate.len() as u32).sum();
            assert_eq!(result.counts.transcripts_migrated, languages, "{}: transcripts that would be migrated", course.course_key);
            assert_eq!(result.run_number, 0, "dry runs are not logged in SQL");
            assert_eq!(result.counts.orphans as usize, course.videos.iter().filter(|v| v.orphan).count(), "{}: orphans", course.course_key);
        }

        // The migration.
        let results = run_all(&client, &queue, &courses, false).await;
        let mut wanted = Vec::new();
        let mut expected = Vec::new();
        for course in &manifest.courses {
            let result = &results[&course.course_key];
            assert_eq!(result.flag.enabled, course.flag_expected, "{}: {result:?}", course.course_key);
            assert_eq!(flag_rows(&sql, &course.course_key).await, if course.flag_expected { vec![1] } else { vec![] });
            let failed: Vec<_> = course.videos.iter().filter(|v| v.expected.outcome == Outcome::Failed).collect();
            assert_eq!(result.counts.failed as usize, failed.len(), "{}: {:?}", course.course_key, result.failures);
            for video in &failed {
                let failure = video.expected.failure.as_ref().unwrap();
                let reported = result.failures.iter().find(|f| f.usage_key.to_string() == video.usage_key && !f.message.starts_with("validation"));
                let message = &reported.unwrap_or_else(|| panic!("{} is not reported: {:?}", video.usage_key, result.failures)).message;
                let mut parts = vec![video.usage_key.clone()];
                parts.extend(failure.language.iter().map(|l| format!("language {l}")));
                parts.extend(failure.file.clone());
                if failure.language.is_some() {
                    parts.push(course.course_key.clone());
                }
                for part in parts {
                    assert!(message.contains(&part), "{message:?} does not name {part:?}");
                }
            }
            let migrated = course.videos.iter().filter(|v| v.expected.outcome == Outcome::Migrated).count() as u32;
            assert_eq!(result.counts.migrated, migrated, "{}", course.course_key);
            let orphans: Vec<String> = course.videos.iter().filter(|v| v.orphan).map(|v| v.usage_key.clone()).collect();
            assert_eq!(result.orphans.iter().map(ToString::to_string).collect::<Vec<_>>(), orphans, "{}: orphans are listed", course.course_key);
            let skipped: usize = course.videos.iter().map(|v| v.expected.skipped.len()).sum();
            assert_eq!(result.counts.transcripts_without_source as usize, skipped, "{}: languages without a source", course.course_key);
            assert_eq!(result.skipped.len(), skipped.min(50), "{}: {:?}", course.course_key, result.skipped);
            // The course cut-over: ids go into the blocks only once the whole course validated.
            let unnamed = course.videos.iter().filter(|v| v.expected.outcome == Outcome::Migrated && v.edx_video_id.is_empty()).count() as u32;
            let switched = if course.flag_expected { unnamed } else { 0 };
            assert_eq!(result.counts.switched_at_cut_over, switched, "{}: {:?}", course.course_key, result.counts);
            for video in course.videos.iter().filter(|v| v.expected.outcome == Outcome::Migrated) {
                for (language, transcript) in &video.expected.migrate {
                    let Read::Transcript { sjson: Some(sjson), .. } = &video.branches[&transcript.from].languages[language] else {
                        panic!("the manifest has the expected SJSON of {} {language}", video.usage_key)
                    };
                    wanted.push((final_edx_video_id(video), language.clone()));
                    expected.push((video.usage_key.clone(), transcript.sha256.clone(), sjson.clone()));
                }
            }
        }
        assert!(wanted.len() > 10, "the showcase migrates transcripts");
        for ((id, language), (read, (usage_key, sha256, sjson))) in
            wanted.iter().zip(edxval_read_many(bucket.bucket(), &wanted).into_iter().zip(&expected))
        {
            let (_, content) = read.unwrap_or_else(|e| panic!("{usage_key} {language} ({id}): edx-val cannot read it: {e}"));
            assert_eq!(&hex::encode(Sha256::digest(content.as_bytes())), sha256, "{usage_key} {language}: the bytes edx-val serves");
            assert_eq!(&serde_json::from_str::<serde_json::Value>(&content).unwrap(), sjson, "{usage_key} {language}");
        }
        // In a course that validated, every copy of a migrated video names its edx-val video
        // now (written back where empty). In one that did not, a block without an id still has
        // none: the LMS, which reads edx-val only for a block that names an edx_video_id, keeps
        // serving its learners from the contentstore.
        for course in &manifest.courses {
            let units = course_units(&modulestore, &course.course_key.parse().unwrap()).await;
            for video in course.videos.iter().filter(|v| v.expected.outcome == Outcome::Migrated) {
                let unit = units.iter().find(|u| u.usage_key.to_string() == video.usage_key).unwrap();
                let named = if course.flag_expected { final_edx_video_id(video) } else { video.edx_video_id.clone() };
                for copy in &unit.copies {
                    assert_eq!(copy.fields.edx_video_id, named, "{} {} (course passed: {})", video.usage_key, copy.branch, course.flag_expected);
                }
            }
        }
        // No external video the migration created is linked to a course, as edx-val's own.
        let ours: Vec<String> = manifest.courses.iter().flat_map(|c| &c.videos).map(final_edx_video_id).collect();
        let query = format!(
            "SELECT COUNT(*) FROM edxval_coursevideo c JOIN edxval_video v ON v.id = c.video_id WHERE v.status = 'external' AND v.edx_video_id IN ({})",
            vec!["?"; ours.len()].join(", ")
        );
        let mut linked = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(query));
        for id in &ours {
            linked = linked.bind(id);
        }
        assert_eq!(linked.fetch_one(&sql).await.unwrap(), 0, "external videos linked to a course");

        // A second run creates nothing and appends no flag row; only the run log grows.
        let after_first = world(&modulestore, &sql, &bucket, &manifest).await;
        let again = run_all(&client, &queue, &courses, false).await;
        assert_eq!(world(&modulestore, &sql, &bucket, &manifest).await, after_first, "a second run writes nothing");
        for course in &manifest.courses {
            let result = &again[&course.course_key];
            assert_eq!((result.counts.migrated, result.counts.transcripts_migrated, result.flag.appended), (0, 0, false), "{}", course.course_key);
            assert_eq!(result.flag.enabled, course.flag_expected);
            assert_eq!(result.run_number, results[&course.course_key].run_number + 1, "every run is logged with its number");
        }
    })
    .await;
    clean_up(&settings).await;
}

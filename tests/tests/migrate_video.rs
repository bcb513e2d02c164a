//! `MigrateVideo` on the real Temporal server, with a worker in this process.

use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use integration_tests::{clean_up, course_units, edxval_read, seed_isolated, unique_tag, with_worker};
use model::CourseKey;
use model::video::VideoUnit;
use seed::Plan;
use sha2::{Digest, Sha256};
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use workflows::migrate_video::{MigrateVideo, MigrateVideoInput, VideoOutcome, VideoResult};
use workflows::retry::RetrySettings;

async fn migrate(client: &Client, task_queue: &str, input: MigrateVideoInput) -> Result<VideoResult, String> {
    let id = format!("test-migrate-video-{}", unique_tag("w"));
    let handle = client
        .start_workflow(MigrateVideo::run, serde_json::to_value(&input).unwrap(), WorkflowStartOptions::new(task_queue.to_string(), id).build())
        .await
        .unwrap();
    handle.get_result(WorkflowGetResultOptions::default()).await.map_err(|e| {
        let mut chain = vec![e.to_string()];
        let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(c) = cause {
            chain.push(c.to_string());
            cause = c.source();
        }
        chain.join(" <- ")
    })
}

fn fast_retries() -> RetrySettings {
    RetrySettings { initial_interval_ms: 100, maximum_attempts: 3, ..RetrySettings::default() }
}

fn input(unit: &VideoUnit) -> MigrateVideoInput {
    MigrateVideoInput { unit: unit.clone(), plan: None, dry_run: false, strict: false, retry: fast_retries(), run_number: 0 }
}

#[tokio::test]
async fn a_video_migrates_once_and_a_broken_one_fails_without_writing() {
    let (settings, _, manifest) = seed_isolated("mv", Plan { bulk_courses: 0, ..Plan::default() }).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let demo: CourseKey = manifest.courses.iter().find(|c| c.course_key.contains("DemoX")).unwrap().course_key.parse().unwrap();
    let broken: CourseKey = manifest.courses.iter().find(|c| c.course_key.contains("+BrokenX+")).unwrap().course_key.parse().unwrap();
    let known = course_units(&modulestore, &demo).await.into_iter().find(|u| u.usage_key.block_id == "lecture5_known_to_edxval").unwrap();
    let bad = course_units(&modulestore, &broken).await.into_iter().find(|u| u.usage_key.block_id == "unparsable_srt").unwrap();

    with_worker(&settings, |client, queue| async move {
        let before = bucket.list("video-transcripts/").await.unwrap();
        let first = migrate(&client, &queue, input(&known)).await.unwrap();
        assert_eq!(first.outcome, VideoOutcome::Migrated);
        let commit = first.commit.as_ref().unwrap();
        assert_eq!(commit.recorded.iter().collect::<Vec<_>>(), ["de"]);
        assert!(!commit.external_video_created);
        let (_, content) = edxval_read(bucket.bucket(), &commit.edx_video_id, "de").unwrap();
        assert_eq!(hex::encode(Sha256::digest(content.as_bytes())), first.plan.migrate["de"].sha256);
        let after_first = bucket.list("video-transcripts/").await.unwrap();
        assert_eq!(after_first.len(), before.len() + 1, "exactly one object for the one missing language");

        let second = migrate(&client, &queue, input(&known)).await.unwrap();
        assert_eq!(second.outcome, VideoOutcome::NothingToMigrate);
        assert_eq!(bucket.list("video-transcripts/").await.unwrap(), after_first, "a second run writes nothing");

        let failed = migrate(&client, &queue, input(&bad)).await.unwrap_err();
        for part in [broken.to_string(), bad.usage_key.to_string(), "language pt".into(), "broken_pt.srt".into(), "unparsable SRT".into()] {
            assert!(failed.contains(&part), "{failed:?} does not name {part:?}");
        }
        assert_eq!(bucket.list("video-transcripts/").await.unwrap(), after_first, "a failed video writes nothing");
    })
    .await;
    clean_up(&settings).await;
}

//! A failure injected at each step of a video's transaction leaves S3 and edx-val exactly as they
//! were before it; running the video again then completes. The faults come from activities of
//! this test, registered under the production names and built on the production steps.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use activities::steps::Stores;
use activities::steps::planned_reads::PlannedReads;
use activities::stores::contentstore::Contentstore;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use activities::temporal::MigrationActivities;
use integration_tests::{clean_up, course_units, seed_isolated, stack_client, unique_tag};
use model::CourseKey;
use model::contract::video::{CommitOutcome, CommitRequest, CompensateRequest, UploadRequest, Uploaded};
use model::plan::VideoPlan;
use model::video::VideoUnit;
use seed::Plan;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowStartOptions};
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::{ActivityContext, ActivityError, activities};
use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use workflows::migrate_video::{MigrateVideo, MigrateVideoInput, VideoOutcome, VideoResult};
use workflows::retry::RetrySettings;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    AfterFirstUpload,
    AfterAllUploads,
    InsideCommit,
    /// No failure: a user records the first planned language right after the diff.
    UserRowAfterDiff,
}

/// The object and row a user adds for `language` of the video while it is being migrated.
async fn user_adds_transcript(edxval: &AnyPool, bucket: &TranscriptBucket, edx_video_id: &str, language: &str) -> String {
    let key = format!("video-transcripts/{}.sjson", &hex::encode(Sha256::digest(format!("user {edx_video_id} {language}").as_bytes()))[..32]);
    bucket.put_if_absent(&key, br#"{"start": [0], "end": [1000], "text": ["by a user"]}"#.to_vec()).await.unwrap();
    let mut conn = edxval.acquire().await.unwrap();
    let video = activities::stores::edxval::video(&mut conn, edx_video_id).await.unwrap().expect("the video is known to edx-val");
    activities::stores::edxval::create_transcript(&mut conn, video.id, &activities::stores::edxval::VideoTranscript::custom_sjson(language, &key))
        .await
        .unwrap();
    key
}

pub struct FaultyActivities {
    fault: Fault,
    uploads: AtomicUsize,
    modulestore: Modulestore,
    contentstore: Contentstore,
    edxval: AnyPool,
    bucket: TranscriptBucket,
    reads: PlannedReads,
}

fn injected(step: &str) -> ActivityError {
    ActivityError::application(
        ApplicationFailure::builder(format!("fault injected {step}")).type_name("Injected".to_string()).non_retryable(true).build(),
    )
}

#[allow(dead_code)] // the macro also makes markers this test does not use
#[activities]
impl FaultyActivities {
    #[activity(name = "diff_video")]
    pub async fn diff(self: Arc<Self>, _ctx: ActivityContext, unit: VideoUnit) -> Result<VideoPlan, ActivityError> {
        let stores = Stores { modulestore: &self.modulestore, contentstore: &self.contentstore, edxval: &self.edxval, bucket: &self.bucket };
        let plan = activities::steps::diff::diff_video(&stores, &Default::default(), &unit, &self.reads).await.unwrap();
        if self.fault == Fault::UserRowAfterDiff {
            let language = plan.migrate.keys().next().expect("a language to migrate");
            user_adds_transcript(&self.edxval, &self.bucket, &plan.edx_video_id, language).await;
        }
        Ok(plan)
    }

    #[activity(name = "upload_transcript")]
    pub async fn upload(self: Arc<Self>, _ctx: ActivityContext, r: UploadRequest) -> Result<Uploaded, ActivityError> {
        if self.fault == Fault::AfterFirstUpload && self.uploads.load(Ordering::SeqCst) == 1 {
            return Err(injected("after the first upload"));
        }
        let uploaded =
            activities::steps::upload::upload_transcript(&self.contentstore, &self.bucket, &self.reads, &r.unit, &r.language, &r.planned, &r.key)
                .await
                .unwrap();
        self.uploads.fetch_add(1, Ordering::SeqCst);
        Ok(uploaded)
    }

    #[activity(name = "commit_video")]
    pub async fn commit(self: Arc<Self>, _ctx: ActivityContext, r: CommitRequest) -> Result<CommitOutcome, ActivityError> {
        match self.fault {
            Fault::AfterAllUploads => Err(injected("after all uploads")),
            Fault::InsideCommit => {
                // The transaction does its writes, then fails before it commits.
                let mut tx = activities::stores::edxval::begin_write(&self.edxval).await.unwrap();
                let id = match activities::stores::edxval::video(&mut tx, &r.edx_video_id).await.unwrap() {
                    Some(video) => video.id,
                    None => {
                        let video = activities::stores::edxval::NewVideo {
                            edx_video_id: &r.edx_video_id,
                            client_video_id: "external-video",
                            status: "external",
                            duration: 0.0,
                        };
                        activities::stores::edxval::create_video(&mut tx, &video).await.unwrap()
                    }
                };
                activities::stores::edxval::link_course_video(&mut tx, &r.usage_key.course, id).await.unwrap();
                for (language, key) in &r.transcripts {
                    let row = activities::stores::edxval::VideoTranscript::custom_sjson(language, key);
                    activities::stores::edxval::create_transcript(&mut tx, id, &row).await.unwrap();
                }
                drop(tx);
                Err(injected("inside the commit"))
            }
            Fault::AfterFirstUpload | Fault::UserRowAfterDiff => Ok(activities::steps::commit::commit_video(&self.edxval, &r).await.unwrap().0),
        }
    }

    #[activity(name = "compensate_delete")]
    pub async fn compensate(self: Arc<Self>, _ctx: ActivityContext, r: CompensateRequest) -> Result<Vec<String>, ActivityError> {
        Ok(activities::steps::compensate::compensate(&self.bucket, &self.edxval, &r.keys).await.unwrap())
    }
}

async fn run_video(client: &Client, options: WorkerOptions, task_queue: &str, unit: &VideoUnit) -> Result<VideoResult, String> {
    let runtime = Runtime::from_current_tokio(RuntimeOptions::default()).unwrap();
    let mut worker = Worker::new(&runtime, client.clone(), options).unwrap();
    let shutdown = worker.shutdown_handle();
    let input = MigrateVideoInput {
        unit: unit.clone(),
        plan: None,
        dry_run: false,
        strict: false,
        retry: RetrySettings { initial_interval_ms: 100, maximum_attempts: 3, ..RetrySettings::default() },
        run_number: 0,
    };
    let id = format!("test-fault-{}", unique_tag("w"));
    let (ran, result) = tokio::join!(worker.run(), async {
        let start = WorkflowStartOptions::new(task_queue.to_string(), id).build();
        let handle = client.start_workflow(MigrateVideo::run, serde_json::to_value(&input).unwrap(), start).await.unwrap();
        let result = handle.get_result(WorkflowGetResultOptions::default()).await.map_err(|e| format!("{e:?}"));
        shutdown();
        result
    });
    ran.unwrap();
    result
}

/// What this course has in edx-val: its linked videos and their transcripts' keys.
async fn edxval_state(edxval: &AnyPool, course_key: &str) -> (i64, BTreeSet<String>) {
    let (videos,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM edxval_coursevideo WHERE course_id = ?").bind(course_key).fetch_one(edxval).await.unwrap();
    let keys: Vec<(String,)> = sqlx::query_as(
        "SELECT t.transcript FROM edxval_videotranscript t JOIN edxval_coursevideo c ON c.video_id = t.video_id WHERE c.course_id = ?",
    )
    .bind(course_key)
    .fetch_all(edxval)
    .await
    .unwrap();
    (videos, keys.into_iter().map(|(k,)| k).collect())
}

struct DemoCourse {
    settings: activities::stores::settings::StoreSettings,
    modulestore: Modulestore,
    edxval: AnyPool,
    bucket: TranscriptBucket,
    course: String,
    units: Vec<VideoUnit>,
}

/// The showcase seeded for this test alone, and the videos of its split demo course.
async fn demo_course(test: &str) -> DemoCourse {
    let (settings, _, manifest) = seed_isolated(test, Plan { bulk_courses: 0, ..Plan::default() }).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let edxval = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    // The faulty activities commit without a course run, which creates the ledger otherwise.
    activities::stores::course_log::ensure_tables(&edxval).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let course = manifest.courses.iter().find(|c| c.course_key.contains("DemoX")).unwrap().course_key.clone();
    let units = course_units(&modulestore, &course.parse::<CourseKey>().unwrap()).await;
    DemoCourse { settings, modulestore, edxval, bucket, course, units }
}

#[tokio::test]
async fn every_injected_failure_rolls_back_and_the_rerun_completes() {
    let DemoCourse { settings, modulestore, edxval, bucket, course, units } = demo_course("faults").await;
    let client = stack_client().await;

    for (fault, block_id) in [
        (Fault::AfterFirstUpload, "lecture1_transcripts_only"),
        (Fault::AfterAllUploads, "lecture2_sub_and_transcripts"),
        (Fault::InsideCommit, "lecture7_draft_differs"),
    ] {
        let unit = units.iter().find(|u| u.usage_key.block_id == block_id).unwrap();
        let objects_before = bucket.list("").await.unwrap();
        let edxval_before = edxval_state(&edxval, &course).await;

        let queue = format!("test-{}", unique_tag("fq"));
        let faulty = FaultyActivities {
            fault,
            uploads: AtomicUsize::new(0),
            modulestore: modulestore.clone(),
            contentstore: Contentstore::connect(&settings.contentstore).await.unwrap(),
            edxval: edxval.clone(),
            bucket: bucket.clone(),
            reads: Default::default(),
        };
        let options = WorkerOptions::new(queue.clone()).register_workflow::<MigrateVideo>().unwrap().register_activities(faulty).build();
        let failed = run_video(&client, options, &queue, unit).await.unwrap_err();
        assert!(failed.contains("fault injected") && failed.contains("rolled back"), "{fault:?}: {failed}");
        assert_eq!(bucket.list("").await.unwrap(), objects_before, "{fault:?}: S3 is as before the transaction");
        assert_eq!(edxval_state(&edxval, &course).await, edxval_before, "{fault:?}: edx-val is as before the transaction");

        let queue = format!("test-{}", unique_tag("rq"));
        let real = MigrationActivities {
            modulestore: modulestore.clone(),
            contentstore: Contentstore::connect(&settings.contentstore).await.unwrap(),
            edxval: edxval.clone(),
            bucket: bucket.clone(),
            planned_reads: Default::default(),
            other_courses: Default::default(),
            tables: Default::default(),
            metrics: Default::default(),
        };
        let options = WorkerOptions::new(queue.clone()).register_workflow::<MigrateVideo>().unwrap().register_activities(real).build();
        let done = run_video(&client, options, &queue, unit).await.unwrap();
        assert_eq!(done.outcome, VideoOutcome::Migrated, "{fault:?}");
        let recorded = &done.commit.as_ref().unwrap().recorded;
        assert_eq!(recorded.len(), done.plan.migrate.len(), "{fault:?}: every language");
        let objects_after = bucket.list("").await.unwrap();
        assert_eq!(objects_after.len(), objects_before.len() + recorded.len(), "{fault:?}: one object per language, no orphans");
    }
    clean_up(&settings).await;
}

#[tokio::test]
async fn a_transcript_a_user_adds_between_diff_and_commit_is_kept_and_ours_is_removed() {
    let DemoCourse { settings, edxval, bucket, units, .. } = demo_course("userrow").await;
    let unit = units.iter().find(|u| u.usage_key.block_id == "lecture5_known_to_edxval").unwrap();
    let objects_before = bucket.list("").await.unwrap();

    let queue = format!("test-{}", unique_tag("uq"));
    let activities = FaultyActivities {
        fault: Fault::UserRowAfterDiff,
        uploads: AtomicUsize::new(0),
        modulestore: Modulestore::connect(&settings.modulestore).await.unwrap(),
        contentstore: Contentstore::connect(&settings.contentstore).await.unwrap(),
        edxval: edxval.clone(),
        bucket: bucket.clone(),
        reads: Default::default(),
    };
    let options = WorkerOptions::new(queue.clone()).register_workflow::<MigrateVideo>().unwrap().register_activities(activities).build();
    let done = run_video(&stack_client().await, options, &queue, unit).await.unwrap();

    assert_eq!(done.outcome, VideoOutcome::Migrated);
    let commit = done.commit.as_ref().unwrap();
    let language = done.plan.migrate.keys().next().unwrap().clone();
    assert_eq!(commit.kept_users.iter().collect::<Vec<_>>(), [&language], "the user's row wins");
    assert_eq!(done.compensated.len(), 1, "our object for that language is deleted again");
    let mut conn = edxval.acquire().await.unwrap();
    let video = activities::stores::edxval::video(&mut conn, &done.plan.edx_video_id).await.unwrap().unwrap();
    let user_key = activities::stores::edxval::transcripts(&mut conn, video.id).await.unwrap()[&language].transcript.clone();
    assert_ne!(user_key, done.compensated[0]);
    let after = bucket.list("").await.unwrap();
    let added: BTreeSet<&String> = after.iter().filter(|k| !objects_before.contains(k)).collect();
    assert!(added.contains(&user_key), "the user's object stays");
    assert!(!added.contains(&done.compensated[0]), "no orphan object of ours remains");
    assert_eq!(added.len(), 1 + commit.recorded.len(), "the user's object and one per language we recorded");
    clean_up(&settings).await;
}

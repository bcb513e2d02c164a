//! The steps of a video's transaction on the real stack: upload, commit, compensate-delete.

use std::collections::BTreeMap;

use activities::steps::Stores;
use activities::steps::commit::{CommitRequest, commit_video};
use activities::steps::compensate::compensate;
use activities::steps::diff::diff_video;
use activities::steps::planned_reads::PlannedReads;
use activities::steps::shared_videos::OtherCourses;
use activities::steps::upload::{UploadError, Uploaded, upload_transcript};
use activities::stores::contentstore::Contentstore;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::{PutOutcome, TranscriptBucket};
use integration_tests::{clean_up, course_units, edxval_read, seed_isolated};
use model::CourseKey;
use model::ids::{DEFAULT_DIRECTORY_PREFIX as P, transcript_key};
use model::video::VideoUnit;
use seed::Plan;
use sha2::{Digest, Sha256};

async fn unit(modulestore: &Modulestore, course: &CourseKey, block_id: &str) -> VideoUnit {
    course_units(modulestore, course).await.into_iter().find(|u| u.usage_key.block_id == block_id).unwrap()
}

#[tokio::test]
async fn upload_commit_and_compensate_keep_every_promise() {
    let (settings, _, manifest) = seed_isolated("saga", Plan { bulk_courses: 0, ..Plan::default() }).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let contentstore = Contentstore::connect(&settings.contentstore).await.unwrap();
    let edxval = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let stores = Stores { modulestore: &modulestore, contentstore: &contentstore, edxval: &edxval, bucket: &bucket };
    let demo = manifest.courses.iter().find(|c| c.course_key.contains("DemoX")).unwrap();
    let course: CourseKey = demo.course_key.parse().unwrap();
    let run_id = format!("run-{}", manifest.tag);
    let reads = PlannedReads::default();

    // A video without edx_video_id: upload each language, retry each upload, commit, retry.
    let video = unit(&modulestore, &course, "lecture1_transcripts_only").await;
    let usage_key = video.usage_key.clone();
    let plan = diff_video(&stores, &OtherCourses::default(), &video, &reads).await.unwrap();
    assert_eq!(plan.migrate.len(), 3);
    let mut keys = BTreeMap::new();
    for (language, planned) in &plan.migrate {
        let key = transcript_key(P, &run_id, &usage_key, language);
        // The first upload sends the bytes the diff kept, the retry reads the file again: the
        // same object either way.
        let kept = reads.take(&usage_key, language, &planned.sha256).expect("the diff kept the planned transcript");
        reads.keep(&usage_key, language, &planned.sha256, kept);
        assert_eq!(upload_transcript(&contentstore, &bucket, &reads, &video, language, planned, &key).await.unwrap(), Uploaded::Created);
        assert_eq!(reads.take(&usage_key, language, &planned.sha256), None, "the upload took the diff's bytes");
        assert_eq!(upload_transcript(&contentstore, &bucket, &reads, &video, language, planned, &key).await.unwrap(), Uploaded::AlreadyOurs);
        keys.insert(language.clone(), key);
    }
    activities::stores::course_log::ensure_tables(&edxval).await.unwrap();
    let request = CommitRequest {
        usage_key: usage_key.clone(),
        edx_video_id: plan.edx_video_id.clone(),
        transcripts: keys.clone(),
        sources: plan.migrate.clone(),
        run_number: 0,
    };
    let (first, created) = commit_video(&edxval, &request).await.unwrap();
    assert!(first.external_video_created);
    assert_eq!(first.recorded.len(), 3);
    let planned_bytes: u64 = plan.migrate.values().map(|t| t.size).sum();
    assert_eq!((created.transcripts, created.bytes), (3, planned_bytes), "what the metrics are told");
    let (retried, created_again) = commit_video(&edxval, &request).await.unwrap();
    assert!(!retried.external_video_created, "a retried commit reuses the video its first attempt created");
    assert_eq!(created_again.transcripts, 0, "a retried commit creates nothing");
    assert_eq!((retried.recorded, retried.kept_users.len()), (first.recorded.clone(), 0));
    for (language, planned) in &plan.migrate {
        let (file_name, content) = edxval_read(bucket.bucket(), &first.edx_video_id, language).expect("edx-val serves the transcript");
        assert_eq!(file_name, format!("external-video-{language}.sjson"));
        assert_eq!(hex::encode(Sha256::digest(content.as_bytes())), planned.sha256, "{language}");
    }
    let all_keys: Vec<String> = keys.values().cloned().collect();
    assert_eq!(compensate(&bucket, &edxval, &all_keys).await.unwrap(), Vec::<String>::new(), "referenced objects stay");

    // A key that holds someone else's object is never overwritten.
    let (language, planned) = plan.migrate.iter().next().unwrap();
    let foreign = transcript_key(P, &run_id, &course.usage_key("video", "someone else"), language);
    assert_eq!(bucket.put_if_absent(&foreign, b"{}".to_vec()).await.unwrap(), PutOutcome::Created);
    let conflict = upload_transcript(&contentstore, &bucket, &reads, &video, language, planned, &foreign).await.unwrap_err();
    assert!(matches!(conflict, UploadError::Conflict(_)) && !conflict.is_retryable(), "{conflict}");
    assert_eq!(bucket.get(&foreign).await.unwrap().as_deref(), Some(&b"{}"[..]));
    bucket.delete(&foreign).await.unwrap();

    // Keys of another shape than the migration's are neither written nor deleted, whatever the
    // steps' input says.
    let odd = "video-transcripts/course-v1:edX+DemoX+2018-de.sjson";
    let refused = upload_transcript(&contentstore, &bucket, &reads, &video, language, planned, odd).await.unwrap_err();
    assert!(matches!(refused, UploadError::Conflict(_)) && refused.to_string().contains("not a key the migration makes"), "{refused}");
    assert_eq!(bucket.get(odd).await.unwrap(), None);
    let users_unreferenced = "video-transcripts/a-users-own-object.sjson";
    bucket.put_if_absent(users_unreferenced, b"{}".to_vec()).await.unwrap();
    assert_eq!(compensate(&bucket, &edxval, &[users_unreferenced.to_string()]).await.unwrap(), Vec::<String>::new());
    assert_eq!(bucket.get(users_unreferenced).await.unwrap().as_deref(), Some(&b"{}"[..]), "left alone");
    bucket.delete(users_unreferenced).await.unwrap();

    // A transcript a user adds between diff and commit wins; compensation removes our object.
    let known = unit(&modulestore, &course, "lecture5_known_to_edxval").await;
    let known_key = known.usage_key.clone();
    let plan = diff_video(&stores, &OtherCourses::default(), &known, &reads).await.unwrap();
    assert_eq!(plan.migrate.keys().collect::<Vec<_>>(), ["de"]);
    let ours = transcript_key(P, &run_id, &known_key, "de");
    upload_transcript(&contentstore, &bucket, &reads, &known, "de", &plan.migrate["de"], &ours).await.unwrap();
    let users = format!("video-transcripts/{}.sjson", &transcript_key(P, &run_id, &course.usage_key("video", "user upload"), "de")[18..50]);
    {
        let mut conn = edxval.acquire().await.unwrap();
        let video = activities::stores::edxval::video(&mut conn, &plan.edx_video_id).await.unwrap().unwrap();
        let row = activities::stores::edxval::VideoTranscript::custom_sjson("de", &users);
        activities::stores::edxval::create_transcript(&mut conn, video.id, &row).await.unwrap();
    }
    let request = CommitRequest {
        usage_key: known_key.clone(),
        edx_video_id: plan.edx_video_id.clone(),
        transcripts: BTreeMap::from([("de".to_string(), ours.clone())]),
        sources: BTreeMap::new(),
        run_number: 0,
    };
    let (outcome, _) = commit_video(&edxval, &request).await.unwrap();
    assert_eq!((outcome.recorded.len(), outcome.kept_users.len(), outcome.external_video_created), (0, 1, false));
    assert_eq!(compensate(&bucket, &edxval, std::slice::from_ref(&ours)).await.unwrap(), vec![ours.clone()]);
    assert_eq!(bucket.get(&ours).await.unwrap(), None, "no orphan object remains");
    let mut conn = edxval.acquire().await.unwrap();
    let video = activities::stores::edxval::video(&mut conn, &plan.edx_video_id).await.unwrap().unwrap();
    assert_eq!(activities::stores::edxval::transcripts(&mut conn, video.id).await.unwrap()["de"].transcript, users, "the user's row stands");
    clean_up(&settings).await;
}

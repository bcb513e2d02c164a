//! The seeded data, read back through the project's readers, is exactly what the manifest lists.

use std::collections::BTreeMap;

use activities::formats::transcript_source::read_transcript;
use activities::stores::contentstore::Contentstore;
use activities::stores::modulestore::Modulestore;
use integration_tests::{clean_up, seed_isolated};
use model::{Branch, CourseKey};
use seed::Plan;
use seed::manifest::Read;

#[tokio::test]
async fn readers_find_every_video_language_and_transcript_of_the_manifest() {
    let plan = Plan { bulk_courses: 4, videos_per_course: 3, languages_per_video: 4, cues_per_transcript: 30, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("readers", plan).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let contentstore = Contentstore::connect(&settings.contentstore).await.unwrap();

    let listing = modulestore.course_keys().await.unwrap();
    let mut listed: Vec<String> = listing.courses.iter().map(ToString::to_string).collect();
    listed.sort();
    assert!(listing.invalid.is_empty(), "{:?}", listing.invalid);
    let expected: Vec<String> = {
        let mut keys: Vec<String> = manifest.courses.iter().map(|c| c.course_key.clone()).collect();
        keys.sort();
        keys
    };
    assert_eq!(listed, expected, "course listing covers both modulestore layouts");
    assert!(manifest.courses.iter().any(|c| c.modulestore == "old_mongo"));

    let mut checked = BTreeMap::<&str, usize>::new();
    for course in &manifest.courses {
        let key: CourseKey = course.course_key.parse().unwrap();
        for branch in Branch::ALL {
            let found = modulestore.video_blocks(&key, branch).await.unwrap();
            let orphans: Vec<String> = found.orphans.iter().map(ToString::to_string).collect();
            let blocks = found.videos;
            let found: Vec<String> = blocks.iter().map(|(usage_key, _)| usage_key.to_string()).collect();
            let in_branch = |orphan: bool| {
                let mut keys: Vec<String> =
                    course.videos.iter().filter(|v| v.branches.contains_key(&branch) && v.orphan == orphan).map(|v| v.usage_key.clone()).collect();
                keys.sort();
                keys
            };
            assert_eq!(found, in_branch(false), "{} {branch}: video blocks", course.course_key);
            assert_eq!(orphans, in_branch(true), "{} {branch}: orphans", course.course_key);

            for (usage_key, copy) in &blocks {
                let video = course.videos.iter().find(|v| v.usage_key == usage_key.to_string()).unwrap();
                let view = &video.branches[&branch];
                let languages = copy.fields.languages();
                if let Some(problem) = &view.problem {
                    assert!(languages.is_err(), "{} {branch}: expected {problem}", video.usage_key);
                    let error = read_transcript(&contentstore, usage_key, &copy.fields, "en").await.unwrap_err();
                    assert_eq!(error.problem.kind(), problem.as_str());
                    assert_names(&error.to_string(), &[&course.course_key, &video.usage_key]);
                    *checked.entry("video problems").or_default() += 1;
                    continue;
                }
                let languages: Vec<&String> = languages.as_ref().unwrap().iter().collect();
                let wanted_languages: Vec<&String> = view.languages.keys().collect();
                assert_eq!(languages, wanted_languages, "{} {branch}: languages", video.usage_key);

                for (language, read) in &view.languages {
                    let got = read_transcript(&contentstore, usage_key, &copy.fields, language).await;
                    match (read, got) {
                        (Read::Transcript { file, format, sha256, cues, sjson }, Ok(transcript)) => {
                            assert_eq!(&transcript.file, file, "{} {language}", video.usage_key);
                            assert_eq!(&transcript.format, format, "{} {language}", video.usage_key);
                            assert_eq!(&seed::dataset::sha256_hex(&transcript.sjson), sha256, "{} {language}", video.usage_key);
                            assert_eq!(transcript.cue_count, *cues);
                            let parsed: serde_json::Value = serde_json::from_slice(&transcript.sjson).unwrap();
                            assert_eq!(Some(&parsed), sjson.as_ref(), "{} {language}: SJSON content", video.usage_key);
                            *checked.entry("transcripts").or_default() += 1;
                        }
                        (Read::Error { kind, file }, Err(error)) => {
                            assert_eq!(error.problem.kind(), kind, "{error}");
                            assert_eq!(error.language.as_deref(), Some(language.as_str()));
                            let file = file.as_deref().expect("broken inputs name their file");
                            assert_names(&error.to_string(), &[&course.course_key, &video.usage_key, language, file]);
                            *checked.entry(kind).or_default() += 1;
                        }
                        (read, got) => panic!("{} {branch} {language}: expected {read:?}, got {got:?}", video.usage_key),
                    }
                }
            }
        }
    }
    for kind in
        ["transcripts", "missing", "empty", "unparsable_srt", "invalid_utf8", "too_large", "unparsable_sjson", "broken_file", "video problems"]
    {
        assert!(checked.get(kind).copied().unwrap_or(0) > 0, "no case of {kind} was checked: {checked:?}");
    }
    clean_up(&settings).await;
}

#[tokio::test]
async fn a_course_entry_with_an_invalid_key_is_reported_not_dropped() {
    let tag = integration_tests::unique_tag("badkey");
    let settings = integration_tests::isolated_settings(&tag);
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let index = bson::doc! { "org": "edX", "course": "Demo X", "run": "2018", "versions": { "draft-branch": bson::oid::ObjectId::new() } };
    modulestore.database().collection::<bson::Document>(activities::stores::modulestore::ACTIVE_VERSIONS).insert_one(index).await.unwrap();
    let listing = modulestore.course_keys().await.unwrap();
    assert!(listing.courses.is_empty());
    assert_eq!(listing.invalid.len(), 1);
    assert!(listing.invalid[0].to_string().contains("course-v1:edX+Demo X+2018"), "{}", listing.invalid[0]);
    clean_up(&settings).await;
}

fn assert_names(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{message:?} does not name {part:?}");
    }
}

#[tokio::test]
async fn draft_and_published_copies_are_read_from_their_own_branch() {
    let (settings, _, manifest) = seed_isolated("branches", Plan { bulk_courses: 0, ..Plan::default() }).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    for course in manifest.courses.iter().filter(|c| c.course_key.contains("DemoX") || c.course_key.contains("OldX")) {
        let key: CourseKey = course.course_key.parse().unwrap();
        let published = modulestore.video_blocks(&key, Branch::Published).await.unwrap().videos;
        let draft = modulestore.video_blocks(&key, Branch::Draft).await.unwrap().videos;
        let differs = |blocks: &[(model::UsageKey, model::video::VideoCopy)]| {
            blocks.iter().find(|(usage_key, _)| usage_key.block_id.contains("draft_differs")).unwrap().1.fields.languages().unwrap()
        };
        // The draft adds a language the published copy does not have yet.
        assert!(differs(&draft).len() > differs(&published).len(), "{}", course.course_key);
        assert!(draft.iter().any(|(usage_key, _)| usage_key.block_id.contains("draft_only")));
        assert!(!published.iter().any(|(usage_key, _)| usage_key.block_id.contains("draft_only")));
    }
    clean_up(&settings).await;
}

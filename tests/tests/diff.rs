//! The diff step plans every seeded video exactly as the manifest expects: which languages to
//! migrate and from which branch, which edx-val already has, which conflict, which fail.

use std::collections::{BTreeMap, BTreeSet};

use activities::steps::Stores;
use activities::steps::diff::diff_video;
use activities::steps::planned_reads::PlannedReads;
use activities::steps::shared_videos::OtherCourses;
use activities::stores::contentstore::Contentstore;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use integration_tests::{clean_up, course_units, seed_isolated};
use model::{Branch, CourseKey};
use seed::Plan;
use seed::manifest::Outcome;

#[tokio::test]
async fn the_diff_of_every_video_matches_the_manifest() {
    let (settings, _, manifest) = seed_isolated("diff", Plan { bulk_courses: 2, reruns: true, ..Plan::default() }).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let contentstore = Contentstore::connect(&settings.contentstore).await.unwrap();
    let edxval = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let stores = Stores { modulestore: &modulestore, contentstore: &contentstore, edxval: &edxval, bucket: &bucket };
    let mut outcomes = BTreeMap::<String, usize>::new();
    for course in &manifest.courses {
        let key: CourseKey = course.course_key.parse().unwrap();
        let units = course_units(&modulestore, &key).await;
        assert_eq!(units.len(), course.videos.iter().filter(|v| !v.orphan).count(), "{}: orphans are not units", course.course_key);
        for unit in &units {
            let usage_key = unit.usage_key.to_string();
            let expected = &course.videos.iter().find(|v| v.usage_key == usage_key).unwrap().expected;
            let plan = diff_video(&stores, &OtherCourses::default(), unit, &PlannedReads::default()).await.unwrap();
            *outcomes.entry(format!("{:?}", expected.outcome)).or_default() += 1;
            assert_eq!(plan.already_in_edxval, expected.already_in_edxval, "{usage_key}");
            let skipped: BTreeSet<String> = plan.skipped.iter().filter_map(|f| f.language.clone()).collect();
            assert_eq!(skipped, expected.skipped, "{usage_key}: languages without a source");
            match expected.outcome {
                Outcome::Orphan => panic!("{usage_key}: an orphan became a unit"),
                Outcome::Failed => {
                    let kind = &expected.failure.as_ref().unwrap().kind;
                    assert!(plan.migrate.is_empty(), "{usage_key}: all or nothing");
                    assert!(plan.failures.iter().any(|f| &f.kind == kind), "{usage_key}: expected {kind}, got {:?}", plan.failures);
                    for failure in &plan.failures {
                        assert!(failure.message.contains(&course.course_key) && failure.message.contains(&usage_key), "{}", failure.message);
                    }
                }
                Outcome::Migrated | Outcome::NothingToMigrate => {
                    assert_eq!(plan.failures, vec![], "{usage_key}");
                    let got: BTreeMap<&String, (Branch, &str, &str)> =
                        plan.migrate.iter().map(|(l, t)| (l, (t.branch, t.file.as_str(), t.sha256.as_str()))).collect();
                    let want: BTreeMap<&String, (Branch, &str, &str)> =
                        expected.migrate.iter().map(|(l, t)| (l, (t.from, t.file.as_str(), t.sha256.as_str()))).collect();
                    assert_eq!(got, want, "{usage_key}");
                    assert_eq!(plan.conflicts, expected.conflicts, "{usage_key}");
                }
            }
        }
    }
    for outcome in ["Migrated", "NothingToMigrate", "Failed"] {
        assert!(outcomes.get(outcome).copied().unwrap_or(0) > 0, "no {outcome} video checked: {outcomes:?}");
    }
    clean_up(&settings).await;
}

//! The page write-back on the real stack: the ids of a page's videos go into a split course in
//! one new structure version per branch, whatever the number of videos; an id an author set is
//! never replaced, and the rest of the page is written all the same. Studio's publish state is
//! kept (a block in sync stays in sync by `has_changes`'s rule), the SQL course index and its
//! MongoDB mirror name the same heads, and every move of a head has its history row.

use std::collections::BTreeSet;

use activities::steps::write_back::write_back_page;
use activities::stores::modulestore::{Modulestore, STRUCTURES};
use activities::stores::split_course_index::current_head;
use bson::{Document, doc};
use integration_tests::{clean_up, course_units, seed_isolated, split_in_sync};
use model::contract::course::{VideoWriteBack, WriteBackOutcome, WriteBackPage, WriteBackRequest};
use model::{Branch, CourseKey, UsageKey};
use seed::Plan;

fn request(usage_key: &UsageKey, edx_video_id: &str) -> WriteBackRequest {
    WriteBackRequest {
        usage_key: usage_key.clone(),
        edx_video_id: edx_video_id.into(),
        branches: Branch::ALL.into_iter().collect(),
        replaces: String::new(),
    }
}

fn done(field: fn(&mut WriteBackOutcome) -> &mut BTreeSet<Branch>) -> VideoWriteBack {
    let mut outcome = WriteBackOutcome::default();
    *field(&mut outcome) = Branch::ALL.into_iter().collect();
    VideoWriteBack::Done(outcome)
}

#[tokio::test]
async fn a_page_writes_one_structure_version_per_branch_and_keeps_authors_ids() {
    let plan = Plan { showcase: false, bulk_courses: 1, videos_per_course: 5, languages_per_video: 1, bulk_old_mongo: false, ..Plan::default() };
    let (settings, _, manifest) = seed_isolated("wb", plan).await;
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let sql = activities::stores::edxval::connect(&settings.edxval_database_url).await.unwrap();
    let course: CourseKey = manifest.courses[0].course_key.parse().unwrap();
    assert!(!course.old_style);
    let units = course_units(&modulestore, &course).await;
    assert!(units.iter().all(|u| u.copies.len() == 2 && u.copies.iter().all(|c| c.fields.edx_video_id.is_empty())), "the bulk videos have no id");
    let videos: Vec<UsageKey> = units.iter().map(|u| u.usage_key.clone()).collect();
    let structures = modulestore.database().collection::<Document>(STRUCTURES);
    let count = || async { structures.count_documents(doc! {}).await.unwrap() };
    let heads = || async {
        let mut heads = Vec::new();
        for branch in Branch::ALL {
            heads.push(current_head(&modulestore, &sql, &course, branch).await.unwrap().unwrap().0);
        }
        heads
    };
    let write = |requests: Vec<WriteBackRequest>| {
        let page = WriteBackPage { course_key: course.clone(), run_number: 0, videos: requests };
        let (modulestore, sql) = (&modulestore, &sql);
        async move { write_back_page(modulestore, sql, &page).await.unwrap() }
    };

    let history = || async {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM split_modulestore_django_historicalsplitmodulestorecourseindex WHERE course_id = ? AND history_type = '~'",
        )
        .bind(course.to_string())
        .fetch_one(&sql)
        .await
        .unwrap();
        n
    };
    let in_sync_before = split_in_sync(&modulestore, &sql, &course).await;
    assert!(in_sync_before.values().all(|in_sync| *in_sync), "the seeded blocks are published and in sync: {in_sync_before:?}");

    // Three videos: one new version per branch, each following the branch's head.
    let (structures_before, heads_before, history_before) = (count().await, heads().await, history().await);
    let first = write((0..3).map(|i| request(&videos[i], &format!("wb-id-{i}"))).collect()).await;
    assert_eq!(first, vec![done(|o| &mut o.written); 3]);
    assert_eq!(count().await, structures_before + 2, "one structure version per branch for the page");
    let heads_after = heads().await;
    for (before, after) in heads_before.iter().zip(&heads_after) {
        let version = structures.find_one(doc! { "_id": after }).await.unwrap().unwrap();
        assert_eq!(version.get_object_id("previous_version").unwrap(), *before);
    }

    // A page mixing a video already written, one whose id an author set, a block deleted
    // meanwhile and a new one.
    let mut ghost = videos[0].clone();
    ghost.block_id = "deleted_meanwhile".into();
    let second = write(vec![
        request(&videos[0], "wb-id-0"),
        request(&videos[1], "not-what-the-block-says"),
        request(&ghost, "wb-ghost"),
        request(&videos[3], "wb-id-3"),
    ])
    .await;
    assert_eq!(second[0], done(|o| &mut o.already));
    let VideoWriteBack::Conflict(why) = &second[1] else { panic!("an author's id is a conflict: {:?}", second[1]) };
    for part in [course.to_string(), videos[1].to_string(), "\"wb-id-1\"".into(), "not-what-the-block-says".into()] {
        assert!(why.contains(&part), "{why:?} does not name {part:?}");
    }
    assert_eq!(second[2], done(|o| &mut o.gone));
    assert_eq!(second[3], done(|o| &mut o.written));
    assert_eq!(count().await, structures_before + 4, "again one version per branch");

    // Nothing left to write: no version at all.
    let third = write(vec![request(&videos[0], "wb-id-0"), request(&videos[3], "wb-id-3")]).await;
    assert_eq!(third, vec![done(|o| &mut o.already); 2]);
    assert_eq!(count().await, structures_before + 4, "no version where nothing is written");

    assert_eq!(split_in_sync(&modulestore, &sql, &course).await, in_sync_before, "every block in sync before is in sync after");
    assert_eq!(history().await, history_before + 4, "a history row for each of the four head moves");
    let index = modulestore.database().collection::<Document>(activities::stores::modulestore::ACTIVE_VERSIONS);
    let mirror = index.find_one(doc! { "org": &course.org, "course": &course.course, "run": &course.run }).await.unwrap().unwrap();
    for (branch, head) in Branch::ALL.into_iter().zip(heads().await) {
        assert_eq!(mirror.get_document("versions").unwrap().get_object_id(branch.split_version_key()).unwrap(), head, "the MongoDB mirror, {branch}");
    }

    let ids: Vec<Vec<String>> =
        course_units(&modulestore, &course).await.iter().map(|u| u.copies.iter().map(|c| c.fields.edx_video_id.clone()).collect()).collect();
    let both = |id: &str| vec![id.to_string(); 2];
    assert_eq!(
        ids,
        vec![both("wb-id-0"), both("wb-id-1"), both("wb-id-2"), both("wb-id-3"), both("")],
        "the author's id stays; video 4 was never asked"
    );
    clean_up(&settings).await;
}

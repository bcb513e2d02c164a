//! Users at work while the migration runs: transcripts uploaded to edx-val and S3 (as Studio
//! does) for videos being migrated, and authors saving courses while the migration writes
//! `edx_video_id` back. What users create is theirs: the audit counts it as existing before, so
//! the migration must leave it as it is; an author's last save must be the course's head.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use activities::stores::edxval::{self, NewVideo, VideoTranscript};
use activities::stores::modulestore::{ACTIVE_VERSIONS, Modulestore, STRUCTURES};
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use activities::stores::split_course_index;
use anyhow::Context;
use bson::oid::ObjectId;
use bson::{Bson, Document, doc};
use model::{Branch, CourseKey};
use seed::Manifest;
use seed::manifest::Outcome;
use seed::rng::Rng;
use sha2::Digest;

use crate::invariants::Snapshot;

/// What the users did.
#[derive(Debug, Default)]
pub struct UserEdits {
    /// Transcripts recorded: ((`edx_video_id`, language), row) and the object's key and SHA-256.
    pub uploads: Vec<((String, String), VideoTranscript, String)>,
    /// Uploads given up because edx-val had the language already (the migration was first).
    pub too_late: usize,
    /// Uploads that failed or came too late: (`edx_video_id`, language, key, SHA-256). Their
    /// objects are removed at the end, unless the answer was lost and the row is there.
    leftovers: Vec<(String, String, String, String)>,
}

impl UserEdits {
    /// Cleans up after the failed uploads (now that the stores are back) and adds what the users
    /// created to `before`, as things the migration must not touch.
    pub async fn settle(mut self, settings: &StoreSettings, before: &mut Snapshot) -> Self {
        let bucket = TranscriptBucket::connect(&settings.s3).await;
        let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        for (edx_video_id, language, key, content) in std::mem::take(&mut self.leftovers) {
            let video = edxval::video(&mut conn, &edx_video_id).await.unwrap();
            let row = match video {
                Some(video) => edxval::transcripts(&mut conn, video.id).await.unwrap().remove(&language).filter(|row| row.transcript == key),
                None => None,
            };
            match row {
                Some(row) => self.uploads.push(((edx_video_id, language), row, content)),
                None => bucket.delete(&key).await.expect("removing a user's failed upload"),
            }
        }
        for ((edx_video_id, language), row, content) in &self.uploads {
            before.objects.insert(row.transcript.clone(), content.clone());
            before.rows.insert((edx_video_id.clone(), language.clone()), row.clone());
        }
        self
    }
}

/// Uploads a transcript for `language` of the video unless edx-val has one: `Ok(None)` then.
async fn upload(pool: &sqlx::AnyPool, course_key: &str, edx_video_id: &str, language: &str, key: &str) -> anyhow::Result<Option<VideoTranscript>> {
    let mut tx = edxval::begin_write(pool).await?;
    let video_id = match edxval::video(&mut tx, edx_video_id).await? {
        Some(video) => video.id,
        None => {
            let video = NewVideo { edx_video_id, client_video_id: "uploaded in Studio", status: "upload", duration: 0.0 };
            edxval::create_video(&mut tx, &video).await?
        }
    };
    if edxval::transcripts(&mut tx, video_id).await?.contains_key(language) {
        return Ok(None);
    }
    edxval::link_course_video(&mut tx, &course_key.parse()?, video_id).await?;
    let row = VideoTranscript::custom_sjson(language, key);
    edxval::create_transcript(&mut tx, video_id, &row).await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// Users uploading, every half second or so, a transcript for a language the migration is about to
/// write, of a video that has an `edx_video_id`, until `stop` is set.
pub async fn users_uploading(settings: StoreSettings, manifest: Manifest, seed: u64, stop: Arc<AtomicBool>) -> UserEdits {
    let pool = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let bucket = TranscriptBucket::connect(&settings.s3).await;
    let mut rng = Rng::new(seed ^ 0x5eed);
    let mut candidates: Vec<(String, String, String)> = manifest
        .courses
        .iter()
        .flat_map(|c| c.videos.iter().map(move |v| (c, v)))
        .filter(|(_, v)| v.expected.outcome == Outcome::Migrated && !v.edx_video_id.is_empty())
        .flat_map(|(c, v)| v.expected.migrate.keys().map(move |l| (c.course_key.clone(), v.edx_video_id.clone(), l.clone())))
        .collect();
    let mut edits = UserEdits::default();
    while !stop.load(Ordering::SeqCst) && !candidates.is_empty() {
        tokio::time::sleep(Duration::from_millis(rng.range(200, 1000))).await;
        let (course_key, edx_video_id, language) = candidates.swap_remove(rng.range(0, candidates.len() as u64) as usize);
        let content = format!(r#"{{"start": [0], "end": [1000], "text": ["{language}, uploaded by a user"]}}"#).into_bytes();
        let sha = hex::encode(sha2::Sha256::digest(&content));
        // Studio stores the file first, then records it.
        let key = format!("video-transcripts/{}.sjson", rng.hex32());
        let stored = bucket.put_as_edxval(&key, content).await.is_ok();
        match if stored { upload(&pool, &course_key, &edx_video_id, &language, &key).await } else { Ok(None) } {
            Ok(Some(row)) => edits.uploads.push(((edx_video_id, language), row, sha)),
            outcome => {
                edits.too_late += usize::from(stored && matches!(outcome, Ok(None)));
                edits.leftovers.push((edx_video_id, language, key, sha));
            }
        }
    }
    edits
}

/// The draft head of a split course as edx-platform reads it: the SQL course index where it has
/// a row, else `active_versions`.
pub async fn draft_head(modulestore: &Modulestore, sql: &sqlx::AnyPool, course: &CourseKey) -> anyhow::Result<ObjectId> {
    let head = split_course_index::current_head(modulestore, sql, course, Branch::Draft).await.map_err(anyhow::Error::msg)?;
    Ok(head.context("no draft head")?.0)
}

/// The course block's display name in the draft head.
pub async fn draft_display_name(modulestore: &Modulestore, sql: &sqlx::AnyPool, course: &CourseKey) -> anyhow::Result<String> {
    let head = draft_head(modulestore, sql, course).await?;
    let structure = modulestore.database().collection::<Document>(STRUCTURES).find_one(doc! { "_id": head }).await?.context("no head structure")?;
    let blocks = structure.get_array("blocks")?;
    let course_block = blocks.iter().filter_map(Bson::as_document).find(|b| b.get_str("block_type") == Ok("course")).context("no course block")?;
    Ok(course_block.get_document("fields")?.get_str("display_name")?.to_string())
}

/// An author saving the course in Studio: the draft head they opened, `editing` later saved as
/// a new structure version with the course's display name changed, and made the head the way
/// edx-platform does: unconditionally over whatever was saved in between (edx-platform checks
/// only `last_update`, which the migration leaves alone), in the SQL index and `active_versions`.
async fn author_saves(modulestore: &Modulestore, sql: &sqlx::AnyPool, course: &CourseKey, name: &str, editing: Duration) -> anyhow::Result<()> {
    let head = draft_head(modulestore, sql, course).await?;
    let structures = modulestore.database().collection::<Document>(STRUCTURES);
    let mut structure = structures.find_one(doc! { "_id": head }).await?.context("no head structure")?;
    tokio::time::sleep(editing).await;
    let blocks = structure.get_array_mut("blocks")?;
    let course_block =
        blocks.iter_mut().filter_map(Bson::as_document_mut).find(|b| b.get_str("block_type") == Ok("course")).context("no course block")?;
    course_block.get_document_mut("fields")?.insert("display_name", name);
    let version = ObjectId::new();
    let now = bson::DateTime::now();
    structure.insert("_id", version);
    structure.insert("previous_version", head);
    structure.insert("edited_on", now);
    structure.insert("edited_by", AUTHOR);
    structures.insert_one(&structure).await?;
    sqlx::query("UPDATE split_modulestore_django_splitmodulestorecourseindex SET draft_version = ?, last_update = ? WHERE course_id = ?")
        .bind(version.to_hex())
        .bind(edxval::utc_now())
        .bind(course.to_string())
        .execute(sql)
        .await?;
    let index = doc! { "org": &course.org, "course": &course.course, "run": &course.run };
    let moved = doc! { "$set": { format!("versions.{}", Branch::Draft.split_version_key()): version, "last_update": now } };
    modulestore.database().collection::<Document>(ACTIVE_VERSIONS).update_one(index, moved).await?;
    Ok(())
}

/// edx-platform user id of the author in these tests.
const AUTHOR: i32 = 7;

/// Authors saving `courses` in Studio, a save every half second or so, until `stop` is set:
/// each course's display name as its last save left it, and how many saves there were.
pub async fn authors_editing(
    settings: StoreSettings,
    courses: Vec<CourseKey>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> (BTreeMap<CourseKey, String>, usize) {
    let modulestore = Modulestore::connect(&settings.modulestore).await.unwrap();
    let sql = edxval::connect(&settings.edxval_database_url).await.unwrap();
    let mut rng = Rng::new(seed ^ 0xa07);
    let (mut last, mut saves) = (BTreeMap::new(), 0);
    while !stop.load(Ordering::SeqCst) && !courses.is_empty() {
        tokio::time::sleep(Duration::from_millis(rng.range(100, 800))).await;
        let course = rng.pick(&courses).clone();
        saves += 1;
        let name = format!("Course renamed by an author, save {saves}");
        // Studio answers a save with an error while edx-platform's database is down or locked
        // (the network scenario's SQL outage outlasts SQLite's busy timeout); the author saves
        // again until it goes through. A failed save leaves at most an unused structure.
        let editing = Duration::from_millis(rng.range(50, 500));
        let mut attempts = 0;
        while let Err(error) = author_saves(&modulestore, &sql, &course, &name, editing).await {
            attempts += 1;
            assert!(attempts < 120, "an author's save of {course} failed {attempts} times: {error:#}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        last.insert(course, name);
    }
    (last, saves)
}

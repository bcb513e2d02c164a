//! The write-back step: once edx-val holds a video's transcripts, the block's copies that have
//! no `edx_video_id` get the video's, the way edx-platform saves a block, so that the LMS finds
//! the transcripts. Only an empty `edx_video_id` is ever set; any other value is an author's
//! and stays.
//!
//! Split: a new structure version of the branch, then a compare-and-set of the branch head
//! (in the SQL course index where the installation has one, else in `active_versions`),
//! retried from the new head when an author saved meanwhile. Old Mongo: each revision document
//! of the block, set only where its `edx_video_id` is still the empty value that was read.

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use futures::TryStreamExt;
use sqlx::AnyPool;
use workflows::steps::{WriteBackOutcome, WriteBackRequest};
use workflows::{Branch, CourseKey, UsageKey};

use crate::modulestore::{ACTIVE_VERSIONS, Modulestore, OLD_MONGO, STRUCTURES};
use crate::split_course_index::{self, HeadIndex};

/// edx-platform's `ModuleStoreEnum.UserID.mgmt_command`: edits made by a management command.
pub const MIGRATION_USER: i32 = -1;

/// How often a split branch is retried when authors keep moving its head.
const SPLIT_ATTEMPTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum WriteBackError {
    /// A store could not be reached, or authors kept saving: worth retrying.
    #[error("{0}")]
    Store(String),
    /// The block names another video now: left as it is, the video fails.
    #[error("{0}")]
    Conflict(String),
}

fn store(usage_key: &UsageKey, e: impl std::fmt::Display) -> WriteBackError {
    WriteBackError::Store(format!("video {usage_key}: writing edx_video_id back: {e}"))
}

/// The value edx-platform reads: a missing or blank field is no id.
fn current_id(fields: &Document) -> String {
    fields.get_str("edx_video_id").map(str::trim).unwrap_or("").to_string()
}

#[derive(Clone, Copy)]
enum Found {
    Written,
    Already,
    Gone,
}

fn record(outcome: &mut WriteBackOutcome, branch: Branch, found: Found) {
    match found {
        Found::Written => outcome.written.insert(branch),
        Found::Already => outcome.already.insert(branch),
        Found::Gone => outcome.gone.insert(branch),
    };
}

pub async fn write_back(modulestore: &Modulestore, sql: &AnyPool, request: &WriteBackRequest) -> Result<WriteBackOutcome, WriteBackError> {
    let mut outcome = WriteBackOutcome::default();
    let course = &request.usage_key.course;
    if course.old_style {
        for (branch, found) in write_old_mongo(modulestore, request).await? {
            if request.branches.contains(&branch) {
                record(&mut outcome, branch, found);
            }
        }
    } else {
        for &branch in &request.branches {
            let found = write_split_branch(modulestore, sql, course, branch, request).await?;
            record(&mut outcome, branch, found);
        }
    }
    Ok(outcome)
}

fn conflict(request: &WriteBackRequest, branch: Branch, found: &str) -> WriteBackError {
    WriteBackError::Conflict(format!(
        "course {}, video {}: the {branch} copy names edx_video_id {found:?} now (an author set it since the diff); \
         {} was not written there, and the transcripts recorded under it are not what the block shows",
        request.usage_key.course, request.usage_key, request.edx_video_id
    ))
}

async fn write_split_branch(
    modulestore: &Modulestore,
    sql: &AnyPool,
    course: &CourseKey,
    branch: Branch,
    request: &WriteBackRequest,
) -> Result<Found, WriteBackError> {
    let usage_key = &request.usage_key;
    let database = modulestore.database();
    let structures = database.collection::<Document>(STRUCTURES);
    let index_filter = doc! { "org": &course.org, "course": &course.course, "run": &course.run };
    for _ in 0..SPLIT_ATTEMPTS {
        let current = split_course_index::current_head(modulestore, sql, course, branch).await.map_err(|e| store(usage_key, e))?;
        let Some((head, index)) = current else {
            return Ok(Found::Gone);
        };
        modulestore.read_slot().await;
        let Some(mut structure) = structures.find_one(doc! { "_id": head }).await.map_err(|e| store(usage_key, e))? else {
            return Err(store(usage_key, format!("the {branch} head {head} of {course} has no structure document")));
        };
        let new_version = ObjectId::new();
        let now = DateTime::now();
        let Some(blocks) = structure.get_array_mut("blocks").ok() else {
            return Ok(Found::Gone);
        };
        let Some(block) = blocks
            .iter_mut()
            .filter_map(Bson::as_document_mut)
            .find(|b| b.get_str("block_type") == Ok("video") && b.get_str("block_id") == Ok(usage_key.block_id.as_str()))
        else {
            return Ok(Found::Gone);
        };
        if !block.contains_key("fields") {
            block.insert("fields", Document::new());
        }
        let fields = block.get_document_mut("fields").map_err(|e| store(usage_key, e))?;
        match current_id(fields) {
            id if id == request.edx_video_id => return Ok(Found::Already),
            id if !id.is_empty() => return Err(conflict(request, branch, &id)),
            _ => {}
        }
        fields.insert("edx_video_id", request.edx_video_id.as_str());
        let mut edit_info = block.get_document("edit_info").cloned().unwrap_or_default();
        let previous = edit_info.get("update_version").cloned().unwrap_or(Bson::Null);
        edit_info.insert("previous_version", previous);
        edit_info.insert("update_version", new_version);
        edit_info.insert("source_version", Bson::Null);
        edit_info.insert("edited_on", now);
        edit_info.insert("edited_by", MIGRATION_USER);
        block.insert("edit_info", edit_info);
        structure.insert("_id", new_version);
        structure.insert("previous_version", head);
        structure.insert("edited_on", now);
        structure.insert("edited_by", MIGRATION_USER);
        structures.insert_one(&structure).await.map_err(|e| store(usage_key, e))?;

        let version_key = format!("versions.{}", branch.split_version_key());
        let moved = match index {
            HeadIndex::Sql => {
                let moved = split_course_index::compare_and_set_head(sql, course, branch, &head.to_hex(), &new_version.to_hex())
                    .await
                    .map_err(|e| store(usage_key, e))?;
                if moved {
                    // edx-platform keeps MongoDB's index in step with the SQL one.
                    database
                        .collection::<Document>(ACTIVE_VERSIONS)
                        .update_one(index_filter.clone(), doc! { "$set": { &version_key: new_version } })
                        .await
                        .map_err(|e| store(usage_key, e))?;
                }
                moved
            }
            HeadIndex::Mongo => {
                let mut filter = index_filter.clone();
                filter.insert(&version_key, head);
                let updated = database
                    .collection::<Document>(ACTIVE_VERSIONS)
                    .update_one(filter, doc! { "$set": { &version_key: new_version } })
                    .await
                    .map_err(|e| store(usage_key, e))?;
                updated.modified_count == 1
            }
        };
        if moved {
            return Ok(Found::Written);
        }
        // An author saved first: our version is unreferenced; drop it and start from theirs.
        structures.delete_one(doc! { "_id": new_version }).await.map_err(|e| store(usage_key, e))?;
    }
    Err(store(usage_key, format!("the {branch} head of {course} kept moving; {SPLIT_ATTEMPTS} attempts")))
}

/// Sets the id in each revision document of the block whose id is empty; returns what each
/// branch shows afterwards (the draft branch shows the draft document where there is one).
async fn write_old_mongo(modulestore: &Modulestore, request: &WriteBackRequest) -> Result<Vec<(Branch, Found)>, WriteBackError> {
    let usage_key = &request.usage_key;
    let course = &usage_key.course;
    let collection = modulestore.database().collection::<Document>(OLD_MONGO);
    let filter = doc! {
        "_id.tag": "i4x", "_id.org": &course.org, "_id.course": &course.course,
        "_id.category": "video", "_id.name": &usage_key.block_id,
    };
    modulestore.read_slot().await;
    let documents: Vec<Document> = collection
        .find(filter)
        .projection(doc! { "_id": 1, "metadata.edx_video_id": 1 })
        .await
        .map_err(|e| store(usage_key, e))?
        .try_collect()
        .await
        .map_err(|e| store(usage_key, e))?;
    let (mut published, mut draft) = (None, None);
    for document in documents {
        let Ok(id) = document.get_document("_id") else {
            continue;
        };
        let is_draft = id.get_str("revision") == Ok("draft");
        let empty = Document::new();
        let metadata = document.get_document("metadata").unwrap_or(&empty);
        let found = match current_id(metadata) {
            value if value == request.edx_video_id => Found::Already,
            value if !value.is_empty() => {
                let branch = if is_draft { Branch::Draft } else { Branch::Published };
                return Err(conflict(request, branch, &value));
            }
            _ => {
                // Only where the field still holds what was just read.
                let mut guard = doc! { "_id": id.clone() };
                match metadata.get("edx_video_id") {
                    Some(value) => guard.insert("metadata.edx_video_id", value.clone()),
                    None => guard.insert("metadata.edx_video_id", doc! { "$exists": false }),
                };
                let set = doc! { "$set": {
                    "metadata.edx_video_id": &request.edx_video_id,
                    "edit_info.edited_on": DateTime::now(), "edit_info.edited_by": MIGRATION_USER,
                } };
                let updated = collection.update_one(guard, set).await.map_err(|e| store(usage_key, e))?;
                if updated.modified_count != 1 {
                    return Err(store(usage_key, "an author saved the block meanwhile; retrying"));
                }
                Found::Written
            }
        };
        if is_draft {
            draft = Some(found);
        } else {
            published = Some(found);
        }
    }
    let draft_view = draft.or(published).unwrap_or(Found::Gone);
    Ok(vec![(Branch::Published, published.unwrap_or(Found::Gone)), (Branch::Draft, draft_view)])
}

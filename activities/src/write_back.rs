//! The write-back step: once edx-val holds a video's transcripts, the block's copies that have
//! no `edx_video_id` get the video's, the way edx-platform saves a block, so that the LMS finds
//! the transcripts. Only an empty `edx_video_id` is ever set; any other value is an author's
//! and stays.
//!
//! Split: a new structure version of the branch, then a compare-and-set of the branch head
//! (in the SQL course index where the installation has one, else in `active_versions`),
//! retried from the new head when an author saved meanwhile. Old Mongo: each revision document
//! of the block, set only where its `edx_video_id` is still the empty value that was read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, doc};
use futures::TryStreamExt;
use sqlx::AnyPool;
use tokio::sync::oneshot;
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

pub async fn write_back(
    modulestore: &Modulestore,
    sql: &AnyPool,
    split_writes: &SplitWrites,
    request: &WriteBackRequest,
) -> Result<WriteBackOutcome, WriteBackError> {
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
            match split_writes.write(modulestore, sql, &request.usage_key, branch, &request.edx_video_id).await {
                Ok(Ok(found)) => record(&mut outcome, branch, found),
                Ok(Err(named)) => return Err(conflict(request, branch, &named)),
                Err(e) => return Err(store(&request.usage_key, e)),
            }
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

/// A split branch's write of one video, as the batch that carries it ended: what the block
/// showed, or the `edx_video_id` an author gave it meanwhile.
type BlockWrite = Result<Found, String>;

struct Pending {
    block_id: String,
    edx_video_id: String,
    done: oneshot::Sender<Result<BlockWrite, String>>,
}

#[derive(Default)]
struct BranchQueue {
    pending: Mutex<Vec<Pending>>,
    writer: tokio::sync::Mutex<()>,
}

/// The writes into split branches, grouped per course branch: the videos of a branch whose
/// write-backs meet in this worker go into one new structure version. A structure holds the
/// whole course, so one version per video would copy it once per video (quadratic in the
/// course's size), and the videos would race each other for the branch head. Writes in other
/// workers still meet at the head's compare-and-set.
#[derive(Default)]
pub struct SplitWrites {
    branches: Mutex<HashMap<(CourseKey, Branch), Arc<BranchQueue>>>,
}

impl SplitWrites {
    async fn write(
        &self,
        modulestore: &Modulestore,
        sql: &AnyPool,
        usage_key: &UsageKey,
        branch: Branch,
        edx_video_id: &str,
    ) -> Result<BlockWrite, String> {
        let course = &usage_key.course;
        let queue = self.branches.lock().unwrap().entry((course.clone(), branch)).or_default().clone();
        let (done, written) = oneshot::channel();
        queue.pending.lock().unwrap().push(Pending { block_id: usage_key.block_id.clone(), edx_video_id: edx_video_id.into(), done });
        {
            // Whoever holds the writer takes every write waiting by then, its own or others'.
            let _writer = queue.writer.lock().await;
            let batch = std::mem::take(&mut *queue.pending.lock().unwrap());
            if !batch.is_empty() {
                let writes: Vec<(&str, &str)> = batch.iter().map(|p| (p.block_id.as_str(), p.edx_video_id.as_str())).collect();
                match write_split_blocks(modulestore, sql, course, branch, &writes).await {
                    Ok(results) => batch.into_iter().zip(results).for_each(|(p, r)| drop(p.done.send(Ok(r)))),
                    Err(e) => batch.into_iter().for_each(|p| drop(p.done.send(Err(e.clone())))),
                }
            }
        }
        {
            let mut branches = self.branches.lock().unwrap();
            // Only the map and this call hold the queue, and nothing waits in it: forget the branch.
            if Arc::strong_count(&queue) == 2 && queue.pending.lock().unwrap().is_empty() {
                branches.remove(&(course.clone(), branch));
            }
        }
        written.await.unwrap_or_else(|_| Err("the batch that carried this write was interrupted".into()))
    }
}

/// Writes each `(block_id, edx_video_id)` into the branch's video blocks that have no id, in one
/// new structure version; returns what each block showed.
async fn write_split_blocks(
    modulestore: &Modulestore,
    sql: &AnyPool,
    course: &CourseKey,
    branch: Branch,
    writes: &[(&str, &str)],
) -> Result<Vec<BlockWrite>, String> {
    let database = modulestore.database();
    let structures = database.collection::<Document>(STRUCTURES);
    let index_filter = doc! { "org": &course.org, "course": &course.course, "run": &course.run };
    for _ in 0..SPLIT_ATTEMPTS {
        let current = split_course_index::current_head(modulestore, sql, course, branch).await.map_err(|e| e.to_string())?;
        let Some((head, index)) = current else {
            return Ok(writes.iter().map(|_| Ok(Found::Gone)).collect());
        };
        modulestore.read_slot().await;
        let Some(mut structure) = structures.find_one(doc! { "_id": head }).await.map_err(|e| e.to_string())? else {
            return Err(format!("the {branch} head {head} of {course} has no structure document"));
        };
        let new_version = ObjectId::new();
        let now = DateTime::now();
        let mut results = Vec::with_capacity(writes.len());
        let Ok(blocks) = structure.get_array_mut("blocks") else {
            return Ok(writes.iter().map(|_| Ok(Found::Gone)).collect());
        };
        let position: HashMap<String, usize> = blocks
            .iter()
            .enumerate()
            .filter_map(|(i, block)| {
                let block = block.as_document().filter(|b| b.get_str("block_type") == Ok("video"))?;
                let id = block.get_str("block_id").ok().filter(|id| writes.iter().any(|(w, _)| w == id))?;
                Some((id.to_string(), i))
            })
            .collect();
        for &(block_id, edx_video_id) in writes {
            let Some(block) = position.get(block_id).and_then(|&i| blocks[i].as_document_mut()) else {
                results.push(Ok(Found::Gone));
                continue;
            };
            if !block.contains_key("fields") {
                block.insert("fields", Document::new());
            }
            let fields = block.get_document_mut("fields").map_err(|e| e.to_string())?;
            match current_id(fields) {
                id if id == edx_video_id => results.push(Ok(Found::Already)),
                id if !id.is_empty() => results.push(Err(id)),
                _ => {
                    fields.insert("edx_video_id", edx_video_id);
                    let mut edit_info = block.get_document("edit_info").cloned().unwrap_or_default();
                    let previous = edit_info.get("update_version").cloned().unwrap_or(Bson::Null);
                    edit_info.insert("previous_version", previous);
                    edit_info.insert("update_version", new_version);
                    edit_info.insert("source_version", Bson::Null);
                    edit_info.insert("edited_on", now);
                    edit_info.insert("edited_by", MIGRATION_USER);
                    block.insert("edit_info", edit_info);
                    results.push(Ok(Found::Written));
                }
            }
        }
        if !results.iter().any(|r| matches!(r, Ok(Found::Written))) {
            return Ok(results);
        }
        structure.insert("_id", new_version);
        structure.insert("previous_version", head);
        structure.insert("edited_on", now);
        structure.insert("edited_by", MIGRATION_USER);
        structures.insert_one(&structure).await.map_err(|e| e.to_string())?;

        let version_key = format!("versions.{}", branch.split_version_key());
        let moved = match index {
            HeadIndex::Sql => {
                let moved = split_course_index::compare_and_set_head(sql, course, branch, &head.to_hex(), &new_version.to_hex())
                    .await
                    .map_err(|e| e.to_string())?;
                if moved {
                    // edx-platform keeps MongoDB's index in step with the SQL one.
                    database
                        .collection::<Document>(ACTIVE_VERSIONS)
                        .update_one(index_filter.clone(), doc! { "$set": { &version_key: new_version } })
                        .await
                        .map_err(|e| e.to_string())?;
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
                    .map_err(|e| e.to_string())?;
                updated.modified_count == 1
            }
        };
        if moved {
            return Ok(results);
        }
        // An author saved first: our version is unreferenced; drop it and start from theirs.
        structures.delete_one(doc! { "_id": new_version }).await.map_err(|e| e.to_string())?;
    }
    Err(format!("the {branch} head of {course} kept moving; {SPLIT_ATTEMPTS} attempts"))
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

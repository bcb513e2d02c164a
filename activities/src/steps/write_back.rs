//! The write-back step: once edx-val holds a video's transcripts, the block's copies that have
//! no `edx_video_id` get the video's, the way edx-platform saves a block, so that the LMS finds
//! the transcripts. Only an empty `edx_video_id` is ever set; any other value is an author's
//! and stays. The course run writes back once per page of videos, after their transactions:
//! a split structure version holds the whole course, so one version per video would copy the
//! course once per video.
//!
//! Split: a new structure version of the branch, then a compare-and-set of the branch head
//! (in the SQL course index where the installation has one, with its history row, and its
//! mirror in `active_versions`, else in `active_versions` alone), retried from the new head
//! when an author saved meanwhile. The draft branch is written first; a published block that
//! was in sync with its draft gets the draft's new version as its `source_version`, as split's
//! publish sets it, so that Studio's "unpublished changes" (`split_draft.has_changes`) stays
//! as it was. Old Mongo: the revision documents of the branches asked for (the draft branch's
//! is the draft document, where there is one), set only where `edx_video_id` is still the
//! empty value that was read.

use std::collections::BTreeMap;

use bson::oid::ObjectId;
use bson::{Bson, DateTime, Document, RawArrayBuf, RawDocument, RawDocumentBuf, doc};
use futures::TryStreamExt;
use model::contract::course::{VideoWriteBack, WRITE_BACK_CHUNK, WriteBackOutcome, WriteBackPage, WriteBackRequest};
use model::{Branch, CourseKey, UsageKey};
use sqlx::AnyPool;

use crate::stores::edxval;
use crate::stores::ledger::{self, Entry};
use crate::stores::modulestore::{ACTIVE_VERSIONS, Modulestore, OLD_MONGO, STRUCTURES};
use crate::stores::split_course_index::{self, HeadIndex};

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

#[derive(Debug, Clone, Copy)]
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

/// The write-backs of a whole course outside a run's pages (a cut-over, a rollback's undo), in
/// pages of `WRITE_BACK_CHUNK`; the answers are in the order of `videos`.
pub async fn write_back_all(
    modulestore: &Modulestore,
    sql: &AnyPool,
    course: &CourseKey,
    run_number: u32,
    videos: &[WriteBackRequest],
) -> Result<Vec<VideoWriteBack>, WriteBackError> {
    let mut answers = Vec::with_capacity(videos.len());
    for chunk in videos.chunks(WRITE_BACK_CHUNK) {
        let page = WriteBackPage { course_key: course.clone(), run_number, videos: chunk.to_vec() };
        answers.extend(write_back_page(modulestore, sql, &page).await?);
    }
    Ok(answers)
}

/// The write-backs of one page of a course's videos. Each split branch gets one new structure
/// version for all of them: a version is a copy of the whole course. Old Mongo writes each
/// video's revision documents. A video whose block names another video now is a `Conflict`
/// and the others go on; a store that fails fails the page, to be retried whole.
pub async fn write_back_page(modulestore: &Modulestore, sql: &AnyPool, page: &WriteBackPage) -> Result<Vec<VideoWriteBack>, WriteBackError> {
    let course = &page.course_key;
    record_in_ledger(sql, page).await.map_err(|e| WriteBackError::Store(format!("course {course}: recording the write-backs in the ledger: {e}")))?;
    let answer = |outcome: Result<WriteBackOutcome, WriteBackError>| match outcome {
        Ok(outcome) => Ok(VideoWriteBack::Done(outcome)),
        Err(WriteBackError::Conflict(why)) => Ok(VideoWriteBack::Conflict(why)),
        Err(store) => Err(store),
    };
    if course.old_style {
        let mut answers = Vec::with_capacity(page.videos.len());
        for request in &page.videos {
            answers.push(answer(write_old_mongo_video(modulestore, request).await)?);
        }
        return Ok(answers);
    }
    let mut outcomes: Vec<Result<WriteBackOutcome, WriteBackError>> = page.videos.iter().map(|_| Ok(WriteBackOutcome::default())).collect();
    // The draft blocks' versions, before and after the draft branch's write, by block id.
    let mut drafts = BTreeMap::new();
    for branch in Branch::ALL {
        // A video that conflicted in one branch is not written into the other, as alone.
        let writers: Vec<usize> = (0..page.videos.len()).filter(|&i| page.videos[i].branches.contains(&branch) && outcomes[i].is_ok()).collect();
        if writers.is_empty() {
            continue;
        }
        let writes: Vec<BlockEdit> = writers.iter().map(|&i| BlockEdit::of(&page.videos[i])).collect();
        let failed =
            |e: String| WriteBackError::Store(format!("course {course}: writing {} edx_video_ids back into the {branch} branch: {e}", writes.len()));
        if branch == Branch::Published {
            let unseen: Vec<&str> = writes.iter().map(|w| w.block_id).filter(|id| !drafts.contains_key(*id)).collect();
            if !unseen.is_empty() {
                drafts.extend(draft_versions(modulestore, sql, course, &unseen).await.map_err(failed)?);
            }
        }
        let (found, seen) = write_split_blocks(modulestore, sql, course, branch, &writes, &drafts).await.map_err(failed)?;
        drafts.extend(seen);
        for (i, found) in writers.into_iter().zip(found) {
            match (found, &mut outcomes[i]) {
                (Ok(found), Ok(outcome)) => record(outcome, branch, found),
                (Err(named), outcome) => *outcome = Err(WriteBackError::Conflict(conflict(&page.videos[i], branch, &named))),
                (Ok(_), Err(_)) => {}
            }
        }
    }
    outcomes.into_iter().map(answer).collect()
}

/// The ledger learns of a write-back before it is made: a rollback finds the blocks that still
/// hold the id, and one whose write never happened holds none.
async fn record_in_ledger(sql: &AnyPool, page: &WriteBackPage) -> Result<(), sqlx::Error> {
    let writes: Vec<Entry> = page
        .videos
        .iter()
        .filter(|request| request.replaces.is_empty())
        .flat_map(|request| {
            request.branches.iter().map(|branch| Entry {
                usage_key: request.usage_key.to_string(),
                branch: branch.to_string(),
                edx_video_id: request.edx_video_id.clone(),
                ..Entry::new(&page.course_key, page.run_number, ledger::WRITE_BACK)
            })
        })
        .collect();
    if writes.is_empty() {
        return Ok(());
    }
    let mut tx = edxval::begin_write(sql).await?;
    for entry in &writes {
        ledger::record(&mut tx, entry).await?;
    }
    tx.commit().await
}

fn conflict(request: &WriteBackRequest, branch: Branch, found: &str) -> String {
    format!(
        "course {}, video {}: the {branch} copy names edx_video_id {found:?} now (an author set it since the diff); \
         {} was not written there, and the transcripts recorded under it are not what the block shows",
        request.usage_key.course, request.usage_key, request.edx_video_id
    )
}

/// A split branch's write of one video: what the block showed, or the `edx_video_id` an author
/// gave it meanwhile.
type BlockWrite = Result<Found, String>;

/// One video block's edit: its `edx_video_id` goes `from` one value `to` another (a write-back
/// goes from none to the video's; a rollback, back).
#[derive(Debug, Clone, Copy)]
struct BlockEdit<'a> {
    block_id: &'a str,
    from: &'a str,
    to: &'a str,
}

impl<'a> BlockEdit<'a> {
    fn of(request: &'a WriteBackRequest) -> Self {
        Self { block_id: &request.usage_key.block_id, from: &request.replaces, to: &request.edx_video_id }
    }
}

/// A draft block's version as `has_changes` reads it (`source_version`, else `update_version`)
/// now, and the versions it had before the migration wrote it: a published block at one of
/// those was in sync with it.
#[derive(Debug, Clone, PartialEq)]
struct DraftVersion {
    now: Bson,
    before: Vec<Bson>,
}

/// `split_draft._get_version`.
fn version_of(edit_info: &Document) -> Bson {
    match edit_info.get("source_version") {
        Some(source) if *source != Bson::Null => source.clone(),
        _ => edit_info.get("update_version").cloned().unwrap_or(Bson::Null),
    }
}

/// The draft versions of the video blocks `block_ids`, as the draft head shows them.
async fn draft_versions(
    modulestore: &Modulestore,
    sql: &AnyPool,
    course: &CourseKey,
    block_ids: &[&str],
) -> Result<BTreeMap<String, DraftVersion>, String> {
    let Some((head, _)) = split_course_index::current_head(modulestore, sql, course, Branch::Draft).await? else {
        return Ok(BTreeMap::new());
    };
    modulestore.read_slot().await;
    let structures = modulestore.database().collection::<RawDocumentBuf>(STRUCTURES);
    let Some(structure) = structures.find_one(doc! { "_id": head }).projection(doc! { "blocks": 1 }).await.map_err(|e| e.to_string())? else {
        return Ok(BTreeMap::new());
    };
    let mut found = BTreeMap::new();
    let Ok(blocks) = structure.get_array("blocks") else { return Ok(found) };
    for block in blocks {
        let Some(block) = block.map_err(|e| e.to_string())?.as_document() else { continue };
        let Some(block_id) = block.get_str("block_id").ok().filter(|id| block.get_str("block_type") == Ok("video") && block_ids.contains(id)) else {
            continue;
        };
        let decoded = Document::try_from(block).map_err(|e| e.to_string())?;
        found.insert(block_id.to_string(), unwritten_draft(&decoded));
    }
    Ok(found)
}

/// The version of a draft block this write leaves as it is. A block the migration wrote
/// earlier (an attempt that then failed) was in sync at the version before that write.
fn unwritten_draft(block: &Document) -> DraftVersion {
    let edit_info = block.get_document("edit_info").cloned().unwrap_or_default();
    let now = version_of(&edit_info);
    let mut before = vec![now.clone()];
    if edit_info.get_i32("edited_by").ok() == Some(MIGRATION_USER)
        && let Some(previous) = edit_info.get("previous_version").filter(|v| **v != Bson::Null)
    {
        before.push(previous.clone());
    }
    DraftVersion { now, before }
}

/// Makes each edit in the branch's video blocks that show its `from`, in one
/// new structure version; returns what each block showed and, in the draft branch, each
/// block's versions (see `DraftVersion`). A published block takes its `source_version` from
/// `drafts`.
async fn write_split_blocks(
    modulestore: &Modulestore,
    sql: &AnyPool,
    course: &CourseKey,
    branch: Branch,
    writes: &[BlockEdit<'_>],
    drafts: &BTreeMap<String, DraftVersion>,
) -> Result<(Vec<BlockWrite>, BTreeMap<String, DraftVersion>), String> {
    let database = modulestore.database();
    let structures = database.collection::<RawDocumentBuf>(STRUCTURES);
    let index_filter = doc! { "org": &course.org, "course": &course.course, "run": &course.run };
    for _ in 0..SPLIT_ATTEMPTS {
        let current = split_course_index::current_head(modulestore, sql, course, branch).await.map_err(|e| e.to_string())?;
        let Some((head, index)) = current else {
            return Ok((writes.iter().map(|_| Ok(Found::Gone)).collect(), BTreeMap::new()));
        };
        modulestore.read_slot().await;
        let Some(structure) = structures.find_one(doc! { "_id": head }).await.map_err(|e| e.to_string())? else {
            return Err(format!("the {branch} head {head} of {course} has no structure document"));
        };
        let new_version = ObjectId::new();
        let edits = Edits { branch, new_version, drafts };
        let (next, results, seen) =
            next_structure(&structure, head, &edits, writes).map_err(|e| format!("the {branch} head {head} of {course}: {e}"))?;
        // Megabytes for a big course: neither is held across the round trips that follow.
        drop(structure);
        let Some(next) = next else {
            return Ok((results, seen));
        };
        structures.insert_one(&next).await.map_err(|e| e.to_string())?;
        drop(next);

        let version_key = format!("versions.{}", branch.split_version_key());
        let moved = match index {
            HeadIndex::Sql => {
                let moved =
                    split_course_index::move_head(sql, course, branch, &head.to_hex(), &new_version.to_hex()).await.map_err(|e| e.to_string())?;
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
            return Ok((results, seen));
        }
        // An author saved first: our version is unreferenced; drop it and start from theirs.
        structures.delete_one(doc! { "_id": new_version }).await.map_err(|e| e.to_string())?;
    }
    Err(format!("the {branch} head of {course} kept moving; {SPLIT_ATTEMPTS} attempts"))
}

/// How a version's blocks are written: its branch, its id, and (published branch) the draft
/// blocks' versions.
struct Edits<'a> {
    branch: Branch,
    new_version: ObjectId,
    drafts: &'a BTreeMap<String, DraftVersion>,
}

/// The structure version that follows `structure` (version `head`) with `writes` applied, what
/// each written block showed, and (draft branch) the written blocks' versions; no version where
/// nothing is written. A structure holds the whole course, megabytes for a big one: it is
/// copied as raw BSON, block by block, and only the blocks written are decoded.
#[allow(clippy::type_complexity)]
fn next_structure(
    structure: &RawDocument,
    head: ObjectId,
    edits: &Edits<'_>,
    writes: &[BlockEdit<'_>],
) -> Result<(Option<RawDocumentBuf>, Vec<BlockWrite>, BTreeMap<String, DraftVersion>), String> {
    let raw = |e: bson::raw::Error| e.to_string();
    let now = DateTime::now();
    let mut results: Vec<BlockWrite> = writes.iter().map(|_| Ok(Found::Gone)).collect();
    let mut seen = BTreeMap::new();
    let mut next = RawDocumentBuf::new();
    next.append("_id", edits.new_version);
    for element in structure {
        let (key, value) = element.map_err(raw)?;
        match key {
            "_id" | "previous_version" | "edited_on" | "edited_by" => {}
            "blocks" => {
                let Some(blocks) = value.as_array() else {
                    return Ok((None, results, seen));
                };
                let mut copied = RawArrayBuf::new();
                for block in blocks {
                    let block = block.map_err(raw)?;
                    match block.as_document().and_then(|document| Some((document, written_block_id(document, writes)?))) {
                        Some((document, block_id)) => {
                            let mut decoded = Document::try_from(document).map_err(raw)?;
                            for (i, edit) in writes.iter().enumerate().filter(|(_, w)| w.block_id == block_id) {
                                let (result, draft) = write_block(&mut decoded, edit, edits, now)?;
                                results[i] = result;
                                if let Some(draft) = draft {
                                    seen.insert(block_id.to_string(), draft);
                                }
                            }
                            copied.push(RawDocumentBuf::from_document(&decoded).map_err(raw)?);
                        }
                        None => copied.push(block.to_raw_bson()),
                    }
                }
                next.append("blocks", copied);
            }
            _ => next.append_ref(key, value),
        }
    }
    if !results.iter().any(|r| matches!(r, Ok(Found::Written))) {
        return Ok((None, results, seen));
    }
    next.append("previous_version", head);
    next.append("edited_on", now);
    next.append("edited_by", MIGRATION_USER);
    Ok((Some(next), results, seen))
}

/// The block's id, if it is a video block one of `writes` is for.
fn written_block_id<'a>(block: &'a RawDocument, writes: &[BlockEdit<'_>]) -> Option<&'a str> {
    let id = block.get_str("block_id").ok().filter(|_| block.get_str("block_type") == Ok("video"))?;
    writes.iter().any(|w| w.block_id == id).then_some(id)
}

/// Sets a video block's `edx_video_id` where it shows the edit's `from`, with the block's edit info of the new
/// version, as edx-platform's split modulestore records an edit: a draft edit clears
/// `source_version`; a published block that was in sync with its draft gets the draft's new
/// version, as a publish would, and one that was not keeps its own. In the draft branch, also
/// answers the block's versions. The id a block shows is its `fields` over its `defaults`.
/// A block whose `fields` is not a document fails the whole version: nothing is written.
fn write_block(block: &mut Document, edit: &BlockEdit<'_>, edits: &Edits<'_>, now: DateTime) -> Result<(BlockWrite, Option<DraftVersion>), String> {
    let block_id = edit.block_id;
    if !block.contains_key("fields") {
        block.insert("fields", Document::new());
    }
    let defaults = block.get_document("defaults").cloned().unwrap_or_default();
    let draft = (edits.branch == Branch::Draft).then(|| unwritten_draft(block));
    let mut edit_info = block.get_document("edit_info").cloned().unwrap_or_default();
    let fields = block.get_document_mut("fields").map_err(|e| format!("video block {block_id}: fields: {e}"))?;
    let shown = match fields.contains_key("edx_video_id") {
        true => current_id(fields),
        false => current_id(&defaults),
    };
    match shown {
        id if id == edit.to => return Ok((Ok(Found::Already), draft)),
        id if id != edit.from => return Ok((Err(id), draft)),
        _ => fields.insert("edx_video_id", edit.to),
    };
    let source_version = match edits.branch {
        Branch::Draft => Bson::Null,
        Branch::Published => match edits.drafts.get(block_id) {
            Some(draft) if draft.before.contains(&version_of(&edit_info)) => draft.now.clone(),
            _ => edit_info.get("source_version").cloned().unwrap_or(Bson::Null),
        },
    };
    let previous = edit_info.get("update_version").cloned().unwrap_or(Bson::Null);
    edit_info.insert("previous_version", previous.clone());
    edit_info.insert("update_version", edits.new_version);
    edit_info.insert("source_version", source_version);
    edit_info.insert("edited_on", now);
    edit_info.insert("edited_by", MIGRATION_USER);
    block.insert("edit_info", edit_info);
    let draft = draft.map(|before| DraftVersion { now: Bson::ObjectId(edits.new_version), before: before.before });
    Ok((Ok(Found::Written), draft))
}

/// An old Mongo video's write-back, recorded for the branches the request names.
async fn write_old_mongo_video(modulestore: &Modulestore, request: &WriteBackRequest) -> Result<WriteBackOutcome, WriteBackError> {
    let mut outcome = WriteBackOutcome::default();
    for (branch, found) in write_old_mongo(modulestore, request).await? {
        if request.branches.contains(&branch) {
            record(&mut outcome, branch, found);
        }
    }
    Ok(outcome)
}

/// Sets the id in the revision documents of the branches asked for whose id is empty (the draft
/// branch's is the draft document where there is one, else the published one, which the draft
/// view shows); returns what each branch shows afterwards.
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
    let has_draft = documents.iter().any(|d| d.get_document("_id").is_ok_and(|id| id.get_str("revision") == Ok("draft")));
    for document in documents {
        let Ok(id) = document.get_document("_id") else {
            continue;
        };
        let is_draft = id.get_str("revision") == Ok("draft");
        let asked = |branch| request.branches.contains(&branch);
        // The published document is also the draft branch's where the block has no draft.
        let wanted = asked(if is_draft { Branch::Draft } else { Branch::Published }) || (!is_draft && !has_draft && asked(Branch::Draft));
        if !wanted {
            continue;
        }
        let empty = Document::new();
        let metadata = document.get_document("metadata").unwrap_or(&empty);
        let found = match current_id(metadata) {
            value if value == request.edx_video_id => Found::Already,
            value if value != request.replaces => {
                let branch = if is_draft { Branch::Draft } else { Branch::Published };
                return Err(WriteBackError::Conflict(conflict(request, branch, &value)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(block_id: &'a str, to: &'a str) -> BlockEdit<'a> {
        BlockEdit { block_id, from: "", to }
    }

    #[test]
    fn a_rollback_takes_out_only_the_migrations_own_id() {
        let head = ObjectId::from_bytes([1; 12]);
        let drafts = BTreeMap::new();
        let edits = Edits { branch: Branch::Draft, new_version: ObjectId::new(), drafts: &drafts };
        let undo = [
            BlockEdit { block_id: "done", from: "ours-3", to: "" },
            BlockEdit { block_id: "authored", from: "ours-2", to: "" },
            BlockEdit { block_id: "empty", from: "ours-1", to: "" },
        ];
        let (next, results, _) = next_structure(&structure(head), head, &edits, &undo).unwrap();
        assert!(matches!(results[..], [Ok(Found::Written), Err(ref named), Ok(Found::Already)] if named == "author-set"), "{results:?}");
        let next = next.expect("one block was taken back").to_document().unwrap();
        let done = next.get_array("blocks").unwrap()[3].as_document().unwrap();
        assert_eq!(done.get_document("fields").unwrap().get_str("edx_video_id").unwrap(), "");
    }

    fn video(block_id: &str, fields: Document) -> Document {
        doc! {
            "block_type": "video", "block_id": block_id, "definition": ObjectId::new(), "fields": fields, "defaults": {},
            "edit_info": { "edited_on": DateTime::from_millis(0), "edited_by": 5, "update_version": ObjectId::from_bytes([7; 12]),
                           "previous_version": Bson::Null, "source_version": Bson::Null },
        }
    }

    fn structure(head: ObjectId) -> RawDocumentBuf {
        let blocks = vec![
            doc! { "block_type": "course", "block_id": "course", "fields": { "display_name": "C" } },
            video("empty", doc! { "display_name": "no id", "edx_video_id": " " }),
            video("authored", doc! { "edx_video_id": "author-set" }),
            video("done", doc! { "edx_video_id": "ours-3" }),
            doc! { "block_type": "html", "block_id": "empty", "fields": {} },
        ];
        let document = doc! {
            "_id": head, "root": ["course", "course"], "previous_version": Bson::Null, "original_version": head,
            "edited_by": 5, "edited_on": DateTime::from_millis(0), "schema_version": 1, "blocks": blocks,
        };
        RawDocumentBuf::from_document(&document).unwrap()
    }

    #[test]
    fn a_new_version_differs_only_in_the_written_blocks() {
        let (head, new_version) = (ObjectId::from_bytes([1; 12]), ObjectId::from_bytes([2; 12]));
        let old = structure(head);
        let writes = [set("empty", "ours-1"), set("authored", "ours-2"), set("done", "ours-3"), set("missing", "ours-4")];
        let drafts = BTreeMap::new();
        let edits = Edits { branch: Branch::Draft, new_version, drafts: &drafts };
        let (next, results, _) = next_structure(&old, head, &edits, &writes).unwrap();
        assert!(matches!(results[..], [Ok(Found::Written), Err(ref named), Ok(Found::Already), Ok(Found::Gone)] if named == "author-set"));

        let (old, next) = (old.to_document().unwrap(), next.expect("a block was written").to_document().unwrap());
        assert_eq!(next.get_object_id("_id").unwrap(), new_version);
        assert_eq!(next.get_object_id("previous_version").unwrap(), head);
        assert_eq!(next.get_i32("edited_by").unwrap(), MIGRATION_USER);
        for key in ["root", "original_version", "schema_version"] {
            assert_eq!(next.get(key), old.get(key), "{key} is copied");
        }
        let (old_blocks, new_blocks) = (old.get_array("blocks").unwrap(), next.get_array("blocks").unwrap());
        assert_eq!(old_blocks.len(), new_blocks.len());
        for (i, (before, after)) in old_blocks.iter().zip(new_blocks).enumerate() {
            if i != 1 {
                assert_eq!(before, after, "block {i} is not written");
            }
        }
        let written = new_blocks[1].as_document().unwrap();
        assert_eq!(written.get_document("fields").unwrap(), &doc! { "display_name": "no id", "edx_video_id": "ours-1" });
        let edit_info = written.get_document("edit_info").unwrap();
        assert_eq!(edit_info.get_object_id("update_version").unwrap(), new_version);
        assert_eq!(edit_info.get_object_id("previous_version").unwrap(), ObjectId::from_bytes([7; 12]));
        assert_eq!(edit_info.get_i32("edited_by").unwrap(), MIGRATION_USER);
    }

    #[test]
    fn nothing_written_makes_no_version() {
        let head = ObjectId::from_bytes([1; 12]);
        let drafts = BTreeMap::new();
        let edits = Edits { branch: Branch::Draft, new_version: ObjectId::new(), drafts: &drafts };
        let (next, results, _) = next_structure(&structure(head), head, &edits, &[set("done", "ours-3"), set("missing", "x")]).unwrap();
        assert!(next.is_none());
        assert!(matches!(results[..], [Ok(Found::Already), Ok(Found::Gone)]));
    }

    #[test]
    fn a_block_whose_fields_are_not_a_document_fails_the_version() {
        let head = ObjectId::from_bytes([1; 12]);
        let mut broken = video("broken", Document::new());
        broken.insert("fields", "not a document");
        let document = doc! { "_id": head, "blocks": [broken] };
        let structure = RawDocumentBuf::from_document(&document).unwrap();
        let drafts = BTreeMap::new();
        let edits = Edits { branch: Branch::Draft, new_version: ObjectId::new(), drafts: &drafts };
        let Err(error) = next_structure(&structure, head, &edits, &[set("broken", "ours")]) else {
            panic!("a version was made over a broken block");
        };
        assert!(error.contains("video block broken"), "{error}");
    }
}

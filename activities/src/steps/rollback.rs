//! `rollback`: undoes a course's migration from what the ledger says it created, in the order
//! that never leaves learners pointed at nothing: the flag goes off, the blocks lose the ids the
//! migration wrote, then the transcript rows go, then their objects, then the external videos.
//! Anything a user or an author changed since is kept and named. Each part can be run again:
//! the ledger's rows are stamped `undone` only at the end, and a second run finds nothing left.

use std::collections::{BTreeMap, BTreeSet};

use model::contract::course::{VideoWriteBack, WriteBackRequest};
use model::{Branch, CourseKey};

use super::Stores;
use super::discover::course_units;
use super::write_back::write_back_all;
use crate::stores::course_log;
use crate::stores::edxval;
use crate::stores::ledger::{self, Entry};

/// What a rollback did (or, previewed, would do), and what it kept, line by line.
#[derive(Debug, Default)]
pub struct RolledBack {
    pub done: Vec<String>,
    pub kept: Vec<String>,
}

pub async fn rollback_course(stores: &Stores<'_>, course: &CourseKey, dry_run: bool) -> Result<RolledBack, String> {
    let sql = stores.edxval;
    let db = |e: sqlx::Error| format!("edx-val: {e}");
    let entries = ledger::entries(sql, course).await.map_err(|e| format!("the ledger: {e}"))?;
    let live: Vec<&Entry> = entries.iter().filter(|e| e.undone.is_none()).collect();
    let mut out = RolledBack::default();
    let would = |text: String| if dry_run { format!("would {text}") } else { text };

    // The flag: learners of older releases switch back first.
    let mut conn = sql.acquire().await.map_err(db)?;
    if course_log::flag(&mut conn, &course.to_string()).await.map_err(db)? == Some(true) {
        if !dry_run {
            course_log::insert_flag(&mut conn, &course.to_string(), false).await.map_err(db)?;
        }
        out.done.push(would(format!("append a disabled transcript flag row for {course}")));
    }
    drop(conn);

    // The blocks: one request per branch, so that an author's id in one copy keeps only that copy.
    let units = course_units(stores.modulestore, course).await.map_err(|e| format!("modulestore: {e}"))?;
    let units: BTreeMap<String, _> = units.into_iter().map(|unit| (unit.usage_key.to_string(), unit)).collect();
    let users = users_transcripts(sql, &live).await.map_err(db)?;
    let mut requests = Vec::new();
    for entry in live.iter().filter(|e| e.kind == ledger::WRITE_BACK) {
        let Some(unit) = units.get(&entry.usage_key) else { continue };
        if let Some(languages) = users.get(&entry.edx_video_id) {
            out.kept.push(format!(
                "the {} copy of {} keeps edx_video_id {}: edx-val holds transcripts a user added since ({}), which only it reaches",
                entry.branch,
                entry.usage_key,
                entry.edx_video_id,
                languages.join(", ")
            ));
            continue;
        }
        let Some(branch) = Branch::ALL.into_iter().find(|b| b.to_string() == entry.branch) else { continue };
        let Some(copy) = unit.copies.iter().find(|c| c.branch == branch) else { continue };
        let at = format!("the {branch} copy of {}", entry.usage_key);
        match copy.fields.edx_video_id.as_str() {
            "" => {}
            id if id == entry.edx_video_id => {
                requests.push(WriteBackRequest {
                    usage_key: unit.usage_key.clone(),
                    edx_video_id: String::new(),
                    branches: [branch].into(),
                    replaces: entry.edx_video_id.clone(),
                });
            }
            id => out.kept.push(format!("{at}: names edx_video_id {id:?} now, which an author set; left as it is")),
        }
    }
    if !requests.is_empty() && !dry_run {
        let answers = write_back_all(stores.modulestore, sql, course, 0, &requests).await.map_err(|e| e.to_string())?;
        for (request, answer) in requests.iter().zip(answers) {
            let branch = request.branches.iter().next().copied().unwrap_or(Branch::Draft);
            let at = format!("the {branch} copy of {}", request.usage_key);
            match answer {
                VideoWriteBack::Done(outcome) if outcome.written.contains(&branch) => {
                    out.done.push(format!("take edx_video_id {} out of {at}", request.replaces))
                }
                VideoWriteBack::Done(_) => {}
                VideoWriteBack::Conflict(_) => out.kept.push(format!("{at}: an author changed its edx_video_id meanwhile; left as it is")),
            }
        }
    } else {
        out.done.extend(requests.iter().map(|r| {
            let branch = r.branches.iter().next().copied().unwrap_or(Branch::Draft);
            would(format!("take edx_video_id {} out of the {branch} copy of {}", r.replaces, r.usage_key))
        }));
    }

    // The transcript rows, then their objects.
    let transcripts: Vec<&&Entry> = live.iter().filter(|e| e.kind == ledger::TRANSCRIPT).collect();
    // The rows deleted (in a preview: that would be), by object key, and how many per video.
    let mut deleted_rows = BTreeSet::new();
    let mut deleted_of_video: BTreeMap<String, usize> = BTreeMap::new();
    let mut tx = edxval::begin_write(sql).await.map_err(db)?;
    for entry in &transcripts {
        let (language, key) = (&entry.language_code, &entry.storage_key);
        let at = format!("video {}, language {language}", entry.usage_key);
        let Some(video) = edxval::video(&mut tx, &entry.edx_video_id).await.map_err(db)? else { continue };
        let Some(row) = edxval::transcripts(&mut tx, video.id).await.map_err(db)?.remove(language.as_str()) else { continue };
        if row.transcript != *key {
            out.kept.push(format!("{at}: edx-val's transcript names {} now, which a user uploaded; kept", row.transcript));
            continue;
        }
        let others: Vec<String> =
            edxval::linked_courses(&mut tx, video.id).await.map_err(db)?.into_iter().filter(|c| *c != course.to_string()).collect();
        if !others.is_empty() {
            out.kept.push(format!(
                "{at}: edx-val video {} is shared with {}, which serve this transcript too; kept",
                video.edx_video_id,
                others.join(", ")
            ));
            continue;
        }
        if !dry_run {
            edxval::delete_transcript(&mut tx, video.id, language, key).await.map_err(db)?;
        }
        deleted_rows.insert(key.clone());
        *deleted_of_video.entry(video.edx_video_id.clone()).or_default() += 1;
        out.done.push(would(format!("delete edx-val's {language} transcript of video {} ({key})", video.edx_video_id)));
    }
    tx.commit().await.map_err(db)?;
    for entry in &transcripts {
        let key = &entry.storage_key;
        let mut conn = sql.acquire().await.map_err(db)?;
        // In a preview, the rows it would delete still name their objects.
        let named = edxval::names_object(&mut conn, key).await.map_err(db)? && !(dry_run && deleted_rows.contains(key));
        drop(conn);
        if named {
            continue;
        }
        if stores.bucket.get(key).await.map_err(|e| e.to_string())?.is_none() {
            continue;
        }
        if !dry_run {
            stores.bucket.delete(key).await.map_err(|e| e.to_string())?;
        }
        out.done.push(would(format!("delete s3://{}/{}", stores.bucket.bucket(), stores.bucket.object_key(key))));
    }

    // The external videos nothing else refers to, and the ledger's stamps.
    let mut tx = edxval::begin_write(sql).await.map_err(db)?;
    for entry in live.iter().filter(|e| e.kind == ledger::EXTERNAL_VIDEO) {
        let Some(video) = edxval::video(&mut tx, &entry.edx_video_id).await.map_err(db)? else { continue };
        let mut references = edxval::video_references(&mut tx, video.id).await.map_err(db)?;
        if dry_run {
            let going = deleted_of_video.get(&video.edx_video_id).copied().unwrap_or(0);
            references.retain(|(table, count)| !(*table == "edxval_videotranscript" && *count == going));
        }
        if !references.is_empty() {
            let references: Vec<String> = references.iter().map(|(table, count)| format!("{count} row(s) of {table}")).collect();
            out.kept.push(format!("edx-val video {}: {} refer to it; kept", video.edx_video_id, references.join(", ")));
            continue;
        }
        if !dry_run {
            edxval::delete_video(&mut tx, video.id).await.map_err(db)?;
        }
        out.done.push(would(format!("delete edx-val's external video {}", video.edx_video_id)));
    }
    if !dry_run {
        for entry in &live {
            ledger::mark_undone(&mut tx, entry).await.map_err(|e| format!("the ledger: {e}"))?;
        }
    }
    tx.commit().await.map_err(db)?;
    Ok(out)
}

/// The videos the migration wrote back whose edx-val video holds transcripts that are not the
/// migration's (a user's upload since), with their languages.
async fn users_transcripts(sql: &sqlx::AnyPool, live: &[&Entry]) -> Result<BTreeMap<String, Vec<String>>, sqlx::Error> {
    let ours: BTreeSet<(&str, &str)> =
        live.iter().filter(|e| e.kind == ledger::TRANSCRIPT).map(|e| (e.edx_video_id.as_str(), e.storage_key.as_str())).collect();
    let written: BTreeSet<&str> = live.iter().filter(|e| e.kind == ledger::WRITE_BACK).map(|e| e.edx_video_id.as_str()).collect();
    let mut conn = sql.acquire().await?;
    let mut found = BTreeMap::new();
    for edx_video_id in written {
        let Some(video) = edxval::video(&mut conn, edx_video_id).await? else { continue };
        let theirs: Vec<String> = edxval::transcripts(&mut conn, video.id)
            .await?
            .into_values()
            .filter(|row| !ours.contains(&(edx_video_id, row.transcript.as_str())))
            .map(|row| row.language_code)
            .collect();
        if !theirs.is_empty() {
            found.insert(edx_video_id.to_string(), theirs);
        }
    }
    Ok(found)
}

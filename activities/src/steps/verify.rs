//! `verify`: a read-only audit of a migrated course, weeks later, from the ledger. For every
//! transcript the migration created and has not rolled back: edx-val's row still names the
//! object, the object still has the SHA-256 the ledger recorded, and the contentstore still
//! gives that SJSON (drift is reported, never "fixed"). Every block of a migrated video names
//! its edx-val video, and the course's flag agrees with the course log. It writes nothing, not
//! even the migration's own tables.

use std::collections::BTreeMap;

use model::CourseKey;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::Stores;
use super::discover::course_units;
use crate::formats::transcript_source::read_copy;
use crate::stores::ledger::{self, Entry};
use crate::stores::{course_log, edxval};

/// One thing that is not as the migration left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub usage_key: String,
    pub language: String,
    pub message: String,
    /// The flag disagrees with the course log (what `flags enable` is there to fix).
    pub about_flag: bool,
}

/// What `verify` found for one course.
#[derive(Debug, Default)]
pub struct Verified {
    pub transcripts: u32,
    pub videos: u32,
    pub flag: Option<bool>,
    /// A rollback took back the newest run that created anything.
    pub rolled_back: bool,
    /// The last run ended `validated`: the blocks that do not name their video yet wait for
    /// the `cut-over` (counted here, not problems).
    pub awaiting_cut_over: Option<u32>,
    pub problems: Vec<Problem>,
}

/// The newest run of the course in the course log, and its state (`None`: never logged).
pub async fn last_run(sql: &sqlx::AnyPool, course: &CourseKey) -> Result<Option<(u32, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT run_number, state FROM transcript_migrator_course_run WHERE course_id = ? ORDER BY run_number DESC LIMIT 1")
        .bind(course.to_string())
        .fetch_optional(sql)
        .await;
    match row {
        Err(error) if ledger::is_missing_table(&error) => Ok(None),
        row => row?.map(|row| Ok((row.try_get::<i64, _>(0)? as u32, row.try_get(1)?))).transpose(),
    }
}

/// Whether a rollback took back the newest run that created anything.
pub fn rolled_back(entries: &[Entry]) -> bool {
    let newest = entries.iter().map(|e| e.run_number).max();
    newest.is_some_and(|run| entries.iter().filter(|e| e.run_number == run).all(|e| e.undone.is_some()))
}

/// Whether the course's last run ended `validated` (`"cut_over": false`): its blocks and flag
/// wait for the operator's `cut-over`.
pub fn awaiting_cut_over(last_run: Option<&(u32, String)>) -> bool {
    last_run.is_some_and(|(_, state)| state == "validated")
}

/// Whether the flag should be on: the newest run passed, and no rollback took it back.
pub fn flag_expected(last_run: Option<&(u32, String)>, entries: &[Entry]) -> bool {
    last_run.is_some_and(|(_, state)| state == "succeeded") && !rolled_back(entries)
}

pub async fn verify_course(stores: &Stores<'_>, course: &CourseKey) -> Result<Verified, String> {
    let sql = stores.edxval;
    let entries = ledger::entries(sql, course).await.map_err(|e| format!("the ledger: {e}"))?;
    let last_run = last_run(sql, course).await.map_err(|e| format!("the course log: {e}"))?;
    let mut verified = Verified { rolled_back: rolled_back(&entries), ..Verified::default() };
    let problem = |usage_key: &str, language: &str, message: String| Problem {
        usage_key: usage_key.into(),
        language: language.into(),
        message,
        about_flag: false,
    };
    if last_run.is_none() {
        verified.problems.push(problem("", "", format!("course {course}: the course log has no run of it; it was never migrated here")));
        return Ok(verified);
    }
    let units = course_units(stores.modulestore, course).await.map_err(|e| format!("modulestore: {e}"))?;
    let units: BTreeMap<String, _> = units.into_iter().map(|unit| (unit.usage_key.to_string(), unit)).collect();
    let live: Vec<&Entry> = entries.iter().filter(|e| e.undone.is_none()).collect();
    let mut conn = sql.acquire().await.map_err(|e| format!("edx-val: {e}"))?;
    let mut videos: BTreeMap<&str, &str> = BTreeMap::new();
    for entry in live.iter().filter(|e| e.kind == ledger::TRANSCRIPT) {
        verified.transcripts += 1;
        videos.insert(&entry.usage_key, &entry.edx_video_id);
        let (video, language, key) = (&entry.usage_key, &entry.language_code, &entry.storage_key);
        let at = format!("course {course}, video {video}, language {language}, file {key}");
        let found = |message: String| problem(video, language, format!("{at}: {message}"));
        // edx-val's row.
        let row = match edxval::video(&mut conn, &entry.edx_video_id).await.map_err(|e| format!("edx-val: {e}"))? {
            Some(row) => edxval::transcripts(&mut conn, row.id).await.map_err(|e| format!("edx-val: {e}"))?.remove(language),
            None => None,
        };
        match row {
            None => verified.problems.push(found(format!("edx-val video {} has no {language} transcript any more", entry.edx_video_id))),
            Some(row) if row.transcript != *key => verified.problems.push(found(format!(
                "edx-val's {language} transcript of video {} names {} now, not the migration's object",
                entry.edx_video_id, row.transcript
            ))),
            Some(_) => {}
        }
        // The object.
        match stores.bucket.get(key).await.map_err(|e| e.to_string())? {
            None => {
                verified.problems.push(found(format!("s3://{}/{} does not exist any more", stores.bucket.bucket(), stores.bucket.object_key(key))))
            }
            Some(bytes) => {
                let actual = hex::encode(Sha256::digest(&bytes));
                if actual != entry.sha256 {
                    verified.problems.push(found(format!("the object's SHA-256 is {actual}, not the {} the migration uploaded", entry.sha256)));
                }
            }
        }
        // The contentstore now.
        let Some(copy) = units.get(video.as_str()).and_then(|unit| unit.winning_copy(language)) else {
            verified.problems.push(found(format!("the course has no block {video} with a {language} transcript any more")));
            continue;
        };
        let usage_key = &units[video.as_str()].usage_key;
        match read_copy(stores.contentstore, usage_key, copy, language).await {
            Ok((read, _)) if read.sha256 == entry.sha256 => {}
            Ok((read, _)) => verified.problems.push(found(format!(
                "the contentstore's {} gives SJSON with SHA-256 {} now, not the {} migrated from {}: it changed since",
                read.file, read.sha256, entry.sha256, entry.source_file
            ))),
            Err(error) if error.problem.is_retryable() => return Err(error.to_string()),
            Err(error) => verified.problems.push(found(format!("the contentstore's source cannot be read now: {error}"))),
        }
    }
    drop(conn);
    // The blocks name their edx-val video (or, before the cut-over, none yet).
    let waiting = awaiting_cut_over(last_run.as_ref());
    verified.awaiting_cut_over = waiting.then_some(0);
    for (video, edx_video_id) in &videos {
        verified.videos += 1;
        let Some(unit) = units.get(*video) else { continue };
        if waiting && unit.copies.iter().any(|c| c.fields.edx_video_id.is_empty()) {
            *verified.awaiting_cut_over.get_or_insert(0) += 1;
            continue;
        }
        for copy in unit.copies.iter().filter(|c| c.fields.edx_video_id != *edx_video_id) {
            verified.problems.push(problem(
                video,
                "",
                format!(
                    "course {course}, video {video}: the {} copy of the block names edx_video_id {:?}, not {edx_video_id}; the LMS does not serve the migrated transcripts there",
                    copy.branch, copy.fields.edx_video_id
                ),
            ));
        }
    }
    // The flag.
    let mut conn = sql.acquire().await.map_err(|e| format!("edx-val: {e}"))?;
    verified.flag = course_log::flag(&mut conn, &course.to_string()).await.map_err(|e| format!("the course flag: {e}"))?;
    let expected = flag_expected(last_run.as_ref(), &entries);
    if verified.flag.unwrap_or(false) != expected {
        let (number, state) = last_run.as_ref().map(|(n, s)| (*n, s.as_str())).unwrap_or_default();
        let message = format!(
            "course {course}: its transcript flag is {}, but its last run ({number}) {state}{}",
            if verified.flag == Some(true) { "on" } else { "off" },
            if expected { "" } else { " or was rolled back" }
        );
        verified.problems.push(Problem { about_flag: true, ..problem("", "", message) });
    }
    Ok(verified)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(run_number: u32, undone: bool) -> Entry {
        Entry { run_number, kind: ledger::TRANSCRIPT.into(), undone: undone.then(|| "then".into()), ..Entry::default() }
    }

    #[test]
    fn the_flag_follows_the_last_run_and_its_rollback() {
        let passed = (2, "succeeded".to_string());
        assert!(!flag_expected(None, &[]), "never migrated");
        assert!(flag_expected(Some(&passed), &[]), "a run that created nothing and passed");
        assert!(flag_expected(Some(&passed), &[entry(1, true), entry(2, false)]));
        assert!(!flag_expected(Some(&passed), &[entry(2, true), entry(2, true)]), "rolled back");
        assert!(!flag_expected(Some(&passed), &[entry(1, true)]), "run 1 rolled back, run 2 created nothing");
        assert!(!flag_expected(Some(&(2, "failed".into())), &[entry(2, false)]));
    }
}

//! The validation step of a course: for each video a learner can reach, every language that has
//! a source in the course's contentstore is in edx-val, and what edx-val serves for it is what
//! that source gives (for the objects the migration wrote, known by the SHA-256 it records on
//! them: another course's copy of a shared video is caught here); every edx-val transcript of the video is readable in S3, under
//! the storage's location, with the SHA-256 recorded at upload; and the blocks name the video
//! (at a video cut-over) or are listed for the course's cut-over. Only a course whose videos all
//! pass gets its ids written (course cut-over) and its flag.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use model::Branch;
use model::contract::course::{CutOver, ValidateRequest, ValidatedPage, VideoFailure, WriteBackRequest};
use model::plan::{NO_SOURCE_KINDS, target_edx_video_id};
use model::video::{VideoCopy, VideoUnit};
use sha2::{Digest, Sha256};

use super::Stores;
use super::discover::{course_units, page_of};
use crate::formats::transcript_source::read_copy_languages;
use crate::stores::edxval;

pub async fn validate(stores: &Stores<'_>, request: &ValidateRequest) -> Result<ValidatedPage, String> {
    let units = course_units(stores.modulestore, &request.page.course_key).await.map_err(|e| format!("modulestore: {e}"))?;
    let (units, next) = page_of(units, &request.page);
    let mut page = ValidatedPage { next, ..ValidatedPage::default() };
    let checks: Vec<_> = units.iter().map(|unit| validate_video(stores, request, unit)).collect();
    let checks: Vec<Checked> = futures::stream::iter(checks).buffered(VIDEOS_AT_ONCE).try_collect().await?;
    for (unit, checked) in units.iter().zip(checks) {
        page.videos += 1;
        page.transcripts += checked.transcripts;
        let passed = checked.problems.is_empty();
        page.failures.extend(checked.problems.into_iter().map(|message| VideoFailure { usage_key: unit.usage_key.clone(), message }));
        if let Some(write_back) = checked.write_back.filter(|_| passed) {
            page.write_backs.push(write_back);
        }
    }
    Ok(page)
}

/// How many videos of a page are checked at once.
const VIDEOS_AT_ONCE: usize = 8;

struct Checked {
    problems: Vec<String>,
    write_back: Option<WriteBackRequest>,
    /// Languages checked against their source.
    transcripts: u32,
}

/// What is wrong with one video after the migration; `Err` only when a store cannot be read.
async fn validate_video(stores: &Stores<'_>, request: &ValidateRequest, unit: &VideoUnit) -> Result<Checked, String> {
    let (course, video) = (&unit.usage_key.course, &unit.usage_key);
    let mut problems = Vec::new();
    let mut languages = BTreeSet::new();
    for copy in &unit.copies {
        match copy.fields.languages() {
            Ok(found) => languages.extend(found),
            Err(found) => {
                problems.push(format!("validation: course {course}, video {video}: the {} copy's transcripts field is {found}", copy.branch))
            }
        }
    }
    let id = match target_edx_video_id(video, unit.copies.iter().map(|c| c.fields.edx_video_id.as_str())) {
        Ok(id) => id,
        Err(disagreement) => {
            problems.push(format!("validation: course {course}, video {video}: {disagreement}"));
            return Ok(Checked { problems, write_back: None, transcripts: 0 });
        }
    };
    // What the course's contentstore gives for each language: (file, SHA-256 of the SJSON).
    let mut sources: BTreeMap<String, (String, String)> = BTreeMap::new();
    // Each copy reads the languages it wins, its files looked up at once.
    let mut won: Vec<(&VideoCopy, Vec<String>)> = Vec::new();
    for language in &languages {
        let Some(copy) = unit.winning_copy(language) else { continue };
        match won.iter_mut().find(|(c, _)| std::ptr::eq(*c, copy)) {
            Some((_, languages)) => languages.push(language.clone()),
            None => won.push((copy, vec![language.clone()])),
        }
    }
    let mut read = Vec::new();
    for (copy, languages) in &won {
        read.extend(read_copy_languages(stores.contentstore, video, copy, languages).await);
    }
    for (language, result) in read {
        match result {
            Ok((read, _)) => {
                sources.insert(language.clone(), (read.file, read.sha256));
            }
            Err(error) if error.problem.is_retryable() => return Err(error.to_string()),
            Err(error) if NO_SOURCE_KINDS.contains(&error.problem.kind()) && !request.strict => {} // nothing to serve
            Err(error) => problems.push(format!("validation: {error}")),
        }
    }
    let mut conn = stores.edxval.acquire().await.map_err(|e| format!("edx-val: {e}"))?;
    let in_edxval = match edxval::video(&mut conn, &id).await.map_err(|e| format!("edx-val: {e}"))? {
        Some(row) => edxval::transcripts(&mut conn, row.id).await.map_err(|e| format!("edx-val: {e}"))?,
        None => Default::default(),
    };
    drop(conn);
    if in_edxval.is_empty() && sources.is_empty() {
        return Ok(Checked { problems, write_back: None, transcripts: 0 });
    }
    for language in sources.keys().filter(|l| !in_edxval.contains_key(*l)) {
        problems
            .push(format!("validation: course {course}, video {video}, language {language}: edx-val video {id} has no transcript in this language"));
    }
    let bucket = stores.bucket;
    for (language, row) in &in_edxval {
        let name = &row.transcript;
        let at = format!("course {course}, video {video}, language {language}, file {name}");
        let missing =
            || format!("validation: {at}: edx-val names this transcript, but s3://{}/{} does not exist", bucket.bucket(), bucket.object_key(name));
        let Some(stored) = bucket.stored(name).await.map_err(|e| e.to_string())? else {
            problems.push(missing());
            continue;
        };
        // An object without the SHA-256 the migration records at upload is someone else's (a
        // Studio upload, an earlier tool), served to learners before the migration: readable is
        // all that can be asked of it. The migration's own must be this course's. Where S3
        // checked the bytes against their SHA-256 when they were written, its HEAD proves them
        // as well as reading them back would.
        let actual = match (stored.verified_sha256, &stored.recorded_sha256) {
            (Some(verified), Some(_)) => verified,
            (_, recorded) => match bucket.get(name).await.map_err(|e| e.to_string())? {
                None => {
                    problems.push(missing());
                    continue;
                }
                Some(_) if recorded.is_none() => continue,
                Some(bytes) => hex::encode(Sha256::digest(&bytes)),
            },
        };
        let Some(recorded) = stored.recorded_sha256 else { continue };
        if recorded != actual {
            problems.push(format!("validation: {at}: SHA-256 {actual} differs from {recorded} recorded at upload"));
        }
        match sources.get(language) {
            Some((_, sha256)) if *sha256 == actual => {}
            Some((file, sha256)) => problems.push(format!(
                "validation: {at}: edx-val video {id} serves SJSON with SHA-256 {actual}, but this course's file {file} gives {sha256}; \
                 its learners would get another transcript (a course sharing the video wrote it)"
            )),
            None => problems.push(format!(
                "validation: {at}: edx-val video {id} has this language, which this course has no source for; \
                 its learners would get another course's transcript"
            )),
        }
    }
    let transcripts = sources.keys().filter(|l| in_edxval.contains_key(*l)).count() as u32;
    let unnamed: BTreeSet<Branch> = unit.copies.iter().filter(|c| c.fields.edx_video_id.is_empty()).map(|c| c.branch).collect();
    if in_edxval.is_empty() || unnamed.is_empty() {
        return Ok(Checked { problems, write_back: None, transcripts });
    }
    Ok(match request.cut_over {
        CutOver::Video => {
            for branch in &unnamed {
                problems.push(format!(
                    "validation: course {course}, video {video}: the {branch} copy of the block has no edx_video_id; the LMS would not find edx-val video {id}"
                ));
            }
            Checked { problems, write_back: None, transcripts }
        }
        CutOver::Course | CutOver::Later => Checked {
            problems,
            write_back: Some(WriteBackRequest { usage_key: video.clone(), edx_video_id: id, branches: unnamed, replaces: String::new() }),
            transcripts,
        },
    })
}

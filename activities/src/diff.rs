//! The diff step of a video: its languages in both branches against edx-val. Only languages
//! edx-val lacks are read; they are read in full (and hashed) so that bad data fails the video
//! before anything is written. The bytes of the planned languages are kept for the upload.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::AnyPool;
use workflows::plan::{self, BranchCopy, Failure, VideoPlan};
use workflows::video::VideoUnit;

use crate::contentstore::Contentstore;
use crate::planned_reads::PlannedReads;
use crate::transcript_source::read_copy;
use crate::{Problem, TranscriptError, edxval};

/// A store could not be reached; the step is worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl From<&TranscriptError> for Failure {
    fn from(error: &TranscriptError) -> Self {
        Failure { kind: error.problem.kind().into(), language: error.language.clone(), file: error.file.clone(), message: error.to_string() }
    }
}

/// The languages edx-val already has for the video, by its `edx_video_id` (none when edx-val
/// does not know it).
pub async fn edxval_languages(edxval: &AnyPool, edx_video_id: &str) -> Result<BTreeSet<String>, StoreError> {
    if edx_video_id.is_empty() || !plan::is_valid_edx_video_id(edx_video_id) {
        return Ok(BTreeSet::new());
    }
    let store = |e: sqlx::Error| StoreError(format!("edx-val: {e}"));
    let mut conn = edxval.acquire().await.map_err(store)?;
    let Some(video) = edxval::video(&mut conn, edx_video_id).await.map_err(store)? else {
        return Ok(BTreeSet::new());
    };
    Ok(edxval::transcripts(&mut conn, video.id).await.map_err(store)?.into_keys().collect())
}

/// Plans the video; keeps the SJSON of each planned language in `reads` for the upload.
pub async fn diff_video(contentstore: &Contentstore, edxval: &AnyPool, unit: &VideoUnit, reads: &PlannedReads) -> Result<VideoPlan, StoreError> {
    let usage_key = unit.usage_key.to_string();
    let ids = unit.copies.iter().map(|c| c.fields.edx_video_id.as_str());
    let in_edxval = match plan::target_edx_video_id(&usage_key, ids) {
        Ok(id) => edxval_languages(edxval, &id).await?,
        Err(_) => BTreeSet::new(), // plan_video reports the disagreement
    };
    let mut copies: Vec<BranchCopy> = Vec::new();
    // What was read, by language code and SHA-256: a twin copy's references name the same bytes.
    let mut sjson: BTreeMap<(String, String), Vec<u8>> = BTreeMap::new();
    for copy in &unit.copies {
        // Draft and published copies with the same fields name the same files of the course's
        // contentstore: what one branch read, the other would read again.
        if let Some(twin) = unit.copies.iter().zip(&copies).find(|(other, _)| other.fields == copy.fields).map(|(_, read)| read) {
            let mut read = twin.clone();
            read.branch = copy.branch;
            for reference in read.transcripts.values_mut().flatten() {
                reference.branch = copy.branch;
            }
            copies.push(read);
            continue;
        }
        let mut read = BranchCopy {
            branch: copy.branch,
            edx_video_id: copy.fields.edx_video_id.clone(),
            transcripts: Default::default(),
            not_read: Default::default(),
            problem: None,
        };
        match copy.fields.languages() {
            Err(found) => {
                let error = TranscriptError {
                    course_key: unit.usage_key.course.to_string(),
                    usage_key: unit.usage_key.to_string(),
                    language: None,
                    file: None,
                    problem: Problem::BadTranscriptsField { found: found.into() },
                };
                read.problem = Some(Failure::from(&error));
            }
            Ok(languages) => {
                let (not_read, to_read): (BTreeSet<String>, BTreeSet<String>) = languages.into_iter().partition(|l| in_edxval.contains(l));
                read.not_read = not_read;
                for language in to_read {
                    let result = match read_copy(contentstore, unit, copy, &language).await {
                        Ok((reference, bytes)) => {
                            sjson.insert((language.clone(), reference.sha256.clone()), bytes);
                            Ok(reference)
                        }
                        Err(error) if error.problem.is_retryable() => {
                            return Err(StoreError(error.to_string()));
                        }
                        Err(error) => Err(Failure::from(&error)),
                    };
                    read.transcripts.insert(language, result);
                }
            }
        }
        copies.push(read);
    }
    let plan = plan::plan_video(&unit.usage_key, &copies, &in_edxval);
    for (language, planned) in &plan.migrate {
        if let Some(bytes) = sjson.remove(&(language.clone(), planned.sha256.clone())) {
            reads.keep(&usage_key, language, &planned.sha256, bytes);
        }
    }
    Ok(plan)
}

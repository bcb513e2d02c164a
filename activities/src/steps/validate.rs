//! The validation step of a course: for each video, every language the contentstore has is in
//! edx-val, every edx-val transcript of the video is readable in S3 (with the SHA-256 recorded
//! at upload, for the objects the migration wrote), and every copy of the block names the
//! video. Only a course whose videos all pass gets its flag.

use model::contract::course::{PageRequest, ValidatedPage, VideoFailure};
use model::plan::target_edx_video_id;
use model::video::VideoUnit;
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use super::discover::{course_units, page_of};
use crate::stores::edxval;
use crate::stores::modulestore::Modulestore;
use crate::stores::s3::TranscriptBucket;

pub async fn validate(modulestore: &Modulestore, sql: &AnyPool, bucket: &TranscriptBucket, request: &PageRequest) -> Result<ValidatedPage, String> {
    let units = course_units(modulestore, &request.course_key).await.map_err(|e| format!("modulestore: {e}"))?;
    let (units, next) = page_of(units, request);
    let mut page = ValidatedPage { next, ..ValidatedPage::default() };
    for unit in &units {
        page.videos += 1;
        let problems = validate_video(sql, bucket, unit, &mut page.transcripts).await?;
        page.failures.extend(problems.into_iter().map(|message| VideoFailure { usage_key: unit.usage_key.clone(), message }));
    }
    Ok(page)
}

/// What is wrong with one video after the migration; `Err` only when a store cannot be read.
async fn validate_video(sql: &AnyPool, bucket: &TranscriptBucket, unit: &VideoUnit, checked: &mut u32) -> Result<Vec<String>, String> {
    let (course, video) = (&unit.usage_key.course, &unit.usage_key);
    let mut problems = Vec::new();
    let mut languages = std::collections::BTreeSet::new();
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
            return Ok(problems);
        }
    };
    if languages.is_empty() {
        return Ok(problems);
    }
    let mut conn = sql.acquire().await.map_err(|e| format!("edx-val: {e}"))?;
    let in_edxval = match edxval::video(&mut conn, &id).await.map_err(|e| format!("edx-val: {e}"))? {
        Some(row) => edxval::transcripts(&mut conn, row.id).await.map_err(|e| format!("edx-val: {e}"))?,
        None => Default::default(),
    };
    drop(conn);
    if !in_edxval.is_empty() {
        for copy in unit.copies.iter().filter(|c| c.fields.edx_video_id.is_empty()) {
            problems.push(format!(
                "validation: course {course}, video {video}: the {} copy of the block has no edx_video_id; the LMS would not find edx-val video {id}",
                copy.branch
            ));
        }
    }
    for language in languages.iter().filter(|l| !in_edxval.contains_key(*l)) {
        problems
            .push(format!("validation: course {course}, video {video}, language {language}: edx-val video {id} has no transcript in this language"));
    }
    for (language, row) in &in_edxval {
        *checked += 1;
        let file = &row.transcript;
        match bucket.get_with_sha256(file).await.map_err(|e| e.to_string())? {
            None => problems.push(format!(
                "validation: course {course}, video {video}, language {language}, file {file}: edx-val names this object, but s3://{}/{file} does not exist",
                bucket.bucket()
            )),
            Some((bytes, Some(recorded))) => {
                let actual = hex::encode(Sha256::digest(&bytes));
                if actual != recorded {
                    problems.push(format!(
                        "validation: course {course}, video {video}, language {language}, file {file}: SHA-256 {actual} differs from {recorded} recorded at upload"
                    ));
                }
            }
            Some((_, None)) => {} // someone else's object: readable is all that can be asked
        }
    }
    Ok(problems)
}

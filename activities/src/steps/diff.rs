//! The diff step of a video: its languages in both branches against edx-val. Only languages
//! edx-val lacks are read; they are read in full (and hashed) so that bad data fails the video
//! before anything is written. The bytes of the planned languages are kept for the upload.
//! The plan itself is pure (`plan_video`): the same reads always give the same plan. A course
//! run diffs a page of videos at once (`diff_page`); a video migrated on its own diffs itself.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt, TryStreamExt};
use model::plan::{self, Failure, PlannedUnit, TranscriptRef, VideoPlan};
use model::video::{VideoUnit, winning_branch};
use model::{Branch, UsageKey};
use sqlx::AnyPool;

use super::Stores;
use super::planned_reads::PlannedReads;
use super::shared_videos::{self, OtherCourses};
use crate::formats::transcript_source::read_copy_languages;
use crate::formats::{Problem, TranscriptError};
use crate::stores::edxval;

/// A store could not be reached; the step is worth retrying.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl From<&TranscriptError> for Failure {
    fn from(error: &TranscriptError) -> Self {
        Failure { kind: error.problem.kind().into(), language: error.language.clone(), file: error.file.clone(), message: error.to_string() }
    }
}

/// What edx-val holds of a video: its languages, and the courses linked to it.
#[derive(Debug, Default)]
pub struct InEdxval {
    pub languages: BTreeSet<String>,
    pub linked_courses: Vec<String>,
}

/// What edx-val holds of the video, by its `edx_video_id` (nothing when edx-val does not know it).
pub async fn in_edxval(edxval: &AnyPool, edx_video_id: &str) -> Result<InEdxval, StoreError> {
    if edx_video_id.is_empty() || !plan::is_valid_edx_video_id(edx_video_id) {
        return Ok(InEdxval::default());
    }
    let store = |e: sqlx::Error| StoreError(format!("edx-val: {e}"));
    let mut conn = edxval.acquire().await.map_err(store)?;
    let Some(video) = edxval::video(&mut conn, edx_video_id).await.map_err(store)? else {
        return Ok(InEdxval::default());
    };
    Ok(InEdxval {
        languages: edxval::transcripts(&mut conn, video.id).await.map_err(store)?.into_keys().collect(),
        linked_courses: edxval::linked_courses(&mut conn, video.id).await.map_err(store)?,
    })
}

/// Plans the video; keeps the SJSON of each planned language in `reads` for the upload. A video
/// other courses use too migrates only languages whose copies there are the same.
pub async fn diff_video(stores: &Stores<'_>, others: &OtherCourses, unit: &VideoUnit, reads: &PlannedReads) -> Result<VideoPlan, StoreError> {
    let usage_key = &unit.usage_key;
    let ids = unit.copies.iter().map(|c| c.fields.edx_video_id.as_str());
    let found = match plan::target_edx_video_id(usage_key, ids) {
        Ok(id) => in_edxval(stores.edxval, &id).await?,
        Err(_) => InEdxval::default(), // plan_video reports the disagreement
    };
    let in_edxval = &found.languages;
    let mut copies: Vec<CopyRead> = Vec::new();
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
        let mut read = CopyRead {
            branch: copy.branch,
            edx_video_id: copy.fields.edx_video_id.clone(),
            transcripts: Default::default(),
            not_read: Default::default(),
            problem: None,
        };
        match copy.fields.languages() {
            Err(found) => {
                let error = TranscriptError {
                    usage_key: usage_key.clone(),
                    language: None,
                    file: None,
                    problem: Problem::BadTranscriptsField { found: found.into() },
                };
                read.problem = Some(Failure::from(&error));
            }
            Ok(languages) => {
                let (not_read, to_read): (BTreeSet<String>, BTreeSet<String>) = languages.into_iter().partition(|l| in_edxval.contains(l));
                read.not_read = not_read;
                let to_read: Vec<String> = to_read.into_iter().collect();
                for (language, result) in read_copy_languages(stores.contentstore, usage_key, copy, &to_read).await {
                    let result = match result {
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
    let mut plan = plan_video(usage_key, &copies, in_edxval);
    plan.directory_prefix = stores.bucket.directory_prefix().to_string();
    if !plan.migrate.is_empty() && found.linked_courses.iter().any(|course| *course != usage_key.course.to_string()) {
        plan.failures = shared_videos::differing_copies(stores, others, usage_key, &plan, &found.linked_courses).await?;
        if !plan.failures.is_empty() {
            plan.migrate.clear();
        }
    }
    for (language, planned) in &plan.migrate {
        if let Some(bytes) = sjson.remove(&(language.clone(), planned.sha256.clone())) {
            reads.keep(usage_key, language, &planned.sha256, bytes);
        }
    }
    Ok(plan)
}

/// How many videos of a page are diffed at once.
const PAGE_DIFFS_AT_ONCE: usize = 8;

/// Plans every video of a page, in the page's order. A store that cannot be reached fails the
/// page (it is retried whole: reads change nothing); bad data fails only its video, in its plan.
pub async fn diff_page(
    stores: &Stores<'_>,
    others: &OtherCourses,
    units: Vec<VideoUnit>,
    reads: &PlannedReads,
) -> Result<Vec<PlannedUnit>, StoreError> {
    futures::stream::iter(units)
        .map(|unit| async move {
            let plan = diff_video(stores, others, &unit, reads).await?;
            Ok(PlannedUnit { unit, plan })
        })
        .buffered(PAGE_DIFFS_AT_ONCE)
        .try_collect()
        .await
}

/// What the diff read of one branch's copy of the block.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CopyRead {
    branch: Branch,
    edx_video_id: String,
    /// The languages this copy has that were read, or failed to be.
    transcripts: BTreeMap<String, Result<TranscriptRef, Failure>>,
    /// The languages this copy has that were not read, because edx-val already has them.
    not_read: BTreeSet<String>,
    /// A problem of the whole block, such as a `transcripts` field of the wrong type.
    problem: Option<Failure>,
}

/// Merges the branches as the migration must: a language comes from the published copy where
/// it has one, else from the draft; languages edx-val already has are left alone; any failure
/// among the languages to migrate fails the whole video. A language whose winning copy has no
/// file, or an empty one, is skipped: learners see nothing there today, and the draft's file
/// is not published by the back door.
fn plan_video(usage_key: &UsageKey, copies: &[CopyRead], in_edxval: &BTreeSet<String>) -> VideoPlan {
    let mut plan = VideoPlan::default();
    let fail = |kind: &str, message: String| Failure { kind: kind.into(), language: None, file: None, message };
    let named = format!("course {}, video {usage_key}", usage_key.course);
    match plan::target_edx_video_id(usage_key, copies.iter().map(|c| c.edx_video_id.as_str())) {
        Ok(id) if plan::is_valid_edx_video_id(&id) => {
            plan.write_back = copies.iter().filter(|c| c.edx_video_id.is_empty()).map(|c| c.branch).collect();
            plan.live_at_commit = copies.iter().any(|c| c.branch == Branch::Published && c.edx_video_id == id);
            plan.edx_video_id = id;
        }
        Ok(id) => plan.failures.push(fail("invalid_edx_video_id", format!("{named}: edx_video_id {id:?} is not a valid edx-val id"))),
        Err(disagreement) => plan.failures.push(fail("edx_video_id_disagreement", format!("{named}: {disagreement}"))),
    }
    let by_branch = |branch| copies.iter().find(|c| c.branch == branch);
    plan.failures.extend(copies.iter().filter_map(|c| c.problem.clone()));
    let languages: BTreeSet<&String> = copies.iter().flat_map(|c| c.transcripts.keys().chain(&c.not_read)).collect();
    for language in languages {
        if in_edxval.contains(language) {
            plan.already_in_edxval.insert(language.clone());
            continue;
        }
        let from = |branch| by_branch(branch).and_then(|c| c.transcripts.get(language));
        if let (Some(p), Some(d)) = (from(Branch::Published), from(Branch::Draft)) {
            let differs = match (p, d) {
                (Ok(p), Ok(d)) => p.sha256 != d.sha256,
                (p, d) => p.is_ok() != d.is_ok(),
            };
            if differs {
                plan.conflicts.insert(language.clone());
            }
        }
        match winning_branch(|branch| from(branch).is_some()).and_then(from) {
            Some(Ok(transcript)) => {
                plan.migrate.insert(language.clone(), transcript.clone());
            }
            Some(Err(failure)) if plan::NO_SOURCE_KINDS.contains(&failure.kind.as_str()) => plan.skipped.push(failure.clone()),
            Some(Err(failure)) => plan.failures.push(failure.clone()),
            None => {}
        }
    }
    if !plan.failures.is_empty() {
        plan.migrate.clear();
    }
    plan
}

#[cfg(test)]
mod tests {
    use model::plan::{SourceFormat, TranscriptRef};

    use super::*;

    fn transcript(branch: Branch, sha: &str) -> Result<TranscriptRef, Failure> {
        Ok(TranscriptRef { branch, file: format!("{sha}.srt"), format: SourceFormat::Srt, sha256: sha.into(), size: 10 })
    }

    fn failure(language: &str, kind: &str) -> Result<TranscriptRef, Failure> {
        Err(Failure { kind: kind.into(), language: Some(language.into()), file: Some("x.srt".into()), message: format!("{kind} {language}") })
    }

    fn v() -> UsageKey {
        "course-v1:edX+DemoX+2018".parse::<model::CourseKey>().unwrap().usage_key("video", "v")
    }

    fn copy(branch: Branch, id: &str, transcripts: Vec<(&str, Result<TranscriptRef, Failure>)>) -> CopyRead {
        CopyRead {
            branch,
            edx_video_id: id.into(),
            transcripts: transcripts.into_iter().map(|(l, t)| (l.to_string(), t)).collect(),
            not_read: BTreeSet::new(),
            problem: None,
        }
    }

    #[test]
    fn published_wins_draft_adds_and_edxval_languages_are_left_alone() {
        let copies = [
            copy(Branch::Published, "", vec![("de", transcript(Branch::Published, "p-de")), ("en", transcript(Branch::Published, "p-en"))]),
            copy(
                Branch::Draft,
                "",
                vec![("de", transcript(Branch::Draft, "d-de")), ("it", transcript(Branch::Draft, "d-it")), ("en", transcript(Branch::Draft, "p-en"))],
            ),
        ];
        let mut plan = plan_video(&v(), &copies, &BTreeSet::from(["en".to_string(), "ja".to_string()]));
        assert_eq!(plan.failures, vec![]);
        let picked: Vec<(&str, &str)> = plan.migrate.iter().map(|(l, t)| (l.as_str(), t.sha256.as_str())).collect();
        assert_eq!(picked, [("de", "p-de"), ("it", "d-it")]);
        assert_eq!(plan.conflicts, BTreeSet::from(["de".to_string()]));
        assert_eq!(plan.already_in_edxval, BTreeSet::from(["en".to_string()]), "only languages the video has");

        // The diff does not read languages edx-val has; they still count as already there.
        let mut unread = copies[0].clone();
        unread.transcripts.remove("en");
        unread.not_read.insert("en".into());
        plan = plan_video(&v(), &[unread], &BTreeSet::from(["en".to_string()]));
        assert_eq!(plan.already_in_edxval, BTreeSet::from(["en".to_string()]));
        assert!(!plan.migrate.contains_key("en"));
    }

    #[test]
    fn one_bad_language_fails_the_whole_video_unless_edxval_has_it() {
        let copies = [copy(Branch::Published, "abc-1", vec![("de", transcript(Branch::Published, "ok")), ("fr", failure("fr", "unparsable_srt"))])];
        let plan = plan_video(&v(), &copies, &BTreeSet::new());
        assert!(plan.migrate.is_empty());
        assert_eq!(plan.failures.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(), ["unparsable_srt"]);
        let plan = plan_video(&v(), &copies, &BTreeSet::from(["fr".to_string()]));
        assert_eq!((plan.failures.len(), plan.migrate.len(), plan.edx_video_id.as_str()), (0, 1, "abc-1"));
    }

    #[test]
    fn a_language_without_a_source_file_is_skipped_and_the_others_migrate() {
        let copies = [copy(
            Branch::Published,
            "",
            vec![("de", transcript(Branch::Published, "ok")), ("fr", failure("fr", "missing")), ("es", failure("es", "empty"))],
        )];
        let plan = plan_video(&v(), &copies, &BTreeSet::new());
        assert_eq!((plan.failures.len(), plan.migrate.len()), (0, 1));
        assert_eq!(plan.skipped.iter().map(|f| f.language.as_deref().unwrap()).collect::<Vec<_>>(), ["es", "fr"]);

        // The published copy's missing file is not replaced by the draft's.
        let copies = [
            copy(Branch::Published, "", vec![("de", failure("de", "missing"))]),
            copy(Branch::Draft, "", vec![("de", transcript(Branch::Draft, "d"))]),
        ];
        let plan = plan_video(&v(), &copies, &BTreeSet::new());
        assert_eq!((plan.migrate.len(), plan.skipped.len()), (0, 1));
    }

    #[test]
    fn a_broken_draft_copy_does_not_fail_a_language_the_published_copy_has() {
        let copies = [
            copy(Branch::Published, "", vec![("de", transcript(Branch::Published, "p"))]),
            copy(Branch::Draft, "", vec![("de", failure("de", "missing"))]),
        ];
        let plan = plan_video(&v(), &copies, &BTreeSet::new());
        assert_eq!((plan.failures.len(), plan.migrate.len()), (0, 1));
        assert!(plan.conflicts.contains("de"), "the result says the copies differ");
    }

    #[test]
    fn block_problems_and_bad_ids_fail_the_video() {
        let mut broken = copy(Branch::Published, "", vec![("de", transcript(Branch::Published, "p"))]);
        broken.problem = Some(Failure { kind: "bad_transcripts_field".into(), language: None, file: None, message: "m".into() });
        assert_eq!(plan_video(&v(), &[broken], &BTreeSet::new()).failures[0].kind, "bad_transcripts_field");

        let bad_id = copy(Branch::Published, "has space", vec![("de", transcript(Branch::Published, "p"))]);
        let plan = plan_video(&v(), &[bad_id], &BTreeSet::new());
        assert_eq!((plan.failures[0].kind.as_str(), plan.migrate.len()), ("invalid_edx_video_id", 0));
        assert!(plan.failures[0].message.starts_with("course course-v1:edX+DemoX+2018, video block-v1:edX+DemoX+2018+type@video+block@v: "));

        let disagree = [copy(Branch::Published, "a", vec![]), copy(Branch::Draft, "b", vec![])];
        assert_eq!(plan_video(&v(), &disagree, &BTreeSet::new()).failures[0].kind, "edx_video_id_disagreement");
        let one_set = [copy(Branch::Published, "", vec![]), copy(Branch::Draft, "b", vec![])];
        let plan = plan_video(&v(), &one_set, &BTreeSet::new());
        assert_eq!((plan.edx_video_id.as_str(), plan.write_back.iter().collect::<Vec<_>>()), ("b", vec![&Branch::Published]));
    }

    #[test]
    fn a_block_without_edx_video_id_gets_the_external_video_of_its_usage_key() {
        let none = [copy(Branch::Published, "", vec![]), copy(Branch::Draft, "", vec![])];
        let usage_key = "course-v1:a+b+c".parse::<model::CourseKey>().unwrap().usage_key("video", "v");
        assert_eq!(usage_key.to_string(), "block-v1:a+b+c+type@video+block@v");
        let plan = plan_video(&usage_key, &none, &BTreeSet::new());
        assert_eq!(plan.edx_video_id, model::ids::external_edx_video_id(&usage_key));
        assert_eq!(plan.write_back, BTreeSet::from([Branch::Draft, Branch::Published]));
        let set = [copy(Branch::Published, "abc", vec![])];
        assert!(plan_video(&v(), &set, &BTreeSet::new()).write_back.is_empty());
    }
}

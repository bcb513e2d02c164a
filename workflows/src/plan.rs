//! What to do with one video: the diff of its transcripts in both branches against edx-val.
//! Pure and deterministic, so that the same reads always give the same plan.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Branch, UsageKey};

/// How the transcript was stored in the contentstore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    /// An SJSON asset (`subs_{id}.srt.sjson`), migrated byte for byte.
    Sjson,
    /// An SRT file, converted to SJSON.
    Srt,
}

/// A transcript as the diff read it: enough to find it again and to check that what is
/// uploaded later is what was planned. Its content never enters workflow history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptRef {
    pub branch: Branch,
    /// The contentstore asset it comes from.
    pub file: String,
    pub format: SourceFormat,
    /// SHA-256 (hex) and size of the SJSON bytes to upload.
    pub sha256: String,
    pub size: u64,
}

/// Why a video cannot be migrated as it is: bad data that retrying will not fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// A stable name: `missing`, `unparsable_srt`, `bad_transcripts_field`, …
    pub kind: String,
    pub language: Option<String>,
    pub file: Option<String>,
    /// The full message, naming course, video, language, file and cause.
    pub message: String,
}

/// One branch's copy of a video block, as read by the diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchCopy {
    pub branch: Branch,
    pub edx_video_id: String,
    /// The languages this copy has that were read, or failed to be.
    pub transcripts: BTreeMap<String, Result<TranscriptRef, Failure>>,
    /// The languages this copy has that were not read, because edx-val already has them.
    #[serde(default)]
    pub not_read: BTreeSet<String>,
    /// A problem of the whole block, such as a `transcripts` field of the wrong type.
    pub problem: Option<Failure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct VideoPlan {
    /// The edx-val video the transcripts go to: the `edx_video_id` the branches agree on, or,
    /// when the block has none, the external video derived from its usage key. edx-val gets
    /// an external video under this id if it does not know it yet.
    pub edx_video_id: String,
    /// Branches whose copy of the block has no `edx_video_id`: `edx_video_id` is written into
    /// them once edx-val holds the video's transcripts.
    #[serde(default)]
    pub write_back: BTreeSet<Branch>,
    /// Languages to upload and record, each from the branch that wins.
    pub migrate: BTreeMap<String, TranscriptRef>,
    /// Languages edx-val already has for the video: never touched.
    pub already_in_edxval: BTreeSet<String>,
    /// Languages both branches hold with different content: the published copy is migrated.
    pub conflicts: BTreeSet<String>,
    /// Non-empty when the video cannot be migrated; then `migrate` is empty (all or nothing).
    pub failures: Vec<Failure>,
}

/// `^[a-zA-Z0-9\-_]*$`, at most 100 characters: what edx-val accepts as an `edx_video_id`.
pub fn is_valid_edx_video_id(id: &str) -> bool {
    id.len() <= 100 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The one `edx_video_id` of a video's copies: empty when none has one, an error when they
/// name different ones.
pub fn agreed_edx_video_id<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<String, String> {
    let ids: BTreeSet<&str> = ids.into_iter().filter(|id| !id.is_empty()).collect();
    match ids.len() {
        0 => Ok(String::new()),
        1 => Ok(ids.into_iter().next().unwrap_or_default().to_string()),
        _ => Err(format!("the branches name different edx_video_ids: {}", ids.into_iter().collect::<Vec<_>>().join(", "))),
    }
}

/// The edx-val video of a block whose copies name `ids`: the one they agree on, else the
/// external video derived from the usage key; an error when the copies disagree.
pub fn target_edx_video_id<'a>(usage_key: &str, ids: impl IntoIterator<Item = &'a str>) -> Result<String, String> {
    let agreed = agreed_edx_video_id(ids)?;
    Ok(if agreed.is_empty() { crate::ids::external_edx_video_id(usage_key) } else { agreed })
}

/// Merges the branches as the migration must: a language comes from the published copy where
/// it has one, else from the draft; languages edx-val already has are left alone; any failure
/// among the languages to migrate fails the whole video.
pub fn plan_video(usage_key: &UsageKey, copies: &[BranchCopy], in_edxval: &BTreeSet<String>) -> VideoPlan {
    let mut plan = VideoPlan::default();
    let video = usage_key.to_string();
    let fail = |kind: &str, message: String| Failure { kind: kind.into(), language: None, file: None, message };
    let named = format!("course {}, video {video}", usage_key.course);
    match target_edx_video_id(&video, copies.iter().map(|c| c.edx_video_id.as_str())) {
        Ok(id) if is_valid_edx_video_id(&id) => {
            plan.edx_video_id = id;
            plan.write_back = copies.iter().filter(|c| c.edx_video_id.is_empty()).map(|c| c.branch).collect();
        }
        Ok(id) => plan.failures.push(fail("invalid_edx_video_id", format!("{named}: edx_video_id {id:?} is not a valid edx-val id"))),
        Err(disagreement) => plan.failures.push(fail("edx_video_id_disagreement", format!("{named}: {disagreement}"))),
    }
    let by_branch = |branch| copies.iter().find(|c| c.branch == branch);
    let (published, draft) = (by_branch(Branch::Published), by_branch(Branch::Draft));
    plan.failures.extend(copies.iter().filter_map(|c| c.problem.clone()));
    let languages: BTreeSet<&String> = copies.iter().flat_map(|c| c.transcripts.keys().chain(&c.not_read)).collect();
    for language in languages {
        if in_edxval.contains(language) {
            plan.already_in_edxval.insert(language.clone());
            continue;
        }
        let from_published = published.and_then(|c| c.transcripts.get(language));
        let from_draft = draft.and_then(|c| c.transcripts.get(language));
        if let (Some(p), Some(d)) = (from_published, from_draft) {
            let differs = match (p, d) {
                (Ok(p), Ok(d)) => p.sha256 != d.sha256,
                (p, d) => p.is_ok() != d.is_ok(),
            };
            if differs {
                plan.conflicts.insert(language.clone());
            }
        }
        match from_published.or(from_draft) {
            Some(Ok(transcript)) => {
                plan.migrate.insert(language.clone(), transcript.clone());
            }
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
    use super::*;

    fn transcript(branch: Branch, sha: &str) -> Result<TranscriptRef, Failure> {
        Ok(TranscriptRef { branch, file: format!("{sha}.srt"), format: SourceFormat::Srt, sha256: sha.into(), size: 10 })
    }

    fn failure(language: &str, kind: &str) -> Result<TranscriptRef, Failure> {
        Err(Failure { kind: kind.into(), language: Some(language.into()), file: Some("x.srt".into()), message: format!("{kind} {language}") })
    }

    fn v() -> UsageKey {
        "course-v1:edX+DemoX+2018".parse::<crate::CourseKey>().unwrap().usage_key("video", "v")
    }

    fn copy(branch: Branch, id: &str, transcripts: Vec<(&str, Result<TranscriptRef, Failure>)>) -> BranchCopy {
        BranchCopy {
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
        let usage_key = "course-v1:a+b+c".parse::<crate::CourseKey>().unwrap().usage_key("video", "v");
        assert_eq!(usage_key.to_string(), "block-v1:a+b+c+type@video+block@v");
        let plan = plan_video(&usage_key, &none, &BTreeSet::new());
        assert_eq!(plan.edx_video_id, crate::ids::external_edx_video_id("block-v1:a+b+c+type@video+block@v"));
        assert_eq!(plan.write_back, BTreeSet::from([Branch::Draft, Branch::Published]));
        let set = [copy(Branch::Published, "abc", vec![])];
        assert!(plan_video(&v(), &set, &BTreeSet::new()).write_back.is_empty());
    }

    #[test]
    fn edx_video_id_rule() {
        assert!(is_valid_edx_video_id("") && is_valid_edx_video_id("a-B_9") && is_valid_edx_video_id(&"x".repeat(100)));
        assert!(!is_valid_edx_video_id("a b") && !is_valid_edx_video_id("é") && !is_valid_edx_video_id(&"x".repeat(101)));
    }
}

//! The manifest: what the seed wrote and what reading and migrating it must produce. Tests
//! compare the readers and the migration against it.

use std::collections::{BTreeMap, BTreeSet};

use model::Branch;
use model::plan::SourceFormat;
use serde::{Deserialize, Serialize};

/// What the project's readers must find for one language of one branch of a video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Read {
    Transcript {
        /// The asset name of the file that holds it.
        file: String,
        format: SourceFormat,
        /// SHA-256 of the SJSON bytes to upload: the asset itself, or the converted SRT.
        sha256: String,
        cues: usize,
        /// The expected SJSON, unless the manifest was written lean.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sjson: Option<serde_json::Value>,
    },
    Error {
        kind: String,
        file: Option<String>,
    },
}

impl Read {
    fn sha256(&self) -> Option<&str> {
        match self {
            Read::Transcript { sha256, .. } => Some(sha256),
            Read::Error { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct BranchView {
    pub languages: BTreeMap<String, Read>,
    /// A problem of the whole block, such as a `transcripts` field of the wrong type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Migrated,
    NothingToMigrate,
    Failed,
    /// No parent names the block: left out, reported as an orphan.
    Orphan,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedTranscript {
    pub from: Branch,
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: String,
    pub language: Option<String>,
    pub file: Option<String>,
}

/// What a correct migration does with the video.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedVideo {
    pub outcome: Outcome,
    /// The languages it uploads and records in edx-val, and where each comes from.
    pub migrate: BTreeMap<String, ExpectedTranscript>,
    /// Languages edx-val already has for the video: left as they are.
    pub already_in_edxval: BTreeSet<String>,
    /// Languages both branches hold with different content; the published copy wins.
    pub conflicts: BTreeSet<String>,
    /// Whether the migration must create an external edx-val video and write its id back.
    pub creates_external_video: bool,
    pub failure: Option<Failure>,
    /// Languages with no source file, or an empty one: reported, not migrated.
    #[serde(default)]
    pub skipped: BTreeSet<String>,
}

impl ExpectedVideo {
    pub fn orphan() -> Self {
        ExpectedVideo {
            outcome: Outcome::Orphan,
            migrate: BTreeMap::new(),
            already_in_edxval: BTreeSet::new(),
            conflicts: BTreeSet::new(),
            creates_external_video: false,
            failure: None,
            skipped: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestVideo {
    pub usage_key: String,
    pub block_id: String,
    pub edx_video_id: String,
    /// The edx-val video its transcripts end up in: its own `edx_video_id`, or the external
    /// video the migration derives from its usage key.
    pub target_edx_video_id: String,
    pub branches: BTreeMap<Branch, BranchView>,
    /// No parent names the block.
    #[serde(default)]
    pub orphan: bool,
    /// The other courses whose blocks name the same edx-val video, which edx-val links to all
    /// of them (a rerun's). Where their copies agree, the first to commit migrates the video
    /// and the others find its transcripts in edx-val.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<String>,
    pub expected: ExpectedVideo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestCourse {
    pub course_key: String,
    pub modulestore: String,
    pub videos: Vec<ManifestVideo>,
    /// The course's transcript flag must end up on exactly when no video fails.
    pub flag_expected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Totals {
    pub courses: usize,
    pub videos: usize,
    pub transcripts_to_migrate: usize,
    pub failed_videos: usize,
    pub assets: usize,
    #[serde(default)]
    pub orphans: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub seed: u64,
    pub tag: String,
    pub modulestore_db: String,
    pub contentstore_db: String,
    pub totals: Totals,
    pub courses: Vec<ManifestCourse>,
}

/// Merges the branches as the migration must: a language comes from the published branch where
/// it has it, otherwise from the draft; languages edx-val already has are left alone; a
/// language with no file, or an empty one, is skipped; a video migrates all of its other
/// missing languages or, if one of them cannot be read, none. An
/// `edx_video_id` edx-val would refuse fails the video before anything else.
pub fn expected_video(branches: &BTreeMap<Branch, BranchView>, edx_video_id: &str, known_languages: Option<&BTreeSet<String>>) -> ExpectedVideo {
    let already: BTreeSet<String> = known_languages.cloned().unwrap_or_default();
    let mut expected = ExpectedVideo {
        outcome: Outcome::NothingToMigrate,
        migrate: BTreeMap::new(),
        already_in_edxval: BTreeSet::new(),
        conflicts: BTreeSet::new(),
        creates_external_video: known_languages.is_none(),
        failure: None,
        skipped: BTreeSet::new(),
    };
    let fail = |kind: &str, language: Option<&str>, file: Option<&String>| Failure {
        kind: kind.into(),
        language: language.map(Into::into),
        file: file.cloned(),
    };
    if !model::plan::is_valid_edx_video_id(edx_video_id) {
        expected.failure = Some(fail("invalid_edx_video_id", None, None));
        expected.outcome = Outcome::Failed;
        return expected;
    }
    for branch in [Branch::Published, Branch::Draft] {
        if let Some(problem) = branches.get(&branch).and_then(|view| view.problem.as_ref()) {
            expected.failure = Some(fail(problem, None, None));
            expected.outcome = Outcome::Failed;
            return expected;
        }
    }
    let published = branches.get(&Branch::Published).map(|v| &v.languages);
    let draft = branches.get(&Branch::Draft).map(|v| &v.languages);
    let languages: BTreeSet<&String> = published.into_iter().chain(draft).flat_map(|m| m.keys()).collect();
    for language in languages {
        if already.contains(language) {
            expected.already_in_edxval.insert(language.clone());
            continue;
        }
        let from_published = published.and_then(|m| m.get(language));
        let from_draft = draft.and_then(|m| m.get(language));
        if let (Some(p), Some(d)) = (from_published, from_draft) {
            let differs = match (p.sha256(), d.sha256()) {
                (Some(a), Some(b)) => a != b,
                _ => p != d,
            };
            if differs {
                expected.conflicts.insert(language.clone());
            }
        }
        let (branch, read) = match (from_published, from_draft) {
            (Some(read), _) => (Branch::Published, read),
            (None, Some(read)) => (Branch::Draft, read),
            (None, None) => continue,
        };
        match read {
            Read::Transcript { file, sha256, .. } => {
                expected.migrate.insert(language.clone(), ExpectedTranscript { from: branch, file: file.clone(), sha256: sha256.clone() });
            }
            Read::Error { kind, .. } if model::plan::NO_SOURCE_KINDS.contains(&kind.as_str()) => {
                expected.skipped.insert(language.clone());
            }
            Read::Error { kind, file } => {
                expected.failure.get_or_insert_with(|| fail(kind, Some(language), file.as_ref()));
            }
        }
    }
    expected.outcome = if expected.failure.is_some() {
        expected.migrate.clear();
        Outcome::Failed
    } else if expected.migrate.is_empty() {
        Outcome::NothingToMigrate
    } else {
        Outcome::Migrated
    };
    if expected.outcome != Outcome::Migrated {
        expected.creates_external_video = false;
    }
    expected
}

/// The copy a language comes from: the published branch's, else the draft's.
fn winning_read<'a>(branches: &'a BTreeMap<Branch, BranchView>, language: &str) -> Option<&'a Read> {
    let read = |branch| branches.get(&branch).and_then(|view| view.languages.get(language));
    model::video::winning_branch(|branch| read(branch).is_some()).and_then(read)
}

/// Marks the videos naming `edx_video_id` in the `linked` courses as shared, and fails each one
/// with a language to migrate that another of them gives differently or lacks: committing it
/// would change what that course's learners see.
pub fn share(courses: &mut [ManifestCourse], edx_video_id: &str, linked: &[String]) {
    let sharing: Vec<(usize, usize)> = courses
        .iter()
        .enumerate()
        .filter(|(_, c)| linked.contains(&c.course_key))
        .flat_map(|(i, c)| c.videos.iter().enumerate().filter(|(_, v)| v.edx_video_id == edx_video_id && !v.orphan).map(move |(j, _)| (i, j)))
        .collect();
    let mut failures = Vec::new();
    for &(i, j) in &sharing {
        let video = &courses[i].videos[j];
        let others: Vec<&ManifestVideo> = sharing.iter().filter(|(k, _)| *k != i).map(|&(k, l)| &courses[k].videos[l]).collect();
        let differs = video.expected.migrate.iter().find(|(language, planned)| {
            others.iter().any(|other| winning_read(&other.branches, language).and_then(Read::sha256) != Some(planned.sha256.as_str()))
        });
        let failure = differs.map(|(language, planned)| Failure {
            kind: "shared_video_differs".into(),
            language: Some(language.clone()),
            file: Some(planned.file.clone()),
        });
        let shared_with = sharing.iter().filter(|(k, _)| *k != i).map(|&(k, _)| courses[k].course_key.clone()).collect();
        failures.push((i, j, failure, shared_with));
    }
    for (i, j, failure, shared_with) in failures {
        let video = &mut courses[i].videos[j];
        video.shared_with = shared_with;
        if let Some(failure) = failure {
            video.expected.outcome = Outcome::Failed;
            video.expected.migrate.clear();
            video.expected.creates_external_video = false;
            video.expected.failure = Some(failure);
        }
    }
}

//! What to do with one video, as its diff decided: the languages to migrate and where each
//! comes from, those edx-val has already, and why the video cannot be migrated. Also edx-val's
//! rules for the `edx_video_id` a video's transcripts go to.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::video::VideoUnit;
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct VideoPlan {
    /// edx-val's `DIRECTORY_PREFIX` as the planning worker is configured: the transcripts'
    /// storage keys are this prefix, a uuid hex and `.sjson`.
    #[serde(default)]
    pub directory_prefix: String,
    /// The edx-val video the transcripts go to: the `edx_video_id` the branches agree on, or,
    /// when the block has none, the external video derived from its usage key. edx-val gets
    /// an external video under this id if it does not know it yet.
    pub edx_video_id: String,
    /// Branches whose copy of the block has no `edx_video_id`: `edx_video_id` is written into
    /// them once edx-val holds the video's transcripts.
    pub write_back: BTreeSet<Branch>,
    /// Languages to upload and record, each from the branch that wins.
    pub migrate: BTreeMap<String, TranscriptRef>,
    /// Languages edx-val already has for the video: never touched.
    pub already_in_edxval: BTreeSet<String>,
    /// Languages both branches hold with different content: the published copy is migrated.
    pub conflicts: BTreeSet<String>,
    /// The published copy names `edx_video_id` already: its learners get edx-val's transcripts
    /// from the commit on, not at the course's cut-over.
    #[serde(default)]
    pub live_at_commit: bool,
    /// Non-empty when the video cannot be migrated; then `migrate` is empty (all or nothing).
    pub failures: Vec<Failure>,
    /// Languages with nothing to read: the contentstore holds no file for them, or an empty
    /// one (kinds `missing`, `empty`). The LMS cannot show them today either; they are reported
    /// and the video's other languages migrate, unless the run is strict.
    #[serde(default)]
    pub skipped: Vec<Failure>,
}

/// A video and what its diff decided for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedUnit {
    pub unit: VideoUnit,
    pub plan: VideoPlan,
}

/// The problems of a read that leave nothing to migrate rather than something broken.
pub const NO_SOURCE_KINDS: &[&str] = &["missing", "empty"];

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
pub fn target_edx_video_id<'a>(usage_key: &UsageKey, ids: impl IntoIterator<Item = &'a str>) -> Result<String, String> {
    let agreed = agreed_edx_video_id(ids)?;
    Ok(if agreed.is_empty() { crate::ids::external_edx_video_id(usage_key) } else { agreed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edx_video_id_rule() {
        assert!(is_valid_edx_video_id("") && is_valid_edx_video_id("a-B_9") && is_valid_edx_video_id(&"x".repeat(100)));
        assert!(!is_valid_edx_video_id("a b") && !is_valid_edx_video_id("é") && !is_valid_edx_video_id(&"x".repeat(101)));
    }

    #[test]
    fn the_edx_video_id_of_a_video() {
        let v = "course-v1:a+b+c".parse::<crate::CourseKey>().unwrap().usage_key("video", "v");
        assert_eq!(target_edx_video_id(&v, ["", "abc"]), Ok("abc".to_string()));
        assert_eq!(target_edx_video_id(&v, ["", ""]), Ok(crate::ids::external_edx_video_id(&v)));
        assert!(target_edx_video_id(&v, ["a", "b"]).unwrap_err().contains("a, b"));
    }
}

//! A video block as the migration sees it: the settings fields that decide where its
//! transcripts are, in each branch that has the block.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::{Branch, UsageKey};

/// The settings-scope fields of a video block that decide where its transcripts are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VideoFields {
    pub display_name: Option<String>,
    /// The English transcript's sub id; empty when unset.
    pub sub: String,
    /// The XBlock default `3_yD_cEKoCk` when the field was never set, as edx-platform reads it.
    pub youtube_id_1_0: String,
    pub html5_sources: Vec<String>,
    pub transcripts: TranscriptsField,
    pub edx_video_id: String,
}

/// The `transcripts` field: `{language code: file name}`, or whatever else a broken course holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptsField {
    Map(BTreeMap<String, String>),
    Invalid { found: String },
}

impl Default for TranscriptsField {
    fn default() -> Self {
        TranscriptsField::Map(BTreeMap::new())
    }
}

impl VideoFields {
    /// The languages of the video as edx-platform lists them: the keys of `transcripts`, plus
    /// `en` when `sub` is set.
    /// A `transcripts` field of the wrong type gives what it holds instead.
    pub fn languages(&self) -> Result<BTreeSet<String>, &str> {
        let map = match &self.transcripts {
            TranscriptsField::Map(map) => map,
            TranscriptsField::Invalid { found } => return Err(found),
        };
        let mut languages: BTreeSet<String> = map.keys().cloned().collect();
        if !self.sub.is_empty() {
            languages.insert("en".into());
        }
        Ok(languages)
    }
}

/// One branch's copy of a video block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoCopy {
    pub branch: Branch,
    pub fields: VideoFields,
}

/// A video to migrate: one block, with its copy in each branch that has it (draft-only videos
/// have no published copy). Draft and published share one `edx_video_id` and one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoUnit {
    pub usage_key: UsageKey,
    pub copies: Vec<VideoCopy>,
}

impl VideoUnit {
    /// The copy a language is served from: the published one where it has the language, else
    /// the draft (the migration's rule; see [`winning_branch`]).
    pub fn winning_copy(&self, language: &str) -> Option<&VideoCopy> {
        let has = |branch| self.copies.iter().find(|c| c.branch == branch).filter(|c| c.fields.languages().is_ok_and(|l| l.contains(language)));
        winning_branch(|branch| has(branch).is_some()).and_then(has)
    }
}

/// The branch a language comes from: the published copy where it has the language (what
/// learners see), else the draft. The diff, validation and the shared-video check all take a
/// language from here.
pub fn winning_branch(has_language: impl Fn(Branch) -> bool) -> Option<Branch> {
    [Branch::Published, Branch::Draft].into_iter().find(|branch| has_language(*branch))
}

/// Groups the blocks of a course's branches into one unit per video, in usage key order.
pub fn units(blocks: impl IntoIterator<Item = (UsageKey, VideoCopy)>) -> Vec<VideoUnit> {
    let mut by_key: BTreeMap<UsageKey, Vec<VideoCopy>> = BTreeMap::new();
    for (usage_key, copy) in blocks {
        by_key.entry(usage_key).or_default().push(copy);
    }
    by_key
        .into_iter()
        .map(|(usage_key, mut copies)| {
            copies.sort_by_key(|c| c.branch);
            copies.dedup_by_key(|c| c.branch);
            VideoUnit { usage_key, copies }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_both_branches_become_one_unit_per_video() {
        let course: crate::CourseKey = "course-v1:edX+DemoX+2018".parse().unwrap();
        let copy = |branch, sub: &str| VideoCopy { branch, fields: VideoFields { sub: sub.into(), ..Default::default() } };
        let units = units([
            (course.usage_key("video", "b"), copy(Branch::Published, "pb")),
            (course.usage_key("video", "a"), copy(Branch::Draft, "da")),
            (course.usage_key("video", "b"), copy(Branch::Draft, "db")),
        ]);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].usage_key.block_id, "a");
        assert_eq!(units[0].copies.len(), 1, "a draft-only video");
        let branches: Vec<Branch> = units[1].copies.iter().map(|c| c.branch).collect();
        assert_eq!(branches, [Branch::Draft, Branch::Published]);
    }

    #[test]
    fn units_travel_as_json() {
        let course: crate::CourseKey = "edX/DemoX/2013".parse().unwrap();
        let fields = VideoFields { transcripts: TranscriptsField::Invalid { found: "the string \"x.srt\"".into() }, ..Default::default() };
        let unit = VideoUnit { usage_key: course.usage_key("video", "v"), copies: vec![VideoCopy { branch: Branch::Draft, fields }] };
        let json = serde_json::to_string(&unit).unwrap();
        assert_eq!(serde_json::from_str::<VideoUnit>(&json).unwrap(), unit);
    }
}

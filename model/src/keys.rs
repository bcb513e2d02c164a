//! Open edX course keys and usage keys, in the two styles real installations hold.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A course run, e.g. `course-v1:edX+DemoX+2018` (split modulestore) or `edX/DemoX/2018`
/// (old "draft" Mongo modulestore).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CourseKey {
    pub org: String,
    pub course: String,
    pub run: String,
    /// `true` for `org/course/run` keys, whose blocks live in the old Mongo modulestore and
    /// whose assets have subdocument ids.
    pub old_style: bool,
}

/// edx-platform keeps course keys in `CourseKeyField(max_length=255)` columns; a longer key
/// names no course.
const MAX_COURSE_KEY_CHARS: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid course key {key:?}: {reason}")]
pub struct CourseKeyError {
    pub key: String,
    pub reason: &'static str,
}

impl CourseKey {
    pub fn new_style(org: &str, course: &str, run: &str) -> Result<Self, CourseKeyError> {
        Self::checked(org, course, run, false)
    }

    pub fn old_style(org: &str, course: &str, run: &str) -> Result<Self, CourseKeyError> {
        Self::checked(org, course, run, true)
    }

    fn checked(org: &str, course: &str, run: &str, old_style: bool) -> Result<Self, CourseKeyError> {
        let key = Self { org: org.into(), course: course.into(), run: run.into(), old_style };
        if key.to_string().chars().count() > MAX_COURSE_KEY_CHARS {
            return Err(key.error("longer than 255 characters, the size of edx-platform's course id columns"));
        }
        for part in [org, course, run] {
            if part.is_empty() {
                return Err(key.error("an empty part"));
            }
            // opaque-keys' ALLOWED_ID_CHARS: word characters, `-`, `~`, `.`, `:`.
            if !part.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '~' | '.' | ':')) {
                return Err(key.error("a character outside [A-Za-z0-9_.~:-]"));
            }
        }
        Ok(key)
    }

    fn error(&self, reason: &'static str) -> CourseKeyError {
        CourseKeyError { key: self.to_string(), reason }
    }

    /// The usage key of a block of this course.
    pub fn usage_key(&self, block_type: &str, block_id: &str) -> UsageKey {
        UsageKey { course: self.clone(), block_type: block_type.into(), block_id: block_id.into() }
    }
}

impl std::str::FromStr for CourseKey {
    type Err = CourseKeyError;

    fn from_str(key: &str) -> Result<Self, Self::Err> {
        let bad = |reason| CourseKeyError { key: key.into(), reason };
        if let Some(rest) = key.strip_prefix("course-v1:") {
            // A course key names the whole run, never a branch or version.
            match rest.split('+').collect::<Vec<_>>()[..] {
                [org, course, run] => Self::new_style(org, course, run),
                _ => Err(bad("expected course-v1:ORG+COURSE+RUN")),
            }
        } else {
            match key.split('/').collect::<Vec<_>>()[..] {
                [org, course, run] => Self::old_style(org, course, run),
                _ => Err(bad("expected course-v1:ORG+COURSE+RUN or ORG/COURSE/RUN")),
            }
        }
    }
}

impl TryFrom<String> for CourseKey {
    type Error = CourseKeyError;
    fn try_from(key: String) -> Result<Self, Self::Error> {
        key.parse()
    }
}

impl From<CourseKey> for String {
    fn from(key: CourseKey) -> String {
        key.to_string()
    }
}

impl fmt::Display for CourseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { org, course, run, old_style } = self;
        if *old_style { write!(f, "{org}/{course}/{run}") } else { write!(f, "course-v1:{org}+{course}+{run}") }
    }
}

/// A block of a course, e.g. `block-v1:edX+DemoX+2018+type@video+block@a1b2` or
/// `i4x://edX/DemoX/video/a1b2`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UsageKey {
    pub course: CourseKey,
    pub block_type: String,
    pub block_id: String,
}

impl fmt::Display for UsageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let CourseKey { org, course, run, old_style } = &self.course;
        let (block_type, block_id) = (&self.block_type, &self.block_id);
        if *old_style {
            write!(f, "i4x://{org}/{course}/{block_type}/{block_id}")
        } else {
            write!(f, "block-v1:{org}+{course}+{run}+type@{block_type}+block@{block_id}")
        }
    }
}

/// The two views of a course that Studio (draft) and the LMS (published) see. Both are migrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    Draft,
    Published,
}

impl Branch {
    pub const ALL: [Branch; 2] = [Branch::Draft, Branch::Published];

    /// The key of this branch in a split course's `active_versions.versions`.
    pub fn split_version_key(self) -> &'static str {
        match self {
            Branch::Draft => "draft-branch",
            Branch::Published => "published-branch",
        }
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Branch::Draft => "draft",
            Branch::Published => "published",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_styles_round_trip() {
        for text in ["course-v1:edX+DemoX+2018", "edX/DemoX/2018_Fall", "course-v1:Org.x+C-1~a+run:2"] {
            let key: CourseKey = text.parse().unwrap();
            assert_eq!(key.to_string(), text);
        }
        let old: CourseKey = "edX/DemoX/2018".parse().unwrap();
        assert!(old.old_style);
        assert_eq!(old.usage_key("video", "a1b2").to_string(), "i4x://edX/DemoX/video/a1b2");
        let new: CourseKey = "course-v1:edX+DemoX+2018".parse().unwrap();
        assert_eq!(new.usage_key("video", "a1b2").to_string(), "block-v1:edX+DemoX+2018+type@video+block@a1b2");
    }

    #[test]
    fn malformed_keys_are_rejected_with_the_key_named() {
        let too_long = format!("course-v1:edX+{}+2018", "x".repeat(237));
        for text in ["course-v1:edX+DemoX", "edX/DemoX", "course-v1:edX+Demo X+2018", "", "a//b", too_long.as_str()] {
            let error = text.parse::<CourseKey>().unwrap_err();
            assert_eq!(error.key, text, "{error}");
        }
        let longest = format!("course-v1:edX+{}+2018", "x".repeat(236));
        assert_eq!(longest.len(), 255);
        assert!(longest.parse::<CourseKey>().is_ok());
    }
}

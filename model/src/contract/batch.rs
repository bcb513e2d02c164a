//! What a batch (`MigrateCourses`) exchanges with its course selection.

use serde::{Deserialize, Serialize};

use crate::CourseKey;

/// One page of the courses a batch migrates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseSelection {
    /// The batch's own list (this page of it), as the operator gave it: an entry that is not a
    /// course key is reported by its text. `None` for every course in the modulestore.
    pub listed: Option<Vec<String>>,
    /// Every course: the page starts after this course.
    pub after: Option<CourseKey>,
    /// Every course: at most this many courses on the page.
    pub limit: u32,
    /// Leave out courses whose `CourseVideoTranscriptEnabledFlag` is on already.
    pub skip_migrated: bool,
}

/// A course the batch cannot migrate, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseFailure {
    /// The course key, or the text given where no course key could be read.
    pub course_key: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SelectedCourses {
    /// The courses to migrate, in order.
    pub courses: Vec<CourseKey>,
    /// Courses left out because their flag is on already.
    pub already_migrated: Vec<CourseKey>,
    /// Entries that are not course keys.
    pub invalid: Vec<CourseFailure>,
    /// Every course: where the next page starts; `None` after the last.
    pub next_after: Option<CourseKey>,
    /// Every course: how many courses the modulestore has.
    pub total: u32,
}

//! The video blocks of split structures this worker has read, kept by course and structure id.
//! Split never changes a structure once written (every edit inserts a new version), so what was
//! read of one stays true: a big course's discovery and validation, page after page, read its
//! structure once. A course rerun starts on its source's structures, so the course key is part
//! of the key: usage keys name the course. Once a branch has a newer head (a write-back, an
//! author's save), its older structures are not read again, so they go at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use model::Branch;

use super::modulestore::BranchVideos;

/// At most this many video copies are kept, all structures together; the oldest go first.
/// Both branches of a course of 10,000 videos fit.
const MAX_VIDEOS: usize = 20_000;

/// The course key, the branch and the structure's id.
type Key = (String, Branch, String);

#[derive(Clone, Default)]
pub struct Structures {
    kept: Arc<Mutex<VecDeque<(Key, BranchVideos)>>>,
}

impl Structures {
    pub fn get(&self, course: &str, branch: Branch, structure: &str) -> Option<BranchVideos> {
        let kept = self.kept.lock().unwrap();
        kept.iter().find(|((c, b, s), _)| c == course && *b == branch && s == structure).map(|(_, found)| found.clone())
    }

    /// Keeps what `structure`, now the head of the course's `branch`, holds, in place of any
    /// other structure of that branch.
    pub fn keep(&self, course: &str, branch: Branch, structure: &str, found: &BranchVideos) {
        let size = |found: &BranchVideos| found.videos.len() + found.orphans.len();
        let mut kept = self.kept.lock().unwrap();
        kept.retain(|((c, b, _), _)| !(c == course && *b == branch));
        if size(found) > MAX_VIDEOS {
            return;
        }
        kept.push_back(((course.to_string(), branch, structure.to_string()), found.clone()));
        while kept.iter().map(|(_, found)| size(found)).sum::<usize>() > MAX_VIDEOS {
            kept.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use model::CourseKey;

    use super::*;

    fn videos(n: usize) -> BranchVideos {
        let course: CourseKey = "course-v1:a+b+c".parse().unwrap();
        BranchVideos { videos: vec![], orphans: (0..n).map(|i| course.usage_key("video", &format!("v{i}"))).collect() }
    }

    #[test]
    fn kept_by_course_branch_and_structure_within_the_bound() {
        use Branch::{Draft, Published};
        let structures = Structures::default();
        structures.keep("course-v1:a+b+c", Draft, "s1", &videos(2));
        assert_eq!(structures.get("course-v1:a+b+c", Draft, "s1").map(|f| f.orphans.len()), Some(2));
        assert!(structures.get("course-v1:a+b+rerun", Draft, "s1").is_none(), "a rerun on the same structure has its own usage keys");
        assert!(structures.get("course-v1:a+b+c", Published, "s1").is_none());
        structures.keep("course-v1:a+b+c", Published, "p1", &videos(3));
        structures.keep("course-v1:a+b+c", Draft, "s2", &videos(4));
        assert!(structures.get("course-v1:a+b+c", Draft, "s1").is_none(), "the branch's older head went");
        assert_eq!(structures.get("course-v1:a+b+c", Published, "p1").map(|f| f.orphans.len()), Some(3), "the other branch stays");
        structures.keep("course-v1:x+y+z", Draft, "t1", &videos(MAX_VIDEOS - 4));
        assert!(structures.get("course-v1:a+b+c", Published, "p1").is_none(), "the oldest went to stay within the bound");
        assert!(structures.get("course-v1:a+b+c", Draft, "s2").is_some());
        assert!(structures.get("course-v1:x+y+z", Draft, "t1").is_some());
        structures.keep("course-v1:a+b+c", Draft, "s3", &videos(MAX_VIDEOS + 1));
        assert!(structures.get("course-v1:a+b+c", Draft, "s3").is_none(), "never kept");
        assert!(structures.get("course-v1:a+b+c", Draft, "s2").is_none(), "nor its branch's older head");
    }
}

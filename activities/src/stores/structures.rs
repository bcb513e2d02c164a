//! The video blocks of split structures this worker has read, kept by course and structure id.
//! Split never changes a structure once written (every edit inserts a new version), so what was
//! read of one stays true: a big course's discovery and validation, page after page, read its
//! structure once. A course rerun starts on its source's structures, so the course key is part
//! of the key: usage keys name the course.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::modulestore::BranchVideos;

/// At most this many video copies are kept, all structures together; the oldest go first.
const MAX_VIDEOS: usize = 40_000;

/// The course key and the structure's id.
type Key = (String, String);

#[derive(Clone, Default)]
pub struct Structures {
    kept: Arc<Mutex<VecDeque<(Key, BranchVideos)>>>,
}

impl Structures {
    pub fn get(&self, course: &str, structure: &str) -> Option<BranchVideos> {
        let kept = self.kept.lock().unwrap();
        kept.iter().find(|((c, s), _)| c == course && s == structure).map(|(_, found)| found.clone())
    }

    pub fn keep(&self, course: &str, structure: &str, found: &BranchVideos) {
        let size = |found: &BranchVideos| found.videos.len() + found.orphans.len();
        if size(found) > MAX_VIDEOS {
            return;
        }
        let mut kept = self.kept.lock().unwrap();
        kept.retain(|((c, s), _)| !(c == course && s == structure));
        kept.push_back(((course.to_string(), structure.to_string()), found.clone()));
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
    fn kept_by_course_and_structure_within_the_bound() {
        let structures = Structures::default();
        structures.keep("course-v1:a+b+c", "s1", &videos(2));
        assert_eq!(structures.get("course-v1:a+b+c", "s1").map(|f| f.orphans.len()), Some(2));
        assert!(structures.get("course-v1:a+b+rerun", "s1").is_none(), "a rerun on the same structure has its own usage keys");
        assert!(structures.get("course-v1:a+b+c", "s2").is_none());
        structures.keep("course-v1:a+b+c", "s2", &videos(MAX_VIDEOS - 1));
        assert!(structures.get("course-v1:a+b+c", "s1").is_none(), "the oldest went to stay within the bound");
        assert!(structures.get("course-v1:a+b+c", "s2").is_some());
        structures.keep("course-v1:a+b+c", "s3", &videos(MAX_VIDEOS + 1));
        assert!(structures.get("course-v1:a+b+c", "s3").is_none(), "never kept");
    }
}

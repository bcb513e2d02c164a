//! Videos that several courses use. A course rerun gets its source's edx-val videos
//! (edx-platform's `copy_course_videos` links the rerun to each of them) and its blocks name the
//! same `edx_video_id`s, so a language committed to such a video is what the learners of every
//! one of those courses get. Before the commit, each language the diff planned is compared, by
//! the SHA-256 of its SJSON, with what every other linked course's reachable blocks give: the
//! same content migrates once (the other course finds it there), and different or missing
//! content fails the video, naming the other courses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use model::plan::{Failure, VideoPlan};
use model::video::VideoUnit;
use model::{CourseKey, UsageKey};

use super::Stores;
use super::diff::StoreError;
use super::discover::course_units;
use crate::formats::transcript_source::read_copy;

/// The failure kind of a language whose copies differ between the courses sharing its video.
pub const SHARED_VIDEO_DIFFERS: &str = "shared_video_differs";

/// How long this worker answers from a course's blocks once read. A rerun shares all its videos,
/// so without it every video's diff would read the whole other course again. An edit made in
/// the other course meanwhile is seen this much later, no worse than an edit between the diff
/// and the commit; validation compares what edx-val serves with each course's own files anyway.
const FRESH_FOR: Duration = Duration::from_secs(30);
const MAX_COURSES: usize = 64;

type ById = Arc<BTreeMap<String, Vec<VideoUnit>>>;

/// Other courses' reachable video blocks by the `edx_video_id` they name, as this worker last
/// read them.
#[derive(Default)]
pub struct OtherCourses {
    read: Mutex<HashMap<CourseKey, (Instant, ById)>>,
}

impl OtherCourses {
    async fn naming(&self, stores: &Stores<'_>, course: &CourseKey, edx_video_id: &str) -> Result<Vec<VideoUnit>, StoreError> {
        let fresh = self.read.lock().unwrap().get(course).filter(|(at, _)| at.elapsed() < FRESH_FOR).map(|(_, by_id)| by_id.clone());
        let by_id = match fresh {
            Some(by_id) => by_id,
            None => {
                let units = course_units(stores.modulestore, course).await.map_err(|e| StoreError(format!("modulestore: course {course}: {e}")))?;
                let mut by_id: BTreeMap<String, Vec<VideoUnit>> = BTreeMap::new();
                for unit in units {
                    let ids: BTreeSet<&str> = unit.copies.iter().map(|c| c.fields.edx_video_id.as_str()).filter(|id| !id.is_empty()).collect();
                    for id in ids {
                        by_id.entry(id.to_string()).or_default().push(unit.clone());
                    }
                }
                let by_id = Arc::new(by_id);
                let mut read = self.read.lock().unwrap();
                read.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
                if read.len() >= MAX_COURSES
                    && let Some(oldest) = read.iter().min_by_key(|(_, (at, _))| *at).map(|(course, _)| course.clone())
                {
                    read.remove(&oldest);
                }
                read.insert(course.clone(), (Instant::now(), by_id.clone()));
                by_id
            }
        };
        Ok(by_id.get(edx_video_id).cloned().unwrap_or_default())
    }
}

/// One failure per planned language whose copy in another course linked to the video (`linked`,
/// edx-val's course ids) differs from this course's, or that another course lacks.
pub async fn differing_copies(
    stores: &Stores<'_>,
    others: &OtherCourses,
    video: &UsageKey,
    plan: &VideoPlan,
    linked: &[String],
) -> Result<Vec<Failure>, StoreError> {
    let mut theirs: BTreeMap<&String, Vec<String>> = BTreeMap::new();
    for course_id in linked {
        // A course id no modulestore could hold (edx-val keeps any string) has no blocks.
        let Ok(course) = course_id.parse::<CourseKey>() else { continue };
        if course == video.course {
            continue;
        }
        for unit in others.naming(stores, &course, &plan.edx_video_id).await? {
            for (language, planned) in &plan.migrate {
                let at = format!("course {course}, video {}", unit.usage_key);
                let differs = match unit.winning_copy(language) {
                    None => format!("{at} has no transcript in this language"),
                    Some(copy) => match read_copy(stores.contentstore, &unit.usage_key, copy, language).await {
                        Ok((read, _)) if read.sha256 == planned.sha256 => continue,
                        Ok((read, _)) => format!("{at}, file {} gives SJSON with SHA-256 {}", read.file, read.sha256),
                        Err(error) if error.problem.is_retryable() => return Err(StoreError(error.to_string())),
                        Err(error) => error.to_string(),
                    },
                };
                theirs.entry(language).or_default().push(differs);
            }
        }
    }
    let course = &video.course;
    Ok(theirs
        .into_iter()
        .map(|(language, theirs)| {
            let planned = &plan.migrate[language];
            Failure {
                kind: SHARED_VIDEO_DIFFERS.into(),
                language: Some(language.clone()),
                file: Some(planned.file.clone()),
                message: format!(
                    "course {course}, video {video}, language {language}, file {}: edx-val video {} is shared with other courses, and this \
                     file's SJSON (SHA-256 {}) is not theirs: {}; committing it would change what their learners see",
                    planned.file,
                    plan.edx_video_id,
                    planned.sha256,
                    theirs.join("; ")
                ),
            }
        })
        .collect())
}

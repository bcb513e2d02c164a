//! The discovery step: one page of a course's videos, draft and published copies of each block
//! merged into one unit, in usage key order, each then planned by the page's diff.

use std::collections::BTreeSet;

use model::contract::course::{DiscoveredPage, PageRequest};
use model::video::{self, VideoUnit};
use model::{Branch, CourseKey, UsageKey};

use super::Stores;
use super::diff::{self, StoreError};
use super::planned_reads::PlannedReads;
use super::shared_videos::OtherCourses;
use crate::stores::modulestore::Modulestore;

/// A course's videos: one unit per video a learner can reach in some branch (its copies in
/// the branches that reach it), and the orphans no branch reaches, in usage key order.
#[derive(Debug, Default)]
pub struct CourseVideos {
    pub units: Vec<VideoUnit>,
    pub orphans: Vec<UsageKey>,
}

/// Every video of the course, both branches merged.
pub async fn course_videos(modulestore: &Modulestore, course: &CourseKey) -> mongodb::error::Result<CourseVideos> {
    let mut blocks = Vec::new();
    let mut orphans = BTreeSet::new();
    for branch in Branch::ALL {
        let found = modulestore.video_blocks(course, branch).await?;
        blocks.extend(found.videos);
        orphans.extend(found.orphans);
    }
    let units = video::units(blocks);
    for unit in &units {
        orphans.remove(&unit.usage_key);
    }
    Ok(CourseVideos { units, orphans: orphans.into_iter().collect() })
}

/// Every reachable video of the course, both branches merged.
pub async fn course_units(modulestore: &Modulestore, course: &CourseKey) -> mongodb::error::Result<Vec<VideoUnit>> {
    Ok(course_videos(modulestore, course).await?.units)
}

/// The orphans that fall in the page `units` covers, so that each is reported exactly once.
pub fn orphans_of_page(orphans: &[UsageKey], request: &PageRequest, next: Option<&UsageKey>) -> Vec<UsageKey> {
    let after = |key: &UsageKey| request.after.as_ref().is_none_or(|after| key > after);
    let until = |key: &UsageKey| next.is_none_or(|next| key <= next);
    orphans.iter().filter(|key| after(key) && until(key)).cloned().collect()
}

/// The page of `units` (sorted by usage key) that `request` asks for.
pub fn page_of(units: Vec<VideoUnit>, request: &PageRequest) -> (Vec<VideoUnit>, Option<UsageKey>) {
    let size = request.page_size.max(1) as usize;
    let mut rest = units.into_iter().filter(|u| request.after.as_ref().is_none_or(|after| &u.usage_key > after));
    let page: Vec<VideoUnit> = rest.by_ref().take(size).collect();
    let next = match rest.next() {
        Some(_) => page.last().map(|u| u.usage_key.clone()),
        None => None,
    };
    (page, next)
}

/// The page's videos and their plans.
pub async fn discover(stores: &Stores<'_>, others: &OtherCourses, reads: &PlannedReads, request: &PageRequest) -> Result<DiscoveredPage, StoreError> {
    let course = &request.course_key;
    let modulestore = |e: mongodb::error::Error| StoreError(format!("course {course}: modulestore: {e}"));
    if !stores.modulestore.course_exists(course).await.map_err(modulestore)? {
        return Ok(DiscoveredPage { course_exists: false, ..DiscoveredPage::default() });
    }
    let all = course_videos(stores.modulestore, course).await.map_err(modulestore)?;
    let total_videos = all.units.len() as u32;
    let (units, next) = page_of(all.units, request);
    let orphans = orphans_of_page(&all.orphans, request, next.as_ref());
    let videos = diff::diff_page(stores, others, units, reads).await?;
    Ok(DiscoveredPage { course_exists: true, total_videos, videos, next, orphans })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_unit_once() {
        let course: CourseKey = "course-v1:a+b+c".parse().unwrap();
        let units: Vec<VideoUnit> = (0..7).map(|i| VideoUnit { usage_key: course.usage_key("video", &format!("v{i}")), copies: vec![] }).collect();
        let mut request = PageRequest { course_key: course, after: None, page_size: 3 };
        let mut seen = Vec::new();
        loop {
            let (page, next) = page_of(units.clone(), &request);
            seen.extend(page.into_iter().map(|u| u.usage_key.block_id));
            match next {
                Some(next) => request.after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, ["v0", "v1", "v2", "v3", "v4", "v5", "v6"]);
        request.after = None;
        request.page_size = 7;
        assert_eq!(page_of(units, &request).1, None, "a full last page has no next page");
    }
}

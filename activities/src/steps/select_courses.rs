//! The batch's course selection: one page of the courses it was given, or of every course in
//! the modulestore, leaving out (when asked) the courses whose flag is on already.

use model::CourseKey;
use model::contract::batch::{CourseFailure, CourseSelection, SelectedCourses};
use sqlx::AnyPool;

use crate::stores::course_log;
use crate::stores::modulestore::Modulestore;

#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error("modulestore: {0}")]
    Modulestore(#[from] mongodb::error::Error),
    #[error("edx-val database: {0}")]
    Sql(#[from] sqlx::Error),
}

pub async fn select_courses(modulestore: &Modulestore, edxval: &AnyPool, selection: &CourseSelection) -> Result<SelectedCourses, SelectError> {
    let mut selected = SelectedCourses::default();
    let candidates: Vec<CourseKey> = match &selection.listed {
        Some(listed) => listed
            .iter()
            .filter_map(|raw| match raw.parse::<CourseKey>() {
                Ok(course) => Some(course),
                Err(error) => {
                    selected.invalid.push(CourseFailure { course_key: raw.clone(), message: error.to_string() });
                    None
                }
            })
            .collect(),
        None => {
            let listing = modulestore.course_keys().await?;
            selected.total = listing.courses.len() as u32;
            if selection.after.is_none() {
                // Reported once, on the first page.
                selected.invalid = listing
                    .invalid
                    .iter()
                    .map(|error| CourseFailure {
                        course_key: error.key.clone(),
                        message: format!("a course entry in the modulestore has an {error}"),
                    })
                    .collect();
            }
            let after = selection.after.as_ref();
            let mut rest = listing.courses.into_iter().filter(|course| after.is_none_or(|after| course > after));
            let page: Vec<CourseKey> = rest.by_ref().take(selection.limit.max(1) as usize).collect();
            if rest.next().is_some() {
                selected.next_after = page.last().cloned();
            }
            page
        }
    };
    let mut conn = edxval.acquire().await?;
    for course in candidates {
        if selection.skip_migrated && course_log::flag(&mut conn, &course.to_string()).await? == Some(true) {
            selected.already_migrated.push(course);
        } else {
            selected.courses.push(course);
        }
    }
    Ok(selected)
}

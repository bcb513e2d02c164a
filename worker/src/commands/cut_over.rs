//! `cut-over`: switches the learners of courses migrated with `"cut_over": false` (see
//! `activities::steps::cut_over`), refused for a course whose migration is running.

use activities::steps::cut_over::cut_over_course;
use activities::temporal::MigrationActivities;
use model::CourseKey;
use temporalio_client::{Client, WorkflowExecutionStatus};
use workflows::migrate_course::course_workflow_id;

use super::status_of;

/// Answers whether every course was switched.
pub async fn run(client: &Client, stores: &MigrationActivities, courses: &[CourseKey]) -> anyhow::Result<bool> {
    for course in courses {
        let id = course_workflow_id(course, false);
        if status_of(client, &id).await? == Some(WorkflowExecutionStatus::Running) {
            anyhow::bail!("course {course}: its migration {id} is running; let it end first");
        }
    }
    let mut all = true;
    for course in courses {
        all &= run_one(stores, course).await?;
    }
    Ok(all)
}

/// One course's cut-over, printed; whether it was switched.
pub async fn run_one(stores: &MigrationActivities, course: &CourseKey) -> anyhow::Result<bool> {
    let outcome = match cut_over_course(&stores.stores(), course).await {
        Ok(outcome) => outcome,
        Err(why) => {
            println!("course {course}: not switched: {why}");
            return Ok(false);
        }
    };
    if outcome.problems.is_empty() {
        let flag = if outcome.flag_appended { "flag on" } else { "flag was on already" };
        println!("course {course}: switched: {} videos now name their edx-val video; {flag}", outcome.switched);
        return Ok(true);
    }
    println!("course {course}: NOT switched ({} problem(s); {} videos were switched first):", outcome.problems.len(), outcome.switched);
    outcome.problems.iter().for_each(|p| println!("  {}", p.message));
    Ok(false)
}

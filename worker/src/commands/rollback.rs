//! `rollback`: undoes courses' migrations from the ledger (see `activities::steps::rollback`),
//! refused for a course whose migration is running.

use activities::steps::rollback::rollback_course;
use activities::temporal::MigrationActivities;
use model::CourseKey;
use temporalio_client::{Client, WorkflowExecutionStatus};
use workflows::migrate_course::course_workflow_id;

use super::status_of;

pub async fn run(client: &Client, stores: &MigrationActivities, courses: &[CourseKey], dry_run: bool) -> anyhow::Result<()> {
    for course in courses {
        let id = course_workflow_id(course, false);
        if status_of(client, &id).await? == Some(WorkflowExecutionStatus::Running) {
            anyhow::bail!("course {course}: its migration {id} is running; let it end (or terminate it) before rolling it back");
        }
    }
    for course in courses {
        let rolled = rollback_course(&stores.stores(), course, dry_run).await.map_err(|e| anyhow::anyhow!("course {course}: {e}"))?;
        let heading = if dry_run { "preview of the rollback" } else { "rolled back" };
        match (rolled.done.is_empty(), rolled.kept.is_empty()) {
            (true, true) => println!("course {course}: nothing to roll back"),
            _ => println!("course {course}: {heading}: {} change(s), {} kept", rolled.done.len(), rolled.kept.len()),
        }
        rolled.done.iter().for_each(|line| println!("  {line}"));
        rolled.kept.iter().for_each(|line| println!("  kept: {line}"));
    }
    Ok(())
}

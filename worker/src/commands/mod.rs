//! The operator's commands, one file each: they build the workflows' inputs and ids, so that no
//! one writes JSON. `start` a batch; `status` and `watch` it; `pause`, `resume` and `tune` it
//! (`steer`); `report`, `verify` and `rollback` a course from the ledger; `cut-over` a course
//! migrated with `"cut_over": false`; and `flags`.
//! Each is a convenience over the `temporal` CLI recipes of `docs/operating.md`, which stay valid.

pub mod cut_over;
pub mod flags;
pub mod report;
pub mod rollback;
pub mod start;
pub mod status;
pub mod steer;
pub mod verify;

use activities::temporal::MigrationActivities;
use anyhow::Context;
use futures::TryStreamExt;
use model::CourseKey;
use temporalio_client::{Client, UntypedWorkflow, WorkflowDescribeOptions, WorkflowExecutionStatus, WorkflowListOptions};
use workflows::migrate_course::course_workflow_id;

use crate::config::Config;

/// What a command acts on: a batch by its workflow id, or one course's run by its course key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Batch(String),
    Course(CourseKey),
}

impl Target {
    pub fn workflow_id(&self) -> String {
        match self {
            Target::Batch(id) => id.clone(),
            Target::Course(course) => course_workflow_id(course, false),
        }
    }
}

/// The workflow a command names: a course key means that course's run; an id, that workflow;
/// nothing, the batch running now (the newest, where there are several).
pub async fn resolve(client: &Client, given: Option<&str>) -> anyhow::Result<Target> {
    if let Some(given) = given {
        return Ok(match given.parse::<CourseKey>() {
            Ok(course) => Target::Course(course),
            Err(_) => Target::Batch(given.to_string()),
        });
    }
    let query = "WorkflowType='MigrateCourses' AND ExecutionStatus='Running'".to_string();
    let mut running: Vec<_> = client.list_workflows(query, WorkflowListOptions::default()).try_collect().await.context("listing running batches")?;
    running.sort_by_key(|run| run.start_time());
    let newest = running.pop().context("no batch is running; name one by its workflow id (or a course by its key)")?;
    Ok(Target::Batch(newest.id().to_string()))
}

/// A workflow's status, `None` when Temporal has no such workflow.
pub async fn status_of(client: &Client, workflow_id: &str) -> anyhow::Result<Option<WorkflowExecutionStatus>> {
    let handle = client.get_workflow_handle::<UntypedWorkflow>(workflow_id);
    match handle.describe(WorkflowDescribeOptions::default()).await {
        Ok(described) => Ok(Some(described.status())),
        Err(error) if format!("{error:?}").contains("NotFound") => Ok(None),
        Err(error) => Err(anyhow::anyhow!("describing {workflow_id}: {error}")),
    }
}

/// The stores, connected as a worker connects them.
pub async fn stores(config: &Config) -> anyhow::Result<MigrationActivities> {
    crate::run::migration_activities(&config.stores).await
}

/// Course keys from the arguments, refused by name when one is not a course key.
pub fn course_keys(given: &[String]) -> anyhow::Result<Vec<CourseKey>> {
    given.iter().map(|text| text.parse::<CourseKey>().with_context(|| format!("{text:?} is not a course key"))).collect()
}

/// The courses of the course log, for `--all`.
pub async fn logged_courses(sql: &sqlx::AnyPool) -> anyhow::Result<Vec<CourseKey>> {
    let listed: Result<Vec<String>, sqlx::Error> =
        sqlx::query_scalar("SELECT DISTINCT course_id FROM transcript_migrator_course_run ORDER BY course_id").fetch_all(sql).await;
    let listed = match listed {
        Err(error) if activities::stores::ledger::is_missing_table(&error) => Vec::new(),
        listed => listed.context("reading the course log")?,
    };
    course_keys(&listed)
}

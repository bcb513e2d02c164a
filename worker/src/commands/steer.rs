//! `pause`, `resume` and `tune`: the signals of a batch (handed on to its running courses) or of
//! one course run.

use clap::Args;
use temporalio_client::{Client, WorkflowSignalOptions};
use temporalio_common::data_converters::RawValue;
use workflows::controller::Tuning;
use workflows::migrate_course::MigrateCourse;
use workflows::migrate_courses::MigrateCourses;

use super::Target;

/// The limits `tune` changes; those left out stay as they are.
#[derive(Debug, Args)]
#[group(skip)]
pub struct Tune {
    #[arg(long)]
    pub max_courses_in_flight: Option<u32>,
    #[arg(long)]
    pub max_videos_in_flight_per_course: Option<u32>,
    /// Videos in flight: across the batch, or in the course run.
    #[arg(long)]
    pub max_videos_in_flight: Option<u32>,
    /// Videos each course starts per minute (0: no limit).
    #[arg(long)]
    pub videos_per_minute: Option<u32>,
}

impl Tune {
    pub fn tuning(&self) -> Tuning {
        Tuning {
            max_courses_in_flight: self.max_courses_in_flight,
            max_videos_in_flight_per_course: self.max_videos_in_flight_per_course,
            max_videos_in_flight: self.max_videos_in_flight,
            videos_per_minute: self.videos_per_minute,
        }
    }
}

pub async fn set_paused(client: &Client, target: &Target, paused: bool) -> anyhow::Result<()> {
    let id = target.workflow_id();
    let (empty, options) = (RawValue::new(vec![]), WorkflowSignalOptions::default());
    let sent = match (target, paused) {
        (Target::Batch(_), true) => client.get_workflow_handle::<MigrateCourses>(&id).signal(MigrateCourses::pause, empty, options).await,
        (Target::Batch(_), false) => client.get_workflow_handle::<MigrateCourses>(&id).signal(MigrateCourses::resume, empty, options).await,
        (Target::Course(_), true) => client.get_workflow_handle::<MigrateCourse>(&id).signal(MigrateCourse::pause, empty, options).await,
        (Target::Course(_), false) => client.get_workflow_handle::<MigrateCourse>(&id).signal(MigrateCourse::resume, empty, options).await,
    };
    sent.map_err(|e| anyhow::anyhow!("{id}: {e}"))
}

pub async fn tune(client: &Client, target: &Target, tune: &Tune) -> anyhow::Result<()> {
    let id = target.workflow_id();
    let tuning = tune.tuning();
    // The workflow refuses it too; refusing here saves a round trip and names the flag.
    Tuning::from_signal(&tuning.to_signal()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let options = WorkflowSignalOptions::default();
    let sent = match target {
        Target::Batch(_) => client.get_workflow_handle::<MigrateCourses>(&id).signal(MigrateCourses::tune, tuning.to_signal(), options).await,
        Target::Course(_) => client.get_workflow_handle::<MigrateCourse>(&id).signal(MigrateCourse::tune, tuning.to_signal(), options).await,
    };
    sent.map_err(|e| anyhow::anyhow!("{id}: {e}"))
}

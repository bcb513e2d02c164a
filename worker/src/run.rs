//! The Temporal worker: the workflows and activities of the migration on one task queue. Run as
//! many as you like, on as many hosts: they share nothing but Temporal and the stores.

use activities::stores::contentstore::Contentstore;
use activities::stores::edxval;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use activities::stores::throttle::Throttle;
use activities::temporal::MigrationActivities;
use anyhow::Context;
use temporalio_client::{Client, ClientOptions, Connection};
use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};
use workflows::migrate_course::MigrateCourse;
use workflows::migrate_courses::MigrateCourses;
use workflows::migrate_video::MigrateVideo;

use crate::config::{Config, TemporalSettings};

pub async fn connect_client(temporal: &TemporalSettings) -> anyhow::Result<Client> {
    let connection =
        Connection::connect(temporal.connection_options()?).await.with_context(|| format!("connecting to Temporal at {}", temporal.address))?;
    Ok(Client::new(connection, ClientOptions::new(temporal.namespace.clone()).build())?)
}

pub async fn migration_activities(stores: &StoreSettings) -> anyhow::Result<MigrationActivities> {
    let mongo_reads = Throttle::per_second(stores.mongo_reads_per_second);
    Ok(MigrationActivities {
        modulestore: Modulestore::connect(&stores.modulestore).await.context("connecting to the modulestore")?.throttled(mongo_reads.clone()),
        contentstore: Contentstore::connect(&stores.contentstore).await.context("connecting to the contentstore")?.throttled(mongo_reads),
        edxval: edxval::connect(&stores.edxval_database_url).await.context("connecting to edx-val's database")?,
        bucket: TranscriptBucket::connect(&stores.s3).await.throttled(Throttle::per_second(stores.s3_requests_per_second)),
        planned_reads: Default::default(),
        other_courses: Default::default(),
        tables: Default::default(),
    })
}

/// The worker's registrations, with at most `max_activities` activities at a time.
pub fn worker_options(task_queue: &str, activities: MigrationActivities, max_activities: usize) -> anyhow::Result<WorkerOptions> {
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(max_activities.max(1) * 2))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(max_activities.max(1)))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(max_activities.max(1)))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build();
    Ok(WorkerOptions::new(task_queue.to_string())
        .register_workflow::<MigrateCourses>()?
        .register_workflow::<MigrateCourse>()?
        .register_workflow::<MigrateVideo>()?
        .register_activities(activities)
        .tuner(tuner)
        .build())
}

/// Runs a worker until SIGINT or SIGTERM, then lets in-flight tasks finish.
pub async fn run(config: &Config, max_activities: usize) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(RuntimeOptions::default())?;
    let client = connect_client(&config.temporal).await?;
    let activities = migration_activities(&config.stores).await?;
    let options = worker_options(&config.temporal.task_queue, activities, max_activities)?;
    let mut worker = Worker::new(&runtime, client, options)?;
    let shutdown = worker.shutdown_handle();
    tracing::info!(task_queue = %config.temporal.task_queue, namespace = %config.temporal.namespace, "worker polling");
    let (ran, ()) = tokio::join!(worker.run(), async {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("stopping: finishing the tasks in flight");
        shutdown();
    });
    ran?;
    Ok(())
}

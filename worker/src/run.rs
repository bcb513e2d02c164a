//! The Temporal worker: the workflows and activities of the migration on one task queue. Run as
//! many as you like, on as many hosts: they share nothing but Temporal and the stores.

use std::net::SocketAddr;
use std::sync::Arc;

use activities::metrics::MigrationMetrics;
use activities::stores::contentstore::Contentstore;
use activities::stores::edxval;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::TranscriptBucket;
use activities::stores::settings::StoreSettings;
use activities::stores::throttle::Throttle;
use activities::temporal::MigrationActivities;
use anyhow::Context;
use temporalio_client::{Client, ClientOptions, Connection};
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter};
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
    measured_activities(stores, Arc::default()).await
}

/// The activities, counting into `metrics`.
pub async fn measured_activities(stores: &StoreSettings, metrics: Arc<MigrationMetrics>) -> anyhow::Result<MigrationActivities> {
    let mongo_reads = Throttle::per_second(stores.mongo_reads_per_second).counted(metrics.throttle_waits("mongo"));
    let s3_requests = Throttle::per_second(stores.s3_requests_per_second).counted(metrics.throttle_waits("s3"));
    Ok(MigrationActivities {
        modulestore: Modulestore::connect(&stores.modulestore).await.context("connecting to the modulestore")?.throttled(mongo_reads.clone()),
        contentstore: Contentstore::connect(&stores.contentstore).await.context("connecting to the contentstore")?.throttled(mongo_reads),
        edxval: edxval::connect(&stores.edxval_database_url).await.context("connecting to edx-val's database")?,
        bucket: TranscriptBucket::connect(&stores.s3).await.throttled(s3_requests),
        planned_reads: Default::default(),
        other_courses: Default::default(),
        tables: Default::default(),
        metrics,
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

/// Runs a worker until SIGINT or SIGTERM, then lets in-flight tasks finish. With
/// `metrics_address`, it serves Prometheus metrics there (the SDK's, `temporal_…`, and the
/// migration's, `transcript_migrator_…`) at `/metrics`.
pub async fn run(config: &Config, max_activities: usize, metrics_address: Option<SocketAddr>) -> anyhow::Result<()> {
    let (runtime_options, metrics) = match metrics_address {
        None => (RuntimeOptions::default(), Arc::default()),
        Some(address) => {
            let exporter = PrometheusExporterOptions::builder().socket_addr(address).counters_total_suffix(true).build();
            let served = start_prometheus_metric_exporter(exporter).with_context(|| format!("serving metrics on {address}"))?;
            tracing::info!(address = %served.bound_addr, "serving Prometheus metrics at /metrics");
            let meter: Arc<dyn CoreMeter> = served.meter;
            let telemetry = TelemetryOptions::builder().metrics(meter.clone()).build();
            let options = RuntimeOptions::builder().telemetry_options(telemetry).build().map_err(anyhow::Error::msg)?;
            (options, Arc::new(MigrationMetrics::new(meter)))
        }
    };
    let runtime = Runtime::from_current_tokio(runtime_options)?;
    let client = connect_client(&config.temporal).await?;
    let activities = measured_activities(&config.stores, metrics).await?;
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

//! `transcript-migrator check`: connects to every store and to Temporal with the configured
//! settings and says what it finds, so an operator knows the configuration is right before a
//! migration starts. Prints no secret.

use activities::stores::contentstore::Contentstore;
use activities::stores::edxval;
use activities::stores::modulestore::Modulestore;
use activities::stores::s3::{self, TranscriptBucket};
use activities::stores::settings::{Encryption, redact_url};
use activities::stores::sql_probe;
use anyhow::Context;
use temporalio_client::Connection;
use temporalio_common::protos::temporal::api::operatorservice::v1::ListSearchAttributesRequest;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest;

use crate::config::Config;

/// One store's result: its name, where it was looked for (no secret), and what was found.
pub struct Finding {
    pub store: &'static str,
    pub target: String,
    pub result: anyhow::Result<String>,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.result {
            Ok(found) => write!(f, "ok    {:<12} {}: {found}", self.store, self.target),
            Err(error) => write!(f, "FAIL  {:<12} {}: {error:#}", self.store, self.target),
        }
    }
}

pub async fn run(config: &Config) -> Vec<Finding> {
    let s = &config.stores;
    let t = &config.temporal;
    let finding = |store, target, result| Finding { store, target, result };
    vec![
        finding("modulestore", format!("{} db {}", redact_url(s.modulestore.uri.expose()), s.modulestore.database), modulestore(config).await),
        finding("contentstore", format!("{} db {}", redact_url(s.contentstore.uri.expose()), s.contentstore.database), contentstore(config).await),
        finding("S3", format!("{} bucket {}", s.s3.endpoint_url.as_deref().unwrap_or("AWS"), s.s3.bucket), s3(config).await),
        finding("edx-val", redact_url(s.edxval_database_url.expose()), edx_val(config).await),
        finding("Temporal", format!("{} namespace {} task queue {}", t.address, t.namespace, t.task_queue), temporal(config).await),
    ]
}

async fn modulestore(config: &Config) -> anyhow::Result<String> {
    let store = Modulestore::connect(&config.stores.modulestore).await?;
    let listing = store.course_keys().await?;
    let courses = &listing.courses;
    let old = courses.iter().filter(|k| k.old_style).count();
    let transport = config.stores.modulestore.transport().await?;
    let mut found = format!("{transport}; {} courses ({} split, {old} old Mongo)", courses.len(), courses.len() - old);
    for error in &listing.invalid {
        found.push_str(&format!("; skipped, {error}"));
    }
    Ok(found)
}

async fn contentstore(config: &Config) -> anyhow::Result<String> {
    let store = Contentstore::connect(&config.stores.contentstore).await?;
    let files = store.database().collection::<bson::Document>("fs.files").estimated_document_count().await?;
    let transport = config.stores.contentstore.transport().await?;
    Ok(format!("{transport}; about {files} files in GridFS bucket fs"))
}

async fn s3(config: &Config) -> anyhow::Result<String> {
    let bucket = TranscriptBucket::connect(&config.stores.s3).await;
    let under = bucket.object_key(bucket.directory_prefix());
    let listed = bucket.client().list_objects_v2().bucket(bucket.bucket()).prefix(&under).max_keys(1).send().await;
    listed.map_err(|e| anyhow::anyhow!("{}", s3::sdk_error_text(&e)))?;
    bucket.probe().await.map_err(anyhow::Error::msg)?;
    let encryption = match &config.stores.s3.encryption {
        None => "no server-side encryption asked".to_string(),
        Some(Encryption::S3Managed) => "SSE-S3 (AES256)".to_string(),
        Some(Encryption::Kms { key_id: Some(key) }) => format!("SSE-KMS with key {key}"),
        Some(Encryption::Kms { key_id: None }) => "SSE-KMS with the bucket's default key".to_string(),
    };
    Ok(format!(
        "put, put If-None-Match (refused, as it must be), get and delete all work; new transcripts go to s3://{}/{under}<hex>.sjson, {encryption}",
        bucket.bucket()
    ))
}

async fn edx_val(config: &Config) -> anyhow::Result<String> {
    let pool = edxval::connect(&config.stores.edxval_database_url).await?;
    // Constant texts (no SQL is built at run time); the error names the query, so the table.
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.with_context(|| sql)?;
            anyhow::Ok(n)
        }
    };
    let videos = count("SELECT COUNT(*) FROM edxval_video").await?;
    let transcripts = count("SELECT COUNT(*) FROM edxval_videotranscript").await?;
    let flags = count("SELECT COUNT(*) FROM video_config_coursevideotranscriptenabledflag").await?;
    count("SELECT COUNT(*) FROM video_config_migrationenqueuedcourse").await?;
    let global = global_flag(&pool).await?;
    let transport = edxval::transport(&pool).await?;
    let mut granted = String::from("every write a run makes is granted (tried, then rolled back)");
    for note in sql_probe::probe_writes(&pool).await.map_err(anyhow::Error::msg)? {
        granted.push_str(&format!(", {note}"));
    }
    Ok(format!("{transport}; {videos} videos, {transcripts} transcripts, {flags} course flag rows; {granted}; {global}"))
}

/// The global `VideoTranscriptEnabledFlag` (newest row wins), and what it means on today's
/// platform (see docs/operating.md, "When learners switch").
async fn global_flag(pool: &sqlx::AnyPool) -> anyhow::Result<String> {
    let newest = sqlx::query_as::<_, (i64, i64)>(
        "SELECT CASE WHEN enabled THEN 1 ELSE 0 END, CASE WHEN enabled_for_all_courses THEN 1 ELSE 0 END \
         FROM video_config_videotranscriptenabledflag ORDER BY change_date DESC, id DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await;
    let lms = "the LMS (Hawthorn and later) serves edx-val first for every block that names an edx_video_id, whatever the flags";
    Ok(match newest {
        Err(e) => format!("no global VideoTranscriptEnabledFlag table ({e}); {lms}"),
        Ok(None) | Ok(Some((0, _))) => format!("global VideoTranscriptEnabledFlag off: Studio hides its transcript settings, and {lms}"),
        Ok(Some((_, 0))) => {
            format!("global VideoTranscriptEnabledFlag on for courses whose course flag is on (the migration turns it on after validation); {lms}")
        }
        Ok(Some(_)) => format!("global VideoTranscriptEnabledFlag on for all courses; {lms}"),
    })
}

async fn temporal(config: &Config) -> anyhow::Result<String> {
    let connection = Connection::connect(config.temporal.connection_options()?).await?;
    let request = DescribeNamespaceRequest { namespace: config.temporal.namespace.clone(), ..Default::default() };
    let described = connection.workflow_service().describe_namespace(tonic::Request::new(request)).await?.into_inner();
    let state = described.namespace_info.map(|i| i.state().as_str_name().to_string()).unwrap_or_default();
    let namespace = &config.temporal.namespace;
    let request = ListSearchAttributesRequest { namespace: namespace.clone() };
    let registered = connection.operator_service().list_search_attributes(tonic::Request::new(request)).await?.into_inner().custom_attributes;
    let mut fixes = Vec::new();
    for (name, kind) in workflows::controller::search_attributes() {
        let kind_name = kind.as_str_name().trim_start_matches("INDEXED_VALUE_TYPE_");
        let kind_name = format!("{}{}", &kind_name[..1], kind_name[1..].to_lowercase());
        match registered.get(name) {
            Some(&found) if found == kind as i32 => {}
            Some(_) => fixes.push(format!("{name} is registered with another type than {kind_name}: remove it and create it again")),
            None => fixes.push(format!("temporal operator search-attribute create --namespace {namespace} --name {name} --type {kind_name}")),
        }
    }
    anyhow::ensure!(
        fixes.is_empty(),
        "namespace {state}, but it lacks search attributes the workflows set, so every run would stall on its first task; fix: {}",
        fixes.join("; ")
    );
    let transport = if config.temporal.uses_tls() { "over TLS" } else { "in the clear" };
    Ok(format!("{} {transport}: namespace {state}, search attributes CourseKey, DryRun, MigrationState registered", config.temporal.address))
}

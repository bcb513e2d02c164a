//! The transcripts bucket edx-val reads from.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

use super::settings::S3Settings;
use super::throttle::Throttle;

/// The user metadata key under which the migration records an object's SHA-256.
pub const SHA256_METADATA: &str = "sha256";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    Created,
    /// The key already held an object, which was left untouched (HTTP 412 to `If-None-Match: *`).
    AlreadyExists,
}

#[derive(Debug, thiserror::Error)]
#[error("S3 {operation} of s3://{bucket}/{key} failed: {detail}")]
pub struct S3Error {
    pub operation: &'static str,
    pub bucket: String,
    pub key: String,
    pub detail: String,
    pub status: Option<u16>,
}

#[derive(Clone)]
pub struct TranscriptBucket {
    client: Client,
    bucket: String,
    requests: Throttle,
}

impl TranscriptBucket {
    pub async fn connect(settings: &S3Settings) -> Self {
        let mut config = match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => aws_sdk_s3::config::Builder::new()
                .behavior_version(BehaviorVersion::latest())
                .credentials_provider(Credentials::new(id.expose(), secret.expose(), None, None, "settings")),
            _ => {
                let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
                aws_sdk_s3::config::Builder::from(&shared)
            }
        }
        .region(Region::new(settings.region.clone()))
        // S3-compatible servers differ in their support of the newer default checksums.
        .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
        // A request that gets no answer fails (and is retried) instead of waiting for ever.
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(10)).read_timeout(Duration::from_secs(30)).build());
        if let Some(endpoint) = &settings.endpoint_url {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Self { client: Client::from_conf(config.build()), bucket: settings.bucket.clone(), requests: Throttle::default() }
    }

    /// At most `requests` S3 requests per second from this bucket handle and its clones.
    pub fn throttled(self, requests: Throttle) -> Self {
        Self { requests, ..self }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn error<E>(&self, operation: &'static str, key: &str, e: SdkError<E, HttpResponse>) -> S3Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = e.raw_response().map(|r| r.status().as_u16());
        let detail = sdk_error_text(&e);
        S3Error { operation, bucket: self.bucket.clone(), key: key.into(), detail, status }
    }

    /// Writes the object only if the key is free, so nothing that exists is ever overwritten.
    /// The object carries the SHA-256 of its bytes (`x-amz-meta-sha256`) for validation.
    pub async fn put_if_absent(&self, key: &str, body: Vec<u8>) -> Result<PutOutcome, S3Error> {
        self.requests.wait().await;
        let sha256 = hex::encode(Sha256::digest(&body));
        let sent = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .metadata(SHA256_METADATA, sha256)
            .if_none_match("*")
            .body(ByteStream::from(body))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e) => match self.error("PUT", key, e) {
                S3Error { status: Some(412), .. } => Ok(PutOutcome::AlreadyExists),
                other => Err(other),
            },
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, S3Error> {
        Ok(self.get_with_sha256(key).await?.map(|(bytes, _)| bytes))
    }

    /// The object's bytes and the SHA-256 recorded when the migration wrote it (none for objects
    /// others wrote).
    pub async fn get_with_sha256(&self, key: &str) -> Result<Option<(Vec<u8>, Option<String>)>, S3Error> {
        self.requests.wait().await;
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => {
                let recorded = object.metadata().and_then(|m| m.get(SHA256_METADATA)).cloned();
                let bytes = object.body.collect().await.map_err(|e| S3Error {
                    operation: "GET",
                    bucket: self.bucket.clone(),
                    key: key.into(),
                    detail: e.to_string(),
                    status: None,
                })?;
                Ok(Some((bytes.to_vec(), recorded)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.error("GET", key, e)),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), S3Error> {
        self.requests.wait().await;
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(|e| self.error("DELETE", key, e))?;
        Ok(())
    }

    /// Every key under `prefix`, sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, S3Error> {
        let mut keys = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("LIST", prefix, e))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(String::from)));
        }
        keys.sort();
        Ok(keys)
    }
}

/// The service's own code and message where it answered, else the whole error chain.
pub fn sdk_error_text<E>(e: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match e.as_service_error() {
        Some(service) => format!("{}: {}", service.code().unwrap_or("error"), service.message().unwrap_or("no message")),
        None => DisplayErrorContext(e).to_string(),
    }
}

//! The transcripts bucket edx-val reads from, as edx-val's storage is configured: every method
//! takes the *name* edx-val keeps in its `transcript` column, and the object key is the
//! storage's `location`, a slash and that name (django-storages' `safe_join`).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region, RequestChecksumCalculation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use sha2::{Digest, Sha256};

use aws_sdk_s3::types::{ChecksumMode, ServerSideEncryption};

use super::settings::{Encryption, S3Settings};
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
    /// The object key (the location and the name).
    pub key: String,
    pub detail: String,
    pub status: Option<u16>,
}

#[derive(Clone)]
pub struct TranscriptBucket {
    client: Client,
    bucket: String,
    /// Without slashes at its end; empty for none.
    location: String,
    directory_prefix: String,
    encryption: Option<Encryption>,
    requests: Throttle,
    /// Whether the server checks `x-amz-checksum-sha256` against what it receives, found once.
    verifies_checksums: Arc<tokio::sync::OnceCell<bool>>,
}

/// What S3 says of an object without sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The SHA-256 (hex) the server checked the bytes against when they were written, where it
    /// checks them (`TranscriptBucket::verifies_checksums`).
    pub verified_sha256: Option<String>,
    /// The SHA-256 the migration recorded in the object's metadata (none for others' objects).
    pub recorded_sha256: Option<String>,
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
        Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
            location: settings.location.trim_end_matches('/').to_string(),
            directory_prefix: settings.directory_prefix.clone(),
            encryption: settings.encryption.clone(),
            requests: Throttle::default(),
            verifies_checksums: Arc::default(),
        }
    }

    /// The object key of the name edx-val keeps.
    pub fn object_key(&self, name: &str) -> String {
        match self.location.as_str() {
            "" => name.to_string(),
            location => format!("{location}/{name}"),
        }
    }

    /// edx-val's `DIRECTORY_PREFIX`: every name the migration gives starts with it.
    pub fn directory_prefix(&self) -> &str {
        &self.directory_prefix
    }

    /// Whether `name` has the shape of the names the migration gives, under this storage's
    /// prefix: the only names it writes or deletes.
    pub fn is_ours(&self, name: &str) -> bool {
        model::ids::is_transcript_key(&self.directory_prefix, name)
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
    /// The object carries the SHA-256 of its bytes (`x-amz-meta-sha256`) for validation, and
    /// the storage's server-side encryption. Where the server checks checksums, the SHA-256
    /// goes as `x-amz-checksum-sha256` too: the server refuses bytes that do not match it, and
    /// returns it on HEAD, so validation need not read the object back.
    pub async fn put_if_absent(&self, name: &str, body: Vec<u8>) -> Result<PutOutcome, S3Error> {
        let digest = Sha256::digest(&body);
        let checksum = self.verifies_checksums().await?.then(|| BASE64.encode(digest));
        self.put(name, body, Some(hex::encode(digest)), checksum).await
    }

    /// Writes the object as edx-val's own storage does, without the migration's SHA-256: for
    /// the seed and the tests that play users.
    pub async fn put_as_edxval(&self, name: &str, body: Vec<u8>) -> Result<PutOutcome, S3Error> {
        self.put(name, body, None, None).await
    }

    /// Whether the server refuses a PUT whose `x-amz-checksum-sha256` does not match its body
    /// and takes one that does (SeaweedFS, MinIO and AWS do), tried once per worker on a probe
    /// of the migration's own name shape, deleted again.
    pub async fn verifies_checksums(&self) -> Result<bool, S3Error> {
        let probe = || async {
            let name = format!("{}{}.sjson", self.directory_prefix, uuid::Uuid::new_v4().simple());
            let body = br#"{"start": [], "end": [], "text": []}"#.to_vec();
            let checksum = |bytes: &[u8]| Some(BASE64.encode(Sha256::digest(bytes)));
            let answered = |put: Result<PutOutcome, S3Error>| match put {
                Ok(_) => Ok(true),
                Err(S3Error { status: Some(_), .. }) => Ok(false),
                Err(unanswered) => Err(unanswered),
            };
            let wrong_taken = answered(self.put(&name, body.clone(), None, checksum(b"not the body")).await)?;
            let verifies = !wrong_taken && answered(self.put(&name, body.clone(), None, checksum(&body)).await)?;
            if wrong_taken || verifies {
                self.delete(&name).await?;
            }
            Ok(verifies)
        };
        self.verifies_checksums.get_or_try_init(probe).await.copied()
    }

    async fn put(&self, name: &str, body: Vec<u8>, sha256: Option<String>, checksum: Option<String>) -> Result<PutOutcome, S3Error> {
        self.requests.wait().await;
        let key = self.object_key(name);
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("application/json")
            .set_metadata(sha256.map(|sha256| [(SHA256_METADATA.to_string(), sha256)].into()))
            .set_checksum_sha256(checksum)
            .if_none_match("*")
            .body(ByteStream::from(body));
        put = match &self.encryption {
            None => put,
            Some(Encryption::S3Managed) => put.server_side_encryption(ServerSideEncryption::Aes256),
            Some(Encryption::Kms { key_id }) => put.server_side_encryption(ServerSideEncryption::AwsKms).set_ssekms_key_id(key_id.clone()),
        };
        match put.send().await {
            Ok(_) => Ok(PutOutcome::Created),
            Err(e) => match self.error("PUT", &key, e) {
                S3Error { status: Some(412), .. } => Ok(PutOutcome::AlreadyExists),
                other => Err(other),
            },
        }
    }

    /// The server-side encryption S3 reports for the object (`AES256`, `aws:kms`), if any.
    pub async fn encryption_of(&self, name: &str) -> Result<Option<String>, S3Error> {
        self.requests.wait().await;
        let key = self.object_key(name);
        let head = self.client.head_object().bucket(&self.bucket).key(&key).send().await.map_err(|e| self.error("HEAD", &key, e))?;
        Ok(head.server_side_encryption().map(|sse| sse.as_str().to_string()))
    }

    /// What S3 holds under the name, from a HEAD; `None` when nothing.
    pub async fn stored(&self, name: &str) -> Result<Option<Stored>, S3Error> {
        self.requests.wait().await;
        let key = self.object_key(name);
        let head = match self.client.head_object().bucket(&self.bucket).key(&key).checksum_mode(ChecksumMode::Enabled).send().await {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => return Ok(None),
            Err(e) => return Err(self.error("HEAD", &key, e)),
        };
        let verified = match self.verifies_checksums().await? {
            true => head.checksum_sha256().and_then(|b64| BASE64.decode(b64).ok()).map(hex::encode),
            false => None,
        };
        let recorded = head.metadata().and_then(|m| m.get(SHA256_METADATA)).cloned();
        Ok(Some(Stored { verified_sha256: verified, recorded_sha256: recorded }))
    }

    /// The object's bytes, `None` when nothing is stored under the name.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, S3Error> {
        self.requests.wait().await;
        let key = self.object_key(name);
        match self.client.get_object().bucket(&self.bucket).key(&key).send().await {
            Ok(object) => {
                let bytes = object.body.collect().await.map_err(|e| S3Error {
                    operation: "GET",
                    bucket: self.bucket.clone(),
                    key: key.clone(),
                    detail: e.to_string(),
                    status: None,
                })?;
                Ok(Some(bytes.to_vec()))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(self.error("GET", &key, e)),
        }
    }

    pub async fn delete(&self, name: &str) -> Result<(), S3Error> {
        self.requests.wait().await;
        let key = self.object_key(name);
        self.client.delete_object().bucket(&self.bucket).key(&key).send().await.map_err(|e| self.error("DELETE", &key, e))?;
        Ok(())
    }

    /// What the migration does with objects, tried by `check` on a probe of its own name shape
    /// under the prefix: a put, a second put that must be refused (`If-None-Match: *`, the
    /// guard that nothing which existed is overwritten), a get and a delete (compensation).
    /// The probe is deleted whatever fails; the error names the step.
    pub async fn probe(&self) -> Result<(), String> {
        let name = format!("{}{}.sjson", self.directory_prefix, uuid::Uuid::new_v4().simple());
        let body = br#"{"start": [], "end": [], "text": []}"#.to_vec();
        let created = self.put_if_absent(&name, body.clone()).await.map_err(|e| e.to_string())?;
        if created != PutOutcome::Created {
            return Err(format!("PUT of a fresh probe s3://{}/{} found an object there", self.bucket, self.object_key(&name)));
        }
        let second = self.put_if_absent(&name, b"{}".to_vec()).await;
        let read = self.get(&name).await;
        let deleted = self.delete(&name).await;
        let gone = self.get(&name).await;
        match second.map_err(|e| e.to_string())? {
            PutOutcome::AlreadyExists => {}
            PutOutcome::Created => {
                return Err(format!(
                    "s3://{}: a second PUT with If-None-Match: * replaced the probe instead of being refused (HTTP 412); on this server the \
                     migration could not guarantee that no object which existed before is overwritten",
                    self.bucket
                ));
            }
        }
        if read.map_err(|e| e.to_string())?.as_deref() != Some(&body[..]) {
            return Err(format!("GET of the probe s3://{}/{} did not give back what was put", self.bucket, self.object_key(&name)));
        }
        deleted.map_err(|e| format!("{e}: without delete, a rollback (compensate-delete) would retry for ever"))?;
        if gone.map_err(|e| e.to_string())?.is_some() {
            return Err(format!("DELETE of the probe s3://{}/{} left the object", self.bucket, self.object_key(&name)));
        }
        Ok(())
    }

    /// The name of every object whose name starts with `prefix`, sorted (objects outside the
    /// location are not listed).
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, S3Error> {
        let key_prefix = self.object_key(prefix);
        let mut names = Vec::new();
        let mut pages = self.client.list_objects_v2().bucket(&self.bucket).prefix(&key_prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.error("LIST", &key_prefix, e))?;
            let under_location = |key: &str| match self.location.as_str() {
                "" => Some(key.to_string()),
                location => key.strip_prefix(location)?.strip_prefix('/').map(String::from),
            };
            names.extend(page.contents().iter().filter_map(|o| under_location(o.key()?)));
        }
        names.sort();
        Ok(names)
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

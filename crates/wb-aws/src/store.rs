//! The S3 object store.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream as SdkByteStream, DateTime as SdkDateTime, Length};
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use wb_core::{ByteStream, ETag, Error, GetResult, ObjectMeta, ObjectPath, ObjectStore, PutMode, Result, StoreUri};

use crate::error::{Condition, Context, Failure, map_failure};

/// S3's smallest allowed part (every part but the last must be at least this big).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// S3's largest allowed part, and the largest single `PutObject`.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// S3's largest number of parts in one multipart upload.
const MAX_PARTS: u64 = 10_000;
/// Default size above which [`ObjectStore::put_file`] uses a multipart upload.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// Default multipart part size.
pub const DEFAULT_PART_SIZE: u64 = 8 * 1024 * 1024;
/// How many parts of one file are uploaded at the same time.
const PART_CONCURRENCY: usize = 4;
/// How often a create-only `PutObject` is retried after a 409 `ConditionalRequestConflict`.
const CONFLICT_RETRIES: u32 = 3;

/// Server-side encryption applied to every object the store writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Encryption {
    /// SSE-S3: keys managed by S3 (`x-amz-server-side-encryption: AES256`).
    #[default]
    SseS3,
    /// SSE-KMS with a customer-managed key (`aws:kms` plus `x-amz-server-side-encryption-aws-kms-key-id`).
    Kms {
        /// The KMS key id, ARN or alias ARN.
        key_id: String,
    },
}

impl Encryption {
    /// The `x-amz-server-side-encryption` value.
    #[must_use]
    pub fn server_side_encryption(&self) -> ServerSideEncryption {
        match self {
            Self::SseS3 => ServerSideEncryption::Aes256,
            Self::Kms { .. } => ServerSideEncryption::AwsKms,
        }
    }

    /// The KMS key id, for SSE-KMS.
    #[must_use]
    pub fn kms_key_id(&self) -> Option<&str> {
        match self {
            Self::SseS3 => None,
            Self::Kms { key_id } => Some(key_id),
        }
    }
}

/// An [`ObjectStore`] in an S3 bucket, below an optional key prefix: object `a/b.json` of the store
/// `s3://bucket/team/wb` is the key `team/wb/a/b.json`.
///
/// * Every write carries the configured [`Encryption`] (single puts and multipart uploads alike).
/// * [`PutMode::Create`] sends `If-None-Match: *` and [`PutMode::Update`] sends `If-Match: <etag>`, so
///   S3 itself arbitrates concurrent writers; a lost race is [`Error::AlreadyExists`] or
///   [`Error::PreconditionFailed`].
/// * [`ObjectStore::put_file`] streams the file: one `PutObject` up to the multipart threshold, a
///   multipart upload (CRC32 checksums per part) above it. A conditional multipart upload checks
///   its condition with a `HeadObject` before the parts go up (so a refused upload costs one
///   request, not the upload) and sends it again on `CompleteMultipartUpload`, where S3 enforces it
///   atomically. A failed or cancelled multipart upload is aborted, so no parts are left behind.
///   (moto 5.2.5 ignores `If-Match` on `CompleteMultipartUpload`, so against moto a multipart
///   [`PutMode::Update`] is guarded by the early check only.)
/// * ETags are S3's, quotes included, and go back into `If-Match` unchanged.
/// * Failures map into `wb_core::Error`: a missing bucket is [`Error::StoreMissing`], refused
///   credentials [`Error::AccessDenied`], a missing object [`Error::NotFound`], anything else
///   [`Error::Backend`] with S3's error code. (`HeadObject` answers have no body, so
///   [`ObjectStore::head`] and [`ObjectStore::exists`] cannot tell a missing bucket from a missing
///   object and report [`Error::NotFound`] / `false`.)
/// * [`ObjectStore::list`] lists `<prefix>/<dir>/` (segment-wise: `a/bc` is not below `a/b`) plus
///   the object named exactly `<prefix>/<dir>`, skips keys that are not valid [`ObjectPath`]s, and
///   never returns keys outside the store's prefix.
///
/// The store never loads AWS configuration itself: give it a [`Client`] ([`S3Store::new`]) or an
/// `SdkConfig` ([`S3Store::from_sdk_config`]) built by the application.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: Option<ObjectPath>,
    encryption: Encryption,
    uri: StoreUri,
    uri_string: String,
    multipart_threshold: u64,
    part_size: u64,
}

impl S3Store {
    /// A store in `bucket` below `prefix`, using `client` for every call.
    ///
    /// The bucket name is not validated here; a missing bucket shows up as
    /// [`Error::StoreMissing`] on first use.
    #[must_use]
    pub fn new(client: Client, bucket: impl Into<String>, prefix: Option<ObjectPath>, encryption: Encryption) -> Self {
        let bucket = bucket.into();
        let uri = StoreUri::S3 { bucket: bucket.clone(), prefix: prefix.clone() };
        Self {
            client,
            uri_string: uri.to_string(),
            bucket,
            prefix,
            encryption,
            uri,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// A store at an `s3://bucket/prefix` URI, with a client built from `sdk` (path-style
    /// addressing forced, so that S3-compatible endpoints given by `endpoint_url` work).
    ///
    /// # Errors
    /// [`crate::Error::NotS3`] when `uri` is not an S3 URI.
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, uri: &StoreUri, encryption: Encryption) -> crate::Result<Self> {
        let StoreUri::S3 { bucket, prefix } = uri else {
            return Err(crate::Error::NotS3 { uri: uri.to_string() });
        };
        let config = aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build();
        Ok(Self::new(Client::from_conf(config), bucket.clone(), prefix.clone(), encryption))
    }

    /// Sets when [`ObjectStore::put_file`] switches to a multipart upload (files larger than
    /// `threshold` bytes) and the size of each part.
    ///
    /// For very large files the part size grows as needed to stay within S3's 10,000 parts.
    ///
    /// # Errors
    /// [`crate::Error::Multipart`] when `part_size` is outside S3's 5 MiB–5 GiB or `threshold`
    /// above 5 GiB (the largest single `PutObject`).
    pub fn with_multipart(mut self, threshold: u64, part_size: u64) -> crate::Result<Self> {
        let invalid = |reason: &str| crate::Error::Multipart { threshold, part_size, reason: reason.to_owned() };
        if part_size < MIN_PART_SIZE {
            return Err(invalid("parts must be at least 5 MiB (S3's minimum)"));
        }
        if part_size > MAX_PART_SIZE {
            return Err(invalid("parts must be at most 5 GiB (S3's maximum)"));
        }
        if threshold > MAX_PART_SIZE {
            return Err(invalid("the threshold must be at most 5 GiB (the largest single PutObject)"));
        }
        self.multipart_threshold = threshold;
        self.part_size = part_size;
        Ok(self)
    }

    /// The SDK client.
    #[must_use]
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bucket.
    #[must_use]
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix (`None` for the bucket root).
    #[must_use]
    pub fn prefix(&self) -> Option<&ObjectPath> {
        self.prefix.as_ref()
    }

    /// The encryption applied to every write.
    #[must_use]
    pub fn encryption(&self) -> &Encryption {
        &self.encryption
    }

    /// The multipart threshold and part size, in bytes.
    #[must_use]
    pub fn multipart(&self) -> (u64, u64) {
        (self.multipart_threshold, self.part_size)
    }

    /// The S3 key of an object: `<prefix>/<path>`.
    #[must_use]
    pub fn object_key(&self, path: &ObjectPath) -> String {
        match &self.prefix {
            Some(prefix) => format!("{prefix}/{path}"),
            None => path.to_string(),
        }
    }

    /// The path relative to the store of an S3 key, when the key lies below the prefix and is a
    /// valid [`ObjectPath`].
    fn relative_path(&self, key: &str) -> Option<ObjectPath> {
        let rel = match &self.prefix {
            Some(prefix) => key.strip_prefix(prefix.as_str())?.strip_prefix('/')?,
            None => key,
        };
        match ObjectPath::parse(rel) {
            Ok(path) => Some(path),
            Err(e) => {
                tracing::debug!(bucket = %self.bucket, key, error = %e, "skipping key that is not a valid object path");
                None
            }
        }
    }

    fn ctx<'a>(
        &'a self,
        operation: &'static str,
        path: Option<&'a ObjectPath>,
        condition: Condition<'a>,
    ) -> Context<'a> {
        Context {
            store: &self.uri_string,
            bucket: &self.bucket,
            operation,
            path: path.map(ObjectPath::as_str),
            condition,
        }
    }

    fn fail(&self, operation: &'static str, path: Option<&ObjectPath>, condition: Condition<'_>, f: Failure) -> Error {
        map_failure(self.ctx(operation, path, condition), f)
    }

    /// A response that lacks something S3 always sends.
    fn malformed(&self, operation: &'static str, what: &str) -> Error {
        Error::Backend {
            store: self.uri_string.clone(),
            operation,
            code: None,
            message: format!("the response has no {what}"),
            source: None,
        }
    }

    fn etag(&self, operation: &'static str, etag: Option<&str>) -> Result<ETag> {
        etag.map(|e| ETag(e.to_owned())).ok_or_else(|| self.malformed(operation, "ETag"))
    }

    fn meta(
        &self,
        operation: &'static str,
        path: &ObjectPath,
        size: Option<i64>,
        etag: Option<&str>,
        modified: Option<&SdkDateTime>,
    ) -> Result<ObjectMeta> {
        let size = size.and_then(|s| u64::try_from(s).ok()).ok_or_else(|| self.malformed(operation, "size"))?;
        Ok(ObjectMeta {
            path: path.clone(),
            size,
            etag: self.etag(operation, etag)?,
            last_modified: modified.map_or_else(Utc::now, to_chrono),
        })
    }

    /// Sends one `PutObject` with `body`, retrying a create-only write that collided with another
    /// in-flight conditional write (409); the body is rebuilt for each attempt.
    async fn put_object<F, Fut>(&self, path: &ObjectPath, size: u64, mode: &PutMode, body: F) -> Result<ObjectMeta>
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = Result<SdkByteStream>> + Send,
    {
        const OP: &str = "PutObject";
        let key = self.object_key(path);
        let (if_match, if_none_match) = conditions(mode);
        let mut attempt = 0;
        loop {
            tracing::debug!(bucket = %self.bucket, key = %key, size, mode = ?mode, attempt, "PutObject");
            let sent = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_length(to_i64(size))
                .body(body().await?)
                .server_side_encryption(self.encryption.server_side_encryption())
                .set_ssekms_key_id(self.encryption.kms_key_id().map(str::to_owned))
                .set_if_match(if_match.clone())
                .set_if_none_match(if_none_match.clone())
                .send()
                .await;
            match sent {
                Ok(out) => {
                    return Ok(ObjectMeta {
                        path: path.clone(),
                        size,
                        etag: self.etag(OP, out.e_tag())?,
                        // PutObject does not return Last-Modified; a HEAD could race with another writer.
                        last_modified: Utc::now(),
                    });
                }
                Err(e) => {
                    let failure = Failure::from_sdk(e);
                    if matches!(mode, PutMode::Create) && failure.is_conflict() && attempt < CONFLICT_RETRIES {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                        continue;
                    }
                    return Err(self.fail(OP, Some(path), condition(mode), failure));
                }
            }
        }
    }

    /// Checks a put's condition against the current object, so that a multipart upload that S3
    /// would refuse at `CompleteMultipartUpload` fails before its parts go up.
    async fn precheck(&self, path: &ObjectPath, mode: &PutMode) -> Result<()> {
        match mode {
            PutMode::Overwrite => Ok(()),
            PutMode::Create => match self.head(path).await {
                Ok(_) => Err(Error::AlreadyExists { store: self.uri_string.clone(), path: path.to_string() }),
                Err(e) if e.is_not_found() => Ok(()),
                Err(e) => Err(e),
            },
            PutMode::Update(expected) => {
                let current = self.head(path).await?;
                if &current.etag == expected {
                    Ok(())
                } else {
                    Err(Error::PreconditionFailed {
                        store: self.uri_string.clone(),
                        path: path.to_string(),
                        expected: expected.to_string(),
                    })
                }
            }
        }
    }

    async fn put_multipart(&self, path: &ObjectPath, file: &Path, size: u64, mode: &PutMode) -> Result<ObjectMeta> {
        const OP: &str = "CreateMultipartUpload";
        self.precheck(path, mode).await?;
        let key = self.object_key(path);
        let part_size = self.part_size.max(size.div_ceil(MAX_PARTS));
        tracing::debug!(bucket = %self.bucket, key = %key, size, part_size, mode = ?mode, "CreateMultipartUpload");
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(&key)
            .server_side_encryption(self.encryption.server_side_encryption())
            .set_ssekms_key_id(self.encryption.kms_key_id().map(str::to_owned))
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .send()
            .await
            .map_err(|e| self.fail(OP, Some(path), Condition::None, Failure::from_sdk(e)))?;
        let upload_id = created.upload_id().ok_or_else(|| self.malformed(OP, "upload id"))?.to_owned();
        // Aborts the upload if this future is dropped half-way (a cancelled caller).
        let mut guard = AbortOnDrop { store: Some(self.clone()), key: key.clone(), upload_id: upload_id.clone() };
        let result = self.upload_and_complete(path, file, size, part_size, mode, &key, &upload_id).await;
        guard.store = None;
        if result.is_err() {
            self.abort(&key, &upload_id).await;
        }
        result
    }

    #[expect(clippy::too_many_arguments, reason = "private step of put_multipart")]
    async fn upload_and_complete(
        &self,
        path: &ObjectPath,
        file: &Path,
        size: u64,
        part_size: u64,
        mode: &PutMode,
        key: &str,
        upload_id: &str,
    ) -> Result<ObjectMeta> {
        let ranges: Vec<(i32, u64, u64)> = (0..size.div_ceil(part_size))
            .map(|i| {
                let offset = i * part_size;
                let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
                (number, offset, part_size.min(size - offset))
            })
            .collect();
        let parts: Vec<CompletedPart> = futures::stream::iter(ranges)
            .map(|(number, offset, length)| self.upload_part(path, file, key, upload_id, number, offset, length))
            .buffered(PART_CONCURRENCY)
            .try_collect()
            .await?;

        const OP: &str = "CompleteMultipartUpload";
        let (if_match, if_none_match) = conditions(mode);
        tracing::debug!(bucket = %self.bucket, key, parts = parts.len(), mode = ?mode, "CompleteMultipartUpload");
        let out = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .set_if_match(if_match)
            .set_if_none_match(if_none_match)
            .send()
            .await
            .map_err(|e| self.fail(OP, Some(path), condition(mode), Failure::from_sdk(e)))?;
        Ok(ObjectMeta { path: path.clone(), size, etag: self.etag(OP, out.e_tag())?, last_modified: Utc::now() })
    }

    #[expect(clippy::too_many_arguments, reason = "private step of put_multipart")]
    async fn upload_part(
        &self,
        path: &ObjectPath,
        file: &Path,
        key: &str,
        upload_id: &str,
        number: i32,
        offset: u64,
        length: u64,
    ) -> Result<CompletedPart> {
        const OP: &str = "UploadPart";
        let body = SdkByteStream::read_from()
            .path(file)
            .offset(offset)
            .length(Length::Exact(length))
            .build()
            .await
            .map_err(|e| Error::io("reading", file, std::io::Error::other(e)))?;
        tracing::debug!(bucket = %self.bucket, key, part = number, offset, length, "UploadPart");
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .content_length(to_i64(length))
            .checksum_algorithm(ChecksumAlgorithm::Crc32)
            .body(body)
            .send()
            .await
            .map_err(|e| self.fail(OP, Some(path), Condition::None, Failure::from_sdk(e)))?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .e_tag(self.etag(OP, out.e_tag())?.0)
            .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
            .build())
    }

    /// Aborts a multipart upload; a failure to abort is logged, not returned (the original error
    /// matters more, and a lifecycle rule can clean up).
    async fn abort(&self, key: &str, upload_id: &str) {
        tracing::debug!(bucket = %self.bucket, key, upload_id, "AbortMultipartUpload");
        let aborted =
            self.client.abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send().await;
        if let Err(e) = aborted {
            let failure = Failure::from_sdk(e);
            tracing::warn!(
                bucket = %self.bucket, key, upload_id, code = ?failure.code, message = %failure.message,
                "could not abort a failed multipart upload"
            );
        }
    }

    async fn get_object(&self, path: &ObjectPath) -> Result<(ObjectMeta, SdkByteStream)> {
        const OP: &str = "GetObject";
        let key = self.object_key(path);
        tracing::debug!(bucket = %self.bucket, key = %key, "GetObject");
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.fail(OP, Some(path), Condition::None, Failure::from_sdk(e)))?;
        let meta = self.meta(OP, path, out.content_length(), out.e_tag(), out.last_modified())?;
        Ok((meta, out.body))
    }

    fn body_error(&self, path: &ObjectPath, e: aws_sdk_s3::primitives::ByteStreamError) -> Error {
        let failure = Failure::other(format!("reading the body of {path}: {e}"), Box::new(e));
        self.fail("GetObject", Some(path), Condition::None, failure)
    }

    async fn list_under(&self, list_prefix: Option<String>) -> Result<Vec<ObjectMeta>> {
        const OP: &str = "ListObjectsV2";
        tracing::debug!(bucket = %self.bucket, prefix = ?list_prefix, "ListObjectsV2");
        let mut pages =
            self.client.list_objects_v2().bucket(&self.bucket).set_prefix(list_prefix).into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| self.fail(OP, None, Condition::None, Failure::from_sdk(e)))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let Some(path) = self.relative_path(key) else { continue };
                out.push(self.meta(OP, &path, object.size(), object.e_tag(), object.last_modified())?);
            }
        }
        Ok(out)
    }
}

/// Aborts a multipart upload when dropped while armed (the upload future was cancelled).
struct AbortOnDrop {
    store: Option<S3Store>,
    key: String,
    upload_id: String,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(store) = self.store.take() else { return };
        let (key, upload_id) = (std::mem::take(&mut self.key), std::mem::take(&mut self.upload_id));
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { store.abort(&key, &upload_id).await });
            }
            Err(_) => tracing::warn!(
                bucket = %store.bucket, key, upload_id,
                "multipart upload cancelled outside a Tokio runtime; it cannot be aborted"
            ),
        }
    }
}

/// `(If-Match, If-None-Match)` for a put mode.
fn conditions(mode: &PutMode) -> (Option<String>, Option<String>) {
    match mode {
        PutMode::Overwrite => (None, None),
        PutMode::Create => (None, Some("*".to_owned())),
        PutMode::Update(etag) => (Some(etag.0.clone()), None),
    }
}

fn condition(mode: &PutMode) -> Condition<'_> {
    match mode {
        PutMode::Overwrite => Condition::None,
        PutMode::Create => Condition::Create,
        PutMode::Update(etag) => Condition::Update(etag),
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_chrono(t: &SdkDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos()).unwrap_or_else(Utc::now)
}

#[async_trait]
impl ObjectStore for S3Store {
    fn uri(&self) -> &StoreUri {
        &self.uri
    }

    async fn put_opts(&self, path: &ObjectPath, bytes: Bytes, mode: PutMode) -> Result<ObjectMeta> {
        let size = bytes.len() as u64;
        self.put_object(path, size, &mode, || {
            let bytes = bytes.clone();
            async move { Ok(SdkByteStream::from(bytes)) }
        })
        .await
    }

    async fn put_file(&self, path: &ObjectPath, file: &Path, mode: PutMode) -> Result<ObjectMeta> {
        let md = tokio::fs::metadata(file).await.map_err(|e| Error::io("reading metadata of", file, e))?;
        if !md.is_file() {
            let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file");
            return Err(Error::io("uploading", file, e));
        }
        let size = md.len();
        if size > self.multipart_threshold {
            return self.put_multipart(path, file, size, &mode).await;
        }
        self.put_object(path, size, &mode, move || async move {
            SdkByteStream::read_from()
                .path(file)
                .length(Length::Exact(size))
                .build()
                .await
                .map_err(|e| Error::io("reading", file, std::io::Error::other(e)))
        })
        .await
    }

    async fn get(&self, path: &ObjectPath) -> Result<GetResult> {
        let (mut meta, body) = self.get_object(path).await?;
        let bytes = body.collect().await.map_err(|e| self.body_error(path, e))?.into_bytes();
        meta.size = bytes.len() as u64;
        Ok(GetResult { bytes, meta })
    }

    async fn get_stream(&self, path: &ObjectPath) -> Result<(ObjectMeta, ByteStream)> {
        let (meta, body) = self.get_object(path).await?;
        let this = self.clone();
        let path = path.clone();
        let stream = futures::stream::try_unfold(body, move |mut body| {
            let this = this.clone();
            let path = path.clone();
            async move {
                match body.try_next().await {
                    Ok(Some(chunk)) => Ok(Some((chunk, body))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(this.body_error(&path, e)),
                }
            }
        });
        Ok((meta, stream.boxed()))
    }

    async fn head(&self, path: &ObjectPath) -> Result<ObjectMeta> {
        const OP: &str = "HeadObject";
        let key = self.object_key(path);
        tracing::debug!(bucket = %self.bucket, key = %key, "HeadObject");
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.fail(OP, Some(path), Condition::None, Failure::from_sdk(e)))?;
        self.meta(OP, path, out.content_length(), out.e_tag(), out.last_modified())
    }

    async fn list(&self, prefix: Option<&ObjectPath>) -> Result<Vec<ObjectMeta>> {
        let mut out = match prefix {
            Some(prefix) => {
                // Segment-wise: everything below `<key>/`, plus the object named exactly `<key>`.
                let under = self.list_under(Some(format!("{}/", self.object_key(prefix))));
                let exact = async {
                    match self.head(prefix).await {
                        Ok(meta) => Ok(Some(meta)),
                        Err(e) if e.is_not_found() => Ok(None),
                        Err(e) => Err(e),
                    }
                };
                let (mut under, exact) = futures::future::try_join(under, exact).await?;
                under.extend(exact);
                under
            }
            None => self.list_under(self.prefix.as_ref().map(|p| format!("{p}/"))).await?,
        };
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn delete(&self, path: &ObjectPath) -> Result<()> {
        const OP: &str = "DeleteObject";
        let key = self.object_key(path);
        tracing::debug!(bucket = %self.bucket, key = %key, "DeleteObject");
        match self.client.delete_object().bucket(&self.bucket).key(&key).send().await {
            Ok(_) => Ok(()),
            Err(e) => match self.fail(OP, Some(path), Condition::None, Failure::from_sdk(e)) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(prefix: Option<&str>) -> S3Store {
        let config =
            aws_sdk_s3::Config::builder().behavior_version(aws_sdk_s3::config::BehaviorVersion::latest()).build();
        let prefix = prefix.map(|p| ObjectPath::parse(p).expect("valid prefix"));
        S3Store::new(Client::from_conf(config), "bkt", prefix, Encryption::default())
    }

    #[test]
    fn keys_and_uri_follow_the_prefix() {
        let s = store(Some("team/wb"));
        let p = ObjectPath::parse("a/b.json").expect("valid");
        assert_eq!(s.object_key(&p), "team/wb/a/b.json");
        assert_eq!(s.uri().to_string(), "s3://bkt/team/wb");
        assert_eq!(s.relative_path("team/wb/a/b.json"), Some(p.clone()));
        assert_eq!(s.relative_path("team/wbx/a"), None, "keys outside the prefix are not the store's");
        assert_eq!(s.relative_path("team/wb/.hidden"), None, "invalid object paths are skipped");
        let root = store(None);
        assert_eq!(root.object_key(&p), "a/b.json");
        assert_eq!(root.uri().to_string(), "s3://bkt");
    }

    #[test]
    fn multipart_settings_respect_s3_limits() {
        let s = store(None);
        assert_eq!(s.multipart(), (DEFAULT_MULTIPART_THRESHOLD, DEFAULT_PART_SIZE));
        let err = s.clone().with_multipart(1024, 1024).expect_err("tiny parts");
        assert!(err.to_string().contains("at least 5 MiB"), "{err}");
        assert!(s.clone().with_multipart(6 * MAX_PART_SIZE, MIN_PART_SIZE).is_err());
        let ok = s.with_multipart(MIN_PART_SIZE, MIN_PART_SIZE).expect("valid");
        assert_eq!(ok.multipart(), (MIN_PART_SIZE, MIN_PART_SIZE));
    }

    #[test]
    fn encryption_headers() {
        assert_eq!(Encryption::default().server_side_encryption(), ServerSideEncryption::Aes256);
        assert_eq!(Encryption::default().kms_key_id(), None);
        let kms = Encryption::Kms { key_id: "arn:aws:kms:us-east-1:123456789012:key/k".into() };
        assert_eq!(kms.server_side_encryption(), ServerSideEncryption::AwsKms);
        assert_eq!(kms.kms_key_id(), Some("arn:aws:kms:us-east-1:123456789012:key/k"));
    }

    #[test]
    fn from_sdk_config_needs_an_s3_uri() {
        let sdk = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        let local = StoreUri::parse("file:///tmp/wb").expect("valid");
        let err = S3Store::from_sdk_config(&sdk, &local, Encryption::default()).expect_err("not S3");
        assert!(matches!(err, crate::Error::NotS3 { .. }), "{err:?}");
        let uri = StoreUri::parse("s3://bkt/team/wb").expect("valid");
        let s = S3Store::from_sdk_config(&sdk, &uri, Encryption::default()).expect("S3");
        assert_eq!(s.uri(), &uri);
        assert_eq!((s.bucket(), s.prefix().map(ObjectPath::as_str)), ("bkt", Some("team/wb")));
    }

    #[test]
    fn stores_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<S3Store>();
        assert_send_sync::<Encryption>();
        assert_send_sync::<crate::Error>();
    }
}

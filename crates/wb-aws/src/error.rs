//! The error type of `wb-aws`'s own API, and the mapping of S3 failures into `wb_core::Error`.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use wb_core::ETag;

/// Errors of `wb-aws`'s own (non-store) API: building and configuring stores, SageMaker hosting.
///
/// Store operations themselves return [`wb_core::Result`], so that callers handle every backend
/// alike.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration or local-store error.
    #[error(transparent)]
    Core(#[from] wb_core::Error),
    /// A dataset that is not registered or partitioned, or whose files are unreadable.
    #[error(transparent)]
    Datasets(#[from] wb_datasets::Error),
    /// A dataset, job or endpoint record error (unknown job, job not completed, ...).
    #[error(transparent)]
    Models(#[from] wb_models::Error),
    /// An endpoint record, data-capture, invocation or local-backend error.
    #[error(transparent)]
    Serving(#[from] wb_serving::Error),
    /// A store URI that does not name an S3 location.
    #[error("{uri} is not an S3 store URI (expected s3://bucket[/prefix])")]
    NotS3 {
        /// The rejected URI.
        uri: String,
    },
    /// A deploy spec or setting that SageMaker would refuse, caught before any call.
    #[error("invalid {field} {value:?}: expected {expected}")]
    Invalid {
        /// The field (`role`, `instance type`, ...).
        field: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A SageMaker call failed.
    #[error("SageMaker {operation} on {resource} failed: {code}: {message}")]
    SageMaker {
        /// The operation (`CreateEndpoint`, ...).
        operation: &'static str,
        /// The resource it was about.
        resource: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// A Lambda or Step Functions call failed.
    #[error("{service} {operation} on {resource} failed: {code}: {message}")]
    Service {
        /// The service (`Lambda`, `Step Functions`).
        service: &'static str,
        /// The operation (`CreateFunction`, ...).
        operation: &'static str,
        /// The resource it was about.
        resource: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// An endpoint went to `Failed` (or vanished) while it was being brought up.
    #[error("endpoint {endpoint:?} failed to come up: {reason}")]
    EndpointFailed {
        /// The endpoint.
        endpoint: String,
        /// SageMaker's failure reason.
        reason: String,
    },
    /// An endpoint was not in service in time.
    #[error(
        "endpoint {endpoint:?} was not in service after {waited:?}; it is still being created (see `wb endpoints list`)"
    )]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// A training job ended `Failed` or `Stopped`.
    #[error("training job {job:?} {status}: {reason}")]
    TrainingFailed {
        /// The job.
        job: String,
        /// `Failed` or `Stopped`.
        status: String,
        /// SageMaker's failure reason (or why it was stopped).
        reason: String,
    },
    /// A training job had not ended in time (it keeps running; `wb clean` or the console stops it).
    #[error("training job {job:?} had not ended after {waited:?}; it is still running")]
    TrainingTimeout {
        /// The job.
        job: String,
        /// How long we waited.
        waited: std::time::Duration,
    },
    /// A built-in algorithm has no published image in the region.
    #[error("SageMaker publishes no {algorithm} image in region {region}; it is available in: {available}")]
    NoImage {
        /// The algorithm.
        algorithm: String,
        /// The region asked for.
        region: String,
        /// The regions that have it, comma-separated.
        available: String,
    },
    /// Multipart settings outside S3's limits.
    #[error("invalid multipart settings (threshold {threshold} bytes, part size {part_size} bytes): {reason}")]
    Multipart {
        /// The requested multipart threshold.
        threshold: u64,
        /// The requested part size.
        part_size: u64,
        /// Which limit was broken.
        reason: String,
    },
}

/// An SDK failure of `service`'s `operation` on `resource`, as code and message
/// ([`code_and_message`]).
pub(crate) fn service_error<E>(
    service: &'static str,
    operation: &'static str,
    resource: &str,
    e: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (code, message) = code_and_message(&e);
    Error::Service { service, operation, resource: resource.to_owned(), code, message }
}

/// An SDK failure in one line, as AWS's error code and message:
///
/// * the service answered with an error: its code and message; a body the SDK could not read
///   (another protocol's error) is named by its status (`AccessDenied` for 403, else `HTTP
///   <status>`) with the start of the body;
/// * no answer: `Timeout`, `ConnectionError` (with the innermost cause, such as "Connection
///   refused"), `InvalidRequest` (the request could not be built or signed: often missing
///   credentials), or `ResponseError` (an answer that could not be read).
///
/// The SDK's debug description (long, nested) only goes to a `debug` event, seen with
/// `WB_LOG=debug`. Neither form contains credentials: the SDK never puts the secret key in an
/// error, and the access key id only appears in its own trace-level events.
pub(crate) fn code_and_message<E>(e: &SdkError<E, HttpResponse>) -> (String, String)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    tracing::debug!(error = %DisplayErrorContext(e), "AWS SDK failure");
    let response = e.raw_response();
    let status = response.map(|r| r.status().as_u16());
    match e {
        SdkError::ServiceError(_) | SdkError::ResponseError(_) if e.code().is_some() || status.is_some() => {
            let code = match (e.code(), status) {
                (Some(code), _) => code.to_owned(),
                (None, Some(403)) => "AccessDenied".to_owned(),
                (None, Some(status)) => format!("HTTP {status}"),
                (None, None) => "UnknownError".to_owned(),
            };
            let body = response
                .and_then(|r| r.body().bytes())
                .map(|b| wb_core::text::clip(String::from_utf8_lossy(b).trim(), 300))
                .filter(|b| !b.is_empty());
            let message = match (e.message(), body) {
                (Some(message), _) => message.to_owned(),
                (None, Some(body)) => body,
                (None, None) => match status {
                    Some(403) => "HTTP 403 Forbidden (the credentials are unknown or lack permission)".to_owned(),
                    Some(404) => "HTTP 404 Not Found".to_owned(),
                    Some(status) => format!("HTTP {status} with no error body"),
                    None => causes(e),
                },
            };
            (code, message)
        }
        SdkError::TimeoutError(_) => ("Timeout".to_owned(), "no response within the SDK's timeout".to_owned()),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            ("Timeout".to_owned(), format!("the request timed out: {}", causes(e)))
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => {
            ("InvalidRequest".to_owned(), format!("the request could not be sent: {}", causes(e)))
        }
        SdkError::DispatchFailure(_) => ("ConnectionError".to_owned(), format!("cannot reach AWS: {}", causes(e))),
        SdkError::ConstructionFailure(_) => {
            ("InvalidRequest".to_owned(), format!("the request could not be built: {}", causes(e)))
        }
        SdkError::ResponseError(_) => {
            ("ResponseError".to_owned(), format!("the response could not be read: {}", causes(e)))
        }
        _ => ("UnknownError".to_owned(), causes(e)),
    }
}

/// An SDK failure kept as an error's source: it displays as its one-line summary (so an error
/// chain printed cause by cause stays short); its `Debug` form is the SDK's whole description.
pub(crate) struct SdkFailure {
    summary: String,
    detail: String,
}

impl std::fmt::Display for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::fmt::Debug for SdkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for SdkFailure {}

/// The innermost causes of an error chain, most specific last, skipping the SDK's generic
/// wrappers ("dispatch failure", "io error", …) and repeats; at most 300 characters.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = e.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    // The last two are the most telling ("tcp connect error: Connection refused (os error 111)").
    let start = parts.len().saturating_sub(2);
    let text = if parts.is_empty() { e.to_string() } else { parts[start..].join(": ") };
    wb_core::text::clip(&text, 300)
}

/// Result alias for `wb-aws`'s own API.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a failed S3 call told us, extracted from the SDK error.
#[derive(Debug)]
pub(crate) struct Failure {
    /// HTTP status of the response, when there was one.
    pub(crate) status: Option<u16>,
    /// S3 error code (`NoSuchKey`, `PreconditionFailed`, ...).
    pub(crate) code: Option<String>,
    /// S3's message, or the SDK's description of a non-service failure.
    pub(crate) message: String,
    /// The SDK error itself.
    pub(crate) source: Box<dyn std::error::Error + Send + Sync>,
}

impl Failure {
    pub(crate) fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        // The service's own code only; a response without one (HEAD requests carry no body)
        // is judged by its status.
        let code = err.code().map(str::to_owned);
        let (described, message) = code_and_message(&err);
        let source =
            SdkFailure { summary: format!("{described}: {message}"), detail: DisplayErrorContext(&err).to_string() };
        let message = if code.is_some() || status.is_some() { message } else { source.summary.clone() };
        Self { status, code, message, source: Box::new(source) }
    }

    /// A failure that is not an SDK error (a malformed response, a local read error).
    pub(crate) fn other(message: impl Into<String>, source: Box<dyn std::error::Error + Send + Sync>) -> Self {
        Self { status: None, code: None, message: message.into(), source }
    }

    fn has_code(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }

    /// A 409 `ConditionalRequestConflict`: another conditional write to the key was in flight.
    pub(crate) fn is_conflict(&self) -> bool {
        self.status == Some(409) || self.has_code(&["ConditionalRequestConflict"])
    }

    fn is_precondition(&self) -> bool {
        self.status == Some(412) || self.has_code(&["PreconditionFailed"])
    }

    fn is_access_denied(&self) -> bool {
        self.status == Some(403)
            || self.has_code(&[
                "AccessDenied",
                "InvalidAccessKeyId",
                "SignatureDoesNotMatch",
                "ExpiredToken",
                "InvalidToken",
                "AllAccessDisabled",
            ])
    }

    fn is_not_found(&self) -> bool {
        // Only plain "not found" 404s: `NoSuchUpload`, for example, is a backend failure.
        self.has_code(&["NoSuchKey", "NotFound"]) || (self.status == Some(404) && self.code.is_none())
    }

    fn code_and_message(&self) -> String {
        match &self.code {
            Some(code) => format!("{code}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// The condition a write was sent with, which decides what a 412 means.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Condition<'a> {
    /// No condition (reads, deletes, plain overwrites).
    None,
    /// `If-None-Match: *`.
    Create,
    /// `If-Match: <etag>`.
    Update(&'a ETag),
}

/// Where a failure happened: the store, the operation and the object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Context<'a> {
    /// The store URI (`s3://bucket/prefix`).
    pub(crate) store: &'a str,
    /// The bucket.
    pub(crate) bucket: &'a str,
    /// The S3 operation (`PutObject`, ...).
    pub(crate) operation: &'static str,
    /// The object path relative to the store, when the operation concerns one object.
    pub(crate) path: Option<&'a str>,
    /// The condition the request carried.
    pub(crate) condition: Condition<'a>,
}

/// Maps an S3 failure into the store-level `wb_core::Error` variants (the one place that does).
///
/// * `NoSuchBucket` → `StoreMissing` (naming the bucket);
/// * 412 `PreconditionFailed` → `AlreadyExists` for `If-None-Match: *`, `PreconditionFailed` for
///   `If-Match`; a 409 `ConditionalRequestConflict` on an `If-Match` write → `PreconditionFailed`
///   (the caller re-reads and retries, as after any lost compare-and-swap);
/// * `AccessDenied`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, ... or HTTP 403 → `AccessDenied`;
/// * `NoSuchKey` or a bare HTTP 404 → `NotFound` (when the operation concerns an object);
/// * everything else → `Backend` with the code, the message and the SDK error as source.
///
/// Messages come from S3 and the SDK, which never echo secret keys.
pub(crate) fn map_failure(ctx: Context<'_>, failure: Failure) -> wb_core::Error {
    let store = ctx.store.to_owned();
    if failure.has_code(&["NoSuchBucket"]) {
        return wb_core::Error::StoreMissing {
            store,
            message: format!(
                "bucket {:?} does not exist ({} during {})",
                ctx.bucket,
                failure.code_and_message(),
                ctx.operation
            ),
        };
    }
    match ctx.condition {
        Condition::Create if failure.is_precondition() => {
            return wb_core::Error::AlreadyExists { store, path: ctx.path.unwrap_or_default().to_owned() };
        }
        Condition::Update(expected) if failure.is_precondition() || failure.is_conflict() => {
            return wb_core::Error::PreconditionFailed {
                store,
                path: ctx.path.unwrap_or_default().to_owned(),
                expected: expected.to_string(),
            };
        }
        _ => {}
    }
    if failure.is_access_denied() {
        return wb_core::Error::AccessDenied { store, operation: ctx.operation, message: failure.code_and_message() };
    }
    if let Some(path) = ctx.path
        && failure.is_not_found()
    {
        return wb_core::Error::NotFound { store, path: path.to_owned() };
    }
    wb_core::Error::Backend {
        store,
        operation: ctx.operation,
        code: failure.code,
        message: failure.message,
        source: Some(failure.source),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(status: Option<u16>, code: Option<&str>) -> Failure {
        Failure {
            status,
            code: code.map(str::to_owned),
            message: "the message".into(),
            source: Box::new(std::io::Error::other("sdk error")),
        }
    }

    fn ctx(condition: Condition<'_>) -> Context<'_> {
        Context { store: "s3://bkt/wb", bucket: "bkt", operation: "PutObject", path: Some("a/b.json"), condition }
    }

    #[test]
    fn missing_bucket_names_the_bucket() {
        let e = map_failure(ctx(Condition::None), failure(Some(404), Some("NoSuchBucket")));
        assert!(matches!(&e, wb_core::Error::StoreMissing { store, .. } if store == "s3://bkt/wb"), "{e:?}");
        assert!(e.to_string().contains("\"bkt\""), "{e}");
    }

    #[test]
    fn preconditions_depend_on_the_condition_sent() {
        let etag = ETag("\"abc\"".into());
        let e = map_failure(ctx(Condition::Create), failure(Some(412), Some("PreconditionFailed")));
        assert!(e.is_already_exists(), "{e:?}");
        let e = map_failure(ctx(Condition::Update(&etag)), failure(Some(412), Some("PreconditionFailed")));
        assert!(matches!(&e, wb_core::Error::PreconditionFailed { expected, .. } if expected == "\"abc\""), "{e:?}");
        let e = map_failure(ctx(Condition::Update(&etag)), failure(Some(409), Some("ConditionalRequestConflict")));
        assert!(e.is_precondition_failed(), "{e:?}");
        let e = map_failure(ctx(Condition::Update(&etag)), failure(Some(404), Some("NoSuchKey")));
        assert!(e.is_not_found(), "{e:?}");
        // Without a condition, a 412 is just a backend failure.
        let e = map_failure(ctx(Condition::None), failure(Some(412), Some("PreconditionFailed")));
        assert!(matches!(&e, wb_core::Error::Backend { code: Some(c), .. } if c == "PreconditionFailed"), "{e:?}");
    }

    #[test]
    fn access_denied_by_code_or_status() {
        for (status, code) in [
            (Some(403), Some("AccessDenied")),
            (Some(403), Some("InvalidAccessKeyId")),
            (Some(403), Some("SignatureDoesNotMatch")),
            (Some(403), None),
            (None, Some("AccessDenied")),
        ] {
            let e = map_failure(ctx(Condition::None), failure(status, code));
            assert!(
                matches!(&e, wb_core::Error::AccessDenied { operation: "PutObject", .. }),
                "{status:?} {code:?}: {e:?}"
            );
        }
    }

    #[test]
    fn not_found_only_for_plain_404s_on_objects() {
        assert!(map_failure(ctx(Condition::None), failure(Some(404), Some("NoSuchKey"))).is_not_found());
        assert!(map_failure(ctx(Condition::None), failure(Some(404), None)).is_not_found());
        assert!(map_failure(ctx(Condition::None), failure(Some(404), Some("NotFound"))).is_not_found());
        let upload = map_failure(ctx(Condition::None), failure(Some(404), Some("NoSuchUpload")));
        assert!(matches!(upload, wb_core::Error::Backend { .. }), "{upload:?}");
        let no_path = Context { path: None, ..ctx(Condition::None) };
        assert!(matches!(map_failure(no_path, failure(Some(404), None)), wb_core::Error::Backend { .. }));
    }

    #[test]
    fn everything_else_is_backend_with_code_and_source() {
        let e = map_failure(ctx(Condition::None), failure(Some(500), Some("InternalError")));
        let text = e.to_string();
        assert!(text.contains("PutObject") && text.contains("InternalError") && text.contains("the message"), "{text}");
        assert!(std::error::Error::source(&e).is_some(), "the SDK error is kept as source");
    }
}

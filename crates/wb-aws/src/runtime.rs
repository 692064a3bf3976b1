//! SageMaker Runtime's `InvokeEndpoint` through the AWS SDK, behind the workbench's one
//! invocation interface ([`wb_serving::invoke::InvokeEndpoint`]).
//!
//! Code that scores endpoints (`wb compare`, `wb endpoints invoke`) takes an
//! `Arc<dyn InvokeEndpoint>`: the local server's `RuntimeClient` is one implementation,
//! [`SageMakerRuntime`] the other. Errors become [`wb_serving::Error::Invocation`] with AWS's
//! error code and HTTP status, so callers retry throttling and server faults the same way on
//! both backends ([`wb_serving::Error::is_retryable`]); a `ModelError` keeps the model's own
//! status and message. The SDK's own retries are turned off, so the caller's retry policy is
//! the only one.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use wb_aws::SageMakerRuntime;
//! use wb_serving::invoke::{InvokeEndpoint, InvokeRequest};
//!
//! let sdk = wb_aws::aws_config::load_defaults(wb_aws::aws_config::BehaviorVersion::latest()).await;
//! let runtime: Arc<dyn InvokeEndpoint> = Arc::new(SageMakerRuntime::from_sdk_config(&sdk));
//! let answer = runtime
//!     .invoke_endpoint(
//!         "wine-forest",
//!         InvokeRequest { content_type: "text/csv".into(), body: "7.4,0.7,0,1.9".into(), ..Default::default() },
//!     )
//!     .await?;
//! println!("{}", String::from_utf8_lossy(&answer.body));
//! # Ok(()) }
//! ```

use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::config::http::HttpResponse;
use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
use aws_sdk_sagemakerruntime::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_sdk_sagemakerruntime::primitives::Blob;
use wb_serving::invoke::{InvokeEndpoint, InvokeRequest, InvokeResponse};

/// Invokes SageMaker endpoints (or anything speaking SageMaker Runtime's API, such as the
/// workbench's local server or moto) through the AWS SDK.
#[derive(Clone, Debug)]
pub struct SageMakerRuntime {
    client: Client,
}

impl SageMakerRuntime {
    /// A runtime client on `client` (used as given: configure its retries yourself).
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A runtime client for the configuration's region, credentials and endpoint URL, with the
    /// SDK's retries off (the caller retries, see the module docs).
    #[must_use]
    pub fn from_sdk_config(sdk: &aws_config::SdkConfig) -> Self {
        let config = aws_sdk_sagemakerruntime::config::Builder::from(sdk).retry_config(RetryConfig::disabled()).build();
        Self { client: Client::from_conf(config) }
    }
}

#[async_trait::async_trait]
impl InvokeEndpoint for SageMakerRuntime {
    async fn invoke_endpoint(&self, endpoint: &str, request: InvokeRequest) -> wb_serving::Result<InvokeResponse> {
        let output = self
            .client
            .invoke_endpoint()
            .endpoint_name(endpoint)
            .content_type(request.content_type)
            .set_accept(request.accept)
            .set_custom_attributes(request.custom_attributes)
            .set_inference_id(request.inference_id)
            .body(Blob::new(request.body))
            .send()
            .await
            .map_err(|e| invocation_error(endpoint, e))?;
        Ok(InvokeResponse {
            content_type: output.content_type().unwrap_or_default().to_owned(),
            body: output.body().map(|b| bytes::Bytes::copy_from_slice(b.as_ref())).unwrap_or_default(),
            invoked_variant: output.invoked_production_variant().map(str::to_owned),
            custom_attributes: output.custom_attributes().map(str::to_owned),
        })
    }
}

/// Maps an SDK failure to the workbench's invocation error: AWS's code and status for service
/// errors (a `ModelError` carries the model's own status and message), [`wb_serving::Error::Server`]
/// when no answer came back (connection refused, timeout).
fn invocation_error(endpoint: &str, err: SdkError<InvokeEndpointError, HttpResponse>) -> wb_serving::Error {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let Some(status) = status else {
        let (code, message) = crate::error::code_and_message(&err);
        return wb_serving::Error::Server {
            message: format!("cannot reach SageMaker Runtime for {endpoint}: {code}: {message}"),
        };
    };
    let service = err.into_service_error();
    let code = service.code().unwrap_or("UnknownError").to_owned();
    let message = match &service {
        InvokeEndpointError::ModelError(model) => {
            let original = model.original_message().or(model.message()).unwrap_or_default();
            match model.original_status_code() {
                Some(code) if code > 0 => format!("the model answered {code}: {original}"),
                _ => original.to_owned(),
            }
        }
        other => other.message().unwrap_or("no message").to_owned(),
    };
    wb_serving::Error::Invocation { endpoint: endpoint.to_owned(), code, status, message }
}

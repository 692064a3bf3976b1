//! SageMaker Runtime's `InvokeEndpoint`: the [`InvokeEndpoint`] interface every backend
//! implements, and [`RuntimeClient`], its implementation for the local server
//! (`POST {url}/endpoints/{name}/invocations`) with AWS's error shapes decoded.
//!
//! Code that scores endpoints (`wb compare`, `wb endpoints invoke`) takes an
//! `Arc<dyn InvokeEndpoint>`, so it runs unchanged against the local server or SageMaker.

use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};

/// SageMaker's advice for client socket timeouts (the container has 60 s to answer).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(70);

/// One invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InvokeRequest {
    /// The body's MIME type (`text/csv`, `application/json`).
    pub content_type: String,
    /// The response type wanted.
    pub accept: Option<String>,
    /// The payload (at most 6 MB).
    pub body: Bytes,
    /// `X-Amzn-SageMaker-Custom-Attributes`, forwarded verbatim.
    pub custom_attributes: Option<String>,
    /// `X-Amzn-SageMaker-Inference-Id`, recorded in data capture.
    pub inference_id: Option<String>,
}

/// An endpoint's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvokeResponse {
    /// The response's MIME type.
    pub content_type: String,
    /// The predictions.
    pub body: Bytes,
    /// `x-Amzn-Invoked-Production-Variant`.
    pub invoked_variant: Option<String>,
    /// `X-Amzn-SageMaker-Custom-Attributes` as the model returned it.
    pub custom_attributes: Option<String>,
}

/// Sends one invocation to a named endpoint: the operation the local server and SageMaker
/// Runtime both implement.
#[async_trait::async_trait]
pub trait InvokeEndpoint: Send + Sync + std::fmt::Debug {
    /// Invokes `endpoint` with `request`.
    ///
    /// # Errors
    /// [`Error::Invocation`] when the endpoint refuses (use [`Error::is_retryable`] to tell
    /// throttling and server faults from the caller's mistakes); [`Error::Server`] when it
    /// cannot be reached.
    async fn invoke_endpoint(&self, endpoint: &str, request: InvokeRequest) -> Result<InvokeResponse>;
}

#[async_trait::async_trait]
impl InvokeEndpoint for RuntimeClient {
    async fn invoke_endpoint(&self, endpoint: &str, request: InvokeRequest) -> Result<InvokeResponse> {
        self.invoke(endpoint, request).await
    }
}

/// Invokes endpoints at one base URL.
#[derive(Clone, Debug)]
pub struct RuntimeClient {
    base: String,
    http: reqwest::Client,
}

impl RuntimeClient {
    /// A client for the server at `base_url` (`http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// [`Error::Server`] when the HTTP client cannot be built.
    pub fn new(base_url: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(CLIENT_TIMEOUT)
            .build()
            .map_err(|e| Error::Server { message: format!("building the HTTP client: {e}") })?;
        Ok(Self { base: base_url.trim_end_matches('/').to_owned(), http })
    }

    /// The base URL.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends one invocation.
    ///
    /// # Errors
    /// [`Error::Invocation`] with AWS's error code (`ValidationError`, `ModelError`, ...) and
    /// message when the endpoint refuses; [`Error::Server`] when the server cannot be reached.
    pub async fn invoke(&self, endpoint: &str, request: InvokeRequest) -> Result<InvokeResponse> {
        let mut builder = self
            .http
            .post(crate::backend::invocation_url(&self.base, endpoint))
            .header("content-type", &request.content_type)
            .body(request.body);
        if let Some(accept) = &request.accept {
            builder = builder.header("accept", accept);
        }
        if let Some(attributes) = &request.custom_attributes {
            builder = builder.header("x-amzn-sagemaker-custom-attributes", attributes);
        }
        if let Some(id) = &request.inference_id {
            builder = builder.header("x-amzn-sagemaker-inference-id", id);
        }
        let response =
            builder.send().await.map_err(|e| Error::Server { message: format!("cannot reach {}: {e}", self.base) })?;
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header("content-type").unwrap_or_default();
        let invoked_variant = header("x-amzn-invoked-production-variant");
        let custom_attributes = header("x-amzn-sagemaker-custom-attributes");
        let error_type = header("x-amzn-errortype");
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::Server { message: format!("reading the answer of {}: {e}", self.base) })?;
        if status.is_success() {
            return Ok(InvokeResponse { content_type, body, invoked_variant, custom_attributes });
        }
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let code = error_type
            .as_deref()
            .and_then(|t| t.split(':').next())
            .map(str::to_owned)
            .or_else(|| parsed.get("__type").and_then(|v| v.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        let message = ["OriginalMessage", "Message", "message"]
            .iter()
            .find_map(|k| parsed.get(*k).and_then(|v| v.as_str()))
            .map_or_else(|| String::from_utf8_lossy(&body).into_owned(), str::to_owned);
        let message = match parsed.get("OriginalStatusCode").and_then(serde_json::Value::as_u64) {
            Some(original) if original > 0 => format!("the model answered {original}: {message}"),
            _ => message,
        };
        Err(Error::Invocation { endpoint: endpoint.to_owned(), code, status: status.as_u16(), message })
    }
}

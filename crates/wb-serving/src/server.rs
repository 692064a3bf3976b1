//! The model server: one HTTP server (axum 0.8 on hyper 1) speaking both SageMaker's inference
//! container contract (B5) and SageMaker Runtime's `InvokeEndpoint` (B6), with data capture.
//!
//! # Routes
//!
//! | route | contract |
//! |---|---|
//! | `GET /ping` | 200, empty body (the model is loaded before the server starts) |
//! | `POST /invocations` | the container contract for the server's *default endpoint* (container mode: the one model in `/opt/ml/model`); 404 when the server has none |
//! | `POST /endpoints/{name}/invocations` | SageMaker Runtime `InvokeEndpoint` (rest-json) for any endpoint the [`EndpointCatalog`] resolves |
//! | `GET /endpoints/{name}` | the workbench's own per-endpoint health check (not a SageMaker API): 200 with `{"name", "variant", "algorithm", "dataset"}` once the model is loaded, 404 otherwise |
//!
//! Request and response formats are those of [`crate::inference`].
//!
//! # `InvokeEndpoint`
//!
//! Request headers read: `Content-Type`, `Accept`, `X-Amzn-SageMaker-Custom-Attributes`,
//! `X-Amzn-SageMaker-Inference-Id` (recorded in data capture); the other `X-Amzn-SageMaker-*`
//! headers (target model/variant/container, session, explanations) are accepted and ignored
//! (an endpoint has one variant here). SigV4 signatures are not checked.
//!
//! On success: 200, `Content-Type` of the chosen format, `x-Amzn-Invoked-Production-Variant`
//! with the endpoint's variant and, when the caller sent it, `X-Amzn-SageMaker-Custom-Attributes`
//! echoed verbatim (the workbench's models always echo it; in SageMaker the model decides).
//!
//! Errors carry `x-amzn-ErrorType: <Code>:<namespace>`, `x-amzn-RequestId` and a JSON body, as
//! botocore's rest-json parser reads them (code from the header, message from `Message`;
//! modelled fields from the body), so `except client.exceptions.ModelError as e:
//! e.response["OriginalStatusCode"]` works:
//!
//! | case | status | `x-amzn-ErrorType` code | body |
//! |---|---|---|---|
//! | endpoint name breaks SageMaker's rule | 400 | `ValidationError` | `{"Message": "1 validation error detected: Value 'x_y' at 'endpointName' failed to satisfy constraint: …"}` |
//! | `X-Amzn-SageMaker-Custom-Attributes` over 1024 chars or not visible ASCII; `X-Amzn-SageMaker-Inference-Id` not 1–64 printable chars; `Accept`/`Content-Type` over 1024 chars or not ASCII | 400 | `ValidationError` | message naming the member and the header |
//! | body over 6,291,456 bytes (the limit is configurable) | 400 | `ValidationError` | `Request <id> has oversize body: <n> bytes exceed the limit of 6291456 bytes.` (newer SageMaker answers oversize bodies with this ValidationError; 2018-era endpoints answered 413) |
//! | unknown endpoint | 400 | `ValidationError` | `Endpoint <name> of account 000000000000 not found.` |
//! | the model refuses the request (bad CSV/JSON 400, unsupported content type 415, unacceptable `Accept` 406) or fails (500) | 424 | `ModelError` | `Message`, `OriginalStatusCode`, `OriginalMessage`, `LogStreamArn` (below) |
//! | the invocation exceeds the deadline (default 60 s) | 424 | `ModelError` | `OriginalStatusCode` 0, SageMaker's timeout wording |
//! | the catalog fails | 500 | `InternalFailure` | `{"Message": …}` |
//!
//! A `ModelError`'s `Message` follows SageMaker's wording: `Received client error (400) from
//! primary with message "<OriginalMessage>". See the log group /aws/sagemaker/Endpoints/<name>
//! of the local model server in account 000000000000 for more information.` ("server error"
//! for 5xx). `LogStreamArn` is a local description,
//! `arn:aws:logs:local:000000000000:log-group:/aws/sagemaker/Endpoints/<name>`; the server
//! logs through `tracing`. The account id of every local endpoint is `000000000000`
//! ([`ACCOUNT_ID`]). Messages are cut to 2048 characters.
//!
//! # Container route
//!
//! Same pipeline; errors are plain HTTP statuses with a `text/plain` message: 400 (malformed
//! body), 406, 413 (body over the limit), 415, 500 (model failure or deadline exceeded), 404
//! (no default endpoint).
//!
//! # Execution
//!
//! Bodies up to 64 KiB ([`ServerOptions::inline_limit`]) are decoded and predicted inline on
//! the connection's task (a few microseconds); larger ones on Tokio's blocking pool. Reading
//! the body and inferring are bounded by [`ServerOptions::deadline`]. Panics inside a model are
//! caught and answered as 500s; the server keeps serving. The runtime must have timers enabled
//! (`#[tokio::main]` does).
//!
//! # Data capture
//!
//! When the endpoint has a [`CaptureConfig`] and the server a capture store, each successful
//! invocation is sampled; a captured one becomes a [`crate::capture::CaptureEvent`] (request
//! body and content type, response body and content type, a fresh event id, the
//! inference id header) handed to the [`CaptureWriter`] before the response is sent.
//!
//! # Binding and shutdown
//!
//! Callers choose the address; the conventional default is `127.0.0.1:8080` ([`DEFAULT_ADDR`];
//! a container binds `0.0.0.0` and honours `SAGEMAKER_BIND_TO_PORT` itself). [`serve`] and
//! [`RunningServer::shutdown`] shut down gracefully: stop accepting, finish in-flight requests
//! (at most [`ServerOptions::shutdown_grace`]), then write every buffered capture record.
//! Connections are bounded by [`ServerOptions::connections`]: header-read and idle timeouts,
//! a header size cap and a connection cap ([`crate::connections`]).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::body::{Body, HttpBody};
use axum::extract::{Path, Request, State};
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use wb_models::artifact::ModelArtifact;
use wb_models::image_classifier::ImageClassifier;

use crate::capture::{CaptureConfig, CaptureReport, CaptureWriter, CaptureWriterOptions, Payload, new_uuid_v7};
use crate::connections::{ConnectionLimits, serve_connections};
use crate::error::{Error, Result};
use crate::inference::{self, Decoder};

/// The account id local endpoints report (in `ValidationError` and `ModelError` messages).
pub const ACCOUNT_ID: &str = "000000000000";
/// SageMaker's `InvokeEndpoint` body limit (6 MB).
pub const MAX_BODY_BYTES: usize = 6_291_456;
/// Default bound on one invocation (SageMaker's 60 s).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);
/// Bodies up to this size are inferred inline; larger ones on the blocking pool.
pub const DEFAULT_INLINE_LIMIT: usize = 64 * 1024;
/// Default time in-flight requests get to finish after a shutdown signal (SageMaker sends
/// SIGKILL 30 s after SIGTERM).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// The variant name SageMaker's SDK gives a single-variant endpoint.
pub const DEFAULT_VARIANT: &str = "AllTraffic";
/// The conventional local address: `127.0.0.1:8080` (SageMaker's container port).
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));

/// The container name SageMaker uses in its messages for a single-container endpoint.
const CONTAINER: &str = "primary";
/// Longest message in an AWS error body.
const MAX_MESSAGE: usize = 2048;
const CUSTOM_ATTRIBUTES: HeaderName = HeaderName::from_static("x-amzn-sagemaker-custom-attributes");
const INFERENCE_ID: HeaderName = HeaderName::from_static("x-amzn-sagemaker-inference-id");
const INVOKED_VARIANT: HeaderName = HeaderName::from_static("x-amzn-invoked-production-variant");
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

/// A deployed model ready to serve: the artefact, its request decoder and its capture
/// configuration.
#[derive(Debug)]
pub struct LoadedEndpoint {
    /// The endpoint name.
    pub name: String,
    /// Its production variant (`AllTraffic` by default).
    pub variant: String,
    /// The model.
    pub artifact: Arc<ModelArtifact>,
    /// The decoder prepared from the model's schema.
    pub decoder: Decoder,
    /// The image classifier, built once from the artefact's weights (image models only).
    pub image: Option<Arc<ImageClassifier>>,
    /// Data capture, when enabled.
    pub capture: Option<CaptureConfig>,
}

impl LoadedEndpoint {
    /// Prepares an endpoint: the decoder from the artefact's schema and, for an image model,
    /// its network from the weights.
    ///
    /// # Errors
    /// [`Error::Models`] when an image model's weights do not fit its network.
    pub fn new(
        name: impl Into<String>,
        variant: impl Into<String>,
        artifact: Arc<ModelArtifact>,
        capture: Option<CaptureConfig>,
    ) -> Result<Self> {
        let decoder = Decoder::new(&artifact.schema);
        let image = if artifact.model.is_image() {
            Some(Arc::new(ImageClassifier::from_model(&artifact.model)?))
        } else {
            None
        };
        Ok(Self { name: name.into(), variant: variant.into(), artifact, decoder, image, capture })
    }

    /// Whether the endpoint serves an image model (requests are images).
    #[must_use]
    pub fn is_image(&self) -> bool {
        self.image.is_some()
    }

    /// Runs one invocation (see [`inference::invoke`]): returns the response's content type
    /// and body.
    ///
    /// # Errors
    /// [`Error::BadRequest`] (400, 406, 415) for the request's faults, [`Error::Inference`]
    /// for the model's.
    pub fn invoke(
        &self,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: &[u8],
    ) -> Result<(&'static str, Vec<u8>)> {
        match &self.image {
            Some(classifier) => inference::invoke_image(classifier, content_type, accept, body),
            None => inference::invoke(
                &self.artifact.model,
                &self.artifact.schema,
                &self.decoder,
                content_type,
                accept,
                body,
            ),
        }
    }
}

/// Finds the endpoint an `InvokeEndpoint` request names.
#[async_trait]
pub trait EndpointCatalog: Send + Sync {
    /// The endpoint called `name`, or `None` when there is none.
    async fn resolve(&self, name: &str) -> Result<Option<Arc<LoadedEndpoint>>>;
}

/// A fixed set of endpoints held in memory (container mode, tests).
#[derive(Debug, Default)]
pub struct StaticCatalog {
    endpoints: HashMap<String, Arc<LoadedEndpoint>>,
}

impl StaticCatalog {
    /// A catalog of these endpoints, by name (a later duplicate replaces an earlier one).
    #[must_use]
    pub fn new(endpoints: impl IntoIterator<Item = Arc<LoadedEndpoint>>) -> Self {
        Self { endpoints: endpoints.into_iter().map(|e| (e.name.clone(), e)).collect() }
    }

    /// The endpoint called `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Arc<LoadedEndpoint>> {
        self.endpoints.get(name)
    }
}

#[async_trait]
impl EndpointCatalog for StaticCatalog {
    async fn resolve(&self, name: &str) -> Result<Option<Arc<LoadedEndpoint>>> {
        Ok(self.endpoints.get(name).cloned())
    }
}

/// Tuning of the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerOptions {
    /// Bound on reading the body and inferring (default 60 s).
    pub deadline: Duration,
    /// Largest request body (default 6,291,456 bytes).
    pub body_limit: usize,
    /// Bodies up to this size are inferred inline (default 64 KiB).
    pub inline_limit: usize,
    /// Time in-flight requests get after a shutdown signal (default 30 s).
    pub shutdown_grace: Duration,
    /// The capture writer's tuning (flush interval, file size, pending-bytes bound).
    pub capture: CaptureWriterOptions,
    /// Header and idle timeouts, header size and connection caps.
    pub connections: ConnectionLimits,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            deadline: DEFAULT_DEADLINE,
            body_limit: MAX_BODY_BYTES,
            inline_limit: DEFAULT_INLINE_LIMIT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            capture: CaptureWriterOptions::default(),
            connections: ConnectionLimits::default(),
        }
    }
}

/// Counters of a server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Invocations answered with 200.
    pub invocations: u64,
    /// Invocations refused or failed by the model (`ModelError` / the container's 4xx-5xx).
    pub model_errors: u64,
    /// Requests refused before reaching a model (validation, unknown endpoint, oversize).
    pub rejected: u64,
}

/// What a server did before it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServeReport {
    /// Request counters.
    pub stats: ServerStats,
    /// The capture writer's totals, when capture was on.
    pub capture: Option<CaptureReport>,
}

#[derive(Debug, Default)]
struct Counters {
    invocations: AtomicU64,
    model_errors: AtomicU64,
    rejected: AtomicU64,
}

struct AppState {
    catalog: Arc<dyn EndpointCatalog>,
    default_endpoint: Option<Arc<LoadedEndpoint>>,
    capture: Option<CaptureWriter>,
    options: ServerOptions,
    counters: Counters,
}

/// A configured model server: build it, take its [`ModelServer::router`] or [`serve`] it.
#[derive(Clone)]
pub struct ModelServer {
    state: Arc<AppState>,
}

impl std::fmt::Debug for ModelServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelServer")
            .field("default_endpoint", &self.state.default_endpoint.as_ref().map(|e| &e.name))
            .field("capture", &self.state.capture.is_some())
            .field("options", &self.state.options)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ModelServer`].
pub struct ModelServerBuilder {
    catalog: Arc<dyn EndpointCatalog>,
    default_endpoint: Option<Arc<LoadedEndpoint>>,
    capture_store: Option<wb_core::DynObjectStore>,
    options: ServerOptions,
}

impl std::fmt::Debug for ModelServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelServerBuilder")
            .field("default_endpoint", &self.default_endpoint.as_ref().map(|e| &e.name))
            .field("capture_store", &self.capture_store)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ModelServerBuilder {
    /// Serves this endpoint on `POST /invocations` (container mode).
    #[must_use]
    pub fn default_endpoint(mut self, endpoint: Arc<LoadedEndpoint>) -> Self {
        self.default_endpoint = Some(endpoint);
        self
    }

    /// Writes data capture of endpoints that have a [`CaptureConfig`] into this store.
    #[must_use]
    pub fn capture_store(mut self, store: wb_core::DynObjectStore) -> Self {
        self.capture_store = Some(store);
        self
    }

    /// Replaces the options.
    #[must_use]
    pub fn options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// Builds the server; with a capture store this starts the capture writer task, so it
    /// must run inside a Tokio runtime.
    #[must_use]
    pub fn build(self) -> ModelServer {
        let capture = self.capture_store.map(|store| CaptureWriter::spawn(store, self.options.capture.clone()));
        ModelServer {
            state: Arc::new(AppState {
                catalog: self.catalog,
                default_endpoint: self.default_endpoint,
                capture,
                options: self.options,
                counters: Counters::default(),
            }),
        }
    }
}

impl ModelServer {
    /// Starts building a server over `catalog`.
    #[must_use]
    pub fn builder(catalog: Arc<dyn EndpointCatalog>) -> ModelServerBuilder {
        ModelServerBuilder { catalog, default_endpoint: None, capture_store: None, options: ServerOptions::default() }
    }

    /// A container-mode server: one endpoint, served on both routes.
    #[must_use]
    pub fn single(endpoint: Arc<LoadedEndpoint>) -> ModelServerBuilder {
        Self::builder(Arc::new(StaticCatalog::new([Arc::clone(&endpoint)]))).default_endpoint(endpoint)
    }

    /// The routes, for [`serve`] or in-process tests (`tower::ServiceExt::oneshot`).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/ping", get(ping))
            .route("/invocations", post(invoke_container))
            .route("/endpoints/{name}/invocations", post(invoke_endpoint))
            .route("/endpoints/{name}", get(describe_endpoint))
            .with_state(Arc::clone(&self.state))
    }

    /// The request counters so far.
    #[must_use]
    pub fn stats(&self) -> ServerStats {
        let c = &self.state.counters;
        ServerStats {
            invocations: c.invocations.load(Ordering::Relaxed),
            model_errors: c.model_errors.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
        }
    }

    /// Writes every buffered capture record and stops the capture writer (later captured
    /// invocations are dropped and counted); reports the counters. [`serve`] calls this
    /// after the last request.
    ///
    /// # Errors
    /// [`Error::Server`] when the capture writer stopped already.
    pub async fn close(&self) -> Result<ServeReport> {
        let capture = match &self.state.capture {
            Some(writer) => Some(writer.clone().shutdown().await?),
            None => None,
        };
        Ok(ServeReport { stats: self.stats(), capture })
    }

    /// Binds `addr` and serves in a background task until [`RunningServer::shutdown`] (or
    /// until the handle is dropped).
    ///
    /// # Errors
    /// [`Error::Server`] when the address cannot be bound.
    pub async fn bind(self, addr: SocketAddr) -> Result<RunningServer> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Server { message: format!("cannot listen on {addr}: {e}") })?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::Server { message: format!("cannot read the bound address: {e}") })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, self, async move {
            let _ = stopped.await;
        }));
        tracing::info!(%local_addr, "model server listening");
        Ok(RunningServer { local_addr, stop, task })
    }
}

/// A server running in a background task.
#[derive(Debug)]
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<ServeReport>>,
}

impl RunningServer {
    /// The bound address (with the actual port when bound to port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `http://<address>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Shuts down gracefully (see [`serve`]) and reports.
    ///
    /// # Errors
    /// [`Error::Server`] when the server task failed.
    pub async fn shutdown(self) -> Result<ServeReport> {
        let _ = self.stop.send(());
        self.task.await.map_err(|e| Error::Server { message: format!("the server task failed: {e}") })?
    }
}

/// Serves `server` on `listener` until `shutdown` completes, then shuts down gracefully: stops
/// accepting, lets in-flight requests finish (at most [`ServerOptions::shutdown_grace`]), and
/// writes every buffered capture record.
///
/// # Errors
/// [`Error::Server`] when serving fails or the capture writer stopped already.
pub async fn serve(
    listener: TcpListener,
    server: ModelServer,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<ServeReport> {
    server.state.options.connections.validate().map_err(|message| Error::Server { message })?;
    let grace = server.state.options.shutdown_grace;
    let (signalled, mut on_signal) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = signalled.send(true);
    };
    let serving = serve_connections(listener, server.router(), server.state.options.connections, signal);
    let forced = async move {
        let _ = on_signal.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = serving => result.map_err(|e| Error::Server { message: format!("serving failed: {e}") })?,
        () = forced => tracing::warn!(?grace, "in-flight requests did not finish within the shutdown grace period"),
    }
    let report = server.close().await?;
    tracing::info!(?report, "model server stopped");
    Ok(report)
}

async fn ping() -> StatusCode {
    StatusCode::OK
}

/// Why an invocation did not succeed.
#[derive(Debug)]
enum Failure {
    /// The request breaks `InvokeEndpoint`'s rules (never reaches a model).
    Validation(String),
    /// The body exceeds the limit (`size` when declared).
    Oversize { size: Option<u64> },
    /// The body could not be read.
    BodyRead(String),
    /// The model refused or failed the request with this status (0: deadline exceeded).
    Model { status: u16, message: String },
    /// The catalog failed.
    Internal(String),
}

impl Failure {
    fn from_model(e: Error) -> Self {
        match e {
            Error::BadRequest { status, message } => Self::Model { status, message },
            other => Self::Model { status: 500, message: other.to_string() },
        }
    }
}

/// The request headers an invocation reads.
struct Headers<'a> {
    content_type: Option<&'a str>,
    accept: Option<&'a str>,
    custom_attributes: Option<&'a HeaderValue>,
    inference_id: Option<&'a str>,
}

impl<'a> Headers<'a> {
    /// Reads the headers; with `validate`, checks them as `InvokeEndpoint` does.
    fn read(headers: &'a HeaderMap, validate: bool) -> Result<Self, Failure> {
        let text = |name: HeaderName, member: &str, max: usize| -> Result<Option<&'a str>, Failure> {
            let Some(value) = headers.get(&name) else { return Ok(None) };
            match value.to_str() {
                Ok(s) if !validate || s.len() <= max => Ok(Some(s)),
                Ok(_) => Err(validation_member(
                    member,
                    &name,
                    &format!("Member must have length less than or equal to {max}"),
                )),
                Err(_) if !validate => Ok(None),
                Err(_) => Err(validation_member(member, &name, "Member must contain only visible US-ASCII characters")),
            }
        };
        let content_type = text(CONTENT_TYPE, "contentType", 1024)?;
        let accept = text(ACCEPT, "accept", 1024)?;
        let custom_attributes = headers.get(&CUSTOM_ATTRIBUTES);
        if validate && let Some(v) = custom_attributes {
            if v.len() > 1024 {
                return Err(validation_member(
                    "customAttributes",
                    &CUSTOM_ATTRIBUTES,
                    "Member must have length less than or equal to 1024",
                ));
            }
            if !v.as_bytes().iter().all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)) {
                return Err(validation_member(
                    "customAttributes",
                    &CUSTOM_ATTRIBUTES,
                    "Member must contain only visible US-ASCII characters",
                ));
            }
        }
        let inference_id = text(INFERENCE_ID, "inferenceId", usize::MAX)?;
        if validate && let Some(id) = inference_id {
            let n = id.chars().count();
            if n == 0 || n > 64 {
                return Err(validation_member(
                    "inferenceId",
                    &INFERENCE_ID,
                    "Member must have length between 1 and 64",
                ));
            }
            if id.starts_with(char::is_whitespace) || id.chars().any(char::is_control) {
                return Err(validation_member(
                    "inferenceId",
                    &INFERENCE_ID,
                    r"Member must satisfy regular expression pattern: \A\S[\p{Print}]*\z",
                ));
            }
        }
        Ok(Self { content_type, accept, custom_attributes, inference_id })
    }
}

fn validation_member(member: &str, header: &HeaderName, constraint: &str) -> Failure {
    Failure::Validation(format!(
        "1 validation error detected: Value at '{member}' (header {}) failed to satisfy constraint: {constraint}",
        canonical_header(header)
    ))
}

fn canonical_header(header: &HeaderName) -> &'static str {
    match header.as_str() {
        "x-amzn-sagemaker-custom-attributes" => "X-Amzn-SageMaker-Custom-Attributes",
        "x-amzn-sagemaker-inference-id" => "X-Amzn-SageMaker-Inference-Id",
        "accept" => "Accept",
        _ => "Content-Type",
    }
}

/// Checks an endpoint name as `InvokeEndpoint` does.
fn validate_endpoint_name(name: &str) -> Result<(), Failure> {
    let constraint = if name.len() > 63 {
        Some("Member must have length less than or equal to 63")
    } else if wb_core::check_sagemaker_name("endpoint", name).is_err() {
        Some("Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*")
    } else {
        None
    };
    match constraint {
        Some(c) => Err(Failure::Validation(format!(
            "1 validation error detected: Value '{}' at 'endpointName' failed to satisfy constraint: {c}",
            cut(name, 128)
        ))),
        None => Ok(()),
    }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max { s.to_owned() } else { s.chars().take(max).chain(['…']).collect() }
}

async fn invoke_endpoint(State(state): State<Arc<AppState>>, Path(name): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match state.invoke(Some(&name), &parts.headers, body).await {
        Ok(response) => response,
        Err(failure) => state.runtime_error(&name, failure),
    }
}

async fn describe_endpoint(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    match state.catalog.resolve(&name).await {
        Ok(Some(endpoint)) => {
            let body = serde_json::json!({
                "name": endpoint.name,
                "variant": endpoint.variant,
                "algorithm": endpoint.artifact.metadata.algorithm,
                "dataset": endpoint.artifact.schema.dataset,
            });
            ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, format!("no endpoint {name}\n")).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn invoke_container(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    if state.default_endpoint.is_none() {
        state.counters.rejected.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::NOT_FOUND,
            "this server has no default model; invoke an endpoint with POST /endpoints/{name}/invocations\n",
        )
            .into_response();
    }
    match state.invoke(None, &parts.headers, body).await {
        Ok(response) => response,
        Err(failure) => state.container_error(failure),
    }
}

impl AppState {
    /// One invocation: the named endpoint (runtime route) or the default one (container
    /// route, `name` = `None`).
    async fn invoke(&self, name: Option<&str>, headers: &HeaderMap, body: Body) -> Result<Response, Failure> {
        let runtime = name.is_some();
        let h = Headers::read(headers, runtime)?;
        let declared = HttpBody::size_hint(&body)
            .exact()
            .or_else(|| headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()));
        if let Some(size) = declared
            && size > self.options.body_limit as u64
        {
            return Err(Failure::Oversize { size: Some(size) });
        }
        let endpoint =
            match name {
                Some(name) => {
                    validate_endpoint_name(name)?;
                    self.catalog.resolve(name).await.map_err(|e| Failure::Internal(e.to_string()))?.ok_or_else(
                        || Failure::Validation(format!("Endpoint {name} of account {ACCOUNT_ID} not found.")),
                    )?
                }
                None => self.default_endpoint.clone().ok_or_else(|| Failure::Internal("no default endpoint".into()))?,
            };

        let work = async {
            let body = read_body(body, self.options.body_limit).await?;
            // Image models run a network over every request: never on the async threads.
            let result = if body.len() <= self.options.inline_limit && !endpoint.is_image() {
                std::panic::catch_unwind(AssertUnwindSafe(|| endpoint.invoke(h.content_type, h.accept, &body)))
                    .unwrap_or_else(|_| Err(Error::Inference { message: "the model panicked".into() }))
            } else {
                let endpoint = Arc::clone(&endpoint);
                let (content_type, accept) = (h.content_type.map(str::to_owned), h.accept.map(str::to_owned));
                let input = body.clone();
                tokio::task::spawn_blocking(move || endpoint.invoke(content_type.as_deref(), accept.as_deref(), &input))
                    .await
                    .unwrap_or_else(|e| Err(Error::Inference { message: format!("the model failed: {e}") }))
            };
            Ok::<_, Failure>((body, result))
        };
        let (input, result) = match tokio::time::timeout(self.options.deadline, work).await {
            Ok(done) => done?,
            Err(_) => {
                return Err(Failure::Model {
                    status: 0,
                    message: format!(
                        "Your invocation timed out while waiting for a response from container {CONTAINER}. Review the \
                         latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again. \
                         (deadline {} s)",
                        self.options.deadline.as_secs_f64()
                    ),
                });
            }
        };
        let (content_type, output) = result.map_err(Failure::from_model)?;
        let output = Bytes::from(output);

        if let (Some(config), Some(writer)) = (&endpoint.capture, &self.capture)
            && config.sample()
        {
            let event = config.event(
                &endpoint.name,
                &endpoint.variant,
                Payload { content_type: h.content_type.unwrap_or_default().to_owned(), data: input },
                Payload { content_type: content_type.to_owned(), data: output.clone() },
                h.inference_id,
            );
            writer.record(&event).await;
        }

        self.counters.invocations.fetch_add(1, Ordering::Relaxed);
        let mut response = Response::new(Body::from(output));
        let out = response.headers_mut();
        out.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(variant) = HeaderValue::from_str(&endpoint.variant) {
            out.insert(INVOKED_VARIANT, variant);
        }
        if let Some(attributes) = h.custom_attributes {
            out.insert(CUSTOM_ATTRIBUTES, attributes.clone());
        }
        Ok(response)
    }

    /// A failure as `InvokeEndpoint` reports it.
    fn runtime_error(&self, name: &str, failure: Failure) -> Response {
        match failure {
            Failure::Validation(message) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(endpoint = name, %message, "invocation rejected");
                aws_error(
                    StatusCode::BAD_REQUEST,
                    "ValidationError",
                    VALIDATION_NAMESPACE,
                    &serde_json::json!({ "Message": cut(&message, MAX_MESSAGE) }),
                )
            }
            Failure::Oversize { size } => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                let request = new_uuid_v7();
                let limit = self.options.body_limit;
                let message = match size {
                    Some(n) => {
                        format!("Request {request} has oversize body: {n} bytes exceed the limit of {limit} bytes.")
                    }
                    None => format!("Request {request} has oversize body: more than the limit of {limit} bytes."),
                };
                aws_error(
                    StatusCode::BAD_REQUEST,
                    "ValidationError",
                    VALIDATION_NAMESPACE,
                    &serde_json::json!({ "Message": message }),
                )
            }
            Failure::BodyRead(message) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                aws_error(
                    StatusCode::BAD_REQUEST,
                    "ValidationError",
                    VALIDATION_NAMESPACE,
                    &serde_json::json!({ "Message": format!("The request body could not be read: {message}") }),
                )
            }
            Failure::Model { status, message } => {
                self.counters.model_errors.fetch_add(1, Ordering::Relaxed);
                if status >= 500 || status == 0 {
                    tracing::warn!(endpoint = name, status, %message, "invocation failed");
                } else {
                    tracing::debug!(endpoint = name, status, %message, "invocation refused by the model");
                }
                let kind = if (400..500).contains(&status) { "client" } else { "server" };
                let original = cut(&message, MAX_MESSAGE / 2);
                let full = format!(
                    "Received {kind} error ({status}) from {CONTAINER} with message \"{original}\". See the log group \
                     /aws/sagemaker/Endpoints/{name} of the local model server in account {ACCOUNT_ID} for more information."
                );
                aws_error(
                    StatusCode::FAILED_DEPENDENCY,
                    "ModelError",
                    MODEL_NAMESPACE,
                    &serde_json::json!({
                        "Message": cut(&full, MAX_MESSAGE),
                        "OriginalStatusCode": status,
                        "OriginalMessage": original,
                        "LogStreamArn": format!("arn:aws:logs:local:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}"),
                    }),
                )
            }
            Failure::Internal(message) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                tracing::error!(endpoint = name, %message, "invocation failed inside the server");
                aws_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalFailure",
                    SERVICE_NAMESPACE,
                    &serde_json::json!({ "Message": cut(&message, MAX_MESSAGE) }),
                )
            }
        }
    }

    /// A failure as the container contract reports it: a status and a text message.
    fn container_error(&self, failure: Failure) -> Response {
        let (status, message) = match failure {
            Failure::Validation(m) | Failure::BodyRead(m) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                (StatusCode::BAD_REQUEST, m)
            }
            Failure::Oversize { size } => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                let limit = self.options.body_limit;
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    match size {
                        Some(n) => format!("request body of {n} bytes exceeds the limit of {limit} bytes"),
                        None => format!("request body exceeds the limit of {limit} bytes"),
                    },
                )
            }
            Failure::Model { status, message } => {
                self.counters.model_errors.fetch_add(1, Ordering::Relaxed);
                (
                    StatusCode::from_u16(status)
                        .ok()
                        .filter(|s| s.as_u16() >= 400)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    message,
                )
            }
            Failure::Internal(m) => {
                self.counters.rejected.fetch_add(1, Ordering::Relaxed);
                (StatusCode::INTERNAL_SERVER_ERROR, m)
            }
        };
        let mut body = message;
        body.push('\n');
        (status, [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], body).into_response()
    }
}

const VALIDATION_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.coral.validate/";
const MODEL_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.sagemaker/";
const SERVICE_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazon.coral.service/";

fn aws_error(status: StatusCode, code: &str, namespace: &str, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("{code}:{namespace}")) {
        headers.insert(ERROR_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&new_uuid_v7().to_string()) {
        headers.insert(REQUEST_ID, v);
    }
    response
}

/// Reads a whole body, refusing more than `limit` bytes; a single-chunk body is not copied.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, Failure> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Failure::BodyRead(e.to_string()))?;
        total += chunk.len();
        if total > limit {
            return Err(Failure::Oversize { size: None });
        }
        match (&mut first, &mut rest) {
            (None, _) => first = Some(chunk),
            (Some(f), None) => {
                let mut buf = BytesMut::with_capacity(total.max(f.len() * 2));
                buf.extend_from_slice(f);
                buf.extend_from_slice(&chunk);
                rest = Some(buf);
            }
            (Some(_), Some(buf)) => buf.extend_from_slice(&chunk),
        }
    }
    Ok(match (first, rest) {
        (_, Some(buf)) => buf.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_follow_sagemakers_rule() {
        assert!(validate_endpoint_name("wine-lr-1").is_ok());
        let Err(Failure::Validation(m)) = validate_endpoint_name("wine_lr") else { panic!("invalid") };
        assert!(m.contains("'endpointName'") && m.contains("regular expression"), "{m}");
        let Err(Failure::Validation(m)) = validate_endpoint_name(&"a".repeat(64)) else { panic!("invalid") };
        assert!(m.contains("less than or equal to 63"), "{m}");
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<ModelServer>();
        check::<LoadedEndpoint>();
        check::<StaticCatalog>();
        check::<RunningServer>();
    }

    #[tokio::test]
    async fn bodies_are_read_up_to_the_limit() {
        let chunks = || {
            let chunks: Vec<Result<Bytes, std::io::Error>> =
                vec![Ok(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd")), Ok(Bytes::from_static(b"e"))];
            Body::from_stream(futures::stream::iter(chunks))
        };
        assert_eq!(read_body(chunks(), 5).await.expect("fits"), Bytes::from_static(b"abcde"));
        let body = chunks();
        assert!(matches!(read_body(body, 4).await, Err(Failure::Oversize { size: None })));
        assert_eq!(read_body(Body::from("xyz"), 3).await.expect("one chunk"), Bytes::from_static(b"xyz"));
    }
}

//! # wb-serving — serving models: endpoints, the model server, invocation, backends, clean-up
//!
//! Builds on `wb-models` (what a model is: algorithms, training jobs, artefacts, the
//! registry) and serves what it trains:
//!
//! - [`endpoints`]: endpoint records, deploying a completed job's model, the catalog the server
//!   loads them from;
//! - [`inference`], [`server`], [`capture`]: the model server speaking SageMaker's container
//!   contract and Runtime API, with data capture in SageMaker's format;
//! - [`local`]: the local server's record and lifecycle (`servers/local.json`);
//! - [`invoke`]: SageMaker Runtime's `InvokeEndpoint` ([`InvokeEndpoint`]) and a client for it
//!   on the local server ([`RuntimeClient`]);
//! - [`clean`]: removing what the project created (stopping the local server first);
//! - [`backend`]: the backend interface ([`Backend`]) and the local backend ([`LocalBackend`]);
//!   `wb-aws` implements it for SageMaker;
//! - `testkit` (feature `testkit`): the conformance suite every backend runs.
//!
//! An experiment in a few lines — train on a partitioned dataset, deploy, invoke, register:
//!
//! ```no_run
//! # async fn experiment(store: wb_core::DynObjectStore) -> wb_serving::Result<()> {
//! use wb_core::{DatasetName, EndpointName, ModelName};
//! use wb_models::{Registry, TrainingJobs};
//! use wb_serving::{Backend, Endpoints, InvokeRequest, LocalBackend};
//!
//! let job = TrainingJobs::new(store.clone())
//!     .train(&DatasetName::parse("wine-quality")?, "random-forest")
//!     .hyperparameter("num_trees", "100")
//!     .await?;
//! let endpoint = Endpoints::new(store.clone()).deploy(&job.name, &EndpointName::parse("wine-forest")?).await?;
//! let serving = LocalBackend::new(store.clone()).serving().await?;
//! let request = InvokeRequest { content_type: "text/csv".into(), body: "7.4,0.7,0,1.9".into(), ..Default::default() };
//! let answer = serving.invoker.invoke_endpoint(endpoint.name.as_str(), request).await?;
//! println!("{}", String::from_utf8_lossy(&answer.body));
//! let model = Registry::new(store)
//!     .register(&ModelName::parse("wine-forest")?, &endpoint.name)
//!     .description("100 trees")
//!     .await?;
//! assert_eq!(model.fingerprint, job.fingerprint);
//! # Ok(()) }
//! ```

pub mod backend;
pub mod capture;
pub mod clean;
pub mod connections;
pub mod endpoints;
mod error;
pub mod inference;
pub mod invoke;
pub mod local;
pub mod server;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use backend::{
    Backend, DeployEndpoint, DynBackend, InProcessServer, LocalBackend, Resources, Serving, TrainControl, TrainJob,
    TrainingProgress,
};
pub use capture::CaptureConfig;
pub use endpoints::{EndpointRecord, Endpoints, StoreCatalog};
pub use error::{Error, Result};
pub use invoke::{InvokeEndpoint, InvokeRequest, InvokeResponse, RuntimeClient};
pub use local::{ServerRecord, ServerStatus};
pub use server::{ModelServer, ServerOptions};

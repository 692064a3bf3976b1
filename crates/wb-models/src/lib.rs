//! # wb-models — train, package, serve, register and clean up models
//!
//! - [`algorithm`]: the linfa algorithms and their hyperparameters (SageMaker's string map,
//!   validated into typed parameters);
//! - [`container`]: the SageMaker training-container contract (`/opt/ml/...`), used in-process
//!   by local training jobs and by the `wb-container` image alike;
//! - [`training`]: local training jobs (work directory, status, `model.tar.gz` in the store);
//! - [`artifact`]: `model.tar.gz` (fitted model, input schema, metadata);
//! - [`inference`], [`server`], [`capture`]: the model server speaking SageMaker's container
//!   contract and Runtime API, with data capture in SageMaker's format;
//! - [`endpoints`]: endpoint records, the catalog the server loads them from;
//! - [`local`]: the local server's record and lifecycle (`servers/local.json`);
//! - [`invoke`]: a client for `InvokeEndpoint` on the local server;
//! - [`registry`]: registered models, one document each, written conditionally;
//! - [`clean`]: removing what the project created;
//! - [`backend`]: the backend interface ([`backend::Backend`]) and the local backend
//!   ([`backend::LocalBackend`]); `wb-aws` implements it for SageMaker;
//! - `testkit` (feature `testkit`): the conformance suite every backend runs.
//!
//! An experiment in a few lines — train on a partitioned dataset, deploy, register:
//!
//! ```no_run
//! # async fn experiment(store: wb_core::DynObjectStore) -> wb_models::Result<()> {
//! use wb_core::{DatasetName, EndpointName, ModelName};
//! use wb_models::{endpoints::Endpoints, registry::Registry, training::TrainingJobs};
//!
//! let job = TrainingJobs::new(store.clone())
//!     .train(&DatasetName::parse("wine-quality")?, "random-forest")
//!     .hyperparameter("num_trees", "100")
//!     .await?;
//! let endpoint = Endpoints::new(store.clone()).deploy(&job.name, &EndpointName::parse("wine-forest")?).await?;
//! let model = Registry::new(store)
//!     .register(&ModelName::parse("wine-forest")?, &endpoint.name)
//!     .description("100 trees")
//!     .await?;
//! assert_eq!(model.fingerprint, job.fingerprint);
//! # Ok(()) }
//! ```

pub mod algorithm;
pub mod artifact;
pub mod backend;
pub mod capture;
pub mod clean;
pub mod container;
pub mod endpoints;
mod error;
pub mod inference;
pub mod invoke;
pub mod layout;
pub mod local;
pub mod metrics;
pub mod model;
mod records;
pub mod registry;
pub mod schema;
pub mod server;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod training;

pub use artifact::{ModelArtifact, ModelMetadata};
pub use backend::{Backend, DynBackend, LocalBackend};
pub use error::{Error, Result};
pub use model::{FittedModel, Prediction};
pub use schema::ModelSchema;
